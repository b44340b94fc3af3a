"""The Threshold dock widget in a real viewer: live preview, commit, undo, bad input."""

import numpy as np
import pytest
from skimage import data as skdata

from napari_maskclean._widgets._recording import recorder_for
from napari_maskclean.core import threshold_mask, to_grey
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


@pytest.fixture
def coins():
    return skdata.coins()


def dock(viewer, name="Threshold"):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
    return widget


def test_preview_follows_parameters(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    image = viewer.add_image(coins, name="coins", scale=(2.0, 0.5), translate=(10, 5))
    w = dock(viewer)
    wait_for_result(qtbot, w)
    preview = w.preview_layer()
    assert preview is not None and preview is not image
    np.testing.assert_array_equal(preview.data.astype(bool), threshold_mask(coins))
    np.testing.assert_allclose(preview.scale, image.scale)
    np.testing.assert_allclose(preview.translate, image.translate)
    assert viewer.layers.selection.active is image  # the preview never steals selection
    w.method.value = "li"
    w.prefilter.value = "median"
    wait_for_result(qtbot, w)
    expected = threshold_mask(coins, method="li", prefilter="median", prefilter_size=3)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool), expected)
    assert w.histogram.lines  # the level is drawn
    np.testing.assert_array_equal(image.data, coins)  # the user's image is untouched


def test_histogram_click_sets_manual_level(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    w.histogram.levelChanged.emit(100.0)
    assert w.method.value == "manual"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool), coins > 100)
    assert w.histogram.lines == [100.0]


def test_commit_new_layer_then_undo(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins, name="coins")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    w.label_value.value = 3
    n_steps = len(recorder_for(viewer))
    n = w.run_commit()
    target = viewer.layers["coins mask"]
    mask = threshold_mask(coins)
    assert n == mask.sum()
    np.testing.assert_array_equal(target.data, np.where(mask, 3, 0))
    steps = recorder_for(viewer).steps
    assert steps[-1].op == "threshold" and steps[-1].params["method"] == "otsu"
    assert steps[-1].target == "coins mask" and steps[-1].new_target
    assert steps[-1].label_value == 3
    assert len(steps) == n_steps + 1
    target.undo()
    assert not target.data.any()


def test_commit_into_existing_layer_is_one_undo_step(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins, name="coins")
    before = np.zeros(coins.shape, dtype=np.int32)
    before[:50, :50] = 7
    labels = viewer.add_labels(before.copy(), name="existing")
    w = dock(viewer)
    w.target.value = labels
    wait_for_result(qtbot, w)
    w.run_commit()
    assert (labels.data == 1).any()
    assert (labels.data == 7).any()
    labels.preserve_labels = False
    labels.undo()
    np.testing.assert_array_equal(labels.data, before)


def test_preserve_labels_is_respected(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins, name="coins")
    before = np.full(coins.shape, 5, dtype=np.int32)
    before[:, 100:] = 0
    labels = viewer.add_labels(before.copy(), name="existing")
    labels.preserve_labels = True
    w = dock(viewer)
    w.target.value = labels
    wait_for_result(qtbot, w)
    w.run_commit()
    np.testing.assert_array_equal(labels.data[:, :100], 5)


def test_ctrl_z_in_the_canvas_undoes_a_commit(make_napari_viewer, qtbot, coins):
    from qtpy.QtCore import Qt

    viewer = make_napari_viewer(show=True)
    viewer.add_image(coins, name="coins")
    labels = viewer.add_labels(np.zeros(coins.shape, dtype=np.int32), name="target")
    w = dock(viewer)
    w.target.value = labels
    wait_for_result(qtbot, w)
    assert w.run_commit() > 0
    viewer.layers.selection.active = labels
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not labels.data.any()


def test_stack_current_slice_follows_slider(make_napari_viewer, qtbot, rng):
    stack = (rng.random((4, 40, 50)) * 200).astype(np.uint8)
    stack[2, 10:20, 10:30] = 255
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="stack")
    w = dock(viewer)
    assert not w.scope.native.isHidden()
    viewer.dims.set_current_step(0, 2)
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev.shape == stack.shape
    np.testing.assert_array_equal(prev[2].astype(bool), threshold_mask(stack[2]))
    assert not prev[[0, 1, 3]].any()
    viewer.dims.set_current_step(0, 1)
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data[1].astype(bool),
                                  threshold_mask(stack[1]))
    w.run_commit()
    target = viewer.layers["stack mask"]
    assert target.data[1].any() and not target.data[[0, 2, 3]].any()
    target.undo()
    assert not target.data.any()


def test_stack_each_slice_and_whole_volume(make_napari_viewer, qtbot, rng):
    stack = (rng.random((3, 30, 30)) * 100).astype(np.uint8)
    stack[1] += 100
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="stack")
    w = dock(viewer)
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool),
                                  threshold_mask(stack, per_slice=True))
    w.scope.value = "whole volume"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool), threshold_mask(stack))


def test_rgb_image_uses_the_chosen_channel(make_napari_viewer, qtbot, rng):
    rgb = (rng.random((30, 40, 3)) * 255).astype(np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(rgb, name="rgb", rgb=True)
    w = dock(viewer)
    assert not w.rgb_channel.native.isHidden()
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool),
                                  threshold_mask(to_grey(rgb)))
    assert w.preview_layer().data.shape == (30, 40)
    w.rgb_channel.value = "red"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool),
                                  threshold_mask(rgb[..., 0]))


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, bool, np.float32])
def test_integer_and_float_dtypes(make_napari_viewer, qtbot, rng, dtype):
    img = (rng.random((20, 30)) * 1000).astype(dtype)
    if dtype is bool:
        img = rng.random((20, 30)) > 0.5
    viewer = make_napari_viewer()
    viewer.add_image(img)
    w = dock(viewer)
    w.method.value = "isodata" if dtype is not bool else "mean"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data.astype(bool),
                                  threshold_mask(img, method=w.method.value))


def test_nan_image_reports_and_changes_nothing(make_napari_viewer, qtbot):
    img = np.ones((20, 20), dtype=np.float32)
    img[:10] = 5
    img[3, 3] = np.nan
    viewer = make_napari_viewer()
    viewer.add_image(img, name="nan")
    w = dock(viewer)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "nan" in w.last_error.lower()
    assert w.preview_layer() is None
    n_layers = len(viewer.layers)
    assert w.run_commit() == 0
    assert len(viewer.layers) == n_layers


def test_constant_image_reports(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_image(np.full((20, 20), 7, dtype=np.uint8))
    w = dock(viewer)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "manual" in w.last_error.lower()


def test_target_of_another_shape_is_refused(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins)
    other = viewer.add_labels(np.zeros((10, 10), dtype=np.int32), name="small")
    w = dock(viewer)
    w.target.value = other
    wait_for_result(qtbot, w)
    assert w.run_commit() == 0
    assert "shape" in w.last_error
    assert not other.data.any()


def test_label_that_does_not_fit_the_target_dtype(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins)
    target = viewer.add_labels(np.zeros(coins.shape, dtype=np.uint8), name="u8")
    w = dock(viewer)
    w.target.value = target
    w.label_value.value = 300
    wait_for_result(qtbot, w)
    assert w.run_commit() == 0
    assert "uint8" in w.last_error
    assert not target.data.any()


def test_layer_removed_while_computing(make_napari_viewer, qtbot, rng, monkeypatch):
    import napari_maskclean._widgets._engine as engine

    errors = []
    monkeypatch.setattr(engine, "show_error", errors.append)
    viewer = make_napari_viewer()
    img = viewer.add_image((rng.random((1024, 1024)) * 255).astype(np.uint8), name="gone")
    w = dock(viewer)
    w.method.value = "sauvola"
    w._timer.stop()
    w._start()  # start at once, then remove the layer while it runs
    worker = w._worker
    assert worker is not None
    viewer.layers.remove(img)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=10000)
    qtbot.wait(100)  # the worker's returned signal is delivered
    # the late result of the removed layer is dropped quietly: no error, no preview
    assert errors == []
    assert w.preview_layer() is None
    assert w.last_result is None or w.last_result.job.source is not img
    assert "gone" not in [layer.name for layer in viewer.layers]
    assert w.image.value is None
    assert w.run_commit() == 0


def test_editing_the_image_recomputes(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    image = viewer.add_image(coins.copy())
    w = dock(viewer)
    w.method.value = "manual"
    w.level.value = 100
    wait_for_result(qtbot, w)
    image.data = np.zeros_like(coins)
    wait_for_result(qtbot, w)
    assert not w.preview_layer().data.any()


def test_closing_the_widget_disconnects(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    image = viewer.add_image(coins)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    w.close_down()
    edits = w.source_edits
    image.data = coins[::-1].copy()  # not followed any more: disconnected
    viewer.add_image(coins, name="another")
    w.request()
    qtbot.wait(150)
    assert w.source_edits == edits
    assert not w._timer.isActive() and not w._history_timer.isActive()


def test_rgb_choice_is_announced(make_napari_viewer, qtbot, rng, monkeypatch):
    import napari_maskclean._widgets.threshold as tw

    said = []
    monkeypatch.setattr(tw, "show_info", said.append)
    viewer = make_napari_viewer()
    w = dock(viewer)
    viewer.add_image((rng.random((20, 20, 3)) * 255).astype(np.uint8), name="colour", rgb=True)
    w.image.value = viewer.layers["colour"]
    w.rgb_channel.value = "green"
    assert "green" in said[-1] and "RGB" in said[-1]


def test_4d_data_current_slice(make_napari_viewer, qtbot, rng):
    data = (rng.random((2, 3, 20, 25)) * 255).astype(np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(data, name="4d")
    w = dock(viewer)
    viewer.dims.set_current_step(0, 1)
    viewer.dims.set_current_step(1, 2)
    wait_for_result(qtbot, w)
    assert w.last_result.job.region == (1, 2)
    prev = w.preview_layer().data
    assert prev.shape == data.shape
    np.testing.assert_array_equal(prev[1, 2].astype(bool), threshold_mask(data[1, 2]))
    w.run_commit()
    target = viewer.layers["4d mask"]
    assert target.data[1, 2].any() and not target.data[0].any()


@pytest.mark.parametrize("view", ["reordered axes", "3D view", "slider beyond the layer"])
def test_current_slice_is_refused_when_the_view_shows_no_such_slice(make_napari_viewer, qtbot,
                                                                      view):
    """Working on another slice than the one on screen would be a silent wrong answer."""
    rng = np.random.default_rng(0)
    stack = (rng.random((3, 30, 40)) * 200).astype(np.uint8)
    viewer = make_napari_viewer()
    if view == "slider beyond the layer":
        viewer.add_image(np.zeros((10, 30, 40), np.uint8), name="longer")
    layer = viewer.add_image(stack, name="stack")
    viewer.dims.set_current_step(0, 1)
    w = dock(viewer)
    w.image.value = layer
    wait_for_result(qtbot, w)
    if view == "reordered axes":
        viewer.dims.order = (1, 0, 2)  # on screen: stack[:, k, :]
    elif view == "3D view":
        viewer.dims.ndisplay = 3
    else:
        viewer.dims.set_current_step(0, 8)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "slice" in w.last_error
    assert w.run_commit() == 0
    assert not any(lay.name == "stack mask" for lay in viewer.layers)
    if view == "reordered axes":
        viewer.dims.order = (0, 1, 2)
        qtbot.waitUntil(w.is_current, timeout=5000)  # back to normal
        assert w.last_error is None


def test_a_target_placed_elsewhere_in_the_world_is_refused(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins, name="coins")
    target = viewer.add_labels(np.zeros(coins.shape, np.int32), name="t",
                               translate=(100, 0), scale=(2, 2))
    w = dock(viewer)
    w.target.value = target
    wait_for_result(qtbot, w)
    assert w.run_commit() == 0
    assert "do not line up" in w.last_error and "scale (2.0, 2.0)" in w.last_error
    assert not target.data.any()
    target.scale, target.translate = (1, 1), (0, 0)  # aligned: accepted
    assert w.run_commit() > 0


def test_no_stale_preview_after_an_error_or_a_removed_source(make_napari_viewer, qtbot, coins):
    viewer = make_napari_viewer()
    image = viewer.add_image(coins, name="coins")
    constant = viewer.add_image(np.full(coins.shape, 7, np.uint8), name="constant")
    w = dock(viewer)
    w.image.value = image
    wait_for_result(qtbot, w)
    assert w.preview_layer() is not None
    w.image.value = constant  # Otsu is undefined: an error, and no old mask beside it
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert w.preview_layer() is None
    w.image.value = image
    qtbot.waitUntil(w.is_current, timeout=5000)
    assert w.preview_layer() is not None
    viewer.layers.remove(image)
    viewer.layers.remove(constant)
    qtbot.waitUntil(lambda: w.preview_layer() is None, timeout=5000)


def test_histogram_shows_the_prefiltered_values_the_level_applies_to(make_napari_viewer,
                                                                      qtbot, coins):
    from napari_maskclean.core import threshold_value

    viewer = make_napari_viewer()
    viewer.add_image(coins)
    w = dock(viewer)
    w.prefilter.value = "clahe"  # maps the values to 0..1
    result = wait_for_result(qtbot, w)
    counts, edges, levels = result.extra
    assert 0 <= edges[0] and edges[-1] <= 1.0
    level = threshold_value(coins, method="otsu", prefilter="clahe",
                            clip_limit=float(w.clip_limit.value))
    assert np.isclose(float(np.ravel(levels)[0]), level)
    assert edges[0] <= w.histogram.lines[0] <= edges[-1]
    w.histogram.levelChanged.emit(0.5)  # a click in the middle of that histogram
    qtbot.waitUntil(lambda: w.is_current() and w.last_result.job.params["method"] == "manual")
    mask = w.preview_layer().data.astype(bool)
    assert 0.05 < mask.mean() < 0.95  # a real split, not an empty or full mask


def test_a_long_message_wraps_instead_of_widening_the_dock(make_napari_viewer, qtbot, coins):
    from napari_maskclean._widgets._live import InputError

    viewer = make_napari_viewer(show=True)
    viewer.add_image(coins)
    dock_widget, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Threshold")
    wait_for_result(qtbot, w)
    qtbot.wait(100)
    window, dock_width = viewer.window._qt_window.width(), dock_widget.width()
    w._report_error(InputError("a long explanation of what went wrong " * 12))
    qtbot.wait(200)
    assert w.status.native.wordWrap()
    assert dock_widget.width() <= dock_width + 5
    assert viewer.window._qt_window.width() <= window


def test_status_shows_the_level_and_what_a_commit_did(make_napari_viewer, qtbot, coins):
    from napari_maskclean.core import threshold_value

    viewer = make_napari_viewer()
    viewer.add_image(coins, name="coins")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    assert f"level {float(threshold_value(coins)):.4g}" in w.status.value
    n = w.run_commit()
    assert w.status.value.startswith(f"committed: {n} pixels changed")
    w.target.value = viewer.layers["coins mask"]
    qtbot.waitUntil(w.is_current)
    assert w.run_commit() == 0  # the same mask again
    assert "nothing to commit" in w.status.value and "Ctrl-Z" not in w.status.value


def test_histogram_sits_above_target_and_commit(make_napari_viewer, coins):
    viewer = make_napari_viewer()
    viewer.add_image(coins)
    w = dock(viewer)
    layout = w.native.layout()

    def row(native):
        return next(i for i in range(layout.count()) if layout.itemAt(i).widget() is not None
                    and (layout.itemAt(i).widget() is native
                         or layout.itemAt(i).widget().isAncestorOf(native)))

    assert row(w.invert.native) < row(w.histogram) < row(w.target.native) \
        < row(w.commit_button.native)


def test_an_empty_mask_preview_is_hidden_and_a_user_hidden_one_stays_hidden(
        make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image = np.zeros((40, 40), np.uint8)
    image[5:20, 5:20] = 200
    viewer.add_image(image, name="image")
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Threshold")
    w.method.value = "manual"
    w.level.value = 100
    wait_for_result(qtbot, w)
    assert w.preview_layer().visible
    w.level.value = 250  # nothing above: an empty mask
    qtbot.waitUntil(lambda: w.is_current() and not w.preview_layer().data.any())
    assert not w.preview_layer().visible
    w.level.value = 100
    qtbot.waitUntil(lambda: w.is_current() and w.preview_layer().data.any())
    assert w.preview_layer().visible  # hidden by the plugin: shown again
    w.preview_layer().visible = False  # the user's choice
    w.level.value = 101
    qtbot.waitUntil(lambda: w.is_current() and w.last_result.job.params["level"] == 101)
    assert not w.preview_layer().visible


def test_a_lone_change_starts_at_once_and_a_burst_is_debounced(make_napari_viewer, qtbot):
    """An idle widget starts a job at the next turn of the event loop (not after the
    debounce); a change while a job runs, or just after one started, waits for quiet."""
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((40, 40), np.uint8), name="image")
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Threshold")
    w.method.value = "manual"
    wait_for_result(qtbot, w)
    qtbot.waitUntil(lambda: w._since_start.elapsed() > w._debounce_ms)  # idle again
    w.level.value = 10
    assert w._timer.isActive() and w._timer.interval() == 0
    w.level.value = 11  # in the same go: still one job, at once
    assert w._timer.isActive() and w._timer.interval() == 0
    qtbot.waitUntil(lambda: not w._timer.isActive())  # the job started
    w.level.value = 12  # right after a start: a burst, debounced
    assert w._timer.isActive() and w._timer.interval() == w._debounce_ms
    wait_for_result(qtbot, w)
    assert w.last_result.job.params["level"] == 12
