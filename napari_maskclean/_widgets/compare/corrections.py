"""Corrections of the Compare dock: accept an error into the ground truth, or fix the prediction.

Each correction is one :func:`~napari_maskclean._widgets._live.write_labels`
call (the single undoable write path: one Ctrl-Z on the edited layer). The
values written come from :mod:`napari_maskclean.core.corrections`.

Not recorded in a recipe yet: per-viewer recipe recording
(``_widgets/_recording.py``) has not landed; when it does, ``_correct`` is
the one place to append the step.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import Container, PushButton
from napari.layers import Labels
from napari.utils.notifications import show_error, show_info

from ...core.corrections import adjacent_label, fix_values, most_common_label
from ...core.windows import component_region, full_box
from .._live import InputError, write_labels

__all__ = ["CorrectionsMixin"]

_ACCEPT_TIP = (
    "Make the ground truth agree with the prediction on the current error (one undo step "
    "on the ground-truth layer). FP (predicted, not in the truth): the pixels are ADDED "
    "to the truth (binary: with the truth label touching them, else its most common "
    "label; one class: that class). FN (in the truth, not predicted): the pixels are "
    "REMOVED from the truth (set to 0). Wrong class / multi-class: the truth takes the "
    "predicted classes."
)
_FIX_TIP = (
    "Make the prediction agree with the ground truth on the current error (one undo step "
    "on the prediction layer). FP: the pixels are REMOVED from the prediction (set to 0). "
    "FN: they are ADDED to the prediction (binary: with the predicted label touching "
    "them, else its most common label; one class: that class). Wrong class / "
    "multi-class: the prediction takes the true classes."
)


class CorrectionsMixin:
    """"Accept into ground truth" and "Remove from prediction" of :class:`CompareWidget`."""

    def _build_corrections(self) -> Container:
        """Create the two correction buttons; return their row."""
        self.accept_button = PushButton(text="Accept into ground truth")
        self.accept_button.tooltip = _ACCEPT_TIP
        self.fix_button = PushButton(text="Remove from prediction")
        self.fix_button.tooltip = _FIX_TIP
        self.accept_button.clicked.connect(self.accept_into_truth)
        self.fix_button.clicked.connect(self.fix_prediction)
        return Container(widgets=[self.accept_button, self.fix_button], layout="horizontal",
                         labels=False)

    def _show_error_buttons(self) -> None:
        comp = self._current
        on = comp is not None
        self.accept_button.enabled = self.fix_button.enabled = on
        kind = comp["kind"] if on else None
        self.accept_button.text = {"FP": "Accept into ground truth (add)",
                                   "FN": "Accept into ground truth (remove)",
                                   "wrong": "Accept class into ground truth"}.get(
                                       kind, "Accept into ground truth")
        self.fix_button.text = {"FP": "Remove from prediction",
                                "FN": "Add to prediction",
                                "wrong": "Fix predicted class"}.get(kind, "Remove from prediction")

    def accept_into_truth(self, *_args) -> int:
        """Make the ground truth agree with the prediction on the current error.

        Returns the number of pixels changed (one undo step on the ground-truth layer).
        """
        return self._correct("truth")

    def fix_prediction(self, *_args) -> int:
        """Make the prediction agree with the ground truth on the current error.

        Returns the number of pixels changed (one undo step on the prediction layer).
        """
        return self._correct("pred")

    def _correct(self, target: str) -> int:
        try:
            n, layer = self._write_correction(target)
        except (InputError, ValueError) as err:
            self.status.value = f"⚠ {err}"
            show_error(str(err))
            return 0
        comp = self._current
        self.flush_edits()
        self._error_index -= 1  # Next goes to the error that followed this one
        self._current = None
        self._show_error_buttons()
        what = "ground truth" if target == "truth" else "prediction"
        msg = (f"{comp['kind']} {comp['rank']}: {n} pixel{'s' if n != 1 else ''} changed in "
               f"the {what} {layer.name!r} (Ctrl-Z on that layer undoes)")
        self.error_label.value = msg + "; press Next error"
        show_info(f"Compare: {msg}.")
        return n

    def _write_correction(self, target: str) -> tuple[int, Labels]:
        comp, state, job = self._current, self._state, self._state_job
        if comp is None or state is None:
            raise InputError("no current error: press 'Next error' first.")
        self.flush_edits()
        if not self._state_matches():
            raise InputError("the compared layers changed since this error was shown; "
                             "press 'Next error' again.")
        layer = job.truth_layer if target == "truth" else job.source
        role = "ground truth" if target == "truth" else "prediction"
        if getattr(job, "categories", False):
            raise InputError(
                "the comparison is by COCO category (the layers hold instance numbers, "
                "compared as their categories): a correction cannot tell which instance to "
                "write. Edit the instances' layers directly (napari's brush and eraser), "
                "or compare as 'any foreground'.")
        if getattr(job, "instances", False):
            raise InputError(
                "the comparison holds overlapping instances (COCO depth layers or a stack "
                "of depths), compared on their union: a correction cannot tell which "
                "instance to change. Edit the instances' layers directly (napari's brush "
                "and eraser), or merge them in the Instances dock, then compare again.")
        if not isinstance(layer, Labels):
            raise InputError(
                f"the {role} {layer.name!r} is an Image layer thresholded on the fly and "
                "cannot be edited; make it a Labels layer first (e.g. Threshold → Commit) "
                "and choose that layer.")
        box, mask = state.error_mask(comp)
        if not mask.any():
            raise InputError("this error has already been resolved; press 'Next error'.")
        big, big_mask = component_region(box, mask, state.shape, margin=1)
        full = full_box(big, job.region)
        label = 1
        multiclass = state.multiclass
        adds = (comp["kind"] == "FP") == (target == "truth")
        if not multiclass and state.positive is None and adds and comp["kind"] != "wrong":
            window = np.asarray(layer.data[job.region])
            label = adjacent_label(np.asarray(layer.data[full]), big_mask,
                                   default=most_common_label(window))
        values = fix_values(comp["kind"], target, state.values("truth", big),
                            state.values("pred", big), big_mask, positive=state.positive,
                            multiclass=multiclass, truth_label=label, pred_label=label)
        n = write_labels(layer, values, region=full, where=big_mask, preserve_labels=False)
        return n, layer
