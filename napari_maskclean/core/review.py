"""Review a prediction against its ground truth while either of them is edited.

This module is the napari-free model behind the "Compare with ground truth" dock
widget; everything in it also works in a script.

* :func:`compare` -- threshold image inputs if asked, then build a
  :class:`LiveComparison`: confusion counts, the overlay codes (TN/TP/FP/FN and,
  for multi-class, "wrong class"), the confusion matrix and optionally the
  object matching.
* :meth:`LiveComparison.update` -- re-count only the bounding box of an edit
  (a brush stroke on a 2048 x 2048 mask updates in well under a millisecond).
* :func:`atom_boxes`, :func:`merge_boxes`, :func:`local_box`, :func:`full_box`
  -- bounding boxes of edits and their mapping between a layer's full array and
  the compared window (a 2D slice of a stack and/or the overlapping region).
* :func:`fix_values`, :func:`adjacent_label` -- the label values written when
  an error is accepted into the ground truth or fixed in the prediction.
* :func:`common_shape`, :func:`check_finite`, :func:`empty_note` -- input checks
  and messages that tell the user what to do.
* :func:`report_rows`, :func:`write_report` -- export the scores as CSV or JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from .compare import (
    FN,
    FP,
    TN,
    TP,
    ConfusionCounter,
    confusion_map,
    confusion_matrix,
    error_components,
    match_objects,
    per_class_metrics,
)
from .threshold import threshold_mask

__all__ = [
    "FN",
    "FP",
    "OVERLAY_COLORS",
    "OVERLAY_NAMES",
    "TN",
    "TP",
    "WRONG",
    "LiveComparison",
    "adjacent_label",
    "atom_boxes",
    "check_finite",
    "common_shape",
    "compare",
    "empty_note",
    "find_errors",
    "component_region",
    "fit_zoom",
    "fix_values",
    "full_box",
    "full_point",
    "heat_colors",
    "instance_labels",
    "local_box",
    "merge_boxes",
    "most_common_label",
    "object_centres",
    "overlay_color_dict",
    "overlay_palette",
    "report_rows",
    "write_report",
]

#: Overlay code of a pixel whose truth and prediction are different non-zero
#: classes (multi-class comparison only).
WRONG = 4
#: Name of each overlay code (index = code).
OVERLAY_NAMES: tuple[str, ...] = ("TN", "TP", "FP", "FN", "wrong class")
#: Legend colour (RGB, uint8) of each overlay code: TN grey, TP bluish green,
#: FP magenta, FN yellow, wrong class vermilion. Green/magenta/yellow stay
#: distinct under the common colour-vision deficiencies (Okabe-Ito hues).
OVERLAY_COLORS: npt.NDArray[np.uint8] = np.array(
    [[128, 128, 128], [0, 158, 115], [255, 0, 255], [240, 228, 66], [213, 94, 0]],
    dtype=np.uint8,
)
#: Multi-class mode refuses inputs with more distinct values than this.
MAX_CLASSES = 256

Box = tuple[slice, ...]
Key = tuple[Any, ...]  # integers and slices, one per axis of a layer's array


# --------------------------------------------------------------------------
# input checks and messages
# --------------------------------------------------------------------------


def _fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def common_shape(
    shape_a: Sequence[int],
    shape_b: Sequence[int],
    *,
    names: tuple[str, str] = ("prediction", "ground truth"),
    crop: bool = False,
) -> tuple[int, ...]:
    """Return the shape both arrays are compared on, or explain why they cannot be.

    Parameters
    ----------
    shape_a, shape_b : sequence of int
        Shapes of the two arrays.
    names : (str, str)
        How the two arrays are called in the error messages.
    crop : bool, default False
        Compare only the overlapping region (the top-left corner common to
        both arrays) when the shapes differ.

    Returns
    -------
    tuple of int
        The shape compared: the common shape, or the overlap with ``crop``.

    Raises
    ------
    ValueError
        If the numbers of dimensions differ (both are named), or if the shapes
        differ and ``crop`` is False (both shapes and the overlap are named).

    Examples
    --------
    >>> common_shape((4, 5), (4, 5))
    (4, 5)
    >>> common_shape((4, 5), (3, 6), crop=True)
    (3, 5)
    """
    a = tuple(int(s) for s in shape_a)
    b = tuple(int(s) for s in shape_b)
    if len(a) != len(b):
        raise ValueError(
            f"{names[0]} is {len(a)}D {_fmt_shape(a)} but {names[1]} is {len(b)}D "
            f"{_fmt_shape(b)}; choose two layers with the same number of dimensions "
            "(e.g. the matching 2D slice, or a 3D ground truth for a 3D prediction)"
        )
    overlap = tuple(min(x, y) for x, y in zip(a, b))
    if a != b and not crop:
        raise ValueError(
            f"{names[0]} has shape {_fmt_shape(a)} but {names[1]} has shape "
            f"{_fmt_shape(b)}; compare only their overlapping region {_fmt_shape(overlap)} "
            "('compare overlapping region', crop=True) or choose layers of the same shape"
        )
    if any(s == 0 for s in overlap):
        raise ValueError(
            f"{names[0]} {_fmt_shape(a)} and {names[1]} {_fmt_shape(b)} do not overlap "
            "(a zero-length axis); choose non-empty layers"
        )
    return overlap


def check_finite(a: npt.ArrayLike, what: str) -> None:
    """Raise ValueError if a float array contains NaN or infinity.

    Parameters
    ----------
    a : array_like
        The array to check (non-float arrays always pass).
    what : str
        How the array is called in the message.

    Raises
    ------
    ValueError
        With a message that says how to repair the data.

    Examples
    --------
    >>> check_finite(np.array([0.0, 1.0]), "prediction")
    >>> check_finite(np.array([0.0, np.nan]), "prediction")
    Traceback (most recent call last):
    ...
    ValueError: prediction contains NaN or infinite values; ...
    """
    arr = np.asarray(a)
    if arr.dtype.kind in "fc" and arr.size and not np.isfinite(arr).all():
        raise ValueError(
            f"{what} contains NaN or infinite values; it cannot be thresholded or "
            "compared. Replace them first, e.g. np.nan_to_num(data, nan=0), or "
            "choose another layer"
        )


def empty_note(counts: Sequence[int]) -> str | None:
    """Explain the scores when a mask has no foreground (None otherwise).

    Parameters
    ----------
    counts : (tp, fp, fn, tn)
        Confusion counts.

    Returns
    -------
    str or None
        A one-sentence explanation, or None when both masks have foreground.

    Examples
    --------
    >>> empty_note((0, 0, 0, 16))[:21]
    'both masks are empty:'
    >>> empty_note((3, 1, 1, 11)) is None
    True
    """
    tp, fp, fn, _tn = (int(c) for c in counts)
    truth_fg, pred_fg = tp + fn, tp + fp
    if truth_fg == 0 and pred_fg == 0:
        return (
            "both masks are empty: accuracy and specificity are 1; precision, recall, "
            "F1, IoU and MCC are 0 by convention (nothing to compare)"
        )
    if truth_fg == 0:
        return (
            "the ground truth is empty: every predicted pixel is a false positive; "
            "recall, F1 and IoU are 0 by convention"
        )
    if pred_fg == 0:
        return (
            "the prediction is empty: every true pixel is a false negative; "
            "precision, F1 and IoU are 0 by convention"
        )
    return None


# --------------------------------------------------------------------------
# bounding boxes of edits
# --------------------------------------------------------------------------


def _clip_box(box: Sequence[Any], shape: Sequence[int]) -> Box | None:
    out = []
    for s, n in zip(box, shape):
        if isinstance(s, slice):
            lo, hi, _ = s.indices(int(n))
        else:
            lo = int(s)
            lo = lo + int(n) if lo < 0 else lo
            hi = lo + 1
        lo, hi = max(lo, 0), min(hi, int(n))
        if lo >= hi:
            return None
        out.append(slice(lo, hi))
    out.extend(slice(0, int(n)) for n in shape[len(out):])
    return tuple(out)


def atom_boxes(atoms: Iterable[Any], shape: Sequence[int]) -> list[Box]:
    """Bounding boxes of the edits recorded in a Labels layer's history item.

    Parameters
    ----------
    atoms : iterable
        History atoms: objects with a ``slice_key`` (a tuple of slices, as
        napari's masked paint atoms) or ``(indices, old, new)`` tuples whose
        ``indices`` is a tuple of integer index arrays (or slices/integers).
        Anything else marks the whole array as edited.
    shape : sequence of int
        Shape of the edited array; boxes are clipped to it.

    Returns
    -------
    list of tuple of slice
        One box per atom that changed something, in the atoms' order.

    Examples
    --------
    >>> atom = ((np.array([2, 5]), np.array([7, 3])), None, 1)
    >>> atom_boxes([atom], (10, 10))
    [(slice(2, 6, None), slice(3, 8, None))]
    """
    boxes: list[Box] = []
    whole = tuple(slice(0, int(n)) for n in shape)
    for atom in atoms:
        key = getattr(atom, "slice_key", None)
        if key is None and isinstance(atom, tuple) and len(atom) == 3:
            indices = atom[0]
            if not isinstance(indices, tuple):
                indices = (indices,)
            parts: list[Any] = []
            empty = False
            for ind in indices:
                if isinstance(ind, slice | numbers.Integral):
                    parts.append(ind)
                    continue
                arr = np.asarray(ind)
                if arr.dtype == bool or arr.dtype.kind not in "iu":
                    parts = None  # type: ignore[assignment]
                    break
                if arr.size == 0:
                    empty = True
                    break
                parts.append(slice(int(arr.min()), int(arr.max()) + 1))
            if empty:
                continue
            key = tuple(parts) if parts is not None else None
        box = whole if key is None else _clip_box(key, shape)
        if box is not None:
            boxes.append(box)
    return boxes


def merge_boxes(boxes: Sequence[Box], max_boxes: int = 16) -> list[Box]:
    """Return ``boxes``, or their union when there are more than ``max_boxes``.

    Re-counting overlapping boxes one by one is correct (each re-reads the
    current values); the union only bounds the number of calls.

    Examples
    --------
    >>> merge_boxes([(slice(0, 2), slice(5, 6)), (slice(4, 5), slice(1, 3))], max_boxes=1)
    [(slice(0, 5, None), slice(1, 6, None))]
    """
    boxes = list(boxes)
    if len(boxes) <= max_boxes:
        return boxes
    ndim = len(boxes[0])
    return [
        tuple(
            slice(min(b[d].start for b in boxes), max(b[d].stop for b in boxes))
            for d in range(ndim)
        )
    ]


def local_box(box: Sequence[slice], key: Key) -> Box | None:
    """Map a box in a layer's full array into the compared window.

    Parameters
    ----------
    box : tuple of slice
        A box in full-array coordinates (one slice per axis, no steps).
    key : tuple
        The window: per axis an integer (a fixed slice of a stack: that axis is
        dropped) or a ``slice(start, stop)``.

    Returns
    -------
    tuple of slice or None
        The part of ``box`` inside the window, in window coordinates; None if
        they do not intersect.

    Examples
    --------
    >>> local_box((slice(2, 3), slice(5, 20), slice(0, 4)), (2, slice(0, 10), slice(0, 10)))
    (slice(5, 10, None), slice(0, 4, None))
    >>> local_box((slice(0, 2), slice(0, 4), slice(0, 4)), (2, slice(0, 10), slice(0, 10))) is None
    True
    """
    out = []
    for b, k in zip(box, key):
        if isinstance(k, slice):
            k0, k1 = int(k.start or 0), int(k.stop)
            lo, hi = max(int(b.start), k0), min(int(b.stop), k1)
            if lo >= hi:
                return None
            out.append(slice(lo - k0, hi - k0))
        elif not int(b.start) <= int(k) < int(b.stop):
            return None
    return tuple(out)


def full_box(local: Sequence[slice], key: Key, *, margin: int = 0) -> Key:
    """Map a box of the compared window back to a layer's full array.

    Parameters
    ----------
    local : tuple of slice
        Box in window coordinates.
    key : tuple
        The window (see :func:`local_box`).
    margin : int, default 0
        Grow the box by this many pixels on each side (clipped to the window).

    Returns
    -------
    tuple
        Integers for the fixed axes and slices elsewhere: index a layer's data
        with it, or pass it as ``region`` to a write.

    Examples
    --------
    >>> full_box((slice(5, 10), slice(0, 4)), (2, slice(0, 10), slice(0, 10)))
    (2, slice(5, 10, None), slice(0, 4, None))
    """
    it = iter(local)
    out: list[Any] = []
    for k in key:
        if isinstance(k, slice):
            s = next(it)
            k0, k1 = int(k.start or 0), int(k.stop)
            out.append(slice(max(k0, k0 + int(s.start) - margin),
                             min(k1, k0 + int(s.stop) + margin)))
        else:
            out.append(int(k))
    return tuple(out)


# --------------------------------------------------------------------------
# label values for corrections
# --------------------------------------------------------------------------


def most_common_label(labels: npt.ArrayLike, default: int = 1) -> int:
    """Most frequent non-zero value of ``labels`` (``default`` if there is none).

    Examples
    --------
    >>> most_common_label(np.array([0, 3, 3, 255]))
    3
    >>> most_common_label(np.zeros(4, dtype=int), default=7)
    7
    """
    a = np.asarray(labels).reshape(-1)
    a = a[a != 0]
    if a.size == 0:
        return int(default)
    if a.dtype.kind in "bu" or (a.dtype.kind == "i" and int(a.min()) >= 0):
        hi = int(a.max())
        if hi <= 1 << 24:
            return int(np.argmax(np.bincount(a.astype(np.intp), minlength=hi + 1)))
    values, counts = np.unique(a, return_counts=True)
    return int(values[np.argmax(counts)])


def adjacent_label(labels: npt.ArrayLike, mask: npt.ArrayLike, *, default: int = 1) -> int:
    """The most frequent non-zero label touching ``mask`` (8-/26-connected ring).

    Parameters
    ----------
    labels : array_like of int
        Label values around and under the component (a region grown by one
        pixel around the component's box is enough).
    mask : array_like of bool
        The component, same shape as ``labels``.
    default : int, default 1
        Returned when no labelled pixel touches the component.

    Returns
    -------
    int
        The label to give the component so that it joins its neighbour.

    Examples
    --------
    >>> lab = np.array([[0, 0, 0, 0], [5, 0, 0, 0], [5, 0, 0, 2]])
    >>> m = np.array([[0, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]], dtype=bool)
    >>> adjacent_label(lab, m)
    5
    """
    lab = np.asarray(labels)
    m = np.asarray(mask, dtype=bool)
    if lab.shape != m.shape:
        raise ValueError(f"labels {lab.shape} and mask {m.shape} must have the same shape")
    if not m.any():
        return int(default)
    structure = ndimage.generate_binary_structure(m.ndim, m.ndim)
    ring = ndimage.binary_dilation(m, structure=structure) & ~m
    return most_common_label(lab[ring], default=default)


def fix_values(
    kind: Literal["FP", "FN", "wrong"],
    target: Literal["truth", "pred"],
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    mask: npt.ArrayLike,
    *,
    positive: int | None = None,
    multiclass: bool = False,
    truth_label: int = 1,
    pred_label: int = 1,
) -> np.ndarray | int:
    """Values that resolve one error component by editing one side.

    The meaning of the two corrections:

    * ``target="truth"`` (accept the prediction into the ground truth): an FP
      component is *added* to the truth, an FN component is *removed* from it,
      a wrong-class component takes the predicted classes.
    * ``target="pred"`` (fix the prediction): an FP component is *removed* from
      the prediction, an FN component is *added* to it, a wrong-class
      component takes the true classes.

    Parameters
    ----------
    kind : {"FP", "FN", "wrong"}
        The kind of the error component.
    target : {"truth", "pred"}
        The side that is edited.
    truth, pred : array_like
        Current values of both sides in a region around the component.
    mask : array_like of bool
        The component's pixels in that region (only they are written).
    positive : int, optional
        One-class comparison: the class added (``None``: any foreground).
    multiclass : bool, default False
        Multi-class comparison: copy the other side's classes pixel by pixel.
    truth_label, pred_label : int, default 1
        Label added to the truth / prediction in the binary "any foreground"
        comparison (e.g. from :func:`adjacent_label`).

    Returns
    -------
    ndarray or int
        New values of the edited side (an array of the region's shape, or one
        value for every pixel of ``mask``).

    Examples
    --------
    >>> t = np.array([0, 0, 3]); p = np.array([7, 7, 0]); m = np.array([1, 1, 0], bool)
    >>> fix_values("FP", "truth", t, p, m, truth_label=3)
    3
    >>> fix_values("FP", "pred", t, p, m)
    0
    >>> fix_values("FP", "truth", t, p, m, multiclass=True).tolist()
    [7, 7, 0]
    """
    k = str(kind)
    if k not in ("FP", "FN", "wrong"):
        raise ValueError(f'kind must be "FP", "FN" or "wrong", got {kind!r}')
    if target not in ("truth", "pred"):
        raise ValueError(f'target must be "truth" or "pred", got {target!r}')
    if multiclass or k == "wrong":
        src = np.asarray(pred if target == "truth" else truth)
        if (k, target) in (("FN", "truth"), ("FP", "pred")):
            return 0  # the other side is background there
        return src.copy()
    adds = (k == "FP") == (target == "truth")
    if not adds:
        return 0
    if positive is not None:
        return int(positive)
    return int(truth_label if target == "truth" else pred_label)


# --------------------------------------------------------------------------
# objects
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

    Examples
    --------
    >>> object_centres(np.array([[0, 2, 2], [0, 0, 5]]))
    {2: (0.0, 1.5), 5: (1.0, 2.0)}
    """
    lab = np.asarray(labels)
    ids = np.unique(lab)
    ids = ids[ids != 0]
    if ids.size == 0:
        return {}
    centres = ndimage.center_of_mass(np.ones(lab.shape, dtype=np.uint8), lab, ids)
    return {int(i): tuple(float(c) for c in ctr) for i, ctr in zip(ids, centres)}


# --------------------------------------------------------------------------
# the live comparison
# --------------------------------------------------------------------------


def _codes(t: np.ndarray, p: np.ndarray, positive: float | None, multiclass: bool) -> np.ndarray:
    codes = confusion_map(t, p, positive=None if multiclass else positive)
    if multiclass:
        codes[(codes == TP) & (t != p)] = WRONG
    return codes


def _pairs(t: np.ndarray, p: np.ndarray) -> dict[tuple[int, int], int]:
    cm, lab = confusion_matrix(t, p, return_labels=True)
    i, j = np.nonzero(cm)
    return {(int(lab[a]), int(lab[b])): int(cm[a, b]) for a, b in zip(i, j)}


def _as_values(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint8) if a.dtype == bool else a


def find_errors(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    wrong: npt.ArrayLike | None = None,
    *,
    min_size: int = 1,
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """FP and FN components (and wrong-class components) of two masks, biggest first.

    Parameters
    ----------
    truth, pred : array_like
        Foreground masks (see :func:`~napari_maskclean.core.compare.error_components`).
    wrong : array_like of bool, optional
        Pixels whose classes differ (multi-class); their components have kind "wrong".
    min_size : int, default 1
        Smaller components are left out.

    Returns
    -------
    components : list of dict
        ``kind``, ``size``, ``bbox``, ``centroid`` and ``label`` (id in ``labels``).
    labels : ndarray of int32
        Label image of the components.

    Examples
    --------
    >>> t = np.array([[1, 1, 0, 0]]); p = np.array([[1, 0, 0, 1]])
    >>> [(c["kind"], c["size"]) for c in find_errors(t, p)[0]]
    [('FP', 1), ('FN', 1)]
    """
    comps, lab = error_components(truth, pred, min_size=min_size)
    if wrong is not None:
        w = np.asarray(wrong, dtype=bool)
        extra, wlab = error_components(w, np.zeros_like(w), min_size=min_size)
        if extra:
            offset = len(comps)
            lab = lab.copy()
            lab[wlab > 0] = wlab[wlab > 0] + offset
            for c in extra:
                c["kind"] = "wrong"
                c["label"] += offset
            comps = sorted(comps + extra, key=lambda c: -c["size"])  # stable: ties keep order
    return comps, lab


class LiveComparison:
    """A prediction compared with its ground truth, kept current while they are edited.

    Parameters
    ----------
    truth, pred : array_like
        Ground truth and prediction of the same shape (boolean, integer, or
        float without NaN; see :func:`~napari_maskclean.core.compare.binary_metrics`).
    positive : int, optional
        One-class comparison: only this value is foreground. ``None``: any
        non-zero value is foreground.
    multiclass : bool, default False
        Also keep the multi-class confusion matrix; overlay pixels whose truth
        and prediction are different non-zero classes get the code
        :data:`WRONG`. ``positive`` must be None.

    Attributes
    ----------
    objects : dict or None
        Set by :func:`compare` with ``iou_threshold``: ``match``
        (:class:`~napari_maskclean.core.compare.ObjectMatch`), ``truth_centres``
        and ``pred_centres`` (id -> centroid in window coordinates).

    Examples
    --------
    >>> truth = np.zeros((4, 4), dtype=np.uint8); truth[1:3, 1:3] = 1
    >>> live = LiveComparison(truth, np.zeros((4, 4), dtype=np.uint8))
    >>> live.counts
    (0, 0, 4, 12)
    >>> live.update((slice(1, 3), slice(1, 2)), pred_region=np.ones((2, 1)))
    >>> live.counts, live.codes[1].tolist()
    ((2, 0, 2, 12), [0, 1, 3, 0])
    """

    def __init__(
        self,
        truth: npt.ArrayLike,
        pred: npt.ArrayLike,
        *,
        positive: int | None = None,
        multiclass: bool = False,
    ) -> None:
        if multiclass and positive is not None:
            raise ValueError("multi-class comparison counts every class: pass positive=None")
        t, p = np.asarray(truth), np.asarray(pred)
        check_finite(t, "ground truth")
        check_finite(p, "prediction")
        self.positive = positive
        self.multiclass = bool(multiclass)
        self._counter = ConfusionCounter(t, p, positive=positive)
        self._codes = _codes(t, p, positive, self.multiclass)
        self._truth = self._pred = None
        self._pairs: dict[tuple[int, int], int] = {}
        if self.multiclass:
            for what, a in (("ground truth", t), ("prediction", p)):
                n = _n_distinct_nonzero(a)
                if n > MAX_CLASSES:
                    raise ValueError(
                        f"{what} has {n} distinct labels; multi-class mode is for a few "
                        f"semantic classes (at most {MAX_CLASSES}). For instance labels "
                        "use 'any foreground' with 'match objects'"
                    )
            self._truth = np.array(_as_values(t), copy=True)
            self._pred = np.array(_as_values(p), copy=True)
            self._pairs = _pairs(self._truth, self._pred)
        self._errors: tuple[list[dict[str, Any]], np.ndarray] | None = None
        self._errors_min_size = 1
        self.objects: dict[str, Any] | None = None
        self.version = 0

    # ---- state ------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the compared window."""
        return self._counter.shape

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """Current ``(tp, fp, fn, tn)`` of the foreground comparison."""
        return self._counter.counts

    @property
    def codes(self) -> npt.NDArray[np.uint8]:
        """Read-only overlay codes: TN 0, TP 1, FP 2, FN 3, wrong class 4."""
        v = self._codes.view()
        v.flags.writeable = False
        return v

    def metrics(self) -> dict[str, Any]:
        """Scores of the foreground comparison (see ``binary_metrics``)."""
        return self._counter.metrics()

    def code_counts(self) -> dict[int, int]:
        """Number of overlay pixels per code (TN, TP, FP, FN, WRONG), without a full pass.

        In multi-class mode TP counts only pixels of the right class and WRONG the
        foreground pixels of another class; otherwise WRONG is 0.
        """
        tp, fp, fn, tn = self.counts
        if not self.multiclass:
            return {TN: tn, TP: tp, FP: fp, FN: fn, WRONG: 0}
        wrong = sum(n for (a, b), n in self._pairs.items() if a != b and a != 0 and b != 0)
        return {TN: tn, TP: tp - wrong, FP: fp, FN: fn, WRONG: wrong}

    def values(self, side: Literal["truth", "pred"], box: Sequence[slice]) -> np.ndarray:
        """Copy of one side's values in a box.

        The raw classes in multi-class mode, else the foreground as 0/1 (uint8).
        """
        if side not in ("truth", "pred"):
            raise ValueError(f'side must be "truth" or "pred", got {side!r}')
        box = tuple(box)
        if self.multiclass:
            return np.array((self._truth if side == "truth" else self._pred)[box], copy=True)
        fg = self._counter.truth if side == "truth" else self._counter.pred
        return fg[box].astype(np.uint8)

    # ---- edits ------------------------------------------------------------------
    def update(
        self,
        box: Sequence[slice],
        truth_region: npt.ArrayLike | None = None,
        pred_region: npt.ArrayLike | None = None,
    ) -> None:
        """Replace the values of a box of one or both sides and update everything.

        Parameters
        ----------
        box : tuple of slice
            The edited box, in window coordinates.
        truth_region, pred_region : array_like, optional
            The new values of the whole box; ``None`` leaves that side as is.
        """
        if truth_region is None and pred_region is None:
            return
        box = tuple(box)
        for what, r in (("truth_region", truth_region), ("pred_region", pred_region)):
            if r is not None:
                check_finite(r, what)
        self._counter.update(box, truth_region, pred_region)
        t = self._counter.truth[box]
        p = self._counter.pred[box]
        if self.multiclass:
            old = _pairs(self._truth[box], self._pred[box])
            if truth_region is not None:
                self._truth[box] = _as_values(np.asarray(truth_region))
            if pred_region is not None:
                self._pred[box] = _as_values(np.asarray(pred_region))
            new = _pairs(self._truth[box], self._pred[box])
            for key, n in old.items():
                self._pairs[key] -= n
            for key, n in new.items():
                self._pairs[key] = self._pairs.get(key, 0) + n
            self._pairs = {k: n for k, n in self._pairs.items() if n}
            self._codes[box] = _codes(self._truth[box], self._pred[box], None, True)
        else:
            self._codes[box] = confusion_map(t, p)
        self._errors = None
        self.version += 1

    # ---- multi-class --------------------------------------------------------------
    def confusion_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Multi-class confusion matrix (rows truth, columns prediction) and its labels.

        Equal to ``confusion_matrix(truth, pred, return_labels=True)`` on the
        current arrays.
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

    def per_class(self) -> dict[str, Any]:
        """Per-class IoU, Dice, precision, recall, support, and the means.

        Returns ``per_class_metrics`` of :meth:`confusion_matrix` plus ``labels``.
        """
        cm, labels = self.confusion_matrix()
        out = per_class_metrics(cm) if cm.size else {
            "iou": np.zeros(0), "dice": np.zeros(0), "precision": np.zeros(0),
            "recall": np.zeros(0), "support": np.zeros(0, dtype=np.int64),
            "mean_iou": 0.0, "mean_dice": 0.0}
        out["labels"] = labels
        return out

    # ---- errors -----------------------------------------------------------------
    def errors(self, *, min_size: int = 1) -> tuple[list[dict[str, Any]], np.ndarray]:
        """Connected error components, biggest first (cached until the next edit).

        Returns
        -------
        components : list of dict
            As :func:`~napari_maskclean.core.compare.error_components`: ``kind``
            ("FP", "FN" or, in multi-class mode, "wrong"), ``size``, ``bbox``,
            ``centroid`` and ``label`` (its id in the label image).
        labels : ndarray of int32
            Label image of the components.
        """
        if self._errors is not None and self._errors_min_size == min_size:
            return self._errors
        self._errors = find_errors(*self.error_inputs()[:3], min_size=min_size)
        self._errors_min_size = min_size
        return self._errors

    @property
    def errors_cached(self) -> bool:
        """True when :meth:`errors` would answer without computing."""
        return self._errors is not None

    def error_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
        """Copies to find the errors on another thread: truth, pred, wrong mask, version.

        Pass the first three to :func:`find_errors` and its result with the version to
        :meth:`install_errors`.
        """
        wrong = (self._codes == WRONG) if self.multiclass else None
        return (np.array(self._counter.truth, copy=True), np.array(self._counter.pred, copy=True),
                wrong, self.version)

    def install_errors(
        self, errors: tuple[list[dict[str, Any]], np.ndarray], *, version: int, min_size: int
    ) -> bool:
        """Cache errors found elsewhere if no edit happened since ``version``; say if used."""
        if version != self.version:
            return False
        self._errors = errors
        self._errors_min_size = min_size
        return True
        comps, lab = error_components(
            self._counter.truth, self._counter.pred, min_size=min_size)
        if self.multiclass:
            wrong = self._codes == WRONG
            extra, wlab = error_components(wrong, np.zeros_like(wrong), min_size=min_size)
            if extra:
                offset = len(comps)
                lab = lab.copy()
                lab[wlab > 0] = wlab[wlab > 0] + offset
                for c in extra:
                    c["kind"] = "wrong"
                    c["label"] += offset
                merged = sorted(comps + extra, key=lambda c: -c["size"])  # stable
                comps = merged
        self._errors = (comps, lab)
        self._errors_min_size = min_size
        return self._errors

    def error_mask(self, component: dict[str, Any]) -> tuple[Box, np.ndarray]:
        """The box of a component and the pixels of it that are still errors of its kind.

        Parameters
        ----------
        component : dict
            An entry of :meth:`errors` (possibly from before later edits).

        Returns
        -------
        box : tuple of slice
            The component's bounding box.
        mask : ndarray of bool
            Its pixels (from the label image it was found in) whose overlay code
            still is the component's kind; empty once the error has been fixed.
        """
        box = tuple(slice(int(a), int(b)) for a, b in component["bbox"])
        mask = component["mask"] if "mask" in component else None
        if mask is None:
            _, lab = self.errors(min_size=self._errors_min_size)
            mask = lab[box] == component["label"]
        code = {"FP": FP, "FN": FN, "wrong": WRONG}[component["kind"]]
        return box, mask & (self._codes[box] == code)

    # ---- export -----------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """All current scores as plain JSON-able values."""
        out: dict[str, Any] = {"metrics": self.metrics()}
        out["foreground"] = "any non-zero" if self.positive is None else f"== {self.positive}"
        if self.multiclass:
            cm, labels = self.confusion_matrix()
            pc = self.per_class()
            out["confusion_matrix"] = {"labels": labels.tolist(), "matrix": cm.tolist()}
            out["per_class"] = {
                str(int(lab)): {k: float(pc[k][i]) for k in ("iou", "dice", "precision", "recall")}
                | {"support": int(pc["support"][i])}
                for i, lab in enumerate(labels)
            }
            out["mean_iou"], out["mean_dice"] = pc["mean_iou"], pc["mean_dice"]
        if self.objects is not None:
            out["objects"] = self.objects["match"].as_dict()
        return out


def compare(
    truth: npt.ArrayLike,
    pred: npt.ArrayLike,
    *,
    truth_method: str | None = None,
    pred_method: str | None = None,
    positive: int | None = None,
    multiclass: bool = False,
    iou_threshold: float | None = None,
    min_size: int = 1,
) -> LiveComparison:
    """Compare a prediction with its ground truth (the full, off-thread computation).

    Parameters
    ----------
    truth, pred : array_like
        Ground truth and prediction of the same shape.
    truth_method, pred_method : str, optional
        Threshold that side first with :func:`~napari_maskclean.core.threshold.threshold_mask`
        and this method (e.g. ``"otsu"``); None: use the values as they are. A
        thresholded side counts as class ``positive`` (1 if None).
    positive : int, optional
        One-class comparison (see :class:`LiveComparison`).
    multiclass : bool, default False
        Multi-class comparison (see :class:`LiveComparison`).
    iou_threshold : float, optional
        Also match objects (:func:`~napari_maskclean.core.compare.match_objects`,
        binary masks split into connected components by :func:`instance_labels`);
        with ``positive``, only the objects of that class.
    min_size : int, default 1
        Smallest error component listed by :meth:`LiveComparison.errors`
        (computed here, so the first navigation is instant).

    Returns
    -------
    LiveComparison

    Examples
    --------
    >>> image = np.array([[0.1, 0.9], [0.8, 0.2]])
    >>> live = compare(np.array([[0, 1], [0, 0]]), image, pred_method="mean")
    >>> live.counts
    (1, 1, 0, 2)
    """
    t = np.asarray(truth)
    p = np.asarray(pred)
    # A thresholded side is a mask of the chosen class, if there is one.
    as_class = np.int32(1 if positive is None else positive)
    if truth_method is not None:
        check_finite(t, "ground truth")
        t = threshold_mask(t, method=truth_method) * as_class
    if pred_method is not None:
        check_finite(p, "prediction")
        p = threshold_mask(p, method=pred_method) * as_class
    if t.shape != p.shape:
        common_shape(p.shape, t.shape)  # raises with both shapes
    live = LiveComparison(t, p, positive=positive, multiclass=multiclass)
    live.errors(min_size=min_size)
    if iou_threshold is not None:
        if positive is not None:  # the objects of the chosen class only
            t, p = np.where(t == positive, t, 0), np.where(p == positive, p, 0)
        ti, pi = instance_labels(t), instance_labels(p)
        live.objects = {
            "match": match_objects(ti, pi, iou_threshold=iou_threshold),
            "truth_centres": object_centres(ti),
            "pred_centres": object_centres(pi),
        }
    return live


# --------------------------------------------------------------------------
# display helpers
# --------------------------------------------------------------------------


def heat_colors(cm: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Cell colours (RGB) of a confusion-matrix heatmap, normalised per truth row.

    White for 0 % of the row, dark blue for 100 %.

    Examples
    --------
    >>> heat_colors(np.array([[3, 1], [0, 0]]))[0].tolist()
    [[59, 91, 164], [174, 187, 217]]
    """
    c = np.asarray(cm, dtype=np.float64)
    rows = c.sum(axis=1, keepdims=True)
    frac = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)
    white = np.array([255.0, 255.0, 255.0])
    blue = np.array([8.0, 48.0, 140.0])
    rgb = white + (blue - white) * (frac[..., None] ** 0.8)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def fit_zoom(
    box_shape: Sequence[int],
    scale: Sequence[float],
    canvas_size: Sequence[int],
    *,
    fill: float = 0.4,
    min_extent: float = 48.0,
) -> float:
    """Camera zoom (screen pixels per world unit) that shows a box at a glance.

    Parameters
    ----------
    box_shape : sequence of int
        Size of the box in pixels along the displayed axes.
    scale : sequence of float
        The layer's scale along the same axes (world units per pixel).
    canvas_size : sequence of int
        Canvas size in screen pixels.
    fill : float, default 0.4
        Fraction of the canvas the box (at least ``min_extent`` pixels) fills.
    min_extent : float, default 48
        Smallest extent, in pixels, zoomed to (a 1-pixel error is not blown up).

    Examples
    --------
    >>> fit_zoom((100, 50), (1.0, 1.0), (800, 600))
    2.4
    >>> fit_zoom((100, 50), (2.0, 2.0), (800, 600))
    1.2
    """
    sc = [abs(float(s)) for s in scale]
    size = max(max(float(n), float(min_extent)) * s for n, s in zip(box_shape, sc))
    return float(fill * min(float(c) for c in canvas_size) / size)


def full_point(point: Sequence[float], key: Key) -> tuple[float, ...]:
    """Map a point of the compared window to a layer's full-array coordinates.

    Examples
    --------
    >>> full_point((1.5, 2.0), (3, slice(0, 10), slice(0, 10)))
    (3.0, 1.5, 2.0)
    """
    it = iter(point)
    out = []
    for k in key:
        if isinstance(k, slice):
            out.append(float(k.start or 0) + float(next(it)))
        else:
            out.append(float(k))
    return tuple(out)


def component_region(
    box: Sequence[slice], mask: npt.ArrayLike, shape: Sequence[int], *, margin: int = 1
) -> tuple[Box, np.ndarray]:
    """Grow a component's box by ``margin`` pixels (clipped) and pad its mask to match.

    Examples
    --------
    >>> big, m = component_region((slice(0, 1), slice(2, 3)), np.ones((1, 1), bool), (4, 4))
    >>> big, m.astype(int).tolist()
    ((slice(0, 2, None), slice(1, 4, None)), [[0, 1, 0], [0, 0, 0]])
    """
    big = tuple(
        slice(max(0, int(b.start) - margin), min(int(n), int(b.stop) + margin))
        for b, n in zip(box, shape)
    )
    out = np.zeros(tuple(b.stop - b.start for b in big), dtype=bool)
    inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, big))
    out[inner] = np.asarray(mask, dtype=bool)
    return big, out


def overlay_palette(*, show_tn: bool = False) -> npt.NDArray[np.uint8]:
    """RGB palette of the overlay codes for a PNG (TN black unless shown).

    Examples
    --------
    >>> overlay_palette()[:2].tolist()
    [[0, 0, 0], [0, 158, 115]]
    """
    pal = OVERLAY_COLORS.copy()
    if not show_tn:
        pal[TN] = 0
    return pal


def overlay_color_dict(*, show_tn: bool = False, tn_alpha: float = 0.45) -> dict:
    """Colours (RGBA floats 0..1) of the overlay codes for a label colormap.

    The key ``None`` (any other value) is transparent; TN is transparent unless
    ``show_tn``.

    Examples
    --------
    >>> d = overlay_color_dict()
    >>> d[0], d[2]
    ((0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 1.0, 1.0))
    """
    out: dict = {None: (0.0, 0.0, 0.0, 0.0)}
    for code, rgb in enumerate(OVERLAY_COLORS):
        r, g, b = (float(v) / 255.0 for v in rgb)
        out[code] = (r, g, b, 1.0)
    out[TN] = out[TN][:3] + (float(tn_alpha),) if show_tn else (0.0, 0.0, 0.0, 0.0)
    return out


# --------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------


def _value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def report_rows(report: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Flatten a report into ``(metric, class, value)`` rows for a CSV file.

    Context entries (strings, numbers) come first, then ``metrics``, then the
    per-class scores and confusion-matrix cells (``cm[truth=a,pred=b]``), then
    object-level scores (``objects.*``).

    Examples
    --------
    >>> report_rows({"prediction": "p", "metrics": {"tp": 3}})
    [('prediction', '', 'p'), ('tp', '', 3)]
    """
    rows: list[tuple[str, str, Any]] = []
    for key, value in report.items():
        if isinstance(value, str | int | float | np.generic) or value is None:
            rows.append((key, "", _value(value)))
    for name, value in report.get("metrics", {}).items():
        rows.append((name, "", _value(value)))
    for cls, scores in report.get("per_class", {}).items():
        for name, value in scores.items():
            rows.append((name, str(cls), _value(value)))
    cm = report.get("confusion_matrix")
    if cm:
        for a, row in zip(cm["labels"], cm["matrix"]):
            for b, n in zip(cm["labels"], row):
                rows.append((f"cm[truth={a},pred={b}]", "", int(n)))
    for name, value in report.get("objects", {}).items():
        if isinstance(value, list):
            value = json.dumps(value)
        rows.append((f"objects.{name}", "", _value(value)))
    return rows


def write_report(
    path: str | os.PathLike[str], report: dict[str, Any], *, overwrite: bool = False
) -> Path:
    """Write a report as ``.json`` (nested) or ``.csv`` (``metric,class,value`` rows).

    Parameters
    ----------
    path : str or path-like
        Destination; the format follows the suffix. Its folder must exist.
    report : dict
        E.g. :meth:`LiveComparison.report` plus context entries.
    overwrite : bool, default False
        Replace an existing file. Default: refuse.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If the suffix is neither ``.csv`` nor ``.json``.

    Examples
    --------
    >>> import tempfile
    >>> p = write_report(Path(tempfile.mkdtemp()) / "m.csv", {"metrics": {"f1": 0.5}})
    >>> p.read_text().splitlines()
    ['metric,class,value', 'f1,,0.5']
    """
    target = Path(os.fspath(path))
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(
            f"cannot write metrics as {target.suffix or 'a file without suffix'!r}; "
            "use a .csv or .json file name"
        )
    if target.exists() and not overwrite:
        raise FileExistsError(
            f"{str(target)!r} already exists; choose another name or pass overwrite=True"
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"folder {str(target.parent)!r} does not exist; create it first")
    if suffix == ".json":
        text = json.dumps(report, indent=2, default=_value) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("metric", "class", "value"))
        writer.writerows(report_rows(report))
        text = buf.getvalue()
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)
    return target
