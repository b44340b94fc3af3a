"""The one write path into a user's Labels layer (``_live.write_labels``) in a real viewer.

Each case checks the data against the expected array and that ONE undo restores
the layer exactly: hidden layers (whose displayed slice napari does not keep up
to date), layers sliced on another axis, another dims order, the 3D view, a
write while the slider moves, and a failure inside napari (all or nothing).
"""

import numpy as np
import pytest

import napari_maskclean._widgets._engine as engine_mod
from napari_maskclean._widgets._live import WriteError, write_labels

pytestmark = pytest.mark.gui


def _stack(rng, shape=(5, 40, 50)):
    return rng.integers(0, 3, size=shape).astype(np.uint8)


def _expected(before, values, region, where=None):
    out = before.copy()
    sub = out[region]
    new = np.broadcast_to(values, sub.shape)
    mask = np.ones(sub.shape, bool) if where is None else where
    sub[mask] = new[mask]
    return out


def _write_and_undo(layer, values, region=(), where=None):
    """Write, check the data, undo once, check the data is back exactly."""
    before = np.array(layer.data, copy=True)
    n_undo = len(layer._undo_history)
    expected = _expected(before, values, region, where)
    n = write_labels(layer, values, region=region, where=where, preserve_labels=False)
    assert n == np.count_nonzero(expected != before)
    np.testing.assert_array_equal(layer.data, expected)
    assert len(layer._undo_history) == n_undo + 1  # exactly one undo step
    layer.undo()
    np.testing.assert_array_equal(layer.data, before)
    layer.redo()
    np.testing.assert_array_equal(layer.data, expected)
    layer.undo()  # leave the layer as it was (the next write starts from there)
    return n


def test_write_into_a_layer_added_hidden(make_napari_viewer, rng):
    """The coins-sample case: a 2D truth added with visible=False (slice never made)."""
    viewer = make_napari_viewer()
    viewer.add_image(rng.random((60, 70)))
    layer = viewer.add_labels(np.zeros((60, 70), np.int32), name="truth", visible=False)
    values = np.zeros((30, 20), np.int32)
    values[5:25, 3:17] = 7
    assert _write_and_undo(layer, values, (slice(20, 50), slice(40, 60))) == 20 * 14
    assert not layer.visible
    layer.visible = True  # napari re-slices on show: the display matches the data
    np.testing.assert_array_equal(layer._slice.image.raw, layer.data)


def test_write_into_a_hidden_stack_after_the_slider_moved(make_napari_viewer, rng):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng), name="truth", visible=False)
    viewer.dims.set_current_step(0, 3)  # napari blanks a hidden layer's slice
    _write_and_undo(layer, np.uint8(9), (1,))
    _write_and_undo(layer, np.uint8(9), (3,), where=rng.random((40, 50)) < 0.3)


@pytest.mark.parametrize("visible", [True, False])
def test_write_with_the_layer_sliced_on_another_axis(make_napari_viewer, rng, visible):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng), visible=visible)
    viewer.dims.order = (1, 0, 2)  # axes 0 and 2 displayed, axis 1 is the slider
    viewer.dims.set_current_step(1, 7)
    # a write that crosses the displayed slice (row 7) and others
    _write_and_undo(layer, np.uint8(5), (slice(0, 5), slice(2, 30)))
    _write_and_undo(layer, np.uint8(4), (2,))


@pytest.mark.parametrize("visible", [True, False])
def test_write_with_another_dims_order(make_napari_viewer, rng, visible):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng), visible=visible)
    viewer.dims.order = (0, 2, 1)  # transposed display
    viewer.dims.set_current_step(0, 2)
    _write_and_undo(layer, np.uint8(6), (2, slice(10, 30), slice(5, 45)))
    _write_and_undo(layer, np.uint8(6), (4,))


@pytest.mark.parametrize("visible", [True, False])
def test_write_in_the_3d_view(make_napari_viewer, rng, visible):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng), visible=visible)
    viewer.dims.ndisplay = 3
    _write_and_undo(layer, np.uint8(8), (slice(1, 4), slice(0, 20)))
    _write_and_undo(layer, np.uint8(8), (2,))


def test_write_while_the_slider_moves(make_napari_viewer, rng):
    """A write triggered from a slider-move event, into the slice being left."""
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng))
    hidden = viewer.add_labels(_stack(rng), visible=False)
    checks = []

    def on_step(event):
        for target in (layer, hidden):
            checks.append(_write_and_undo(target, np.uint8(7), (1, slice(0, 25))))

    viewer.dims.events.current_step.connect(on_step)
    for step in (1, 2, 4, 0):
        viewer.dims.set_current_step(0, step)
    viewer.dims.events.current_step.disconnect(on_step)
    assert len(checks) == 8 and all(n > 0 for n in checks)


def _failing_after_half(layer, monkeypatch, exc=None):
    """Make ``layer.data_setitem`` write half of the pixels (recorded) and then raise."""
    original = layer.data_setitem

    def broken(indices, value, refresh=True):
        half = tuple(i[: len(i) // 2] for i in indices)
        original(half, np.asarray(value)[: len(half[0])], refresh=refresh)
        raise exc if exc is not None else RuntimeError("boom")

    monkeypatch.setattr(layer, "data_setitem", broken)


@pytest.mark.parametrize("visible", [True, False])
def test_a_failure_inside_napari_changes_nothing(make_napari_viewer, rng, monkeypatch,
                                                 visible):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(_stack(rng), visible=visible)
    original = np.array(layer.data, copy=True)
    # history before: one edit to undo, one undone edit to redo
    write_labels(layer, np.uint8(1), region=(0,), preserve_labels=False)
    after_first = np.array(layer.data, copy=True)
    write_labels(layer, np.uint8(2), region=(1,), preserve_labels=False)
    layer.undo()
    undo_before = list(layer._undo_history)
    redo_before = list(layer._redo_history)
    _failing_after_half(layer, monkeypatch)
    with pytest.raises(WriteError, match="nothing was changed"):
        write_labels(layer, np.uint8(9), region=(slice(2, 5),), preserve_labels=False)
    np.testing.assert_array_equal(layer.data, after_first)
    assert list(layer._undo_history) == undo_before
    assert list(layer._redo_history) == redo_before
    assert layer._staged_history == []
    # one undo restores exactly the state before the first edit; redo still works
    layer.undo()
    np.testing.assert_array_equal(layer.data, original)
    layer.redo()
    layer.redo()
    assert np.all(layer.data[1] == 2)


def test_a_failed_commit_is_a_notification_not_a_traceback(make_napari_viewer, qtbot, rng,
                                                           monkeypatch):
    """Through a dock's Commit: the user sees a message, the layer is unchanged."""
    from tests.conftest import wait_for_result

    errors = []
    monkeypatch.setattr(engine_mod, "show_error", errors.append)
    viewer = make_napari_viewer()
    data = np.zeros((60, 60), np.int32)
    data[10:40, 10:40] = 1
    data[20:25, 20:25] = 0  # a hole
    layer = viewer.add_labels(data)
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    w.labels.value = layer
    w.operation.value = "close"
    w.radius.value = 3
    wait_for_result(qtbot, w)
    n_undo = len(layer._undo_history)
    _failing_after_half(layer, monkeypatch, IndexError("index 156 is out of bounds"))
    assert w.run_commit() == 0
    np.testing.assert_array_equal(layer.data, data)
    assert len(layer._undo_history) == n_undo
    assert errors and "nothing was changed" in errors[-1]
    assert "nothing was changed" in w.status.value
