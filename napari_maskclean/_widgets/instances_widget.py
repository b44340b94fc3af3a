"""Instances dock: find near-duplicate instance masks, preview and merge them, NMS, export COCO.

Instances are the labels of either

* the depth layers of one COCO image (opened by this plugin's COCO reader: one
  Labels layer per overlapping depth; picking any of them takes them all), or
* one Labels layer: a 2D label image (its labels never overlap, so nothing is
  redundant unless ``ios`` finds none either: it says so) or a ``(D, H, W)``
  stack whose planes are depths (e.g. ``instances_to_labels(overlap="layers")``).

The dock lists the groups that would merge (IoU/IoS of each member with the
keeper, areas, scores, categories; click a row to centre the view on it) and
shows every merge in a preview layer. *Merge all* / *Merge selected* / *NMS*
write through the single write path (:func:`~._live.write_labels`): a stack is
ONE undo step; depth layers get one write each, linked: undoing (Ctrl-Z) the
merge in any of them undoes it in all of them, and redo likewise. *Export*
writes the cleaned instances as COCO JSON (unchanged annotations verbatim).

Scores, categories and crowd flags come from the layers' ``features``
(``score``, ``category_id``, ``iscrowd``, keyed by ``index``), as the COCO reader
sets them. The computation is :func:`napari_maskclean.ops.label_instances.find_label_groups`;
merging is :func:`~napari_maskclean.ops.label_instances.merged_depths`.

Slightly over the house's ~500 lines on purpose: the computation is already in
:mod:`napari_maskclean.ops.label_instances`; what remains is one dock's Qt
wiring (layer picking, the group table, merge/NMS commits with linked undo,
export), all reading and writing the same dock state.

Why one module of ~530 lines: finding, previewing, merging and exporting share
the dock's choice of instances and its preview; the work itself is in
``core.instances`` and ``io_coco``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, Label, PushButton
from napari.layers import Labels
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
)

from ..core.rle import rle_area
from ..ops.instances import InstanceGrouping, InstanceMetric, MergeMode
from ..ops.label_instances import find_label_groups, merged_depths, nms_label_groups
from ._live import (
    InputError,
    Job,
    LiveWidget,
    Result,
    history_signature,
    layer_combo,
    prefer_visible_layer,
    write_labels,
)

if TYPE_CHECKING:
    import napari

    from ..recipe import Step

_FORMATS = {"as read": "auto", "RLE": "rle", "polygons": "polygons"}
_COLUMNS = ["group", "labels (keeper first)", "overlap", "areas", "scores", "categories"]


def _coco(layer) -> dict[str, Any] | None:
    coco = getattr(layer, "metadata", {}).get("coco")
    return coco if isinstance(coco, dict) and "data" in coco else None


def _fmt_score(v) -> str:
    return "-" if v is None else f"{v:.3f}"


class InstancesWidget(LiveWidget):
    """Merge redundant instance masks (IoU/IoS groups) and NMS, with a preview and export."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Instances")
        self.instances = layer_combo(
            viewer, Labels, label="instances",
            tooltip="A Labels layer of instances: one depth layer of a COCO image (all its "
            "depth layers are used), a 2D label image or a (depth, y, x) stack.")
        self.layers_note = Label(value="")
        self.coco_image = ComboBox(label="COCO image", choices=self._image_choices,
                                   tooltip="The images of the chosen layer's COCO file; "
                                   "'Open image' opens one (its depth layers).")
        self.open_image_button = PushButton(text="Open image")
        self.open_image_button.clicked.connect(lambda *_: self.open_image(self.coco_image.value))
        self.metric = ComboBox(label="metric", choices=[m.value for m in InstanceMetric],
                               value="iou", tooltip="iou: intersection over union; ios: "
                               "intersection over the smaller (one inside another).")
        self.threshold = FloatSpinBox(label="threshold", value=0.8, min=0.01, max=1.0,
                                      step=0.05, tooltip="Instances overlapping at least this "
                                      "much are redundant (NMS: suppressed).")
        self.mode = ComboBox(label="merge into", choices=[m.value for m in MergeMode],
                             value="union", tooltip="union: the union of the group; best: "
                             "its best-scoring mask; largest: its largest mask.")
        self.grouping = ComboBox(label="grouping", choices=[g.value for g in InstanceGrouping],
                                 value="connected", tooltip="connected: chains of redundant "
                                 "pairs are one group; greedy: NMS order by score.")
        self.per_category = CheckBox(text="within a category only", value=False,
                                     tooltip="Only instances of the same category are "
                                     "redundant (also for NMS).")
        self.table = QTableWidget(0, len(_COLUMNS))
        self.table.setHorizontalHeaderLabels(_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("Groups that would merge. Click a row to centre the view on it; "
                              "select rows for 'Merge selected'.")
        self.table.cellClicked.connect(self.go_to_group)
        self.merge_all_button = PushButton(text="Merge all")
        self.merge_selected_button = PushButton(text="Merge selected")
        self.nms_button = PushButton(text="NMS by score")
        self.export_button = PushButton(text="Export COCO JSON…")
        self.export_format = ComboBox(label="export as", choices=list(_FORMATS),
                                      value="as read", tooltip="Segmentations in the export: "
                                      "as read (unchanged polygons stay polygons, the rest "
                                      "RLE), all RLE, or all polygons (objects with holes "
                                      "stay RLE: COCO polygons cannot hold holes).")
        self.merge_all_button.clicked.connect(self.merge_all)
        self.merge_selected_button.clicked.connect(self.merge_selected)
        self.nms_button.clicked.connect(self.run_nms)
        self.export_button.clicked.connect(self._export_clicked)
        self.commit_button = self.merge_all_button  # the base class enables it with a result
        self.extend([self.instances, self.layers_note, self.coco_image,
                     self.open_image_button, self.metric, self.threshold,
                     self.mode, self.grouping, self.per_category])
        self.native.layout().addWidget(self.table)
        self.extend([self.merge_all_button, self.merge_selected_button, self.nms_button,
                     self.export_format, self.export_button, self.status])
        self.watch_parameters([self.instances, self.metric, self.threshold, self.mode,
                               self.grouping, self.per_category])
        self.instances.changed.connect(self._rewatch_sources)
        self.instances.changed.connect(self._image_picker)
        self._selection: list[int] | None = None  # groups to merge (None: all)
        self._linked: list[tuple[Labels, tuple | None]] = []  # layers of the last write
        self._linked_undone = False
        self.reset_choices()
        prefer_visible_layer(self.instances, viewer)
        self._rewatch_sources()
        self._image_picker()
        self.request()

    # ---- COCO files with several images -------------------------------------------------
    def _image_choices(self, _widget=None) -> list[tuple[str, Any]]:
        layer = getattr(self, "instances", None)
        coco = _coco(layer.value) if layer is not None and layer.value is not None else None
        if coco is None:
            return []
        return [(im.file_name or str(im.id), im.id) for im in coco["data"].images]

    def _image_picker(self, *_args) -> None:
        self.coco_image.reset_choices()
        several = len(self.coco_image.choices) > 1
        self.coco_image.visible = several
        self.open_image_button.visible = several
        layer = self.instances.value
        coco = _coco(layer) if layer is not None else None
        if several and coco is not None:
            self.coco_image.value = coco["image_id"]

    def open_image(self, image_id: Any) -> list[Labels]:
        """Open (or show) the depth layers of another image of the chosen layer's COCO file."""
        from .._coco_reader import coco_layer_data

        layer = self.instances.value
        coco = _coco(layer) if layer is not None else None
        if coco is None:
            show_warning(f"{self.title}: choose a layer opened from a COCO file first.")
            return []
        data = coco["data"]
        mine = [lay for lay in self.viewer.layers if isinstance(lay, Labels)
                and (c := _coco(lay)) is not None and c["data"] is data]
        for lay in mine:  # one image at a time: they share the same pixels
            lay.visible = _coco(lay)["image_id"] == image_id
        opened = [lay for lay in mine if _coco(lay)["image_id"] == image_id]
        if not opened:
            im = data.image(image_id)
            for arr, kwargs, _kind in coco_layer_data(data, im, source=coco.get("source", "")):
                opened.append(self.viewer.add_labels(arr, **kwargs))
        opened.sort(key=lambda lay: _coco(lay)["depth"])
        self.reset_choices()
        self.instances.value = opened[0]
        return opened

    # ---- inputs ------------------------------------------------------------------------
    def instance_layers(self) -> list[Labels]:
        """The layers holding the instances (the depth layers of one COCO image, or one)."""
        layer = self.instances.value
        if layer is None or layer not in self.viewer.layers:
            return []
        coco = _coco(layer)
        if coco is None:
            return [layer]
        same = [lay for lay in self.viewer.layers if isinstance(lay, Labels)
                and (c := _coco(lay)) is not None and c["data"] is coco["data"]
                and c["image_id"] == coco["image_id"]]
        return sorted(same, key=lambda lay: _coco(lay)["depth"])

    def source_layers(self) -> list[Labels]:
        """The instance layers: their edits (and undo) recompute the groups."""
        return self.instance_layers()

    def _depths(self, layers: list[Labels]) -> np.ndarray:
        """The depth label images, stacked (copies; reused while unedited)."""
        if len(layers) == 1:
            arr = self.source_array(layers[0])
            if arr.ndim == 2:
                return arr[None]
            if arr.ndim == 3:
                return arr
            raise InputError(f"{layers[0].name!r} has {arr.ndim} dimensions: instances are "
                             "a 2D label image or a (depth, y, x) stack of them")
        arrays = [self.source_array(lay) for lay in layers]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise InputError(f"the depth layers must be 2D and of one size, got {sorted(shapes)}")
        return np.stack(arrays)

    def _info(self, layers: list[Labels]) -> dict[str, dict[int, Any]]:
        """Scores, categories and crowd flags by label, from the layers' features."""
        info: dict[str, dict[int, Any]] = {"scores": {}, "categories": {}, "crowd": {}}
        for layer in layers:
            f = layer.features
            if "index" not in f:
                continue
            idx = [int(v) for v in f["index"]]
            for key, col in (("scores", "score"), ("categories", "category_id"),
                             ("crowd", "iscrowd")):
                if col in f:
                    values = zip(idx, f[col].tolist())
                    if key == "scores":  # NaN: no score (the reader's value for none)
                        values = ((i, v) for i, v in values if np.isfinite(v))
                    info[key].update(values)
        return {k: v for k, v in info.items() if v}

    def params(self) -> dict[str, Any]:
        """The current parameters (as the registered 'merge_redundant' op takes them)."""
        return {"threshold": float(self.threshold.value), "metric": self.metric.value,
                "mode": self.mode.value, "grouping": self.grouping.value,
                "per_category": bool(self.per_category.value)}

    def make_job(self) -> Job | None:
        """Snapshot the depths and the scores/categories; find the groups off the GUI thread."""
        layers = self.instance_layers()
        if not layers:
            self.layers_note.value = ""
            return None
        self.layers_note.value = (f"{len(layers)} depth layers of "
                                  f"{_coco(layers[0])['file_name']!r}" if len(layers) > 1
                                  else "")
        info = self._info(layers)
        p = self.params()
        needs_scores = p["mode"] == "best" or p["grouping"] == "greedy"
        if needs_scores and "scores" not in info:
            raise InputError(f"'{p['mode']}' / '{p['grouping']}' keep the best-scoring "
                             "instance but the layers have no scores (a 'score' feature); "
                             "use 'union' or 'largest' with 'connected' grouping")
        return Job(func=find_label_groups, args=(self._depths(layers), info), params=p,
                   source=layers[0])

    # ---- result ------------------------------------------------------------------------
    def preview_data(self, result: Result) -> np.ndarray:
        """Every group's union in its keeper's label."""
        preview = result.value.preview()
        src = result.job.source
        if src.data.ndim == 3:  # a stack: the same preview on every plane
            return np.repeat(preview[None], src.data.shape[0], axis=0)
        return preview

    def show_result(self, result: Result) -> None:
        """Preview, table and a one-line summary."""
        super().show_result(result)
        self._fill_table(result.value)
        n = len(result.value.groups)
        extra = ""
        if n == 0 and len(self.instance_layers()) == 1 and result.job.args[0].shape[0] == 1:
            extra = (" (one 2D label image holds no overlapping instances: open a COCO file, "
                     "or a (depth, y, x) stack)")
        self.status.value = (f"{len(result.value.labels)} instances, {n} group"
                             f"{'s' if n != 1 else ''} to merge{extra}")

    def _fill_table(self, found) -> None:
        self.table.setRowCount(len(found.groups))
        im = found.image
        for row, g in enumerate(found.groups):
            order = [int(np.flatnonzero(g.members == g.keeper)[0])] + [
                i for i in range(g.members.size) if g.members[i] != g.keeper]
            idx = [int(g.members[i]) for i in order]
            cells = [
                str(row + 1),
                ", ".join(str(int(found.labels[i])) for i in idx),
                ", ".join(f"{g.overlap[i]:.3f}" for i in order[1:]),
                ", ".join(str(rle_area(im.rles[i])) for i in idx),
                ", ".join(_fmt_score(im.scores[i]) for i in idx),
                ", ".join(str(im.category_ids[i]) for i in idx),
            ]
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row)
                self.table.setItem(row, col, item)

    def go_to_group(self, row: int, _column: int = 0) -> None:
        """Centre the view on group ``row``."""
        result = self.last_result
        if result is None or not 0 <= row < len(result.value.groups):
            return
        ys, xs = np.nonzero(result.value.union(row))
        if ys.size == 0:
            return
        layer = result.job.source
        centre = [(ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2]
        if layer.ndim == 3:
            centre = [self.viewer.dims.current_step[-3] if self.viewer.dims.ndim >= 3 else 0,
                      *centre]
        world = np.asarray(layer.data_to_world(centre), dtype=float)
        self.viewer.scene.camera.center = tuple(world[-2:])

    def selected_groups(self) -> list[int]:
        """Rows selected in the table."""
        return sorted({i.row() for i in self.table.selectedIndexes()})

    # ---- writing -----------------------------------------------------------------------
    def _write(self, layers: list[Labels], new: list[np.ndarray]) -> int:
        """Write the new depths; one write per changed layer, linked for undo."""
        if len(layers) == 1:
            layer = layers[0]
            values = new[0] if layer.data.ndim == 2 else np.stack(new)
            n = write_labels(layer, values, preserve_labels=False)
            self._linked = []
            return n
        changed = []
        n = 0
        for layer, arr in zip(layers, new):
            k = write_labels(layer, arr, preserve_labels=False)
            if k:
                changed.append(layer)
                n += k
        self._linked = [(lay, history_signature(lay)) for lay in changed]
        self._linked_undone = False
        if len(changed) < 2:
            self._linked = []
        return n

    def commit(self, result: Result) -> int:
        """Merge all groups (or the selected ones) of ``result`` into the layers."""
        layers = self.instance_layers()
        if [lay.name for lay in layers][:1] != [result.job.source.name]:
            raise InputError("the instance layers changed since the groups were found; "
                             "wait for the table to update and merge again")
        pairs = result.value.label_groups()
        if self._selection is not None:
            pairs = [pairs[k] for k in self._selection if k < len(pairs)]
        if not pairs:
            return 0
        current = self._depths(layers)
        new, conflicts = merged_depths(list(current), pairs)
        if result.job.params["mode"] != "union":
            # best / largest: the keeper's own mask, the others removed
            new = [np.where(np.isin(c, [m for k, ms in pairs for m in ms if m != k]), 0, c)
                   for c in current]
        n = self._write(layers, new)
        if conflicts:
            show_warning(f"{self.title}: {conflicts} pixels of merged instances overlap "
                         "other instances in every depth layer and were left to those.")
        return n

    def merge_all(self, *_args) -> int:
        """Merge every group (recorded in the recipe); returns the pixels changed."""
        self._selection = None
        return self.run_commit()

    def merge_selected(self, *_args) -> int:
        """Merge the groups selected in the table (not recorded: a hand-picked subset)."""
        rows = self.selected_groups()
        if not rows:
            show_warning(f"{self.title}: select groups in the table first.")
            return 0
        self._selection = rows
        try:
            return self.run_commit()
        finally:
            self._selection = None

    def run_commit(self) -> int:
        """Commit (see the base class), then record the step if the base class does not."""
        n = super().run_commit()
        if n and not hasattr(LiveWidget, "_record"):  # the base class does not record yet
            self._record_fallback(self.last_result)
        return n

    def _record_fallback(self, result: Result | None) -> None:
        try:
            from ._recording import recorder_for
        except ImportError:
            return
        step = self.recipe_step(result) if result is not None else None
        if step is not None:
            recorder_for(self.viewer).append(step)

    def _recipe_name(self) -> str:
        layers = self.instance_layers()
        coco = _coco(layers[0]) if layers else None
        if coco is not None and coco.get("source"):
            return os.path.splitext(os.path.basename(coco["source"]))[0]
        return layers[0].name if layers else "instances"

    def recipe_step(self, result: Result | None) -> Step | None:
        """The recipe step of the last merge or NMS (None for a hand-picked subset)."""
        from ..recipe import Step

        if result is None or self._selection is not None:
            return None
        name = self._recipe_name()
        p = dict(result.job.params)
        op = "mask_nms" if result.job.func is nms_label_groups else "merge_redundant"
        if op == "mask_nms":
            p = {k: p[k] for k in ("threshold", "metric", "per_category")}
        return Step(op=op, params=p, inputs={"instances": name}, target=name)

    def run_nms(self, *_args) -> int:
        """Mask NMS by score: remove every instance suppressed by a better-scoring one."""
        layers = self.instance_layers()
        if not layers:
            show_warning(f"{self.title}: choose an instance layer first.")
            return 0
        try:
            info = self._info(layers)
            if "scores" not in info:
                raise InputError("NMS needs scores: the layers have no 'score' feature "
                                 "(ground truth?); use Merge with 'union' or 'largest'")
            params = {"threshold": float(self.threshold.value), "metric": self.metric.value,
                      "per_category": bool(self.per_category.value)}
            depths = self._depths(layers)
            gone = nms_label_groups(depths, info, **params)
            new = [np.where(np.isin(d, gone), 0, d) for d in depths]
            n = self._write(layers, new)
        except (InputError, ValueError, TypeError) as err:
            self._report_error(err, drop_preview=False)
            return 0
        note = (f"NMS removed {len(gone)} instance{'s' if len(gone) != 1 else ''} "
                "(Ctrl-Z undoes)" if n else "NMS: nothing to suppress")
        show_info(f"{self.title}: {note}.")
        self.status.value = note
        if n:
            job = Job(func=nms_label_groups, args=(), params=params, source=layers[0])
            result = Result(job=job, value=gone)
            record = getattr(self, "_record", None)
            if record is not None:
                record(result)
            else:
                self._record_fallback(result)
        return n

    # ---- linked undo of depth layers ---------------------------------------------------
    def check_history(self) -> bool:
        """Follow undo/redo of a linked multi-layer write, then as the base class."""
        self._follow_linked_undo()
        return super().check_history()

    def _follow_linked_undo(self) -> None:
        """Undo (redo) a multi-layer write in all its layers when one of them was undone."""
        if not self._linked:
            return
        live = [(lay, sig) for lay, sig in self._linked if lay in self.viewer.layers]
        sigs = [history_signature(lay) for lay, _ in live]
        if not self._linked_undone:
            undone = [s == (a[0] - 1, a[1] + 1) for s, (_, a) in zip(sigs, live)]
            if any(undone):
                for (lay, _), u in zip(live, undone):
                    if not u:
                        lay.undo()
                self._linked_undone = True
            elif any(s != a for s, (_, a) in zip(sigs, live)):
                self._linked = []  # edited since: the link no longer holds
        else:
            redone = [s == a for s, (_, a) in zip(sigs, live)]
            before = [s == (a[0] - 1, a[1] + 1) for s, (_, a) in zip(sigs, live)]
            if any(redone):
                for (lay, _), r in zip(live, redone):
                    if not r:
                        lay.redo()
                self._linked_undone = False
            elif not all(before):
                self._linked = []

    # ---- export ------------------------------------------------------------------------
    def _export_clicked(self, *_args) -> None:
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.native, "Export COCO JSON",
                                              f"{self._recipe_name()}_clean.json",
                                              "COCO JSON (*.json)")
        if path:
            self.export(path, overwrite=True)  # the dialog asked about replacing

    def export(self, path: str | os.PathLike, *, overwrite: bool = False) -> str | None:
        """Write the instances as COCO JSON (the whole source file, this image cleaned)."""
        from .._coco_reader import layers_to_coco
        from ..io_coco import write_coco

        layers = self.instance_layers()
        if not layers:
            show_warning(f"{self.title}: choose an instance layer first.")
            return None
        try:
            if len(layers) == 1 and layers[0].data.ndim == 3 and _coco(layers[0]) is None:
                stack = layers[0].data
                raise InputError(f"{layers[0].name!r} is a stack of {stack.shape[0]} planes: "
                                 "export writes COCO files of COCO layers or of 2D label "
                                 "images; save the planes as layers first")
            data = layers_to_coco([(np.asarray(lay.data), {"name": lay.name,
                                                           "metadata": lay.metadata})
                                   for lay in layers])
            out = write_coco(path, data, overwrite=overwrite,
                             segmentation=_FORMATS[self.export_format.value])
        except (InputError, ValueError, OSError) as err:
            self._report_error(err, drop_preview=False)
            return None
        show_info(f"{self.title}: wrote {out}")
        self.status.value = f"exported {os.path.basename(str(out))}"
        return str(out)
