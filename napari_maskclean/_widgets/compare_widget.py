"""Compare with ground truth: a live TP/FP/FN overlay, metrics, error navigation and fixes.

The prediction and the ground truth are Labels layers, or Image layers thresholded on
the fly. The widget keeps a :class:`~napari_maskclean.core.review.LiveComparison`
(napari-free) of the compared window (the whole array or the current 2D slice of a
stack, cropped to the overlapping region if asked):

* a full comparison runs on the LiveWidget worker (layer or parameter changes, slider
  moves in "current slice" scope, ``layer.data = ...``);
* edits of either Labels layer (paint, fill, erase, commits of other widgets, undo and
  redo) re-count only the bounding box of each edit, on the GUI thread, right after
  napari has written the pixels (the ``paint`` event fires before the write, so the
  boxes are collected and read on the next turn of the event loop).

The overlay is a Labels layer the plugin owns (``PREVIEW_PREFIX``); the user's layers
change only through "Accept into ground truth" / "Remove from prediction", each one
:func:`~napari_maskclean._widgets._live.write_labels` call (one Ctrl-Z).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, PushButton, SpinBox
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils.colormaps import DirectLabelColormap
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core.review import (
    FN,
    FP,
    OVERLAY_COLORS,
    OVERLAY_NAMES,
    TN,
    WRONG,
    adjacent_label,
    atom_boxes,
    check_finite,
    common_shape,
    compare,
    component_region,
    empty_note,
    find_errors,
    fit_zoom,
    fix_values,
    full_box,
    full_point,
    heat_colors,
    local_box,
    merge_boxes,
    most_common_label,
    overlay_color_dict,
    overlay_palette,
    write_report,
)
from ..core.threshold import THRESHOLD_METHODS
from ..io import write_rgb_mask
from ._live import (
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
    write_labels,
)
from ._napari_compat import replayed_item
from ._scope import SCOPES, ScopeMixin, spatial_ndim

if TYPE_CHECKING:
    import napari

#: Comparison modes (dropdown order).
MODES = ("any foreground", "one class", "multi-class")
#: Rows of the metrics table: (key in the metrics dict, label shown).
METRIC_ROWS = (
    ("tp", "TP (true positives)"),
    ("fp", "FP (false positives)"),
    ("fn", "FN (false negatives)"),
    ("tn", "TN (true negatives)"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1 (Dice)"),
    ("iou", "IoU (Jaccard)"),
    ("mcc", "MCC"),
    ("accuracy", "accuracy"),
    ("specificity", "specificity"),
    ("balanced_accuracy", "balanced accuracy"),
)
_METHODS = tuple(m for m in THRESHOLD_METHODS if m != "manual")
_KIND_CODE = {"FP": FP, "FN": FN, "wrong": WRONG}
_TRUTH_WORDS = ("truth", "gt", "ground", "reference", "manual")
_PRED_WORDS = ("pred", "annotation", "seg", "mask", "output")
#: Default "min error size": on the coins sample 255 of the 455 error components are
#: 1-4 px and 370 are under 10 px (edge specks where the masks differ by one pixel);
#: 10 leaves the 85 components that are real disagreements.
DEFAULT_MIN_ERROR_SIZE = 10

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


def _item(text: str, value: Any = None, tooltip: str = "") -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if value is not None:
        item.setData(Qt.ItemDataRole.UserRole, value)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _table(columns: list[str], tooltip: str, *, rows: int = 0) -> QTableWidget:
    table = QTableWidget(rows, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setToolTip(tooltip)
    return table


def _fit_height(table: QTableWidget, rows: int, *, scrollbar: bool = False) -> None:
    """Make a table tall enough for ``rows`` rows (it scrolls beyond)."""
    table.verticalHeader().setDefaultSectionSize(20)
    extra = table.horizontalScrollBar().sizeHint().height() if scrollbar else 0
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + 20 * rows
                         + 2 * table.frameWidth() + extra + 2)


def _fmt(value: Any) -> str:
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    return f"{float(value):.4f}"


def _rgb_css(rgb) -> str:
    return "rgb({}, {}, {})".format(*(int(v) for v in rgb[:3]))


class CompareWidget(ScopeMixin, LiveWidget):
    """Compare a prediction with its ground truth, live, and fix the errors one by one."""

    # The overlay stays useful while another tool's tab is in front (editing the masks).
    pause_when_hidden = False

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Compare with ground truth", debounce_ms=40)
        self.preview_name = f"{PREVIEW_PREFIX}TP/FP/FN overlay"
        self._state = None  # LiveComparison of the last full result (+ edits since)
        self._state_job: Job | None = None
        self._dirty: list[tuple[Labels, list]] = []  # edits not yet counted
        self._pending: list[tuple[Labels, list]] = []  # edits since the last snapshot
        self._error_index = -1
        self._current: dict | None = None  # the error shown (with its pixel mask)
        self._object_rows: list[tuple] = []
        self._last_note: str | None = None
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

        # ---- inputs -----------------------------------------------------------------
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
                    "'wrong class' colour in the overlay.")
        self.class_value = SpinBox(
            label="class", value=1, min=1, max=2**31 - 1,
            tooltip="One-class mode: the label value compared (one class against the rest).")
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
                    "are split into connected components.")
        self.iou = FloatSpinBox(
            label="match IoU ≥", value=0.5, min=0.0, max=1.0, step=0.05,
            tooltip="Objects overlapping at least this much (intersection over union) can "
                    "be matched.")
        self.show_tn = CheckBox(
            text="show true negatives", value=False,
            tooltip="Also colour the true-negative (background in both) pixels grey; off: "
                    "they are transparent so the image shows through.")

        # ---- legend and tables --------------------------------------------------------
        self.legend = QWidget()
        self.legend.setToolTip("Colours of the overlay layer (counts in pixels).")
        lay = QHBoxLayout(self.legend)
        lay.setContentsMargins(0, 0, 0, 0)
        self._legend_labels: list[QLabel] = []
        for code, name in enumerate(OVERLAY_NAMES):
            chip = QLabel(name)
            chip.setStyleSheet(
                f"background: {_rgb_css(OVERLAY_COLORS[code])}; color: black; "
                "padding: 2px 4px; border-radius: 3px;")
            chip.setToolTip(f"{name}: overlay code {code}")
            lay.addWidget(chip)
            self._legend_labels.append(chip)
        lay.addStretch(1)

        self.caption = wrapping_label()
        self.caption.tooltip = "What the metrics below count as foreground."
        self.metrics_table = _table(
            ["metric", "value"],
            "Pixel-wise scores, updated live while either layer is edited "
            "(scikit-learn conventions: a ratio with a zero denominator is 0).",
            rows=len(METRIC_ROWS))
        for row, (_key, text) in enumerate(METRIC_ROWS):
            self.metrics_table.setItem(row, 0, _item(text))
            self.metrics_table.setItem(row, 1, _item("—", None))
        _fit_height(self.metrics_table, len(METRIC_ROWS))
        self.metrics_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.multi_box = QWidget()
        mlay = QVBoxLayout(self.multi_box)
        mlay.setContentsMargins(0, 0, 0, 0)
        mlay.addWidget(QLabel("confusion matrix (rows: truth, columns: prediction)"))
        self.heatmap = _table([], "Pixel counts per (true class, predicted class); the "
                                  "colour is the fraction of the true class's pixels.")
        self.heatmap.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.heatmap.verticalHeader().setVisible(True)
        _fit_height(self.heatmap, 5, scrollbar=True)
        mlay.addWidget(self.heatmap)
        self.class_table = _table(["class", "IoU", "Dice", "precision", "recall", "support"],
                                  "Per-class scores (support: true pixels of the class).")
        _fit_height(self.class_table, 3)
        mlay.addWidget(self.class_table)
        self.mean_label = QLabel("")
        self.mean_label.setToolTip("Means over the classes present in truth or prediction.")
        mlay.addWidget(self.mean_label)
        mlay.addStretch(1)

        self.objects_box = QWidget()
        olay = QVBoxLayout(self.objects_box)
        olay.setContentsMargins(0, 0, 0, 0)
        self.objects_label = QLabel("")
        self.objects_label.setToolTip("Object-level precision, recall, F1 and panoptic "
                                      "quality of the one-to-one matching.")
        self.objects_label.setWordWrap(True)
        olay.addWidget(self.objects_label)
        self.objects_table = _table(["status", "truth id", "pred id", "IoU"],
                                    "Matched pairs (worst IoU first), then missed truth "
                                    "objects (FN) and extra predicted objects (FP). Click a "
                                    "row to centre the view on the object.")
        self.objects_table.cellClicked.connect(self.go_to_object)
        _fit_height(self.objects_table, 9)
        olay.addWidget(self.objects_table)
        olay.addStretch(1)

        # ---- error navigation -------------------------------------------------------
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
        self.accept_button = PushButton(text="Accept into ground truth")
        self.accept_button.tooltip = _ACCEPT_TIP
        self.fix_button = PushButton(text="Remove from prediction")
        self.fix_button.tooltip = _FIX_TIP
        self.prev_button.clicked.connect(self.previous_error)
        self.next_button.clicked.connect(self.next_error)
        self.accept_button.clicked.connect(self.accept_into_truth)
        self.fix_button.clicked.connect(self.fix_prediction)

        # ---- export ------------------------------------------------------------------
        self.save_metrics_button = PushButton(text="Save metrics…")
        self.save_metrics_button.tooltip = ("Save the current scores (and confusion matrix, "
                                            "objects) as CSV or JSON.")
        self.save_overlay_button = PushButton(text="Save overlay PNG…")
        self.save_overlay_button.tooltip = ("Save the overlay of the current 2D slice as an "
                                            "RGB PNG in the legend colours (TN black unless "
                                            "shown).")
        self.save_metrics_button.clicked.connect(self._save_metrics_clicked)
        self.save_overlay_button.clicked.connect(self._save_overlay_clicked)

        self.extend([self.prediction, self.truth, self.method, self.mode, self.class_value,
                     self.scope, self.crop, self.match, self.iou, self.show_tn])
        self._rows = [
            Container(widgets=[self.min_size], labels=True),
            Container(widgets=[self.prev_button, self.next_button], layout="horizontal",
                      labels=False),
            Container(widgets=[self.accept_button, self.fix_button], layout="horizontal",
                      labels=False),
            Container(widgets=[self.save_metrics_button, self.save_overlay_button],
                      layout="horizontal", labels=False),
        ]
        for row in self._rows:
            row.native.layout().setContentsMargins(0, 0, 0, 0)
        layout = self.native.layout()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.metrics_table, "metrics")
        self.tabs.addTab(self.multi_box, "classes")
        self.tabs.addTab(self.objects_box, "objects")
        self.tabs.setToolTip("metrics: pixel scores; classes (multi-class mode): confusion "
                             "matrix and per-class scores; objects (match objects): the "
                             "object list.")
        for qt_widget in (self.legend, self.caption.native, self.tabs, self._rows[0].native,
                          self._rows[1].native, self.error_label.native,
                          self._rows[2].native, self._rows[3].native, self.status.native):
            layout.addWidget(qt_widget)

        self.watch_parameters([self.prediction, self.truth, self.method, self.mode,
                               self.class_value, self.scope, self.crop, self.match, self.iou])
        for w in (self.prediction, self.truth, self.mode, self.match):
            w.changed.connect(self._update_visibility)
        for w in (self.prediction, self.truth):
            w.changed.connect(self._rewatch_sources)
        self.show_tn.changed.connect(self._colours_changed)
        self.min_size.changed.connect(self._reset_errors)
        self.reset_choices()
        self._guess_layers()
        self._rewatch_sources()
        self._update_visibility()
        self._show_error_buttons()
        self.request()

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

    def _colours_changed(self, *_args) -> None:
        self._legend_labels[TN].setVisible(bool(self.show_tn.value))
        layer = self.preview_layer()
        if layer is not None:
            layer.colormap = self._colormap()

    def _colormap(self) -> DirectLabelColormap:
        return DirectLabelColormap(color_dict=overlay_color_dict(show_tn=self.show_tn.value))

    # ---- LiveWidget API ----------------------------------------------------------------
    def source_layers(self):
        """Edits of either layer update the comparison."""
        return [self.prediction.value, self.truth.value]

    def follows_slice(self) -> bool:
        """Slider moves matter only when comparing the current slice of a stack."""
        pred = self.prediction.value
        return pred is not None and spatial_ndim(pred) > 2 and self.scope.value == SCOPES[0]

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
        common = common_shape(pred.data.shape, truth.data.shape, names=names,
                              crop=bool(self.crop.value))
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
        self._pending = []
        job = Job(compare, (t, p), params, pred, key)
        job.truth_layer = truth
        job.common = common
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
        edits, self._pending = self._pending, []
        self._apply_edits(edits)
        self._show_overlay()
        self._reset_errors()
        self._update_tables()
        job = result.job
        pred, truth = job.source, job.truth_layer
        notes = []
        if pred.data.shape != truth.data.shape:
            notes.append(f"comparing the overlapping region {job.common}")
        note = empty_note(self._state.counts)
        if note is not None:
            notes.append(note)
            if note != self._last_note:
                show_info(f"Compare: {note}.")
        self._last_note = note
        self.status.value = "; ".join(notes)

    def _report_error(self, err: Exception, **kwargs) -> None:
        super()._report_error(err, **kwargs)
        self._clear_results()

    def _clear_results(self) -> None:
        """Forget the comparison (bad input): no stale numbers or overlay stay on screen."""
        self._state = None
        self._state_job = None
        self._current = None
        self._error_index = -1
        self.remove_preview()
        for row in range(len(METRIC_ROWS)):
            self.metrics_table.setItem(row, 1, _item("—", None))
        self.heatmap.setRowCount(0)
        self.heatmap.setColumnCount(0)
        self.class_table.setRowCount(0)
        self.objects_table.setRowCount(0)
        self.objects_label.setText("")
        self.error_label.value = ""
        self._show_error_buttons()

    # ---- overlay -----------------------------------------------------------------------
    def _show_overlay(self) -> None:
        """Show the state's codes in the overlay layer (created once, then updated in place)."""
        job, state = self._state_job, self._state
        source = job.source
        ndim = len(job.common)
        scale, translate = source.scale[-ndim:], source.translate[-ndim:]
        layer = self.preview_layer()
        if layer is not None and not (isinstance(layer, Labels)
                                      and layer.data.shape == tuple(job.common)
                                      and layer.data.dtype == np.uint8
                                      and isinstance(layer.data, np.ndarray)):
            self.viewer.layers.remove(layer)
            layer = None
        if layer is not None:
            # Copying into the displayed array is much cheaper for napari than
            # replacing layer.data (which re-slices and resets the layer).
            if job.region and any(not isinstance(k, slice) for k in job.region):
                layer.data[...] = TN
            layer.data[job.region] = state.codes
            if not np.array_equal(layer.scale, scale):
                layer.scale = scale
            if not np.array_equal(layer.translate, translate):
                layer.translate = translate
            layer.refresh()
            return
        full = np.zeros(job.common, dtype=np.uint8)
        full[job.region] = state.codes
        active = self.viewer.layers.selection.active
        layer = Labels(full, name=self.preview_name, scale=scale, translate=translate,
                       opacity=0.7, blending="translucent")
        layer.colormap = self._colormap()
        layer.editable = False
        self.viewer.add_layer(layer)
        if active is not None:
            self.viewer.layers.selection.active = active  # keep the user's selection

    # ---- live edits --------------------------------------------------------------------
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
            return find_errors(truth, pred, wrong, min_size=min_size)

        worker = thread_worker(work, ignore_errors=True)()

        def done(errors, state=state, worker=worker):
            if worker is self._errors_worker:
                self._errors_worker = None
            if state is self._state and not self._closed:
                state.install_errors(errors, version=version, min_size=min_size)

        worker.returned.connect(done)
        self._errors_worker = worker
        worker.start()

    def _state_matches(self) -> bool:
        job = self._state_job
        return (job is not None and job.source is self.prediction.value
                and job.truth_layer is self.truth.value)

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

    # ---- tables ------------------------------------------------------------------------
    def _update_tables(self, *, objects: bool = True) -> None:
        state = self._state
        if state is None:
            return
        metrics = state.metrics()
        for row, (key, _text) in enumerate(METRIC_ROWS):
            value = metrics[key]
            item = self.metrics_table.item(row, 1)
            item.setText(_fmt(value))
            item.setData(Qt.ItemDataRole.UserRole, value)
        for code, count in state.code_counts().items():
            self._legend_labels[code].setText(f"{OVERLAY_NAMES[code]} {count:,}")
        if state.positive is not None:
            self.caption.value = f"pixels: class {state.positive} vs the rest"
        elif state.multiclass:
            self.caption.value = ("pixels: foreground (any class) vs background; TP here "
                                  "includes wrong-class pixels")
        else:
            self.caption.value = "pixels: foreground (any non-zero label) vs background"
        if state.multiclass:
            self._update_multiclass()
        if objects:
            self._update_objects()

    def _update_multiclass(self) -> None:
        cm, labels = self._state.confusion_matrix()
        colours = heat_colors(cm)
        n = len(labels)
        self.heatmap.setRowCount(n)
        self.heatmap.setColumnCount(n)
        self.heatmap.setHorizontalHeaderLabels([f"pred {v}" for v in labels])
        self.heatmap.setVerticalHeaderLabels([f"truth {v}" for v in labels])
        for i in range(n):
            for j in range(n):
                item = _item(f"{int(cm[i, j]):,}", int(cm[i, j]))
                rgb = colours[i, j]
                item.setBackground(QBrush(QColor(*(int(c) for c in rgb))))
                dark = int(rgb[0]) < 128
                item.setForeground(QBrush(QColor("white" if dark else "black")))
                self.heatmap.setItem(i, j, item)
        pc = self._state.per_class()
        self.class_table.setRowCount(n)
        for i, lab in enumerate(labels):
            self.class_table.setItem(i, 0, _item(str(int(lab)), int(lab)))
            for col, key in enumerate(("iou", "dice", "precision", "recall"), start=1):
                v = float(pc[key][i])
                self.class_table.setItem(i, col, _item(f"{v:.4f}", v))
            self.class_table.setItem(i, 5, _item(f"{int(pc['support'][i]):,}",
                                                 int(pc["support"][i])))
        self.mean_label.setText(f"mean IoU {pc['mean_iou']:.4f}, mean Dice "
                                f"{pc['mean_dice']:.4f}")

    def _update_objects(self) -> None:
        objects = self._state.objects if self._state is not None else None
        self.objects_table.setRowCount(0)
        self._object_rows = []
        if objects is None:
            self.objects_label.setText("")
            return
        m = objects["match"]
        self.objects_label.setText(
            f"{m.n_truth} true, {m.n_pred} predicted, {m.tp} matched (IoU ≥ "
            f"{m.iou_threshold:g}): precision {m.precision:.3f}, recall {m.recall:.3f}, "
            f"F1 {m.f1:.3f}, PQ {m.panoptic_quality:.3f}")
        rows = [("matched", t, p, iou, objects["truth_centres"].get(t))
                for t, p, iou in sorted(m.matches, key=lambda x: x[2])]
        rows += [("FN (missed)", t, None, None, objects["truth_centres"].get(t))
                 for t in m.unmatched_truth]
        rows += [("FP (extra)", None, p, None, objects["pred_centres"].get(p))
                 for p in m.unmatched_pred]
        self.objects_table.setRowCount(len(rows))
        for r, (status, t, p, iou, _c) in enumerate(rows):
            self.objects_table.setItem(r, 0, _item(status))
            self.objects_table.setItem(r, 1, _item("" if t is None else str(t), t))
            self.objects_table.setItem(r, 2, _item("" if p is None else str(p), p))
            self.objects_table.setItem(r, 3, _item("" if iou is None else f"{iou:.3f}", iou))
        self._object_rows = rows

    def metrics_shown(self) -> dict[str, Any]:
        """The values in the metrics table (read back from the table items)."""
        return {key: self.metrics_table.item(row, 1).data(Qt.ItemDataRole.UserRole)
                for row, (key, _t) in enumerate(METRIC_ROWS)}

    def heatmap_shown(self) -> np.ndarray:
        """The counts in the confusion-matrix heatmap (read back from the table)."""
        n, m = self.heatmap.rowCount(), self.heatmap.columnCount()
        return np.array([[self.heatmap.item(i, j).data(Qt.ItemDataRole.UserRole)
                          for j in range(m)] for i in range(n)], dtype=np.int64).reshape(n, m)

    # ---- navigation --------------------------------------------------------------------
    def _centre_on(self, local_point, box_shape=None) -> None:
        """Centre the camera on a point of the compared window (and zoom to a box)."""
        job = self._state_job
        layer = job.source
        data_point = full_point(local_point, job.region)
        world = np.asarray(layer.data_to_world(data_point), dtype=float)
        offset = self.viewer.dims.ndim - layer.ndim
        displayed = [d - offset for d in self.viewer.dims.displayed if d >= offset]
        for axis in range(layer.ndim):
            if axis not in displayed:
                self.viewer.dims.set_point(axis + offset, world[axis])
        self.viewer.scene.camera.center = tuple(world[d] for d in displayed)
        if box_shape is not None and displayed:
            spatial = [i for i, k in enumerate(job.region) if isinstance(k, slice)]
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

    # ---- corrections -------------------------------------------------------------------
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

    @property
    def edits_pending(self) -> bool:
        """True while edits wait for the next turn of the event loop to be counted."""
        return bool(self._dirty)

    def close_down(self, *args) -> None:
        """Also stop the edit timer."""
        try:
            self._flush_timer.stop()
            self._errors_timer.stop()
        except RuntimeError:  # Qt already deleted it (interpreter shutdown)
            pass
        if self._errors_worker is not None:
            self._errors_worker.quit()
            self._errors_worker = None
        self._dirty = []
        super().close_down(*args)


def _replayed_item(layer: Labels, old, new):
    """The history item an undo or redo just replayed (None if it cannot be told)."""
    return replayed_item(layer, old, new)
