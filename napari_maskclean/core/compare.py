"""Compare a predicted segmentation with its ground truth.

Pixel-wise (semantic) comparison:

* :func:`binary_metrics` -- confusion counts and the usual scores (accuracy,
  precision, recall, specificity, F1/Dice, IoU/Jaccard, MCC, balanced
  accuracy) for a foreground/background pair.
* :func:`metrics_from_counts` -- the same scores from summed counts (the
  "reduce" step of a tile-wise or file-wise map-reduce).
* :func:`confusion_matrix` / :func:`per_class_metrics` -- multi-class.
* :func:`confusion_map` -- a uint8 image of TN/TP/FP/FN codes for an overlay.
* :class:`ConfusionCounter` -- incremental counts for live editing.
* :func:`error_components` -- connected FP / FN blobs for "next error" navigation.

Object-wise (instance) comparison:

* :func:`match_objects` -- one-to-one matching of labelled objects by IoU,
  object-level precision / recall / F1 and panoptic quality.

All scores follow scikit-learn's ``zero_division=0`` convention: a ratio whose
denominator is zero is reported as ``0.0``. No function here warns or returns
``inf``/``NaN``.
"""

from __future__ import annotations

import gc
import math
import numbers
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = [
    "FN",
    "FP",
    "TN",
    "TP",
    "ConfusionCounter",
    "ObjectMatch",
    "binary_metrics",
    "confusion_map",
    "confusion_matrix",
    "error_components",
    "match_objects",
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
# Largest number of bins of a dense joint histogram (confusion matrix /
# object-pair histogram); above it a sort-based path is used. Tests lower
# these to check that both paths give identical results.
_DENSE_MAX_BINS = 1 << 22
# Largest label value for which a lookup table (instead of np.unique) is used.
_LUT_MAX_LABEL = 1 << 24


# --------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------


def _as_mask_array(x: npt.ArrayLike, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be a boolean, integer or float array, got dtype {a.dtype}; "
            "convert it with np.asarray(..., dtype=np.int32) or threshold it first"
        )
    return a


def _check_pair(truth: npt.ArrayLike, pred: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t = _as_mask_array(truth, "truth")
    p = _as_mask_array(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(
            "prediction and ground truth must have the same shape, got "
            f"{t.shape} and {p.shape}; crop, pad or resize one of them first"
        )
    return t, p


def _check_positive(positive: Any, name: str = "positive") -> None:
    if positive is None:
        return
    if isinstance(positive, np.generic):
        positive = positive.item()
    if not isinstance(positive, numbers.Real) or (
        isinstance(positive, float) and not math.isfinite(positive)
    ):
        raise TypeError(f"{name} must be None or a finite label value such as 1, got {positive!r}")


def _check_positive_can_match(positive: Any, a: np.ndarray, what: str) -> None:
    """Refuse a ``positive`` that no pixel of ``a`` can equal (a silent tp = 0)."""
    if positive is None:
        return
    v = positive.item() if isinstance(positive, np.generic) else positive
    if a.dtype == bool:
        if v not in (0, 1):
            raise ValueError(
                f"positive={v!r} never equals a pixel of the boolean {what} mask "
                "(False/True); use positive=1 (or None) for the True pixels"
            )
        return
    if a.dtype.kind not in "iu":
        return
    if not float(v).is_integer():
        raise ValueError(
            f"positive={v!r} is not a whole number, so it never equals a label of the "
            f"integer {what} mask ({a.dtype}); pass the integer label, e.g. "
            f"positive={math.floor(v)} or positive={math.ceil(v)}"
        )
    info = np.iinfo(a.dtype)
    if not info.min <= v <= info.max:
        raise ValueError(
            f"positive={v!r} is outside the values a {a.dtype} {what} mask can hold "
            f"({info.min}..{info.max}), so no pixel can equal it; check the label value"
        )


def _nan_error(what: str) -> ValueError:
    return ValueError(
        f"{what} contains NaN; masks must be finite. Replace NaN first, e.g. "
        "np.nan_to_num(mask, nan=0) to count them as background"
    )


def _check_no_nan(a: np.ndarray, what: str) -> None:
    if a.dtype.kind == "f" and a.size and np.isnan(a).any():
        raise _nan_error(what)


def _foreground(a: np.ndarray, positive: float | None, out: np.ndarray | None = None) -> np.ndarray:
    """Boolean foreground of ``a`` (a view when ``a`` is already boolean)."""
    if positive is None:
        if a.dtype == bool:
            return a
        return np.not_equal(a, 0, out=out)
    if a.dtype == bool and positive == 1:
        return a
    return np.equal(a, positive, out=out)


def _safe_div(num: float, den: float) -> float:
    return float(num) / float(den) if den else 0.0


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
    diag = np.diag(c)
    rows = c.sum(axis=1)  # truth
    cols = c.sum(axis=0)  # prediction
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


class ConfusionCounter:
    """Binary confusion counts kept up to date while a mask is edited.

    The counter keeps its own boolean copies of the foreground of both
    masks. After an edit, pass the bounding box of the edit and the new
    values inside it; only that region is re-counted.

    Parameters
    ----------
    truth, pred : array_like
        Initial masks of the same shape (see :func:`binary_metrics`).
    positive : int or float, optional
        Foreground definition (see :func:`binary_metrics`), also applied to
        the values passed to :meth:`update`.

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
    ) -> None:
        _check_positive(positive)
        t, p = _check_pair(truth, pred)
        _check_no_nan(t, "truth")
        _check_no_nan(p, "pred")
        self._positive = positive
        self._truth = np.array(_foreground(t, positive), dtype=bool, copy=True)
        self._pred = np.array(_foreground(p, positive), dtype=bool, copy=True)
        self._counts = _binary_counts(self._truth, self._pred, None)

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

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """Current ``(tp, fp, fn, tn)``."""
        return self._counts

    def metrics(self) -> dict[str, Any]:
        """Return the current scores, as :func:`binary_metrics` would."""
        return metrics_from_counts(*self._counts)

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
    _check_positive(positive)
    t, p = _check_pair(truth, pred)
    _check_no_nan(t, "truth")
    _check_no_nan(p, "pred")
    k = str(kind).upper()
    if k not in ("BOTH", "FP", "FN"):
        raise ValueError(f'kind must be "both", "FP" or "FN", got {kind!r}')
    if isinstance(min_size, bool) or not isinstance(min_size, numbers.Integral):
        raise TypeError(f"min_size must be an integer, got {min_size!r}")
    ndim = max(t.ndim, 1)
    if connectivity is None:
        connectivity = ndim
    if (
        isinstance(connectivity, bool)
        or not isinstance(connectivity, numbers.Integral)
        or not 1 <= connectivity <= ndim
    ):
        raise ValueError(
            f"connectivity must be between 1 and {ndim} (the number of dimensions), "
            f"got {connectivity!r}"
        )
    structure = ndimage.generate_binary_structure(ndim, int(connectivity))
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


# --------------------------------------------------------------------------
# object matching
# --------------------------------------------------------------------------


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
    if isinstance(iou_threshold, np.generic):
        iou_threshold = iou_threshold.item()
    if (
        isinstance(iou_threshold, bool)
        or not isinstance(iou_threshold, numbers.Real)
        or not 0.0 <= float(iou_threshold) <= 1.0
    ):
        raise ValueError(f"iou_threshold must be a number between 0 and 1, got {iou_threshold!r}")
    thr = float(iou_threshold)
    tid, pid, area_t, area_p, ti, pi, inter = _instance_overlaps(t, p)
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
