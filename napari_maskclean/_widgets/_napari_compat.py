"""Every use of napari's private API in the plugin, in one place (napari 0.9).

napari has no public way to read a Labels layer's undo/redo stacks, to put
them back after a failed write, to tell which history item an undo replayed,
or to reach the Qt main window. Each access lives here behind a small
function, so that a napari release that renames one breaks this module (and
``tests/widgets/test_napari_compat.py``, which checks every name loudly)
instead of silently degrading the widgets.

Private names used:

* ``Labels._undo_history``, ``Labels._redo_history`` (deques of history
  items), ``Labels._staged_history`` (the atoms of the write in progress);
* ``Window._qt_window`` (the ``QMainWindow``), ``Window._qt_viewer``.
"""

from __future__ import annotations

from typing import Any

#: The private attributes of a Labels layer this module reads (checked by a test).
LABELS_HISTORY_ATTRS = ("_undo_history", "_redo_history", "_staged_history")
#: The private attributes of a napari Window this module reads (checked by a test).
WINDOW_ATTRS = ("_qt_window", "_qt_viewer")


def history_signature(layer) -> tuple[int, int] | None:
    """Return the lengths of a Labels layer's undo/redo stacks (None for other layers).

    napari's ``undo()``/``redo()`` emit no ``paint`` or ``data`` event, only
    ``set_data`` (which slider moves emit too); a changed signature tells them apart.
    """
    undo = getattr(layer, "_undo_history", None)
    redo = getattr(layer, "_redo_history", None)
    if undo is None or redo is None:
        return None
    return (len(undo), len(redo))


def undo_items(layer) -> list:
    """A copy of the layer's undo stack (oldest first)."""
    return list(getattr(layer, "_undo_history", ()))


def redo_items(layer) -> list:
    """A copy of the layer's redo stack."""
    return list(getattr(layer, "_redo_history", ()))


def replayed_item(layer, old: tuple[int, int] | None, new: tuple[int, int] | None):
    """The history item an undo or redo just replayed (None if it cannot be told).

    ``old``/``new`` are :func:`history_signature` before and after.
    """
    if old is None or new is None:
        return None
    (u0, r0), (u1, r1) = old, new
    if r1 == r0 + 1 and u1 == u0 - 1 and layer._redo_history:  # undo
        return layer._redo_history[-1]
    if u1 == u0 + 1 and r1 == r0 - 1 and layer._undo_history:  # redo
        return layer._undo_history[-1]
    return None


class HistorySnapshot:
    """The undo/redo state of a Labels layer, to put back if a write fails.

    ``data_setitem`` clears the redo stack and stages an undo atom before it can
    fail; there is no public way to take them back. The deques are refilled in
    place (they carry napari's ``maxlen``).
    """

    def __init__(self, layer) -> None:
        self.layer = layer
        self.items = {n: list(getattr(layer, n, ())) for n in LABELS_HISTORY_ATTRS}

    def restore(self) -> None:
        """Put the saved stacks back."""
        for name, items in self.items.items():
            stack = getattr(self.layer, name, None)
            if stack is None:
                continue
            stack.clear()
            stack.extend(items)


def main_window(viewer) -> Any:
    """The ``QMainWindow`` of a viewer (for docking and resizing)."""
    return viewer.window._qt_window


def qt_viewer(viewer) -> Any:
    """The ``QtViewer`` of a viewer (its canvas, for tests and screenshots)."""
    return viewer.window._qt_viewer
