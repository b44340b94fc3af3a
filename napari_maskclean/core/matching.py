"""Object-wise (instance) comparison: one-to-one matching of labelled objects by IoU.

* :func:`match_objects` -- matching of two label images, object-level precision /
  recall / F1 and panoptic quality.
* :func:`match_objects_from_overlaps` -- the same matching from object areas and
  pairwise intersections (summed over tiles or files by a tiled engine).
* :func:`instance_labels` -- the objects of a mask (connected components of a
  binary mask); :func:`object_centres` -- their centroids.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ._checks import _check_iou_threshold, _check_pair, _safe_div

__all__ = [
    "ObjectMatch",
    "instance_labels",
    "match_objects",
    "match_objects_from_overlaps",
    "object_centres",
]

# Largest number of bins of the dense object-pair histogram; above it a
# sort-based path is used. Largest label value for which a lookup table
# (instead of np.unique) maps ids. Tests lower both to check that every path
# gives identical results.
_DENSE_MAX_BINS = 1 << 22
_LUT_MAX_LABEL = 1 << 24


@dataclass(frozen=True)
class ObjectMatch:
    """Result of :func:`match_objects`.

    Attributes
    ----------
    matches : list of (int, int, float)
        Matched pairs ``(truth_id, pred_id, iou)``, sorted by truth id.
    unmatched_truth : list of int
        Ids of truth objects without a match (false negatives).
    unmatched_pred : list of int
        Ids of predicted objects without a match (false positives).
    precision, recall, f1 : float
        Object-level scores: TP / n_pred, TP / n_truth and
        2 TP / (n_truth + n_pred) (0.0 when the denominator is 0).
    mean_matched_iou : float
        Mean IoU of the matched pairs (0.0 without matches).
    segmentation_quality, recognition_quality, panoptic_quality : float
        SQ = mean matched IoU, RQ = F1, PQ = SQ * RQ (Kirillov et al. 2019).
    n_truth, n_pred : int
        Numbers of objects in the truth and the prediction.
    iou_threshold : float
        Threshold used for matching.
    """

    matches: list[tuple[int, int, float]] = field(default_factory=list)
    unmatched_truth: list[int] = field(default_factory=list)
    unmatched_pred: list[int] = field(default_factory=list)
    precision: float = 0.0
    recall: float = 0.0
    f1: float = 0.0
    mean_matched_iou: float = 0.0
    panoptic_quality: float = 0.0
    segmentation_quality: float = 0.0
    recognition_quality: float = 0.0
    n_truth: int = 0
    n_pred: int = 0
    iou_threshold: float = 0.5

    @property
    def tp(self) -> int:
        """Number of matched objects."""
        return len(self.matches)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (matches as lists)."""
        d = asdict(self)
        d["matches"] = [list(m) for m in self.matches]
        return d


def _compact_labels(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map non-zero label ids to 1..n. Returns (compact image, ids)."""
    flat = a.reshape(-1)
    if flat.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.int64)
    hi = int(flat.max())
    if hi <= max(_LUT_MAX_LABEL, 0) and (a.dtype.kind in "bu" or int(flat.min()) >= 0):
        present = np.bincount(flat.astype(np.intp, copy=False), minlength=hi + 1) > 0
        present[0] = False
        ids = np.flatnonzero(present)
        lut = np.zeros(hi + 1, dtype=np.intp)
        lut[ids] = np.arange(1, ids.size + 1)
        return lut[flat], ids.astype(np.int64)
    uniq, inv = np.unique(flat, return_inverse=True)
    inv = inv.reshape(-1).astype(np.intp)
    if uniq[0] == 0:
        return inv, uniq[1:].astype(np.int64)
    return inv + 1, uniq.astype(np.int64)


def _check_labels_image(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype == bool:
        return a.view(np.uint8)
    if a.dtype.kind not in "iu":
        raise TypeError(
            f"{what} must be an integer label image (0 = background), got dtype "
            f"{a.dtype}; convert it with skimage.measure.label(mask) or .astype(np.int32)"
        )
    if a.dtype.kind == "i" and a.size and int(a.min()) < 0:
        raise ValueError(
            f"{what} contains negative labels; object ids must be >= 0 (0 = background)"
        )
    return a


def _instance_overlaps(t: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    """Joint histogram of compact truth/pred ids.

    Returns truth ids, pred ids, truth areas, pred areas and, for every
    overlapping pair, compact truth index, compact pred index (0-based) and
    intersection size.
    """
    ct, tid = _compact_labels(t)
    cp, pid = _compact_labels(p)
    nt, npr = tid.size, pid.size
    nb = (nt + 1) * (npr + 1)
    if nb <= _DENSE_MAX_BINS:
        key = ct * (npr + 1)
        key += cp
        joint = np.bincount(key, minlength=nb).reshape(nt + 1, npr + 1)
        area_t = joint.sum(axis=1)[1:]
        area_p = joint.sum(axis=0)[1:]
        inter = joint[1:, 1:]
        ti, pi = np.nonzero(inter)
        sizes = inter[ti, pi]
    else:
        area_t = np.bincount(ct, minlength=nt + 1)[1:]
        area_p = np.bincount(cp, minlength=npr + 1)[1:]
        both = (ct > 0) & (cp > 0)
        key = ct[both].astype(np.int64) * (npr + 1) + cp[both]
        uk, sizes = np.unique(key, return_counts=True)
        ti = uk // (npr + 1) - 1
        pi = uk % (npr + 1) - 1
    return (
        tid,
        pid,
        area_t.astype(np.int64),
        area_p.astype(np.int64),
        np.asarray(ti, dtype=np.int64),
        np.asarray(pi, dtype=np.int64),
        np.asarray(sizes, dtype=np.int64),
    )


def _assign(ti: np.ndarray, pi: np.ndarray, iou: np.ndarray, nt: int, npr: int) -> np.ndarray:
    """Choose candidate pairs: most matches, then largest IoU sum; return indices."""
    if ti.size == 0:
        return np.zeros(0, dtype=np.int64)
    deg_t = np.bincount(ti, minlength=nt)
    deg_p = np.bincount(pi, minlength=npr)
    simple = (deg_t[ti] == 1) & (deg_p[pi] == 1)
    chosen = [np.flatnonzero(simple)]
    rest = np.flatnonzero(~simple)
    if rest.size:
        # connected components of the conflicting part of the bipartite graph
        rt, rp = ti[rest], pi[rest]
        graph = coo_matrix((np.ones(rest.size), (rt, rp + nt)), shape=(nt + npr, nt + npr))
        _, comp = connected_components(graph, directed=False)
        edge_comp = comp[rt]
        order = np.argsort(edge_comp, kind="stable")
        bounds = np.flatnonzero(np.diff(edge_comp[order])) + 1
        for grp in np.split(order, bounds):
            e = rest[grp]
            rows, r_inv = np.unique(ti[e], return_inverse=True)
            cols, c_inv = np.unique(pi[e], return_inverse=True)
            w = np.zeros((rows.size, cols.size))
            # count first, IoU sum as tie-break: sum(iou)/(m+1) < 1
            w[r_inv, c_inv] = 1.0 + iou[e] / (min(rows.size, cols.size) + 1)
            r, c = linear_sum_assignment(w, maximize=True)
            sel = w[r, c] > 0
            lookup = {(a, b): idx for idx, a, b in zip(e, r_inv, c_inv, strict=True)}
            chosen.append(
                np.array(
                    [lookup[(a, b)] for a, b in zip(r[sel], c[sel], strict=True)],
                    dtype=np.int64,
                )
            )
    return np.concatenate(chosen)


def match_objects(
    truth_labels: npt.ArrayLike,
    pred_labels: npt.ArrayLike,
    *,
    iou_threshold: float = 0.5,
) -> ObjectMatch:
    """One-to-one matching of ground-truth and predicted objects by IoU.

    Parameters
    ----------
    truth_labels, pred_labels : array_like of int
        Label images of the same shape: 0 = background, every other value
        one object. Ids need not be consecutive. Boolean masks count as one
        object (id 1).
    iou_threshold : float, default 0.5
        A truth and a predicted object can be matched when they overlap and
        their IoU is >= this value (0 to 1).

    Returns
    -------
    ObjectMatch
        Matches, unmatched ids and object-level scores.

    Notes
    -----
    All IoUs come from one joint histogram of (truth id, pred id) pairs:
    the areas are its margins and the intersections its entries, so the
    cost does not grow with the number of object pairs. The matching is
    optimal: it maximises the number of matched pairs and, among those, the
    sum of their IoUs (:func:`scipy.optimize.linear_sum_assignment`, run only
    on groups of candidates that compete for the same object). For
    thresholds above 0.5 each object has at most one candidate so the
    matching is unique; at exactly 0.5 an object split into two equal halves
    has two candidates.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 1, 0, 2, 2], [1, 1, 0, 2, 2]])
    >>> pred = np.array([[7, 7, 0, 0, 0], [7, 7, 0, 0, 9]])
    >>> m = match_objects(truth, pred)
    >>> m.matches, m.unmatched_truth, m.unmatched_pred
    ([(1, 7, 1.0)], [2], [9])
    >>> m.f1
    0.5
    """
    t, p = _check_pair(truth_labels, pred_labels)
    t = _check_labels_image(t, "truth_labels")
    p = _check_labels_image(p, "pred_labels")
    thr = _check_iou_threshold(iou_threshold)
    tid, pid, area_t, area_p, ti, pi, inter = _instance_overlaps(t, p)
    return match_objects_from_overlaps(
        tid, pid, area_t, area_p, tid[ti], pid[pi], inter, iou_threshold=thr
    )


def _ids_and_areas(ids: Any, areas: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    i = np.asarray(ids, dtype=np.int64).reshape(-1)
    a = np.asarray(areas, dtype=np.int64).reshape(-1)
    if i.shape != a.shape:
        raise ValueError(
            f"{what}_ids and {what}_areas must have the same length, got {i.size} and "
            f"{a.size}; pass one area per object id"
        )
    if i.size and ((i <= 0).any() or (np.diff(i) <= 0).any()):
        raise ValueError(
            f"{what}_ids must be the sorted, distinct, positive object ids (0 is the "
            "background); sort them and drop 0 and repeats"
        )
    if i.size and (a <= 0).any():
        raise ValueError(f"{what}_areas must be positive pixel counts, one per object")
    return i, a


def _pair_index(ids: np.ndarray, pairs: np.ndarray, what: str) -> np.ndarray:
    idx = np.searchsorted(ids, pairs)
    ok = idx < ids.size
    ok[ok] = ids[idx[ok]] == pairs[ok]
    if not ok.all():
        bad = pairs[~ok][:5].tolist()
        raise ValueError(
            f"pairs_{what[0]} holds ids that are not in {what}_ids, e.g. {bad}; every "
            "overlapping pair must name listed objects"
        )
    return idx


def match_objects_from_overlaps(
    truth_ids: npt.ArrayLike,
    pred_ids: npt.ArrayLike,
    truth_areas: npt.ArrayLike,
    pred_areas: npt.ArrayLike,
    pairs_t: npt.ArrayLike,
    pairs_p: npt.ArrayLike,
    intersections: npt.ArrayLike,
    *,
    iou_threshold: float = 0.5,
) -> ObjectMatch:
    """One-to-one object matching from areas and pairwise overlaps (a joint histogram).

    :func:`match_objects` is this function applied to the joint histogram of
    two label images. A tiled or file-wise engine sums the areas and
    intersections of its tiles (an object cut by a tile border is counted in
    each tile it touches, so the sums are exact) and calls this function once
    on the sums, with identical results.

    Parameters
    ----------
    truth_ids, pred_ids : array_like of int
        Sorted, distinct, positive object ids of the truth and the prediction.
    truth_areas, pred_areas : array_like of int
        Pixel count of each object, aligned with the ids.
    pairs_t, pairs_p, intersections : array_like of int
        Every overlapping (truth id, pred id) pair once, with the number of
        pixels the two objects share (> 0).
    iou_threshold : float, default 0.5
        As in :func:`match_objects`.

    Returns
    -------
    ObjectMatch

    Raises
    ------
    ValueError
        If the ids are not sorted, distinct and positive, a pair names an
        unknown id, an intersection is not positive or exceeds an area, or
        ``iou_threshold`` is not between 0 and 1.

    Examples
    --------
    >>> m = match_objects_from_overlaps([1, 2], [7, 9], [4, 4], [4, 1], [1], [7], [4])
    >>> m.matches, m.unmatched_truth, m.unmatched_pred
    ([(1, 7, 1.0)], [2], [9])
    """
    thr = _check_iou_threshold(iou_threshold)
    tid, area_t = _ids_and_areas(truth_ids, truth_areas, "truth")
    pid, area_p = _ids_and_areas(pred_ids, pred_areas, "pred")
    pt = np.asarray(pairs_t, dtype=np.int64).reshape(-1)
    pp = np.asarray(pairs_p, dtype=np.int64).reshape(-1)
    inter = np.asarray(intersections, dtype=np.int64).reshape(-1)
    if not pt.size == pp.size == inter.size:
        raise ValueError(
            f"pairs_t, pairs_p and intersections must have the same length, got "
            f"{pt.size}, {pp.size} and {inter.size}; pass one entry per overlapping pair"
        )
    ti = _pair_index(tid, pt, "truth")
    pi = _pair_index(pid, pp, "pred")
    if inter.size and (
        (inter <= 0).any() or (inter > np.minimum(area_t[ti], area_p[pi])).any()
    ):
        raise ValueError(
            "intersections must be positive and at most the smaller area of their pair; "
            "check that the areas and overlaps come from the same images"
        )
    nt, npr = tid.size, pid.size
    union = area_t[ti] + area_p[pi] - inter
    iou = inter / union
    cand = iou >= thr
    ti, pi, iou = ti[cand], pi[cand], iou[cand]
    sel = _assign(ti, pi, iou, nt, npr)
    sel = sel[np.argsort(ti[sel], kind="stable")]
    mt, mp, mi = ti[sel], pi[sel], iou[sel]

    n_tp = int(sel.size)
    matched_t = np.zeros(nt, dtype=bool)
    matched_t[mt] = True
    matched_p = np.zeros(npr, dtype=bool)
    matched_p[mp] = True
    precision = _safe_div(n_tp, npr)
    recall = _safe_div(n_tp, nt)
    f1 = _safe_div(2 * n_tp, nt + npr)
    sq = float(mi.mean()) if n_tp else 0.0
    return ObjectMatch(
        matches=[(int(tid[a]), int(pid[b]), float(v)) for a, b, v in zip(mt, mp, mi, strict=True)],
        unmatched_truth=[int(x) for x in tid[~matched_t]],
        unmatched_pred=[int(x) for x in pid[~matched_p]],
        precision=precision,
        recall=recall,
        f1=f1,
        mean_matched_iou=sq,
        panoptic_quality=sq * f1,
        segmentation_quality=sq,
        recognition_quality=f1,
        n_truth=int(nt),
        n_pred=int(npr),
        iou_threshold=thr,
    )


# --------------------------------------------------------------------------
# objects of a mask
# --------------------------------------------------------------------------


def _n_distinct_nonzero(a: np.ndarray) -> int:
    """Number of distinct non-zero values of ``a``."""
    flat = a.reshape(-1)
    if flat.dtype == bool:
        return int(flat.any())
    if flat.size == 0:
        return 0
    if flat.dtype.kind in "iu" and int(flat.min()) >= 0 and int(flat.max()) <= 1 << 24:
        present = np.bincount(flat.astype(np.intp, copy=False)) > 0
        return int(np.count_nonzero(present[1:]))
    return int(np.count_nonzero(np.unique(flat) != 0))


def instance_labels(a: npt.ArrayLike) -> np.ndarray:
    """Object ids of a mask: binary masks are split into connected components.

    A mask with a single foreground value (a boolean, 0/1 or 0/255 mask) is one
    class, not one object, so its connected components (full connectivity)
    become the objects; a label image with several values is returned as is.

    Examples
    --------
    >>> instance_labels(np.array([[1, 0, 1]])).tolist()
    [[1, 0, 2]]
    >>> instance_labels(np.array([[4, 0, 9]])).tolist()
    [[4, 0, 9]]
    """
    arr = np.asarray(a)
    if arr.dtype == bool or _n_distinct_nonzero(arr) <= 1:
        structure = ndimage.generate_binary_structure(arr.ndim, arr.ndim)
        lab, _ = ndimage.label(arr != 0, structure=structure, output=np.int32)
        return lab
    return arr


def object_centres(labels: npt.ArrayLike) -> dict[int, tuple[float, ...]]:
    """Centroid (in array coordinates) of every non-zero label.

    One weighted ``bincount`` per axis over compact ids (SciPy's
    ``center_of_mass`` with an index list was 5x slower on 2048², and is what
    Compare recomputes on every change). The sums of integer coordinates are
    exact, so the centres equal SciPy's.

    Examples
    --------
    >>> object_centres(np.array([[0, 2, 2], [0, 0, 5]]))
    {2: (0.0, 1.5), 5: (1.0, 2.0)}
    """
    lab = np.asarray(labels)
    if lab.dtype == bool:
        lab = lab.view(np.uint8)
    compact, ids = _compact_labels(lab)
    if ids.size == 0:
        return {}
    n = ids.size + 1
    counts = np.bincount(compact, minlength=n)[1:].astype(np.float64)
    centres = []
    for axis, size in enumerate(lab.shape):
        shape = [1] * lab.ndim
        shape[axis] = size
        coord = np.broadcast_to(np.arange(size, dtype=np.float64).reshape(shape), lab.shape)
        sums = np.bincount(compact, weights=coord.reshape(-1), minlength=n)[1:]
        centres.append(sums / counts)
    return {int(i): tuple(float(c[k]) for c in centres) for k, i in enumerate(ids)}
