"""The Compare-with-ground-truth dock widget in a real viewer: live metrics, undo,
error navigation and fixes, multi-class, objects, export and bad input."""

import csv
import json
import time
from typing import NamedTuple

import numpy as np
import pytest
from qtpy.QtCore import Qt

import napari_maskclean._widgets._engine as engine_mod
import napari_maskclean._widgets._live as live_mod
import napari_maskclean._widgets.compare.corrections as corrections_mod
import napari_maskclean._widgets.compare.navigator as navigator_mod
import napari_maskclean._widgets.compare.widget as cw
from napari_maskclean._widgets._live import PREVIEW_PREFIX, write_labels
from napari_maskclean._widgets.compare import CompareWidget
from napari_maskclean._widgets.compare.edits import atom_boxes
from napari_maskclean._widgets.compare.navigator import fit_zoom, full_point
from napari_maskclean._widgets.compare.overlay import (
    OVERLAY_COLORS,
    heat_colors,
    overlay_color_dict,
    overlay_palette,
)
from napari_maskclean.core.compare import (
    binary_metrics,
    confusion_map,
    confusion_matrix,
    error_components,
    per_class_metrics,
)
from napari_maskclean.core.review import FN, FP, TN, TP, WRONG
from napari_maskclean.core.threshold import threshold_mask
from napari_maskclean.io import read_image
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


@pytest.fixture
def pair():
    """Truth: two objects (labels 1, 2); prediction: a shifted 1, a wrong blob 3, a speck."""
    truth = np.zeros((60, 80), dtype=np.int32)
    truth[5:25, 5:30] = 1
    truth[35:55, 45:75] = 2
    pred = np.zeros_like(truth)
    pred[7:27, 8:33] = 1
    pred[40:58, 30:50] = 3
    pred[2:4, 70:72] = 4
    return truth, pred


@pytest.fixture
def messages(monkeypatch):
    """Collect the notifications the widget shows."""
    got = {"info": [], "error": []}
    for mod in (cw, corrections_mod, navigator_mod):
        monkeypatch.setattr(mod, "show_error", lambda m: got["error"].append(m))
    for mod in (cw, corrections_mod):
        monkeypatch.setattr(mod, "show_info", lambda m: got["info"].append(m))
    monkeypatch.setattr(live_mod, "show_error", lambda m: got["error"].append(m))
    monkeypatch.setattr(engine_mod, "show_error", lambda m: got["error"].append(m))
    return got


def dock(viewer):
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean",
                                                    "Compare with ground truth")
    assert isinstance(w, CompareWidget)
    return w


def settle(qtbot, w):
    """Let the 0 ms edit timer run (napari writes a dab after emitting `paint`)."""
    qtbot.waitUntil(lambda: not w.edits_pending, timeout=2000)
    qtbot.wait(1)


def assert_shows(w, truth, pred, **kw):
    expected = binary_metrics(truth, pred, **kw)
    shown = w.metrics_shown()
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert shown[key] == pytest.approx(value, abs=1e-12), key


def setup(make_napari_viewer, qtbot, truth, pred, **layer_kw):
    viewer = make_napari_viewer()
    viewer.add_image(np.random.default_rng(0).random(truth.shape), name="image")
    t = viewer.add_labels(truth.copy(), name="ground truth", **layer_kw)
    p = viewer.add_labels(pred.copy(), name="prediction", **layer_kw)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    return viewer, w, t, p


def test_metrics_follow_paint_fill_commit_undo_redo(make_napari_viewer, qtbot, pair):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred,
                            scale=(2.0, 0.5), translate=(10, -4))
    assert w.truth.value is t and w.prediction.value is p  # guessed from the names
    assert_shows(w, truth, pred)
    overlay = w.preview_layer()
    assert overlay.name.startswith(PREVIEW_PREFIX) and overlay not in (t, p)
    assert overlay not in w.truth.choices and overlay not in w.prediction.choices
    np.testing.assert_array_equal(overlay.data, confusion_map(truth, pred))
    np.testing.assert_allclose(overlay.scale, p.scale)
    np.testing.assert_allclose(overlay.translate, p.translate)
    assert viewer.layers.selection.active is not overlay
    # a brush dab into the prediction (napari emits `paint` before writing the pixels)
    p.brush_size = 9
    p.paint((45, 10), 7)
    settle(qtbot, w)
    assert not np.array_equal(p.data, pred)
    assert_shows(w, truth, p.data)
    np.testing.assert_array_equal(overlay.data, confusion_map(truth, p.data))
    # erase part of the truth, then a fill, then another widget's commit (data_setitem)
    t.paint((10, 10), 0)
    p.fill((50, 40), 0)
    region = np.zeros(truth.shape, dtype=bool)
    region[30:33, 0:80] = True
    write_labels(p, 2, where=region)
    settle(qtbot, w)
    assert_shows(w, t.data, p.data)
    np.testing.assert_array_equal(overlay.data, confusion_map(t.data, p.data))
    # undo everything: napari only emits set_data, the widget re-counts the undone boxes
    for _ in range(3):
        p.undo()
    t.undo()
    settle(qtbot, w)
    np.testing.assert_array_equal(p.data, pred)
    assert_shows(w, truth, pred)
    np.testing.assert_array_equal(overlay.data, confusion_map(truth, pred))
    p.redo()
    settle(qtbot, w)
    assert_shows(w, truth, p.data)
    # after edits the error components are found again off the GUI thread
    qtbot.waitUntil(lambda: w.comparison.errors_cached, timeout=5000)
    expected, _ = error_components(t.data, p.data)
    assert [c["size"] for c in w.comparison.errors()[0]] == [c["size"] for c in expected]
    # TN transparent by default; the checkbox colours it
    assert overlay.colormap.map(np.array([0]))[0][3] == 0
    w.show_tn.value = True
    assert w.preview_layer().colormap.map(np.array([0]))[0][3] > 0


def test_next_error_accept_and_fix_are_single_undo_steps(make_napari_viewer, qtbot, pair,
                                                         messages):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred,
                            scale=(2.0, 0.5), translate=(10, -4))
    assert not w.accept_button.enabled  # nothing selected yet
    first = w.next_error()
    expected, _ = error_components(truth, pred)
    assert (first["kind"], first["size"]) == (expected[0]["kind"], expected[0]["size"])
    comps = [w.next_error() for _ in range(3)]
    # biggest first, and the label names the current one
    sizes = [first["size"]] + [c["size"] for c in comps]
    assert sizes == sorted(sizes, reverse=True)
    c = comps[-1]
    assert w.error_label.value.startswith(f"{c['kind']} 4/{c['total']}, {c['size']:,} px")
    world = p.data_to_world(c["centroid"])
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], world, atol=1e-6)
    back = w.previous_error()
    assert back["rank"] == 3
    # go to the FP blob of class 3 (no truth next to it): accept into the truth
    while w._current["kind"] != "FP" or w._current["size"] < 200:
        w.next_error()
    fp = w._current
    assert w.accept_button.text == "Accept into ground truth (add)"
    box = tuple(slice(a, b) for a, b in fp["bbox"])
    mask = fp["mask"]
    n = w.accept_into_truth()
    assert n == fp["size"]
    assert (t.data[box][mask] == 2).all()  # touching truth object 2 gives its label
    assert_shows(w, t.data, p.data)
    assert messages["info"] and "Ctrl-Z" in messages["info"][-1]
    t.undo()
    settle(qtbot, w)
    np.testing.assert_array_equal(t.data, truth)
    assert_shows(w, truth, pred)
    # an FN: "Add to prediction" writes the neighbouring predicted label, one undo step
    w._error_index = -1
    fn = w.next_error()
    assert fn["kind"] == "FN" and w.fix_button.text == "Add to prediction"
    before_steps = len(p._undo_history)
    assert w.fix_prediction() == fn["size"]
    assert len(p._undo_history) == before_steps + 1
    box = tuple(slice(a, b) for a, b in fn["bbox"])
    assert (p.data[box][fn["mask"]] != 0).all()
    assert_shows(w, truth, p.data)
    # acting twice on the same (now fixed) error changes nothing and says why
    w._current = fn
    assert w.fix_prediction() == 0
    assert "already been resolved" in messages["error"][-1]
    p.undo()
    settle(qtbot, w)
    np.testing.assert_array_equal(p.data, pred)
    assert_shows(w, truth, pred)


def test_fn_accept_removes_from_truth_and_fp_fix_erases_prediction(make_napari_viewer,
                                                                    qtbot, pair):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    fn = w.next_error()
    assert fn["kind"] == "FN"
    assert w.accept_button.text == "Accept into ground truth (remove)"
    w.accept_into_truth()
    box = tuple(slice(a, b) for a, b in fn["bbox"])
    assert (t.data[box][fn["mask"]] == 0).all()
    np.testing.assert_array_equal(p.data, pred)  # only the truth changed
    t.undo()
    np.testing.assert_array_equal(t.data, truth)
    fp = w.next_error()
    while fp["kind"] != "FP":
        fp = w.next_error()
    w.fix_prediction()
    box = tuple(slice(a, b) for a, b in fp["bbox"])
    assert (p.data[box][fp["mask"]] == 0).all()
    p.undo()
    settle(qtbot, w)
    np.testing.assert_array_equal(p.data, pred)
    assert_shows(w, truth, pred)


def test_multiclass_heatmap_per_class_and_live(make_napari_viewer, qtbot, pair):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    w.mode.value = "multi-class"
    wait_for_result(qtbot, w)
    assert w.tabs.isTabVisible(1) and not w.tabs.isTabVisible(2)
    cm, labels = confusion_matrix(truth, pred, return_labels=True)
    np.testing.assert_array_equal(w.heatmap_shown(), cm)
    # class 2 is only in the truth: its column is all zero, its row counts FN pixels
    assert 2 in labels and w.heatmap_shown()[:, list(labels).index(2)].sum() == 0
    pc = per_class_metrics(cm)
    shown_iou = [w.class_table.item(i, 1).data(Qt.ItemDataRole.UserRole)
                 for i in range(len(labels))]
    np.testing.assert_allclose(shown_iou, pc["iou"])
    assert "wrong class" in w._legend_labels[4].text()
    # a stroke of class 2 over the prediction: the heatmap follows incrementally
    p.brush_size = 7
    p.paint((45, 60), 2)
    settle(qtbot, w)
    cm2 = confusion_matrix(truth, p.data)
    np.testing.assert_array_equal(w.heatmap_shown(), cm2)
    p.undo()
    settle(qtbot, w)
    np.testing.assert_array_equal(w.heatmap_shown(), cm)
    # wrong-class components are errors too; fixing one copies the true classes
    while True:
        c = w.next_error()
        if c["kind"] == "wrong":
            break
    assert w.fix_button.text == "Fix predicted class"
    w.fix_prediction()
    box = tuple(slice(a, b) for a, b in c["bbox"])
    np.testing.assert_array_equal(p.data[box][c["mask"]], truth[box][c["mask"]])
    np.testing.assert_array_equal(w.heatmap_shown(), confusion_matrix(truth, p.data))


def test_one_class_mode(make_napari_viewer, qtbot, pair):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    w.mode.value = "one class"
    w.class_value.value = 1
    wait_for_result(qtbot, w)
    assert_shows(w, truth, pred, positive=1)
    p.paint((15, 15), 3)
    settle(qtbot, w)
    assert_shows(w, truth, p.data, positive=1)


def test_objects_listed_and_row_click_centres(make_napari_viewer, qtbot, pair):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred,
                            translate=(100, 200))
    w.match.value = True
    wait_for_result(qtbot, w)
    assert w.tabs.isTabVisible(2)
    rows = [[w.objects_table.item(r, c).text() for c in range(4)]
            for r in range(w.objects_table.rowCount())]
    assert rows[0][:3] == ["matched", "1", "1"]
    assert ["FN (missed)", "2", "", ""] in rows
    assert {r[2] for r in rows if r[0] == "FP (extra)"} == {"3", "4"}
    assert "2 true, 3 predicted, 1 matched" in w.objects_label.text()
    fn_row = rows.index(["FN (missed)", "2", "", ""])
    table = w.objects_table
    w.tabs.setCurrentIndex(2)
    table.scrollToItem(table.item(fn_row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton,
                     pos=table.visualItemRect(table.item(fn_row, 0)).center())
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], (44.5 + 100, 59.5 + 200))


def test_export_metrics_and_overlay(make_napari_viewer, qtbot, pair, tmp_path, monkeypatch,
                                    messages):
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    expected = binary_metrics(truth, pred)
    out = w.export_metrics(tmp_path / "m.csv")
    rows = {r["metric"]: r["value"] for r in csv.DictReader(out.open())}
    assert rows["prediction"] == "prediction" and float(rows["f1"]) == expected["f1"]
    assert int(rows["tp"]) == expected["tp"]
    data = json.loads(w.export_metrics(tmp_path / "m.json").read_text())
    assert data["metrics"] == pytest.approx(expected)
    # never overwrite without asking
    (tmp_path / "keep.csv").write_text("mine")
    with pytest.raises(FileExistsError, match="already exists"):
        w.export_metrics(tmp_path / "keep.csv")
    assert (tmp_path / "keep.csv").read_text() == "mine"
    png = w.export_overlay(tmp_path / "overlay.png")
    rgb = read_image(png)
    codes = confusion_map(truth, pred)
    palette = OVERLAY_COLORS.copy()
    palette[0] = 0
    np.testing.assert_array_equal(rgb, palette[codes])
    with pytest.raises(FileExistsError):
        w.export_overlay(png)
    # the button: the dialog has asked about replacing the file it returns, not about
    # that name + a suffix added afterwards
    monkeypatch.setattr(cw.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "keep"), "")))
    w.save_metrics_button.clicked.emit()
    assert (tmp_path / "keep.csv").read_text() == "mine"
    assert "keep.csv already exists" in messages["error"][-1]
    monkeypatch.setattr(cw.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "keep.csv"), "")))
    w.save_metrics_button.clicked.emit()
    assert (tmp_path / "keep.csv").read_text().startswith("metric,class,value")
    monkeypatch.setattr(cw.QFileDialog, "getSaveFileName",
                        staticmethod(lambda *a, **k: (str(tmp_path / "fresh"), "")))
    w.save_overlay_button.clicked.emit()
    assert (tmp_path / "fresh.png").exists()


def test_image_thresholded_on_the_fly_and_not_editable(make_napari_viewer, qtbot, pair,
                                                       messages):
    truth, _ = pair
    rng = np.random.default_rng(1)
    prob = np.clip((truth > 0) * 0.5 + rng.random(truth.shape) * 0.6, 0, 1)
    viewer = make_napari_viewer()
    t = viewer.add_labels(truth.copy(), name="truth")
    img = viewer.add_image(prob, name="probabilities")
    w = dock(viewer)
    w.truth.value = t
    w.prediction.value = img
    wait_for_result(qtbot, w)
    assert not w.method.native.isHidden() and w.method.value == "otsu"
    assert_shows(w, truth, threshold_mask(prob))
    w.method.value = "li"
    wait_for_result(qtbot, w)
    assert_shows(w, truth, threshold_mask(prob, method="li"))
    c = w.next_error()
    assert c is not None
    assert w.fix_prediction() == 0
    assert "cannot be edited" in messages["error"][-1]
    np.testing.assert_array_equal(img.data, prob)


def test_stack_current_slice_and_whole_volume(make_napari_viewer, qtbot):
    truth = np.zeros((3, 30, 40), dtype=np.uint8)
    truth[:, 5:15, 5:15] = 1
    pred = truth.copy()
    pred[2, 20:28, 20:36] = 1
    viewer = make_napari_viewer()
    t = viewer.add_labels(truth.copy(), name="truth")
    p = viewer.add_labels(pred.copy(), name="pred")
    w = dock(viewer)
    assert not w.scope.native.isHidden()
    viewer.dims.set_current_step(0, 0)
    wait_for_result(qtbot, w)
    assert_shows(w, truth[0], pred[0])
    viewer.dims.set_current_step(0, 2)
    wait_for_result(qtbot, w)
    assert_shows(w, truth[2], pred[2])
    assert w.preview_layer().data.shape == truth.shape
    p.paint((2, 10, 10), 0)  # brush on the shown slice
    settle(qtbot, w)
    assert_shows(w, truth[2], p.data[2])
    p.undo()
    w.scope.value = "whole volume"
    wait_for_result(qtbot, w)
    assert_shows(w, truth, pred)
    viewer.dims.set_current_step(0, 0)
    c = w.next_error()
    assert c["kind"] == "FP" and viewer.dims.current_step[0] == 2  # jumped to the slice
    np.testing.assert_array_equal(t.data, truth)


@pytest.mark.parametrize("case", ["shape", "ndim", "rgb", "nan"])
def test_bad_input_is_explained_and_changes_nothing(make_napari_viewer, qtbot, case,
                                                    messages):
    viewer = make_napari_viewer()
    truth = np.zeros((20, 30), dtype=np.int32)
    truth[5:10, 5:10] = 1
    if case == "shape":
        other = viewer.add_labels(np.ones((20, 25), dtype=np.int32), name="pred")
    elif case == "ndim":
        other = viewer.add_labels(np.ones((2, 20, 30), dtype=np.int32), name="pred")
    elif case == "nan":
        data = np.ones((20, 30))
        data[3, 3] = np.nan
        other = viewer.add_image(data, name="pred")
    else:  # an RGB colour mask given as the truth
        other = viewer.add_labels(truth.copy(), name="pred")
    if case == "rgb":
        t = viewer.add_image(np.zeros((20, 30, 3), dtype=np.uint8), name="truth", rgb=True)
    else:
        t = viewer.add_labels(truth.copy(), name="truth")
    before = [np.array(layer.data, copy=True) for layer in viewer.layers]
    w = dock(viewer)
    w.prediction.value = other
    w.truth.value = t
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    msg = w.last_error
    assert msg in messages["error"]
    assert w.preview_layer() is None and w.metrics_shown()["tp"] is None
    if case == "shape":
        assert "(20, 25)" in msg and "(20, 30)" in msg and "overlapping" in msg
        w.crop.value = True  # offered remedy: compare the common region
        qtbot.waitUntil(w.is_current, timeout=5000)
        assert_shows(w, truth[:, :25], np.ones((20, 25)))
        assert "overlapping region (20, 25)" in w.status.value
    elif case == "ndim":
        assert "3D" in msg and "2D" in msg
    elif case == "rgb":
        assert "RGB" in msg and "palette" in msg
    else:
        assert "NaN" in msg
    assert len(viewer.layers) == 2 + (case == "shape")  # + the overlay once cropped
    for layer, data in zip(viewer.layers, before):  # the user's data is untouched
        np.testing.assert_array_equal(layer.data, data)


def test_empty_masks_and_mixed_dtypes(make_napari_viewer, qtbot, messages):
    viewer = make_napari_viewer()
    t = viewer.add_labels(np.zeros((20, 30), dtype=np.uint8), name="truth")
    p = viewer.add_labels(np.zeros((20, 30), dtype=np.int64), name="pred")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    shown = w.metrics_shown()
    assert shown["tn"] == 600 and shown["f1"] == 0.0 and shown["accuracy"] == 1.0
    assert any("both masks are empty" in m for m in messages["info"])
    assert w.next_error() is None and "no errors" in w.error_label.value
    # uint8 0/255 truth against int64 labels: compared by foreground, no complaint
    t.data = np.where(np.arange(30) < 10, 255, 0).astype(np.uint8)[None].repeat(20, 0)
    p.paint((10, 5), 9)
    qtbot.waitUntil(lambda: w.metrics_shown()["tp"] not in (None, 0), timeout=5000)
    wait_for_result(qtbot, w)
    settle(qtbot, w)
    assert_shows(w, t.data, p.data)
    assert w.last_error is None and not messages["error"]


def test_brush_stroke_on_2048_updates_fast(make_napari_viewer, qtbot):
    rng = np.random.default_rng(0)
    truth = (rng.random((64, 64)) > 0.5).repeat(32, 0).repeat(32, 1).astype(np.int32)
    pred = np.roll(truth, 5, axis=1)
    viewer = make_napari_viewer()
    t = viewer.add_labels(truth, name="truth")
    p = viewer.add_labels(pred.copy(), name="pred")
    w = dock(viewer)
    w.truth.value, w.prediction.value = t, p
    wait_for_result(qtbot, w, timeout=30000)
    p.brush_size = 40
    timings = []
    for i in range(5):
        start = time.perf_counter()
        p.paint((300 + 100 * i, 700), 1)
        settle(qtbot, w)
        timings.append((time.perf_counter() - start) * 1000)
        assert w.last_update_ms < 50
    assert_shows(w, truth, p.data)
    print(f"paint->metrics median {np.median(timings):.1f} ms, "
          f"widget update {w.last_update_ms:.1f} ms")


def test_next_error_right_after_switching_the_prediction(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    truth = np.zeros((40, 40), np.int32)
    truth[5:15, 5:15] = 1
    pred1 = truth.copy()
    pred1[30:38, 30:38] = 1  # an FP, bottom right
    pred2 = truth.copy()
    pred2[5:15, 5:10] = 0  # an FN, top left; no FP
    t = viewer.add_labels(truth, name="truth")
    one = viewer.add_labels(pred1, name="pred one")
    two = viewer.add_labels(pred2, name="pred two")
    w = dock(viewer)
    w.truth.value, w.prediction.value = t, one
    wait_for_result(qtbot, w)
    w.prediction.value = two
    current = w.next_error()  # at once: not an error of the old comparison
    assert current["kind"] == "FN"


def test_next_error_right_after_moving_the_slider(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    truth = np.zeros((3, 30, 30), np.uint8)
    truth[:, 5:10, 5:10] = 1
    pred = truth.copy()
    pred[0, 20:25, 20:25] = 1
    pred[2, 20:25, 20:25] = 1
    viewer.add_labels(truth, name="truth")
    viewer.add_labels(pred, name="pred")
    w = dock(viewer)
    viewer.dims.set_current_step(0, 0)
    wait_for_result(qtbot, w)
    viewer.dims.set_current_step(0, 2)
    w.next_error()
    assert viewer.dims.current_step[0] == 2  # the error of slice 2, not of slice 0


def test_undo_on_a_hidden_layer_still_updates_the_metrics(make_napari_viewer, qtbot, pair):
    """napari emits no event for an undo on a hidden layer; the counts must follow anyway."""
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)

    def full_counts():
        m = binary_metrics(t.data, p.data)
        return (m["tp"], m["fp"], m["fn"], m["tn"])

    t.visible = False  # to look at the overlay alone
    t.brush_size = 12
    t.paint((45, 15), 5)  # a truth blob where the prediction is empty: a big FN
    qtbot.waitUntil(lambda: w.comparison.counts == full_counts())
    t.undo()
    assert t.data[45, 15] == 0
    qtbot.waitUntil(lambda: w.comparison.counts == full_counts(), timeout=3000)
    comps, lab = w.comparison.errors(min_size=1)
    assert lab[45, 15] == 0  # the undone FN is not listed as an error any more


def test_a_stroke_and_its_undo_counted_once_with_the_history_timer(make_napari_viewer, qtbot,
                                                                  pair):
    """The 250 ms look at the undo history must not count an announced edit twice."""
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)

    def full_counts():
        m = binary_metrics(t.data, p.data)
        return (m["tp"], m["fp"], m["fn"], m["tn"])

    p.brush_size = 7
    for i in range(8):  # the dabs of one stroke
        p.paint((20 + i, 40 + 2 * i), 4)
    qtbot.wait(700)  # the timer has looked at least twice
    assert w.comparison.counts == full_counts()
    p.undo()
    qtbot.wait(700)
    assert w.comparison.counts == full_counts()


@pytest.mark.parametrize("target", ["truth", "pred"])
def test_corrections_on_the_coins_sample_with_hidden_layers(make_napari_viewer, qtbot,
                                                            messages, target):
    """Issue 9: the coins truth starts hidden; Accept into ground truth raised IndexError
    from napari after changing 3,211 pixels that undo did not restore."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-maskclean", "coins")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    truth, pred = w.truth.value, w.prediction.value
    assert not truth.visible
    pred.visible = False  # the prediction hidden too ("Remove from prediction")
    layer = truth if target == "truth" else pred
    before_t, before_p = truth.data.copy(), pred.data.copy()
    comp = w.next_error()
    assert comp is not None
    n = w.accept_into_truth() if target == "truth" else w.fix_prediction()
    assert n == comp["size"] > 0
    assert not messages["error"], messages["error"]
    assert f"{n} pixels changed" in messages["info"][-1]
    assert np.count_nonzero(layer.data != (before_t if target == "truth" else before_p)) == n
    # the other layer is untouched, and one undo restores exactly
    other, other_before = (pred, before_p) if target == "truth" else (truth, before_t)
    np.testing.assert_array_equal(other.data, other_before)
    layer.undo()
    np.testing.assert_array_equal(truth.data, before_t)
    np.testing.assert_array_equal(pred.data, before_p)


def test_default_min_error_size_hides_edge_specks_and_says_how_many(make_napari_viewer,
                                                                     qtbot):
    """Issue 9: 455 error components on coins, mostly 1-5 px edge specks."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-maskclean", "coins")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    truth, pred = w.truth.value.data, w.prediction.value.data
    sizes = np.array([c["size"] for c in error_components(truth, pred, min_size=1)[0]])
    assert len(sizes) == 455
    assert w.min_size.value == cw.DEFAULT_MIN_ERROR_SIZE == 10
    n_shown, n_hidden = int((sizes >= 10).sum()), int((sizes < 10).sum())
    qtbot.waitUntil(lambda: f"{n_shown} error components" in w.error_label.value)
    assert f"({n_hidden} smaller than 10 px hidden)" in w.error_label.value
    comp = w.next_error()
    assert comp["total"] == n_shown and comp["size"] == sizes.max()
    w.min_size.value = 1
    assert w.error_label.value.startswith("455 error components: ")


def test_button_text_matches_the_readme(make_napari_viewer):
    from pathlib import Path

    readme = (Path(cw.__file__).parents[3] / "README.md").read_text()
    w = dock(make_napari_viewer())
    assert w.fix_button.text == "Remove from prediction"
    assert f"*{w.fix_button.text}*" in readme
    assert f"*{w.accept_button.text}*" in readme


def test_reference_row_sits_beside_the_live_values(make_napari_viewer, qtbot, pair):
    """The hook for a 'noise floor' line: a named column of the same metrics, kept across
    recomputations and bad input, removable; the live column is unchanged."""
    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    floor = binary_metrics(truth, truth[:, ::-1])
    w.add_reference_row("noise floor", {**floor, "extra": 1})
    table = w.metrics_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["metric", "value", "noise floor"]
    assert w.metrics_shown("noise floor") == {k: floor[k] for k in w.metrics_shown()}
    assert table.item(6, 2).text() == f"{floor['f1']:.4f}"  # row 6 is F1
    assert_shows(w, truth, pred)
    w.add_reference_row("partial", {"f1": 0.25})  # missing metrics show a dash
    assert w.metrics_shown("partial")["f1"] == 0.25 and w.metrics_shown("partial")["iou"] is None
    assert table.item(7, 3).text() == "—"
    # a recomputation (mode change) and a bad input keep the references
    w.mode.value = "one class"
    wait_for_result(qtbot, w)
    assert_shows(w, truth, pred, positive=1)
    w.truth.value = viewer.layers["image"]
    w.crop.value = False
    p.data = pred[:, :40].copy()
    qtbot.waitUntil(lambda: w.metrics_shown()["tp"] is None, timeout=5000)
    assert w.metrics_shown("noise floor")["f1"] == floor["f1"]
    w.remove_reference_row("noise floor")
    w.remove_reference_row("never added")
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["metric", "value", "partial"]
    assert w.metrics_table.references() == {"partial": {"f1": 0.25}}
    with pytest.raises(ValueError, match="built-in column"):
        w.add_reference_row("value", floor)
    with pytest.raises(KeyError, match="no column 'noise floor'"):
        w.metrics_shown("noise floor")


# ---- napari-free helpers of the widget package (no viewer) ----------------------------------
class FakeAtom(NamedTuple):  # the shape of napari's _MaskedPaintAtom
    slice_key: tuple
    mask: object
    old_values: object
    new_value: int


def test_atom_boxes_all_kinds():
    shape = (10, 12)
    masked = FakeAtom((slice(2, 5), slice(3, 40)), None, None, 1)  # clipped to the shape
    legacy = ((np.array([1, 7]), np.array([3, 4])), np.array([0, 0]), 5)
    empty = ((np.array([], int), np.array([], int)), np.array([]), 1)
    weird = (np.ones(shape, bool), None, 1)  # a boolean mask: the whole array
    boxes = atom_boxes([masked, legacy, empty, weird], shape)
    assert boxes == [(slice(2, 5), slice(3, 12)), (slice(1, 8), slice(3, 5)),
                     (slice(0, 10), slice(0, 12))]
    assert atom_boxes([((slice(1, 3), 4), None, 1)], shape) == [(slice(1, 3), slice(4, 5))]


def test_display_helpers():
    assert full_point((1.5, 2.0), (2, slice(0, 10), slice(0, 8))) == (2.0, 1.5, 2.0)
    cols = heat_colors(np.array([[0, 4], [0, 0]]))
    assert cols[0, 0].tolist() == [255, 255, 255] and cols[0, 1].tolist() == [8, 48, 140]
    assert cols[1].tolist() == [[255, 255, 255]] * 2  # an empty row is white
    assert fit_zoom((10, 10), (1, 1), (500, 400)) == pytest.approx(0.4 * 400 / 48)
    assert fit_zoom((200, 10), (0.5, 1), (500, 400)) == pytest.approx(0.4 * 400 / 100)
    assert overlay_palette()[TN].tolist() == [0, 0, 0]
    assert overlay_palette(show_tn=True)[TN].tolist() == [128, 128, 128]
    d = overlay_color_dict()
    assert d[TN][3] == 0 and d[None][3] == 0 and d[FP] == (1.0, 0.0, 1.0, 1.0)
    assert overlay_color_dict(show_tn=True)[TN][3] > 0
    assert len({d[c] for c in (TP, FP, FN, WRONG)}) == 4


# ---- the noise floor (issue 13) -------------------------------------------------------------
def shown(widget):
    """Not hidden by the dock (``visible`` is False for any widget of an unshown window)."""
    return not widget.native.isHidden()


def floor_ready(w, expected_f1=None):
    shown = w.floor_shown
    return shown is not None and (expected_f1 is None or shown["f1"] == expected_f1)


def test_noise_floor_column_on_coins_follows_truth_and_mode(make_napari_viewer, qtbot):
    from napari_maskclean._widgets.compare.floor import FLOOR_COLUMN, FLOOR_MEANING
    from napari_maskclean.core.noise_floor import noise_floor

    viewer = make_napari_viewer()
    viewer.open_sample("napari-maskclean", "coins")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    truth, pred = w.truth.value, w.prediction.value
    # off by default: nothing computed, nothing shown but the checkbox
    assert not w.floor_on.value and not shown(w.floor_control)
    assert w.tabs.tabText(3) == "noise floor"  # a tab of its own: the dock stays short
    assert w.floor_shown is None and w.metrics_table.references() == {}
    w.floor_on.value = True
    assert shown(w.floor_control) and w.floor_meaning.value == FLOOR_MEANING
    assert "what careful annotators would score against each other" in FLOOR_MEANING
    assert w.floor_control.level.value == "moderate (1 px)"
    qtbot.waitUntil(lambda: floor_ready(w), timeout=20000)
    table = w.metrics_table
    headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert headers == ["metric", "value", FLOOR_COLUMN]
    col, live = w.metrics_shown(FLOOR_COLUMN), w.metrics_shown()
    assert set(col) == set(live) and None not in col.values()  # every row filled
    # exactly the core's floor of the compared truth at the control's settings
    expected = noise_floor(truth.data, **w.floor_control.params(), positive=None)
    assert col == {k: pytest.approx(expected[k], abs=1e-12) for k in col}
    # plausible: annotators at 1 px agree better than the coins annotation does, not perfectly
    assert live["f1"] < col["f1"] < 1.0 and 0.9 < col["f1"]
    assert col["iou"] < col["f1"]
    assert " ± " in table.item(6, 2).text()  # row 6 is F1: mean ± spread
    assert FLOOR_MEANING in table.horizontalHeaderItem(2).toolTip()
    # another noise level recomputes
    w.floor_control.level.value = "strong (2 px)"
    strong = noise_floor(truth.data, **w.floor_control.params())["f1"]
    qtbot.waitUntil(lambda: floor_ready(w, strong), timeout=20000)
    assert strong < col["f1"]
    assert "strong (2 px)" in table.horizontalHeaderItem(2).toolTip()
    w.floor_control.level.value = "light (0.5 px)"

    # another truth: the stale floor goes at once, then the new truth's floor comes
    new_floor = noise_floor(pred.data, **w.floor_control.params())["f1"]
    w.truth.value, w.prediction.value = pred, truth
    wait_for_result(qtbot, w)
    assert w.floor_shown is None or w.floor_shown["f1"] == new_floor
    qtbot.waitUntil(lambda: floor_ready(w, new_floor), timeout=20000)
    # the class mode: the one-class floor of that class
    w.mode.value = "one class"
    w.class_value.value = 1
    wait_for_result(qtbot, w)
    assert w.floor_shown is None or "per_class" not in w.floor_shown
    one = noise_floor(pred.data, **w.floor_control.params(), positive=1, per_class=False)
    qtbot.waitUntil(lambda: floor_ready(w, one["f1"]), timeout=20000)
    # unticking removes the column
    w.floor_on.value = False
    assert w.floor_shown is None and FLOOR_COLUMN not in table.references()
    assert not shown(w.floor_control)


def test_noise_floor_dropped_on_bad_input_and_kept_for_other_references(make_napari_viewer,
                                                                         qtbot, pair,
                                                                         tmp_path):
    from napari_maskclean._widgets.compare.floor import FLOOR_COLUMN
    from napari_maskclean.core.noise_floor import noise_floor

    truth, pred = pair
    viewer, w, t, p = setup(make_napari_viewer, qtbot, truth, pred)
    w.add_reference_row("second annotator", {"f1": 0.5})
    w.floor_on.value = True
    qtbot.waitUntil(lambda: floor_ready(w), timeout=20000)
    assert 0.5 < w.floor_shown["f1"] < 1
    w.crop.value = False
    p.data = pred[:, :40].copy()  # shapes differ: an error, no metrics
    qtbot.waitUntil(lambda: w.metrics_shown()["tp"] is None, timeout=5000)
    assert FLOOR_COLUMN not in w.metrics_table.references()
    assert w.metrics_table.references() == {"second annotator": {"f1": 0.5}}
    p.data = pred.copy()  # fixed: the floor comes back by itself
    qtbot.waitUntil(lambda: floor_ready(w), timeout=20000)
    # multi-class: the floor of every class too (its class means in the classes tab)
    w.mode.value = "multi-class"
    multi = noise_floor(truth, **w.floor_control.params(), per_class=True)
    qtbot.waitUntil(lambda: floor_ready(w) and "per_class" in w.floor_shown, timeout=20000)
    assert w.floor_shown["per_class"] == multi["per_class"]
    assert (f"noise floor: mean IoU {multi['per_class']['mean_iou']:.4f}"
            in w.mean_label.text())
    # saved with the metrics: JSON (all of it) and CSV rows
    report = json.loads(w.export_metrics(tmp_path / "m.json").read_text())
    assert report["noise_floor"]["f1"] == pytest.approx(multi["f1"])
    assert report["noise_floor"]["std"]["f1"] == pytest.approx(multi["std"]["f1"])
    assert report["noise_floor"]["level"] == "moderate (1 px)"
    rows = {r["metric"]: r["value"] for r in csv.DictReader(
        open(w.export_metrics(tmp_path / "m.csv")))}
    assert float(rows["noise_floor.f1"]) == pytest.approx(multi["f1"])
    assert float(rows["f1"]) == pytest.approx(w.metrics_shown()["f1"])


# ---- instances: COCO files and stacks of depths (issue 12) ----------------------------------
def _box(shape, y0, x0, y1, x1):
    m = np.zeros(shape, bool)
    m[y0:y1, x0:x1] = True
    return m


def coco_truth_file(tmp_path, masks, name="truth.json"):
    from napari_maskclean.core.rle import rle_encode

    h, w = masks[0].shape
    anns = [{"id": 10 + k, "image_id": 1, "category_id": 1, "iscrowd": 0,
             "segmentation": rle_encode(m)} for k, m in enumerate(masks)]
    d = {"images": [{"id": 1, "file_name": "img.png", "height": h, "width": w}],
         "categories": [{"id": 1, "name": "cell"}], "annotations": anns}
    path = tmp_path / name
    path.write_text(json.dumps(d))
    return path


def test_coco_depth_layers_compared_on_the_union_and_instance_by_instance(
        make_napari_viewer, qtbot, tmp_path, messages):
    from napari_maskclean.core.instance_compare import match_instances
    from napari_maskclean.core.rle import rle_encode

    shape = (60, 80)
    masks = [_box(shape, 5, 5, 25, 25), _box(shape, 5, 6, 25, 26),  # a near-duplicate
             _box(shape, 20, 20, 35, 35), _box(shape, 30, 40, 50, 70)]
    viewer = make_napari_viewer()
    depths = viewer.open(str(coco_truth_file(tmp_path, masks)), plugin="napari-maskclean")
    assert len(depths) > 1  # overlapping instances: one layer per depth
    pred = np.zeros(shape, np.int32)
    pred[5:25, 5:25] = 1
    pred[31:50, 40:70] = 2
    pred[55:58, 2:5] = 3
    p = viewer.add_labels(pred.copy(), name="prediction")
    w = dock(viewer)
    w.prediction.value = p
    w.truth.value = depths[1]  # any depth layer takes all of them
    w.match.value = True
    wait_for_result(qtbot, w)
    union = np.any(masks, axis=0)
    assert_shows(w, union, pred)
    m = w.comparison.objects["match"]
    expected = match_instances([rle_encode(x) for x in masks],
                               [rle_encode(pred == v) for v in (1, 2, 3)], iou_threshold=0.5)
    assert m == expected
    assert (m.n_truth, m.n_pred, m.tp) == (4, 3, 2)
    assert {(1, 1), (4, 2)} == {(i, j) for i, j, _ in m.matches}
    assert w.objects_table.rowCount() == 2 + 2 + 1
    assert "depth layers of 'img.png'" in w.status.value
    assert not shown(w.scope)
    # the noise floor of overlapping instances: of their union, as the pixels compared
    from napari_maskclean.core.noise_floor import noise_floor

    w.floor_on.value = True
    expected = noise_floor(union.astype(np.uint8), **w.floor_control.params(),
                           per_class=False)["f1"]
    qtbot.waitUntil(lambda: floor_ready(w, expected), timeout=20000)
    w.floor_on.value = False
    # an edit of any depth layer re-counts everything
    depths[0].paint((40, 10), 1)
    qtbot.waitUntil(lambda: w.is_current() and w.metrics_shown()["tp"] ==
                    binary_metrics(np.any([d.data for d in depths], axis=0), pred)["tp"],
                    timeout=5000)
    # corrections cannot tell which instance to change: refused, nothing written
    before = [d.data.copy() for d in depths]
    assert w.next_error() is not None
    assert w.accept_into_truth() == 0
    assert "overlapping instances" in messages["error"][-1]
    for d, b in zip(depths, before):
        np.testing.assert_array_equal(d.data, b)
    # the class modes compare COCO instances by category: all of these are "cell" (id 1)
    w.mode.value = "one class"
    qtbot.waitUntil(lambda: w.is_current() and w.last_error is None
                    and "by COCO category" in w.status.value, timeout=5000)
    assert_shows(w, np.any([d.data for d in depths], axis=0), pred == 1)
    w.mode.value = "any foreground"
    qtbot.waitUntil(lambda: w.last_error is None and w.is_current(), timeout=5000)
    # a missing depth layer would silently lose instances: refused, naming the fix
    viewer.layers.remove(depths[0])
    w.truth.value = depths[1]
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "only depth(s) [1" in str(w.last_error) and "open the file again" in str(
        w.last_error)
    assert w.metrics_shown()["tp"] is None


def test_instance_stack_layer_and_single_coco_layer(make_napari_viewer, qtbot, tmp_path):
    from napari_maskclean.core.instances import instances_to_labels

    shape = (40, 50)
    masks = np.array([_box(shape, 2, 2, 20, 20), _box(shape, 10, 10, 30, 30),
                      _box(shape, 25, 30, 38, 48)])
    stack = instances_to_labels(masks, overlap="layers")
    assert stack.shape[0] == 2
    truth = np.zeros(shape, np.int32)
    truth[2:20, 2:20] = 1
    truth[25:38, 30:48] = 2
    viewer = make_napari_viewer()
    t = viewer.add_labels(truth, name="ground truth")
    p = viewer.add_labels(stack, name="prediction stack")
    w = dock(viewer)
    w.truth.value, w.prediction.value = t, p
    w.match.value = True
    # a 3D layer is a volume unless said otherwise: the shapes cannot be compared
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "tick '3D labels are instance depths'" in str(w.last_error)
    assert shown(w.stack_depths)
    w.stack_depths.value = True
    qtbot.waitUntil(lambda: w.last_error is None and w.is_current(), timeout=5000)
    assert_shows(w, truth, masks.any(0))
    m = w.comparison.objects["match"]
    assert m.matches == [(1, 1, 1.0), (2, 3, 1.0)] and m.unmatched_pred == [2]
    w.go_to_object(0)  # centring on an object of a 2D window of a 3D layer works
    # a COCO image without overlaps is one label image: its instances stay whole
    two_parts = _box(shape, 0, 0, 5, 5) | _box(shape, 30, 40, 35, 45)
    path = coco_truth_file(tmp_path, [two_parts], name="one.json")
    (coco_layer,) = viewer.open(str(path), plugin="napari-maskclean")
    w.stack_depths.value = False
    w.truth.value = coco_layer
    w.prediction.value = viewer.add_labels(two_parts.astype(np.int32), name="pred 2")
    wait_for_result(qtbot, w)
    m = w.comparison.objects["match"]
    assert (m.n_truth, m.n_pred) == (1, 2)  # the truth instance whole; a binary mask splits
    # its labels are instance numbers: the class modes compare their categories, and the
    # plain layer's values as category ids (its objects: the regions of each class)
    w.mode.value = "multi-class"
    qtbot.waitUntil(lambda: w.is_current() and w.last_error is None
                    and "by COCO category" in w.status.value, timeout=5000)
    m = w.comparison.objects["per_category"][1]
    assert (m.n_truth, m.n_pred, m.tp) == (1, 2, 1)  # one half: IoU 0.5
    assert w.class_table_shown()[1]["name"] == "cell"
    # a stack of depths has no categories: refused in a class mode, naming the fix
    w.truth.value = t
    w.prediction.value = p
    w.stack_depths.value = True
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "'any foreground'" in str(w.last_error)


def test_an_iou_change_rematches_without_recounting(make_napari_viewer, qtbot, monkeypatch):
    from napari_maskclean.core import review

    viewer = make_napari_viewer()
    truth = np.zeros((60, 80), np.int32)
    truth[5:25, 5:25], truth[30:50, 40:70] = 1, 2
    pred = np.roll(truth, 3, axis=1)
    pred[30:50, 40:52] = 0  # object 2 loses part of itself: IoU ~0.5
    t = viewer.add_labels(truth, name="truth")
    p = viewer.add_labels(pred, name="pred")
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean",
                                                    "Compare with ground truth")
    w.prediction.value, w.truth.value = p, t
    w.match.value = True
    w.iou.value = 0.3
    qtbot.waitUntil(lambda: w.is_current() and w._state is not None
                    and w._state.objects is not None, timeout=10000)
    full = []
    monkeypatch.setattr(review, "compare", lambda *a, **k: full.append(1))
    import napari_maskclean._widgets.compare.widget as widget_module

    monkeypatch.setattr(widget_module, "compare", lambda *a, **k: full.append(1))
    before = len(w._state.objects["match"].matches)
    w.iou.value = 0.9
    qtbot.waitUntil(lambda: w.is_current() and w._state.objects["match"].iou_threshold == 0.9,
                    timeout=10000)
    assert full == []  # no full recount
    after = w._state.objects["match"]
    assert len(after.matches) < before
    # the same as matching from scratch at 0.9
    from napari_maskclean.core.matching import match_objects
    assert after.matches == match_objects(truth, pred, iou_threshold=0.9).matches
    # an edit makes the next change a full comparison again
    monkeypatch.undo()
    p.paint((10, 10), 7)
    w.iou.value = 0.5
    qtbot.waitUntil(lambda: w.is_current() and w._state.objects["match"].iou_threshold == 0.5,
                    timeout=10000)
    assert w._state_job.func is widget_module.compare
