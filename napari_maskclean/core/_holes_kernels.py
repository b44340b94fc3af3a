"""Compiled (numba) kernels behind :mod:`.holes` and :mod:`.islands`.

The exact Euclidean feature transform (Felzenszwalb & Huttenlocher lower
envelopes, carrying the nearest source's index), the gather of filled values,
and the equal-value connected components. Compiled on first use, cached on disk.
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _scan_first_axis(src, w0, dist, feat, j0, j1):  # pragma: no cover - compiled
    """Nearest source along axis 0 of a (n0, m) array, for non-source pixels.

    Writes the squared distance (``inf`` if the column has no source) and the
    flat index of that source (-1 if none) at non-source pixels only, in the
    columns ``j0 <= j < j1``; entries at source pixels are left untouched and
    never read.
    """
    n0, m = src.shape
    last = np.full(m, -1, np.int64)
    for i in range(n0):
        for j in range(j0, j1):
            if src[i, j]:
                last[j] = i
            else:
                feat[i, j] = last[j]
    nxt = np.full(m, -1, np.int64)
    for i in range(n0 - 1, -1, -1):
        for j in range(j0, j1):
            if src[i, j]:
                nxt[j] = i
                continue
            a = np.int64(feat[i, j])
            b = nxt[j]
            if a < 0:
                s = b
            elif b < 0:
                s = a
            elif i - a <= b - i:
                s = a
            else:
                s = b
            if s < 0:
                dist[i, j] = np.inf
                feat[i, j] = -1
            else:
                d = i - s
                dist[i, j] = w0 * d * d
                feat[i, j] = s * m + j


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _envelope_axis(src, dist, feat, w, o0, o1):  # pragma: no cover - compiled
    """Lower envelope of parabolas along axis 1 of a (outer, n, inner) array.

    Only the outer indices ``o0 <= o < o1`` are processed.

    At non-source pixels, ``dist``/``feat`` hold the squared distance to, and
    flat index of, the nearest source found by the previous passes
    (``inf``/-1 if none); both are updated in place. A source pixel is a
    parabola of height 0 at its own position and a barrier: no parabola from
    beyond it can win on its other side (the source is nearer along the line
    and lower). So only runs of non-source pixels are processed, each with the
    sources that bound it, and the work is proportional to their number.
    """
    n_out, n, n_in = dist.shape
    v = np.empty(n, np.int64)
    z = np.empty(n + 1, np.float64)
    h = np.empty(n, np.float64)
    g = np.empty(n, np.float64)
    f = np.empty(n, np.int64)
    inv_w = 1.0 / w
    for o in range(o0, o1):
        for ii in range(n_in):
            q = 0
            while q < n:
                if src[o, q, ii]:
                    q += 1
                    continue
                a = q
                while q < n and not src[o, q, ii]:
                    q += 1
                b = q  # run of non-sources [a, b)
                lo = a - 1 if a > 0 else a
                hi = b if b < n else b - 1
                k = -1
                for p in range(lo, hi + 1):
                    if p < a or p >= b:  # bounding source
                        gp = 0.0
                        f[p] = (o * n + p) * n_in + ii
                    else:
                        gp = dist[o, p, ii]
                        if gp == np.inf:
                            continue
                        f[p] = feat[o, p, ii]
                    g[p] = gp
                    hp = gp * inv_w + p * p
                    h[p] = hp
                    if k < 0:
                        k = 0
                        v[0] = p
                        z[0] = -np.inf
                        z[1] = np.inf
                        continue
                    r = v[k]
                    s = (hp - h[r]) / (2.0 * (p - r))
                    while s <= z[k]:
                        k -= 1
                        r = v[k]
                        s = (hp - h[r]) / (2.0 * (p - r))
                    k += 1
                    v[k] = p
                    z[k] = s
                    z[k + 1] = np.inf
                if k < 0:
                    continue  # no source reachable on this line yet
                k = 0
                for t in range(a, b):
                    while z[k + 1] < t:
                        k += 1
                    r = v[k]
                    d = t - r
                    dist[o, t, ii] = w * d * d + g[r]
                    feat[o, t, ii] = f[r]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _gather_targets(targets, feat, dist, max_dist, lo, full, out, r0, r1):  # pragma: no cover
    """``out[t] = out[nearest source of t]`` for the targets of a crop.

    ``targets``/``feat``/``dist`` are (a, b, c) arrays over the crop (feature
    indices flat in the crop), ``lo`` the crop offset in the full image of
    shape ``full`` (both length 3) and ``out`` the full image as
    (pixels, channels). Only the rows ``r0 <= r < r1`` of the crop seen as
    (a * b, c) are done. Targets without a source, or farther than
    ``max_dist``, are left alone. Sources are never targets, so reading from
    ``out`` reads original values (and chunks of rows can run in parallel).
    """
    nb, nc = targets.shape[1:]
    fb = full[1]
    fc = full[2]
    n_ch = out.shape[1]
    check = max_dist < np.inf
    # crop flat index -> full flat index: a constant shift when the crop spans
    # the two trailing axes (always for 2-D full-width crops); else unravel
    shift_only = nb == fb and nc == fc
    shift = (lo[0] * fb + lo[1]) * fc + lo[2]
    for xy in range(r0, r1):
        x = xy // nb
        y = xy - x * nb
        row_t = ((x + lo[0]) * fb + y + lo[1]) * fc + lo[2]
        for zz in range(nc):
            if not targets[x, y, zz]:
                continue
            s = np.int64(feat[x, y, zz])
            if s < 0:
                continue
            if check and math.sqrt(dist[x, y, zz]) > max_dist:
                continue
            if shift_only:
                full_s = s + shift
            else:
                sz = s % nc
                r = s // nc
                sy = r % nb
                sx = r // nb
                full_s = ((sx + lo[0]) * fb + sy + lo[1]) * fc + sz + lo[2]
            full_t = row_t + zz
            for ch in range(n_ch):
                out[full_t, ch] = out[full_s, ch]


@numba.njit(cache=True, error_model="numpy")
def _rows_equal(words, colour):  # pragma: no cover - compiled
    """Flag the (pixels, channels) rows that equal ``colour`` word for word."""
    n, c = words.shape
    out = np.empty(n, np.bool_)
    for i in range(n):
        same = True
        for k in range(c):
            same &= words[i, k] == colour[k]
        out[i] = same
    return out


@numba.njit(cache=True, error_model="numpy")
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True, error_model="numpy")
def _equal_value_components(codes, offsets):  # pragma: no cover - compiled
    """Label the connected components of equal-valued pixels (union-find).

    ``codes`` is a C-contiguous (a, b, c) int64 array, ``offsets`` an (k, 3)
    array of the *backward* half of the neighbourhood. Returns component ids
    (0..n-1, numbered in raster order of their first pixel) and the size of
    each component. A root is always the smallest index of its tree.
    """
    na, nb, nc = codes.shape
    size = na * nb * nc
    flat = codes.ravel()
    parent = np.empty(size, np.int64)
    n_off = offsets.shape[0]
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                p = (a * nb + b) * nc + c
                parent[p] = p
                val = flat[p]
                for t in range(n_off):
                    qa = a + offsets[t, 0]
                    qb = b + offsets[t, 1]
                    qc = c + offsets[t, 2]
                    if qa < 0 or qb < 0 or qc < 0 or qb >= nb or qc >= nc:
                        continue
                    q = (qa * nb + qb) * nc + qc
                    if flat[q] != val:
                        continue
                    rq = _find(parent, q)
                    rp = _find(parent, p)
                    if rp < rq:
                        parent[rq] = rp
                    elif rq < rp:
                        parent[rp] = rq
    out = np.empty(size, np.int64)
    counts = np.zeros(size, np.int64)
    n_comp = 0
    for p in range(size):
        r = parent[p]
        if r == p:
            out[p] = n_comp
            n_comp += 1
        else:
            out[p] = out[r]  # r < p: already numbered, same component
        counts[out[p]] += 1
    return out.reshape(codes.shape), counts[:n_comp].copy()
