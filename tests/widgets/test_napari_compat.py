"""napari's private API the plugin relies on (all of it, through _napari_compat).

If a napari release renames or changes one of these, this test fails with the
name to look at, instead of the widgets silently missing undo/redo or tabbing.
"""

from __future__ import annotations

import numpy as np
import pytest
from napari.layers import Labels
from qtpy.QtWidgets import QMainWindow

from napari_maskclean._widgets import _napari_compat as compat

pytestmark = pytest.mark.gui


def test_labels_history_attributes_exist_and_behave():
    layer = Labels(np.zeros((10, 10), np.int32))
    for name in compat.LABELS_HISTORY_ATTRS:
        assert hasattr(layer, name), f"napari no longer has Labels.{name}: update _napari_compat"
    assert compat.history_signature(layer) == (0, 0)
    with layer.block_history():
        layer.data_setitem((np.array([1, 2]), np.array([3, 4])), np.array([5, 6]))
    after_write = compat.history_signature(layer)
    assert after_write == (1, 0), "one block_history() write must be one undo item"
    item = compat.undo_items(layer)[-1]
    layer.undo()
    assert compat.history_signature(layer) == (0, 1)
    undone = compat.replayed_item(layer, after_write, (0, 1))
    _assert_same_item(undone, item)
    # the history atoms are (indices, old values, new values): compare_widget reads them
    (indices, old, new), = undone
    np.testing.assert_array_equal(indices[0], [1, 2])
    np.testing.assert_array_equal(old, [0, 0])
    np.testing.assert_array_equal(new, [5, 6])
    layer.redo()
    _assert_same_item(compat.replayed_item(layer, (0, 1), (1, 0)), item)
    assert compat.history_signature(np.zeros(3)) is None  # not a Labels layer


def _assert_same_item(a, b) -> None:
    assert len(a) == len(b)
    for (ia, oa, na), (ib, ob, nb) in zip(a, b, strict=True):
        for x, y in zip(ia, ib, strict=True):
            np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(na, nb)


def test_history_snapshot_restores_the_stacks():
    layer = Labels(np.zeros((10, 10), np.int32))
    with layer.block_history():
        layer.data_setitem((np.array([1]), np.array([1])), np.array([3]))
    saved = compat.HistorySnapshot(layer)
    undo = compat.undo_items(layer)
    with layer.block_history():
        layer.data_setitem((np.array([2]), np.array([2])), np.array([4]))
    assert len(compat.undo_items(layer)) == 2
    saved.restore()
    assert len(compat.undo_items(layer)) == len(undo) == 1
    _assert_same_item(compat.undo_items(layer)[0], undo[0])
    assert compat.redo_items(layer) == []


def test_window_attributes(make_napari_viewer):
    viewer = make_napari_viewer()
    for name in compat.WINDOW_ATTRS:
        assert hasattr(viewer.window, name), f"napari Window has no {name}: update _napari_compat"
    assert isinstance(compat.main_window(viewer), QMainWindow)
    assert compat.qt_viewer(viewer).canvas is not None


def test_no_private_napari_api_outside_the_adapter():
    """Every private napari name is used in _napari_compat only (tests excepted)."""
    import re
    from pathlib import Path

    import napari_maskclean

    root = Path(napari_maskclean.__file__).parent
    pattern = re.compile(r"\._(undo_history|redo_history|staged_history|qt_window|qt_viewer)\b")
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if p.name != "_napari_compat.py" and pattern.search(p.read_text())]
    assert offenders == []
