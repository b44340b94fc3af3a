"""Comparison of instances that may overlap: union pixels, exact instance matching."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from napari_maskclean.core.compare import binary_metrics
from napari_maskclean.core.instance_compare import (
    compare_instances,
    depth_instances,
    instance_centres,
    match_instances,
    union_mask,
)
from napari_maskclean.core.instances import instances_to_labels
from napari_maskclean.core.matching import match_objects
from napari_maskclean.core.review import compare
from napari_maskclean.core.rle import rle_decode, rle_encode


def random_instances(rng, n, shape=(24, 30)):
    """``n`` random rectangles (they overlap freely), as dense masks."""
    masks = np.zeros((n, *shape), bool)
    for k in range(n):
        y, x = rng.integers(0, shape[0] - 2), rng.integers(0, shape[1] - 2)
        h, w = rng.integers(2, 10), rng.integers(2, 12)
        masks[k, y:y + h, x:x + w] = True
    return masks


def brute_match(t, p, thr):
    """Reference: dense IoUs, then most matches and the largest IoU sum (one assignment)."""
    nt, npr = len(t), len(p)
    iou = np.zeros((nt, npr))
    for i in range(nt):
        for j in range(npr):
            inter = np.logical_and(t[i], p[j]).sum()
            union = np.logical_or(t[i], p[j]).sum()
            iou[i, j] = inter / union if union else 0.0
    ok = (iou >= thr) & (iou > 0)
    w = np.where(ok, 1.0 + iou / (min(nt, npr) + 1), 0.0)
    if not w.size:
        return 0, 0.0
    r, c = linear_sum_assignment(w, maximize=True)
    sel = w[r, c] > 0
    return int(sel.sum()), float(iou[r[sel], c[sel]].sum())


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nt=st.integers(0, 7), npr=st.integers(0, 7),
       thr=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.75]))
def test_match_instances_is_the_optimal_assignment_of_exact_ious(seed, nt, npr, thr):
    rng = np.random.default_rng(seed)
    t, p = random_instances(rng, nt), random_instances(rng, npr)
    m = match_instances([rle_encode(a) for a in t], [rle_encode(b) for b in p],
                        iou_threshold=thr)
    n, total = brute_match(t, p, thr)
    assert (m.n_truth, m.n_pred, m.tp) == (nt, npr, n)
    assert sum(v for _, _, v in m.matches) == pytest.approx(total, abs=1e-12)
    for i, j, v in m.matches:  # every IoU exact (same float formula as a brute count)
        inter = np.logical_and(t[i - 1], p[j - 1]).sum()
        assert v == inter / (t[i - 1].sum() + p[j - 1].sum() - inter)
    assert sorted(m.unmatched_truth + [i for i, _, _ in m.matches]) == list(range(1, nt + 1))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), thr=st.sampled_from([0.0, 0.3, 0.5, 0.9]))
def test_without_overlaps_identical_to_match_objects_on_the_label_image(seed, thr):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 6, (20, 25)) * (rng.random((20, 25)) < 0.6)
    p = np.roll(t, 2, axis=1) * 10 + (rng.random(t.shape) < 0.05)
    p[p == 1] = 0  # labels of p: multiples of 10 and nothing else
    rt, it = depth_instances(t)
    rp, ip = depth_instances(p)
    got = match_instances(rt, rp, truth_ids=it, pred_ids=ip, iou_threshold=thr)
    assert got == match_objects(t, p, iou_threshold=thr)


def test_depth_instances_union_and_centres():
    d = np.zeros((3, 6, 8), np.uint16)
    d[0, 0:3, 0:4] = 5
    d[1, 1:4, 2:6] = 9   # overlaps 5
    d[2, 5, 0:2] = 5     # label 5 also in depth 2: one instance, the union
    rles, ids = depth_instances(d)
    assert ids.tolist() == [5, 9]
    np.testing.assert_array_equal(rle_decode(rles[0]), (d == 5).any(0))
    np.testing.assert_array_equal(union_mask(d), (d != 0).any(0))
    c = instance_centres(d)
    ys, xs = np.nonzero((d == 5).any(0))
    assert c[5] == pytest.approx((ys.mean(), xs.mean()))
    assert depth_instances(np.zeros((4, 4), np.uint8))[1].size == 0
    with pytest.raises(ValueError, match=r"\(D, H, W\) stack"):
        depth_instances(np.zeros((1, 2, 3, 4), np.uint8))


def test_compare_instances_pixels_on_the_union_objects_on_the_instances():
    rng = np.random.default_rng(3)
    masks_t, masks_p = random_instances(rng, 6), random_instances(rng, 5)
    masks_p[:3] = masks_t[:3]  # three predicted exactly
    depths_t = instances_to_labels(masks_t, overlap="layers")
    depths_p = instances_to_labels(masks_p, overlap="layers")
    assert len(depths_t) > 1  # overlapping: one label image cannot hold them
    live = compare_instances(depths_t, depths_p, iou_threshold=0.5)
    expected = binary_metrics(masks_t.any(0), masks_p.any(0))
    assert live.metrics() == expected
    m = live.objects["match"]
    assert {(1, 1), (2, 2), (3, 3)} <= {(i, j) for i, j, _ in m.matches}
    assert m == match_instances([rle_encode(a) for a in masks_t],
                                [rle_encode(b) for b in masks_p], iou_threshold=0.5)
    assert set(live.objects["truth_centres"]) == set(range(1, 7))


def test_compare_instances_with_a_2d_side_and_errors():
    t = np.zeros((2, 8, 8), np.uint8)
    t[0, :4, :4] = 1
    t[1, 2:6, 2:6] = 2
    binary = np.zeros((8, 8), bool)  # a binary 2D prediction: its components are objects
    binary[:4, :4] = True
    binary[7, 7] = True
    live = compare_instances(t, binary, iou_threshold=0.5)
    assert live.objects["match"].matches == [(1, 1, 1.0)]
    assert live.objects["match"].unmatched_pred == [2]
    # a 2D image side is thresholded like compare() does
    img = binary.astype(float) * 0.9 + 0.05
    assert compare_instances(t, img, pred_method="mean").counts == live.counts
    with pytest.raises(ValueError, match="cannot be thresholded"):
        compare_instances(t, t, truth_method="otsu")
    with pytest.raises(ValueError, match=r"\(8, 8\).*\(8, 7\)|\(8, 7\).*\(8, 8\)"):
        compare_instances(t, binary[:, :7])
    with pytest.raises(ValueError, match="different image sizes"):
        match_instances([rle_encode(binary)], [rle_encode(binary[:, :7])])


def test_compare_keeps_single_instances_whole_when_asked():
    """A COCO image with one instance in two parts is one object, not two components."""
    t = np.zeros((6, 10), np.uint8)
    t[:2, :2] = 1
    t[4:, 6:] = 1
    p = t.copy()
    split = compare(t, p, iou_threshold=0.5)
    whole = compare(t, p, iou_threshold=0.5, truth_instances=True, pred_instances=True)
    assert split.objects["match"].n_truth == 2
    assert whole.objects["match"].n_truth == 1 and whole.objects["match"].matches == [
        (1, 1, 1.0)]
