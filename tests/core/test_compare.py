import itertools
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from skimage.measure import regionprops

import napari_maskclean.core.compare as compare_mod
from napari_maskclean.core.compare import (
    FN,
    FP,
    TN,
    TP,
    ConfusionCounter,
    ObjectMatch,
    binary_metrics,
    confusion_map,
    confusion_matrix,
    error_components,
    match_objects,
    metrics_from_counts,
    per_class_metrics,
)

METRICS = (
    "accuracy",
    "precision",
    "recall",
    "specificity",
    "f1",
    "iou",
    "mcc",
    "balanced_accuracy",
)


def sklearn_binary(t, p):
    """Reference values from scikit-learn on boolean foregrounds."""
    t = np.asarray(t, dtype=bool).ravel()
    p = np.asarray(p, dtype=bool).ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on single-class input
        return {
            "accuracy": skm.accuracy_score(t, p),
            "precision": skm.precision_score(t, p, zero_division=0),
            "recall": skm.recall_score(t, p, zero_division=0),
            "specificity": skm.recall_score(~t, ~p, zero_division=0),
            "f1": skm.f1_score(t, p, zero_division=0),
            "iou": skm.jaccard_score(t, p, zero_division=0),
            "mcc": skm.matthews_corrcoef(t, p),
            "balanced_accuracy": skm.balanced_accuracy_score(t, p),
        }


def assert_matches_sklearn(m, t, p):
    ref = sklearn_binary(t, p)
    for k in METRICS:
        assert m[k] == pytest.approx(ref[k], rel=1e-12, abs=1e-12), k
        assert isinstance(m[k], float)
    tb, pb = np.asarray(t, bool), np.asarray(p, bool)
    assert m["tp"] == np.sum(tb & pb) and m["fp"] == np.sum(~tb & pb)
    assert m["fn"] == np.sum(tb & ~pb) and m["tn"] == np.sum(~tb & ~pb)
    assert all(type(m[k]) is int for k in ("tp", "fp", "fn", "tn"))


# ---------------------------------------------------------------- binary


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
    positive=st.sampled_from([None, 1, 2]),
)
def test_binary_metrics_matches_sklearn(data, shape, positive):
    t = data.draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, 3)))
    p = data.draw(hnp.arrays(np.uint8, shape, elements=st.integers(0, 3)))
    m = binary_metrics(t, p, positive=positive)
    ft = t != 0 if positive is None else t == positive
    fp = p != 0 if positive is None else p == positive
    assert_matches_sklearn(m, ft, fp)


@pytest.mark.parametrize(
    "t, p",
    [
        (np.zeros((4, 5), bool), np.zeros((4, 5), bool)),  # both empty
        (np.ones((4, 5), bool), np.ones((4, 5), bool)),  # both full
        (np.zeros((4, 5), bool), np.eye(4, 5, dtype=bool)),  # no true positives
        (np.eye(4, 5, dtype=bool), np.zeros((4, 5), bool)),  # nothing predicted
        (np.ones((4, 5), bool), np.zeros((4, 5), bool)),  # all wrong
        (np.ones((4, 5), bool), ~np.eye(4, 5, dtype=bool)),  # truth full
    ],
)
def test_binary_metrics_degenerate_no_warnings(t, p):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = binary_metrics(t, p)
    assert all(np.isfinite(m[k]) for k in METRICS)
    assert_matches_sklearn(m, t, p)


def test_degenerate_documented_values():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        empty = binary_metrics(np.zeros(9), np.zeros(9))
    assert empty["f1"] == 0.0 and empty["iou"] == 0.0 and empty["mcc"] == 0.0
    assert empty["accuracy"] == 1.0 and empty["balanced_accuracy"] == 1.0
    assert empty["specificity"] == 1.0
    # zero pixels: nothing to compare, refused (all-zero scores looked like a result)
    for shape in [(0,), (0, 5), (3, 0, 2)]:
        with pytest.raises(ValueError, match="no pixels"):
            binary_metrics(np.zeros(shape), np.zeros(shape))
    # summed counts of zero pixels keep the documented zero-division values
    none = metrics_from_counts(0, 0, 0, 0)
    assert none["tn"] == 0 and all(none[k] == 0.0 for k in METRICS)


def test_binary_metrics_label_images_and_positive():
    t = np.array([[0, 1, 2], [2, 2, 0], [5, 0, 1]], dtype=np.int32)
    p = np.array([[0, 2, 2], [2, 0, 0], [5, 5, 1]], dtype=np.int32)
    m = binary_metrics(t, p)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (5, 1, 1, 2)
    m2 = binary_metrics(t, p, positive=2)
    assert (m2["tp"], m2["fp"], m2["fn"], m2["tn"]) == (2, 1, 1, 5)
    assert binary_metrics(t, p, positive=7)["tp"] == 0


def test_binary_metrics_dtypes_agree():
    rng = np.random.default_rng(0)
    t = rng.random((37, 41)) < 0.4
    p = rng.random((37, 41)) < 0.4
    ref = binary_metrics(t, p)
    for dt in (np.uint8, np.int16, np.float32, np.float64, np.uint64):
        assert binary_metrics(t.astype(dt), p.astype(dt)) == ref
    assert binary_metrics(t.astype(np.uint8) * 255, p.astype(float) * 0.3) == ref
    assert binary_metrics(t.tolist(), p.tolist()) == ref


def test_binary_metrics_chunking_and_strides_do_not_matter(monkeypatch):
    rng = np.random.default_rng(1)
    t = rng.integers(0, 3, (64, 80)).astype(np.uint8)
    p = rng.integers(0, 3, (64, 80)).astype(np.uint8)
    ref = binary_metrics(t, p)
    assert_matches_sklearn(ref, t != 0, p != 0)
    monkeypatch.setattr(compare_mod, "_CHUNK", 7)  # many ragged chunks
    assert binary_metrics(t, p) == ref
    assert binary_metrics(np.asfortranarray(t), np.asfortranarray(p)) == ref
    big_t = np.zeros((128, 160), np.uint8)
    big_t[::2, ::2] = t
    big_p = np.zeros((128, 160), np.uint8)
    big_p[::2, ::2] = p
    assert binary_metrics(big_t[::2, ::2], big_p[::2, ::2]) == ref


def test_binary_metrics_does_not_mutate():
    t = np.array([[0, 3], [1, 0]])
    p = np.array([[1.0, 0.0], [1.0, 0.0]])
    t0, p0 = t.copy(), p.copy()
    binary_metrics(t, p, positive=1)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(p, p0)


def test_shape_mismatch_message():
    with pytest.raises(ValueError, match=r"\(512, 512\) and \(512, 511\)"):
        binary_metrics(np.zeros((512, 512)), np.zeros((512, 511)))
    with pytest.raises(ValueError, match="same shape"):
        confusion_matrix(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="same shape"):
        match_objects(np.zeros((2, 2), int), np.zeros((2, 3), int))


@pytest.mark.parametrize("side", ["truth", "pred"])
def test_nan_raises_with_fix(side):
    a = np.zeros((3, 3))
    b = np.zeros((3, 3))
    (a if side == "truth" else b)[1, 1] = np.nan
    with pytest.raises(ValueError, match=f"{side} contains NaN.*nan_to_num"):
        binary_metrics(a, b)
    with pytest.raises(ValueError, match="NaN"):
        confusion_matrix(a, b)
    with pytest.raises(ValueError, match="NaN"):
        confusion_map(a, b)


@pytest.mark.parametrize(
    "bad", [np.zeros(3, dtype=complex), np.array(["a", "b", "c"]), np.array([None] * 3)]
)
def test_bad_dtype_raises_type_error(bad):
    with pytest.raises(TypeError, match="dtype"):
        binary_metrics(bad, np.zeros(3))


def test_bad_positive():
    with pytest.raises(TypeError, match="positive"):
        binary_metrics(np.zeros(3), np.zeros(3), positive="1")
    with pytest.raises(TypeError, match="positive"):
        binary_metrics(np.zeros(3), np.zeros(3), positive=float("nan"))


def test_metrics_from_counts_map_reduce_equals_whole():
    rng = np.random.default_rng(2)
    t = rng.random((96, 96)) < 0.3
    p = rng.random((96, 96)) < 0.35
    whole = binary_metrics(t, p)
    sums = np.zeros(4, dtype=np.int64)
    for i in range(0, 96, 32):
        for j in range(0, 96, 40):
            m = binary_metrics(t[i : i + 32, j : j + 40], p[i : i + 32, j : j + 40])
            sums += [m["tp"], m["fp"], m["fn"], m["tn"]]
    assert metrics_from_counts(*sums) == whole


def test_metrics_from_counts_large_counts_exact_mcc():
    # the MCC denominator overflows int64 here; result must still be exact
    tp, fp, fn, tn = 5_000_000, 1_000_000, 2_000_000, 9_000_000
    m = metrics_from_counts(tp, fp, fn, tn)
    ref = (tp * tn - fp * fn) / np.sqrt(float(tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert m["mcc"] == pytest.approx(ref, rel=1e-12)
    assert -1.0 <= m["mcc"] <= 1.0


@pytest.mark.parametrize("bad", [(-1, 0, 0, 0), (1.5, 0, 0, 0), (True, 0, 0, 0)])
def test_metrics_from_counts_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        metrics_from_counts(*bad)


# ------------------------------------------------------ confusion matrix


def sk_cm(t, p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns on single-class input
        return skm.confusion_matrix(np.ravel(t), np.ravel(p), **kw)


@settings(max_examples=50, deadline=None)
@given(
    data=st.data(),
    shape=hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=15),
    dtype=st.sampled_from([np.uint8, np.int16, np.int64, np.float64, bool]),
)
def test_confusion_matrix_matches_sklearn(data, shape, dtype):
    lo = 0 if dtype in (np.uint8, bool) else -3
    hi = 1 if dtype is bool else 4
    t = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))).astype(dtype)
    p = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(lo, hi))).astype(dtype)
    ref = sk_cm(t, p)
    cm, labs = confusion_matrix(t, p, return_labels=True)
    np.testing.assert_array_equal(cm, ref)
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(labs, np.union1d(t, p))
    # a label list: subset, reordered, with absent values
    present = np.unique(t.astype(np.int64)).tolist()
    labels = data.draw(st.permutations(present + [99]))
    labels = labels[: data.draw(st.integers(1, len(labels)))]
    try:
        ref = sk_cm(t, p, labels=labels)
    except ValueError:  # sklearn: no label of the list in the truth
        ref = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.testing.assert_array_equal(confusion_matrix(t, p, labels=labels), ref)


def test_confusion_matrix_dense_and_general_paths_agree(monkeypatch):
    rng = np.random.default_rng(3)
    t = rng.integers(0, 6, (50, 60)).astype(np.uint8)
    p = rng.integers(0, 6, (50, 60)).astype(np.uint8)
    dense = confusion_matrix(t, p)
    dense_l = confusion_matrix(t, p, labels=[5, 0, 3, 42])
    monkeypatch.setattr(compare_mod, "_DENSE_MAX_BINS", 0)
    np.testing.assert_array_equal(confusion_matrix(t, p), dense)
    np.testing.assert_array_equal(confusion_matrix(t, p, labels=[5, 0, 3, 42]), dense_l)
    np.testing.assert_array_equal(dense, sk_cm(t, p))


def test_confusion_matrix_wide_range_and_float_labels():
    t = np.array([0, 10**9, 10**9, -(10**12), 0])
    p = np.array([10**9, 10**9, 0, -(10**12), 0])
    np.testing.assert_array_equal(confusion_matrix(t, p), sk_cm(t, p))
    tf = np.array([0.5, 1.5, 1.5, 2.25])
    pf = np.array([0.5, 0.5, 1.5, 2.25])
    cm, labs = confusion_matrix(tf, pf, return_labels=True)
    np.testing.assert_array_equal(cm, [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(labs, [0.5, 1.5, 2.25])


def test_confusion_matrix_ignore_index():
    t = np.array([[0, 1, 255], [2, 255, 1]], dtype=np.uint8)
    p = np.array([[0, 2, 1], [2, 0, 255]], dtype=np.uint8)
    keep = t.ravel() != 255
    ref = skm.confusion_matrix(t.ravel()[keep], p.ravel()[keep])
    cm, labs = confusion_matrix(t, p, ignore_index=255, return_labels=True)
    np.testing.assert_array_equal(cm, ref)
    np.testing.assert_array_equal(labs, [0, 1, 2, 255])  # 255 predicted once
    assert cm.sum() == 4


def test_confusion_matrix_bad_labels():
    with pytest.raises(ValueError, match="non-empty"):
        confusion_matrix(np.zeros(3), np.zeros(3), labels=[])
    with pytest.raises(ValueError, match="duplicates"):
        confusion_matrix(np.zeros(3), np.zeros(3), labels=[0, 0])


def test_per_class_metrics_matches_sklearn():
    rng = np.random.default_rng(4)
    t = rng.integers(0, 4, 500)
    p = np.where(rng.random(500) < 0.7, t, rng.integers(0, 4, 500))
    labels = [0, 1, 2, 3, 7]  # 7 absent -> zero_division
    cm = confusion_matrix(t, p, labels=labels)
    pc = per_class_metrics(cm)
    kw = {"labels": labels, "average": None, "zero_division": 0}
    np.testing.assert_allclose(pc["iou"], skm.jaccard_score(t, p, **kw))
    np.testing.assert_allclose(pc["dice"], skm.f1_score(t, p, **kw))
    np.testing.assert_allclose(pc["precision"], skm.precision_score(t, p, **kw))
    np.testing.assert_allclose(pc["recall"], skm.recall_score(t, p, **kw))
    np.testing.assert_array_equal(pc["support"], [np.sum(t == k) for k in labels])
    assert pc["mean_iou"] == pytest.approx(pc["iou"][:4].mean())
    with pytest.raises(ValueError, match="square"):
        per_class_metrics(np.zeros((2, 3)))


# ---------------------------------------------------------- confusion map


def test_confusion_map_codes():
    t = np.array([[0, 1, 0, 1], [3, 3, 0, 2]])
    p = np.array([[0, 1, 1, 0], [3, 0, 2, 2]])
    expected = np.array([[TN, TP, FP, FN], [TP, FN, FP, TP]], dtype=np.uint8)
    out = confusion_map(t, p)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, expected)
    assert (TN, TP, FP, FN) == (0, 1, 2, 3)
    np.testing.assert_array_equal(
        confusion_map(t, p, positive=3), [[TN, TN, TN, TN], [TP, FN, TN, TN]]
    )
    # counts agree with binary_metrics
    m = binary_metrics(t, p)
    assert [np.sum(out == c) for c in (TP, FP, FN, TN)] == [m["tp"], m["fp"], m["fn"], m["tn"]]


# ------------------------------------------------------- ConfusionCounter


@settings(max_examples=40, deadline=None)
@given(data=st.data(), positive=st.sampled_from([None, 2]))
def test_confusion_counter_matches_fresh_metrics(data, positive):
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    elems = st.integers(0, 3)
    t = data.draw(hnp.arrays(np.uint8, (h, w), elements=elems))
    p = data.draw(hnp.arrays(np.uint8, (h, w), elements=elems))
    counter = ConfusionCounter(t, p, positive=positive)
    t_ref, p_ref = t.copy(), p.copy()
    for _ in range(data.draw(st.integers(1, 6))):
        y0, y1 = sorted(data.draw(st.lists(st.integers(0, h), min_size=2, max_size=2)))
        x0, x1 = sorted(data.draw(st.lists(st.integers(0, w), min_size=2, max_size=2)))
        region = (slice(y0, y1), slice(x0, x1))
        side = data.draw(st.sampled_from(["truth", "pred", "both"]))
        shape = (y1 - y0, x1 - x0)
        kw = {}
        if side in ("truth", "both"):
            kw["truth_region"] = data.draw(hnp.arrays(np.uint8, shape, elements=elems))
            t_ref[region] = kw["truth_region"]
        if side in ("pred", "both"):
            kw["pred_region"] = data.draw(hnp.arrays(np.uint8, shape, elements=elems))
            p_ref[region] = kw["pred_region"]
        counter.update(region, **kw)
        fresh = binary_metrics(t_ref, p_ref, positive=positive)
        assert counter.counts == (fresh["tp"], fresh["fp"], fresh["fn"], fresh["tn"])
        assert counter.metrics() == fresh


def test_confusion_counter_keeps_own_copies_and_validates():
    t = np.zeros((4, 4), np.uint8)
    p = np.zeros((4, 4), np.uint8)
    c = ConfusionCounter(t, p)
    t[:] = 1  # caller's array changes: the counter must not see it
    assert c.counts == (0, 0, 0, 16)
    assert not c.truth.flags.writeable
    c.update((slice(0, 2), slice(0, 2)), pred_region=1)  # scalar broadcast
    assert c.counts == (0, 4, 0, 12)
    np.testing.assert_array_equal(p, 0)  # never writes to the inputs
    with pytest.raises(ValueError, match="region has shape"):
        c.update((slice(0, 2), slice(0, 2)), truth_region=np.ones((3, 3)))
    with pytest.raises(TypeError, match="tuple of slices"):
        c.update([np.array([0, 1])], truth_region=np.ones(2))
    with pytest.raises(ValueError, match="dimensions"):
        c.update((slice(0, 1),) * 3, truth_region=1)
    c.update((slice(0, 1),))  # nothing changed: no-op
    assert c.counts == (0, 4, 0, 12)


# ------------------------------------------------------- error components


def test_error_components_literal():
    t = np.array(
        [
            [1, 1, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [0, 0, 0, 1, 1],
            [0, 0, 0, 0, 0],
        ]
    )
    p = np.array(
        [
            [1, 0, 0, 0, 1],
            [0, 0, 0, 0, 1],
            [0, 0, 0, 1, 1],
            [1, 0, 0, 0, 0],
        ]
    )
    comps, lab = error_components(t, p)
    assert [(c["kind"], c["size"]) for c in comps] == [("FN", 3), ("FP", 2), ("FP", 1)]
    assert comps[0]["bbox"] == [[0, 2], [0, 2]]
    assert comps[0]["centroid"] == pytest.approx([2 / 3, 2 / 3])
    assert comps[1]["bbox"] == [[0, 2], [4, 5]] and comps[1]["centroid"] == [0.5, 4.0]
    assert [c["label"] for c in comps] == [1, 2, 3]
    assert lab.dtype == np.int32
    expected = np.array(
        [
            [0, 1, 0, 0, 2],
            [1, 1, 0, 0, 2],
            [0, 0, 0, 0, 0],
            [3, 0, 0, 0, 0],
        ]
    )
    np.testing.assert_array_equal(lab, expected)
    fp_only, lab_fp = error_components(t, p, kind="FP")
    assert [c["kind"] for c in fp_only] == ["FP", "FP"] and lab_fp.max() == 2
    big, lab_big = error_components(t, p, min_size=2)
    assert [c["size"] for c in big] == [3, 2] and not lab_big[3, 0]
    with pytest.raises(ValueError, match="kind"):
        error_components(t, p, kind="TP")


def test_error_components_connectivity():
    t = np.zeros((3, 3), bool)
    p = np.eye(3, dtype=bool)
    assert len(error_components(t, p)[0]) == 1  # full connectivity (default)
    assert len(error_components(t, p, connectivity=1)[0]) == 3
    with pytest.raises(ValueError, match="connectivity"):
        error_components(t, p, connectivity=3)


@pytest.mark.parametrize("shape", [(40, 50), (8, 12, 10)])
def test_error_components_vs_regionprops(shape):
    rng = np.random.default_rng(5)
    t = rng.random(shape) < 0.2
    p = rng.random(shape) < 0.2
    comps, lab = error_components(t, p)
    sizes = [c["size"] for c in comps]
    assert sizes == sorted(sizes, reverse=True)
    assert sum(s for c, s in zip(comps, sizes, strict=True) if c["kind"] == "FP") == (
        np.sum(p & ~t)
    )
    cmap = confusion_map(t, p)
    props = {r.label: r for r in regionprops(lab)}
    for c in comps:
        r = props[c["label"]]
        assert r.area == c["size"]
        nd = len(shape)
        assert c["bbox"] == [[r.bbox[d], r.bbox[d + nd]] for d in range(nd)]
        assert c["centroid"] == pytest.approx(list(r.centroid))
        code = FP if c["kind"] == "FP" else FN
        assert np.all(cmap[lab == c["label"]] == code)


# ---------------------------------------------------------- match_objects


def brute_force_ious(t, p):
    out = {}
    for a in np.unique(t[t > 0]):
        for b in np.unique(p[p > 0]):
            inter = np.sum((t == a) & (p == b))
            if inter:
                out[(int(a), int(b))] = inter / np.sum((t == a) | (p == b))
    return out


def best_matching(ious, thr):
    """Exhaustive optimum: (count, IoU sum)."""
    cand = [(k, v) for k, v in ious.items() if v >= thr]
    best = (0, 0.0)
    for r in range(len(cand), 0, -1):
        for combo in itertools.combinations(cand, r):
            ts = [k[0] for k, _ in combo]
            ps = [k[1] for k, _ in combo]
            if len(set(ts)) == r and len(set(ps)) == r:
                best = max(best, (r, sum(v for _, v in combo)))
        if best[0]:
            return best
    return best


def test_match_objects_identical_noncontiguous_ids():
    t = np.zeros((20, 20), np.int32)
    t[1:5, 1:5] = 7
    t[10:15, 2:9] = 1000
    t[3:8, 12:19] = 3
    m = match_objects(t, t)
    assert m.f1 == 1.0 and m.precision == 1.0 and m.recall == 1.0
    assert m.matches == [(3, 3, 1.0), (7, 7, 1.0), (1000, 1000, 1.0)]
    assert m.panoptic_quality == 1.0 and m.n_truth == 3 == m.n_pred
    relabelled = np.select([t == 7, t == 1000, t == 3], [50, 2, 9], 0)
    m2 = match_objects(t, relabelled)
    assert sorted((a, b) for a, b, _ in m2.matches) == [(3, 9), (7, 50), (1000, 2)]


def test_match_objects_split_object():
    t = np.zeros((10, 10), np.uint16)
    t[2:8, 0:10] = 1
    p = np.zeros_like(t)
    p[2:8, 0:7] = 4  # 42 of 60 px: IoU 0.7
    p[2:8, 7:10] = 5  # IoU 0.3
    m = match_objects(t, p)
    assert m.matches == [(1, 4, pytest.approx(0.7))]
    assert m.unmatched_pred == [5] and m.unmatched_truth == []
    assert m.precision == 0.5 and m.recall == 1.0 and m.f1 == pytest.approx(2 / 3)
    assert m.segmentation_quality == pytest.approx(0.7)
    assert m.panoptic_quality == pytest.approx(0.7 * 2 / 3)
    # exactly equal halves at threshold 0.5: two candidates, one match
    p[2:8, 0:5] = 4
    p[2:8, 5:10] = 5
    half = match_objects(t, p, iou_threshold=0.5)
    assert len(half.matches) == 1 and half.matches[0][2] == 0.5
    assert match_objects(t, p, iou_threshold=0.51).matches == []


def test_match_objects_missing_and_extra():
    t = np.zeros((12, 12), np.int32)
    t[0:4, 0:4] = 1
    t[6:10, 6:10] = 2
    p = np.zeros_like(t)
    p[0:4, 1:5] = 8  # IoU 12/20 = 0.6
    p[10:12, 0:3] = 9  # extra object
    m = match_objects(t, p)
    assert m.matches == [(1, 8, pytest.approx(0.6))]
    assert m.unmatched_truth == [2] and m.unmatched_pred == [9]
    assert m.recall == 0.5 and m.precision == 0.5 and m.f1 == 0.5
    d = m.as_dict()
    assert d["matches"] == [[1, 8, pytest.approx(0.6)]] and d["n_truth"] == 2


def test_match_objects_optimal_beats_greedy():
    # greedy by IoU pairs truth 2 with pred 1 (0.364) and leaves both others;
    # the optimum matches 1-1 and 2-2 (IoU 1/3 each)
    t = np.array([1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 0])
    p = np.array([1, 1, 1, 1, 1, 1, 0, 0, 2, 2, 2, 0])
    m = match_objects(t, p, iou_threshold=0.3)
    assert [(a, b) for a, b, _ in m.matches] == [(1, 1), (2, 2)]


def test_match_objects_empty_and_validation():
    z = np.zeros((5, 5), np.int32)
    m = match_objects(z, z)
    assert isinstance(m, ObjectMatch)
    assert (m.n_truth, m.n_pred, m.f1, m.panoptic_quality) == (0, 0, 0.0, 0.0)
    one = z.copy()
    one[1, 1] = 4
    assert match_objects(one, z).unmatched_truth == [4]
    assert match_objects(one.astype(bool), one).matches == [(1, 4, 1.0)]
    with pytest.raises(TypeError, match="integer label image"):
        match_objects(z.astype(float), z)
    with pytest.raises(ValueError, match="negative"):
        match_objects(z - 1, z)
    with pytest.raises(ValueError, match="iou_threshold"):
        match_objects(z, z, iou_threshold=1.5)


@settings(max_examples=40, deadline=None)
@given(
    t=hnp.arrays(np.int32, (6, 7), elements=st.sampled_from([0, 1, 5, 9])),
    p=hnp.arrays(np.int32, (6, 7), elements=st.sampled_from([0, 2, 3, 40])),
    thr=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.75]),
)
def test_match_objects_ious_and_optimality_vs_brute_force(t, p, thr):
    m = match_objects(t, p, iou_threshold=thr)
    ious = brute_force_ious(t, p)
    for a, b, v in m.matches:
        assert v == pytest.approx(ious[(a, b)]) and v >= thr
    assert len({a for a, _, _ in m.matches}) == len(m.matches)
    assert len({b for _, b, _ in m.matches}) == len(m.matches)
    count, total = best_matching(ious, thr)
    assert len(m.matches) == count
    assert sum(v for _, _, v in m.matches) == pytest.approx(total)
    assert m.n_truth == len(np.unique(t[t > 0])) and m.n_pred == len(np.unique(p[p > 0]))
    matched_t = {a for a, _, _ in m.matches}
    assert sorted(matched_t | set(m.unmatched_truth)) == np.unique(t[t > 0]).tolist()


def test_match_objects_paths_agree(monkeypatch):
    rng = np.random.default_rng(6)
    t = np.zeros((60, 60), np.int64)
    p = np.zeros((60, 60), np.int64)
    for k in range(30):
        y, x = rng.integers(0, 55, 2)
        t[y : y + rng.integers(2, 6), x : x + rng.integers(2, 6)] = rng.integers(1, 10**6)
        y, x = np.clip([y + rng.integers(-1, 2), x + rng.integers(-1, 2)], 0, 59)
        p[y : y + rng.integers(2, 6), x : x + rng.integers(2, 6)] = k + 1
    ref = match_objects(t, p, iou_threshold=0.3)
    ious = brute_force_ious(t, p)
    assert ref.matches and all(v == pytest.approx(ious[(a, b)]) for a, b, v in ref.matches)
    monkeypatch.setattr(compare_mod, "_DENSE_MAX_BINS", 1)  # sparse pairs path
    assert match_objects(t, p, iou_threshold=0.3) == ref
    monkeypatch.setattr(compare_mod, "_LUT_MAX_LABEL", 1)  # np.unique ids path
    assert match_objects(t, p, iou_threshold=0.3) == ref


# ------------------------------------------------------------- napari-free


def test_core_compare_is_napari_free():
    code = (
        "import sys, napari_maskclean.core.compare\n"
        "bad = [m for m in ('napari', 'qtpy', 'magicgui', 'dask') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("dtype", "positive", "match"),
    [
        (np.int32, 1.5, "not a whole number"),
        (np.uint8, 1.5, "positive=1 or positive=2"),
        (np.uint8, 300, "outside"),
        (np.uint8, -1, "outside"),
        (np.int8, 200.0, "outside"),
        (bool, 2, "boolean"),
        (bool, 0.5, "boolean"),
    ],
)
def test_positive_that_can_never_match_is_refused(dtype, positive, match):
    t = np.array([[0, 1], [1, 0]]).astype(dtype)
    with pytest.raises(ValueError, match=match):
        binary_metrics(t, t, positive=positive)


def test_positive_that_can_match_is_accepted():
    t = np.array([[0, 1], [2, 0]], np.uint8)
    assert binary_metrics(t, t, positive=2.0)["tp"] == 1  # a whole-number float is a label
    assert binary_metrics(t, t, positive=np.int64(1))["tp"] == 1
    assert binary_metrics(t, t, positive=7)["tp"] == 0  # absent but possible: counts of 0
    b = t.astype(bool)
    assert binary_metrics(b, b, positive=True)["tp"] == 2
    assert binary_metrics(b, b, positive=0)["tp"] == 2
    f = t.astype(float) / 2  # float masks: any finite value may occur
    assert binary_metrics(f, f, positive=0.5)["tp"] == 1
