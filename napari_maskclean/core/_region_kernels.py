"""Compiled (numba) kernels of the scan-line flood behind :mod:`.region`.

Kept apart from the Python driver (:mod:`._region_flood`) so the kernels, which
are compiled on first use and cached on disk (``cache=True``), read as one unit.
"""

from __future__ import annotations

import numba
import numpy as np


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
