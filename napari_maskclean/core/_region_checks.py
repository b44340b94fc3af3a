"""Input validation and preparation for :mod:`.region` (seeds, tolerance, image, labels)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi

from ._channels import refuse_colour
from ._parallel import usable_cpus

_INT32_MAX = int(np.iinfo(np.int32).max)


#: smooth_sigma up to this is accepted on any image (cheap on small images).
_MIN_SIGMA_LIMIT = 16.0


@dataclass
class _Work:
    """An image ready for flooding: channels last, C-contiguous."""

    image: NDArray  # spatial shape + (channels,)
    spatial_shape: tuple[int, ...]
    colour: bool
    connectivity: int
    tolerance: float  # absolute


def _check_tolerance(tolerance: Any, name: str = "tolerance") -> float:
    if isinstance(tolerance, (bool, np.bool_)) or not isinstance(
        tolerance, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a number, got {type(tolerance).__name__}")
    if not tolerance >= 0:  # also rejects NaN
        raise ValueError(f"{name} must be a non-negative number, got {tolerance}")
    # Plain Python numbers, as a JSON recipe would give them (and as skimage's
    # bound arithmetic expects).
    return tolerance.item() if isinstance(tolerance, np.generic) else tolerance


def _as_image(image: ArrayLike) -> NDArray:
    arr = np.asarray(image)
    if arr.dtype == np.bool_:
        arr = arr.view(np.uint8)
    elif arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    elif not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(
            f"image must have a real numeric dtype (integer, float or bool), got {arr.dtype}; "
            "convert it first, e.g. np.abs(image) for complex data"
        )
    if arr.ndim < 1:
        raise ValueError("image must have at least one dimension, got a 0-d array")
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr


def _prepare(
    image: ArrayLike,
    *,
    tolerance: Any,
    connectivity: Any,
    relative: bool,
    smooth_sigma: Any,
    channel_axis: int | None,
) -> _Work:
    tol = _check_tolerance(tolerance)
    sigma = _check_tolerance(smooth_sigma, "smooth_sigma")
    if channel_axis is None:
        raw = np.asarray(image)
        if raw.dtype == np.uint8:
            refuse_colour(
                raw,
                func="region growing",
                fix="pass channel_axis=-1 to grow by colour distance, or convert with "
                "to_grey(image) to grow on brightness",
            )
    arr = _as_image(image)
    if channel_axis is not None:
        if isinstance(channel_axis, bool) or not isinstance(channel_axis, (int, np.integer)):
            raise TypeError(f"channel_axis must be an integer or None, got {channel_axis!r}")
        if arr.ndim < 2:
            raise ValueError(
                f"a multichannel image needs at least 2 dimensions, got shape {arr.shape}; "
                "use channel_axis=None for a single-channel image"
            )
        if not -arr.ndim <= channel_axis < arr.ndim:
            raise ValueError(
                f"channel_axis={channel_axis} is out of range for an image of shape {arr.shape}; "
                f"use a value between {-arr.ndim} and {arr.ndim - 1}"
            )
        arr = np.moveaxis(arr, channel_axis, -1)
    else:
        arr = arr[..., np.newaxis]
    spatial_shape = tuple(int(s) for s in arr.shape[:-1])
    ndim = len(spatial_shape)
    if isinstance(connectivity, bool) or not isinstance(connectivity, (int, np.integer)):
        raise TypeError(f"connectivity must be an integer, got {connectivity!r}")
    if not 1 <= connectivity <= ndim:
        raise ValueError(
            f"connectivity must be between 1 (face neighbours) and {ndim} (all neighbours) "
            f"for a {ndim}D image, got {connectivity}"
        )
    sigma_limit = max(_MIN_SIGMA_LIMIT, max(spatial_shape) / 4)
    if sigma > sigma_limit:
        # The Gaussian spans 4 sigma each side: larger only costs time (O(sigma)
        # per pixel) on an already flat image.
        raise ValueError(
            f"smooth_sigma={sigma} is larger than this image allows: at most "
            f"{sigma_limit:g} (a quarter of its longest axis {max(spatial_shape)}, "
            "where the Gaussian already spans the whole image); use a smaller smooth_sigma"
        )
    if relative:
        tol = tol * _value_range(arr)
    if sigma > 0:
        ftype = np.float64 if arr.dtype == np.float64 else np.float32
        sigmas = [float(sigma)] * ndim + [0.0]
        arr = ndi.gaussian_filter(arr.astype(ftype), sigmas, mode="nearest")
    arr = np.ascontiguousarray(arr)
    return _Work(
        image=arr,
        spatial_shape=spatial_shape,
        colour=channel_axis is not None,
        connectivity=int(connectivity),
        tolerance=tol,
    )


def _value_range(arr: NDArray) -> float:
    """Max - min over all pixels (NaN ignored); 0 for an empty or all-NaN image."""
    if arr.size == 0:
        return 0.0
    if np.issubdtype(arr.dtype, np.floating):
        finite = arr[~np.isnan(arr)] if np.isnan(arr).any() else arr
        if finite.size == 0:
            return 0.0
        return float(finite.max()) - float(finite.min())
    return float(int(arr.max()) - int(arr.min()))


def _check_seeds(seeds: Any, spatial_shape: tuple[int, ...], has_channels: bool) -> list[tuple]:
    """Validate seeds -> list of tuples of Python ints."""
    ndim = len(spatial_shape)
    if isinstance(seeds, np.ndarray):
        if seeds.size == 0:
            return []
        if seeds.ndim != 2:
            raise ValueError(
                f"seeds must be a sequence of index tuples, e.g. [[3, 4], [10, 12]]; "
                f"got an array of shape {seeds.shape}"
            )
        seeds = seeds.tolist()
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise TypeError(
            f"seeds must be a list of index tuples, e.g. [[3, 4], [10, 12]], "
            f"got {type(seeds).__name__}"
        )
    out = []
    chan = " (the channel axis is not part of a seed)" if has_channels else ""
    for i, seed in enumerate(seeds):
        if isinstance(seed, (int, float, np.integer, np.floating)):
            raise ValueError(
                "seeds must be a list of index tuples; got a flat list of numbers - "
                f"wrap a single seed in a list, e.g. [{list(seeds)}]"
            )
        try:
            coords = list(seed)
        except TypeError:
            raise TypeError(
                f"seed {i} must be a sequence of {ndim} integer coordinates, got {seed!r}"
            ) from None
        if len(coords) != ndim:
            raise ValueError(
                f"seed {i} has {len(coords)} coordinate(s) but the image has {ndim} spatial "
                f"dimension(s) (shape {spatial_shape}){chan}; give one index per spatial axis"
            )
        ints = []
        for c in coords:
            if isinstance(c, (bool, np.bool_)) or not isinstance(
                c, (int, float, np.integer, np.floating)
            ):
                raise TypeError(f"seed {i} has a non-numeric coordinate {c!r}")
            if isinstance(c, (float, np.floating)):
                if not math.isfinite(c) or c != round(c):
                    raise ValueError(
                        f"seed {i} has a non-integer coordinate {c}; seeds are pixel indices - "
                        "round them first, e.g. [round(c) for c in seed]"
                    )
            ints.append(int(c))
        if any(not 0 <= c < s for c, s in zip(ints, spatial_shape, strict=True)):
            raise ValueError(
                f"seed {i} at {tuple(ints)} is outside the image of shape {spatial_shape}{chan}; "
                "each coordinate must satisfy 0 <= index < size of that axis"
            )
        out.append(tuple(ints))
    return out


def _check_spatial(arr: Any, name: str, spatial_shape: tuple[int, ...]) -> NDArray:
    arr = np.asarray(arr)
    if arr.shape != spatial_shape:
        raise ValueError(
            f"{name} must have the image's spatial shape {spatial_shape}, got {arr.shape}"
        )
    return arr


def _barrier_array(mask: Any, shape: tuple[int, ...], name: str) -> NDArray[np.uint8]:
    m = _check_spatial(mask, name, shape)
    if m.dtype == np.bool_:
        return np.ascontiguousarray(m).view(np.uint8)
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise TypeError(f"{name} must be a boolean (or numeric) array, got dtype {m.dtype}")
    return (m != 0).view(np.uint8)


def _check_threads(threads: Any) -> int:
    if threads is None:
        return usable_cpus()
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or threads < 1:
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    return int(threads)


def _check_seed_labels(seed_labels: Any, n: int) -> list[int]:
    if isinstance(seed_labels, np.ndarray):
        seed_labels = seed_labels.tolist()
    if isinstance(seed_labels, (str, bytes)) or not isinstance(seed_labels, Sequence):
        raise TypeError(
            f"seed_labels must be a list of positive integers, one per seed, "
            f"got {type(seed_labels).__name__}"
        )
    if len(seed_labels) != n:
        raise ValueError(
            f"seed_labels must give one label per seed: got {len(seed_labels)} labels for {n} seeds"
        )
    out = []
    for i, v in enumerate(seed_labels):
        if isinstance(v, (bool, np.bool_)) or not isinstance(
            v, (int, float, np.integer, np.floating)
        ):
            raise TypeError(f"seed_labels[{i}] must be an integer, got {v!r}")
        if isinstance(v, (float, np.floating)) and (not math.isfinite(v) or v != round(v)):
            raise ValueError(f"seed_labels[{i}] must be a whole number, got {v}")
        iv = int(v)
        if not 1 <= iv <= _INT32_MAX:
            raise ValueError(
                f"seed_labels[{i}] must be between 1 and {_INT32_MAX} (0 is background), got {iv}"
            )
        out.append(iv)
    return out
