"""The optional noise-floor line of the Compare dock (issue 13).

A tab of the dock's tables (the dock is tall already), off by default (it costs
nothing until asked). Ticking "noise floor" shows a one-line meaning and the
:class:`~napari_maskclean._widgets.noise_floor_control.NoiseFloorControl`, and
computes, off the GUI thread, the metrics the compared ground truth gets
against noisy copies of itself at the chosen annotator noise level
(:func:`~napari_maskclean.core.noise_floor.noise_floor`): a column "noise
floor" beside the live values of the metrics table (same keys, mean ± spread
over the copies).

The floor belongs to the truth it was computed on: the truth layer, the
compared window (slice, crop), the class mode and class, the threshold of an
Image truth. When any of these changes, the column is removed at once (a stale
floor never sits next to new metrics) and computed again; results of an older
request are dropped. Edits of the truth keep the floor (a few pixels do not
move it; press "Compute noise floor" to refresh). Changing the noise level
recomputes it too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, Container
from qtpy.QtCore import QTimer

from ...core.instance_compare import union_mask
from ...core.review import as_compared
from .._live import InputError, wrapping_label
from ..noise_floor_control import NoiseFloorControl

__all__ = ["FLOOR_COLUMN", "FLOOR_MEANING", "NoiseFloorMixin"]

#: Name of the metrics-table column of the noise floor.
FLOOR_COLUMN = "noise floor"
#: The one line under the checkbox that says what the floor means.
FLOOR_MEANING = ("Noise floor: what careful annotators would score against each other at "
                 "this noise level.")
_HOW = ("Measured as the ground truth against noisy copies of itself (label-only elastic "
        "noise, mean ± standard deviation over the copies).")


class NoiseFloorMixin:
    """The "noise floor" checkbox, its control and the column it keeps current."""

    def _build_floor(self) -> Container:
        """Create the checkbox, the meaning line and the (hidden) control; return the box."""
        self.floor_on = CheckBox(
            text="noise floor", value=False,
            tooltip="Also show the metrics the ground truth gets against noisy copies of "
                    "itself (label-only elastic noise at an annotator noise level): a "
                    "prediction scoring near this floor is as good as a second annotation.")
        self.floor_meaning = wrapping_label()
        self.floor_meaning.value = FLOOR_MEANING
        self.floor_meaning.tooltip = _HOW
        self.floor_control = NoiseFloorControl(truth_getter=self._floor_truth)
        self.floor_control.computed.connect(self._floor_computed)
        self._floor_key: tuple | None = None  # the truth the shown floor belongs to
        self._floor_asked: tuple | None = None  # the truth of the newest computation
        self._floor_timer = QTimer()
        self._floor_timer.setSingleShot(True)
        self._floor_timer.setInterval(150)  # one start for a burst of setting changes
        self._floor_timer.timeout.connect(self._start_floor)
        self.floor_on.changed.connect(self._floor_toggled)
        c = self.floor_control
        for w in (c.alpha, c.sigma, c.repeats, c.seed):
            w.changed.connect(self._floor_settings_changed)
        box = Container(widgets=[self.floor_on, self.floor_meaning, self.floor_control],
                        labels=False)
        box.native.layout().addStretch(1)
        for container in (box, self.floor_control):  # the tab is as tall as the metrics
            container.native.layout().setContentsMargins(0, 0, 0, 0)
            container.native.layout().setSpacing(2)
        self.floor_meaning.visible = self.floor_control.visible = False
        return box

    # ---- what the floor is computed on -----------------------------------------------
    def _floor_signature(self) -> tuple | None:
        """Identity of the compared truth (None when nothing is compared)."""
        job, state = self._state_job, self._state
        if job is None or state is None:
            return None
        return (id(job.truth_layer), id(job.truth_layer.data), repr(job.region),
                tuple(job.common), state.positive, state.multiclass,
                job.params.get("truth_method"), getattr(job, "instances", False))

    def _floor_truth(self) -> tuple[np.ndarray, dict[str, Any]]:
        """The truth as compared, and the options of ``noise_floor`` for the class mode."""
        job, state = self._state_job, self._state
        if job is None or state is None:
            raise InputError("nothing compared yet: choose a prediction and a ground truth "
                             "first.")
        truth = job.args[0]
        if getattr(job, "categories", False):  # the truth's categories, as compared
            truth = state.values("truth", tuple(slice(None) for _ in state.shape))
            options = {"positive": None, "per_class": state.multiclass}
        elif getattr(job, "instances", False):
            truth = union_mask(truth) if truth.ndim == 3 else as_compared(
                truth, method=job.params.get("truth_method"))
            options = {"positive": None, "per_class": False}
        else:
            truth = as_compared(truth, method=job.params.get("truth_method"),
                                positive=state.positive)
            options = {"positive": state.positive, "per_class": state.multiclass}
        self._floor_asked = self._floor_signature()
        return truth, options

    # ---- keeping the column current ----------------------------------------------------
    def _floor_toggled(self, on: bool) -> None:
        self.floor_meaning.visible = self.floor_control.visible = bool(on)
        if on:
            self._floor_timer.start()
        else:
            self._floor_timer.stop()
            self._drop_floor()

    def _floor_settings_changed(self, *_args) -> None:
        if self.floor_on.value:
            self._drop_floor()  # computed at another noise level
            self._floor_timer.start()

    def _start_floor(self) -> None:
        if not self.floor_on.value or self._closed:
            return
        try:
            truth, options = self._floor_truth()
        except (InputError, ValueError) as err:
            self.floor_control.note.value = f"⚠ {err}"
            return
        self.floor_control.start(truth, **options)

    def _floor_computed(self, result: dict[str, Any]) -> None:
        key = self._floor_asked
        if self._closed or key is None or not self.floor_on.value:
            return  # closed or switched off
        if key != self._floor_signature():
            return  # computed on a truth no longer compared
        self.add_reference_row(FLOOR_COLUMN, result)
        self._floor_key = key
        if self._state is not None and self._state.multiclass:
            self._update_multiclass()  # the class means of the floor
        c = self.floor_control
        self.metrics_table.set_reference_tooltip(
            FLOOR_COLUMN,
            f"{FLOOR_MEANING} {_HOW} Level: {c.level.value} (alpha {result['alpha']:g}, sigma "
            f"{result['sigma']:g}), {result['repeats']} copies, seed "
            f"{result['random_state']}.")

    def _drop_floor(self) -> None:
        if self._floor_key is not None:
            self.remove_reference_row(FLOOR_COLUMN)
            self._floor_key = None
            if self._state is not None and self._state.multiclass:
                self._update_multiclass()

    def floor_report(self) -> dict[str, Any] | None:
        """The floor shown, for a saved report: its means, spreads and settings."""
        floor = self.floor_shown
        if floor is None:
            return None
        out = {k: v for k, v in floor.items() if k not in ("per_class", "per_class_std")}
        out["level"] = self.floor_control.level.value
        return out

    def _check_floor(self) -> None:
        """After a new comparison (or none): drop a floor of another truth, recompute it."""
        current = self._floor_signature()
        if self._floor_key is not None and self._floor_key != current:
            self._drop_floor()
        if (self.floor_on.value and current is not None and self._floor_key is None
                and (self._floor_asked != current or not self.floor_control.busy)):
            self._floor_timer.start()

    @property
    def floor_shown(self) -> dict[str, Any] | None:
        """The noise floor in the metrics table (None when none is shown)."""
        if self._floor_key is None:
            return None
        return self.metrics_table.references().get(FLOOR_COLUMN)

    def _stop_floor(self) -> None:
        try:
            self._floor_timer.stop()
        except RuntimeError:  # Qt already deleted it
            pass
        self._floor_asked = None  # a result still on its way is dropped
        worker = getattr(self.floor_control, "_worker", None)
        if worker is not None:
            worker.quit()
