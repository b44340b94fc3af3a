"""Shared machinery of the dock widgets: live preview, slicing, and the one undoable write.

Every dock widget of the plugin is a :class:`LiveWidget`. A subclass only says

* which layers and parameters it has (magicgui widgets added to the container),
* how to turn the current GUI state into a :class:`Job` (:meth:`LiveWidget.make_job`,
  run on the GUI thread: it snapshots the inputs and names one core function), and
* what Commit does with the last result (usually a call to :func:`write_labels`).

The base class does the rest: it debounces parameter changes, runs the job off the GUI
thread, drops stale results (newest request wins), shows the result in a preview layer
that the plugin owns, follows edits of the source layer and slider moves, reports bad
input with napari notifications and cleans up when the dock widget is closed.

:func:`write_labels` is the ONLY function in the plugin that changes a user's Labels
layer. It writes the changed pixels only, through ``Labels.data_setitem`` inside one
``block_history()``, so that every commit is exactly one Ctrl-Z.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
from magicgui.widgets import ComboBox, Container, Label, PushButton
from napari.layers import Image, Labels, Layer
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, QObject, QTimer
from qtpy.QtWidgets import QDockWidget, QMainWindow

logger = logging.getLogger(__name__)

#: Prefix of the layers the plugin owns; they are never treated as user data.
PREVIEW_PREFIX = "[preview] "
#: Prefix of the seed Points layers the plugin owns.
SEEDS_PREFIX = "[seeds] "
_OWNED_PREFIXES = (PREVIEW_PREFIX, SEEDS_PREFIX)

#: The steps committed in this session, in order (``{"op": ..., "params": ...}``),
#: so that a later recipe can replay them headless.
SESSION_STEPS: list[dict[str, Any]] = []

#: Above this many pixels a computation shows a progress bar in napari.
_PROGRESS_PIXELS = 2**24


# --------------------------------------------------------------------------------------
# Jobs and results
# --------------------------------------------------------------------------------------
@dataclass
class Job:
    """One computation requested by a widget, snapshotted on the GUI thread.

    Parameters
    ----------
    func : callable
        The core function (napari-free) run off the GUI thread.
    args : tuple
        Positional arrays for ``func``.
    params : dict
        Keyword parameters for ``func``: plain JSON-able values, recorded as the step.
    source : Layer
        The layer the input came from (the preview copies its scale and translate).
    region : tuple
        Where the result sits in the source layer's data: ``()`` for the whole array,
        or integer indices for the non-displayed axes of the current slice.
    post : callable, optional
        Extra work done off the GUI thread on ``func``'s result (e.g. a histogram); its
        return value is stored in ``Result.extra``.
    """

    func: Callable[..., Any]
    args: tuple
    params: dict[str, Any]
    source: Layer
    region: tuple = ()
    post: Callable[[Any], Any] | None = None

    @property
    def step(self) -> dict[str, Any]:
        """Return this job as a JSON-serialisable recipe step."""
        return {"op": self.func.__name__, "params": dict(self.params)}

    def run(self) -> Result:
        """Run the job (off the GUI thread)."""
        value = self.func(*self.args, **self.params)
        extra = self.post(value) if self.post is not None else None
        return Result(job=self, value=value, extra=extra)


@dataclass
class Result:
    """The output of a :class:`Job`."""

    job: Job
    value: Any
    extra: Any = None
    generation: int = field(default=-1)


class InputError(ValueError):
    """Bad input detected by a widget before any work starts (shown to the user)."""


# --------------------------------------------------------------------------------------
# The single write path
# --------------------------------------------------------------------------------------
def _full_indices(region: tuple, local: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Map indices within ``data[region]`` to indices of the whole array."""
    out: list[np.ndarray] = []
    it = iter(local)
    n = local[0].size if local else 0
    for r in region:
        if isinstance(r, slice):
            out.append(next(it) + (r.start or 0))
        else:  # an integer index removed this axis
            out.append(np.full(n, int(r), dtype=np.intp))
    out.extend(it)  # axes after the region tuple
    return tuple(out)


def check_fits_dtype(values: np.ndarray | int, dtype: np.dtype, what: str = "label") -> None:
    """Raise :class:`InputError` if ``values`` cannot be stored in ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return
    info = np.iinfo(dtype)
    arr = np.asarray(values)
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    if lo < info.min or hi > info.max:
        bad = hi if hi > info.max else lo
        raise InputError(
            f"{what} {bad} does not fit the target layer's dtype {dtype} "
            f"(range {info.min}..{info.max}); choose a smaller {what} or convert the layer "
            "to a wider dtype (e.g. layer.data.astype('int32'))."
        )


def write_labels(
    layer: Labels,
    values: np.ndarray | int,
    *,
    region: tuple = (),
    where: np.ndarray | None = None,
    preserve_labels: bool | None = None,
) -> int:
    """Write ``values`` into a Labels layer as ONE undo step, changing only what differs.

    This is the single code path that mutates a user's Labels layer.

    Parameters
    ----------
    layer : napari.layers.Labels
        The target layer.
    values : ndarray or int
        New values for ``layer.data[region]`` (same shape), or one label value.
    region : tuple, optional
        Index into ``layer.data`` (integers and slices), ``()`` for the whole array.
    where : ndarray of bool, optional
        Only these pixels of the region may be written.
    preserve_labels : bool, optional
        Write only into background (0) pixels. Defaults to the layer's own
        ``preserve_labels`` setting.

    Returns
    -------
    int
        The number of pixels changed (0 means the layer and its history are untouched).
    """
    current = np.asarray(layer.data[region])
    new = np.broadcast_to(np.asarray(values), current.shape)
    check_fits_dtype(new if where is None else new[where], layer.data.dtype)
    changed = current != new
    if where is not None:
        changed &= where
    if layer.preserve_labels if preserve_labels is None else preserve_labels:
        changed &= current == 0
    local = np.nonzero(changed)
    if local[0].size == 0:
        return 0
    indices = _full_indices(region, local) if region else local
    old_values = current[changed]  # a copy (boolean indexing), for the rollback
    new_values = new[changed].astype(layer.data.dtype, copy=False)
    _fresh_slice(layer)
    saved = _HistorySnapshot(layer)
    try:
        with layer.block_history():
            layer.data_setitem(indices, new_values)
    except Exception as err:  # noqa: BLE001 - anything inside napari: undo it all
        _roll_back(layer, indices, old_values, saved)
        logger.exception("writing into %r failed; rolled back", layer.name, exc_info=err)
        raise WriteError(
            f"could not write into {layer.name!r} ({type(err).__name__}: {err}); nothing "
            "was changed (the layer and its undo history are as before). Please report "
            "this with the steps that led to it."
        ) from err
    return int(local[0].size)


class WriteError(InputError):
    """A write into a Labels layer failed inside napari and was rolled back."""


def _fresh_slice(layer: Labels) -> None:
    """Make the layer's displayed slice match the viewer's dims before ``data_setitem``.

    ``Labels.data_setitem`` writes the new values into the data AND into the
    displayed slice (``_slice.image.view``) at the indices it computes from that
    slice's own position. napari does not slice a hidden layer: its slice is a
    (1, 1) placeholder once the dims change (a sample's hidden ground truth), so
    the second write raised ``IndexError`` after the data had changed. Slicing it
    now (the public ``set_view_slice``) makes the view match; a visible layer is
    already sliced (napari slices synchronously) unless async slicing is on.
    """
    if not layer.visible or not getattr(layer, "loaded", True):
        layer.set_view_slice()


class _HistorySnapshot:
    """The undo/redo state of a Labels layer, to put back if a write fails.

    napari private API (``_undo_history``, ``_redo_history``, ``_staged_history``,
    napari 0.9): ``data_setitem`` clears the redo stack and stages an undo atom
    before it can fail; there is no public way to take them back. The deques
    are refilled in place (they carry napari's ``maxlen``).
    """

    _NAMES = ("_undo_history", "_redo_history", "_staged_history")

    def __init__(self, layer: Labels) -> None:
        self.layer = layer
        self.items = {n: list(getattr(layer, n, ())) for n in self._NAMES}

    def restore(self) -> None:
        for name, items in self.items.items():
            stack = getattr(self.layer, name, None)
            if stack is None:
                continue
            stack.clear()
            stack.extend(items)


def _roll_back(layer: Labels, indices: tuple, old_values: np.ndarray,
               saved: _HistorySnapshot) -> None:
    """Put back the old values and the undo history after a failed write."""
    layer.data[indices] = old_values  # straight into the array: no history, no events
    saved.restore()
    try:
        layer.refresh()  # the displayed slice may hold part of the failed write
    except Exception:  # noqa: BLE001 - the data is restored; the display catches up later
        logger.exception("refreshing %r after a rollback failed", layer.name)


def record_step(step: dict[str, Any], **context: Any) -> None:
    """Append a committed step to the session log (for recipes)."""
    SESSION_STEPS.append({**step, **context})


# --------------------------------------------------------------------------------------
# Slicing helpers
# --------------------------------------------------------------------------------------
def current_region(viewer, layer: Layer, *, n_spatial: int = 2) -> tuple:
    """Return the index of the 2D slice of ``layer`` that the viewer shows now.

    Integer indices for the leading (non-displayed) axes, nothing for the last
    ``n_spatial`` axes. A layer with no more than ``n_spatial`` axes gives ``()``.

    Raises
    ------
    InputError
        When the view does not show such a slice of the layer: another pair of
        axes displayed (the axes were reordered or rolled), the 3D view for a
        2D slice, or the slider beyond the layer's extent. Working on another
        slice than the one on screen would be a silent wrong answer.
    """
    ndim = layer.ndim  # napari's ndim excludes an RGB(A) channel axis
    n_lead = ndim - n_spatial
    if n_lead <= 0:
        return ()
    dims = viewer.dims
    offset = dims.ndim - ndim  # the layer's axes are the last ones of the world
    displayed = sorted(d - offset for d in dims.displayed)
    if displayed != list(range(n_lead, ndim))[-len(displayed):] or len(displayed) > n_spatial:
        what = "the 3D view" if dims.ndisplay == 3 else f"axes {tuple(dims.displayed)} displayed"
        raise InputError(
            f"'current slice' works on the {n_spatial}D slice of the last {n_spatial} axes of "
            f"{layer.name!r}, but the viewer shows {what}; switch to the 2D view (the "
            "square/cube button at the bottom left) with the default axis order (the "
            "transpose/roll buttons change it), or work on the whole volume."
        )
    point = np.asarray(dims.point)[-ndim:]
    data_point = np.asarray(layer.world_to_data(point))
    shape = layer.data.shape
    idx = []
    for axis in range(n_lead):
        i = int(np.round(data_point[axis]))
        if not 0 <= i < shape[axis]:
            raise InputError(
                f"the slider is at slice {i} of axis {axis}, outside {layer.name!r} "
                f"(slices 0 to {shape[axis] - 1}); move the slider into the layer."
            )
        idx.append(i)
    return tuple(idx)


def image_array(layer: Layer, region: tuple = ()) -> np.ndarray:
    """Return a copy of ``layer.data[region]`` as a NumPy array.

    A copy, because the job reads it on another thread while the user may paint.
    """
    data = layer.data
    if getattr(layer, "multiscale", False):
        raise InputError(
            f"layer {layer.name!r} is multiscale; open its full-resolution level as a "
            "normal layer to work on it."
        )
    return np.array(data[region], copy=True)


def layer_choices(viewer, kinds: type | tuple[type, ...], *, rgb: bool | None = None):
    """Return a ``choices`` callable listing the user's layers of the given types."""

    def choices(_widget=None) -> list[Layer]:
        out = []
        for layer in viewer.layers:
            if not isinstance(layer, kinds) or layer.name.startswith(_OWNED_PREFIXES):
                continue
            if rgb is not None and getattr(layer, "rgb", False) != rgb:
                continue
            out.append(layer)
        return out

    return choices


# --------------------------------------------------------------------------------------
# The live widget
# --------------------------------------------------------------------------------------
class LiveWidget(Container):
    """Base class of the plugin's dock widgets (see the module docstring).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer this widget is docked in.
    title : str
        Used for the preview layer's name and for progress bars.
    debounce_ms : int
        Quiet time after the last change before a recomputation starts.
    """

    preview_kind: str = "labels"  # or "image"
    #: Pause and hide the preview while the dock is hidden (a background tab, closed):
    #: five docked widgets would otherwise all recompute and overlap their previews.
    pause_when_hidden: bool = True

    def __init__(self, viewer, *, title: str, debounce_ms: int = 40) -> None:
        super().__init__(labels=True)
        self.viewer = viewer
        self.title = title
        self.preview_name = f"{PREVIEW_PREFIX}{title}"
        self.last_result: Result | None = None
        self.last_error: str | None = None
        self._generation = 0
        self._requested = 0
        self._worker = None
        self._live = True
        self._hidden = False
        #: Counts edits of the source layers (caches of derived data compare it).
        self.source_edits = 0
        self._commit_note = ""
        self._dock_visible = True  # False while the dock is a background tab or closed
        self._hid_layers: list[Layer] = []
        self._watched: list[tuple[Any, Callable]] = []
        self._source_layers: list[Layer] = []
        self._history: dict[int, tuple[int, int] | None] = {}
        #: The last copy of each source layer's data: id(layer) -> (key, array).
        self._snapshots: dict[int, tuple[tuple, np.ndarray]] = {}
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._start)
        # napari's undo/redo on a hidden layer emits no event at all: look at the
        # undo history of the source layers now and then (cheap: two lengths).
        self._history_timer = QTimer()
        self._history_timer.setInterval(250)
        self._history_timer.timeout.connect(self.check_history)
        self._history_timer.start()
        self.status = wrapping_label()
        self.commit_button = PushButton(text="Commit")
        self.commit_button.clicked.connect(self._commit_clicked)
        self._adopt_leftovers()
        self._connect(viewer.layers.events.inserted, self._layers_changed)
        self._connect(viewer.layers.events.removed, self._layers_changed)
        self._connect(viewer.dims.events.current_step, self._slice_changed)
        # another axis order or the 3D view changes which slice is on screen
        self._connect(viewer.dims.events.order, self._slice_changed)
        self._connect(viewer.dims.events.ndisplay, self._slice_changed)
        self.native.destroyed.connect(self.close_down)
        self._visibility_filter = _VisibilityFilter(self)
        self.native.installEventFilter(self._visibility_filter)

    def _adopt_leftovers(self) -> None:
        """Clean up after an earlier dock of this widget that was closed with its X.

        napari only hides a closed dock (the widget is not destroyed), which hid
        its preview and seeds: show them again, to be reused by this widget.
        """
        for layer in self.viewer.layers:
            if layer.name in (self.preview_name, f"{SEEDS_PREFIX}{self.title}"):
                layer.visible = True

    # ---- subclass API -----------------------------------------------------------------
    def make_job(self) -> Job | None:
        """Snapshot inputs on the GUI thread and return the job (or None: nothing to do)."""
        raise NotImplementedError

    def commit(self, result: Result) -> int:
        """Write ``result`` to the user's data; return the number of changed pixels."""
        raise NotImplementedError

    def source_layers(self) -> list[Layer]:
        """Return the layers whose edits must trigger a recomputation."""
        return []

    def follows_slice(self) -> bool:
        """Return True when the result depends on the current slice."""
        return False

    def preview_data(self, result: Result) -> np.ndarray | None:
        """Return the array to show in the preview layer (None: no preview)."""
        return result.value

    def show_result(self, result: Result) -> None:
        """Show a fresh result; subclasses extend this (histograms, tables)."""
        data = self.preview_data(result)
        if data is not None:
            self.update_preview(result.job, data)

    # ---- wiring ----------------------------------------------------------------------
    def _connect(self, emitter, callback) -> None:
        emitter.connect(callback)
        self._watched.append((emitter, callback))

    def watch_parameters(self, widgets: Sequence) -> None:
        """Recompute the preview whenever one of these magicgui widgets changes."""
        for w in widgets:
            w.changed.connect(self.request)

    def _layers_changed(self, event=None) -> None:
        if getattr(event, "value", None) is not None and self._is_preview(event.value):
            return
        self.reset_choices()
        self._rewatch_sources()
        self.request()

    def _is_preview(self, layer) -> bool:
        return getattr(layer, "name", "").startswith(_OWNED_PREFIXES)

    def _rewatch_sources(self) -> None:
        """Follow edits of the current source layers (paint, fill, commits, undo, new data)."""
        for layer in self._source_layers:
            for ev in _edit_events(layer):
                try:
                    ev.disconnect(self._source_edited)
                except (TypeError, ValueError, RuntimeError):
                    pass
        self._snapshots.clear()
        self._source_layers = [
            lay for lay in self.source_layers() if lay is not None and lay in self.viewer.layers
        ]
        self._history = {id(lay): history_signature(lay) for lay in self._source_layers}
        for layer in self._source_layers:
            for ev in _edit_events(layer):
                ev.connect(self._source_edited)

    def _source_edited(self, event=None) -> None:
        if getattr(event, "type", None) == "set_data":
            # set_data also fires on every slider move; only an undo/redo changes the data.
            layer = getattr(event, "source", None)
            sig = history_signature(layer)
            if sig == self._history.get(id(layer)):
                return
            self._history[id(layer)] = sig
        elif getattr(event, "source", None) is not None:
            self._history[id(event.source)] = history_signature(event.source)
        self.source_edits += 1
        self.request()

    def check_history(self) -> bool:
        """Treat an undo/redo that napari did not announce as an edit; True if one was found."""
        found = False
        if self._closed:
            return found
        for layer in list(self._source_layers):
            if not isinstance(layer, Labels) or layer not in self.viewer.layers:
                continue
            sig = history_signature(layer)
            if sig is not None and sig != self._history.get(id(layer)):
                found = True
                self._source_edited(SimpleNamespace(source=layer, type="set_data"))
        return found

    def _slice_changed(self, event=None) -> None:
        if self.follows_slice():
            self.request()

    # ---- the live loop ---------------------------------------------------------------
    @property
    def live(self) -> bool:
        """Whether parameter changes recompute the preview at once."""
        return self._live

    @live.setter
    def live(self, value: bool) -> None:
        self._live = bool(value)
        if self._live:
            self.request()

    def request(self, *_args) -> None:
        """Ask for a recomputation (debounced; the newest request wins)."""
        if self._closed:
            return
        self._requested += 1
        if self._live and not self._hidden:
            self._timer.start()

    def set_hidden(self, hidden: bool) -> None:
        """Pause while the dock is hidden (hiding the preview); catch up when shown."""
        if hidden == self._hidden or self._closed:
            return
        self._hidden = hidden
        if hidden:  # hide only what the user had visible, and show just that again
            self._hid_layers = [lay for lay in self.owned_layers() if lay.visible]
        for layer in self._hid_layers:
            if layer in self.viewer.layers:
                layer.visible = not hidden
        if not hidden:
            self._hid_layers = []
        if hidden:
            self._timer.stop()
        elif self._live and not self.is_current():
            self._timer.start()

    def owned_layers(self) -> list[Layer]:
        """The layers this widget shows its preview in (hidden with the widget)."""
        layer = self.preview_layer()
        return [] if layer is None else [layer]

    def _snapshot(self) -> Job | None:
        """Call make_job, turning bad input into a visible message."""
        try:
            job = self.make_job()
        except (InputError, ValueError, TypeError) as err:
            self._report_error(err)
            return None
        self.last_error = None
        if job is None:  # nothing to work on (no layer chosen): no preview either
            self.remove_preview()
        return job

    def _report_error(self, err: Exception, *, drop_preview: bool = True) -> None:
        """Show ``err`` in the status line and once as a notification; forget the result.

        The preview goes too (unless a commit failed): it would show the result of
        inputs that are no longer valid, next to the message.
        """
        if drop_preview:
            self.remove_preview()
        msg = str(err)
        self.status.value = f"⚠ {msg}"
        # No popup for the same message on every keystroke, nor from a dock in a
        # background tab (its status line keeps the message for when it is shown).
        if msg != self.last_error and self._dock_visible:
            show_error(msg)
        self.last_error = msg
        self.last_result = None
        self.commit_button.enabled = False

    def _start(self) -> None:
        job = self._snapshot()
        if job is None:
            return
        self._generation += 1
        generation = self._generation
        requested = self._requested
        if self._worker is not None:
            self._worker.quit()  # its result would be stale anyway
        self.status.value = "computing…"

        def work():
            yield  # a quit() before the job starts aborts it here
            return job.run()

        big = sum(getattr(a, "size", 0) for a in job.args) > _PROGRESS_PIXELS
        # ignore_errors: errors are handled by _failed below, not re-raised in Qt's loop.
        worker = thread_worker(
            work, progress={"total": 0, "desc": self.title} if big else False,
            ignore_errors=True,
        )()
        worker.returned.connect(lambda res: self._finished(res, generation, requested))
        worker.errored.connect(lambda err: self._failed(err, generation))
        self._worker = worker
        worker.start()

    def _finished(self, result: Result, generation: int, requested: int) -> None:
        if generation != self._generation or self._closed:
            return  # stale: a newer request is running or done
        self._worker = None
        if not self._job_inputs_alive(result.job):
            return
        result.generation = requested
        self.last_result = result
        self.last_error = None
        self.commit_button.enabled = True
        self.status.value = ""
        try:
            self.show_result(result)
        except (InputError, ValueError) as err:
            self._report_error(err)
            return
        if self._commit_note:  # the recomputation that follows a commit
            self.status.value = "; ".join(v for v in (self._commit_note, self.status.value) if v)
            self._commit_note = ""

    def _failed(self, err: Exception, generation: int) -> None:
        if generation != self._generation or self._closed:
            return
        self._worker = None
        if isinstance(err, (ValueError, TypeError)):
            self._report_error(err)
        else:  # a bug: log the traceback, show one line
            logger.exception("%s failed", self.title, exc_info=err)
            self._report_error(RuntimeError(f"{self.title} failed: {err!r}"))

    def source_array(self, layer: Layer, region: tuple = ()) -> np.ndarray:
        """A copy of ``layer.data[region]`` for a job, reused while the layer is unedited.

        Copying a 2048² label image takes longer than many operations on it, and
        a parameter change does not change the data. Edits of a source layer
        (paint, fill, undo, new data) make a new copy; jobs never modify it.
        """
        if layer not in self._source_layers:
            return image_array(layer, region)
        key = (region, self.source_edits, id(layer.data))
        hit = self._snapshots.get(id(layer))
        if hit is not None and hit[0] == key:
            return hit[1]
        array = image_array(layer, region)
        self._snapshots[id(layer)] = (key, array)
        return array

    def _snapshots_stale(self) -> bool:
        """True if a source layer changed without an event since its copy was made.

        Checked before a commit, so that a result computed from a copy never
        undoes changes that napari did not announce (e.g. ``layer.data[...] = v``).
        """
        stale = False
        for layer in self._source_layers:
            hit = self._snapshots.get(id(layer))
            if hit is None:
                continue
            region = hit[0][0]
            if id(layer.data) != hit[0][2] or not np.array_equal(layer.data[region], hit[1]):
                stale = True
        if stale:
            self._snapshots.clear()
        return stale

    def _job_inputs_alive(self, job: Job) -> bool:
        return job.source in self.viewer.layers

    def compute_now(self) -> Result | None:
        """Compute the current job synchronously (used by Commit when stale)."""
        self._timer.stop()
        job = self._snapshot()
        if job is None:
            return None
        self._generation += 1  # anything in flight is now stale
        try:
            result = job.run()
        except (ValueError, TypeError) as err:
            self._report_error(err)
            return None
        result.generation = self._requested
        self.last_result = result
        self.commit_button.enabled = True
        self.status.value = ""
        self.show_result(result)
        return result

    def is_current(self) -> bool:
        """True when the last result reflects the newest request."""
        return self.last_result is not None and self.last_result.generation == self._requested

    def _commit_clicked(self, *_args) -> None:
        self.run_commit()

    def run_commit(self) -> int:
        """Commit the current result (computing it first if stale). Return pixels changed."""
        fresh = self.is_current() and not self._snapshots_stale()
        result = self.last_result if fresh else self.compute_now()
        if result is None:
            if self.last_error is None:
                show_warning(f"{self.title}: nothing to commit yet.")
            return 0
        try:
            n = self.commit(result)
        except (InputError, ValueError) as err:
            self._report_error(err, drop_preview=False)
            return 0
        if n:
            record_step(result.job.step, source=result.job.source.name)
            note = f"committed: {n} pixel{'s' if n != 1 else ''} changed (Ctrl-Z undoes)"
        else:
            note = "nothing to commit: no pixel would change"
        show_info(f"{self.title}: {note}.")
        self.status.value = note
        self._commit_note = note  # kept in front of the next status line
        return n

    # ---- preview layer ---------------------------------------------------------------
    def preview_layer(self) -> Layer | None:
        """Return the preview layer if it exists."""
        for layer in self.viewer.layers:
            if layer.name == self.preview_name:
                return layer
        return None

    def update_preview(self, job: Job, data: np.ndarray, **layer_kwargs) -> Layer:
        """Show ``data`` (for ``job.region`` of ``job.source``) in the preview layer.

        The preview layer is created once and then updated in place: replacing
        ``layer.data`` or re-setting scale/translate makes napari redo far more work
        than copying the new values into the array it already displays.
        """
        source = job.source
        full_shape = source.data.shape[: source.ndim]  # ndim excludes an RGB channel axis
        ndim = len(full_shape)
        data = compact_labels(data) if self.preview_kind == "labels" else data
        kind = Labels if self.preview_kind == "labels" else Image
        layer = self.preview_layer()
        if layer is not None and not isinstance(layer, kind):
            self.viewer.layers.remove(layer)
            layer = None
        reusable = (layer is not None and layer.data.shape == full_shape
                    and layer.data.dtype == data.dtype and isinstance(layer.data, np.ndarray))
        if reusable:
            if job.region:
                # A slice of a stack: the preview has the source's full shape so it lines
                # up with the slider; only the current slice is filled.
                layer.data[...] = 0
                layer.data[job.region] = data
            else:
                np.copyto(layer.data, data)
            _set_if_changed(layer, "scale", source.scale[-ndim:])
            _set_if_changed(layer, "translate", source.translate[-ndim:])
            for key, value in layer_kwargs.items():
                if key != "colormap":  # colormaps compare poorly; set them when created
                    _set_if_changed(layer, key, value)
            layer.refresh()
            return layer
        full = np.zeros(full_shape, dtype=data.dtype)
        full[job.region] = data
        if layer is not None:
            self.viewer.layers.remove(layer)
        active = self.viewer.layers.selection.active
        layer = self.viewer.add_layer(
            kind(full, name=self.preview_name, scale=source.scale[-ndim:],
                 translate=source.translate[-ndim:], **layer_kwargs)
        )
        if self._hidden:  # a result that was on its way when the dock was hidden
            layer.visible = False
            self._hid_layers.append(layer)
        # Adding a layer selects it: give the selection back to the user's layer (never
        # to a hidden one, which the user would then paint into without seeing it).
        if active is not None and active in self.viewer.layers and not self._is_preview(active):
            self.viewer.layers.selection.active = active
        elif source.visible:
            self.viewer.layers.selection.active = source
        return layer

    def remove_preview(self) -> None:
        """Remove the preview layer if present."""
        layer = self.preview_layer()
        if layer is not None:
            self.viewer.layers.remove(layer)

    # ---- lifetime --------------------------------------------------------------------
    _closed = False

    def close_down(self, *_args) -> None:
        """Disconnect everything; called when the dock widget is destroyed."""
        if self._closed:
            return
        self._closed = True
        for timer in (self._timer, self._history_timer):
            try:
                timer.stop()
            except RuntimeError:  # Qt already deleted the timer (interpreter exit)
                pass
        if self._worker is not None:
            self._worker.quit()
            self._worker = None
        for emitter, callback in self._watched:
            try:
                emitter.disconnect(callback)
            except (TypeError, ValueError, RuntimeError):
                pass
        for layer in self._source_layers:
            for ev in _edit_events(layer):
                try:
                    ev.disconnect(self._source_edited)
                except (TypeError, ValueError, RuntimeError):
                    pass
        self._source_layers = []


#: The docks of this plugin's widgets, so that a new one opens as a tab beside them.
_OUR_DOCKS: weakref.WeakSet = weakref.WeakSet()


class _VisibilityFilter(QObject):
    """Find a LiveWidget's dock at its first show: tab it, and follow its visibility.

    A new dock opens as a tab beside the plugin's docks already open (one preview
    at a time instead of several stacked docks with overlapping previews; drag it
    out to see two). A tabbed-away QDockWidget stays "visible" for Qt (its widgets
    get no hide event); only the dock's ``visibilityChanged`` signal says so, and a
    widget with ``pause_when_hidden`` pauses then. The dock is created around the
    widget after ``__init__``, so it is found at the first show.
    """

    def __init__(self, widget: LiveWidget) -> None:
        super().__init__(widget.native)
        self._widget = widget
        self._dock = None

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Show and self._dock is None:
            parent = obj.parent()
            while parent is not None and not isinstance(parent, QDockWidget):
                parent = parent.parent()
            if parent is not None:
                self._dock = parent
                parent.visibilityChanged.connect(self._dock_visibility)
                QTimer.singleShot(0, self._tab_with_the_others)  # once it is laid out
        return False

    def _tab_with_the_others(self) -> None:
        dock = self._dock
        try:
            main = dock.parentWidget()
            floating = dock.isFloating()
        except RuntimeError:  # deleted meanwhile
            return
        if isinstance(main, QMainWindow) and not floating:
            area = main.dockWidgetArea(dock)
            for other in list(_OUR_DOCKS):
                try:
                    fits = (other is not dock and other.parentWidget() is main
                            and not other.isHidden() and not other.isFloating()
                            and main.dockWidgetArea(other) == area)
                except RuntimeError:  # the dock of a closed viewer
                    _OUR_DOCKS.discard(other)
                    continue
                if fits:
                    main.tabifyDockWidget(other, dock)
                    dock.raise_()
                    break
        _OUR_DOCKS.add(dock)

    def _dock_visibility(self, visible: bool) -> None:
        self._widget._dock_visible = visible
        if not self._widget.pause_when_hidden:
            return
        try:
            self._widget.set_hidden(not visible)
        except RuntimeError:  # Qt objects already deleted (closing)
            pass


def compact_labels(data: np.ndarray) -> np.ndarray:
    """Return label ``data`` in the smallest unsigned dtype that holds it, for display.

    napari draws uint8/uint16 labels straight from a texture, but maps wider dtypes
    pixel by pixel; the label values (and so the colours) are unchanged.
    """
    if data.dtype == bool:
        return data.view(np.uint8)
    if data.dtype.kind not in "iu" or data.dtype.itemsize == 1 or data.size == 0:
        return data
    lo, hi = int(data.min()), int(data.max())
    if lo < 0:
        return data
    for dtype in (np.uint8, np.uint16):
        if hi <= np.iinfo(dtype).max:
            return data.astype(dtype) if data.dtype != dtype else data
    return data


def _set_if_changed(layer: Layer, name: str, value) -> None:
    if not np.array_equal(getattr(layer, name), value):
        setattr(layer, name, value)


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


def _edit_events(layer) -> list:
    """The events that signal a change of a layer's data."""
    names = ("data", "paint", "set_data") if isinstance(layer, Labels) else ("data",)
    return [getattr(layer.events, n) for n in names if hasattr(layer.events, n)]


def layer_combo(viewer, kinds, *, label: str, tooltip: str, rgb: bool | None = None,
                nullable: bool = False, null_text: str = "(new layer)") -> ComboBox:
    """Return a ComboBox listing the user's layers of ``kinds`` (never preview layers).

    With ``nullable``, the first entry is None, shown as ``null_text``.
    """
    combo = ComboBox(label=label, tooltip=tooltip, nullable=nullable)
    combo.null_string = null_text  # magicgui shows "-----" otherwise
    combo.choices = layer_choices(viewer, kinds, rgb=rgb)
    return combo


def wrapping_label() -> Label:
    """A status Label that wraps long messages instead of widening the dock."""
    from qtpy.QtWidgets import QSizePolicy

    label = Label(value="")
    label.native.setWordWrap(True)
    # Without this a long message makes the dock (and the window) wider and
    # squeezes the canvas; the label takes the width the dock gives it.
    label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.native.setMinimumWidth(60)
    return label


def prefer_visible_layer(combo: ComboBox, viewer) -> None:
    """Start ``combo`` on the layer the user works on, not on a hidden one.

    The active layer if it is a choice, else the topmost visible choice; left
    alone when there is none (magicgui's default is the bottom layer, which in
    the samples is a hidden ground truth).
    """
    choices = [c for c in combo.choices if c is not None]
    active = viewer.layers.selection.active
    if active in choices:
        pick = active
    else:
        visible = [c for c in choices if c.visible]
        pick = visible[-1] if visible else None  # choices run bottom to top
    if pick is not None and combo.value is not pick:
        combo.value = pick


def new_labels_layer(viewer, like: Layer, name: str, dtype=np.int32) -> Labels:
    """Add an empty Labels layer aligned with ``like`` (same shape, scale, translate)."""
    shape = like.data.shape[: like.ndim]  # ndim excludes an RGB channel axis
    ndim = len(shape)
    layer = Labels(
        np.zeros(shape, dtype=dtype), name=name,
        scale=like.scale[-ndim:], translate=like.translate[-ndim:],
    )
    viewer.add_layer(layer)
    return layer
