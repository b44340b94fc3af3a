"""Label values that resolve one error component (accept into truth / fix the prediction).

napari-free: the widget finds the component, these functions say what to
write, and the widget writes it through its single undoable write path.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import ndimage

__all__ = ["adjacent_label", "fix_values", "most_common_label"]


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
