"""Compare instance masks that may overlap (COCO depth layers, instance stacks).

One label image cannot hold overlapping instances, so the COCO reader opens
them as several *depths* (label images in which every instance lies in one
depth, see :func:`~napari_maskclean.core.instances.instances_to_labels` with
``overlap="layers"``). This module compares such instances with a ground
truth (or a prediction) given the same way, or as a plain label image:

* pixels: the **union** of the instances of each side, as a binary
  foreground (:func:`union_mask`), in a
  :class:`~napari_maskclean.core.review.LiveComparison`;
* objects: the instances themselves, matched one-to-one from their masks
  (:func:`match_instances`): exact IoUs from
  :func:`~napari_maskclean.core.instances.mask_iou` on their run-length
  encodings, then the optimal assignment of
  :func:`~napari_maskclean.core.matching.match_objects_from_overlaps` (the
  one :func:`~napari_maskclean.core.matching.match_objects` uses). On
  instances that do not overlap, the result is identical to
  :func:`~napari_maskclean.core.matching.match_objects` on their label image.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import rle as _rle
from .instances import labels_to_instances, mask_iou
from .matching import ObjectMatch, instance_labels, match_objects_from_overlaps
from .review import LiveComparison, as_compared
from .windows import common_shape

__all__ = [
    "compare_instances",
    "depth_instances",
    "instance_centres",
    "instance_overlaps",
    "match_instances",
    "union_mask",
]


def _as_depths(a: npt.ArrayLike, what: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim == 2:
        return arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{what} must be a (H, W) label image or a (D, H, W) stack of depth label "
            f"images, got shape {arr.shape}"
        )
    return arr


def depth_instances(depths: npt.ArrayLike) -> tuple[list[dict[str, Any]], np.ndarray]:
    """The instances of label images stacked by depth, as COCO RLEs, and their ids.

    Parameters
    ----------
    depths : (H, W) or (D, H, W) array_like of int
        Label images; label ``v`` of every depth is one instance (a label found
        in several depths is one instance: the union of its pixels).

    Returns
    -------
    rles : list of dict
        One COCO RLE per instance (:func:`~napari_maskclean.core.rle.rle_encode`).
    ids : (N,) ndarray of int64
        The label of each instance, increasing.

    Examples
    --------
    >>> d = np.zeros((2, 3, 4), np.uint8); d[0, :2, :2] = 1; d[1, 1:, 1:3] = 2
    >>> rles, ids = depth_instances(d)
    >>> ids.tolist(), [_rle.rle_area(r) for r in rles]
    ([1, 2], [4, 4])
    """
    stack = _as_depths(depths, "depths")
    found: dict[int, dict[str, Any]] = {}
    for plane in stack:
        rles, labels = labels_to_instances(plane, as_rle=True)
        for rle, v in zip(rles, labels.tolist(), strict=True):
            if v in found:  # the same label in two depths: one instance
                rle = _rle.rle_encode(_rle.rle_decode(found[v]) | _rle.rle_decode(rle))
            found[v] = rle
    ids = np.array(sorted(found), dtype=np.int64)
    return [found[v] for v in ids.tolist()], ids


def union_mask(depths: npt.ArrayLike) -> np.ndarray:
    """Foreground of any depth: a (H, W) uint8 mask (1 where any instance is).

    Examples
    --------
    >>> union_mask(np.array([[[0, 3]], [[5, 0]]])).tolist()
    [[1, 1]]
    """
    stack = _as_depths(depths, "depths")
    return np.any(stack != 0, axis=0).astype(np.uint8)


def instance_centres(depths: npt.ArrayLike) -> dict[int, tuple[float, float]]:
    """Centroid ``(row, col)`` of every instance of label images stacked by depth.

    Examples
    --------
    >>> d = np.zeros((2, 2, 4), np.uint8); d[0, 0, :2] = 1; d[1, 1, 2:] = 1
    >>> instance_centres(d)
    {1: (0.5, 1.5)}
    """
    stack = _as_depths(depths, "depths")
    sums: dict[int, np.ndarray] = {}
    h, w = stack.shape[1:]
    rows, cols = np.indices((h, w))
    for plane in stack:
        fg = plane != 0
        if not fg.any():
            continue
        labels, inv = np.unique(plane[fg], return_inverse=True)
        n = np.bincount(inv)
        sy = np.bincount(inv, weights=rows[fg])
        sx = np.bincount(inv, weights=cols[fg])
        for k, v in enumerate(labels.tolist()):
            sums[v] = sums.get(v, np.zeros(3)) + (n[k], sy[k], sx[k])
    return {v: (float(s[1] / s[0]), float(s[2] / s[0])) for v, s in sorted(sums.items())}


def match_instances(
    truth: list[dict[str, Any]],
    pred: list[dict[str, Any]],
    *,
    truth_ids: npt.ArrayLike | None = None,
    pred_ids: npt.ArrayLike | None = None,
    iou_threshold: float = 0.5,
) -> ObjectMatch:
    """One-to-one matching of instance masks that may overlap, by exact IoU.

    Parameters
    ----------
    truth, pred : list of dict
        COCO RLEs of one image shape (e.g. from :func:`depth_instances`).
    truth_ids, pred_ids : array_like of int, optional
        Sorted, distinct, positive id of each instance (default ``1..N``).
    iou_threshold : float, default 0.5
        As in :func:`~napari_maskclean.core.matching.match_objects`.

    Returns
    -------
    ObjectMatch
        Empty instances (no pixel) are left out of the matching and counts.

    Notes
    -----
    :func:`~napari_maskclean.core.instances.mask_iou` counts the intersection
    ``I`` of every pair whose boxes overlap exactly (integers, on the runs) and
    returns ``I / (A + B - I)`` in float64. ``I`` is recovered as the nearest
    integer to ``iou * (A + B) / (1 + iou)``, whose rounding error is far
    below 0.5 for any image of fewer than 2**40 pixels; the recovery is checked
    by recomputing the IoU with the same formula, bit for bit, and an error is
    raised if it ever differs. The assignment is then the one of
    :func:`~napari_maskclean.core.matching.match_objects_from_overlaps`: most
    matches, then the largest sum of IoUs.

    Examples
    --------
    >>> a = np.zeros((4, 4), bool); a[:2, :2] = True
    >>> b = np.zeros((4, 4), bool); b[:2, :3] = True   # overlaps a
    >>> t = [_rle.rle_encode(a), _rle.rle_encode(b)]
    >>> m = match_instances(t, [_rle.rle_encode(b)])
    >>> m.matches, m.unmatched_truth
    ([(2, 1, 1.0)], [1])
    """
    overlaps = instance_overlaps(truth, pred, truth_ids=truth_ids, pred_ids=pred_ids)
    return match_objects_from_overlaps(*overlaps, iou_threshold=iou_threshold)


def instance_overlaps(
    truth: list[dict[str, Any]],
    pred: list[dict[str, Any]],
    *,
    truth_ids: npt.ArrayLike | None = None,
    pred_ids: npt.ArrayLike | None = None,
) -> tuple[np.ndarray, ...]:
    """Areas and exact pairwise intersections of two lists of instance RLEs.

    The arguments of :func:`match_instances`; returns the first seven
    arguments of :func:`~napari_maskclean.core.matching.match_objects_from_overlaps`
    (truth ids, pred ids, their areas, every overlapping pair and its
    intersection), empty instances left out. See :func:`match_instances`.
    """
    tid = np.arange(1, len(truth) + 1) if truth_ids is None else np.asarray(truth_ids)
    pid = np.arange(1, len(pred) + 1) if pred_ids is None else np.asarray(pred_ids)
    tid, pid = tid.astype(np.int64).reshape(-1), pid.astype(np.int64).reshape(-1)
    for what, ids, masks in (("truth", tid, truth), ("pred", pid, pred)):
        if ids.size != len(masks):
            raise ValueError(
                f"{what}_ids has {ids.size} ids for {len(masks)} instances; pass one id "
                "per instance"
            )
    at = np.array([_rle.rle_area(r) for r in truth], dtype=np.int64)
    ap = np.array([_rle.rle_area(r) for r in pred], dtype=np.int64)
    keep_t, keep_p = np.flatnonzero(at > 0), np.flatnonzero(ap > 0)
    truth = [truth[k] for k in keep_t]
    pred = [pred[k] for k in keep_p]
    tid, at, pid, ap = tid[keep_t], at[keep_t], pid[keep_p], ap[keep_p]
    pairs_t = pairs_p = inter = np.zeros(0, np.int64)
    if truth and pred:
        shapes = {tuple(truth[0]["size"]), tuple(pred[0]["size"])}
        if len(shapes) > 1:
            raise ValueError(
                f"truth and prediction instances have different image sizes {sorted(shapes)}; "
                "compare instances of the same image"
            )
        iou = mask_iou(truth, pred, sparse=True).tocoo()
        i, j, v = iou.row.astype(np.int64), iou.col.astype(np.int64), iou.data
        total = (at[i] + ap[j]).astype(np.float64)
        inter = np.rint(v * total / (1.0 + v)).astype(np.int64)
        check = np.zeros(v.shape)
        np.divide(inter, at[i] + ap[j] - inter, out=check, where=inter > 0)
        if not np.array_equal(check, v):  # cannot happen below 2**40 pixels
            raise RuntimeError("intersections could not be recovered exactly from the IoUs")
        pairs_t, pairs_p = tid[i], pid[j]
    return tid, pid, at, ap, pairs_t, pairs_p, inter


def compare_instances(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    truth_method: str | None = None,
    pred_method: str | None = None,
    iou_threshold: float | None = None,
    min_size: int = 1,
) -> LiveComparison:
    """Compare instances that may overlap: pixels on the union, objects one by one.

    Parameters
    ----------
    truth, pred : (H, W) or (D, H, W) array_like
        A ``(D, H, W)`` stack holds instances by depth (label ``v`` of every
        depth is one instance, as :func:`depth_instances`); a ``(H, W)`` array
        is a label image (a mask with one foreground value is split into its
        connected components, as
        :func:`~napari_maskclean.core.matching.instance_labels`), or an image
        thresholded with ``truth_method`` / ``pred_method``.
    truth_method, pred_method : str, optional
        Threshold a 2D image side first (see
        :func:`~napari_maskclean.core.review.compare`).
    iou_threshold : float, optional
        Also match the instances (:func:`match_instances`).
    min_size : int, default 1
        Smallest error component listed (see
        :meth:`~napari_maskclean.core.review.LiveComparison.errors`).

    Returns
    -------
    LiveComparison
        Of the two union masks ("any foreground"); ``objects`` holds the
        matching and the instance centroids, as :func:`~.review.compare` does.

    Examples
    --------
    >>> t = np.zeros((2, 4, 4), np.uint8); t[0, :2, :2] = 1; t[1, :2, :3] = 2
    >>> p = np.zeros((4, 4), np.uint8); p[:2, :3] = 7; p[3, 3] = 9
    >>> live = compare_instances(t, p, iou_threshold=0.5)
    >>> live.counts, live.objects["match"].matches
    ((6, 1, 0, 9), [(2, 7, 1.0)])
    """
    sides = []
    for what, a, method in (("ground truth", truth, truth_method),
                            ("prediction", pred, pred_method)):
        arr = np.asarray(a)
        if arr.ndim == 2:
            arr = instance_labels(as_compared(arr, method=method, what=what))
        elif method is not None:
            raise ValueError(f"the {what} is a stack of instance depths: it cannot be "
                             "thresholded; pass a label stack, or a 2D image to threshold")
        sides.append(_as_depths(arr, what))
    t, p = sides
    names = ("ground truth", "prediction")
    if t.shape[1:] != p.shape[1:]:
        common_shape(t.shape[1:], p.shape[1:], names=names)  # raises, naming both
    live = LiveComparison(union_mask(t), union_mask(p))
    live.errors(min_size=min_size)
    if iou_threshold is not None:
        (rt, it), (rp, ip) = depth_instances(t), depth_instances(p)
        live.objects = {
            "match": match_instances(rt, rp, truth_ids=it, pred_ids=ip,
                                     iou_threshold=iou_threshold),
            "truth_centres": instance_centres(t),
            "pred_centres": instance_centres(p),
        }
    return live
