"""One flood from one seed, with a choice of kernel (OpenCV or the numba scan-line).

The Python side of :mod:`.region`'s floods: bounds as scikit-image computes them,
the kernel choice, the span stack that grows as needed, and merging the claims
that seeds grown on several threads made into separate owner arrays.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from ._region_checks import _Work
from ._region_kernels import (
    _accept_state,
    _claim_run,
    _colour_distance2,
    _merge_claims,
    _scanline_run,
    _seed_run,
)

_STACK_START = 4096  # initial span-stack size of the scan-line kernel (it grows as needed)


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
