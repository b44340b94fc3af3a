"""The Morphology dock widget in a real viewer: live preview, edits, commit, undo."""

import numpy as np
import pytest

from napari_maskclean.core import morphology
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def dock(viewer, show="result"):
    """Dock the widget; these tests read the whole result from the preview layer."""
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    assert widget.show.value == "changes"  # the default
    widget.show.value = show
    return widget


@pytest.fixture
def two_labels():
    lab = np.zeros((60, 80), dtype=np.int32)
    lab[10:30, 10:30] = 1
    lab[15:18, 15:18] = 0  # a hole
    lab[35:55, 40:70] = 2
    lab[44, 50:60] = 0  # a crack
    lab[5, 75] = 3  # a speck
    return lab


def test_preview_commit_undo(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer)
    w.operation.value = "close"
    w.radius.value = 2
    wait_for_result(qtbot, w)
    expected = morphology(two_labels, "close", radius=2, footprint="disk", per_label=True)
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    np.testing.assert_array_equal(layer.data, two_labels)  # nothing written yet
    n = w.run_commit()
    assert n == np.count_nonzero(expected != two_labels) > 0
    np.testing.assert_array_equal(layer.data, expected)
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.last_result.job.args[0], expected)  # followed the commit
    layer.undo()
    np.testing.assert_array_equal(layer.data, two_labels)
    # undo emits only set_data: the preview must still follow it
    qtbot.waitUntil(lambda: w.is_current()
                    and np.array_equal(w.last_result.job.args[0], two_labels), timeout=5000)
    layer.redo()
    np.testing.assert_array_equal(layer.data, expected)


@pytest.mark.parametrize(("op", "kwargs"), [
    ("remove_small_objects", {"min_size": 4}),
    ("remove_small_holes", {"max_size": 20}),
    ("fill_holes", {}),
    ("erode", {"radius": 1, "footprint": "square"}),
    ("smooth", {"radius": 1, "footprint": "disk"}),
])
def test_each_operation_matches_core(make_napari_viewer, qtbot, two_labels, op, kwargs):
    viewer = make_napari_viewer()
    viewer.add_labels(two_labels.copy())
    w = dock(viewer)
    w.operation.value = op
    for key, value in kwargs.items():
        getattr(w, key).value = value
    wait_for_result(qtbot, w)
    expected = morphology(two_labels, op, per_label=True, **kwargs)
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    from napari_maskclean.ops import REGISTRY

    assert w.last_result.job.params == REGISTRY["morphology"].validate(
        {"operation": op, "per_label": True, **kwargs})


def test_selected_label_only(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy())
    w = dock(viewer)
    w.operation.value = "dilate"
    w.radius.value = 3
    w.apply_to.value = "selected label"
    layer.selected_label = 2
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    np.testing.assert_array_equal(prev == 1, two_labels == 1)  # label 1 untouched
    assert (prev == 2).sum() > (two_labels == 2).sum()
    layer.selected_label = 1
    wait_for_result(qtbot, w)
    assert (w.preview_layer().data == 1).sum() > (two_labels == 1).sum()


def test_painting_recomputes_preview(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy())
    w = dock(viewer)
    w.operation.value = "fill_holes"
    wait_for_result(qtbot, w)
    # An edit through napari's undoable path emits events.paint, not events.data.
    with layer.block_history():
        layer.data_setitem((np.array([50]), np.array([5])), 4)
    wait_for_result(qtbot, w)
    assert w.preview_layer().data[50, 5] == 4


def test_stack_each_slice(make_napari_viewer, qtbot, two_labels):
    stack = np.stack([two_labels, np.roll(two_labels, 5, axis=1)])
    viewer = make_napari_viewer()
    layer = viewer.add_labels(stack.copy())
    w = dock(viewer)
    w.operation.value = "close"
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    expected = morphology(stack, "close", radius=1, per_label=True, per_slice=True)
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    w.run_commit()
    np.testing.assert_array_equal(layer.data, expected)
    layer.undo()
    np.testing.assert_array_equal(layer.data, stack)


def test_3d_volume_current_slice_commit(make_napari_viewer, qtbot, two_labels):
    vol = np.stack([two_labels] * 3)
    viewer = make_napari_viewer()
    layer = viewer.add_labels(vol.copy(), scale=(3, 1, 1))
    w = dock(viewer)
    viewer.dims.set_current_step(0, 1)
    w.operation.value = "fill_holes"
    wait_for_result(qtbot, w)
    w.run_commit()
    filled = morphology(two_labels, "fill_holes", per_label=True)
    np.testing.assert_array_equal(layer.data[1], filled)
    np.testing.assert_array_equal(layer.data[0], two_labels)
    np.testing.assert_allclose(w.preview_layer().scale, (3, 1, 1))


def test_float_labels_are_refused(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_labels(np.zeros((10, 10), dtype=np.int32))
    w = dock(viewer)
    wait_for_result(qtbot, w)
    w.labels.value.data = np.full((10, 10), -1, dtype=np.int32)  # negative labels
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "negative" in w.last_error.lower()


def test_huge_radius_is_explained(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy())
    w = dock(viewer)
    w.operation.value = "dilate"
    w.radius.value = 200  # larger than the 60x80 image in every direction
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "radius" in w.last_error.lower()
    assert w.run_commit() == 0
    np.testing.assert_array_equal(layer.data, two_labels)


def test_changes_preview_shows_only_what_changes(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer, show="changes")
    w.operation.value = "open"  # removes the speck (-> background)
    w.radius.value = 1
    wait_for_result(qtbot, w)
    expected = morphology(two_labels, "open", radius=1, per_label=True)
    changed = expected != two_labels
    prev = w.preview_layer().data
    np.testing.assert_array_equal(prev != 0, changed)
    grown = changed & (expected != 0)
    zero = prev[5, 75]
    # "becomes background" has its own value, none of the labels gained...
    assert zero == w.last_result.extra.zero_value and zero not in prev[grown]
    colormap = w.preview_layer().colormap
    np.testing.assert_allclose(colormap.map(zero), [1, 1, 1, 1])  # ...shown white
    for value in np.unique(prev[grown]):
        np.testing.assert_allclose(colormap.map(value), [1, 0, 1, 1])  # gains: magenta
    np.testing.assert_array_equal(prev[grown], expected[grown])
    assert f"{changed.sum()} pixels would change" in w.status.value
    w.show.value = "result"  # switching shows the whole result, without recomputing
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    w.show.value = "changes in label colours"
    np.testing.assert_array_equal(w.preview_layer().data != 0, changed)
    colormap = w.preview_layer().colormap
    for value in np.unique(expected[grown]):
        np.testing.assert_allclose(colormap.map(value), layer.colormap.map(value))
    w.show.value = "changes"
    w.operation.value = "close"  # fills the hole and the crack: gains, in magenta
    wait_for_result(qtbot, w)
    expected = morphology(two_labels, "close", radius=1, per_label=True)
    gained = expected != two_labels
    assert gained.any() and (expected[gained] != 0).all()
    prev = w.preview_layer().data
    np.testing.assert_array_equal(prev != 0, gained)
    for value in np.unique(prev[gained]):
        np.testing.assert_allclose(w.preview_layer().colormap.map(value), [1, 0, 1, 1])
    assert w.run_commit() == gained.sum()
    np.testing.assert_array_equal(layer.data, expected)


def test_parameter_changes_reuse_the_copy_of_the_labels(make_napari_viewer, qtbot, two_labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer)
    w.operation.value = "close"
    wait_for_result(qtbot, w)
    first = w.last_result.job.args[0]
    w.radius.value = 3
    qtbot.waitUntil(lambda: w.is_current() and w.last_result.job.params["radius"] == 3)
    assert w.last_result.job.args[0] is first  # no new copy: the data did not change
    layer.paint((20, 20), 2)  # an edit makes a new copy
    qtbot.waitUntil(lambda: w.is_current() and w.last_result.job.args[0] is not first)
    np.testing.assert_array_equal(w.last_result.job.args[0], layer.data)


def test_commit_never_reverts_a_change_made_without_an_event(
        make_napari_viewer, qtbot, two_labels):
    """A script writes into layer.data (no event): Commit recomputes from the new data."""
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer)
    w.operation.value = "close"
    wait_for_result(qtbot, w)
    layer.data[0:4, 0:4] = 5  # silently, as some scripts do
    w.run_commit()
    edited = two_labels.copy()
    edited[0:4, 0:4] = 5
    expected = morphology(edited, "close", radius=int(w.radius.value), per_label=True)
    np.testing.assert_array_equal(layer.data, expected)
    assert (layer.data[0:4, 0:4] == 5).all()


def test_4d_stack_each_slice_and_whole_volume_refused(make_napari_viewer, qtbot):
    lab = np.zeros((2, 3, 30, 30), np.int32)
    lab[:, :, 5:20, 5:20] = 1
    lab[:, :, 10, 10] = 0  # a hole in every slice
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab.copy(), name="lab4d")
    w = dock(viewer)
    w.operation.value = "fill_holes"
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    assert w.run_commit() == 6  # one pixel in each of the 2 x 3 slices
    assert (layer.data[:, :, 10, 10] == 1).all()
    layer.undo()
    np.testing.assert_array_equal(layer.data, lab)
    w.scope.value = "whole volume"
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "each slice" in w.last_error


def test_starts_on_the_visible_layer_and_never_selects_a_hidden_one(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-maskclean", "coins")  # image, hidden truth, annotation
    viewer.layers.selection.active = viewer.layers["coins"]
    w = dock(viewer)
    assert w.labels.value is viewer.layers["coins annotation"]  # not the hidden truth
    wait_for_result(qtbot, w)
    assert viewer.layers.selection.active is viewer.layers["coins"]  # left where it was
    w.labels.value = viewer.layers["coins truth"]  # the user's explicit choice
    wait_for_result(qtbot, w)
    assert viewer.layers.selection.active is not viewer.layers["coins truth"]


def test_empty_change_preview_is_hidden_after_a_commit_and_shown_again(
        make_napari_viewer, qtbot, two_labels):
    """After a commit nothing is left to change: the empty [preview] layer is hidden, and
    shown again when an edit gives it something to show."""
    viewer = make_napari_viewer()
    layer = viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer, show="changes")
    w.operation.value = "fill_holes"
    wait_for_result(qtbot, w)
    assert w.preview_layer().visible and w.preview_layer().data.any()
    assert w.run_commit() > 0
    wait_for_result(qtbot, w)  # the recomputation that follows the commit
    assert not w.preview_layer().data.any()
    assert not w.preview_layer().visible
    layer.paint((20, 20), 0)  # a new hole: something to preview again
    qtbot.waitUntil(lambda: w.is_current() and w.preview_layer().data.any())
    assert w.preview_layer().visible


def test_change_preview_is_drawn_from_a_small_dtype_and_keeps_its_colormap(
        make_napari_viewer, qtbot, two_labels):
    """The preview holds uint8 (napari maps int32 pixel by pixel on every redraw), and a
    new result with the same colours does not rebuild the colormap (a second redraw)."""
    viewer = make_napari_viewer()
    viewer.add_labels(two_labels.copy(), name="labels")
    w = dock(viewer, show="changes")  # highlight: every change magenta
    w.operation.value = "erode"  # pixels become background
    w.radius.value = 1
    wait_for_result(qtbot, w)
    layer = w.preview_layer()
    changes = w.last_result.extra
    assert changes.n_zero > 0
    assert layer.data.dtype == np.uint8
    np.testing.assert_array_equal(layer.data == changes.zero_value,
                                  (w.last_result.value == 0) & (two_labels != 0))
    assert layer.colormap.map(changes.zero_value)[:3].tolist() == [1.0, 1.0, 1.0]  # white
    replaced = []
    layer.events.colormap.connect(replaced.append)
    w.radius.value = 2
    qtbot.waitUntil(lambda: w.is_current() and w.last_result.job.params["radius"] == 2)
    assert w.preview_layer() is layer
    assert replaced == []
    np.testing.assert_array_equal(layer.data != 0, w.last_result.value != two_labels)
