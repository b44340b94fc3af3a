"""Instance operations (merge near-duplicates, mask NMS) as registered, replayable ops.

The data of a recipe step over instances is a :class:`~napari_maskclean.io_coco.CocoData`
(a whole COCO file: every image is cleaned on its own) or one
:class:`~napari_maskclean.io_coco.CocoImage`; the result is the same kind, with
each instance's category, score, annotation id and other keys carried along
(a merged group takes those of its keeper). Plain instances (an ``(N, H, W)``
stack, a list of masks or of RLE dicts) are accepted too and give the same
kind back (they have no scores, so ``mode='best'`` and NMS refuse them).

Crowd annotations (``iscrowd``) are regions of many objects, not duplicates:
they are never merged or suppressed, and are kept where they are.

napari-free. ``maskclean run`` runs these ops on COCO JSON files.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from .builtin import register
from .spec import GlobalHow, Input, Locality, OpSpec, OutputKind, Param

__all__ = [
    "InstanceGrouping",
    "InstanceMetric",
    "MergeMode",
    "instance_groups",
    "merge_instances",
    "nms_instances",
]


class InstanceMetric(str, enum.Enum):
    """How the overlap of two instances is measured."""

    IOU = "iou"  #: intersection over union
    IOS = "ios"  #: intersection over the smaller instance (one inside another)


class MergeMode(str, enum.Enum):
    """What a group of redundant instances becomes."""

    UNION = "union"
    BEST = "best"
    LARGEST = "largest"


class InstanceGrouping(str, enum.Enum):
    """How redundant pairs form groups."""

    CONNECTED = "connected"  #: connected components of the redundant pairs
    GREEDY = "greedy"  #: classic mask NMS order: the best score takes its neighbours


_DROP_WHEN_CHANGED = ("area", "bbox")  # stale once the mask changes: recomputed on write


@dataclasses.dataclass
class Group:
    """A group of redundant instances of one image (indices into its instances)."""

    members: NDArray[np.intp]
    keeper: int
    #: The metric of every member with the keeper (1 for the keeper itself).
    overlap: NDArray[np.float64]


def _scores(im: Any, idx: Sequence[int], need: bool, what: str) -> NDArray | None:
    vals = [im.scores[k] for k in idx]
    have = [v is not None for v in vals]
    if all(have) and vals:
        return np.asarray(vals, np.float64)
    if any(have):
        raise ValueError(
            f"{what}: image {im.file_name!r} has scores on some instances only; give every "
            "instance a score or none"
        )
    if need:
        raise ValueError(
            f"{what} keeps the best-scoring instance but image {im.file_name!r} has no "
            "scores (ground truth?); use merge with mode 'union' or 'largest'"
        )
    return None


def _buckets(im: Any, per_category: bool) -> list[list[int]]:
    """Indices of the non-crowd instances, per category when ``per_category``."""
    idx = [k for k in range(len(im.rles)) if not im.iscrowd[k]]
    if not per_category:
        return [idx] if idx else []
    out: dict[Any, list[int]] = {}
    for k in idx:
        out.setdefault(im.category_ids[k], []).append(k)
    return list(out.values())


def instance_groups(
    im: Any,
    *,
    threshold: float = 0.8,
    metric: Literal["iou", "ios"] = "iou",
    mode: Literal["union", "best", "largest"] = "union",
    grouping: Literal["connected", "greedy"] = "connected",
    per_category: bool = False,
) -> list[Group]:
    """The groups of two or more redundant instances of one image, with their keepers.

    Parameters
    ----------
    im : CocoImage
    threshold, metric, mode, grouping
        As :func:`napari_maskclean.core.instances.merge_redundant`.
    per_category : bool
        Only instances of the same category are redundant.

    Returns
    -------
    list of Group
        Ordered by their smallest member; singletons are left out. The keeper
        is the best-scoring member (``mode='best'``, or ``'union'`` with
        scores), else the largest (ties: the lowest index).
    """
    from ..core import rle as _rle
    from ..core.instances import mask_iou, merge_redundant

    if mode not in ("union", "best", "largest"):
        raise ValueError(f"mode must be 'union', 'best' or 'largest', got {mode!r}")
    out = []
    for bucket in _buckets(im, per_category):
        rles = [im.rles[k] for k in bucket]
        s = _scores(im, bucket, mode == "best" or grouping == "greedy", f"merge ({mode})")
        _, groups = merge_redundant(
            rles, threshold=threshold, metric=metric, mode="largest", scores=s,
            grouping=grouping,
        )
        areas = np.array([_rle.rle_area(r) for r in rles], np.int64)
        for g in groups:
            if g.size < 2:
                continue
            if s is not None and mode != "largest":
                local = g[np.lexsort((g, -s[g]))[0]]
            else:
                local = g[np.lexsort((g, -areas[g]))[0]]
            sub = [rles[i] for i in g]
            ov = mask_iou([rles[local]], sub, metric=metric)[0]
            members = np.asarray(bucket, np.intp)[np.sort(g)]
            ov = ov[np.argsort(g, kind="stable")]
            out.append(Group(members, int(bucket[local]), ov))
    out.sort(key=lambda grp: int(grp.members.min()))
    return out


def _merge_image(im: Any, groups: list[Group], mode: str) -> Any:
    from ..core import rle as _rle
    from ..core.instances import merge_redundant

    n = len(im.rles)
    owner = {int(m): g for g in groups for m in g.members}
    keep = [k for k in range(n) if k not in owner or owner[k].keeper == k]
    new = dataclasses.replace(
        im, rles=[], category_ids=[], scores=[], ann_ids=[], iscrowd=[], polygons=[], extra=[]
    )
    for k in keep:
        g = owner.get(k)
        rle, polys, extra = im.rles[k], im.polygons[k], dict(im.extra[k])
        score = im.scores[k]
        if g is not None and mode == "union":
            # the members are connected at the threshold, so at any lower one: one union
            rles = [im.rles[int(m)] for m in g.members]
            merged, _ = merge_redundant(rles, threshold=1e-12, mode="union")
            union = merged[0] if len(merged) == 1 else _union_of(rles)
            if _rle.rle_area(union) != _rle.rle_area(rle):  # the keeper holds the others
                rle, polys = union, None
                for key in _DROP_WHEN_CHANGED:
                    extra.pop(key, None)
            member_scores = [im.scores[int(m)] for m in g.members]
            if all(v is not None for v in member_scores):
                score = max(member_scores)
        new.rles.append(rle)
        new.category_ids.append(im.category_ids[k])
        new.scores.append(score)
        new.ann_ids.append(im.ann_ids[k])
        new.iscrowd.append(im.iscrowd[k])
        new.polygons.append(polys)
        new.extra.append(extra)
    return new


def _union_of(rles: list[dict[str, Any]]) -> dict[str, Any]:
    from ..core import rle as _rle

    shape = tuple(int(v) for v in rles[0]["size"])
    acc = np.zeros(shape, bool)
    for r in rles:
        acc |= _rle.rle_decode(r)
    return _rle.rle_encode(acc)


def _is_coco(data: Any) -> str | None:
    from ..io_coco import CocoData, CocoImage

    if isinstance(data, CocoData):
        return "data"
    if isinstance(data, CocoImage):
        return "image"
    return None


def _per_image(data: Any, func) -> Any:
    kind = _is_coco(data)
    if kind == "image":
        return func(data)
    return dataclasses.replace(
        data, images=[func(im) for im in data.images], unresolved=list(data.unresolved)
    )


def merge_instances(
    instances: Any,
    *,
    threshold: float = 0.8,
    metric: Literal["iou", "ios"] = "iou",
    mode: Literal["union", "best", "largest"] = "union",
    grouping: Literal["connected", "greedy"] = "connected",
    per_category: bool = False,
) -> Any:
    """Merge near-duplicate instances of every image (see ``core.instances.merge_redundant``).

    Parameters
    ----------
    instances : CocoData, CocoImage, (N, H, W) array, list of masks or of RLE dicts
    threshold, metric, mode, grouping
        As :func:`~napari_maskclean.core.instances.merge_redundant`.
    per_category : bool
        COCO input: only instances of the same category merge.

    Returns
    -------
    Same kind as ``instances``
        COCO input keeps the order of the instances (a group sits where its
        keeper was); a merged group keeps its keeper's category, id and other
        keys, the highest score of its members, and is written as RLE when
        its mask changed.
    """
    if _is_coco(instances) is None:
        from ..core.instances import merge_redundant

        return merge_redundant(
            instances, threshold=threshold, metric=metric, mode=mode, grouping=grouping
        )[0]

    def one(im):
        groups = instance_groups(
            im, threshold=threshold, metric=metric, mode=mode, grouping=grouping,
            per_category=per_category,
        )
        return _merge_image(im, groups, mode)

    return _per_image(instances, one)


def nms_instances(
    instances: Any,
    *,
    threshold: float = 0.5,
    metric: Literal["iou", "ios"] = "iou",
    per_category: bool = True,
) -> Any:
    """Mask non-maximum suppression of every image (see ``core.instances.mask_nms``).

    Parameters
    ----------
    instances : CocoData or CocoImage
        With a score on every non-crowd instance.
    threshold, metric
        As :func:`~napari_maskclean.core.instances.mask_nms`.
    per_category : bool
        Suppress only within a category (as detectors do).

    Returns
    -------
    Same kind as ``instances``: the kept instances, unchanged, in their order.
    """
    if _is_coco(instances) is None:
        raise TypeError(
            "NMS needs scores: pass COCO detector results (CocoData or CocoImage), or call "
            "core.instances.mask_nms(masks, scores) for plain masks"
        )
    from ..core.instances import mask_nms

    def one(im):
        gone: set[int] = set()
        for bucket in _buckets(im, per_category):
            s = _scores(im, bucket, True, "NMS")
            kept = mask_nms([im.rles[k] for k in bucket], s, threshold=threshold, metric=metric)
            gone |= set(bucket) - {bucket[int(k)] for k in kept}
        return _select(im, [k for k in range(len(im.rles)) if k not in gone])

    return _per_image(instances, one)


def _select(im: Any, keep: Sequence[int]) -> Any:
    fields = ("rles", "category_ids", "scores", "ann_ids", "iscrowd", "polygons", "extra")
    return dataclasses.replace(
        im, **{f: [getattr(im, f)[k] for k in keep] for f in fields}
    )


# ------------------------------------------------------------------------------ specs
_LOCALITY = Locality.global_(
    GlobalHow.UNTILEABLE,
    "instances are whole objects compared pairwise; clean them per image, not in tiles",
)
_INPUT = (Input("instances", doc="COCO annotations or detector results (CocoData)"),)
_THRESHOLD = Param(
    "threshold", float, 0.8, min=1e-6, max=1.0, label="threshold",
    tooltip="Two instances are redundant when their overlap is at least this.",
)
_METRIC = Param(
    "metric", InstanceMetric, "iou", label="metric",
    tooltip="iou: intersection over union; ios: intersection over the smaller instance "
    "(an instance inside another).",
)

MERGE_REDUNDANT = register(OpSpec(
    name="merge_redundant",
    func="napari_maskclean.ops.instances:merge_instances",
    inputs=_INPUT,
    output=OutputKind.INSTANCES,
    doc="Merge near-duplicate instance masks (union, best-scoring or largest of each group).",
    params=(
        _THRESHOLD,
        _METRIC,
        Param("mode", MergeMode, "union", label="merge into",
              tooltip="union: the union of the group's masks; best: its best-scoring mask; "
              "largest: its largest mask."),
        Param("grouping", InstanceGrouping, "connected", label="grouping",
              tooltip="connected: chains of redundant pairs are one group (order-free); "
              "greedy: NMS order, the best score takes its redundant neighbours."),
        Param("per_category", bool, False, label="within a category only",
              tooltip="Only instances of the same category are redundant."),
    ),
    locality=_LOCALITY,
))

MASK_NMS = register(OpSpec(
    name="mask_nms",
    func="napari_maskclean.ops.instances:nms_instances",
    inputs=_INPUT,
    output=OutputKind.INSTANCES,
    doc="Mask non-maximum suppression by score (detector results).",
    params=(
        dataclasses.replace(_THRESHOLD, default=0.5),
        _METRIC,
        Param("per_category", bool, True, label="within a category only",
              tooltip="Suppress only instances of the same category (as detectors do)."),
    ),
    locality=_LOCALITY,
))

