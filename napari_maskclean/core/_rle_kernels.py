"""Compiled (numba) kernels of :mod:`.rle`: column runs, the LEB128 string codec, run filling.

Compiled on first use and cached on disk (``cache=True``). Kernels cannot raise
with a message, so the string parser returns one of the error codes below and
:mod:`.rle` turns it into a :class:`ValueError`.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.typing import NDArray

# Error codes of the string parser (kernels cannot raise with a message).
_OK = 0
_BAD_CHAR = 1
_TRUNCATED = 2
_NEGATIVE = 3
_OVERFLOW = 4


@numba.njit(cache=True, nogil=True)
def _column_runs(m: NDArray[np.uint8], out: NDArray[np.int64]) -> int:  # pragma: no cover
    """Column-major run lengths of the C-ordered 2D 0/1 array ``m`` into ``out``.

    Sweeps ``m`` in memory order twice (count, then record each column's
    transition rows) instead of reading it column by column (cache-hostile) or
    copying it to Fortran order. Returns the number of counts written.
    """
    h, w = m.shape
    offsets = np.zeros(w + 1, np.int64)
    for i in range(1, h):
        for j in range(w):
            offsets[j + 1] += m[i, j] != m[i - 1, j]
    for j in range(w):
        offsets[j + 1] += offsets[j]
    pos = offsets[:w].copy()
    rows = np.empty(offsets[w], np.int32)  # h < 2**31 checked by the caller
    for i in range(1, h):
        for j in range(w):
            if m[i, j] != m[i - 1, j]:
                rows[pos[j]] = i
                pos[j] += 1
    n = 0
    cur = 0
    start = 0  # flat (column-major) index where the current run began
    for j in range(w):
        base = j * h
        if m[0, j] != cur:
            out[n] = base - start
            n += 1
            start = base
            cur = 1 - cur
        for k in range(offsets[j], offsets[j + 1]):
            p = base + rows[k]
            out[n] = p - start
            n += 1
            start = p
            cur = 1 - cur
    out[n] = h * w - start
    return n + 1


@numba.njit(cache=True, nogil=True)
def _counts_to_string(cnts: NDArray[np.int64]) -> NDArray[np.uint8]:  # pragma: no cover
    """The ``rleToString`` of pycocotools, with 64-bit counts."""
    m = cnts.shape[0]
    buf = np.empty(m * 13 + 1, np.uint8)  # 13 groups of 5 bits hold any int64
    p = 0
    for i in range(m):
        x = cnts[i]
        if i > 2:
            x -= cnts[i - 2]
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            buf[p] = c + 48
            p += 1
    return buf[:p]


@numba.njit(cache=True, nogil=True)
def _string_to_counts(s: NDArray[np.uint8]) -> tuple[NDArray[np.int64], int]:  # pragma: no cover
    """The ``rleFrString`` of pycocotools with validation; returns ``(counts, error)``."""
    n = s.shape[0]
    cnts = np.empty(n, np.int64)
    m = 0
    p = 0
    while p < n:
        x = np.int64(0)
        k = 0
        more = True
        c = 0
        while more:
            if p >= n:
                return cnts[:m], _TRUNCATED
            c = np.int64(s[p]) - 48
            if c < 0 or c > 63:
                return cnts[:m], _BAD_CHAR
            if k >= 12:
                return cnts[:m], _OVERFLOW
            x |= (c & 0x1F) << (5 * k)
            more = (c & 0x20) != 0
            p += 1
            k += 1
        if c & 0x10:
            x |= np.int64(-1) << (5 * k)
        if m > 2:
            x += cnts[m - 2]
        if x < 0:
            return cnts[:m], _NEGATIVE
        cnts[m] = x
        m += 1
    return cnts[:m], _OK


@numba.njit(cache=True, nogil=True)
def _fill_runs(cnts: NDArray[np.int64], out: NDArray[np.bool_]) -> None:  # pragma: no cover
    """Set the 1-runs of ``cnts`` (odd positions) in the flat array ``out``."""
    p = 0
    for i in range(cnts.shape[0]):
        c = cnts[i]
        if i & 1:
            out[p : p + c] = True
        p += c


@numba.njit(cache=True, nogil=True)
def _runs_of_many(
    data: NDArray[np.uint8], offsets: NDArray[np.int64], heights: NDArray[np.int64]
) -> tuple:  # pragma: no cover
    """Parse many compressed count strings (concatenated) into 1-runs.

    Returns ``(starts, ends, run_offsets, areas, boxes, totals, errors)``:
    the half-open column-major intervals of 1s of every RLE (concatenated,
    ``run_offsets`` delimiting them), the areas, the boxes ``(y0, x0, y1, x1)``
    (exclusive ends; zeros when empty), the sum of all counts (for the size
    check) and an error code per RLE.
    """
    n = offsets.shape[0] - 1
    cap = data.shape[0] // 2 + n
    starts = np.empty(cap, np.int64)
    ends = np.empty(cap, np.int64)
    run_off = np.zeros(n + 1, np.int64)
    areas = np.zeros(n, np.int64)
    boxes = np.zeros((n, 4), np.int64)
    totals = np.zeros(n, np.int64)
    errors = np.zeros(n, np.int64)
    r = 0
    for k in range(n):
        cnts, err = _string_to_counts(data[offsets[k] : offsets[k + 1]])
        errors[k] = err
        h = heights[k]
        p = 0
        y0 = h
        x0 = np.int64(1) << 62
        y1 = -1
        x1 = -1
        for i in range(cnts.shape[0]):
            c = cnts[i]
            if (i & 1) and c > 0:
                starts[r] = p
                ends[r] = p + c
                r += 1
                areas[k] += c
                cs = p // h
                ce = (p + c - 1) // h
                if ce > cs:
                    y0 = 0
                    y1 = h - 1
                else:
                    y0 = min(y0, p % h)
                    y1 = max(y1, (p + c - 1) % h)
                x0 = min(x0, cs)
                x1 = max(x1, ce)
            p += c
        totals[k] = p
        run_off[k + 1] = r
        if areas[k] > 0:
            boxes[k, 0] = y0
            boxes[k, 1] = x0
            boxes[k, 2] = y1 + 1
            boxes[k, 3] = x1 + 1
    return starts[:r], ends[:r], run_off, areas, boxes, totals, errors


@numba.njit(cache=True, nogil=True)
def _fill_crop(starts, ends, h, y0, x0, out):  # pragma: no cover
    """Paint column-major 1-runs ``[starts, ends)`` into ``out``, a crop at ``(y0, x0)``."""
    for k in range(starts.shape[0]):
        p = starts[k]
        e = ends[k]
        while p < e:
            col = p // h
            row = p - col * h
            stop = min(e, (col + 1) * h)
            out[row - y0 : row - y0 + stop - p, col - x0] = True
            p = stop
