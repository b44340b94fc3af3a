import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycocotools import mask as mask_utils

from napari_maskclean.core.instances import (
    instances_to_labels,
    labels_to_instances,
    mask_iou,
    mask_nms,
    merge_redundant,
)
from napari_maskclean.core.rle import rle_decode, rle_encode


def _brute(masks, metric="iou"):
    a = np.asarray(masks).reshape(len(masks), -1).astype(np.int64)
    inter = a @ a.T
    area = a.sum(1)
    den = area[:, None] + area[None] - inter if metric == "iou" else np.minimum.outer(area, area)
    return np.divide(inter, den, out=np.zeros(inter.shape), where=den > 0)


def _brute_groups(masks, threshold, metric="iou"):
    adj = _brute(masks, metric) >= threshold
    n = len(masks)
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(n):
        for j in range(i + 1, n):
            if adj[i, j]:
                parent[find(j)] = find(i)
    groups = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values())


def _brute_nms(masks, scores, threshold):
    iou = _brute(masks)
    order = sorted(range(len(masks)), key=lambda i: (-scores[i], i))
    kept, dead = [], set()
    for i in order:
        if i in dead:
            continue
        kept.append(i)
        dead.update(j for j in order if j not in kept and iou[i, j] >= threshold)
    return kept


@st.composite
def instance_sets(draw):
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    n = draw(st.integers(1, 9))
    masks = np.zeros((n, h, w), bool)
    for k in range(n):
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h)), draw(st.integers(x0, w))
        masks[k, y0:y1, x0:x1] = True
        if draw(st.booleans()):  # punch a random pixel so shapes are not all boxes
            masks[k, draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] ^= True
    return masks


@settings(max_examples=50, deadline=None)
@given(instance_sets(), st.sampled_from(["iou", "ios"]))
def test_mask_iou_matches_brute_force_for_every_input_kind(masks, metric):
    ref = _brute(masks, metric)
    rles = [rle_encode(m) for m in masks]
    np.testing.assert_allclose(mask_iou(masks, metric=metric), ref)
    np.testing.assert_allclose(mask_iou(list(masks), metric=metric), ref)
    np.testing.assert_allclose(mask_iou(rles, metric=metric), ref)
    np.testing.assert_allclose(mask_iou(rles, metric=metric, sparse=True).toarray(), ref)
    np.testing.assert_allclose(mask_iou(masks, rles[::-1], metric=metric), ref[:, ::-1])
    np.testing.assert_allclose(mask_iou(rles[:2], masks, metric=metric), ref[:2])


def test_mask_iou_matches_pycocotools():
    rng = np.random.default_rng(3)
    masks = rng.random((15, 30, 25)) < 0.4
    coco = [mask_utils.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]
    ref = mask_utils.iou(coco, coco, [0] * len(coco))
    np.testing.assert_allclose(mask_iou([rle_encode(m) for m in masks]), ref)
    np.testing.assert_allclose(mask_iou(masks), ref)


def test_ios_is_one_for_contained_and_zero_for_empty():
    m = np.zeros((3, 8, 8), bool)
    m[0, 2:6, 2:6] = True
    m[1, 3:5, 3:5] = True
    got = mask_iou(m, metric="ios")
    assert got[0, 1] == got[1, 0] == 1.0
    assert got[2].tolist() == [0, 0, 0]  # the empty mask
    assert mask_iou(m)[0, 1] == 4 / 16


@settings(max_examples=50, deadline=None)
@given(instance_sets(), st.sampled_from([0.3, 0.5, 0.8, 1.0]), st.sampled_from(["iou", "ios"]))
def test_merge_connected_groups_match_brute_force(masks, threshold, metric):
    ref = _brute_groups(masks, threshold, metric)
    for given_masks in (masks, list(masks), [rle_encode(m) for m in masks]):
        merged, groups = merge_redundant(given_masks, threshold=threshold, metric=metric)
        assert [g.tolist() for g in groups] == ref
        assert len(merged) == len(ref)
        for out, g in zip(merged, ref):
            out = rle_decode(out) if isinstance(out, dict) else out
            np.testing.assert_array_equal(out, masks[g].any(0))


@settings(max_examples=40, deadline=None)
@given(instance_sets(), st.data())
def test_nms_matches_brute_force(masks, data):
    scores = data.draw(
        st.lists(st.sampled_from([0.1, 0.5, 0.9]), min_size=len(masks), max_size=len(masks))
    )
    ref = _brute_nms(masks, scores, 0.5)
    assert mask_nms(masks, scores, threshold=0.5).tolist() == ref
    rles = [rle_encode(m) for m in masks]
    assert mask_nms(rles, scores, threshold=0.5).tolist() == ref
    merged, groups = merge_redundant(
        masks, threshold=0.5, scores=scores, grouping="greedy", mode="best"
    )
    assert [g[0] for g in groups] == ref
    np.testing.assert_array_equal(merged, masks[ref])


def test_modes_best_and_largest_return_members_of_the_kind_given():
    m = np.zeros((3, 10, 10), bool)
    m[0, 0:5, 0:5] = True
    m[1, 0:5, 0:6] = True  # IoU 25/30 with 0
    m[2, 7:, 7:] = True
    rles = [rle_encode(x) for x in m]
    merged, groups = merge_redundant(rles, threshold=0.8, mode="best", scores=[0.9, 0.2, 0.5])
    assert [g.tolist() for g in groups] == [[0, 1], [2]]
    assert merged == [rles[0], rles[2]] and merged[0] is not rles[0]
    merged, _ = merge_redundant(list(m), threshold=0.8, mode="largest")
    assert isinstance(merged, list)
    np.testing.assert_array_equal(merged[0], m[1])
    union, _ = merge_redundant(rles, threshold=0.8)
    assert union[0]["counts"] == rle_encode(m[0] | m[1])["counts"]


def test_chain_is_one_connected_group_but_greedy_splits_it():
    m = np.zeros((3, 1, 12), bool)
    m[0, 0, 0:8] = True
    m[1, 0, 1:9] = True  # 7/9 with 0 and with 2
    m[2, 0, 2:10] = True  # 6/10 with 0
    _, groups = merge_redundant(m, threshold=0.7)
    assert [g.tolist() for g in groups] == [[0, 1, 2]]
    _, groups = merge_redundant(m, threshold=0.7, scores=[1, 0.5, 0.9], grouping="greedy")
    assert [g.tolist() for g in groups] == [[0, 1], [2]]


def test_empty_inputs():
    merged, groups = merge_redundant(np.zeros((0, 4, 4), bool))
    assert merged.shape == (0, 4, 4) and groups == []
    assert merge_redundant([]) == ([], [])
    assert mask_nms([], []).size == 0
    # an empty mask never merges
    m = np.zeros((2, 4, 4), bool)
    assert [g.tolist() for g in merge_redundant(m)[1]] == [[0], [1]]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: mask_iou(np.zeros((4, 4))), TypeError, "list of 2D masks"),
        (lambda: mask_iou([np.zeros((4, 4)), np.zeros((4, 5))]), ValueError, "same shape"),
        (lambda: mask_iou(np.full((2, 3, 3), 2, np.uint8)), ValueError, "binary.*value 2"),
        (lambda: mask_iou([np.array([[0, 3]])]), ValueError, "binary"),
        (lambda: mask_iou(np.zeros((1, 3, 3)), np.zeros((1, 3, 4))), ValueError, "same image"),
        (lambda: mask_iou(np.zeros((1, 3, 3)), metric="dice"), ValueError, "'iou' or 'ios'"),
        (lambda: mask_iou([{"size": [2, 2], "counts": "3"}]), ValueError, "add up to 3"),
        (
            lambda: mask_iou([{"size": [2, 2], "counts": "4"}, {"size": [2, 3], "counts": "6"}]),
            ValueError,
            "same size",
        ),
        (lambda: mask_iou([{"size": [2, 2], "counts": "4"}, np.zeros((2, 2))]), TypeError, "mixes"),
        (lambda: merge_redundant(np.zeros((1, 3, 3)), threshold=0), ValueError, "threshold"),
        (lambda: merge_redundant(np.zeros((1, 3, 3)), mode="best"), ValueError, "pass scores"),
        (lambda: merge_redundant(np.zeros((1, 3, 3)), grouping="greedy"), ValueError, "scores"),
        (lambda: merge_redundant(np.zeros((1, 3, 3)), mode="avg"), ValueError, "mode"),
        (lambda: merge_redundant(np.zeros((2, 3, 3)), scores=[1]), ValueError, "one value per"),
        (lambda: mask_nms(np.zeros((1, 3, 3)), [np.nan]), ValueError, "finite"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_inputs_not_mutated():
    m = np.zeros((2, 5, 5), np.uint8)
    m[:, 1:4, 1:4] = 1
    before = m.copy()
    merge_redundant(m)
    np.testing.assert_array_equal(m, before)


# --------------------------------------------------------------------------- labels


@pytest.mark.parametrize("big_ids", [False, True])
def test_labels_roundtrip(big_ids):
    rng = np.random.default_rng(0)
    lab = rng.integers(0, 6, (20, 30))
    if big_ids:
        lab = lab * 10**9  # find_objects would need a slot per value
    masks, ids = labels_to_instances(lab)
    assert ids.tolist() == sorted(set(np.unique(lab)) - {0})
    for m, i in zip(masks, ids):
        np.testing.assert_array_equal(m, lab == i)
    rles, ids2 = labels_to_instances(lab, as_rle=True)
    assert ids2.tolist() == ids.tolist()
    assert [r["counts"] for r in rles] == [rle_encode(lab == i)["counts"] for i in ids]
    np.testing.assert_array_equal(instances_to_labels(masks, ids=ids), lab)
    np.testing.assert_array_equal(instances_to_labels(rles, lab.shape, ids=ids), lab)


def test_instances_to_labels_overlap_modes():
    m = np.zeros((3, 4, 4), bool)
    m[0, :2] = True
    m[1, 1:3] = True  # overlaps 0 in row 1
    m[2, 3] = True
    with pytest.raises(ValueError, match="instances 0 and 1 overlap \\(4 pixels\\).*layers"):
        instances_to_labels(m)
    first = instances_to_labels(m, overlap="first")
    last = instances_to_labels(m, overlap="last")
    assert first[1].tolist() == [1] * 4 and last[1].tolist() == [2] * 4
    layers = instances_to_labels([rle_encode(x) for x in m], overlap="layers")
    assert layers.shape == (2, 4, 4)
    # lossless: every instance is exactly one label in exactly one layer
    for k in range(3):
        hits = [(layer == k + 1) for layer in layers]
        assert sum(h.any() for h in hits) == 1
        np.testing.assert_array_equal(np.any(hits, axis=0), m[k])
    assert layers[0][3].tolist() == [3] * 4  # instance 2 fits in the first layer


def test_instances_to_labels_dtype_and_errors():
    assert instances_to_labels(np.ones((1, 2, 2)), ids=[300]).dtype == np.uint16
    assert instances_to_labels([], (3, 4)).shape == (3, 4)
    with pytest.raises(ValueError, match="pass shape"):
        instances_to_labels([])
    with pytest.raises(ValueError, match="unique positive"):
        instances_to_labels(np.ones((2, 2, 2)), ids=[1, 1], overlap="last")
    with pytest.raises(ValueError, match="does not match"):
        instances_to_labels(np.ones((1, 2, 2)), (3, 3))
    with pytest.raises(ValueError, match="non-negative"):
        labels_to_instances(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="2D"):
        labels_to_instances(np.zeros((2, 2, 2), int))
