"""Compiled (numba) kernels of :mod:`.noise` (2D).

One labelling pass giving component areas and boxes, and a mask of padded boxes.

Compiled on first use and cached on disk (``cache=True``).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True, nogil=True)
def _find(parent, i):
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True, nogil=True)
def _cc_stats_2d(lab, has_ignore, ignore):
    """8-connected components of equal value; ignored pixels get 0.

    Returns the component image (1..n), areas (n + 1) and boxes (n + 1, 4):
    y start, y stop, x start, x stop.
    """
    h, w = lab.shape
    cc = np.zeros((h, w), np.int32)
    parent = np.zeros(h * w + 1, np.int32)  # all-distinct values: one label per pixel
    nxt = 1
    for y in range(h):
        for x in range(w):
            v = lab[y, x]
            if has_ignore and v == ignore:
                continue
            cur = 0
            # the visited 8-neighbours: left, up-left, up, up-right
            for dy, dx in ((0, -1), (-1, -1), (-1, 0), (-1, 1)):
                yy, xx = y + dy, x + dx
                if yy < 0 or xx < 0 or xx >= w or lab[yy, xx] != v:
                    continue
                if has_ignore and lab[yy, xx] == ignore:
                    continue
                other = _find(parent, cc[yy, xx])
                if cur == 0:
                    cur = other
                elif other != cur:
                    if other < cur:
                        parent[cur] = other
                        cur = other
                    else:
                        parent[other] = cur
            if cur == 0:
                parent[nxt] = nxt
                cur = nxt
                nxt += 1
            cc[y, x] = cur
    final = np.zeros(nxt, np.int32)
    n = 0
    for i in range(1, nxt):
        r = _find(parent, i)
        if r == i:
            n += 1
            final[i] = n
    for i in range(1, nxt):
        final[i] = final[_find(parent, i)]
    areas = np.zeros(n + 1, np.int64)
    boxes = np.empty((n + 1, 4), np.int64)
    boxes[:, 0] = h
    boxes[:, 1] = 0
    boxes[:, 2] = w
    boxes[:, 3] = 0
    for y in range(h):
        for x in range(w):
            c = final[cc[y, x]]
            cc[y, x] = c
            if c:
                areas[c] += 1
                boxes[c, 0] = min(boxes[c, 0], y)
                boxes[c, 1] = max(boxes[c, 1], y + 1)
                boxes[c, 2] = min(boxes[c, 2], x)
                boxes[c, 3] = max(boxes[c, 3], x + 1)
    return cc, areas, boxes


@numba.njit(cache=True, nogil=True)
def _box_mask_2d(h, w, boxes, pad):
    """Union of the boxes (rows y0, y1, x0, x1), padded and clipped, via a summed table."""
    acc = np.zeros((h + 1, w + 1), np.int32)
    for k in range(boxes.shape[0]):
        y0 = max(boxes[k, 0] - pad, 0)
        y1 = min(boxes[k, 1] + pad, h)
        x0 = max(boxes[k, 2] - pad, 0)
        x1 = min(boxes[k, 3] + pad, w)
        acc[y0, x0] += 1
        acc[y0, x1] -= 1
        acc[y1, x0] -= 1
        acc[y1, x1] += 1
    mask = np.zeros((h, w), np.bool_)
    for y in range(h):
        run = 0
        for x in range(w):
            run += acc[y, x]
            acc[y, x] = run + (acc[y - 1, x] if y > 0 else 0)
            mask[y, x] = acc[y, x] > 0
    return mask
