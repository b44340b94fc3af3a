"""Input checks shared by the comparison modules (same messages everywhere).

Private: :mod:`napari_maskclean.core.compare`,
:mod:`napari_maskclean.core.matching` and :mod:`napari_maskclean.batch.compare`
use these.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import numpy.typing as npt


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


def _check_iou_threshold(iou_threshold: Any) -> float:
    if isinstance(iou_threshold, np.generic):
        iou_threshold = iou_threshold.item()
    if (
        isinstance(iou_threshold, bool)
        or not isinstance(iou_threshold, numbers.Real)
        or not 0.0 <= float(iou_threshold) <= 1.0
    ):
        raise ValueError(f"iou_threshold must be a number between 0 and 1, got {iou_threshold!r}")
    return float(iou_threshold)


def _check_connectivity(connectivity: Any, ndim: int) -> int:
    """``connectivity`` of components in ``ndim`` dimensions (None: all neighbours)."""
    nd = max(ndim, 1)
    if connectivity is None:
        return nd
    if (
        isinstance(connectivity, bool)
        or not isinstance(connectivity, numbers.Integral)
        or not 1 <= connectivity <= nd
    ):
        raise ValueError(
            f"connectivity must be between 1 and {nd} (the number of dimensions), "
            f"got {connectivity!r}"
        )
    return int(connectivity)
