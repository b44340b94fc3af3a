"""Refuse colour images passed where a grey image is expected, or convert them.

A ``(M, N, 3)`` uint8 array is almost always an RGB picture, yet NumPy cannot
tell it from a 3-slice volume. Functions that take an intensity image accept
``channel_axis`` (as scikit-image does) and, when it is not given, refuse
the arrays that look like colour instead of silently treating the channels
as a third spatial axis.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .convert import RGB_CHANNELS, to_grey

__all__ = ["check_channel_axis", "looks_like_colour", "refuse_colour", "to_single_channel"]

# Spatial axes shorter than this are not taken as a picture's height/width.
_MIN_PICTURE_SIDE = 8


def looks_like_colour(arr: NDArray) -> bool:
    """True for ``(M, N, 3)`` / ``(M, N, 4)`` uint8 arrays with M, N >= 8.

    Those are the shapes of RGB(A) pictures (what imread gives); a genuine
    uint8 volume with 3 or 4 pixels along its last axis is rare enough to
    need an explicit opt-in (see :func:`refuse_colour`).
    """
    return (
        arr.dtype == np.uint8
        and arr.ndim == 3
        and arr.shape[-1] in (3, 4)
        and min(arr.shape[:2]) >= _MIN_PICTURE_SIDE
    )


def refuse_colour(arr: NDArray, *, func: str, fix: str | None = None) -> None:
    """Raise ValueError if ``arr`` looks like an RGB(A) image (see :func:`looks_like_colour`)."""
    if not looks_like_colour(arr):
        return
    kind = "RGB" if arr.shape[-1] == 3 else "RGBA"
    fix = fix or "pass channel_axis=-1 or convert with to_grey(image)"
    raise ValueError(
        f"{func}: the image looks like an {kind} image (shape {arr.shape}, uint8), not a "
        f"3D volume; {fix}. If it really is a volume with {arr.shape[-1]} pixels along "
        "its last axis, pass it as another integer dtype, e.g. image.astype(np.uint16)"
    )


def check_channel_axis(channel_axis: Any, shape: tuple[int, ...]) -> int | None:
    """Validate ``channel_axis`` for an array of ``shape``; returns it as a non-negative int."""
    if channel_axis is None:
        return None
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(channel_axis, numbers.Integral):
        raise TypeError(f"channel_axis must be an integer or None, got {channel_axis!r}")
    ndim = len(shape)
    if not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for an image of shape {shape}; "
            f"use a value between {-ndim} and {ndim - 1}, or None for a grey image"
        )
    return int(channel_axis) % ndim


def to_single_channel(
    arr: NDArray, channel_axis: Any, channel: Any, *, func: str, min_ndim: int = 2
) -> NDArray:
    """Return the grey image a thresholding function works on.

    ``channel_axis=None``: ``arr`` itself (refused if it looks like colour).
    Otherwise the channels on that axis are reduced with
    :func:`~napari_maskclean.core.convert.to_grey` rules: ``channel="luminance"``
    gives ``skimage.color.rgb2gray`` weights (float64 in the input's units),
    ``"red"``/``"green"``/``"blue"`` that channel unchanged (same dtype). A
    single-channel axis (length 1) is simply dropped.
    """
    axis = check_channel_axis(channel_axis, arr.shape)
    if axis is None:
        refuse_colour(arr, func=func)
        return arr
    if not isinstance(channel, str) or channel not in RGB_CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; choose one of {RGB_CHANNELS}")
    n = arr.shape[axis]
    if arr.ndim - 1 < min_ndim:
        raise ValueError(
            f"{func}: with channel_axis={channel_axis}, the image of shape {arr.shape} has "
            f"fewer than {min_ndim} spatial dimensions"
        )
    if n == 1:
        return np.take(arr, 0, axis=axis)
    if n not in (3, 4):
        raise ValueError(
            f"{func}: channel_axis={channel_axis} has {n} channels in shape {arr.shape}; "
            "only RGB (3) or RGBA (4) images can be converted to grey. Pick one channel "
            "yourself, e.g. np.take(image, 0, axis=channel_axis)"
        )
    moved = np.moveaxis(arr, axis, -1)
    if moved.dtype == np.bool_:
        moved = moved.view(np.uint8)
    return to_grey(moved, channel=channel)
