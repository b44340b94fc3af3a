"""Comparison by category: category maps, per-category pixel scores and object matching."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import f1_score, jaccard_score

from napari_maskclean.core.category_compare import (
    category_map,
    category_pixel_scores,
    class_instances,
    compare_categories,
    match_by_category,
)
from napari_maskclean.core.instance_compare import (
    depth_instances,
    instance_overlaps,
    match_instances,
)
from napari_maskclean.core.instances import instances_to_labels
from napari_maskclean.core.rle import rle_encode


def random_boxes(rng, n, shape=(24, 30)):
    masks = np.zeros((n, *shape), bool)
    for k in range(n):
        y, x = rng.integers(0, shape[0] - 2), rng.integers(0, shape[1] - 2)
        masks[k, y:y + rng.integers(2, 10), x:x + rng.integers(2, 12)] = True
    return masks


def tiled_labels(rng, shape=(24, 30), n=6):
    """Instances that never overlap: a label image of boxes painted in order."""
    lab = np.zeros(shape, np.int32)
    for k, m in enumerate(random_boxes(rng, n, shape), start=1):
        lab[m] = k
    return lab


def test_category_map_of_depths_and_its_refusals():
    d = np.zeros((2, 3, 4), np.int32)
    d[0, :2, :2] = 1
    d[1, 1:, 1:3] = 2  # overlaps 1 at (1, 1): same category, the union
    got = category_map(d, {1: 4, 2: 4})
    assert got.tolist() == [[4, 4, 0, 0], [4, 4, 4, 0], [0, 4, 4, 0]]
    with pytest.raises(ValueError, match="different categories .*category_pixel_scores"):
        category_map(d, {1: 4, 2: 5})
    with pytest.raises(ValueError, match=r"labels \[2\] have no category"):
        category_map(d, {1: 4})
    assert category_map(d[:1], {}, default=3).max() == 3
    with pytest.raises(ValueError, match="positive"):
        category_map(d, {1: 0, 2: 1})
    with pytest.raises(TypeError, match="integer"):
        category_map(d.astype(float), {1: 1, 2: 1})
    assert np.array_equal(d, np.stack([d[0], d[1]]))  # input untouched


def test_class_instances_are_the_components_of_each_class():
    rng = np.random.default_rng(0)
    classes = rng.integers(0, 4, (30, 40)) * (rng.random((30, 40)) < 0.5)
    lab, cats = class_instances(classes)
    full = ndimage.generate_binary_structure(2, 2)
    n = 0
    for v in (1, 2, 3):  # reference: scipy's components of one class at a time
        ref, k = ndimage.label(classes == v, structure=full)
        n += k
        pairs = set(zip(ref[ref > 0].tolist(), lab[ref > 0].tolist()))
        assert len(pairs) == k == len({b for _, b in pairs})  # the same partition
        assert {cats[b] for _, b in pairs} == {v}
    assert lab.max() == n and (lab[classes == 0] == 0).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), ncat=st.integers(1, 4))
def test_pixel_scores_per_category_are_sklearns(seed, ncat):
    rng = np.random.default_rng(seed)
    t, p = tiled_labels(rng), tiled_labels(rng)
    tc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, 7)}
    pc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, 7)}
    live = compare_categories(t, p, truth_categories=tc, pred_categories=pc)
    tm, pm = category_map(t, tc), category_map(p, pc)
    cm, labels = live.confusion_matrix()
    np.testing.assert_array_equal(cm, sk_confusion_matrix(tm.ravel(), pm.ravel(),
                                                          labels=labels))
    pcm = live.per_class()
    np.testing.assert_allclose(pcm["dice"], f1_score(tm.ravel(), pm.ravel(), labels=labels,
                                                     average=None, zero_division=0))
    np.testing.assert_allclose(pcm["iou"], jaccard_score(tm.ravel(), pm.ravel(),
                                                         labels=labels, average=None,
                                                         zero_division=0))


def _per_category_reference(t, p, tc, pc, thr):
    """The existing matcher run on each category's instances alone."""
    out = {}
    for c in sorted(set(tc.values()) | set(pc.values())):
        ti = [k for k in range(len(t)) if tc[k + 1] == c]
        pi = [k for k in range(len(p)) if pc[k + 1] == c]
        out[c] = match_instances([rle_encode(t[k]) for k in ti], [rle_encode(p[k]) for k in pi],
                                 truth_ids=[k + 1 for k in ti], pred_ids=[k + 1 for k in pi],
                                 iou_threshold=thr)
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nt=st.integers(0, 7), npr=st.integers(0, 7),
       ncat=st.integers(1, 3), thr=st.sampled_from([0.0, 0.1, 0.3, 0.5]))
def test_matching_by_category_is_the_matcher_per_category(seed, nt, npr, ncat, thr):
    rng = np.random.default_rng(seed)
    t, p = random_boxes(rng, nt), random_boxes(rng, npr)  # overlapping freely
    tc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, nt + 1)}
    pc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, npr + 1)}
    ov = instance_overlaps([rle_encode(m) for m in t], [rle_encode(m) for m in p])
    overall, per = match_by_category(ov, tc, pc, iou_threshold=thr)
    ref = _per_category_reference(t, p, tc, pc, thr)
    assert per == ref
    # no match across categories, and the overall matching is the union of the categories'
    assert all(tc[i] == pc[j] for i, j, _ in overall.matches)
    assert sorted(overall.matches) == sorted(m for r in ref.values() for m in r.matches)
    assert (overall.n_truth, overall.n_pred) == (nt, npr)
    assert overall.tp == sum(r.tp for r in ref.values())


def test_a_perfect_box_of_another_category_is_not_a_match():
    t = np.zeros((10, 10), np.int32)
    t[2:6, 2:6] = 1
    p = t * 4
    live = compare_categories(t, p, truth_categories={1: 1}, pred_categories={4: 2},
                              iou_threshold=0.5)
    m = live.objects["match"]
    assert m.tp == 0 and m.unmatched_truth == [1] and m.unmatched_pred == [4]
    assert live.objects["per_category"][1].recall == 0.0
    assert live.objects["per_category"][2].precision == 0.0
    # 'any foreground' on the same instances would have matched them
    assert match_instances([rle_encode(t == 1)], [rle_encode(p == 4)]).tp == 1


def test_overlapping_depths_against_a_class_map():
    shape = (30, 40)
    masks = np.zeros((3, *shape), bool)
    masks[0, 2:12, 2:12] = masks[1, 4:14, 4:14] = True  # two cats that overlap
    masks[2, 20:28, 20:35] = True                         # a dog
    depths = instances_to_labels(masks, overlap="layers")
    assert depths.shape[0] == 2
    cats = {1: 1, 2: 1, 3: 2}
    classes = np.zeros(shape, np.int32)
    classes[2:14, 2:14] = 1       # one region of class 1
    classes[20:28, 20:35] = 2
    live = compare_categories(depths, classes, truth_categories=cats, iou_threshold=0.5)
    tm = category_map(depths, cats)
    cm, labels = live.confusion_matrix()
    np.testing.assert_array_equal(cm, sk_confusion_matrix(tm.ravel(), classes.ravel(),
                                                          labels=labels))
    per = live.objects["per_category"]
    # class-map objects: its connected components (1 of class 1, 1 of class 2)
    assert (per[1].n_truth, per[1].n_pred, per[1].tp) == (2, 1, 1)
    assert (per[2].n_truth, per[2].n_pred, per[2].tp) == (1, 1, 1)
    rt, it = depth_instances(depths)
    comps, ccats = class_instances(classes)
    rp, ip = depth_instances(comps)
    ref = match_by_category(instance_overlaps(rt, rp, truth_ids=it, pred_ids=ip), cats,
                            ccats)
    assert live.objects["match"] == ref[0]


def test_one_category_against_the_rest():
    t = np.array([[1, 1, 0, 2, 2, 3]])
    p = np.array([[5, 5, 0, 6, 6, 0]])
    live = compare_categories(t, p, truth_categories={1: 1, 2: 2, 3: 2},
                              pred_categories={5: 2, 6: 2}, positive=2, iou_threshold=0.5)
    assert live.counts == (2, 2, 1, 1)  # category 2 pixels only
    m = live.objects["match"]
    assert (m.n_truth, m.n_pred, m.matches) == (2, 2, [(2, 6, 1.0)])
    assert set(live.objects["per_category"]) == {2}


def test_unknown_labels_take_the_default_category_or_are_refused():
    t = np.array([[1, 2]])
    with pytest.raises(ValueError, match="no category"):
        compare_categories(t, t, truth_categories={1: 1}, pred_categories={1: 1, 2: 1})
    live = compare_categories(t, t, truth_categories={1: 1}, pred_categories={1: 1, 2: 1},
                              default_category=1)
    assert live.per_class()["iou"].tolist() == [1.0]


def _union_reference(t, tc, p, pc, c):
    """Category ``c``'s union of instances of each side (dense masks + categories)."""
    return (np.any([m for k, m in enumerate(t) if tc[k + 1] == c] or [np.zeros(t.shape[1:],
                                                                             bool)], axis=0),
            np.any([m for k, m in enumerate(p) if pc[k + 1] == c] or [np.zeros(p.shape[1:],
                                                                             bool)], axis=0))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), nt=st.integers(1, 7), npr=st.integers(1, 7),
       ncat=st.integers(1, 3))
def test_overlapping_categories_scored_on_each_categorys_union(seed, nt, npr, ncat):
    rng = np.random.default_rng(seed)
    t, p = random_boxes(rng, nt), random_boxes(rng, npr)  # overlapping freely
    tc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, nt + 1)}
    pc = {k: int(rng.integers(1, ncat + 1)) for k in range(1, npr + 1)}
    td = instances_to_labels(t, overlap="layers")
    pd = instances_to_labels(p, overlap="layers")
    scores = category_pixel_scores(td, pd, truth_categories=tc, pred_categories=pc)
    cats = sorted(set(tc.values()) | set(pc.values()))
    assert scores["labels"].tolist() == [0, *cats]
    for i, c in enumerate(cats, start=1):  # reference: scikit-learn on the binary unions
        a, b = _union_reference(t, tc, p, pc, c)
        assert scores["iou"][i] == pytest.approx(
            jaccard_score(a.ravel(), b.ravel(), zero_division=0))
        assert scores["dice"][i] == pytest.approx(f1_score(a.ravel(), b.ravel(),
                                                           zero_division=0))
        assert scores["support"][i] == a.sum()
    live = compare_categories(td, pd, truth_categories=tc, pred_categories=pc,
                              iou_threshold=0.5)
    try:
        tm, pm = category_map(td, tc), category_map(pd, pc)
    except ValueError:  # categories overlap: the union compared, scores per category
        assert not live.multiclass and live.several_categories
        np.testing.assert_array_equal(live.codes != 0, t.any(0) | p.any(0))
        for key in ("iou", "dice", "precision", "recall", "support"):
            np.testing.assert_array_equal(live.per_class()[key], scores[key])
        assert live.report()["per_class"][str(cats[0])]["iou"] == scores["iou"][1]
    else:  # no overlap across categories: the same scores as the confusion matrix's
        assert live.multiclass
        pcm = live.per_class()
        np.testing.assert_array_equal(pcm["labels"], scores["labels"])
        for key in ("iou", "dice", "precision", "recall", "support"):
            np.testing.assert_allclose(pcm[key], scores[key])
        np.testing.assert_array_equal(live.confusion_matrix()[0], sk_confusion_matrix(
            tm.ravel(), pm.ravel(), labels=pcm["labels"]))
    # one category against the rest is always defined: its unions
    c = cats[-1]
    one = compare_categories(td, pd, truth_categories=tc, pred_categories=pc, positive=c)
    a, b = _union_reference(t, tc, p, pc, c)
    assert one.counts[:3] == (int((a & b).sum()), int((~a & b).sum()), int((a & ~b).sum()))


def test_default_category_per_side_and_negative_labels_refused():
    t = np.array([[1, 1, 0, 2, 2]])
    p = np.array([[1, 1, 0, 7, 7]])  # 7: painted by hand in the prediction's file
    # the prediction's file has another first category (3) than the truth's (1)
    live = compare_categories(t, p, truth_categories={1: 1, 2: 3}, pred_categories={1: 1},
                              default_category=(1, 3), iou_threshold=0.5)
    assert live.objects["per_category"][3].tp == 1  # the painted 7 matches the truth's 2
    scores = category_pixel_scores(t, p, truth_categories={1: 1, 2: 3},
                                   pred_categories={1: 1}, default_category=(1, 3))
    assert scores["iou"].tolist() == [1.0, 1.0, 1.0]  # background, 1, 3: all exact
    wrong = category_pixel_scores(t, p, truth_categories={1: 1, 2: 3},
                                  pred_categories={1: 1}, default_category=1)
    assert wrong["iou"].tolist() != [1.0, 1.0, 1.0]
    neg = np.array([[[-1, -1, 0, 2, 2]], [[0, 0, 0, 0, 2]]])
    with pytest.raises(ValueError, match="negative instance labels"):
        category_pixel_scores(neg, p, truth_categories={2: 1}, default_category=3)
    with pytest.raises(ValueError, match="pair"):
        category_pixel_scores(t, p, truth_categories={1: 1}, default_category=(1, 2, 3))


def test_huge_label_values_without_a_huge_table():
    t = np.array([[2**40, 2**40, 0, 5]], np.int64)
    p = np.array([[9, 9, 0, 5]], np.int64)
    s = category_pixel_scores(t, p, truth_categories={2**40: 1, 5: 2},
                              pred_categories={9: 1, 5: 2})
    assert s["labels"].tolist() == [0, 1, 2] and s["iou"].tolist() == [1.0, 1.0, 1.0]
