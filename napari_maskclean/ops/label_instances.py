"""Instances held in label images (the Instances dock's data), napari-free.

Instances are the labels of one or more 2D label images ("depths": the
layers of one COCO image as the reader opens them, or the planes of a
``(D, H, W)`` stack). These helpers find the redundant groups among them
(:func:`find_label_groups`), merge groups into their keepers
(:func:`merged_depths`) and list what mask NMS suppresses
(:func:`nms_label_groups`), with the same grouping and keepers as the
registered ops of :mod:`napari_maskclean.ops.instances`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .instances import Group, instance_groups, nms_instances

__all__ = [
    "LabelGroups",
    "find_label_groups",
    "instances_of_labels",
    "label_boxes",
    "merged_depths",
    "nms_label_groups",
]


def instances_of_labels(
    depths: Sequence[NDArray[np.integer]],
    *,
    scores: dict[int, float] | None = None,
    categories: dict[int, Any] | None = None,
    crowd: dict[int, bool] | None = None,
) -> tuple[Any, NDArray[np.int64]]:
    """The instances of label images as a CocoImage, and the label of each.

    A label found in several depths is one instance (the union). ``scores``,
    ``categories`` and ``crowd`` map labels to their values (missing: None / 1 /
    False).
    """
    from ..core import rle as _rle
    from ..core.instances import labels_to_instances
    from ..io_coco import CocoImage

    if len(depths) == 0:
        raise ValueError("no label image given")
    shapes = {np.shape(d) for d in depths}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise ValueError(
            f"the depth layers must be 2D label images of one size, got shapes "
            f"{sorted(shapes)}; pick the depth layers of one image"
        )
    found: dict[int, dict[str, Any]] = {}
    for arr in depths:
        rles, labels = labels_to_instances(np.asarray(arr), as_rle=True)
        for rle, v in zip(rles, labels.tolist()):
            if v in found:
                rle = _rle.rle_encode(_rle.rle_decode(found[v]) | _rle.rle_decode(rle))
            found[v] = rle
    h, w = next(iter(shapes))
    im = CocoImage(0, "(label layers)", int(h), int(w))
    labels = np.array(sorted(found), np.int64)
    for v in labels.tolist():
        im.rles.append(found[v])
        s = None if scores is None else scores.get(v)
        im.scores.append(None if s is None or not np.isfinite(s) else float(s))
        im.category_ids.append(1 if categories is None else categories.get(v, 1))
        im.iscrowd.append(bool(crowd.get(v, False)) if crowd else False)
        im.ann_ids.append(v)
        im.polygons.append(None)
        im.extra.append({})
    return im, labels


def label_boxes(depths: Sequence[NDArray[np.integer]]) -> dict[int, tuple[int, int, int, int]]:
    """``label -> (y0, y1, x0, x1)``: the box of each label over all depths."""
    from scipy import ndimage as ndi

    boxes: dict[int, tuple[int, int, int, int]] = {}
    for d in depths:
        d = np.asarray(d)
        top = int(d.max()) if d.size else 0
        if top > 4 * d.size + 1024:  # find_objects allocates one slot per value
            h, w = d.shape
            return {int(v): (0, h, 0, w) for v in np.unique(d) if v > 0}
        for v, sl in enumerate(ndi.find_objects(d), start=1):
            if sl is None:
                continue
            b = (sl[0].start, sl[0].stop, sl[1].start, sl[1].stop)
            old = boxes.get(v)
            boxes[v] = b if old is None else (min(old[0], b[0]), max(old[1], b[1]),
                                              min(old[2], b[2]), max(old[3], b[3]))
    return boxes


def _group_box(boxes: dict, labels: Sequence[int]) -> tuple[slice, slice] | None:
    found = [boxes[v] for v in labels if v in boxes]
    if not found:
        return None
    y0, y1, x0, x1 = (f(b[i] for b in found) for i, f in enumerate((min, max, min, max)))
    return slice(y0, y1), slice(x0, x1)


def merged_depths(
    depths: Sequence[NDArray[np.integer]],
    groups: Sequence[tuple[int, Sequence[int]]],
    *,
    boxes: dict[int, tuple[int, int, int, int]] | None = None,
) -> tuple[list[NDArray[np.integer]], int]:
    """Label images with each group merged into its keeper's label.

    Parameters
    ----------
    depths : list of (H, W) label arrays
        Not modified.
    groups : list of (keeper label, member labels)
        Members (other than the keeper) are removed; the keeper becomes the union
        of the group, in the first depth where the union overlaps no other
        instance (its own depth first).
    boxes : dict, optional
        :func:`label_boxes` of ``depths`` (computed if not given); each group
        is worked on inside the box of its members only.

    Returns
    -------
    new_depths : list of arrays
        New arrays (the inputs where nothing changes).
    conflicts : int
        Pixels of unions that overlap other instances in every depth and were
        left to those (0 unless a union collides in all depths).
    """
    out = [np.asarray(d) for d in depths]
    copied = [False] * len(out)
    boxes = label_boxes(out) if boxes is None else boxes

    def writable(i: int) -> NDArray:
        if not copied[i]:
            out[i] = out[i].copy()
            copied[i] = True
        return out[i]

    conflicts = 0
    for keeper, members in groups:
        box = _group_box(boxes, [keeper, *members])
        if box is None:
            continue
        labels = list(members) + [keeper]
        union = np.zeros(out[0][box].shape, bool)
        home = None
        for i, d in enumerate(out):
            where = np.isin(d[box], labels)
            if where.any():
                union |= where
                if home is None and (d[box] == keeper).any():
                    home = i
                writable(i)[box][where] = 0
        if home is None:
            continue
        order = [home] + [i for i in range(len(out)) if i != home]
        target = next((i for i in order if not out[i][box][union].any()), None)
        if target is None:
            target = home
            free = union & (out[home][box] == 0)
            conflicts += int(union.sum() - free.sum())
            union = free
        writable(target)[box][union] = keeper
    return out, conflicts


@dataclasses.dataclass
class LabelGroups:
    """Redundant groups among the instances of label images (the Instances dock's result)."""

    image: Any  #: the instances (CocoImage; ``ann_ids`` are their labels)
    labels: NDArray[np.int64]  #: the label of each instance
    groups: list[Group]  #: indices into ``labels``
    shape: tuple[int, int]
    #: each group's union in its keeper's label (computed with the groups)
    preview_array: NDArray[np.integer] | None = None

    def label_groups(self) -> list[tuple[int, list[int]]]:
        """(keeper label, member labels) of every group."""
        return [(int(self.labels[g.keeper]), [int(v) for v in self.labels[g.members]])
                for g in self.groups]

    def union(self, k: int) -> NDArray[np.bool_]:
        """The union of group ``k``'s masks."""
        from ..core import rle as _rle

        out = np.zeros(self.shape, bool)
        for m in self.groups[k].members:
            out |= _rle.rle_decode(self.image.rles[int(m)])
        return out

    def preview(self) -> NDArray[np.integer]:
        """Each group's union painted with its keeper's label (0 elsewhere)."""
        if self.preview_array is not None:
            return self.preview_array
        out = np.zeros(self.shape, np.int64)
        for k, (keeper, _) in enumerate(self.label_groups()):
            out[self.union(k)] = keeper
        return out


def find_label_groups(
    depths: Sequence[NDArray[np.integer]],
    info: dict[str, dict[int, Any]] | None = None,
    *,
    threshold: float = 0.8,
    metric: Literal["iou", "ios"] = "iou",
    mode: Literal["union", "best", "largest"] = "union",
    grouping: Literal["connected", "greedy"] = "connected",
    per_category: bool = False,
) -> LabelGroups:
    """The redundant groups of the instances held in label images (see :func:`instance_groups`).

    ``info`` maps ``"scores"``, ``"categories"``, ``"crowd"`` to ``{label: value}``.
    """
    info = info or {}
    im, labels = instances_of_labels(
        depths, scores=info.get("scores"), categories=info.get("categories"),
        crowd=info.get("crowd"),
    )
    groups = instance_groups(
        im, threshold=threshold, metric=metric, mode=mode, grouping=grouping,
        per_category=per_category,
    )
    found = LabelGroups(im, labels, groups, (im.height, im.width))
    boxes = label_boxes(depths)
    dtype = np.result_type(*[np.asarray(d).dtype for d in depths])
    preview = np.zeros(found.shape, dtype)
    for keeper, members in found.label_groups():
        box = _group_box(boxes, members)
        for d in depths:
            preview[box][np.isin(np.asarray(d)[box], members)] = keeper
    found.preview_array = preview
    return found


def nms_label_groups(
    depths: Sequence[NDArray[np.integer]],
    info: dict[str, dict[int, Any]] | None = None,
    *,
    threshold: float = 0.5,
    metric: Literal["iou", "ios"] = "iou",
    per_category: bool = True,
) -> list[int]:
    """Labels that mask NMS suppresses among the instances of label images."""
    info = info or {}
    im, labels = instances_of_labels(
        depths, scores=info.get("scores"), categories=info.get("categories"),
        crowd=info.get("crowd"),
    )
    kept = nms_instances(im, threshold=threshold, metric=metric, per_category=per_category)
    return sorted(set(labels.tolist()) - set(kept.ann_ids))
