"""The Compare dock comparing COCO layers by category, in a real viewer."""

import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix
from sklearn.metrics import jaccard_score

from napari_maskclean._widgets.compare import CompareWidget
from napari_maskclean.core.instance_compare import match_instances
from napari_maskclean.core.rle import rle_encode
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui

CATEGORIES = [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 5, "name": "bird"}]
NAMES = {c["id"]: c["name"] for c in CATEGORIES}
SHAPE = (60, 80)


def box(y0, x0, y1, x1):
    m = np.zeros(SHAPE, bool)
    m[y0:y1, x0:x1] = True
    return m


def coco_file(path, instances, *, results=False):
    """A COCO file of one image; ``instances``: (mask, category_id) pairs."""
    anns = [{"id": 10 + k, "image_id": 1, "category_id": c, "iscrowd": 0,
             "segmentation": rle_encode(m), **({"score": 0.9} if results else {})}
            for k, (m, c) in enumerate(instances)]
    d = {"images": [{"id": 1, "file_name": "img.png", "height": SHAPE[0], "width": SHAPE[1]}],
         "categories": CATEGORIES, "annotations": anns}
    path.write_text(json.dumps(d))
    return str(path)


# truth: no overlaps (one layer); prediction: two cats that overlap (two depth layers),
# a dog drawn exactly on the truth's bird (a wrong category), a bird far away
TRUTH = [(box(5, 5, 25, 25), 1), (box(30, 40, 50, 70), 2), (box(5, 50, 20, 75), 5)]
PRED = [(box(5, 6, 25, 26), 1), (box(10, 10, 22, 22), 1), (box(31, 40, 50, 70), 2),
        (box(5, 50, 20, 75), 2), (box(52, 2, 58, 10), 5)]


def category_image(instances):
    out = np.zeros(SHAPE, np.int64)
    for m, c in instances:
        out[m] = c
    return out


def reference_per_category(thr=0.5):
    """The existing matcher on each category's instances alone."""
    out = {}
    for c in NAMES:
        ti = [k for k, (_, ct) in enumerate(TRUTH) if ct == c]
        pi = [k for k, (_, cp) in enumerate(PRED) if cp == c]
        if ti or pi:
            out[c] = match_instances([rle_encode(TRUTH[k][0]) for k in ti],
                                     [rle_encode(PRED[k][0]) for k in pi],
                                     truth_ids=[k + 1 for k in ti],
                                     pred_ids=[k + 1 for k in pi], iou_threshold=thr)
    return out


def dock(viewer):
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean",
                                                    "Compare with ground truth")
    assert isinstance(w, CompareWidget)
    return w


@pytest.fixture
def coco_pair(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    (truth,) = viewer.open(coco_file(tmp_path / "truth.json", TRUTH), plugin="napari-maskclean")
    preds = viewer.open(coco_file(tmp_path / "pred.json", PRED, results=True),
                        plugin="napari-maskclean")
    assert len(preds) == 2  # the two cats overlap: one layer per depth
    w = dock(viewer)
    w.truth.value, w.prediction.value = truth, preds[0]
    return viewer, w, truth, preds


def test_two_coco_layers_compared_per_category(coco_pair, qtbot, tmp_path):
    viewer, w, truth, preds = coco_pair
    w.mode.value = "multi-class"
    w.match.value = True
    wait_for_result(qtbot, w)
    assert "by COCO category" in w.status.value
    # pixels: the category maps (union of the overlapping cats), as scikit-learn counts them
    tm, pm = category_image(TRUTH), category_image(PRED)
    labels = [0, 1, 2, 5]
    np.testing.assert_array_equal(w.heatmap_shown(),
                                  sk_confusion_matrix(tm.ravel(), pm.ravel(), labels=labels))
    rows = w.class_table_shown()
    assert [r["name"] for r in rows] == ["background", "cat", "dog", "bird"]
    assert [r["label"] for r in rows] == labels
    iou = jaccard_score(tm.ravel(), pm.ravel(), labels=labels, average=None)
    np.testing.assert_allclose([r["iou"] for r in rows], iou)
    assert w.heatmap.horizontalHeaderItem(3).text() == "pred bird"
    # objects: matched only within their category, scores per category
    ref = reference_per_category()
    per = w.comparison.objects["per_category"]
    assert per == ref
    shown = w.category_objects_shown()
    assert set(shown) == set(ref)
    for c, m in ref.items():
        assert shown[c] == pytest.approx({"n_truth": m.n_truth, "n_pred": m.n_pred,
                                          "tp": m.tp, "precision": m.precision,
                                          "recall": m.recall, "f1": m.f1,
                                          "panoptic_quality": m.panoptic_quality})
    assert w.category_objects_table.item(2, 0).text() == "bird"  # sorted by id: 1, 2, 5
    # the noise floor: of the truth's category map, per class, as compared
    from napari_maskclean.core.noise_floor import noise_floor

    w.floor_on.value = True
    expected = noise_floor(tm, **w.floor_control.params(), per_class=True)
    qtbot.waitUntil(lambda: w.floor_shown is not None, timeout=20000)
    assert w.floor_shown["f1"] == expected["f1"]
    assert w.floor_shown["per_class"]["mean_iou"] == expected["per_class"]["mean_iou"]
    w.floor_on.value = False
    overall = w.comparison.objects["match"]
    # the dog drawn on the bird (IoU 1) is no match; the rest are
    assert sorted((t, p) for t, p, _ in overall.matches) == [(1, 1), (2, 3)]
    assert (overall.n_truth, overall.n_pred) == (3, 5)
    # the report holds the per-category objects and the names
    rep = json.loads(open(w.export_metrics(tmp_path / "m.json")).read())
    assert rep["class_names"] == {"1": "cat", "2": "dog", "5": "bird"}
    assert rep["objects_per_category"]["5"]["recall"] == 0.0
    assert rep["objects_per_category"]["1"] == ref[1].as_dict()
    csv_text = open(w.export_metrics(tmp_path / "m.csv")).read()
    assert "objects.f1,2," in csv_text and "class_name,5,bird" in csv_text
    # corrections cannot say which instance to write: refused, nothing changed
    before = truth.data.copy()
    assert w.next_error() is not None
    assert w.accept_into_truth() == 0
    np.testing.assert_array_equal(truth.data, before)
    # 'any foreground' works as before: the dog on the bird matches there
    w.mode.value = "any foreground"
    qtbot.waitUntil(lambda: w.is_current() and w.last_error is None
                    and "per_category" not in (w.comparison.objects or {}), timeout=10000)
    assert (3, 4) in {(t, p) for t, p, _ in w.comparison.objects["match"].matches}
    assert not w.category_objects_table.isVisibleTo(w.native)


def test_one_category_and_an_edit(coco_pair, qtbot):
    viewer, w, truth, preds = coco_pair
    w.mode.value = "one class"
    w.class_value.value = 2  # dog
    w.match.value = True
    wait_for_result(qtbot, w)
    tm, pm = category_image(TRUTH) == 2, category_image(PRED) == 2
    assert w.metrics_shown()["tp"] == int((tm & pm).sum())
    assert w.metrics_shown()["fp"] == int((~tm & pm).sum())
    m = w.comparison.objects["match"]
    assert (m.n_truth, m.n_pred, m.tp) == (1, 2, 1)
    # an edit of the truth (the bird becomes background) is re-counted in full
    truth.paint((10, 60), 0)
    qtbot.waitUntil(lambda: w.is_current() and w.comparison.counts != (0, 0, 0, 0)
                    and w.metrics_shown()["fp"] == int((~tm & pm).sum()), timeout=10000)
    # a label painted by hand takes the file's first category ("cat", as Save writes it)
    w.mode.value = "multi-class"
    truth.paint((40, 55), 99)
    lut = np.zeros(100, np.int64)
    lut[[1, 2, 3, 99]] = [1, 2, 5, 1]
    tm = lut[truth.data]
    assert (tm == 1).sum() > (category_image(TRUTH) == 1).sum()
    expected = sk_confusion_matrix(tm.ravel(), category_image(PRED).ravel(), labels=[0, 1, 2, 5])
    qtbot.waitUntil(lambda: w.is_current() and w.last_error is None and w.comparison.multiclass
                    and np.array_equal(w.heatmap_shown(), expected), timeout=10000)


def test_coco_against_a_class_map_and_overlapping_categories(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    (truth,) = viewer.open(coco_file(tmp_path / "truth.json", TRUTH), plugin="napari-maskclean")
    classes = category_image(TRUTH).astype(np.int32)
    classes[5:25, 5:10] = 0  # the cat loses a quarter
    plain = viewer.add_labels(classes, name="semantic prediction")
    w = dock(viewer)
    w.truth.value, w.prediction.value = truth, plain
    w.mode.value = "multi-class"
    w.match.value = True
    wait_for_result(qtbot, w)
    assert "class values of 'semantic prediction' are category ids" in w.status.value
    tm = category_image(TRUTH)
    np.testing.assert_array_equal(
        w.heatmap_shown(), sk_confusion_matrix(tm.ravel(), classes.ravel(), labels=[0, 1, 2, 5]))
    assert w.comparison.objects["match"].tp == 3
    # instances of different categories on one pixel: no category map; the pixels are
    # compared on the union, each category scored on its own union of instances
    cat, dog = box(5, 5, 25, 25), box(10, 10, 30, 30)
    path = coco_file(tmp_path / "clash.json", [(cat, 1), (dog, 2)])
    clash = viewer.open(path, plugin="napari-maskclean")
    assert len(clash) == 2
    w.prediction.value = clash[0]
    qtbot.waitUntil(lambda: w.is_current() and w.last_error is None
                    and "different categories overlap" in w.status.value, timeout=10000)
    assert w.heatmap.rowCount() == 0 and "no confusion matrix" in w.heatmap_title.text()
    truth_fg = category_image(TRUTH) != 0
    shown = w.metrics_shown()
    assert (shown["tp"], shown["fp"]) == (int((truth_fg & (cat | dog)).sum()),
                                          int((~truth_fg & (cat | dog)).sum()))
    rows = {r["label"]: r for r in w.class_table_shown()}
    assert [rows[c]["name"] for c in (1, 2, 5)] == ["cat", "dog", "bird"]
    for c, pred_mask in ((1, cat), (2, dog), (5, np.zeros(SHAPE, bool))):
        t_c = category_image(TRUTH) == c
        assert rows[c]["iou"] == pytest.approx(jaccard_score(t_c.ravel(), pred_mask.ravel(),
                                                             zero_division=0))
        assert rows[c]["support"] == t_c.sum()
    m = w.comparison.objects["per_category"]
    assert (m[1].tp, m[2].tp, m[5].tp) == (1, 0, 0)  # the dog box overlaps nothing enough
    w.mode.value = "any foreground"  # still compared as instances on their union
    qtbot.waitUntil(lambda: w.last_error is None and w.is_current()
                    and "instances: pixels compared on the union" in w.status.value,
                    timeout=10000)
