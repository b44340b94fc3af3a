import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.compare import (
    binary_metrics,
    confusion_map,
    confusion_matrix,
    error_components,
    match_objects,
    per_class_metrics,
)
from napari_maskclean.core.corrections import adjacent_label, fix_values, most_common_label
from napari_maskclean.core.matching import instance_labels, object_centres
from napari_maskclean.core.review import (
    TP,
    WRONG,
    LiveComparison,
    check_finite,
    compare,
    empty_note,
)
from napari_maskclean.core.threshold import threshold_mask
from napari_maskclean.core.windows import (
    common_shape,
    component_region,
    full_box,
    local_box,
    merge_boxes,
)


def test_import_is_napari_free():
    code = ("import sys, napari_maskclean.core.review, napari_maskclean.core.windows, "
            "napari_maskclean.core.corrections; "
            "print(any(m in sys.modules for m in ('napari', 'qtpy', 'magicgui')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


# ---- input checks ------------------------------------------------------------------------
def test_common_shape_messages():
    assert common_shape((4, 5), (4, 5)) == (4, 5)
    assert common_shape((4, 5), (3, 6), crop=True) == (3, 5)
    with pytest.raises(ValueError, match=r"prediction has shape \(4, 5\) but ground truth "
                                         r"has shape \(3, 6\).*\(3, 5\)"):
        common_shape((4, 5), (3, 6))
    with pytest.raises(ValueError, match=r"a is 3D \(2, 4, 5\) but b is 2D \(4, 5\)"):
        common_shape((2, 4, 5), (4, 5), names=("a", "b"), crop=True)
    with pytest.raises(ValueError, match="do not overlap"):
        common_shape((0, 5), (3, 5), crop=True)


def test_check_finite():
    check_finite(np.array([1, 2]), "x")
    check_finite(np.array([1.0, 2.0]), "x")
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="x contains NaN or infinite.*nan_to_num"):
            check_finite(np.array([1.0, bad]), "x")


@pytest.mark.parametrize("counts, words", [
    ((0, 0, 0, 9), "both masks are empty"),
    ((0, 3, 0, 6), "ground truth is empty"),
    ((0, 0, 3, 6), "prediction is empty"),
    ((1, 0, 0, 8), None),
])
def test_empty_note(counts, words):
    note = empty_note(counts)
    assert (note is None) if words is None else words in note


# ---- boxes -------------------------------------------------------------------------------
def test_merge_and_window_mapping():
    boxes = [(slice(0, 2), slice(5, 6)), (slice(4, 5), slice(1, 3))]
    assert merge_boxes(boxes) == boxes
    assert merge_boxes(boxes, max_boxes=1) == [(slice(0, 5), slice(1, 6))]
    key = (2, slice(0, 10), slice(0, 8))
    assert local_box((slice(2, 3), slice(5, 20), slice(6, 9)), key) == (slice(5, 10), slice(6, 8))
    assert local_box((slice(0, 2), slice(0, 4), slice(0, 4)), key) is None  # other slice
    assert local_box((slice(2, 3), slice(10, 12), slice(0, 4)), key) is None  # outside crop
    assert full_box((slice(5, 10), slice(6, 8)), key) == (2, slice(5, 10), slice(6, 8))
    assert full_box((slice(0, 1), slice(6, 8)), key, margin=1) == (2, slice(0, 2), slice(5, 8))


def test_component_region_pads_mask():
    big, m = component_region((slice(3, 5), slice(0, 2)), np.ones((2, 2), bool), (5, 6))
    assert big == (slice(2, 5), slice(0, 3))
    assert m.tolist() == [[0, 0, 0], [1, 1, 0], [1, 1, 0]]


# ---- the live comparison -----------------------------------------------------------------
def _random_pair(rng, shape=(30, 40), classes=3):
    truth = rng.integers(0, classes, shape).astype(np.int32)
    pred = rng.integers(0, classes, shape).astype(np.uint8)
    return truth, pred


@pytest.mark.parametrize("kw", [{}, {"positive": 2}, {"multiclass": True}])
def test_updates_match_a_fresh_comparison(kw):
    rng = np.random.default_rng(5)
    truth, pred = _random_pair(rng)
    live = LiveComparison(truth, pred, **kw)
    for _ in range(40):
        y0, x0 = rng.integers(0, 25), rng.integers(0, 35)
        box = (slice(y0, y0 + rng.integers(1, 6)), slice(x0, x0 + rng.integers(1, 6)))
        shape = tuple(s.stop - s.start for s in box)
        side = rng.integers(0, 3)
        new = rng.integers(0, 4, shape)
        if side in (0, 2):
            truth[box] = new
        if side in (1, 2):
            pred[box] = new
        live.update(box, truth_region=truth[box] if side in (0, 2) else None,
                    pred_region=pred[box] if side in (1, 2) else None)
    fresh = LiveComparison(truth, pred, **kw)
    assert live.counts == fresh.counts
    np.testing.assert_array_equal(live.codes, fresh.codes)
    m = binary_metrics(truth, pred, positive=kw.get("positive"))
    assert live.metrics() == m
    if kw.get("multiclass"):
        cm, labels = live.confusion_matrix()
        ref_cm, ref_labels = confusion_matrix(truth, pred, return_labels=True)
        np.testing.assert_array_equal(cm, ref_cm)
        np.testing.assert_array_equal(labels, ref_labels)
        np.testing.assert_allclose(live.per_class()["iou"], per_class_metrics(ref_cm)["iou"])
        wrong = (truth != pred) & (truth > 0) & (pred > 0)
        np.testing.assert_array_equal(live.codes == WRONG, wrong)
        counts = live.code_counts()
        assert counts[WRONG] == wrong.sum()
        assert counts[TP] == ((truth == pred) & (truth > 0)).sum()
    else:
        np.testing.assert_array_equal(live.codes,
                                      confusion_map(truth, pred, positive=kw.get("positive")))
        assert live.code_counts()[WRONG] == 0


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_update_property(seed):
    rng = np.random.default_rng(seed)
    truth, pred = _random_pair(rng, (8, 9), classes=2)
    live = LiveComparison(truth, pred)
    box = (slice(rng.integers(0, 8), 8), slice(0, rng.integers(1, 10)))
    pred[box] = rng.integers(0, 2, pred[box].shape)
    live.update(box, pred_region=pred[box])
    assert live.counts == tuple(binary_metrics(truth, pred)[k] for k in ("tp", "fp", "fn", "tn"))


def test_input_is_not_mutated_and_rejects_bad_options():
    truth = np.array([[0, 1], [1, 1]])
    pred = np.array([[1, 1], [0, 0]])
    live = LiveComparison(truth, pred, multiclass=True)
    live.update((slice(0, 1), slice(0, 2)), pred_region=np.array([[0, 0]]))
    assert pred.tolist() == [[1, 1], [0, 0]]
    with pytest.raises(ValueError, match="positive=None"):
        LiveComparison(truth, pred, positive=1, multiclass=True)
    with pytest.raises(ValueError, match="NaN"):
        LiveComparison(np.array([np.nan, 1.0]), np.array([0, 1]))
    with pytest.raises(ValueError, match="multi-class mode only"):
        LiveComparison(truth, pred).confusion_matrix()
    many = np.arange(400).reshape(20, 20)
    with pytest.raises(ValueError, match="399 distinct labels.*match objects"):
        LiveComparison(many, many, multiclass=True)


def test_errors_and_error_mask():
    truth = np.zeros((10, 10), int)
    truth[1:4, 1:4] = 1
    truth[6:9, 6:9] = 2
    pred = np.zeros_like(truth)
    pred[1:4, 1:3] = 1  # FN strip of 3
    pred[6:9, 6:9] = 5  # wrong class, 9 px
    pred[0, 8:10] = 1  # FP of 2
    live = LiveComparison(truth, pred)
    comps, _ = live.errors()
    ref, _ = error_components(truth, pred)
    assert [(c["kind"], c["size"]) for c in comps] == [(c["kind"], c["size"]) for c in ref]
    multi = LiveComparison(truth, pred, multiclass=True)
    comps, lab = multi.errors()
    assert [(c["kind"], c["size"]) for c in comps] == [("wrong", 9), ("FN", 3), ("FP", 2)]
    assert set(np.unique(lab)) == {0, 1, 2, 3}
    assert multi.errors() is multi.errors()  # cached
    box, mask = multi.error_mask(comps[0])
    assert mask.sum() == 9
    multi.update(box, pred_region=truth[box])  # fixed
    _, mask = multi.error_mask({**comps[0], "mask": np.ones((3, 3), bool)})
    assert not mask.any()
    assert multi.errors()[0][0]["kind"] == "FN"  # recomputed after the edit


def test_values_and_fix_values():
    truth = np.array([[0, 0, 3]])
    pred = np.array([[7, 7, 0]])
    live = LiveComparison(truth, pred)
    assert live.values("truth", (slice(0, 1), slice(0, 3))).tolist() == [[0, 0, 1]]
    mlive = LiveComparison(truth, pred, multiclass=True)
    assert mlive.values("pred", (slice(0, 1), slice(0, 3))).tolist() == [[7, 7, 0]]
    m = np.array([[1, 1, 0]], bool)
    assert fix_values("FP", "truth", truth, pred, m, truth_label=3) == 3  # add to truth
    assert fix_values("FP", "pred", truth, pred, m) == 0  # erase from prediction
    assert fix_values("FN", "truth", truth, pred, ~m) == 0  # remove from truth
    assert fix_values("FN", "pred", truth, pred, ~m, pred_label=7) == 7  # add to prediction
    assert fix_values("FN", "pred", truth, pred, ~m, positive=3) == 3
    assert fix_values("FP", "truth", truth, pred, m, multiclass=True).tolist() == [[7, 7, 0]]
    assert fix_values("FN", "pred", truth, pred, ~m, multiclass=True).tolist() == [[0, 0, 3]]
    assert fix_values("FN", "truth", truth, pred, ~m, multiclass=True) == 0
    assert fix_values("wrong", "pred", truth, pred, m).tolist() == [[0, 0, 3]]
    with pytest.raises(ValueError, match="kind"):
        fix_values("TP", "truth", truth, pred, m)
    with pytest.raises(ValueError, match="target"):
        fix_values("FP", "both", truth, pred, m)


def test_adjacent_and_most_common_label():
    lab = np.array([[0, 0, 0, 0], [5, 0, 0, 0], [5, 0, 0, 2]])
    m = np.zeros_like(lab, bool)
    m[1:3, 1] = True
    assert adjacent_label(lab, m) == 5
    assert adjacent_label(np.zeros((3, 3), int), np.eye(3, dtype=bool), default=9) == 9
    with pytest.raises(ValueError, match="same shape"):
        adjacent_label(lab, m[:1])
    assert most_common_label(np.array([0, 255, 255, 1])) == 255
    assert most_common_label(np.array([-4, -4, 2])) == -4
    assert most_common_label(np.zeros(3, int)) == 1


def test_instances_centres_and_compare():
    mask = np.array([[1, 0, 1], [1, 0, 0]], np.uint8)
    assert instance_labels(mask).tolist() == [[1, 0, 2], [1, 0, 0]]
    labels = np.array([[3, 0, 8]])
    assert instance_labels(labels) is labels
    assert object_centres(np.array([[0, 2, 2], [0, 0, 5]])) == {2: (0.0, 1.5), 5: (1.0, 2.0)}
    assert object_centres(np.zeros((2, 2), int)) == {}
    rng = np.random.default_rng(0)
    image = rng.random((20, 20))
    truth = (image > 0.6).astype(np.uint8)
    live = compare(truth, image, pred_method="otsu", iou_threshold=0.5)
    expected = threshold_mask(image, method="otsu")
    assert live.metrics() == binary_metrics(truth, expected)
    ref = match_objects(instance_labels(truth), instance_labels(expected))
    assert live.objects["match"] == ref
    assert len(live.objects["truth_centres"]) == ref.n_truth
    with pytest.raises(ValueError, match="same shape"):
        compare(truth, truth[:5])


def test_one_class_with_a_thresholded_image_counts_it_as_that_class():
    truth = np.zeros((40, 40), np.int32)
    truth[5:15, 5:15] = 2
    truth[25:35, 25:35] = 1
    prob = (truth == 2) * 0.9 + 0.05  # a perfect probability map of class 2
    live = compare(truth, prob, pred_method="otsu", positive=2)
    assert live.counts == (100, 0, 0, 1500)


def test_one_class_objects_are_the_objects_of_that_class():
    truth = np.zeros((40, 40), np.int32)
    truth[5:15, 5:15] = 1
    truth[25:35, 25:35] = 2
    pred = truth.copy()
    pred[25:35, 25:35] = 0  # the class-2 object is missing: no matter for class 1
    match = compare(truth, pred, positive=1, iou_threshold=0.5).objects["match"]
    assert (match.n_truth, match.n_pred, match.recall) == (1, 1, 1.0)
    match2 = compare(truth, pred, positive=2, iou_threshold=0.5).objects["match"]
    assert (match2.n_truth, match2.n_pred, match2.recall) == (1, 0, 0.0)
