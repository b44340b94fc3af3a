"""The live engine of the dock widgets: debounce, worker thread, newest wins, preview.

Every dock widget of the plugin is a :class:`LiveWidget`. A subclass only says

* which layers and parameters it has (magicgui widgets added to the container),
* how to turn the current GUI state into a :class:`Job` (:meth:`LiveWidget.make_job`,
  run on the GUI thread: it snapshots the inputs and names one core function),
* what Commit does with the last result (usually a call to
  :func:`~napari_maskclean._widgets._write.write_labels`, the single write path), and
* what a replay needs to redo that commit (:meth:`LiveWidget.recipe_step`, a
  :class:`~napari_maskclean.recipe.Step`; the base class records it in the viewer's
  recipe after every commit that changed pixels).

(About 550 lines, one concern: the request -> worker -> result -> preview ->
commit cycle every dock shares; the preview layer, writing, history and docking
already live in their own modules.)

The base class does the rest: it debounces parameter changes, runs the job off the GUI
thread, drops stale results (newest request wins), shows the result in a preview layer
that the plugin owns, follows edits of the source layer (:mod:`._history`) and slider
moves, reports bad input with napari notifications and cleans up when the dock widget
is closed. Dock tabbing lives in :mod:`._docking`.

Why one module of ~560 lines: :class:`LiveWidget` is one state machine
(debounce, worker, newest result wins, preview, pause when hidden, close);
its neighbours are already split out (:mod:`._layers`, :mod:`._history`,
:mod:`._docking`, :mod:`._write`, :mod:`._preview`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import Container, PushButton
from napari.layers import Labels, Layer, Points
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QElapsedTimer, QTimer

from ._docking import _VisibilityFilter
from ._errors import InputError
from ._history import POLL_MS, SourceWatcher
from ._layers import PREVIEW_PREFIX, SEEDS_PREFIX, image_array, is_owned, wrapping_label
from ._preview import PreviewLayer
from ._recording import recorder_for

if TYPE_CHECKING:
    from ..recipe import Step

logger = logging.getLogger(__name__)

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
        Keyword parameters for ``func``: plain JSON-able values (validated by the op's
        spec); a widget's :meth:`LiveWidget.recipe_step` records them.
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



def _is_empty(layer: Layer) -> bool | None:
    """Whether a Labels layer is all 0 or a Points layer has no point (None: other kinds)."""
    if isinstance(layer, Points):
        return len(layer.data) == 0
    if not isinstance(layer, Labels) or not isinstance(layer.data, np.ndarray):
        return None
    data = layer.data
    if data.flags.c_contiguous and data.nbytes % 8 == 0 and data.size:
        data = data.reshape(-1).view(np.uint64)  # 8 bytes at a time: 2048² in ~0.3 ms
    return not data.any()


class LiveWidget(PreviewLayer, SourceWatcher, Container):
    """Base class of the plugin's dock widgets (see the module docstring).

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer this widget is docked in.
    title : str
        Used for the preview layer's name and for progress bars.
    debounce_ms : int
        Quiet time after the last change before a recomputation starts, during a burst
        of changes (a lone change starts at once: :meth:`_schedule`).
    """

    preview_kind: str = "labels"  # or "image"
    #: Pause and hide the preview while the dock is hidden (a background tab, closed):
    #: five docked widgets would otherwise all recompute and overlap their previews.
    pause_when_hidden: bool = True
    #: Start a lone change at once (see :meth:`_schedule`); False: always debounce.
    start_idle_at_once: bool = True

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
        #: Owned layers hidden because they were empty (shown again when they are not).
        self._emptied: list[Layer] = []
        self._watched: list[tuple[Any, Callable]] = []
        self._source_layers: list[Layer] = []
        self._history: dict[int, tuple[int, int] | None] = {}
        #: The last copy of each source layer's data: id(layer) -> (key, array).
        self._snapshots: dict[int, tuple[tuple, np.ndarray]] = {}
        self._debounce_ms = debounce_ms
        self._timer = QTimer()
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._start)
        #: Time since the last job started (invalid: none yet); see :meth:`_schedule`.
        self._since_start = QElapsedTimer()
        # napari's undo/redo on a hidden layer emits no event at all: look at the
        # undo history of the source layers now and then (cheap: two lengths).
        self._history_timer = QTimer()
        self._history_timer.setInterval(POLL_MS)
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

    def recipe_step(self, result: Result) -> Step | None:
        """Return the :class:`~napari_maskclean.recipe.Step` that replays the last commit.

        Called right after :meth:`commit` wrote ``result`` (and changed pixels), so
        that everything is as effective at commit time: the input layers by role
        (layer names), the target (and whether the commit created it), the label
        value, ``preserve_labels``, the scope with ``slice_world``, the source's
        scale/translate, the channel of an RGB image, a colour mask's palette, seeds
        in world coordinates. The base class appends it to the viewer's recipe
        (:func:`~napari_maskclean._widgets._recording.recorder_for`). None: the
        widget records nothing (e.g. a dock that only measures).
        """
        return None

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
        return is_owned(layer)

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
            self._schedule()

    def _schedule(self) -> None:
        """Start the job at the next turn of the event loop if idle, else debounce.

        A single change (a spin box step, a click) starts at once: waiting the full
        debounce was 40 of Threshold's 90 ms. While a job runs or one started less
        than the debounce ago (a slider dragged, a key held down), wait for a quiet
        moment as before; the newest request still wins. The 0 ms timer lets the
        changes made in one go (several parameters set by code) make one job.
        """
        busy = self._worker is not None
        recent = (self._since_start.isValid()
                  and self._since_start.elapsed() < self._debounce_ms)
        if (busy or recent or not self.start_idle_at_once
                or (self._timer.isActive() and self._timer.interval() > 0)):
            self._timer.start(self._debounce_ms)
        else:
            self._timer.start(0)

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
            self.hide_empty_layers()
        if hidden:
            self._timer.stop()
        elif self._live and not self.is_current():
            self._schedule()

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
        self._since_start.start()
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
        self.hide_empty_layers()
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
        self.hide_empty_layers()
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
            self._record(result)
            note = f"committed: {n} pixel{'s' if n != 1 else ''} changed (Ctrl-Z undoes)"
        else:
            note = "nothing to commit: no pixel would change"
        show_info(f"{self.title}: {note}.")
        self.status.value = note
        self._commit_note = note  # kept in front of the next status line
        self.hide_empty_layers()  # e.g. the seeds a commit used
        return n

    def hide_empty_layers(self) -> None:
        """Hide the owned Labels/Points layers while they are empty; show them again after.

        An empty ``[preview]`` or ``[seeds]`` layer (after a commit, nothing to change)
        only clutters the layer list. Hidden, not removed: removing layers while docks
        open once crashed napari's software OpenGL here, and a preview is reused. Only
        layers hidden here are shown again: a preview the user hid stays hidden.
        """
        if self._closed:
            return
        layers = self.owned_layers()
        self._emptied = [lay for lay in self._emptied if lay in layers]
        for layer in layers:
            empty = _is_empty(layer)
            if empty is None:
                continue
            if empty and layer.visible and not self._hidden:
                layer.visible = False
                self._emptied.append(layer)
            elif not empty and layer in self._emptied:
                self._emptied.remove(layer)
                if self._hidden:  # shown with the dock
                    self._hid_layers.append(layer)
                else:
                    layer.visible = True

    def _record(self, result: Result) -> None:
        """Append the recipe step of a commit to this viewer's recipe (never fails a commit)."""
        try:
            step = self.recipe_step(result)
            if step is not None:
                recorder_for(self.viewer).append(step)
        except Exception:  # noqa: BLE001 - the pixels are written; the log must not undo that
            logger.exception("%s: could not record the recipe step", self.title)
            show_warning(f"{self.title}: the commit is done but could not be recorded in "
                         "the recipe (see the log); please report this.")

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
        self._unwatch_sources()
