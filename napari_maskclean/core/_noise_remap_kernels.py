"""Compiled (numba) kernels of the certified float32 deformation (2D).

See :mod:`._noise_fast` for the method. The kernels take row or list ranges
``start, stop`` so that :func:`._parallel.run_chunked` can split them over
threads; each writes a disjoint part of its outputs. Compiled on first use and
cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _scale_field(u, alpha, mask, has_mask, out, start, stop):
    """``out = float32(alpha * (2 * u - 1))``, 0 where ``mask`` (rows start..stop)."""
    w = u.shape[1]
    for y in range(start, stop):
        for x in range(w):
            if has_mask and mask[y, x]:
                out[y, x] = 0.0
            else:
                out[y, x] = np.float32((u[y, x] * 2.0 - 1.0) * alpha)


@numba.njit(cache=True, nogil=True)
def _nearest(p, d, n):
    """The seed's source index: rint(float32(clip(p + d, 0, n - 1)))."""
    v = min(max(p + d, 0.0), n - 1.0)
    return int(np.rint(np.float32(v)))


@numba.njit(cache=True, nogil=True)
def _uniform_in(labels, y0, y1, x0, x1):
    """True if ``labels[y0:y1 + 1, x0:x1 + 1]`` holds one value."""
    v = labels[y0, x0]
    for yy in range(y0, y1 + 1):
        for xx in range(x0, x1 + 1):
            if labels[yy, xx] != v:
                return False
    return True


@numba.njit(cache=True, nogil=True)
def _remap_bounded(labels, dy, dx, eps, frozen, has_frozen, out, unsure, start, stop):
    """Nearest-neighbour remap with displacements known to within ``eps``.

    The true source index lies between the indices of ``d - eps`` and
    ``d + eps`` (every step of the index is monotone in ``d``). Where the
    labels over that range agree, the output is that label whatever the exact
    ``d``; elsewhere ``unsure`` is set and the pixel is decided later.
    ``frozen`` pixels have a displacement of exactly zero.
    """
    h, w = labels.shape
    for y in range(start, stop):
        for x in range(w):
            if has_frozen and frozen[y, x]:
                out[y, x] = labels[y, x]
                continue
            ey, ex = dy[y, x], dx[y, x]
            y0, y1 = _nearest(y, ey - eps, h), _nearest(y, ey + eps, h)
            x0, x1 = _nearest(x, ex - eps, w), _nearest(x, ex + eps, w)
            if y0 == y1 and x0 == x1:
                out[y, x] = labels[y0, x0]
            elif _uniform_in(labels, y0, y1, x0, x1):
                out[y, x] = labels[y0, x0]
            else:
                unsure[y, x] = True


@numba.njit(cache=True, nogil=True)
def _reflect(i, n):
    """OpenCV's BORDER_REFLECT_101 index (repeated for kernels wider than the image)."""
    if n == 1:
        return 0
    while i < 0 or i >= n:
        i = -i if i < 0 else 2 * n - 2 - i
    return i


@numba.njit(cache=True, nogil=True)
def _blur_at(u, alpha, mask, has_mask, kern, y, x):
    """The float64 Gaussian blur of the scaled, masked field at one pixel."""
    h, w = u.shape
    r = kern.shape[0] // 2
    acc = 0.0
    for i in range(kern.shape[0]):
        yy = _reflect(y + i - r, h)
        row = 0.0
        for j in range(kern.shape[0]):
            xx = _reflect(x + j - r, w)
            if not (has_mask and mask[yy, xx]):
                row += kern[j] * ((u[yy, xx] * 2.0 - 1.0) * alpha)
        acc += kern[i] * row
    return acc


@numba.njit(cache=True, nogil=True)
def _decide_unsure(labels, dy, dx, eps, uy, ux, alpha, mask, has_mask, kern, delta,
                   ys, xs, out, undecided, start, stop):
    """Decide the unsure pixels ``(ys[k], xs[k])`` from float64 displacements.

    An axis whose range under ``eps`` is one index keeps it; the other axes
    are recomputed in float64 (within ``delta`` of OpenCV's own float64 blur).
    A pixel still undecided sets ``undecided[k]``.
    """
    h, w = labels.shape
    for k in range(start, stop):
        y, x = ys[k], xs[k]
        ey, ex = dy[y, x], dx[y, x]
        y0, y1 = _nearest(y, ey - eps, h), _nearest(y, ey + eps, h)
        x0, x1 = _nearest(x, ex - eps, w), _nearest(x, ex + eps, w)
        if y0 != y1:
            v = _blur_at(uy, alpha, mask, has_mask, kern, y, x)
            y0, y1 = _nearest(y, v - delta, h), _nearest(y, v + delta, h)
        if x0 != x1:
            v = _blur_at(ux, alpha, mask, has_mask, kern, y, x)
            x0, x1 = _nearest(x, v - delta, w), _nearest(x, v + delta, w)
        if _uniform_in(labels, y0, y1, x0, x1):
            out[y, x] = labels[y0, x0]
        else:
            undecided[k] = True
