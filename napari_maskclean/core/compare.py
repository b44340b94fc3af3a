"""Compare a predicted segmentation with its ground truth.

Pixel-wise (semantic) comparison:

* :func:`binary_metrics` -- confusion counts and the usual scores (accuracy,
  precision, recall, specificity, F1/Dice, IoU/Jaccard, MCC, balanced
  accuracy) for a foreground/background pair.
* :func:`metrics_from_counts` -- the same scores from summed counts (the
  "reduce" step of a tile-wise or file-wise map-reduce).
* :func:`confusion_matrix` / :func:`per_class_metrics` -- multi-class.
* :func:`confusion_map` -- a uint8 image of TN/TP/FP/FN codes for an overlay.
* :class:`ConfusionCounter` -- the one incremental counter for live editing
  (binary counts and, for multi-class, the joint class histogram).
* :func:`error_components` -- connected FP / FN (and wrong-class) blobs for
  "next error" navigation.

Object-wise (instance) comparison lives in :mod:`napari_maskclean.core.matching`
(:func:`match_objects`, :func:`match_objects_from_overlaps`, :class:`ObjectMatch`,
re-exported here).

All scores follow scikit-learn's ``zero_division=0`` convention: a ratio whose
denominator is zero is reported as ``0.0``. No function here warns or returns
``inf``/``NaN``.

The module is longer than the house's ~500 lines on purpose: the metrics, the
incremental counter and the error components share the streaming kernels and
the joint-histogram paths with their size limits (``_CHUNK``,
``_DENSE_MAX_BINS``, which the tests lower to exercise every path). The live
model built on it is :mod:`napari_maskclean.core.review`.
"""

from __future__ import annotations

import gc
import math
import numbers
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from ._checks import (
    _as_mask_array,
    _check_connectivity,
    _check_no_nan,
    _check_pair,
    _check_positive,
    _check_positive_can_match,
    _foreground,
    _nan_error,
    _safe_div,
)
from .matching import ObjectMatch, match_objects, match_objects_from_overlaps

__all__ = [
    "FN",
    "FP",
    "TN",
    "TP",
    "ConfusionCounter",
    "ObjectMatch",
    "binary_metrics",
    "class_scores",
    "confusion_map",
    "confusion_matrix",
    "error_components",
    "match_objects",
    "match_objects_from_overlaps",
    "metrics_from_counts",
    "per_class_metrics",
]

#: Code of a true-negative pixel in :func:`confusion_map`.
TN = 0
#: Code of a true-positive pixel in :func:`confusion_map`.
TP = 1
#: Code of a false-positive pixel in :func:`confusion_map`.
FP = 2
#: Code of a false-negative pixel in :func:`confusion_map`.
FN = 3

METRIC_NAMES = (
    "accuracy",
    "precision",
    "recall",
    "specificity",
    "f1",
    "iou",
    "mcc",
    "balanced_accuracy",
)
COUNT_NAMES = ("tp", "fp", "fn", "tn")

# Elements processed per chunk by the streaming kernels (fits in L2 cache).
_CHUNK = 1 << 17
# Largest number of bins of a dense joint histogram (confusion matrix);
# above it a sort-based path is used. Tests lower it to check that both
# paths give identical results.
_DENSE_MAX_BINS = 1 << 22


# --------------------------------------------------------------------------
# binary metrics
# --------------------------------------------------------------------------


def _count_chunk(
    t: np.ndarray,
    p: np.ndarray,
    positive: float | None,
    buf_t: np.ndarray,
    buf_p: np.ndarray,
    buf_tp: np.ndarray,
) -> tuple[int, int, int]:
    n = t.shape[0]
    if t.dtype.kind == "f" and np.isnan(t).any():
        raise _nan_error("truth")
    if p.dtype.kind == "f" and np.isnan(p).any():
        raise _nan_error("pred")
    if positive is None:
        # non-zero = foreground: count the raw values, no conversion pass
        both = np.logical_and(t, p, out=buf_tp[:n])
        return (
            int(np.count_nonzero(both)),
            int(np.count_nonzero(t)),
            int(np.count_nonzero(p)),
        )
    ft = _foreground(t, positive, out=buf_t[:n])
    fp = _foreground(p, positive, out=buf_p[:n])
    both = np.logical_and(ft, fp, out=buf_tp[:n])
    return (
        int(np.count_nonzero(both)),
        int(np.count_nonzero(ft)),
        int(np.count_nonzero(fp)),
    )


def _binary_counts(
    t: np.ndarray, p: np.ndarray, positive: float | None
) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of two same-shape arrays, streamed in cache-sized chunks."""
    t = np.ascontiguousarray(t).reshape(-1)
    p = np.ascontiguousarray(p).reshape(-1)
    n = t.shape[0]
    chunk = min(_CHUNK, max(n, 1))
    buf_t = np.empty(chunk, dtype=bool)
    buf_p = np.empty(chunk, dtype=bool)
    buf_tp = np.empty(chunk, dtype=bool)
    tp = nt = np_ = 0
    for start in range(0, n, chunk):
        a, b, c = _count_chunk(
            t[start : start + chunk],
            p[start : start + chunk],
            positive,
            buf_t,
            buf_p,
            buf_tp,
        )
        tp += a
        nt += b
        np_ += c
    return tp, np_ - tp, nt - tp, n - nt - np_ + tp


def metrics_from_counts(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    """Binary segmentation scores from confusion counts.

    Use it to reduce counts summed over tiles or files (micro-average).

    Parameters
    ----------
    tp, fp, fn, tn : int
        Numbers of true-positive, false-positive, false-negative and
        true-negative pixels (non-negative integers).

    Returns
    -------
    dict
        Keys ``tp, fp, fn, tn`` (Python ints) and ``accuracy, precision,
        recall, specificity, f1, iou, mcc, balanced_accuracy`` (Python floats).
        ``f1`` is the Dice coefficient and ``iou`` the Jaccard index.

    Notes
    -----
    A ratio with a zero denominator is ``0.0`` (scikit-learn's
    ``zero_division=0``): precision without predicted foreground, recall
    without true foreground, F1 and IoU when both masks are empty,
    specificity without true background, accuracy of zero pixels.
    MCC is ``0.0`` whenever it is undefined (any marginal is zero), as in
    :func:`sklearn.metrics.matthews_corrcoef`. Balanced accuracy is the mean
    of recall and specificity over the classes present in the truth, as in
    :func:`sklearn.metrics.balanced_accuracy_score`: when the truth has no
    foreground it equals the specificity, when it is all foreground the
    recall, and ``0.0`` for zero pixels.

    Examples
    --------
    >>> m = metrics_from_counts(tp=8, fp=2, fn=2, tn=88)
    >>> m["f1"], m["iou"]
    (0.8, 0.6666666666666666)
    """
    counts = []
    for name, v in zip(COUNT_NAMES, (tp, fp, fn, tn), strict=True):
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 0:
            raise ValueError(
                f"{name} must be a non-negative integer count, got {v!r}; "
                "pass pixel counts such as those returned by binary_metrics"
            )
        counts.append(int(v))
    tp, fp, fn, tn = counts
    n = tp + fp + fn + tn
    pos = tp + fn  # true foreground
    neg = tn + fp  # true background
    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, pos)
    specificity = _safe_div(tn, neg)
    # MCC with exact integer arithmetic (the denominator overflows int64)
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if den == 0:
        mcc = 0.0
    else:
        mcc = (tp * tn - fp * fn) / math.sqrt(den)
        mcc = min(1.0, max(-1.0, mcc))
    present = [r for r, c in ((recall, pos), (specificity, neg)) if c]
    balanced = sum(present) / len(present) if present else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "accuracy": _safe_div(tp + tn, n),
        "precision": precision,
        "recall": recall,
        "specificity": specificity,
        "f1": _safe_div(2 * tp, 2 * tp + fp + fn),
        "iou": _safe_div(tp, tp + fp + fn),
        "mcc": float(mcc),
        "balanced_accuracy": float(balanced),
    }


def binary_metrics(
    truth: npt.ArrayLike, pred: npt.ArrayLike, *, positive: float | None = None
) -> dict[str, Any]:
    """Pixel-wise comparison of a predicted mask with the ground truth.

    Parameters
    ----------
    truth, pred : array_like
        Ground truth and prediction of the same shape (any number of
        dimensions): boolean, 0/1 or label images. Float masks must not
        contain NaN; threshold probability maps first.
    positive : int or float, optional
        Foreground definition. ``None`` (default): any non-zero value is
        foreground. A value ``k``: only pixels equal to ``k`` are foreground
        (one class of a label image, one-vs-rest).

    Returns
    -------
    dict
        ``tp, fp, fn, tn`` (Python ints) and ``accuracy, precision, recall,
        specificity, f1, iou, mcc, balanced_accuracy`` (Python floats); see
        :func:`metrics_from_counts` for the zero-division conventions. The
        values equal scikit-learn's ``accuracy_score``, ``precision_score``,
        ``recall_score``, ``f1_score``, ``jaccard_score`` (all with
        ``zero_division=0``), ``matthews_corrcoef`` and
        ``balanced_accuracy_score`` on the flattened foreground masks.

    Raises
    ------
    ValueError
        If the shapes differ, the masks have no pixels (size 0), a float mask
        contains NaN, or ``positive`` can never equal a pixel (a fractional
        value or one out of the dtype's range for integer masks, anything
        but 0/1 for boolean masks).
    TypeError
        If a mask is not boolean, integer or float.

    Notes
    -----
    The arrays are streamed in cache-sized chunks, so the cost is close to
    reading both masks once and no full-size temporary is allocated.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[0, 1, 1], [0, 1, 0]])
    >>> pred = np.array([[0, 1, 0], [1, 1, 0]])
    >>> m = binary_metrics(truth, pred)
    >>> m["tp"], m["fp"], m["fn"], m["tn"]
    (2, 1, 1, 2)
    >>> round(m["f1"], 3), m["iou"]
    (0.667, 0.5)
    """
    _check_positive(positive)
    t, p = _check_pair(truth, pred)
    if t.size == 0:
        raise ValueError(
            f"truth and pred have no pixels (shape {t.shape}), so there is nothing to "
            "compare; pass the masks themselves, not an empty crop or selection"
        )
    _check_positive_can_match(positive, t, "truth")
    _check_positive_can_match(positive, p, "pred")
    return metrics_from_counts(*_binary_counts(t, p, positive))


# --------------------------------------------------------------------------
# multi-class confusion matrix
# --------------------------------------------------------------------------


def _integer_range(a: np.ndarray) -> tuple[int, int]:
    if a.dtype == bool:
        return (int(a.min()), int(a.max())) if a.size else (0, 0)
    if a.dtype.kind == "u":
        return 0, int(a.max())
    return int(a.min()), int(a.max())


def _dense_joint_histogram(t: np.ndarray, p: np.ndarray, lo: int, k: int) -> np.ndarray:
    """Count (t - lo, p - lo) pairs in a k x k histogram, chunked for the cache."""
    counts = np.zeros(k * k, dtype=np.int64)
    n = t.shape[0]
    chunk = max(_CHUNK, 8 * k * k)
    for start in range(0, n, chunk):
        tc = t[start : start + chunk].astype(np.intp)
        pc = p[start : start + chunk]
        if lo:
            tc -= lo
        tc *= k
        np.add(tc, pc, out=tc, casting="unsafe")
        if lo:
            tc -= lo
        counts += np.bincount(tc, minlength=k * k)
    return counts.reshape(k, k)


def _labels_array(labels: Any) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.ndim != 1 or lab.size == 0:
        raise ValueError(
            f"labels must be a non-empty 1-D list of label values, got {labels!r}; "
            "pass e.g. labels=[0, 1, 2] or labels=None for all labels present"
        )
    if lab.dtype.kind not in "biuf":
        raise TypeError(
            f"labels must be numbers, got dtype {lab.dtype}; pass e.g. labels=[0, 1, 2]"
        )
    if np.unique(lab).size != lab.size:
        raise ValueError(
            f"labels must not contain duplicates, got {lab.tolist()}; remove the repeats"
        )
    return lab


def confusion_matrix(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    labels: list[float] | None = None,
    ignore_index: float | None = None,
    return_labels: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Multi-class pixel confusion matrix.

    Parameters
    ----------
    truth, pred : array_like
        Ground-truth and predicted class images of the same shape
        (boolean, integer or float without NaN).
    labels : list of numbers, optional
        Classes to index the matrix with, in this order. Pixels whose truth
        or prediction is not in ``labels`` are not counted (as in
        scikit-learn). ``None`` (default): the sorted union of the values
        present in ``truth`` and ``pred`` (after dropping ignored pixels).
    ignore_index : number, optional
        Pixels whose *truth* equals this value are dropped (e.g. 255 for
        "void"). A prediction equal to it is an ordinary class.
    return_labels : bool, default False
        Also return the label values of the rows/columns.

    Returns
    -------
    cm : ndarray of int64, shape (n_labels, n_labels)
        ``cm[i, j]`` = number of pixels of true class ``labels[i]`` predicted
        as ``labels[j]`` (rows = truth, columns = prediction), equal to
        ``sklearn.metrics.confusion_matrix(truth.ravel(), pred.ravel(),
        labels=labels)``.
    labels : ndarray
        Only if ``return_labels``: the class value of each row/column.

    Notes
    -----
    One ``np.bincount`` over a combined index ``truth * K + pred``; integer
    images with a small value range (at most 2048 distinct values between
    the minimum and maximum) are indexed directly, others are first mapped
    to dense indices with ``np.unique``/``np.searchsorted``. Unlike
    scikit-learn, labels absent from the truth or an input without pixels
    give a matrix of zeros instead of an error.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[0, 1, 2], [2, 2, 1]])
    >>> pred = np.array([[0, 2, 2], [2, 1, 1]])
    >>> confusion_matrix(truth, pred)
    array([[1, 0, 0],
           [0, 1, 1],
           [0, 1, 2]])
    """
    t, p = _check_pair(truth, pred)
    _check_no_nan(t, "truth")
    _check_no_nan(p, "pred")
    lab = None if labels is None else _labels_array(labels)
    if ignore_index is not None:
        _check_positive(ignore_index, "ignore_index")
        keep = t != ignore_index
        t, p = t[keep], p[keep]
    else:
        t, p = t.reshape(-1), p.reshape(-1)

    cm: np.ndarray
    values: np.ndarray
    ints = t.dtype.kind in "biu" and p.dtype.kind in "biu"
    dense = False
    if ints and t.size:
        tlo, thi = _integer_range(t)
        plo, phi = _integer_range(p)
        lo, hi = min(tlo, plo), max(thi, phi)
        k = hi - lo + 1
        dense = k * k <= _DENSE_MAX_BINS
    if dense:
        full = _dense_joint_histogram(t, p, lo, k)
        all_values = np.arange(lo, hi + 1, dtype=np.int64)
        if lab is None:
            present = (full.sum(axis=0) + full.sum(axis=1)) > 0
            idx = np.flatnonzero(present)
            cm = full[np.ix_(idx, idx)]
            values = all_values[idx]
        else:
            # padded with a zero row/column for labels outside [lo, hi]
            padded = np.zeros((k + 1, k + 1), dtype=np.int64)
            padded[:k, :k] = full
            labf = lab.astype(np.float64)
            inside = (labf >= lo) & (labf <= hi) & (labf == np.round(labf))
            idx = np.where(inside, np.round(labf).astype(np.int64) - lo, k)
            cm = padded[np.ix_(idx, idx)]
            values = lab
    else:
        if lab is None:
            uniq = np.union1d(np.unique(t), np.unique(p))
            order = np.arange(uniq.size)
        else:
            order = np.argsort(lab, kind="stable")
            uniq = lab[order]
        n = uniq.size
        ti = np.searchsorted(uniq, t)
        pi = np.searchsorted(uniq, p)
        np.clip(ti, 0, max(n - 1, 0), out=ti)
        np.clip(pi, 0, max(n - 1, 0), out=pi)
        if n:
            ok = (uniq[ti] == t) & (uniq[pi] == p)
            comb = ti[ok].astype(np.intp) * n + pi[ok]
            sorted_cm = np.bincount(comb, minlength=n * n).astype(np.int64)
            sorted_cm = sorted_cm.reshape(n, n)
        else:
            sorted_cm = np.zeros((0, 0), dtype=np.int64)
        # back to the caller's label order
        inv = np.empty_like(order)
        inv[order] = np.arange(order.size)
        cm = sorted_cm[np.ix_(inv, inv)]
        values = uniq[inv] if lab is not None else uniq
    cm = np.ascontiguousarray(cm, dtype=np.int64)
    if return_labels:
        return cm, np.asarray(values)
    return cm


def per_class_metrics(cm: npt.ArrayLike) -> dict[str, Any]:
    """Per-class IoU, Dice, precision and recall from a confusion matrix.

    Parameters
    ----------
    cm : array_like, shape (n, n)
        Confusion matrix with rows = truth and columns = prediction, as
        returned by :func:`confusion_matrix`.

    Returns
    -------
    dict
        ``iou``, ``dice``, ``precision``, ``recall`` (float64 arrays of
        length n, ``0.0`` where the denominator is zero, scikit-learn's
        ``zero_division=0``), ``support`` (int64, true pixels per class) and
        ``mean_iou``, ``mean_dice`` (Python floats: means over the classes
        present in the truth or the prediction, ``0.0`` if none).

    Examples
    --------
    >>> import numpy as np
    >>> cm = np.array([[3, 1], [0, 2]])
    >>> m = per_class_metrics(cm)
    >>> m["iou"]
    array([0.75      , 0.66666667])
    >>> m["dice"]
    array([0.85714286, 0.8       ])
    """
    c = np.asarray(cm)
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(
            f"cm must be a square 2-D confusion matrix, got shape {c.shape}; "
            "compute it with confusion_matrix(truth, pred)"
        )
    if c.dtype.kind not in "biuf" or (c.size and (c < 0).any()):
        raise ValueError(
            "cm must hold non-negative counts; compute it with confusion_matrix(truth, pred)"
        )
    c = c.astype(np.float64)
    return class_scores(np.diag(c), c.sum(axis=1), c.sum(axis=0))


def class_scores(
    intersection: npt.ArrayLike, truth_area: npt.ArrayLike, pred_area: npt.ArrayLike
) -> dict[str, Any]:
    """Per-class scores from each class's intersection and areas (see :func:`per_class_metrics`).

    ``per_class_metrics(cm)`` is ``class_scores(diag(cm), cm.sum(1), cm.sum(0))``;
    this form also scores classes whose masks overlap (a pixel in several
    classes, e.g. per-category unions of overlapping instances).

    Examples
    --------
    >>> class_scores([3, 2], [4, 2], [3, 3])["iou"]
    array([0.75      , 0.66666667])
    """
    diag = np.asarray(intersection, dtype=np.float64)
    rows = np.asarray(truth_area, dtype=np.float64)  # truth
    cols = np.asarray(pred_area, dtype=np.float64)  # prediction
    union = rows + cols - diag

    def div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
        out = np.zeros_like(num)
        np.divide(num, den, out=out, where=den > 0)
        return out

    iou = div(diag, union)
    dice = div(2 * diag, rows + cols)
    present = union > 0
    return {
        "iou": iou,
        "dice": dice,
        "precision": div(diag, cols),
        "recall": div(diag, rows),
        "support": rows.astype(np.int64),
        "mean_iou": float(iou[present].mean()) if present.any() else 0.0,
        "mean_dice": float(dice[present].mean()) if present.any() else 0.0,
    }


# --------------------------------------------------------------------------
# confusion map
# --------------------------------------------------------------------------


def confusion_map(
    truth: npt.ArrayLike, pred: npt.ArrayLike, *, positive: float | None = None
) -> npt.NDArray[np.uint8]:
    """Per-pixel confusion codes for an overlay.

    Parameters
    ----------
    truth, pred : array_like
        Masks of the same shape (see :func:`binary_metrics`).
    positive : int or float, optional
        Foreground definition (see :func:`binary_metrics`).

    Returns
    -------
    ndarray of uint8
        ``TN`` (0), ``TP`` (1), ``FP`` (2) or ``FN`` (3) per pixel; use it
        directly as a napari Labels layer.

    Examples
    --------
    >>> import numpy as np
    >>> confusion_map(np.array([0, 1, 0, 1]), np.array([0, 1, 1, 0]))
    array([0, 1, 2, 3], dtype=uint8)
    """
    _check_positive(positive)
    t, p = _check_pair(truth, pred)
    _check_no_nan(t, "truth")
    _check_no_nan(p, "pred")
    _check_positive_can_match(positive, t, "truth")
    _check_positive_can_match(positive, p, "pred")
    ft = _foreground(t, positive).view(np.uint8)
    fp = _foreground(p, positive).view(np.uint8)
    # (t, p): (0,0)->0 TN, (1,1)->1 TP, (0,1)->2 FP, (1,0)->3 FN
    code = ft ^ fp
    code *= ft + 2
    code |= ft & fp
    return np.asarray(code)


# --------------------------------------------------------------------------
# incremental counter
# --------------------------------------------------------------------------


def _as_values(a: np.ndarray) -> np.ndarray:
    """Raw class values of a mask (booleans as 0/1 uint8, a view)."""
    return a.view(np.uint8) if a.dtype == bool else a


def _pair_counts(t: np.ndarray, p: np.ndarray) -> dict[tuple[int, int], int]:
    """Sparse joint histogram ``{(truth value, pred value): pixels}`` of two arrays."""
    cm, lab = confusion_matrix(t, p, return_labels=True)
    i, j = np.nonzero(cm)
    return {(int(lab[a]), int(lab[b])): int(cm[a, b]) for a, b in zip(i, j, strict=True)}


class ConfusionCounter:
    """Confusion counts kept up to date while either mask is edited.

    The one incremental counter of the package: the live comparison
    (:class:`~napari_maskclean.core.review.LiveComparison`) is built on it.
    The counter keeps its own boolean copies of the foreground of both
    masks (and, with ``multiclass``, copies of their class values). After an
    edit, pass the bounding box of the edit and the new values inside it;
    only that region is re-counted.

    Parameters
    ----------
    truth, pred : array_like
        Initial masks of the same shape (see :func:`binary_metrics`).
    positive : int or float, optional
        Foreground definition (see :func:`binary_metrics`), also applied to
        the values passed to :meth:`update`.
    multiclass : bool, default False
        Also keep the joint histogram of the class values (the multi-class
        :meth:`confusion_matrix`). ``positive`` must then be None.

    Raises
    ------
    ValueError
        If ``positive`` can never equal a pixel (as in :func:`binary_metrics`),
        or if ``multiclass`` is combined with ``positive``.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((4, 4), dtype=np.uint8); truth[1:3, 1:3] = 1
    >>> counter = ConfusionCounter(truth, np.zeros((4, 4), dtype=np.uint8))
    >>> counter.counts
    (0, 0, 4, 12)
    >>> counter.update((slice(1, 3), slice(1, 2)), pred_region=np.ones((2, 1)))
    >>> counter.counts
    (2, 0, 2, 12)
    >>> counter.metrics()["recall"]
    0.5
    """

    def __init__(
        self,
        truth: npt.ArrayLike,
        pred: npt.ArrayLike,
        *,
        positive: float | None = None,
        multiclass: bool = False,
    ) -> None:
        _check_positive(positive)
        if multiclass and positive is not None:
            raise ValueError("multi-class comparison counts every class: pass positive=None")
        t, p = _check_pair(truth, pred)
        _check_no_nan(t, "truth")
        _check_no_nan(p, "pred")
        _check_positive_can_match(positive, t, "truth")
        _check_positive_can_match(positive, p, "pred")
        self._positive = positive
        self.multiclass = bool(multiclass)
        self._truth = np.array(_foreground(t, positive), dtype=bool, copy=True)
        self._pred = np.array(_foreground(p, positive), dtype=bool, copy=True)
        self._counts = _binary_counts(self._truth, self._pred, None)
        self._truth_values: np.ndarray | None = None
        self._pred_values: np.ndarray | None = None
        self._pairs: dict[tuple[int, int], int] = {}
        if self.multiclass:
            self._truth_values = np.array(_as_values(t), copy=True)
            self._pred_values = np.array(_as_values(p), copy=True)
            self._pairs = _pair_counts(self._truth_values, self._pred_values)

    @property
    def positive(self) -> float | None:
        """The foreground definition (None: any non-zero value)."""
        return self._positive

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the masks."""
        return self._truth.shape

    @property
    def truth(self) -> npt.NDArray[np.bool_]:
        """Read-only view of the current ground-truth foreground."""
        v = self._truth.view()
        v.flags.writeable = False
        return v

    @property
    def pred(self) -> npt.NDArray[np.bool_]:
        """Read-only view of the current predicted foreground."""
        v = self._pred.view()
        v.flags.writeable = False
        return v

    def class_values(self, side: Literal["truth", "pred"]) -> np.ndarray:
        """Read-only view of one side's current class values (``multiclass`` only)."""
        if not self.multiclass:
            raise ValueError("class values are kept in multi-class mode only")
        if side not in ("truth", "pred"):
            raise ValueError(f'side must be "truth" or "pred", got {side!r}')
        v = (self._truth_values if side == "truth" else self._pred_values).view()
        v.flags.writeable = False
        return v

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """Current ``(tp, fp, fn, tn)``."""
        return self._counts

    @property
    def pair_counts(self) -> dict[tuple[int, int], int]:
        """Current ``{(truth class, pred class): pixels}`` (``multiclass`` only; a copy)."""
        if not self.multiclass:
            raise ValueError("pair counts are kept in multi-class mode only")
        return dict(self._pairs)

    def metrics(self) -> dict[str, Any]:
        """Return the current scores, as :func:`binary_metrics` would."""
        return metrics_from_counts(*self._counts)

    def confusion_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Multi-class confusion matrix (rows truth, columns prediction) and its labels.

        Equal to ``confusion_matrix(truth, pred, return_labels=True)`` on the
        current arrays (``multiclass`` only).
        """
        if not self.multiclass:
            raise ValueError("the confusion matrix is kept in multi-class mode only")
        if not self._pairs:
            return np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64)
        labels = np.array(sorted({a for a, _ in self._pairs} | {b for _, b in self._pairs}))
        index = {int(v): i for i, v in enumerate(labels)}
        cm = np.zeros((labels.size, labels.size), dtype=np.int64)
        for (a, b), n in self._pairs.items():
            cm[index[a], index[b]] = n
        return cm, labels

    def _region(self, region: Any) -> tuple[Any, ...]:
        if isinstance(region, slice | numbers.Integral):
            region = (region,)
        if not isinstance(region, tuple | list) or not all(
            isinstance(s, slice | numbers.Integral) for s in region
        ):
            raise TypeError(
                "region must be a tuple of slices (and integers), e.g. "
                f"(slice(10, 50), slice(20, 60)), got {region!r}"
            )
        if len(region) > self._truth.ndim:
            raise ValueError(
                f"region has {len(region)} entries but the masks have "
                f"{self._truth.ndim} dimensions; pass one slice per axis"
            )
        return tuple(region)

    def _new_values(self, values: npt.ArrayLike, shape: tuple[int, ...], what: str) -> np.ndarray:
        a = _as_mask_array(values, what)
        _check_no_nan(a, what)
        _check_positive_can_match(self._positive, a, what)
        fg = _foreground(a, self._positive)
        try:
            return np.broadcast_to(fg, shape)
        except ValueError:
            raise ValueError(
                f"{what} has shape {a.shape} but the region has shape {shape}; "
                "pass the new values of exactly that region"
            ) from None

    def update(
        self,
        region: tuple[slice, ...],
        truth_region: npt.ArrayLike | None = None,
        pred_region: npt.ArrayLike | None = None,
    ) -> None:
        """Replace the values of a region and update the counts.

        Parameters
        ----------
        region : tuple of slice
            Bounding box of the edit, e.g. ``(slice(y0, y1), slice(x0, x1))``.
        truth_region, pred_region : array_like, optional
            New values of that region for the side(s) that changed (the
            whole region, raw mask values; the counter's ``positive`` rule is
            applied). ``None`` leaves that side unchanged.
        """
        reg = self._region(region)
        if truth_region is None and pred_region is None:
            return
        old_t = self._truth[reg]
        old_p = self._pred[reg]
        shape = old_t.shape
        new_t = (
            old_t if truth_region is None else self._new_values(truth_region, shape, "truth_region")
        )
        new_p = (
            old_p if pred_region is None else self._new_values(pred_region, shape, "pred_region")
        )
        o_tp, o_fp, o_fn, o_tn = _binary_counts(old_t, old_p, None)
        n_tp, n_fp, n_fn, n_tn = _binary_counts(new_t, new_p, None)
        if self.multiclass:
            self._update_pairs(reg, truth_region, pred_region)
        if truth_region is not None:
            self._truth[reg] = new_t
        if pred_region is not None:
            self._pred[reg] = new_p
        tp, fp, fn, tn = self._counts
        self._counts = (
            tp - o_tp + n_tp,
            fp - o_fp + n_fp,
            fn - o_fn + n_fn,
            tn - o_tn + n_tn,
        )

    def _update_pairs(
        self, reg: tuple[Any, ...], truth_region: Any, pred_region: Any
    ) -> None:
        tv, pv = self._truth_values, self._pred_values
        old = _pair_counts(tv[reg], pv[reg])
        if truth_region is not None:
            tv[reg] = _as_values(np.asarray(truth_region))
        if pred_region is not None:
            pv[reg] = _as_values(np.asarray(pred_region))
        pairs = self._pairs
        for key, n in old.items():
            pairs[key] -= n
        for key, n in _pair_counts(tv[reg], pv[reg]).items():
            pairs[key] = pairs.get(key, 0) + n
        self._pairs = {k: n for k, n in pairs.items() if n}


# --------------------------------------------------------------------------
# error components
# --------------------------------------------------------------------------


def error_components(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    positive: float | None = None,
    kind: Literal["both", "FP", "FN"] = "both",
    connectivity: int | None = None,
    min_size: int = 1,
    wrong: npt.ArrayLike | None = None,
) -> tuple[list[dict[str, Any]], npt.NDArray[np.int32]]:
    """Find connected components of the false-positive and false-negative pixels.

    Parameters
    ----------
    truth, pred : array_like
        Masks of the same shape (see :func:`binary_metrics`).
    positive : int or float, optional
        Foreground definition (see :func:`binary_metrics`).
    kind : {"both", "FP", "FN"}, default "both"
        Which errors to return (case-insensitive).
    connectivity : int, optional
        Maximum number of orthogonal steps between neighbours, 1 to ndim,
        as in :func:`skimage.measure.label`; ``None`` = ndim (full).
    min_size : int, default 1
        Components with fewer pixels are left out (and are 0 in the label
        image).
    wrong : array_like of bool, optional
        Multi-class comparison: the pixels whose truth and prediction are
        different non-zero classes. Their connected components are added
        with kind ``"wrong"`` (ids after the FP/FN ones, then all sorted
        biggest first, stably).

    Returns
    -------
    components : list of dict
        One dict per component, biggest first (ties: FP before FN, then in
        raster order of the first pixel): ``kind`` ("FP" or "FN"), ``size``
        (pixels), ``bbox`` (``[start, stop]`` per axis), ``centroid``
        (float per axis) and ``label``, the component's id in the label
        image. Ids are ``1..len(components)`` in list order, so id ``k``
        is the k-th biggest error.
    component_labels : ndarray of int32
        Label image of the components (0 = no reported error). FP and FN
        components are labelled separately, so touching FP and FN pixels
        never merge.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.array([[1, 1, 0, 0], [1, 1, 0, 0]])
    >>> pred = np.array([[1, 0, 0, 1], [1, 0, 0, 1]])
    >>> comps, lab = error_components(truth, pred)
    >>> [(c["kind"], c["size"], c["bbox"]) for c in comps]
    [('FP', 2, [[0, 2], [3, 4]]), ('FN', 2, [[0, 2], [1, 2]])]
    >>> lab
    array([[0, 2, 0, 1],
           [0, 2, 0, 1]], dtype=int32)
    """
    if wrong is not None:
        return _with_wrong_class(
            error_components(
                truth, pred, positive=positive, kind=kind, connectivity=connectivity,
                min_size=min_size,
            ),
            wrong, connectivity=connectivity, min_size=min_size,
        )
    _check_positive(positive)
    t, p = _check_pair(truth, pred)
    _check_no_nan(t, "truth")
    _check_no_nan(p, "pred")
    _check_positive_can_match(positive, t, "truth")
    _check_positive_can_match(positive, p, "pred")
    k = str(kind).upper()
    if k not in ("BOTH", "FP", "FN"):
        raise ValueError(f'kind must be "both", "FP" or "FN", got {kind!r}')
    if isinstance(min_size, bool) or not isinstance(min_size, numbers.Integral):
        raise TypeError(f"min_size must be an integer, got {min_size!r}")
    ndim = max(t.ndim, 1)
    connectivity = _check_connectivity(connectivity, ndim)
    structure = ndimage.generate_binary_structure(ndim, connectivity)
    if t.ndim == 0:
        t, p = t.reshape(1), p.reshape(1)
    ft = _foreground(t, positive)
    fp = _foreground(p, positive)

    labels = np.zeros(t.shape, dtype=np.int32)
    kinds: list[str] = []
    offset = 0
    for name in ("FP", "FN"):
        if k not in ("BOTH", name):
            continue
        err = (fp & ~ft) if name == "FP" else (ft & ~fp)
        lab, n = ndimage.label(err, structure=structure, output=np.int32)
        if n:
            labels[err] = lab[err] + offset
        kinds.extend([name] * n)
        offset += n
    if offset == 0:
        return [], labels

    sizes = np.bincount(labels.reshape(-1), minlength=offset + 1)[1:]
    # ndimage.label numbers components in raster order of their first pixel
    # and FP ids precede FN ids, so a stable sort gives the documented ties.
    order = np.argsort(-sizes, kind="stable")
    order = order[sizes[order] >= min_size]
    m = int(order.size)

    # relabel: component order[i] -> id i + 1; dropped ones -> 0
    lut = np.zeros(offset + 1, dtype=np.int32)
    lut[order + 1] = np.arange(1, m + 1, dtype=np.int32)
    out = lut[labels]
    if m == 0:
        return [], out

    coords = np.nonzero(out)
    ids = out[coords]
    cnt = np.bincount(ids, minlength=m + 1)[1:].astype(np.float64)
    cents, starts, stops = [], [], []
    for c in coords:
        cents.append((np.bincount(ids, weights=c, minlength=m + 1)[1:] / cnt).tolist())
        lo = np.full(m + 1, np.iinfo(np.intp).max, dtype=np.intp)
        hi = np.full(m + 1, -1, dtype=np.intp)
        np.minimum.at(lo, ids, c)
        np.maximum.at(hi, ids, c)
        starts.append(lo[1:].tolist())
        stops.append((hi[1:] + 1).tolist())
    kinds_sorted = [kinds[i] for i in order.tolist()]
    sizes_sorted = sizes[order].tolist()
    # building many small containers triggers the cyclic GC over and over;
    # none of them can form cycles, so pause it (restored in all cases).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        bboxes = [
            [list(se) for se in zip(lo_, hi_, strict=True)]
            for lo_, hi_ in zip(zip(*starts, strict=True), zip(*stops, strict=True), strict=True)
        ]
        comps = [
            {"kind": k_, "size": s_, "bbox": b_, "centroid": list(c_), "label": i + 1}
            for i, (k_, s_, b_, c_) in enumerate(
                zip(
                    kinds_sorted,
                    sizes_sorted,
                    bboxes,
                    zip(*cents, strict=True),
                    strict=True,
                )
            )
        ]
    finally:
        if gc_was_enabled:
            gc.enable()
    return comps, out


def _with_wrong_class(
    found: tuple[list[dict[str, Any]], np.ndarray],
    wrong: npt.ArrayLike,
    *,
    connectivity: int | None,
    min_size: int,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Add the components of the wrong-class pixels to FP/FN components."""
    comps, lab = found
    w = np.asarray(wrong, dtype=bool)
    if w.shape != lab.shape:
        raise ValueError(
            f"wrong has shape {w.shape} but the masks have shape {lab.shape}; pass the "
            "wrong-class pixels of the same masks"
        )
    extra, wlab = error_components(
        w, np.zeros_like(w), connectivity=connectivity, min_size=min_size
    )
    if not extra:
        return comps, lab
    offset = len(comps)
    lab = lab.copy()
    lab[wlab > 0] = wlab[wlab > 0] + offset
    for c in extra:
        c["kind"] = "wrong"
        c["label"] += offset
    return sorted(comps + extra, key=lambda c: -c["size"]), lab  # stable: ties keep order


