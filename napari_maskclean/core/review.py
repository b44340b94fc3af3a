"""The live comparison of a prediction with its ground truth, kept current while edited.

This module is the napari-free model behind the "Compare with ground truth"
dock widget; everything in it also works in a script. It owns no counting or
component finding of its own: the counts come from the one incremental
:class:`~napari_maskclean.core.compare.ConfusionCounter` and the error
components from :func:`~napari_maskclean.core.compare.error_components`.

* :func:`compare` -- threshold image inputs if asked, then build a
  :class:`LiveComparison`: confusion counts, the overlay codes (TN/TP/FP/FN and,
  for multi-class, "wrong class"), the confusion matrix and optionally the
  object matching.
* :meth:`LiveComparison.update` -- re-count only the bounding box of an edit
  (a brush stroke on a 2048 x 2048 mask updates in well under a millisecond).
* :func:`check_finite`, :func:`empty_note` -- input checks and messages that
  tell the user what to do.

Elsewhere: the objects of a mask and their matching in
:mod:`~napari_maskclean.core.matching`, the compared window and boxes of edits in
:mod:`~napari_maskclean.core.windows`, the values of a correction in
:mod:`~napari_maskclean.core.corrections`, writing a report with
:func:`napari_maskclean.io.write_report`; colours, camera and napari's
history live in the widget package (``napari_maskclean._widgets.compare``).

Slightly over the house's ~500 lines on purpose: what is left is one model
(:class:`LiveComparison`, its constructor :func:`compare` and its input
checks); everything separable already lives in the modules above.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .compare import (
    FN,
    FP,
    TN,
    TP,
    ConfusionCounter,
    confusion_map,
    error_components,
    per_class_metrics,
)
from .matching import (
    _check_labels_image,
    _instance_overlaps,
    _n_distinct_nonzero,
    instance_labels,
    match_objects_from_overlaps,
    object_centres,
)
from .threshold import threshold_mask
from .windows import Box, common_shape

__all__ = [
    "FN",
    "FP",
    "MAX_CLASSES",
    "TN",
    "TP",
    "WRONG",
    "LiveComparison",
    "as_compared",
    "check_finite",
    "compare",
    "empty_note",
]

#: Overlay code of a pixel whose truth and prediction are different non-zero
#: classes (multi-class comparison only). TN, TP, FP and FN are 0..3.
WRONG = 4
#: Multi-class mode refuses inputs with more distinct values than this.
MAX_CLASSES = 256


# --------------------------------------------------------------------------
# input checks and messages
# --------------------------------------------------------------------------


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


def as_compared(
    a: npt.ArrayLike,
    *,
    method: str | None = None,
    positive: int | None = None,
    what: str = "ground truth",
) -> np.ndarray:
    """One side as :func:`compare` compares it: thresholded with ``method`` if given.

    A thresholded side becomes a mask of class ``positive`` (1 if None); without
    ``method`` the values are returned as they are. The Compare dock uses it to
    measure the noise floor of exactly the truth it compares.

    Examples
    --------
    >>> as_compared(np.array([[0.1, 0.9]]), method="mean", positive=3).tolist()
    [[0, 3]]
    """
    arr = np.asarray(a)
    if method is None:
        return arr
    check_finite(arr, what)
    return threshold_mask(arr, method=method) * np.int32(1 if positive is None else positive)


# --------------------------------------------------------------------------
# the live comparison
# --------------------------------------------------------------------------


def _codes(t: np.ndarray, p: np.ndarray, positive: float | None, multiclass: bool) -> np.ndarray:
    codes = confusion_map(t, p, positive=None if multiclass else positive)
    if multiclass:
        codes[(codes == TP) & (t != p)] = WRONG
    return codes


class LiveComparison:
    """A prediction compared with its ground truth, kept current while they are edited.

    The counts live in one :class:`~napari_maskclean.core.compare.ConfusionCounter`
    (binary counts, and the class histogram in multi-class mode); this class
    adds the overlay codes, the cached error components and the object
    matching. Its inputs are plain arrays (a stack of instance masks is
    flattened to a label image by the caller).

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
    version : int
        Incremented by every :meth:`update` (results computed elsewhere from an
        older version are refused by :meth:`install_errors`).

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
        if multiclass:
            for what, a in (("ground truth", t), ("prediction", p)):
                n = _n_distinct_nonzero(a)
                if n > MAX_CLASSES:
                    raise ValueError(
                        f"{what} has {n} distinct labels; multi-class mode is for a few "
                        f"semantic classes (at most {MAX_CLASSES}). For instance labels "
                        "use 'any foreground' with 'match objects'"
                    )
        self.positive = positive
        self.multiclass = bool(multiclass)
        self._counter = ConfusionCounter(t, p, positive=positive, multiclass=self.multiclass)
        self._codes = _codes(t, p, positive, self.multiclass)
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
        pairs = self._counter.pair_counts
        wrong = sum(n for (a, b), n in pairs.items() if a != b and a != 0 and b != 0)
        return {TN: tn, TP: tp - wrong, FP: fp, FN: fn, WRONG: wrong}

    def values(self, side: Literal["truth", "pred"], box: Sequence[slice]) -> np.ndarray:
        """Copy of one side's values in a box.

        The raw classes in multi-class mode, else the foreground as 0/1 (uint8).
        """
        if side not in ("truth", "pred"):
            raise ValueError(f'side must be "truth" or "pred", got {side!r}')
        box = tuple(box)
        if self.multiclass:
            return np.array(self._counter.class_values(side)[box], copy=True)
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
        if self.multiclass:
            c = self._counter
            self._codes[box] = _codes(
                c.class_values("truth")[box], c.class_values("pred")[box], None, True)
        else:
            self._codes[box] = confusion_map(self._counter.truth[box], self._counter.pred[box])
        self._errors = None
        self.version += 1

    # ---- multi-class --------------------------------------------------------------
    def confusion_matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """Multi-class confusion matrix (rows truth, columns prediction) and its labels.

        Equal to ``confusion_matrix(truth, pred, return_labels=True)`` on the
        current arrays.
        """
        return self._counter.confusion_matrix()

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
        truth, pred, wrong, _version = self.error_inputs()
        self._errors = error_components(truth, pred, wrong=wrong, min_size=min_size)
        self._errors_min_size = min_size
        return self._errors

    @property
    def errors_cached(self) -> bool:
        """True when :meth:`errors` would answer without computing."""
        return self._errors is not None

    def error_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
        """Copies to find the errors on another thread: truth, pred, wrong mask, version.

        Pass them to ``error_components(truth, pred, wrong=wrong, min_size=...)``
        and its result with the version to :meth:`install_errors`.
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

    # ---- summary ----------------------------------------------------------------
    def report(self) -> dict[str, Any]:
        """All current scores as plain JSON-able values (write them with ``io.write_report``)."""
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
            if "per_category" in self.objects:  # compare_categories
                out["objects_per_category"] = {
                    str(c): m.as_dict() for c, m in self.objects["per_category"].items()}
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
    truth_instances: bool = False,
    pred_instances: bool = False,
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
    truth_instances, pred_instances : bool, default False
        That side's labels are instance ids (e.g. a COCO image): every label is
        one object even when there is only one, never split into its connected
        components. Instances that overlap are compared by
        :func:`~napari_maskclean.core.instance_compare.compare_instances`.

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
    # A thresholded side is a mask of the chosen class, if there is one.
    t = as_compared(truth, method=truth_method, positive=positive, what="ground truth")
    p = as_compared(pred, method=pred_method, positive=positive, what="prediction")
    if t.shape != p.shape:
        common_shape(p.shape, t.shape)  # raises with both shapes
    live = LiveComparison(t, p, positive=positive, multiclass=multiclass)
    live.errors(min_size=min_size)
    if iou_threshold is not None:
        if positive is not None:  # the objects of the chosen class only
            t, p = np.where(t == positive, t, 0), np.where(p == positive, p, 0)
        ti = t if truth_instances and truth_method is None else instance_labels(t)
        pi = p if pred_instances and pred_method is None else instance_labels(p)
        tid, pid, area_t, area_p, i_t, i_p, inter = _instance_overlaps(
            _check_labels_image(ti, "ground truth"), _check_labels_image(pi, "prediction"))
        overlaps = (tid, pid, area_t, area_p, tid[i_t], pid[i_p], inter)
        live.objects = {
            "match": match_objects_from_overlaps(*overlaps, iou_threshold=iou_threshold),
            "overlaps": overlaps,
            "truth_centres": object_centres(ti),
            "pred_centres": object_centres(pi),
        }
    return live


def rematch(live: LiveComparison, *, iou_threshold: float) -> LiveComparison:
    """The same comparison with objects matched at another IoU threshold.

    Only the matching runs again, from the object overlaps :func:`compare`
    kept (milliseconds instead of a full recount on 2048²). The counts and
    error components are shared with ``live``, which is not modified.
    """
    if live.objects is None or "overlaps" not in live.objects:
        raise ValueError("this comparison matched no objects; compare with iou_threshold")
    out = copy.copy(live)
    out.objects = {**live.objects, "match": match_objects_from_overlaps(
        *live.objects["overlaps"], iou_threshold=iou_threshold)}
    return out
