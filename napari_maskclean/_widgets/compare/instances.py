"""Instance inputs of the Compare dock: COCO images and stacks of instance depths (issue 12).

A COCO file opens (``_coco_reader.py``) as one Labels layer per image when its
instances do not overlap, and as one layer per overlapping *depth* when they
do; ``metadata["coco"]`` links the depth layers of one image. Either side of
the comparison may be

* a COCO label image (one layer): compared as it is, pixel by pixel, with its
  labels as the objects (an instance in two parts stays one object);
* the depth layers of one COCO image (choosing any of them takes all of them;
  all must be open), or a ``(D, H, W)`` Labels layer whose planes are depths
  when "3D labels are instance depths" is ticked: pixel metrics on the union
  of the instances, objects matched from the instances' own masks
  (:func:`~napari_maskclean.core.instance_compare.compare_instances`, exact).
  One label image cannot hold these instances: in "any foreground" mode they
  are compared on their union, re-counted in full after an edit of any depth,
  and the corrections (which write into one label image) are refused with a
  message.

In the class modes ("one class", "multi-class") a COCO side is compared by
COCO *category* (:func:`~napari_maskclean.core.category_compare.compare_categories`):
every pixel takes the category of its instance, objects match only within
their category and the object scores are also given per category. The
category of a label comes from the layer's ``features`` (``index`` ->
``category_id``), else from the file's instance list; a label painted by hand
takes the category Save would give it (the file's first). A plain Labels
layer on the other side is a class map whose values are category ids (its
objects: the connected regions of each class). Where instances of different
categories overlap there is no category map: the pixels are compared on the
union of the instances and each category is scored on its own union (the
classes tab says so and shows no confusion matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from magicgui.widgets import CheckBox
from napari.layers import Image, Labels

from ...core.category_compare import compare_categories
from ...core.instance_compare import compare_instances
from ...core.windows import common_shape
from .._live import InputError, Job

__all__ = ["InstanceInputsMixin", "coco_categories", "coco_depth_layers", "coco_meta"]

CATEGORY_NOTE = ("by COCO category: every pixel takes its instance's category, objects "
                 "match only within their category")
INSTANCE_MODE_NOTE = ("instances: pixels compared on the union of the instances, objects "
                      "matched instance by instance")


def coco_meta(layer) -> dict[str, Any] | None:
    """The COCO link the plugin's reader puts in a layer's metadata (None if none)."""
    coco = getattr(layer, "metadata", {}).get("coco")
    return coco if isinstance(coco, dict) and "data" in coco else None


def coco_depth_layers(viewer, layer) -> list[Labels] | None:
    """All depth layers of ``layer``'s COCO image, by depth; None unless it has several.

    Raises InputError when some of the image's depth layers are not open (their
    instances would be missing from the comparison).
    """
    coco = coco_meta(layer)
    if coco is None or int(coco.get("depths", 1)) <= 1:
        return None
    same = [lay for lay in viewer.layers if isinstance(lay, Labels)
            and (c := coco_meta(lay)) is not None and c["data"] is coco["data"]
            and c["image_id"] == coco["image_id"]]
    same.sort(key=lambda lay: coco_meta(lay)["depth"])
    depths = [coco_meta(lay)["depth"] for lay in same]
    if depths != list(range(int(coco["depths"]))):
        raise InputError(
            f"{layer.name!r} is one of the {coco['depths']} depth layers of the COCO image "
            f"{coco.get('file_name', '')!r} (its instances overlap), but only depth(s) "
            f"{depths} are open: open the file again (or 'Open image' in the Instances dock) "
            "so that all its instances are compared.")
    return same


def coco_categories(layers) -> tuple[dict[int, int], dict[int, str], int]:
    """The COCO layers' {label: category_id}, {category_id: name} and default category.

    Labels come from the layers' ``features`` (``index``, ``category_id``) and,
    for labels without a feature row, from the file (label ``k + 1`` is the
    image's instance ``k``). The default (for labels painted by hand) is the
    file's first category, as the COCO writer gives them.
    """
    coco = coco_meta(layers[0])
    data = coco["data"]
    try:
        im = data.image(coco["image_id"])
        cats = {k + 1: int(c) for k, c in enumerate(im.category_ids)}
    except KeyError:  # an image removed from the data: the features alone
        cats = {}
    for layer in layers:
        feats = getattr(layer, "features", None)
        if feats is not None and {"index", "category_id"} <= set(feats.columns):
            cats.update({int(i): int(c) for i, c in zip(feats["index"], feats["category_id"],
                                                        strict=True)})
    names = {int(k): str(v) for k, v in data.categories.items()}
    default = next(iter(data.categories), 1)
    return cats, names, int(default)


class InstanceInputsMixin:
    """Instance layers (COCO depth layers, instance stacks) for :class:`CompareWidget`."""

    def _build_instance_inputs(self) -> CheckBox:
        self.stack_depths = CheckBox(
            text="3D labels are instance depths", value=False,
            tooltip="A (depth, y, x) Labels layer holds overlapping instances, one depth "
                    "per plane (as instances_to_labels(overlap='layers') or the Instances "
                    "dock make them): compare the union of its instances and match the "
                    "instances themselves. Off: a 3D layer is a volume.")
        self._instance_ids: set[int] = set()
        return self.stack_depths

    def instance_layers(self, layer) -> list[Labels] | None:
        """The layers holding one side's overlapping instances (None: a plain layer)."""
        if not isinstance(layer, Labels):
            return None
        depth_layers = coco_depth_layers(self.viewer, layer)
        if depth_layers is not None:
            return depth_layers
        if self.stack_depths.value and layer.ndim == 3:
            return [layer]
        return None

    def instance_mode(self) -> bool:
        """True when either side holds overlapping instances (never raises)."""
        try:
            return any(self.instance_layers(lay) is not None
                       for lay in (self.prediction.value, self.truth.value))
        except InputError:
            return True

    def _instance_sources(self) -> list:
        """All layers of both sides (every depth layer): their edits recompute."""
        out, ids = [], set()
        for layer in (self.prediction.value, self.truth.value):
            try:
                group = self.instance_layers(layer)
            except InputError:  # shown when the job is made
                group = None
            if group is None:
                out.append(layer)
            else:
                out.extend(group)
                ids.update(id(lay) for lay in group)
        self._instance_ids = ids
        return out

    def is_instance_layer(self, layer) -> bool:
        """True for a layer of one side's overlapping instances (edits: full re-count)."""
        return id(layer) in self._instance_ids

    def _side_array(self, layer, group: list[Labels] | None, name: str) -> np.ndarray:
        if group is None:
            if layer.ndim != 2:
                raise InputError(
                    f"{name} has {layer.ndim} axes but the other side holds 2D instances; "
                    "choose a 2D layer (or a stack of instance depths with '3D labels are "
                    "instance depths').")
            return self.source_array(layer)
        if len(group) == 1:  # a (D, H, W) stack
            return self.source_array(group[0])
        arrays = [self.source_array(lay) for lay in group]
        if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 2:
            raise InputError(f"the depth layers of {name} must be 2D and of one size, got "
                             f"{sorted({a.shape for a in arrays})}")
        return np.stack(arrays)

    def _instance_job(self, pred, truth, names: tuple[str, str], modes: tuple) -> Job:
        """The job comparing instances that may overlap (see the module docstring)."""
        if self.mode.value != modes[0] and any(
                coco_meta(lay) is not None for lay in (pred, truth)):
            return self._category_job(pred, truth, names, modes)
        if self.mode.value != modes[0]:
            raise InputError(
                "overlapping instances without categories are compared as 'any foreground' "
                "(pixels: the union of the instances; objects: the instances one by one): "
                "choose 'compare: any foreground'.")
        pg, tg = self.instance_layers(pred), self.instance_layers(truth)
        p = self._side_array(pred, pg, names[0])
        t = self._side_array(truth, tg, names[1])
        common = common_shape(p.shape[-2:], t.shape[-2:], names=names,
                              crop=bool(self.crop.value))
        window = (Ellipsis, *(slice(0, n) for n in common))
        if p.shape[-2:] != common:
            p = p[window]
        if t.shape[-2:] != common:
            t = t[window]
        # a 2D COCO label image beside the depths: its labels are instances too
        if pg is None and coco_meta(pred) is not None:
            p = p[None]
        if tg is None and coco_meta(truth) is not None:
            t = t[None]
        params: dict[str, Any] = {"min_size": int(self.min_size.value)}
        for side, layer in (("pred", pred), ("truth", truth)):
            if isinstance(layer, Image):
                params[f"{side}_method"] = self.method.value
        if self.match.value:
            params["iou_threshold"] = float(self.iou.value)
        job = Job(compare_instances, (t, p), params, pred, tuple(slice(0, n) for n in common))
        job.truth_layer = truth
        job.common = common
        job.instances = True
        groups = [g for g in (pg, tg) if g is not None]
        job.instance_note = "; ".join(
            f"{len(g)} depth layers of {coco_meta(g[0]).get('file_name', '')!r}"
            if len(g) > 1 else f"{g[0].name!r}: {g[0].data.shape[0]} depths" for g in groups)
        return job

    def _crop_sides(self, p: np.ndarray, t: np.ndarray, names) -> tuple:
        common = common_shape(p.shape[-2:], t.shape[-2:], names=names,
                              crop=bool(self.crop.value))
        window = (Ellipsis, *(slice(0, n) for n in common))
        return p[window], t[window], common

    def _category_job(self, pred, truth, names: tuple[str, str], modes: tuple) -> Job:
        """The job comparing a COCO side by category (see the module docstring)."""
        params: dict[str, Any] = {"min_size": int(self.min_size.value)}
        arrays, all_names, defaults, plain = [], {}, {"truth": None, "pred": None}, []
        for side, layer, name in (("pred", pred, names[0]), ("truth", truth, names[1])):
            group = self.instance_layers(layer)
            if coco_meta(layer) is None:
                if group is not None:
                    raise InputError(
                        f"{name} is a stack of instance depths without categories: compare it "
                        "as 'any foreground', or with a COCO file's layers by category.")
                if isinstance(layer, Image):
                    params[f"{side}_method"] = self.method.value
                plain.append(layer.name)
                arrays.append(self._side_array(layer, None, name))
                continue
            group = group or [layer]
            cats, cat_names, first = coco_categories(group)
            params[f"{side}_categories"] = cats
            # the truth's names first (two files may name one id differently)
            all_names = {**all_names, **cat_names} if side == "truth" else cat_names
            defaults[side] = first  # a hand-painted label: its own file's first category
            arrays.append(self._side_array(layer, group if len(group) > 1 else None, name))
        p, t, common = self._crop_sides(*arrays, names)
        params["default_category"] = (defaults["truth"], defaults["pred"])
        if self.mode.value == modes[1]:
            params["positive"] = int(self.class_value.value)
        if self.match.value:
            params["iou_threshold"] = float(self.iou.value)
        job = Job(compare_categories, (t, p), params, pred, tuple(slice(0, n) for n in common))
        job.truth_layer, job.common = truth, common
        job.instances = job.categories = True
        job.category_names = all_names
        job.instance_note = CATEGORY_NOTE + (
            f"; the class values of {plain[0]!r} are category ids (its objects: the "
            "connected regions of each class)" if plain else "")
        return job
