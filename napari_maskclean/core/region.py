"""Seeded region growing: flood fill with a tolerance, nD, one or many seeds.

Two public operations:

* :func:`flood_mask` -- the union of the regions grown from a list of seeds
  (a boolean mask), pixel-for-pixel the same as
  :func:`skimage.segmentation.flood` run once per seed.
* :func:`region_grow` -- one label per seed (or per group of seeds), with a
  documented rule where regions meet and existing labels acting as a barrier.

Two kernels compute the same thing and are chosen automatically:
``cv2.floodFill`` for 2D single-channel ``uint8`` images in :func:`flood_mask`,
and a compiled (numba) scan-line flood for every other case (any dtype, any
number of dimensions, colour distance) and for :func:`region_grow`, where it
also applies the nearest-seed rule in the same pass. Results do not depend on
the kernel; the tests check OpenCV == numba == scikit-image. The numba kernels
are compiled on first use per image dtype (a few seconds) and cached on disk
(``cache=True``), so later sessions start at once.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import cv2
import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi

from ._channels import refuse_colour
from ._parallel import run_in_threads, usable_cpus

__all__ = ["RegionGrower", "flood_mask", "region_grow"]

_INT32_MAX = int(np.iinfo(np.int32).max)
#: Below this many pixels, growing seeds on several threads costs more than it saves.
_PARALLEL_MIN_PIXELS = 256 * 256
#: smooth_sigma up to this is accepted on any image (cheap on small images).
_MIN_SIGMA_LIMIT = 16.0
_STACK_START = 4096  # initial span-stack size of the scan-line kernel (it grows as needed)


# --------------------------------------------------------------------------
# Compiled scan-line flood (any dtype, any number of dimensions)
# --------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True, inline="always")
def _claim_run(owner, seeds, index, coords, line, left, right):  # pragma: no cover
    """Nearest-seed rule on the run ``[left, right]`` of ``line`` just filled by seed ``index``.

    ``owner`` holds 1 + the index of the seed owning each pixel (0 = none);
    ``seeds`` is (n_seeds, ndim) int64; ``coords`` the leading coordinates of
    ``line``. A pixel changes owner only when strictly closer to the new seed.
    """
    nd = coords.shape[0]
    part_new = 0
    for k in range(nd):
        t = coords[k] - seeds[index, k]
        part_new += t * t
    sx = seeds[index, nd]
    last = -1
    part_old = 0
    sx_old = 0
    for q in range(left, right + 1):
        o = owner[line, q]
        if o == 0:
            owner[line, q] = index + 1
            continue
        if o != last:  # the previous owner usually stays the same along a run
            last = o
            part_old = 0
            for k in range(nd):
                t = coords[k] - seeds[o - 1, k]
                part_old += t * t
            sx_old = seeds[o - 1, nd]
        if part_new + (q - sx) * (q - sx) < part_old + (q - sx_old) * (q - sx_old):
            owner[line, q] = index + 1


@numba.njit(cache=True, nogil=True)
def _merge_claims(dst, src, seeds, lines, lstride, x0, x1):  # pragma: no cover - compiled
    """Merge the claims ``src`` into ``dst`` (owner arrays seen as (lines, width)).

    Only the pixels ``x0..x1`` of the given ``lines`` are visited. A pixel goes
    to the seed with the smaller squared distance, ties to the smaller seed
    index: the nearest-seed rule, so the result does not depend on how the
    seeds were split between the arrays. ``lstride`` decomposes a line number
    into its leading coordinates.
    """
    nd = lstride.shape[0]
    for line in lines:
        for q in range(x0, x1 + 1):
            s = src[line, q]
            if s == 0:
                continue
            d = dst[line, q]
            if d == 0:
                dst[line, q] = s
                continue
            if d == s:
                continue
            ds = (q - seeds[s - 1, nd]) ** 2
            dd = (q - seeds[d - 1, nd]) ** 2
            rem = line
            for k in range(nd):
                c = rem // lstride[k]
                rem -= c * lstride[k]
                ds += (c - seeds[s - 1, k]) ** 2
                dd += (c - seeds[d - 1, k]) ** 2
            if ds < dd or (ds == dd and s < d):
                dst[line, q] = s


@numba.njit(cache=True, nogil=True)
def _seed_run(img, lo, hi, out, line, x):  # pragma: no cover - compiled
    """Fill the run of accepted pixels through the seed; return its ends."""
    width = img.shape[1]
    a = x
    while a > 0 and out[line, a - 1] == 0 and lo <= img[line, a - 1] <= hi:
        a -= 1
    b = x
    while b < width - 1 and out[line, b + 1] == 0 and lo <= img[line, b + 1] <= hi:
        b += 1
    for i in range(a, b + 1):
        out[line, i] = 1
    return a, b


@numba.njit(cache=True, nogil=True)
def _scanline_run(
    img,
    lo,
    hi,
    lshape,
    lstride,
    offsets,
    ext,
    out,
    bbox,
    st_l,
    st_a,
    st_b,
    sp,
    margin,
    owner,
    seeds,
    index,
):  # pragma: no cover - compiled; covered through the Python wrappers
    """Scan-line flood on an image seen as (lines, line length).

    The stack (``st_l``, ``st_a``, ``st_b``; ``sp`` entries) holds filled spans
    ``out[line, a:b + 1]``. For each popped span, every neighbour line is
    scanned over the span (one pixel wider when the neighbour line is also
    diagonal); each accepted pixel found there is extended to its whole run,
    filled and pushed. A pixel is accepted when ``out`` is 0 there (1 = filled,
    2 = barrier) and ``lo <= img <= hi`` (False for NaN). ``bbox`` grows to the
    inclusive bounds of the filled spans. When ``index >= 0``, each filled run is
    also claimed in ``owner`` by the nearest-seed rule (see ``_claim_run``).

    Returns the stack size: 0 when done, or non-zero when fewer than ``margin``
    free stack slots were left, so that the caller can grow the stack and call
    again (never rebinding the arrays here keeps the loop fast).
    """
    width = img.shape[1]
    nd = lshape.shape[0]
    cap = st_l.shape[0]
    coords = np.empty(nd, np.int64)
    ncoords = np.empty(nd, np.int64)
    n_off = offsets.shape[0]
    while sp > 0:
        if cap - sp < margin:
            return sp
        sp -= 1
        line = st_l[sp]
        a = st_a[sp]
        b = st_b[sp]
        rem = line
        for k in range(nd):
            ck = rem // lstride[k]
            rem -= ck * lstride[k]
            coords[k] = ck
            if ck < bbox[k, 0]:
                bbox[k, 0] = ck
            if ck > bbox[k, 1]:
                bbox[k, 1] = ck
        if a < bbox[nd, 0]:
            bbox[nd, 0] = a
        if b > bbox[nd, 1]:
            bbox[nd, 1] = b
        for j in range(n_off):
            nline = 0
            valid = True
            for k in range(nd):
                c = coords[k] + offsets[j, k]
                if c < 0 or c >= lshape[k]:
                    valid = False
                    break
                ncoords[k] = c
                nline += c * lstride[k]
            if not valid:
                continue
            i = a - ext[j]
            if i < 0:
                i = 0
            x1 = b + ext[j]
            if x1 > width - 1:
                x1 = width - 1
            while i <= x1:
                if out[nline, i] == 0 and lo <= img[nline, i] <= hi:
                    left = i
                    while (
                        left > 0 and out[nline, left - 1] == 0 and lo <= img[nline, left - 1] <= hi
                    ):
                        left -= 1
                    right = i
                    while (
                        right < width - 1
                        and out[nline, right + 1] == 0
                        and lo <= img[nline, right + 1] <= hi
                    ):
                        right += 1
                    for q in range(left, right + 1):
                        out[nline, q] = 1
                    if index >= 0:
                        _claim_run(owner, seeds, index, ncoords, nline, left, right)
                    st_l[sp] = nline
                    st_a[sp] = left
                    st_b[sp] = right
                    sp += 1
                    i = right + 2  # right + 1 is the image end or not accepted
                else:
                    i += 1
    return sp


def _line_offsets(ndim: int, connectivity: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Neighbour-line offsets over the leading ``ndim - 1`` axes, and diagonal flags."""
    nd = ndim - 1
    offs = []
    ext = []
    for d in itertools.product((-1, 0, 1), repeat=nd):
        k = sum(1 for v in d if v != 0)
        if k == 0 or k > connectivity:
            continue
        offs.append(d)
        ext.append(1 if k + 1 <= connectivity else 0)
    offsets = np.array(offs, dtype=np.int64).reshape(len(offs), nd)
    return offsets, np.array(ext, dtype=np.int64)


# --------------------------------------------------------------------------
# Preparation shared by flood_mask and region_grow
# --------------------------------------------------------------------------


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


def _skimage_bounds(seed_value: np.generic, tol: float) -> tuple[np.generic, np.generic]:
    """Inclusive bounds exactly as :func:`skimage.segmentation.flood` computes them.

    ``seed -/+ tol`` in Python numbers, clipped to the dtype's range, then
    converted to the image dtype (integers truncate towards zero, floats round to
    the nearest representable value).
    """
    dtype = seed_value.dtype
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        vmin, vmax = int(info.min), int(info.max)
    else:
        finfo = np.finfo(dtype)
        vmin, vmax = float(finfo.min), float(finfo.max)
    s = seed_value.item()
    low = max(vmin, s - tol)
    high = min(vmax, s + tol)
    if np.issubdtype(dtype, np.integer):
        return dtype.type(int(low)), dtype.type(int(high))
    return dtype.type(low), dtype.type(high)


# --------------------------------------------------------------------------
# One flood from one seed, with a choice of kernel
# --------------------------------------------------------------------------

_Kernel = Literal["auto", "opencv", "numba"]


def _opencv_ok(work: _Work) -> bool:
    # cv2.floodFill takes the image as an in/out argument: it refuses read-only
    # arrays (it does not write to it with FLOODFILL_MASK_ONLY).
    return (
        (not work.colour)
        and len(work.spatial_shape) == 2
        and work.image.dtype == np.uint8
        and work.image.flags.writeable
    )


def _flood_one(
    work: _Work,
    seed: tuple[int, ...],
    barrier: NDArray[np.uint8] | None,
    kernel: _Kernel = "auto",
) -> tuple[NDArray[np.bool_], tuple[slice, ...]]:
    """Region grown from one seed: (bool mask of the spatial shape, bounding box)."""
    shape = work.spatial_shape
    if barrier is not None and barrier[seed]:
        return np.zeros(shape, dtype=bool), tuple(slice(0, 0) for _ in shape)
    _check_not_nan(work, seed)
    if kernel == "auto":
        kernel = "opencv" if _opencv_ok(work) else "numba"
    if kernel == "opencv":
        if not _opencv_ok(work):
            raise ValueError(
                "the OpenCV kernel handles writeable 2D single-channel uint8 images only"
            )
        return _flood_opencv(work, seed, barrier)
    return _flood_numba(work, seed, barrier)


def _check_not_nan(work: _Work, seed: tuple[int, ...]) -> None:
    seed_px = work.image[seed]  # (channels,)
    if np.issubdtype(seed_px.dtype, np.floating) and np.isnan(seed_px).any():
        raise ValueError(
            f"seed at {seed} lies on a NaN pixel; NaN pixels never belong to a region - "
            "click a valid pixel (or fill invalid pixels first)"
        )


def _flood_opencv(
    work: _Work, seed: tuple[int, ...], barrier: NDArray[np.uint8] | None
) -> tuple[NDArray[np.bool_], tuple[slice, ...]]:
    img = work.image[..., 0]
    h, w = img.shape
    lo, hi = _skimage_bounds(img[seed], work.tolerance)
    s = int(img[seed])
    mask = np.zeros((h + 2, w + 2), dtype=np.uint8)
    if barrier is not None:
        mask[1:-1, 1:-1] = barrier
    # Filled pixels get 1, or 2 when the mask also holds the barrier (as 1s).
    fill_value = 1 if barrier is None else 2
    flags = (4 if work.connectivity == 1 else 8) | cv2.FLOODFILL_FIXED_RANGE
    flags |= cv2.FLOODFILL_MASK_ONLY | (fill_value << 8)
    _, _, _, rect = cv2.floodFill(img, mask, (seed[1], seed[0]), 0, s - int(lo), int(hi) - s, flags)
    x, y, rw, rh = rect
    inner = mask[1:-1, 1:-1]
    # Without a barrier the mask holds only 0 and 1 inside its 1-pixel frame: a
    # bool view of the interior avoids a copy (as skimage's flood returns a view).
    region = inner == 2 if barrier is not None else inner.view(np.bool_)
    return region, (slice(y, y + rh), slice(x, x + rw))


def _flood_numba(
    work: _Work,
    seed: tuple[int, ...],
    barrier: NDArray[np.uint8] | None,
    owner: NDArray[np.int32] | None = None,
    seed_coords: NDArray[np.int64] | None = None,
    index: int = -1,
    scratch: NDArray[np.uint8] | None = None,
) -> tuple[NDArray[np.bool_], tuple[slice, ...]]:
    """Flood with the compiled scan-line kernel.

    With ``owner`` (int32, spatial shape), ``seed_coords`` ((n, ndim) int64) and
    ``index`` >= 0, also claim the filled pixels for seed ``index`` in ``owner``
    by the nearest-seed rule, in the same pass. ``scratch`` is an optional
    reusable work array of shape (lines, width): 0 where free, 2 on the barrier;
    with it, the first returned array is the raw scratch (0 free, 1 filled,
    2 barrier), which the caller resets inside the returned bounding box.
    Without it, the seed's bounds are first applied to the whole image (one
    pass) and the kernel floods that state array alone.
    """
    shape = work.spatial_shape
    width = shape[-1]
    if work.colour:
        # Squared Euclidean distance to the seed colour, then an ordinary flood
        # over it with the bounds [-inf, tolerance**2].
        flat = work.image.reshape(-1, work.image.shape[-1])
        dist2 = np.empty(flat.shape[0], dtype=np.float64)
        _colour_distance2(flat, work.image[seed].astype(np.float64), dist2)
        img2 = dist2.reshape(-1, width)
        lo, hi = np.float64(-np.inf), np.float64(float(work.tolerance) ** 2)
    else:
        img2 = work.image.reshape(-1, width)
        lo, hi = _skimage_bounds(work.image[seed][0], work.tolerance)
    if scratch is not None:
        out = scratch
    else:
        # One state array instead of image + fill mask: 0 = accepted and free,
        # 1 = filled, 2 = not accepted or barrier. The kernel then reads one
        # byte per neighbour instead of two arrays (in 3D it is memory-bound:
        # 30 % faster, the extra pass included).
        out = np.empty(img2.shape, dtype=np.uint8)
        _accept_state(img2.reshape(-1), lo, hi,
                      _NO_BARRIER if barrier is None else barrier.reshape(-1),
                      out.reshape(-1))
        img2 = out
        lo = hi = np.uint8(0)
    lshape = np.array(shape[:-1], dtype=np.int64)
    lstride = np.ones(len(shape) - 1, dtype=np.int64)
    for k in range(len(shape) - 3, -1, -1):
        lstride[k] = lstride[k + 1] * shape[k + 1]
    offsets, ext = _line_offsets(len(shape), work.connectivity)
    bbox = np.empty((len(shape), 2), dtype=np.int64)
    bbox[:, 0] = shape
    bbox[:, 1] = -1
    # Each popped span pushes at most one span per run in its neighbour
    # windows: fewer than len(offsets) * (width // 2 + 2) entries.
    margin = len(offsets) * (width // 2 + 2) + 1
    cap = max(_STACK_START, 2 * margin)
    stack = [np.empty(cap, dtype=np.int64) for _ in range(3)]
    line = int(np.ravel_multi_index(seed[:-1], shape[:-1])) if len(shape) > 1 else 0
    a, b = _seed_run(img2, lo, hi, out, line, int(seed[-1]))
    if owner is None or seed_coords is None or index < 0:
        owner2 = np.zeros((1, 1), dtype=np.int32)
        seed_coords = np.zeros((1, len(shape)), dtype=np.int64)
        index = -1
    else:
        owner2 = owner.reshape(-1, width)
        _claim_run(owner2, seed_coords, index, np.array(seed[:-1], np.int64), line, a, b)
    stack[0][0], stack[1][0], stack[2][0] = line, a, b
    sp = 1
    while sp > 0:
        sp = _scanline_run(
            img2,
            lo,
            hi,
            lshape,
            lstride,
            offsets,
            ext,
            out,
            bbox,
            *stack,
            sp,
            margin,
            owner2,
            seed_coords,
            index,
        )
        if sp > 0:  # stack nearly full: grow it and go on
            cap *= 2
            stack = [np.concatenate([st, np.empty(cap - st.size, dtype=np.int64)]) for st in stack]
    box = tuple(slice(int(a), int(b) + 1) for a, b in bbox)
    if scratch is not None:  # the caller reads the claims in `owner`, not the region
        return out.reshape(shape), box
    return (out == 1).reshape(shape), box


_NO_BARRIER = np.zeros(0, dtype=np.uint8)


@numba.njit(cache=True, nogil=True)
def _accept_state(img, lo, hi, barrier, out):  # pragma: no cover - compiled
    """``out`` = 0 where ``lo <= img <= hi`` (False for NaN) and not on the barrier, else 2."""
    use_barrier = barrier.size > 0
    for p in range(img.size):
        v = img[p]
        ok = lo <= v <= hi
        if use_barrier and barrier[p]:
            ok = False
        out[p] = 0 if ok else 2


@numba.njit(cache=True, nogil=True)
def _colour_distance2(flat, seed_colour, out):  # pragma: no cover - compiled
    """Squared Euclidean distance of each row of ``flat`` to ``seed_colour``."""
    for p in range(flat.shape[0]):
        d2 = 0.0
        for c in range(flat.shape[1]):
            d = np.float64(flat[p, c]) - seed_colour[c]
            d2 += d * d
        out[p] = d2


def _barrier_array(mask: Any, shape: tuple[int, ...], name: str) -> NDArray[np.uint8]:
    m = _check_spatial(mask, name, shape)
    if m.dtype == np.bool_:
        return np.ascontiguousarray(m).view(np.uint8)
    if not (np.issubdtype(m.dtype, np.integer) or np.issubdtype(m.dtype, np.floating)):
        raise TypeError(f"{name} must be a boolean (or numeric) array, got dtype {m.dtype}")
    return (m != 0).view(np.uint8)


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def flood_mask(
    image: ArrayLike,
    seeds: Sequence[Sequence[int]],
    *,
    tolerance: float,
    connectivity: int = 1,
    relative: bool = False,
    smooth_sigma: float = 0.0,
    channel_axis: int | None = None,
    mask: ArrayLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.bool_]:
    """Grow regions from seeds: the pixels connected to a seed within a tolerance.

    For each seed, the region is the set of pixels connected to the seed
    (through pixels of the region) whose value lies within ``tolerance`` of the
    seed's value, bounds included. The result is the union over all seeds. Per
    seed this is the same as ``skimage.segmentation.flood(image, seed,
    tolerance=tolerance, connectivity=connectivity)``.

    Parameters
    ----------
    image : ndarray
        The image to grow on, any number of dimensions, integer, float or bool
        dtype. A colour (multichannel) image needs ``channel_axis`` (growth
        then uses the Euclidean colour distance); without it a uint8
        ``(M, N, 3)`` or ``(M, N, 4)`` array (M, N >= 8) is refused as
        ambiguous, any other array is grey (e.g. a 3D volume).
    seeds : list of list of int
        Seed positions in data (pixel index) coordinates, one index per spatial
        axis, e.g. ``[[10, 20], [30, 5]]``. Whole-number floats such as ``3.0``
        are accepted; fractional or negative coordinates raise. An empty list
        gives an all-False mask.
    tolerance : float
        Largest difference to the seed's value (or, for a multichannel image,
        the largest Euclidean distance to the seed's colour) that still joins the
        region. Must be >= 0; 0 grows over pixels equal to the seed.
    connectivity : int, optional
        Which neighbours touch: 1 = pixels sharing a face (4-neighbourhood in
        2D, 6 in 3D), up to ``ndim`` = all neighbours including diagonals (8 in
        2D, 26 in 3D). Note that scikit-image's ``flood`` defaults to full
        connectivity; this function defaults to 1.
    relative : bool, optional
        If True, ``tolerance`` is a fraction of the image's value range
        ``max - min`` (over all channels, NaN ignored, taken before smoothing):
        ``tolerance=0.1`` on an 8-bit image spanning 0..255 means 25.5.
    smooth_sigma : float, optional
        If > 0, grow on a copy smoothed by a Gaussian of this standard deviation
        (pixels; spatial axes only; border mode ``"nearest"``). Seed values are
        then read from the smoothed copy. NaN pixels spread under smoothing. At
        most a quarter of the longest spatial axis (or 16).
    channel_axis : int or None, optional
        The axis holding the channels of a multichannel image (e.g. ``-1`` for
        RGB), or None for a single-channel image.
    mask : ndarray of bool, optional
        A barrier with the image's spatial shape (e.g. existing labels): growth
        never enters a True pixel. A seed on a True pixel grows nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each seed.

    Returns
    -------
    ndarray of bool
        The union of the grown regions, with the image's spatial shape.

    Raises
    ------
    ValueError
        If a seed is outside the image, has the wrong number of coordinates or a
        fractional coordinate, lies on a NaN pixel; if ``tolerance`` is negative;
        if ``mask`` has the wrong shape or ``connectivity`` is out of range.
    TypeError
        If the image dtype is not numeric.

    See Also
    --------
    region_grow : one label per seed instead of one mask.
    skimage.segmentation.flood : the single-seed reference.

    Notes
    -----
    Bounds are computed as scikit-image does: ``seed - tolerance`` and
    ``seed + tolerance`` clipped to the dtype's range and then converted to the
    image dtype. For an integer image and a fractional tolerance this conversion
    truncates towards zero (``10 - 2.5`` becomes 7, ``10 + 2.5`` becomes 12).
    A seed pixel always belongs to its own region (unless it lies in ``mask``).
    NaN pixels never belong to a region. ``bool`` images are flooded as 0/1 and
    ``float16`` images as ``float32``.

    2D single-channel ``uint8`` images use ``cv2.floodFill``; everything else a
    compiled scan-line flood (numba), which touches only the region and its
    border. Both give identical results.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 9, 5],
    ...                   [1, 0, 9, 5],
    ...                   [9, 9, 9, 5]], dtype=np.uint8)
    >>> flood_mask(image, [[0, 0]], tolerance=1).astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 0, 0]])
    >>> flood_mask(image, [[0, 0], [0, 3]], tolerance=0).astype(int)
    array([[1, 1, 0, 1],
           [0, 1, 0, 1],
           [0, 0, 0, 1]])
    >>> flood_mask(image, [], tolerance=1).any()
    np.False_
    """
    work = _prepare(
        image,
        tolerance=tolerance,
        connectivity=connectivity,
        relative=relative,
        smooth_sigma=smooth_sigma,
        channel_axis=channel_axis,
    )
    seed_list = _check_seeds(seeds, work.spatial_shape, work.colour)
    barrier = None if mask is None else _barrier_array(mask, work.spatial_shape, "mask")
    total = len(seed_list)
    if total == 1:
        region, _ = _flood_one(work, seed_list[0], barrier)
        if progress is not None:
            progress(1, 1)
        return region
    result = np.zeros(work.spatial_shape, dtype=bool)
    for i, seed in enumerate(seed_list):
        region, box = _flood_one(work, seed, barrier)
        result[box] |= region[box]
        if progress is not None:
            progress(i + 1, total)
    return result


def region_grow(
    image: ArrayLike,
    seeds: Sequence[Sequence[int]],
    *,
    tolerance: float,
    labels: ArrayLike | None = None,
    seed_labels: Sequence[int] | None = None,
    overwrite: bool = False,
    connectivity: int = 1,
    relative: bool = False,
    smooth_sigma: float = 0.0,
    channel_axis: int | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.int32]:
    """Grow one labelled region per seed; return only the new regions.

    Each seed grows exactly the region :func:`flood_mask` would grow from it
    alone. Regions that overlap are split by the **nearest-seed rule**: a pixel
    claimed by several seeds goes to the seed closest to it (Euclidean distance
    in pixel indices); on a tie, to the seed listed first.

    Parameters
    ----------
    image : ndarray
        The image to grow on (see :func:`flood_mask`).
    seeds : list of list of int
        Seed positions in data (pixel index) coordinates, one index per spatial
        axis. An empty list gives an all-zero result.
    tolerance : float
        Largest difference to the seed's value (Euclidean colour distance for a
        multichannel image) that still joins the region; >= 0.
    labels : ndarray of int, optional
        Existing label image with the image's spatial shape. Unless
        ``overwrite`` is True, its non-zero pixels are a barrier that new regions
        never enter, and a seed on an existing label grows nothing. New labels
        are numbered from ``labels.max() + 1`` when ``seed_labels`` is None.
    seed_labels : list of int, optional
        The label of each seed (positive integers < 2**31). Several seeds may
        share a label: their regions are united. Default: ``1, 2, 3, ...`` (or
        ``labels.max() + 1, ...`` when ``labels`` is given).
    overwrite : bool, optional
        If True, existing labels are no barrier: new regions may cover them.
    connectivity : int, optional
        1 = face neighbours (default) up to ``ndim`` = all neighbours.
    relative : bool, optional
        ``tolerance`` as a fraction of the image's value range (see
        :func:`flood_mask`).
    smooth_sigma : float, optional
        Grow on a Gaussian-smoothed copy when > 0.
    channel_axis : int or None, optional
        The channel axis of a multichannel image, or None.
    threads : int, optional
        Threads to grow seeds on (each grows a share of the seeds; the result is
        the same for any number). Default: the usable CPUs, at most 4.
    progress : callable, optional
        Called as ``progress(done, total)`` after each seed (from any thread).

    Returns
    -------
    ndarray of int32
        The new regions only, 0 elsewhere, with the image's spatial shape. To
        write them into ``labels``: ``np.where(new != 0, new, labels)``; with
        ``overwrite=False`` the new regions never cover existing labels.

    Raises
    ------
    ValueError
        For bad seeds, tolerance, shapes or ``seed_labels`` (see
        :func:`flood_mask`).
    TypeError
        If ``labels`` is not an integer (or bool) array.

    See Also
    --------
    flood_mask : the union of the regions as one boolean mask.

    Notes
    -----
    Only the seeds whose own region holds a pixel compete for it, so every
    pixel labelled for a seed lies in that seed's own flood, and the union of
    the labelled pixels equals :func:`flood_mask` with the same arguments (and
    ``mask=labels != 0`` unless ``overwrite``). Where a nearer seed's region cuts
    through, a seed's labelled pixels may be disconnected. The work is one flood
    per seed (the compiled kernel, applying the rule in the same pass), so the
    time grows with the summed size of the regions; on images of 256² pixels
    or more the seeds are shared among ``threads`` threads.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 0, 0, 0],
    ...                   [0, 0, 0, 0, 0],
    ...                   [9, 9, 5, 5, 5]], dtype=np.uint8)
    >>> region_grow(image, [[0, 0], [0, 4], [2, 3]], tolerance=0)
    array([[1, 1, 1, 2, 2],
           [1, 1, 1, 2, 2],
           [0, 0, 3, 3, 3]], dtype=int32)

    Existing labels are a barrier; new labels continue after the largest one:

    >>> existing = np.zeros((3, 5), dtype=np.int32); existing[:, 2] = 7
    >>> region_grow(image, [[0, 0]], tolerance=0, labels=existing)
    array([[8, 8, 0, 0, 0],
           [8, 8, 0, 0, 0],
           [0, 0, 0, 0, 0]], dtype=int32)
    """
    grower = RegionGrower(
        image,
        tolerance=tolerance,
        labels=labels,
        overwrite=overwrite,
        connectivity=connectivity,
        relative=relative,
        smooth_sigma=smooth_sigma,
        channel_axis=channel_axis,
        threads=threads,
    )
    return grower.add_seeds(seeds, progress=progress).labels(seed_labels)


class RegionGrower:
    """Seeded region growing that can add seeds without re-growing the others.

    :func:`region_grow` grows the seeds one after the other, each claiming the
    pixels of its own flood that are strictly nearer to it than to their
    current owner. So growing seeds ``A`` and then adding ``B`` gives exactly
    ``region_grow(A + B)``: a click adds one flood, not ``n``. A grower is never
    modified: :meth:`add_seeds` returns a new one (safe to use from several
    threads, and the old one stays valid).

    Parameters
    ----------
    image, tolerance, labels, overwrite, connectivity, relative, smooth_sigma, channel_axis, threads
        As in :func:`region_grow`; checked (and the image smoothed) once.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 0, 0, 0],
    ...                   [0, 0, 0, 0, 0],
    ...                   [9, 9, 5, 5, 5]], dtype=np.uint8)
    >>> first = RegionGrower(image, tolerance=0).add_seeds([[0, 0]])
    >>> both = first.add_seeds([[0, 4]])
    >>> both.labels()
    array([[1, 1, 1, 2, 2],
           [1, 1, 1, 2, 2],
           [0, 0, 0, 0, 0]], dtype=int32)
    >>> np.array_equal(both.labels(), region_grow(image, [[0, 0], [0, 4]], tolerance=0))
    True
    """

    def __init__(
        self,
        image: ArrayLike,
        *,
        tolerance: float,
        labels: ArrayLike | None = None,
        overwrite: bool = False,
        connectivity: int = 1,
        relative: bool = False,
        smooth_sigma: float = 0.0,
        channel_axis: int | None = None,
        threads: int | None = None,
    ) -> None:
        self._threads = _check_threads(threads)
        self._work = _prepare(
            image,
            tolerance=tolerance,
            connectivity=connectivity,
            relative=relative,
            smooth_sigma=smooth_sigma,
            channel_axis=channel_axis,
        )
        shape = self._work.spatial_shape
        self._barrier: NDArray[np.uint8] | None = None
        self._first_label = 1
        if labels is not None:
            lab = _check_spatial(labels, "labels", shape)
            if not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == np.bool_):
                raise TypeError(
                    f"labels must be an integer label image, got dtype {lab.dtype}; "
                    "convert it with labels.astype(np.int32)"
                )
            if not overwrite:
                self._barrier = (lab != 0).view(np.uint8)
            if lab.size:
                self._first_label = max(1, int(lab.max()) + 1)
        self.seeds: list[tuple[int, ...]] = []
        self._owner: NDArray[np.int32] | None = None  # 1 + index of the owning seed

    @property
    def shape(self) -> tuple[int, ...]:
        """The spatial shape of the image."""
        return self._work.spatial_shape

    def add_seeds(
        self,
        seeds: Sequence[Sequence[int]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> RegionGrower:
        """Return a new grower with ``seeds`` grown after the seeds grown so far.

        Parameters
        ----------
        seeds : list of list of int
            More seed positions (pixel indices, one per spatial axis).
        progress : callable, optional
            Called as ``progress(done, total)`` after each new seed.

        Returns
        -------
        RegionGrower
            The grower with all seeds; ``self`` is unchanged.
        """
        new = _check_seeds(seeds, self.shape, self._work.colour)
        out = object.__new__(RegionGrower)
        out.__dict__.update(self.__dict__)
        out.seeds = self.seeds + new
        if not new:
            return out
        seed_coords = np.array(out.seeds, dtype=np.int64)
        start = len(self.seeds)
        indices = list(range(start, len(out.seeds)))
        done = [0]
        lock = threading.Lock()

        def tick() -> None:
            if progress is not None:
                with lock:
                    done[0] += 1
                    progress(done[0], len(new))

        # Seeds are independent floods, so the new ones can be grown on several
        # threads (the kernel releases the GIL), each claiming into its own owner
        # array; the claims are then merged by the same (distance, index) rule.
        # Threads take the next seed when done (flood sizes vary a lot), so each
        # still grows its seeds in index order, as the tie rule needs.
        n_threads = min(self._threads, len(new))
        if n_threads < 2 or math.prod(self.shape) < _PARALLEL_MIN_PIXELS:
            owner = self._copy_owner()
            self._grow_seeds(iter(indices), owner, seed_coords, tick)
            out._owner = owner
            return out
        queue = _SharedIterator(indices)
        results = run_in_threads(
            lambda k: self._grow_seeds(queue, self._copy_owner() if k == 0 else None,
                                       seed_coords, tick),
            n_threads,
        )
        owner = results[0][0]
        for claims, boxes in results[1:]:
            _merge_boxes(owner, claims, seed_coords, boxes)
        out._owner = owner
        return out

    def _copy_owner(self) -> NDArray[np.int32]:
        if self._owner is None:
            return np.zeros(self.shape, dtype=np.int32)
        return self._owner.copy()

    def _grow_seeds(
        self,
        indices: Iterator[int],
        owner: NDArray[np.int32] | None,
        seed_coords: NDArray[np.int64],
        tick: Callable[[], None],
    ) -> tuple[NDArray[np.int32], list[tuple[slice, ...]]]:
        """Flood the seeds ``indices`` in order, claiming into ``owner`` (new if None).

        Returns the owner array and the bounding box of each flood.
        """
        if owner is None:
            owner = np.zeros(self.shape, dtype=np.int32)
        barrier = self._barrier
        # One work array for all seeds of the chunk, reset inside each region's
        # bounding box (cheaper than a fresh array per seed).
        scratch = (np.zeros(self.shape, dtype=np.uint8) if barrier is None
                   else barrier * np.uint8(2))
        scratch2 = scratch.reshape(-1, self.shape[-1])
        boxes = []
        for i in indices:
            seed = tuple(int(c) for c in seed_coords[i])
            if barrier is None or not barrier[seed]:
                _check_not_nan(self._work, seed)
                _, box = _flood_numba(self._work, seed, barrier, owner, seed_coords, i,
                                      scratch2)
                if barrier is None:
                    scratch[box] = 0
                else:
                    scratch[box] = barrier[box] * np.uint8(2)
                boxes.append(box)
            tick()
        return owner, boxes

    def labels(self, seed_labels: Sequence[int] | None = None) -> NDArray[np.int32]:
        """Return the grown regions as labels (see :func:`region_grow`).

        Parameters
        ----------
        seed_labels : list of int, optional
            The label of each seed; default consecutive labels from 1 (or from
            the largest existing label + 1).

        Returns
        -------
        ndarray of int32
            The new regions, 0 elsewhere.
        """
        n = len(self.seeds)
        if seed_labels is None:
            values = list(range(self._first_label, self._first_label + n))
            if values and values[-1] > _INT32_MAX:
                raise ValueError(
                    f"new labels would exceed the int32 range (largest existing label "
                    f"{self._first_label - 1}); relabel the existing labels or pass seed_labels"
                )
        else:
            values = _check_seed_labels(seed_labels, n)
        if n == 0 or self._owner is None:
            return np.zeros(self.shape, dtype=np.int32)
        owner = self._owner
        if values == list(range(values[0], values[0] + n)):  # consecutive: no look-up
            out = owner.copy()
            if values[0] != 1:
                np.add(out, values[0] - 1, out=out, where=out != 0)
            return out
        lut = np.zeros(n + 1, dtype=np.int32)
        lut[1:] = values
        return lut[owner]


class _SharedIterator:
    """An iterator that several threads can take items from."""

    def __init__(self, items: Sequence[int]) -> None:
        self._items = iter(items)
        self._lock = threading.Lock()

    def __iter__(self) -> _SharedIterator:
        return self

    def __next__(self) -> int:
        with self._lock:
            return next(self._items)


def _merge_boxes(
    dst: NDArray[np.int32],
    src: NDArray[np.int32],
    seed_coords: NDArray[np.int64],
    boxes: list[tuple[slice, ...]],
) -> None:
    """Merge the claims of ``src`` into ``dst`` inside the flood boxes of ``src``."""
    if not boxes:
        return
    shape = dst.shape
    union = tuple(slice(min(b[k].start for b in boxes), max(b[k].stop for b in boxes))
                  for k in range(len(shape)))

    def size(box: tuple[slice, ...]) -> int:
        return math.prod(b.stop - b.start for b in box)

    # Merging is idempotent, so overlapping boxes are fine; but when they overlap
    # a lot, one pass over their union is cheaper.
    if sum(size(b) for b in boxes) > size(union):
        boxes = [union]
    width = shape[-1]
    lstride = np.ones(len(shape) - 1, dtype=np.int64)
    for k in range(len(shape) - 3, -1, -1):
        lstride[k] = lstride[k + 1] * shape[k + 1]
    dst2, src2 = dst.reshape(-1, width), src.reshape(-1, width)
    for box in boxes:
        if size(box) == 0:
            continue
        grids = np.meshgrid(*(np.arange(b.start, b.stop) for b in box[:-1]), indexing="ij")
        lines = (np.ravel_multi_index(tuple(grids), shape[:-1]).ravel().astype(np.int64)
                 if len(shape) > 1 else np.zeros(1, dtype=np.int64))
        _merge_claims(dst2, src2, seed_coords, lines, lstride, box[-1].start, box[-1].stop - 1)


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
