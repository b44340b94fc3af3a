"""Compare with ground truth: the dock (inputs, layout, the full comparison, export).

The prediction and the ground truth are Labels layers, or Image layers thresholded on
the fly. The widget keeps a :class:`~napari_maskclean.core.review.LiveComparison`
(napari-free) of the compared window (the whole array or the current 2D slice of a
stack, cropped to the overlapping region if asked). A full comparison runs on the
LiveWidget worker (layer or parameter changes, slider moves in "current slice" scope,
``layer.data = ...``); everything else lives in one module per concern:

* ``overlay.py`` -- colours, legend and the overlay layer (``PREVIEW_PREFIX``);
* ``tables.py`` -- metrics (plus reference lines), confusion matrix, objects;
* ``edits.py`` -- edits of either layer re-counted box by box (napari history);
* ``navigator.py`` -- Next/Previous error, go to object, the camera;
* ``corrections.py`` -- "Accept into ground truth" / "Remove from prediction", each one
  :func:`~napari_maskclean._widgets._live.write_labels` call (one Ctrl-Z);
* ``floor.py`` -- the optional "noise floor" column (issue 13);
* ``instances.py`` -- COCO images and stacks of overlapping instances (issue 12).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, PushButton, SpinBox
from napari.layers import Image, Labels
from napari.utils.notifications import show_error, show_info
from qtpy.QtWidgets import QFileDialog

from ...core.review import TN, WRONG, check_finite, compare, empty_note, rematch
from ...core.threshold import THRESHOLD_METHODS
from ...core.windows import common_shape
from ...io import write_report, write_rgb_mask
from .._live import (
    PREVIEW_PREFIX,
    InputError,
    Job,
    LiveWidget,
    Result,
    current_region,
    history_signature,
    image_array,
    layer_combo,
    wrapping_label,
)
from .._scope import SCOPES, ScopeMixin, spatial_ndim
from .corrections import CorrectionsMixin
from .edits import LiveEditsMixin
from .floor import NoiseFloorMixin
from .instances import INSTANCE_MODE_NOTE, InstanceInputsMixin, coco_meta
from .navigator import DEFAULT_MIN_ERROR_SIZE, NavigatorMixin
from .overlay import OverlayMixin, overlay_palette
from .tables import TablesMixin

if TYPE_CHECKING:
    import napari

__all__ = ["DEFAULT_MIN_ERROR_SIZE", "MODES", "CompareWidget"]

#: Comparison modes (dropdown order).
MODES = ("any foreground", "one class", "multi-class")
_METHODS = tuple(m for m in THRESHOLD_METHODS if m != "manual")
_TRUTH_WORDS = ("truth", "gt", "ground", "reference", "manual")
_PRED_WORDS = ("pred", "annotation", "seg", "mask", "output")


class CompareWidget(OverlayMixin, TablesMixin, NavigatorMixin, CorrectionsMixin,
                    NoiseFloorMixin, InstanceInputsMixin, LiveEditsMixin, ScopeMixin,
                    LiveWidget):
    """Compare a prediction with its ground truth, live, and fix the errors one by one."""

    # The overlay stays useful while another tool's tab is in front (editing the masks).
    pause_when_hidden = False

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Compare with ground truth", debounce_ms=40)
        self.preview_name = f"{PREVIEW_PREFIX}TP/FP/FN overlay"
        self._state = None  # LiveComparison of the last full result (+ edits since)
        self.class_names: dict[int, str] = {}  # COCO category names, by id
        self._state_job: Job | None = None
        self._last_note: str | None = None
        self._init_edits()
        self._build_inputs(viewer)
        self.legend = self._build_legend()
        self.caption = wrapping_label()
        self.caption.tooltip = "What the metrics below count as foreground."
        self.tabs = self._build_tables()
        self.tabs.addTab(self._build_floor().native, "noise floor")  # tab 3
        rows = [*self._build_navigation(), self._build_corrections(), self._build_export()]
        for row in rows[:2] + rows[3:]:  # the button rows sit flush
            row.native.layout().setContentsMargins(0, 0, 0, 0)
        for qt_widget in (self.legend, self.caption.native, self.tabs,
                          *(row.native for row in rows), self.status.native):
            self.native.layout().addWidget(qt_widget)
        self._wire_controls()
        self.request()

    def _build_inputs(self, viewer: napari.viewer.Viewer) -> None:
        kinds = (Labels, Image)
        self.prediction = layer_combo(
            viewer, kinds, label="prediction",
            tooltip="The segmentation to check: a Labels layer, or an Image layer (e.g. a "
                    "probability map) thresholded on the fly.")
        self.truth = layer_combo(
            viewer, kinds, label="ground truth",
            tooltip="The reference segmentation: a Labels layer, or an Image layer "
                    "thresholded on the fly. RGB colour masks must be converted to labels "
                    "first.")
        self.method = ComboBox(
            label="threshold", choices=_METHODS, value="otsu",
            tooltip="How Image layers are turned into masks (scikit-image's methods; Otsu "
                    "by default). Labels layers are used as they are.")
        self.mode = ComboBox(
            label="compare", choices=MODES, value=MODES[0],
            tooltip="any foreground: every non-zero label is foreground (binary). one "
                    "class: only the chosen label value is foreground. multi-class: a "
                    "confusion matrix of all label values, per-class IoU/Dice, and a "
                    "'wrong class' colour in the overlay. A COCO layer's labels number "
                    "instances: in the class modes they are compared by COCO category "
                    "(category_id; a plain Labels layer on the other side is a class map "
                    "whose values are category ids), and matched objects must share "
                    "their category; a label painted by hand takes the file's first "
                    "category, as Save writes it.")
        self.class_value = SpinBox(
            label="class", value=1, min=1, max=2**31 - 1,
            tooltip="One-class mode: the label value compared (one class against the rest); "
                    "for a COCO layer, the category_id.")
        self.add_scope_widgets()
        self.scope.choices = SCOPES[:2]
        self.scope.tooltip = ("Stacks/volumes: compare the current 2D slice (follows the "
                              "slider) or the whole volume at once.")
        self.crop = CheckBox(
            text="compare overlapping region", value=False,
            tooltip="When the two layers have different shapes, compare only the region they "
                    "share (from the first pixel of each axis). Off: different shapes are "
                    "an error.")
        self.match = CheckBox(
            text="match objects", value=False,
            tooltip="Also match objects one-to-one by IoU and list matched and unmatched "
                    "ones (click a row to go there). Masks with a single foreground value "
                    "are split into connected components; the labels of a COCO image, and "
                    "overlapping instances (COCO depth layers, instance depths), are "
                    "matched instance by instance (exact IoU of their masks).")
        self.iou = FloatSpinBox(
            label="match IoU ≥", value=0.5, min=0.0, max=1.0, step=0.05,
            tooltip="Objects overlapping at least this much (intersection over union) can "
                    "be matched.")
        self.show_tn = CheckBox(
            text="show true negatives", value=False,
            tooltip="Also colour the true-negative (background in both) pixels grey; off: "
                    "they are transparent so the image shows through.")

        self._build_instance_inputs()
        self.extend([self.prediction, self.truth, self.method, self.mode, self.class_value,
                     self.scope, self.stack_depths, self.crop, self.match, self.iou,
                     self.show_tn])

    def _build_export(self) -> Container:
        self.save_metrics_button = PushButton(text="Save metrics…")
        self.save_metrics_button.tooltip = ("Save the current scores (and confusion matrix, "
                                            "objects) as CSV or JSON.")
        self.save_overlay_button = PushButton(text="Save overlay PNG…")
        self.save_overlay_button.tooltip = ("Save the overlay of the current 2D slice as an "
                                            "RGB PNG in the legend colours (TN black unless "
                                            "shown).")
        self.save_metrics_button.clicked.connect(self._save_metrics_clicked)
        self.save_overlay_button.clicked.connect(self._save_overlay_clicked)
        return Container(widgets=[self.save_metrics_button, self.save_overlay_button],
                         layout="horizontal", labels=False)

    def _wire_controls(self) -> None:
        self.watch_parameters([self.prediction, self.truth, self.method, self.mode,
                               self.class_value, self.scope, self.stack_depths, self.crop,
                               self.match, self.iou])
        for w in (self.prediction, self.truth, self.mode, self.match, self.stack_depths):
            w.changed.connect(self._update_visibility)
        for w in (self.prediction, self.truth, self.stack_depths):
            w.changed.connect(self._rewatch_sources)
        self.show_tn.changed.connect(self._colours_changed)
        self.reset_choices()
        self._guess_layers()
        self._rewatch_sources()
        self._update_visibility()
        self._show_error_buttons()

    # ---- GUI state ---------------------------------------------------------------------
    def _guess_layers(self) -> None:
        """Pick a truth-looking and a prediction-looking layer at start."""
        choices = [c for c in self.truth.choices if c is not None]
        if len(choices) < 2:
            return
        labels = [c for c in choices if isinstance(c, Labels)] or choices

        def named(words, pool):
            for c in pool:
                if any(w in c.name.lower() for w in words):
                    return c
            return None

        truth = named(_TRUTH_WORDS, labels) or labels[min(1, len(labels) - 1)]
        rest = [c for c in labels if c is not truth] or [c for c in choices if c is not truth]
        pred = named(_PRED_WORDS, rest) or rest[0]
        with self.truth.changed.blocked(), self.prediction.changed.blocked():
            self.truth.value = truth
            self.prediction.value = pred

    def _layers_changed(self, event=None) -> None:
        if getattr(event, "value", None) is not None and self._is_preview(event.value):
            return
        same = self.prediction.value is None or self.prediction.value is self.truth.value
        super()._layers_changed(event)
        if same:
            self._guess_layers()
            self._rewatch_sources()
        self._update_visibility()

    def _update_visibility(self, *_args) -> None:
        pred, truth = self.prediction.value, self.truth.value
        self.method.visible = isinstance(pred, Image) or isinstance(truth, Image)
        self.class_value.visible = self.mode.value == MODES[1]
        self.iou.visible = bool(self.match.value)
        self.tabs.setTabVisible(1, self.mode.value == MODES[2])
        self.tabs.setTabVisible(2, bool(self.match.value))
        self._legend_labels[WRONG].setVisible(self.mode.value == MODES[2])
        self._legend_labels[TN].setVisible(bool(self.show_tn.value))
        self.update_scope_visibility(pred)
        stacks = [lay for lay in (pred, truth) if isinstance(lay, Labels) and lay.ndim == 3]
        self.stack_depths.visible = bool(stacks)
        if self.instance_mode():  # instances are 2D: no slice to choose
            self.scope.visible = False

    # ---- LiveWidget API ----------------------------------------------------------------
    def source_layers(self):
        """Edits of either layer (or of any depth layer of its instances) update it."""
        return self._instance_sources()

    def _source_edited(self, event=None) -> None:
        """Edits of overlapping instances are re-counted in full (no single label image)."""
        layer = getattr(event, "source", None)
        if self.is_instance_layer(layer) or getattr(self._state_job, "instances", False):
            LiveWidget._source_edited(self, event)
            return
        super()._source_edited(event)

    def follows_slice(self) -> bool:
        """Slider moves matter only when comparing the current slice of a stack."""
        pred = self.prediction.value
        return (pred is not None and spatial_ndim(pred) > 2 and self.scope.value == SCOPES[0]
                and not self.instance_mode())

    def _job_inputs_alive(self, job: Job) -> bool:
        truth = getattr(job, "truth_layer", None)
        return job.source in self.viewer.layers and truth in self.viewer.layers

    def _names(self) -> tuple[str, str]:
        return (f"prediction {self.prediction.value.name!r}",
                f"ground truth {self.truth.value.name!r}")

    def make_job(self) -> Job | None:
        """Snapshot both layers (the compared window) and the options."""
        pred, truth = self.prediction.value, self.truth.value
        if pred is None or truth is None:
            self.status.value = "choose a prediction and a ground-truth layer"
            self._clear_results()
            return None
        names = self._names()
        for name, layer in zip(names, (pred, truth)):
            if isinstance(layer, Image) and layer.rgb:
                raise InputError(
                    f"{name} is an RGB image. Colour-coded masks must be converted to "
                    "labels first: open the file with maskclean's RGB-mask reader, or use "
                    "napari_maskclean.io.read_rgb_mask / core.colors.rgb_to_labels with a "
                    "palette, then choose the resulting Labels layer.")
        if self.instance_layers(pred) is not None or self.instance_layers(truth) is not None:
            self._pending = []
            return self._instance_job(pred, truth, names, MODES)
        if self.mode.value != MODES[0] and any(coco_meta(lay) is not None
                                               for lay in (pred, truth)):
            self._pending = []  # COCO labels number instances: compared by category
            return self._category_job(pred, truth, names, MODES)
        try:
            common = common_shape(pred.data.shape, truth.data.shape, names=names,
                                  crop=bool(self.crop.value))
        except ValueError as err:
            if {pred.ndim, truth.ndim} == {2, 3} and any(
                    isinstance(lay, Labels) and lay.ndim == 3 for lay in (pred, truth)):
                raise InputError(f"{err}; or, if the 3D layer holds overlapping instances "
                                 "by depth, tick '3D labels are instance depths'") from None
            raise
        key = self._key(pred, common)
        p = image_array(pred, key)
        t = image_array(truth, key)
        params: dict[str, Any] = {"min_size": int(self.min_size.value)}
        for side, layer, arr, name in (("pred", pred, p, names[0]),
                                       ("truth", truth, t, names[1])):
            if isinstance(layer, Image):
                check_finite(arr, name)
                params[f"{side}_method"] = self.method.value
        mode = self.mode.value
        if mode == MODES[1]:
            params["positive"] = int(self.class_value.value)
        elif mode == MODES[2]:
            params["multiclass"] = True
        if self.match.value:
            params["iou_threshold"] = float(self.iou.value)
            # COCO labels are instances: one object each, even in two parts
            for side, layer in (("pred", pred), ("truth", truth)):
                if coco_meta(layer) is not None:
                    params[f"{side}_instances"] = True
        self._pending = []
        sig = (id(pred.data), id(truth.data), history_signature(pred),
               history_signature(truth))
        fast = self._rematch_job(params, pred, truth, key, sig)
        if fast is not None:
            return fast
        job = Job(compare, (t, p), params, pred, key)
        job.truth_layer = truth
        job.common = common
        job.sig, job.full_params = sig, params
        return job

    def _rematch_job(self, params: dict, pred, truth, key: tuple, sig: tuple) -> Job | None:
        """Only the IoU threshold changed since the shown result: re-match, do not recount.

        Matching again from the kept object overlaps takes milliseconds; a full
        comparison of 2048² takes ~0.4 s. Any edit, other option, layer, window or
        pending edit means a full job (None).
        """
        prev, state = self._state_job, self._state
        if (state is None or prev is None or not getattr(state, "objects", None)
                or "overlaps" not in state.objects or "iou_threshold" not in params
                or getattr(prev, "sig", None) != sig or prev.source is not pred
                or getattr(prev, "truth_layer", None) is not truth or prev.region != key
                or getattr(self, "_dirty", None)):
            return None
        rest = {k: v for k, v in params.items() if k != "iou_threshold"}
        if rest != {k: v for k, v in prev.full_params.items() if k != "iou_threshold"}:
            return None
        job = Job(rematch, (state,), {"iou_threshold": params["iou_threshold"]}, pred, key)
        job.truth_layer, job.common = truth, prev.common
        job.sig, job.full_params = sig, params
        return job

    def _key(self, layer, common: tuple[int, ...]) -> tuple:
        """The compared window: current-slice indices, then the (cropped) spatial axes."""
        region = self.region_for(layer)
        for axis, i in enumerate(region):
            if i >= common[axis]:
                raise InputError(
                    f"the current slice ({i} on axis {axis}) is outside the overlapping "
                    f"region {common}; move the slider or compare the whole volume.")
        return tuple(region) + tuple(slice(0, n) for n in common[len(region):])

    def show_result(self, result: Result) -> None:
        """Show a fresh full comparison: overlay, tables, error list."""
        self._state = result.value
        self._state_job = result.job
        self.class_names = dict(getattr(result.job, "category_names", {}))
        edits, self._pending = self._pending, []
        self._apply_edits(edits)
        self._show_overlay()
        self._reset_errors()
        self._update_tables()
        job = result.job
        pred, truth = job.source, job.truth_layer
        notes = []
        if getattr(job, "categories", False):
            notes.append(job.instance_note)
            several = getattr(self._state, "several_categories", None)
            if several and getattr(self._state, "category_scores", None) is not None:
                notes.append("instances of different categories overlap: pixels compared "
                             "on the union, each category scored on its own union "
                             "(classes tab)")
        elif getattr(job, "instances", False):
            notes.append(f"{INSTANCE_MODE_NOTE} ({job.instance_note})")
        elif pred.data.shape != truth.data.shape:
            notes.append(f"comparing the overlapping region {job.common}")
        note = empty_note(self._state.counts)
        if note is not None:
            notes.append(note)
            if note != self._last_note:
                show_info(f"Compare: {note}.")
        self._last_note = note
        self.status.value = "; ".join(notes)
        self._check_floor()

    def _report_error(self, err: Exception, **kwargs) -> None:
        super()._report_error(err, **kwargs)
        self._clear_results()

    def _clear_results(self) -> None:
        """Forget the comparison (bad input): no stale numbers or overlay stay on screen."""
        self._state = None
        self._state_job = None
        self.class_names = {}
        self._current = None
        self._error_index = -1
        self.remove_preview()
        self._clear_tables()
        self.error_label.value = ""
        self._show_error_buttons()
        self._check_floor()

    def _state_matches(self) -> bool:
        job = self._state_job
        return (job is not None and job.source is self.prediction.value
                and job.truth_layer is self.truth.value)

    # ---- export ------------------------------------------------------------------------
    def _require_state(self):
        if self._state is None:
            raise InputError("nothing compared yet: choose a prediction and a ground truth "
                             "(and fix any error shown) first.")
        self.flush_edits()
        return self._state

    def report(self) -> dict[str, Any]:
        """The current comparison as a JSON-able dict (context + scores)."""
        state = self._require_state()
        job = self._state_job
        return {
            "prediction": job.source.name,
            "ground_truth": job.truth_layer.name,
            "mode": self.mode.value,
            "window": repr(job.region),
            **state.report(),
            **({"class_names": {str(k): v for k, v in self.class_names.items()}}
               if self.class_names else {}),
            **({"noise_floor": floor} if (floor := self.floor_report()) else {}),
        }

    def export_metrics(self, path, *, overwrite: bool = False) -> Path:
        """Write the metrics as ``.csv`` or ``.json``; refuse to replace a file unless asked."""
        return write_report(path, self.report(), overwrite=overwrite)

    def export_overlay(self, path, *, overwrite: bool = False) -> Path:
        """Write the overlay of the current 2D slice as an RGB PNG in the legend colours."""
        self._require_state()
        layer = self.preview_layer()
        if layer is None:
            raise InputError("there is no overlay to save yet.")
        codes = np.asarray(layer.data[current_region(self.viewer, layer)])
        return write_rgb_mask(path, codes, overlay_palette(show_tn=self.show_tn.value),
                              overwrite=overwrite)

    def _save_dialog(self, title: str, default: str, filters: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self.native, title, default, filters)
        return path

    def _save_metrics_clicked(self, *_args) -> None:
        path = self._save_dialog("Save metrics", "metrics.csv", "CSV (*.csv);;JSON (*.json)")
        if path:
            self._export(self.export_metrics, path, (".csv", ".json"))

    def _save_overlay_clicked(self, *_args) -> None:
        path = self._save_dialog("Save overlay", "overlay.png", "PNG (*.png)")
        if path:
            self._export(self.export_overlay, path, (".png",))

    def _export(self, func, path: str, suffixes: tuple[str, ...]) -> None:
        # The save dialog has asked before replacing the file it returned, but not
        # before replacing that name + the suffix added here: never replace that one.
        confirmed = Path(path).suffix.lower() in suffixes
        if not confirmed:
            path += suffixes[0]
        try:
            written = func(path, overwrite=confirmed)
        except FileExistsError:
            msg = (f"{Path(path).name} already exists; choose it by its full name in the "
                   "dialog to replace it, or pick another name.")
            self.status.value = f"⚠ {msg}"
            show_error(msg)
            return
        except (OSError, ValueError) as err:
            self.status.value = f"⚠ {err}"
            show_error(str(err))
            return
        self.status.value = f"saved {written}"
        show_info(f"Compare: saved {written}")

    @property
    def comparison(self):
        """The current :class:`~napari_maskclean.core.review.LiveComparison` (or None)."""
        return self._state

    def close_down(self, *args) -> None:
        """Also stop the edit timers and the background error search."""
        self._stop_edits()
        self._stop_floor()
        super().close_down(*args)
