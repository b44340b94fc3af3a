"""Compiled (numba) kernels of :mod:`.instances`: boxes and areas, candidate pairs, intersections.

Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _box_area_2d(m, out, check):  # pragma: no cover
    """``out = (y0, x0, y1, x1, area, max value)`` of a 2D uint8 mask (zeros if empty).

    One vectorisable pass sums the rows (and, when ``check``, takes their
    maximum, to refuse non-binary masks); the columns are then OR-reduced over
    the non-empty rows only.
    """
    h, w = m.shape
    out[:] = 0
    y0, y1 = -1, -1
    area = 0
    vmax = 0
    for i in range(h):
        s = np.uint32(0)
        for j in range(w):
            s += m[i, j]
        if check:
            rmax = 0
            for j in range(w):
                rmax = max(rmax, m[i, j])
            vmax = max(vmax, rmax)
        if s:
            area += s
            if y0 < 0:
                y0 = i
            y1 = i
    if y0 < 0:
        out[5] = vmax
        return
    cols = np.zeros(w, np.uint8)
    for i in range(y0, y1 + 1):
        for j in range(w):
            cols[j] |= m[i, j]
    x0 = 0
    while cols[x0] == 0:
        x0 += 1
    x1 = w - 1
    while cols[x1] == 0:
        x1 -= 1
    out[0], out[1], out[2], out[3], out[4], out[5] = y0, x0, y1 + 1, x1 + 1, area, vmax


@numba.njit(cache=True, nogil=True)
def _box_area_stack(stack, out, check, start, stop):  # pragma: no cover
    for k in range(start, stop):
        _box_area_2d(stack[k], out[k], check)


@numba.njit(cache=True, nogil=True)
def _overlapping_boxes(ba, bb, same):  # pragma: no cover
    """Pairs ``(i, j)`` of non-empty boxes ``(y0, x0, y1, x1)`` that overlap.

    A sweep over the left edges: each box is checked against the boxes still
    open (right edge beyond its left edge) of the other set (of its own set,
    with ``i < j``, when ``same``).
    """
    na = ba.shape[0]
    nb = bb.shape[0]
    nt = na if same else na + nb
    x0 = np.empty(nt, np.int64)
    for k in range(nt):
        x0[k] = ba[k, 1] if k < na else bb[k - na, 1]
    order = np.argsort(x0, kind="mergesort")
    act = np.empty((2, max(na, nb)), np.int64)
    nact = np.zeros(2, np.int64)
    cap = 1024
    pi = np.empty(cap, np.int64)
    pj = np.empty(cap, np.int64)
    n = 0
    for k in order:
        side = 0 if k < na else 1
        idx = k if k < na else k - na
        box = ba[idx] if side == 0 else bb[idx]
        if box[2] <= box[0]:
            continue  # empty
        other = 0 if same else 1 - side
        boxes_o = ba if other == 0 else bb
        m = 0
        for t in range(nact[other]):  # drop boxes that ended, check the others
            o = act[other, t]
            bo = boxes_o[o]
            if bo[3] > box[1]:
                act[other, m] = o
                m += 1
                if bo[0] < box[2] and box[0] < bo[2]:
                    if n == cap:
                        cap *= 2
                        pi2 = np.empty(cap, np.int64)
                        pj2 = np.empty(cap, np.int64)
                        pi2[:n] = pi[:n]
                        pj2[:n] = pj[:n]
                        pi, pj = pi2, pj2
                    if same:
                        pi[n], pj[n] = min(o, idx), max(o, idx)
                    elif side == 0:
                        pi[n], pj[n] = idx, o
                    else:
                        pi[n], pj[n] = o, idx
                    n += 1
        nact[other] = m
        act[side, nact[side]] = idx
        nact[side] += 1
    return pi[:n], pj[:n]


@numba.njit(cache=True, nogil=True)
def _inter_crops(
    buf_a, off_a, box_a, buf_b, off_b, box_b, pi, pj, out, start, stop
):  # pragma: no cover
    for k in range(start, stop):
        i, j = pi[k], pj[k]
        y0, x0 = max(box_a[i, 0], box_b[j, 0]), max(box_a[i, 1], box_b[j, 1])
        y1, x1 = min(box_a[i, 2], box_b[j, 2]), min(box_a[i, 3], box_b[j, 3])
        wa, wb = box_a[i, 3] - box_a[i, 1], box_b[j, 3] - box_b[j, 1]
        s = 0
        for y in range(y0, y1):
            pa = off_a[i] + (y - box_a[i, 0]) * wa - box_a[i, 1]
            pb = off_b[j] + (y - box_b[j, 0]) * wb - box_b[j, 1]
            for x in range(x0, x1):
                s += buf_a[pa + x] & buf_b[pb + x]
        out[k] = s


@numba.njit(cache=True, nogil=True)
def _inter_runs(
    sa, ea, ra, box_a, sb, eb, rb, box_b, h, pi, pj, out, start, stop
):  # pragma: no cover
    for k in range(start, stop):
        i, j = pi[k], pj[k]
        lo = max(box_a[i, 1], box_b[j, 1]) * h  # the common columns, flat
        hi = min(box_a[i, 3], box_b[j, 3]) * h
        p = ra[i] + np.searchsorted(ea[ra[i] : ra[i + 1]], lo, side="right")
        q = rb[j] + np.searchsorted(eb[rb[j] : rb[j + 1]], lo, side="right")
        pe, qe = ra[i + 1], rb[j + 1]
        s = 0
        while p < pe and q < qe:
            a0, a1, b0, b1 = sa[p], ea[p], sb[q], eb[q]
            if a0 >= hi or b0 >= hi:
                break
            d = min(a1, b1) - max(a0, b0)
            if d > 0:
                s += d
            if a1 < b1:
                p += 1
            else:
                q += 1
        out[k] = s
