"""Sparse pair tables: the per-chunk joint histograms of :mod:`.compare`, and their sums.

A table ``(a, b, n)`` says that the value pair ``(a[i], b[i])`` occurs at
``n[i]`` pixels; pairs are distinct within a table. Chunks are counted by the
fastest exact method for their data (logical counting for 0/1 masks, a
compiled pass over a dense histogram for small integer ranges, sorting
otherwise) and tables are summed by sorting.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

from ..core import compare as _core

__all__ = ["Pairs", "count_pairs", "first_pixels", "merge_first", "merge_pairs"]


Pairs = tuple[NDArray, NDArray, NDArray[np.int64]]


def _empty_pairs(dt_a, dt_b) -> Pairs:
    return np.zeros(0, dt_a), np.zeros(0, dt_b), np.zeros(0, np.int64)


@numba.njit(cache=True, nogil=True)
def _joint_histogram(a, b, alo, blo, kb, hist):  # pragma: no cover - compiled
    # several interleaved sub-histograms: runs of the same pair (the background
    # of a mask) do not wait on the previous increment of the same counter
    rmask = hist.shape[0] - 1
    for i in range(a.size):
        hist[i & rmask, (np.int64(a[i]) - alo) * kb + (np.int64(b[i]) - blo)] += 1


def _value_range(a: NDArray) -> tuple[int, int]:
    """Smallest and largest value (two fast vectorised reductions; none for bool)."""
    if a.dtype == bool:
        return 0, 1
    return int(a.min()), int(a.max())


def _count_binary(a: NDArray, b: NDArray) -> Pairs:
    """Pair counts of two 1-byte arrays holding only 0 and 1 (vectorised counting)."""
    av = a if a.dtype == bool else a.view(bool)  # 0/1 bytes are valid booleans
    bv = b if b.dtype == bool else b.view(bool)
    n = np.empty(4, dtype=np.int64)
    n[3] = np.count_nonzero(np.logical_and(av, bv))
    n1x, nx1 = np.count_nonzero(av), np.count_nonzero(bv)
    n[2], n[1] = n1x - n[3], nx1 - n[3]
    n[0] = a.size - n1x - nx1 + n[3]
    keep = n > 0
    return (
        np.array([0, 0, 1, 1], dtype=a.dtype)[keep],
        np.array([0, 1, 0, 1], dtype=b.dtype)[keep],
        n[keep],
    )


def count_pairs(a: NDArray, b: NDArray) -> Pairs:
    """Histogram of the value pairs of two flat arrays, as a sparse table.

    Integer data with a small value range (per chunk) is counted in one pass
    of a compiled loop over a dense histogram; anything else by sorting.
    """
    if a.size == 0:
        return _empty_pairs(a.dtype, b.dtype)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        alo, ahi = _value_range(a)
        blo, bhi = _value_range(b)
        # the most common case, 0/1 masks in 1-byte dtypes: logical counting
        if a.dtype.itemsize == b.dtype.itemsize == 1 and 0 <= min(alo, blo) and max(ahi, bhi) <= 1:
            return _count_binary(a, b)
        ka, kb = ahi - alo + 1, bhi - blo + 1
        if max(ahi, bhi) >= 2**62:  # huge uint64 ids: compact them by sorting (below)
            ka = kb = 2**62
        if ka * kb <= _core._DENSE_MAX_BINS:
            rows = 4 if ka * kb <= 2**16 else 1
            hist = np.zeros((rows, ka * kb), dtype=np.int64)
            aa = a.view(np.uint8) if a.dtype == bool else a
            bb = b.view(np.uint8) if b.dtype == bool else b
            _joint_histogram(aa, bb, alo, blo, kb, hist)
            full = hist.sum(axis=0) if rows > 1 else hist[0]
            nz = np.flatnonzero(full)
            return (
                (nz // kb + alo).astype(a.dtype),
                (nz % kb + blo).astype(b.dtype),
                full[nz],
            )
        if ka * kb < 2**62:
            key = a.astype(np.int64) - alo
            key *= kb
            key += b.astype(np.int64) - blo
            uk, n = np.unique(key, return_counts=True)
            return (
                (uk // kb + alo).astype(a.dtype),
                (uk % kb + blo).astype(b.dtype),
                n.astype(np.int64),
            )
    ua, ia = np.unique(a, return_inverse=True)
    ub, ib = np.unique(b, return_inverse=True)
    key = ia.reshape(-1).astype(np.int64) * ub.size + ib.reshape(-1)
    uk, n = np.unique(key, return_counts=True)
    return ua[uk // ub.size], ub[uk % ub.size], n.astype(np.int64)


def merge_pairs(tables: list[Pairs], *, force: bool = False) -> Pairs:
    """Sum sparse pair tables (same pair in several tables -> one row).

    A single table is returned as it is (its pairs are distinct) unless ``force``.
    """
    tables = [t for t in tables if t[2].size]
    if not tables:
        return _empty_pairs(np.int64, np.int64)
    if len(tables) == 1 and not force:
        return tables[0]
    a = np.concatenate([t[0] for t in tables])
    b = np.concatenate([t[1] for t in tables])
    n = np.concatenate([t[2] for t in tables])
    order = np.lexsort((b, a))
    a, b, n = a[order], b[order], n[order]
    start = np.ones(a.size, dtype=bool)
    start[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])
    idx = np.flatnonzero(start)
    return a[idx], b[idx], np.add.reduceat(n, idx)


def merge_first(tables: list[tuple[NDArray, NDArray]]) -> tuple[NDArray, NDArray]:
    """Per object id, the smallest first-pixel index over the tables."""
    tables = [t for t in tables if t[0].size]
    if not tables:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # even one table may name an id twice (two local components, one object)
    ids = np.concatenate([t[0] for t in tables])
    pos = np.concatenate([t[1] for t in tables])
    order = np.lexsort((pos, ids))
    ids, pos = ids[order], pos[order]
    start = np.ones(ids.size, dtype=bool)
    start[1:] = ids[1:] != ids[:-1]
    return ids[start], pos[start]


@numba.njit(cache=True, nogil=True)
def first_pixels(flat, n):  # pragma: no cover - compiled
    # the first (raster) index of every label 1..n, whatever order the labeller
    # numbered them in (SciPy: raster order; OpenCV's parallel labelling: not)
    out = np.full(n, -1, dtype=np.int64)
    left = n
    for i in range(flat.size):
        lab = flat[i]
        if lab > 0 and out[lab - 1] < 0:
            out[lab - 1] = i
            left -= 1
            if left == 0:
                break
    return out
