"""Live edits for the Compare dock: napari history items -> boxes -> incremental re-count.

Edits of either Labels layer (paint, fill, erase, commits of other widgets,
undo and redo) are turned into bounding boxes of the layer's full array, mapped
into the compared window and re-counted by the model
(:meth:`~napari_maskclean.core.review.LiveComparison.update`), on the GUI
thread, right after napari has written the pixels (the ``paint`` event fires
before the write, so the boxes are collected and read on the next turn of the
event loop). The error components are then found again off the GUI thread.

This module reads napari's history items: the atoms of ``events.paint`` and,
for undo/redo, napari's undo/redo stacks (private API, read only through
``_widgets/_napari_compat.py``).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from napari.layers import Labels
from napari.qt.threading import thread_worker
from qtpy.QtCore import QTimer

from ...core.compare import error_components
from ...core.windows import Box, full_box, local_box, merge_boxes
from .. import _napari_compat
from .._live import history_signature

__all__ = ["LiveEditsMixin", "atom_boxes"]


def _clip_box(box: Sequence[Any], shape: Sequence[int]) -> Box | None:
    out = []
    for s, n in zip(box, shape):
        if isinstance(s, slice):
            lo, hi, _ = s.indices(int(n))
        else:
            lo = int(s)
            lo = lo + int(n) if lo < 0 else lo
            hi = lo + 1
        lo, hi = max(lo, 0), min(hi, int(n))
        if lo >= hi:
            return None
        out.append(slice(lo, hi))
    out.extend(slice(0, int(n)) for n in shape[len(out):])
    return tuple(out)


def atom_boxes(atoms: Iterable[Any], shape: Sequence[int]) -> list[Box]:
    """Bounding boxes of the edits recorded in a Labels layer's history item.

    Parameters
    ----------
    atoms : iterable
        History atoms: objects with a ``slice_key`` (a tuple of slices, as
        napari's masked paint atoms) or ``(indices, old, new)`` tuples whose
        ``indices`` is a tuple of integer index arrays (or slices/integers).
        Anything else marks the whole array as edited.
    shape : sequence of int
        Shape of the edited array; boxes are clipped to it.

    Returns
    -------
    list of tuple of slice
        One box per atom that changed something, in the atoms' order.

    Examples
    --------
    >>> atom = ((np.array([2, 5]), np.array([7, 3])), None, 1)
    >>> atom_boxes([atom], (10, 10))
    [(slice(2, 6, None), slice(3, 8, None))]
    """
    boxes: list[Box] = []
    whole = tuple(slice(0, int(n)) for n in shape)
    for atom in atoms:
        key = getattr(atom, "slice_key", None)
        if key is None and isinstance(atom, tuple) and len(atom) == 3:
            indices = atom[0]
            if not isinstance(indices, tuple):
                indices = (indices,)
            parts: list[Any] = []
            empty = False
            for ind in indices:
                if isinstance(ind, slice | numbers.Integral):
                    parts.append(ind)
                    continue
                arr = np.asarray(ind)
                if arr.dtype == bool or arr.dtype.kind not in "iu":
                    parts = None  # type: ignore[assignment]
                    break
                if arr.size == 0:
                    empty = True
                    break
                parts.append(slice(int(arr.min()), int(arr.max()) + 1))
            if empty:
                continue
            key = tuple(parts) if parts is not None else None
        box = whole if key is None else _clip_box(key, shape)
        if box is not None:
            boxes.append(box)
    return boxes


def _replayed_item(layer: Labels, old, new):
    """The history item an undo or redo just replayed (None if it cannot be told)."""
    return _napari_compat.replayed_item(layer, old, new)


class LiveEditsMixin:
    """Incremental updates of :class:`CompareWidget` while the compared layers are edited."""

    def _init_edits(self) -> None:
        self._dirty: list[tuple[Labels, list]] = []  # edits not yet counted
        self._pending: list[tuple[Labels, list]] = []  # edits since the last snapshot
        #: Milliseconds the last incremental update took (edit read -> tables drawn).
        self.last_update_ms: float | None = None
        self._flush_timer = QTimer()
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(0)
        self._flush_timer.timeout.connect(self.flush_edits)
        # After edits, the error components are found again off the GUI thread.
        self._errors_timer = QTimer()
        self._errors_timer.setSingleShot(True)
        self._errors_timer.setInterval(250)
        self._errors_timer.timeout.connect(self._find_errors_in_background)
        self._errors_worker = None

    @property
    def edits_pending(self) -> bool:
        """True while edits wait for the next turn of the event loop to be counted."""
        return bool(self._dirty)

    def _stop_edits(self) -> None:
        try:
            self._flush_timer.stop()
            self._errors_timer.stop()
        except RuntimeError:  # Qt already deleted it (interpreter shutdown)
            pass
        if self._errors_worker is not None:
            self._errors_worker.quit()
            self._errors_worker = None
        self._dirty = []

    def _source_edited(self, event=None) -> None:
        layer = getattr(event, "source", None)
        kind = getattr(event, "type", None)
        if not isinstance(layer, Labels):
            self.request()
            return
        if kind == "paint":
            self._history[id(layer)] = history_signature(layer)
            item = event.value
        elif kind == "set_data":
            sig = history_signature(layer)
            old = self._history.get(id(layer))
            if sig == old:
                return  # a slider move, not an edit
            self._history[id(layer)] = sig
            item = _replayed_item(layer, old, sig)
            if item is None:
                self.request()
                return
        else:  # the whole array was replaced
            self.request()
            return
        boxes = atom_boxes(item, layer.data.shape)
        if boxes:
            self._dirty.append((layer, boxes))
            self._flush_timer.start()

    def flush_edits(self) -> None:
        """Re-count the boxes edited since the last flush (normally called by a 0 ms timer).

        napari emits ``paint`` before it writes the pixels of a single brush dab, so the
        boxes are read here, after the write.
        """
        self._flush_timer.stop()
        self.check_history()  # an undo on a hidden layer (no event) adds its edit here
        edits, self._dirty = self._dirty, []
        if not edits or self._closed:
            return
        self._pending.extend(edits)  # a full comparison in flight will replay them
        if self._state is None or not self._state_matches():
            return
        t0 = time.perf_counter()
        self._apply_edits(edits, overlay=True)
        self._update_tables(objects=False)
        if self._current is not None:
            self._show_current_error()
        self.last_update_ms = (time.perf_counter() - t0) * 1000
        self._errors_timer.start()
        if self.match.value:
            self.request()  # object matching is not incremental

    def _find_errors_in_background(self) -> None:
        """Find the error components of the edited state on a worker thread."""
        state = self._state
        if state is None or state.errors_cached or self._closed:
            return
        if self._errors_worker is not None:
            self._errors_worker.quit()
        truth, pred, wrong, version = state.error_inputs()
        min_size = 1  # all of them: the widget filters by size (and counts the hidden)

        def work():
            yield
            return error_components(truth, pred, wrong=wrong, min_size=min_size)

        worker = thread_worker(work, ignore_errors=True)()

        def done(errors, state=state, worker=worker):
            if worker is self._errors_worker:
                self._errors_worker = None
            if state is self._state and not self._closed:
                state.install_errors(errors, version=version, min_size=min_size)

        worker.returned.connect(done)
        self._errors_worker = worker
        worker.start()

    def _apply_edits(self, edits, *, overlay: bool = False) -> None:
        state, job = self._state, self._state_job
        if state is None or not edits:
            return
        truth_layer, pred_layer = job.truth_layer, job.source
        key = job.region
        layer_overlay = self.preview_layer() if overlay else None
        for layer, boxes in edits:
            is_truth = layer is truth_layer and isinstance(truth_layer, Labels)
            is_pred = layer is pred_layer and isinstance(pred_layer, Labels)
            if not (is_truth or is_pred):
                continue
            for box in merge_boxes(boxes):
                local = local_box(box, key)
                if local is None:
                    continue
                full = full_box(local, key)
                values = np.asarray(layer.data[full])
                state.update(local, truth_region=values if is_truth else None,
                             pred_region=values if is_pred else None)
                if layer_overlay is not None and layer_overlay.data.shape == job.common:
                    layer_overlay.data[full] = state.codes[local]
        if layer_overlay is not None:
            layer_overlay.refresh()
