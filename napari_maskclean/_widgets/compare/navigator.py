"""Error navigation of the Compare dock: Next/Previous error, objects, the camera.

The components come from the model
(:meth:`~napari_maskclean.core.review.LiveComparison.errors`); this module
picks which one to show and moves napari's camera and sliders to it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from magicgui.widgets import Container, PushButton, SpinBox
from napari.utils.notifications import show_error

from ...core.windows import Key
from .._live import wrapping_label

__all__ = ["DEFAULT_MIN_ERROR_SIZE", "NavigatorMixin", "fit_zoom", "full_point"]

#: Default "min error size": on the coins sample 255 of the 455 error components are
#: 1-4 px and 370 are under 10 px (edge specks where the masks differ by one pixel);
#: 10 leaves the 85 components that are real disagreements.
DEFAULT_MIN_ERROR_SIZE = 10


def fit_zoom(
    box_shape: Sequence[int],
    scale: Sequence[float],
    canvas_size: Sequence[int],
    *,
    fill: float = 0.4,
    min_extent: float = 48.0,
) -> float:
    """Camera zoom (screen pixels per world unit) that shows a box at a glance.

    Parameters
    ----------
    box_shape : sequence of int
        Size of the box in pixels along the displayed axes.
    scale : sequence of float
        The layer's scale along the same axes (world units per pixel).
    canvas_size : sequence of int
        Canvas size in screen pixels.
    fill : float, default 0.4
        Fraction of the canvas the box (at least ``min_extent`` pixels) fills.
    min_extent : float, default 48
        Smallest extent, in pixels, zoomed to (a 1-pixel error is not blown up).

    Examples
    --------
    >>> fit_zoom((100, 50), (1.0, 1.0), (800, 600))
    2.4
    >>> fit_zoom((100, 50), (2.0, 2.0), (800, 600))
    1.2
    """
    sc = [abs(float(s)) for s in scale]
    size = max(max(float(n), float(min_extent)) * s for n, s in zip(box_shape, sc))
    return float(fill * min(float(c) for c in canvas_size) / size)


def full_point(point: Sequence[float], key: Key) -> tuple[float, ...]:
    """Map a point of the compared window to a layer's full-array coordinates.

    Examples
    --------
    >>> full_point((1.5, 2.0), (3, slice(0, 10), slice(0, 10)))
    (3.0, 1.5, 2.0)
    """
    it = iter(point)
    out = []
    for k in key:
        if isinstance(k, slice):
            out.append(float(k.start or 0) + float(next(it)))
        else:
            out.append(float(k))
    return tuple(out)


class NavigatorMixin:
    """Next/Previous error and "go to object" of :class:`CompareWidget`."""

    def _build_navigation(self) -> list:
        """Create the navigation controls; return the rows to lay out."""
        self._error_index = -1
        self._current: dict | None = None  # the error shown (with its pixel mask)
        self.min_size = SpinBox(
            label="min error size", value=DEFAULT_MIN_ERROR_SIZE, min=1, max=10**9,
            tooltip="Error components smaller than this many pixels are skipped by "
                    "Next/Previous error (the count of hidden ones is shown). The "
                    "default hides the 1-9 px specks along object edges where two "
                    "masks disagree by a pixel; set 1 to visit every error.")
        self.prev_button = PushButton(text="◀ Previous error")
        self.prev_button.tooltip = "Go to the previous FP/FN component (biggest first)."
        self.next_button = PushButton(text="Next error ▶")
        self.next_button.tooltip = ("Go to the next FP/FN (and wrong-class) connected "
                                    "component, biggest first; the view centres on it.")
        self.error_label = wrapping_label()
        self.error_label.tooltip = "The current error: kind, rank/number of errors, size."
        self.prev_button.clicked.connect(self.previous_error)
        self.next_button.clicked.connect(self.next_error)
        self.min_size.changed.connect(self._reset_errors)
        return [Container(widgets=[self.min_size], labels=True),
                Container(widgets=[self.prev_button, self.next_button], layout="horizontal",
                          labels=False),
                self.error_label]

    def _centre_on(self, local_point, box_shape=None) -> None:
        """Centre the camera on a point of the compared window (and zoom to a box)."""
        job = self._state_job
        layer = job.source
        data_point = full_point(local_point, job.region)
        extra = layer.ndim - len(data_point)
        if extra > 0:  # a 2D window of a stack of instance depths: keep the current depth
            now = np.asarray(layer.world_to_data(self.viewer.dims.point[-layer.ndim:]))
            data_point = tuple(float(round(v)) for v in now[:extra]) + data_point
        world = np.asarray(layer.data_to_world(data_point), dtype=float)
        offset = self.viewer.dims.ndim - layer.ndim
        displayed = [d - offset for d in self.viewer.dims.displayed if d >= offset]
        for axis in range(layer.ndim):
            if axis not in displayed:
                self.viewer.dims.set_point(axis + offset, world[axis])
        self.viewer.scene.camera.center = tuple(world[d] for d in displayed)
        if box_shape is not None and displayed:
            spatial = [i + max(extra, 0) for i, k in enumerate(job.region)
                       if isinstance(k, slice)]
            shown = [d for d in displayed if d in spatial]
            if shown:
                self.viewer.scene.camera.zoom = fit_zoom(
                    [box_shape[spatial.index(d)] for d in shown],
                    [layer.scale[d] for d in shown], self.viewer.canvas.size)

    def go_to_object(self, row: int, _column: int = 0) -> None:
        """Centre the view on the object of a row of the objects table."""
        if not 0 <= row < len(self._object_rows) or self._state_job is None:
            return
        centre = self._object_rows[row][4]
        if centre is not None:
            self._centre_on(centre)

    def _reset_errors(self, *_args) -> None:
        self._error_index = -1
        self._current = None
        if self._state is not None:
            comps, _, hidden = self.shown_errors()
            self.error_label.value = (f"{len(comps):,} error component"
                                      f"{'s' if len(comps) != 1 else ''}"
                                      f"{self._hidden_note(hidden)}: press Next error")
        self._show_error_buttons()

    def shown_errors(self) -> tuple[list[dict], np.ndarray, int]:
        """The error components Next/Previous visit, their label image, how many are hidden.

        All components are found once (``min_size=1``); the size filter is applied
        here, so changing "min error size" needs no recomputation.
        """
        comps, lab = self._state.errors(min_size=1)
        min_size = int(self.min_size.value)
        shown = [c for c in comps if c["size"] >= min_size]
        return shown, lab, len(comps) - len(shown)

    def _hidden_note(self, hidden: int) -> str:
        if not hidden:
            return ""
        return f" ({hidden:,} smaller than {int(self.min_size.value)} px hidden)"

    def next_error(self, *_args) -> dict | None:
        """Go to the next error component (biggest first); return it."""
        return self._step_error(+1)

    def previous_error(self, *_args) -> dict | None:
        """Go to the previous error component; return it."""
        return self._step_error(-1)

    def _step_error(self, step: int) -> dict | None:
        if self._state is not None and not (self._state_matches() and self.is_current()):
            # layers switched or the slice moved since the last comparison: catch up
            # first, or the camera would jump to an error of the old comparison.
            self.compute_now()
        state = self._state
        if state is None:
            show_error("Compare: nothing compared yet; choose a prediction and a ground truth.")
            return None
        self.flush_edits()
        comps, lab, hidden = self.shown_errors()
        if not comps:
            self._current = None
            self.error_label.value = ("no errors: prediction and ground truth agree"
                                      if not hidden else
                                      f"no errors{self._hidden_note(hidden)}")
            self._show_error_buttons()
            return None
        if self._error_index < 0 and step < 0:
            self._error_index = len(comps) - 1
        else:
            self._error_index = (self._error_index + step) % len(comps)
        comp = dict(comps[self._error_index])
        box = tuple(slice(a, b) for a, b in comp["bbox"])
        comp["mask"] = lab[box] == comp["label"]
        comp["rank"], comp["total"] = self._error_index + 1, len(comps)
        self._current = comp
        self._show_current_error()
        self._centre_on(comp["centroid"], [b - a for a, b in comp["bbox"]])
        return comp

    def _show_current_error(self) -> None:
        comp = self._current
        _box, mask = self._state.error_mask(comp)
        left = int(np.count_nonzero(mask))
        kind = "wrong class" if comp["kind"] == "wrong" else comp["kind"]
        text = f"{kind} {comp['rank']}/{comp['total']}, {comp['size']:,} px"
        if left != comp["size"]:
            text += f" ({left:,} still wrong)"
        self.error_label.value = text
        self._show_error_buttons()
