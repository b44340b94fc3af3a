"""The tables of the Compare dock: pixel metrics, confusion matrix, per-class scores, objects.

Every table item keeps its exact value under ``Qt.ItemDataRole.UserRole`` (the
text is rounded for display), so tests and callers read the numbers back.

Extra reference lines (e.g. the "noise floor" of a label-noise estimate) go
beside the live values with :meth:`MetricsTable.add_reference` (or the dock's
:meth:`TablesMixin.add_reference_row`): one more column of the same metrics,
kept until removed, untouched by recomputations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from qtpy.QtCore import Qt
from qtpy.QtGui import QBrush, QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .overlay import heat_colors

__all__ = ["METRIC_ROWS", "MetricsTable", "TablesMixin"]

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
_EMPTY = "—"
_HEATMAP_TITLE = "confusion matrix (rows: truth, columns: prediction)"


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
    _setup(table, columns, tooltip)
    return table


def _setup(table: QTableWidget, columns: list[str], tooltip: str) -> None:
    table.setHorizontalHeaderLabels(columns)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.setToolTip(tooltip)


def _fit_height(table: QTableWidget, rows: int, *, scrollbar: bool = False) -> None:
    """Make a table tall enough for ``rows`` rows (it scrolls beyond)."""
    table.verticalHeader().setDefaultSectionSize(20)
    extra = table.horizontalScrollBar().sizeHint().height() if scrollbar else 0
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + 20 * rows
                         + 2 * table.frameWidth() + extra + 2)


_COUNTS = ("tp", "fp", "fn", "tn")


def _fmt(value: Any, key: str = "", spread: Any = None) -> str:
    """Display text: counts with separators (a mean count with one decimal), ratios 4 d.p.

    ``spread`` (a standard deviation, e.g. of a noise floor) is appended as ``± s``.
    """
    if value is None:
        return _EMPTY
    if isinstance(value, int | np.integer):
        text = f"{int(value):,}"
    elif key in _COUNTS:
        text = f"{float(value):,.1f}"
    else:
        text = f"{float(value):.4f}"
    if spread is not None:
        text += f" ± {float(spread):,.1f}" if key in _COUNTS else f" ± {float(spread):.4f}"
    return text


class MetricsTable(QTableWidget):
    """One row per metric: its name, the live value, then one column per reference.

    Parameters
    ----------
    tooltip : str
        Shown on the table.
    """

    def __init__(self, tooltip: str) -> None:
        super().__init__(len(METRIC_ROWS), 2)
        _setup(self, ["metric", "value"], tooltip)
        self._references: dict[str, dict[str, Any]] = {}
        self._tips: dict[str, str] = {}
        for row, (_key, text) in enumerate(METRIC_ROWS):
            self.setItem(row, 0, _item(text))
            self.setItem(row, 1, _item(_EMPTY, None))
        _fit_height(self, len(METRIC_ROWS))
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def _fill(self, column: int, metrics: Mapping[str, Any] | None) -> None:
        std = (metrics or {}).get("std")
        std = std if isinstance(std, Mapping) else {}
        for row, (key, _text) in enumerate(METRIC_ROWS):
            value = None if metrics is None else metrics.get(key)
            if isinstance(value, np.generic):
                value = value.item()
            spread = std.get(key) if value is not None else None
            self.setItem(row, column, _item(_fmt(value, key, spread), value))

    def show_metrics(self, metrics: Mapping[str, Any] | None) -> None:
        """Show the live values (None: a dash in every row)."""
        self._fill(1, metrics)

    def values(self, column: str = "value") -> dict[str, Any]:
        """The exact values shown in a column ("value" or a reference's name)."""
        names = self._columns()
        if column not in names:
            raise KeyError(f"no column {column!r}; the columns are {names}")
        col = names.index(column)
        return {key: self.item(row, col).data(Qt.ItemDataRole.UserRole)
                for row, (key, _t) in enumerate(METRIC_ROWS)}

    def _columns(self) -> list[str]:
        return ["metric", "value", *self._references]

    def add_reference(self, name: str, metrics: Mapping[str, Any]) -> None:
        """Show (or replace) a reference line of metrics as a column named ``name``.

        ``metrics`` uses the keys of :data:`METRIC_ROWS` (``"f1"``, ``"iou"``...,
        as :func:`~napari_maskclean.core.compare.binary_metrics` returns);
        missing keys show a dash, other keys are ignored, except ``"std"``: a dict
        of the same keys whose values are shown as ``± s`` (a spread, as
        :func:`~napari_maskclean.core.noise_floor.noise_floor` returns).
        """
        name = str(name)
        if name in ("metric", "value"):
            raise ValueError(f"{name!r} is the name of a built-in column; choose another name")
        self._references[name] = dict(metrics)
        self._tips.pop(name, None)  # a new line: its old explanation may not hold
        self._redraw_references()

    def remove_reference(self, name: str) -> None:
        """Remove a reference column (nothing happens if there is none of that name)."""
        if self._references.pop(str(name), None) is not None:
            self._tips.pop(str(name), None)
            self._redraw_references()

    def set_reference_tooltip(self, name: str, tooltip: str) -> None:
        """Explain a reference column (its header's tooltip, kept until it is removed)."""
        if str(name) not in self._references:
            raise KeyError(f"no reference column {name!r}")
        self._tips[str(name)] = tooltip
        self._redraw_references()

    def references(self) -> dict[str, dict[str, Any]]:
        """The reference lines shown, by name (copies)."""
        return {k: dict(v) for k, v in self._references.items()}

    def _redraw_references(self) -> None:
        self.setColumnCount(2 + len(self._references))
        self.setHorizontalHeaderLabels(self._columns())
        for col, (name, metrics) in enumerate(self._references.items(), start=2):
            self._fill(col, metrics)
            if name in self._tips:
                self.horizontalHeaderItem(col).setToolTip(self._tips[name])


class TablesMixin:
    """The tabs of :class:`CompareWidget`: metrics, classes (multi-class), objects."""

    def _build_tables(self) -> QTabWidget:
        self.metrics_table = MetricsTable(
            "Pixel-wise scores, updated live while either layer is edited "
            "(scikit-learn conventions: a ratio with a zero denominator is 0).")

        self.multi_box = QWidget()
        mlay = QVBoxLayout(self.multi_box)
        mlay.setContentsMargins(0, 0, 0, 0)
        self.heatmap_title = QLabel(_HEATMAP_TITLE)
        self.heatmap_title.setWordWrap(True)
        mlay.addWidget(self.heatmap_title)
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
        self.category_objects_table = _table(
            ["category", "truth", "pred", "matched", "precision", "recall", "F1", "PQ"],
            "Object scores per COCO category (objects match only within their category).")
        _fit_height(self.category_objects_table, 4)
        self.category_objects_table.setVisible(False)
        olay.addWidget(self.category_objects_table)
        self.objects_table = _table(["status", "truth id", "pred id", "IoU"],
                                    "Matched pairs (worst IoU first), then missed truth "
                                    "objects (FN) and extra predicted objects (FP). Click a "
                                    "row to centre the view on the object.")
        self.objects_table.cellClicked.connect(self.go_to_object)
        _fit_height(self.objects_table, 9)
        olay.addWidget(self.objects_table)
        olay.addStretch(1)
        self._object_rows: list[tuple] = []

        tabs = QTabWidget()
        tabs.addTab(self.metrics_table, "metrics")
        tabs.addTab(self.multi_box, "classes")
        tabs.addTab(self.objects_box, "objects")
        tabs.setToolTip("metrics: pixel scores; classes (multi-class mode): confusion "
                        "matrix and per-class scores; objects (match objects): the "
                        "object list.")
        return tabs

    # ---- public hooks ------------------------------------------------------------------
    def add_reference_row(self, name: str, metrics: Mapping[str, Any]) -> None:
        """Show a reference line of metrics (e.g. a noise floor) beside the live values.

        The metrics table has one row per metric, so the reference appears as a
        column named ``name``; it stays until :meth:`remove_reference_row`.
        See :meth:`MetricsTable.add_reference`.
        """
        self.metrics_table.add_reference(name, metrics)

    def remove_reference_row(self, name: str) -> None:
        """Remove a reference line added by :meth:`add_reference_row`."""
        self.metrics_table.remove_reference(name)

    def metrics_shown(self, column: str = "value") -> dict[str, Any]:
        """The values in the metrics table (read back from the table items)."""
        return self.metrics_table.values(column)

    def heatmap_shown(self) -> np.ndarray:
        """The counts in the confusion-matrix heatmap (read back from the table)."""
        n, m = self.heatmap.rowCount(), self.heatmap.columnCount()
        return np.array([[self.heatmap.item(i, j).data(Qt.ItemDataRole.UserRole)
                          for j in range(m)] for i in range(n)], dtype=np.int64).reshape(n, m)

    # ---- updates -----------------------------------------------------------------------
    def _clear_tables(self) -> None:
        self.metrics_table.show_metrics(None)
        self.heatmap_title.setText(_HEATMAP_TITLE)
        self.heatmap.setRowCount(0)
        self.heatmap.setColumnCount(0)
        self.class_table.setRowCount(0)
        self.objects_table.setRowCount(0)
        self.objects_label.setText("")
        self.category_objects_table.setRowCount(0)
        self.category_objects_table.setVisible(False)

    def class_name(self, value: int) -> str:
        """How a class is shown: its COCO category name when known, else its value."""
        value = int(value)
        if value == 0:
            return "background" if getattr(self, "class_names", None) else "0"
        return getattr(self, "class_names", {}).get(value, str(value))

    def _update_tables(self, *, objects: bool = True) -> None:
        state = self._state
        if state is None:
            return
        self.metrics_table.show_metrics(state.metrics())
        self._show_code_counts(state.code_counts())
        if state.positive is not None:
            self.caption.value = f"pixels: class {state.positive} vs the rest"
        elif state.multiclass:
            self.caption.value = ("pixels: foreground (any class) vs background; TP here "
                                  "includes wrong-class pixels")
        else:
            self.caption.value = "pixels: foreground (any non-zero label) vs background"
        if state.multiclass:
            self._update_multiclass()
        elif getattr(state, "category_scores", None) is not None:
            self.caption.value = ("pixels: foreground (any category) vs background; each "
                                  "category scored on the union of its instances (classes)")
            self._update_overlapping_categories()
        if objects:
            self._update_objects()

    def _update_multiclass(self) -> None:
        cm, labels = self._state.confusion_matrix()
        colours = heat_colors(cm)
        n = len(labels)
        self.heatmap.setRowCount(n)
        self.heatmap.setColumnCount(n)
        self.heatmap.setHorizontalHeaderLabels([f"pred {self.class_name(v)}" for v in labels])
        self.heatmap.setVerticalHeaderLabels([f"truth {self.class_name(v)}" for v in labels])
        for i in range(n):
            for j in range(n):
                item = _item(f"{int(cm[i, j]):,}", int(cm[i, j]))
                rgb = colours[i, j]
                item.setBackground(QBrush(QColor(*(int(c) for c in rgb))))
                dark = int(rgb[0]) < 128
                item.setForeground(QBrush(QColor("white" if dark else "black")))
                self.heatmap.setItem(i, j, item)
        self.heatmap_title.setText(_HEATMAP_TITLE)
        self._fill_class_table(self._state.per_class())

    def _update_overlapping_categories(self) -> None:
        """Instances of different categories overlap: per-category scores, no matrix."""
        self.heatmap.setRowCount(0)
        self.heatmap.setColumnCount(0)
        several = ", ".join(f"{n:,} in the {side}"
                            for side, n in self._state.several_categories.items())
        self.heatmap_title.setText(
            f"no confusion matrix: pixels covered by instances of different categories "
            f"({several}) have no single category. Each category is scored on the union "
            "of its instances (a pixel may count for several).")
        self._fill_class_table(self._state.per_class())

    def _fill_class_table(self, pc) -> None:
        labels = pc["labels"]
        self.class_table.setRowCount(len(labels))
        for i, lab in enumerate(labels):
            self.class_table.setItem(i, 0, _item(self.class_name(lab), int(lab),
                                                 f"label value {int(lab)}"))
            for col, key in enumerate(("iou", "dice", "precision", "recall"), start=1):
                v = float(pc[key][i])
                self.class_table.setItem(i, col, _item(f"{v:.4f}", v))
            self.class_table.setItem(i, 5, _item(f"{int(pc['support'][i]):,}",
                                                 int(pc["support"][i])))
        self.mean_label.setText(f"mean IoU {pc['mean_iou']:.4f}, mean Dice "
                                f"{pc['mean_dice']:.4f}" + self._floor_means())

    def _floor_means(self) -> str:
        """The noise floor's class means, for the classes tab (empty without a floor)."""
        floor = getattr(self, "floor_shown", None)
        per_class = (floor or {}).get("per_class")
        if not per_class:
            return ""
        return (f" (noise floor: mean IoU {per_class['mean_iou']:.4f}, mean Dice "
                f"{per_class['mean_dice']:.4f})")

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
            f"F1 {m.f1:.3f}, PQ {m.panoptic_quality:.3f}"
            + ("; objects match only within their category (per category below)"
               if objects.get("per_category") else ""))
        self._update_category_objects(objects.get("per_category"))
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

    def _update_category_objects(self, per_category) -> None:
        """One row per category: counts and object scores (COCO category comparison)."""
        table = self.category_objects_table
        table.setVisible(bool(per_category))
        table.setRowCount(len(per_category or {}))
        for r, (cat, m) in enumerate(sorted((per_category or {}).items())):
            table.setItem(r, 0, _item(self.class_name(cat), int(cat), f"category_id {cat}"))
            for col, v in enumerate((m.n_truth, m.n_pred, m.tp), start=1):
                table.setItem(r, col, _item(f"{v:,}", int(v)))
            for col, v in enumerate((m.precision, m.recall, m.f1, m.panoptic_quality),
                                    start=4):
                table.setItem(r, col, _item(f"{v:.3f}", float(v)))

    def category_objects_shown(self) -> dict[int, dict[str, Any]]:
        """The per-category object scores in the objects tab (read back from the table)."""
        table, keys = self.category_objects_table, (
            "n_truth", "n_pred", "tp", "precision", "recall", "f1", "panoptic_quality")
        return {table.item(r, 0).data(Qt.ItemDataRole.UserRole):
                {k: table.item(r, c).data(Qt.ItemDataRole.UserRole)
                 for c, k in enumerate(keys, start=1)}
                for r in range(table.rowCount())}

    def class_table_shown(self) -> list[dict[str, Any]]:
        """The rows of the per-class table: shown name, label value and scores."""
        t = self.class_table
        keys = ("iou", "dice", "precision", "recall", "support")
        return [{"name": t.item(r, 0).text(),
                 "label": t.item(r, 0).data(Qt.ItemDataRole.UserRole),
                 **{k: t.item(r, c).data(Qt.ItemDataRole.UserRole)
                    for c, k in enumerate(keys, start=1)}}
                for r in range(t.rowCount())]
