"""Input validation for :mod:`.fill` and :mod:`.palette` (labels, colour masks, options)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray


def _check_nonneg_int(value: int, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of pixels ({what}), got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 ({what}), got {value}")
    return int(value)


def _check_labels(labels: ArrayLike) -> NDArray:
    arr = np.asarray(labels)
    if arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"labels must be an integer label image, got dtype {arr.dtype}; convert it "
            "first, e.g. labels.astype(np.int32)"
        )
    if arr.ndim < 1:
        raise ValueError("labels must have at least one dimension, got a 0-d array")
    return arr


def _plane_spacing(spacing, ndim: int, per_slice: bool):
    """Spacing of the arrays actually processed (the last two axes per slice)."""
    if spacing is None or isinstance(spacing, numbers.Real) or not per_slice or ndim <= 2:
        return spacing
    values = list(spacing)
    if len(values) != ndim:
        raise ValueError(
            f"spacing must have one value per spatial axis ({ndim}), got {len(values)}: "
            f"{values!r}"
        )
    return values[-2:]


def _check_rgb_mask(rgb: ArrayLike) -> NDArray[np.uint8]:
    arr = np.asarray(rgb)
    if arr.ndim < 2 or arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"a colour mask must be channel-last RGB or RGBA, shape (..., 3) or (..., 4), got "
            f"shape {arr.shape}"
        )
    if arr.dtype != np.uint8:
        raise TypeError(
            f"a colour mask must hold 8-bit colours (uint8), got dtype {arr.dtype}; convert it, "
            "e.g. (rgb * 255).round().astype(np.uint8) for floats in [0, 1]"
        )
    return arr


def _check_colour(colour: Sequence[int], n_ch: int) -> NDArray[np.uint8]:
    col = np.asarray(colour)
    if col.ndim != 1 or col.shape[0] not in (3, 4) or not np.issubdtype(col.dtype, np.integer):
        raise ValueError(f"invalid_color must be 3 or 4 integers 0..255, got {colour!r}")
    if col.min() < 0 or col.max() > 255:
        raise ValueError(f"invalid_color values must be in 0..255, got {colour!r}")
    if col.shape[0] == 3 and n_ch == 4:
        col = np.append(col, 255)  # an RGB colour in an RGBA mask means opaque
    if col.shape[0] != n_ch:
        raise ValueError(
            f"invalid_color has {col.shape[0]} values but the mask has {n_ch} channels"
        )
    return col.astype(np.uint8)


def _check_snap(snap: float) -> float:
    if isinstance(snap, bool) or not isinstance(snap, numbers.Real):
        raise TypeError(f"snap must be a colour distance (number), got {snap!r}")
    if not (math.isfinite(snap) and snap >= 0):
        raise ValueError(f"snap must be a finite colour distance >= 0, got {snap!r}")
    return float(snap)
