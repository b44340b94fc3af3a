"""Binary masks <-> polygons in COCO's convention, with holes.

Coordinates are COCO's flat ``[x0, y0, x1, y1, ...]`` (x is the column) in the
**pixel-edge** convention that pycocotools rasterises: pixel ``(r, c)`` is the
unit square ``[c, c + 1] x [r, r + 1]``, so its centre is ``(c + 0.5, r + 0.5)``.
:func:`mask_to_polygons` traces contours with OpenCV (``RETR_CCOMP``: outer
boundaries and their holes) through the centres of the boundary pixels and
writes them shifted by 0.5 into that convention. Rasterised back (by
:func:`polygons_to_mask` or pycocotools' ``frPyObjects``) a polygon through
the boundary pixel centres covers about half of each boundary pixel, which
pycocotools counts as inside or not depending on the slope: expect an IoU
around 0.95 for a 30-pixel object and closer to 1 for larger ones (measure it
with :func:`simplification_loss`). Single pixels and one-pixel lines, whose
contour has fewer than 3 points, are written as their pixel-edge box
(exact).

COCO's polygon format cannot hold holes (pycocotools unions all the parts of
an object): keep the :class:`Polygon`'s ``holes`` and write such objects as
RLE (see :mod:`napari_maskclean.io_coco`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import cv2
import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray
from pycocotools import mask as _coco_mask

__all__ = [
    "Polygon",
    "check_ring",
    "mask_to_polygons",
    "polygons_to_mask",
    "simplification_loss",
]


class Polygon(NamedTuple):
    """One connected part of a mask: its outer ring and its holes (flat COCO lists)."""

    exterior: list[float]
    holes: list[list[float]]


# --- pixel-edge tracing -------------------------------------------------------
# Directions E, S, W, N (y points down), so a right turn is d + 1 (mod 4).
_DY = np.array([0, 1, 0, -1], np.int64)
_DX = np.array([1, 0, -1, 0], np.int64)
# Offset (dy, dx) from a vertex (pixel corner (r, c)) to the pixel ahead-left of
# direction d; the pixel ahead-right of d is the one ahead-left of d + 1.
_AHEAD_LEFT = np.array([[-1, 0], [0, 0], [0, -1], [-1, -1]], np.int64)


@numba.njit(cache=True, inline="always")
def _fg(m, r, c):  # pragma: no cover
    return 0 <= r < m.shape[0] and 0 <= c < m.shape[1] and m[r, c] != 0


@numba.njit(cache=True)
def _grow(a, n):  # pragma: no cover
    if n < a.shape[0]:
        return a
    b = np.empty(2 * a.shape[0], a.dtype)
    b[: a.shape[0]] = a
    return b


@numba.njit(cache=True)
def _trace_edges(m, split):  # pragma: no cover
    """Every boundary ring of the union of the foreground pixel squares.

    Rings follow the pixel edges with the foreground on their right (y down):
    outer rings run clockwise on screen (positive shoelace area), holes the
    other way. At a saddle (two pixels touching only at a corner) a ring turns
    around the pixel it is following, so the foreground is 4-connected and
    each ring belongs to one 4-connected part. Only turning vertices are kept
    (collinear points merged). With ``split`` a ring that passes a saddle
    twice is cut there into simple rings (a shell and the holes that touch it
    at that point). Returns the vertices (x, y), the offset of each ring, the
    pixel (r, c) its trace started from, and its doubled signed area.
    """
    h, w = m.shape
    visited = np.zeros((h, w), np.bool_)
    xs = np.empty(1024, np.int32)
    ys = np.empty(1024, np.int32)
    n = 0
    ring_off = np.zeros(64, np.int64)
    ring_r = np.empty(64, np.int64)
    ring_c = np.empty(64, np.int64)
    ring_a = np.empty(64, np.int64)
    nr = 0
    sx = np.empty(256, np.int64)  # the ring being traced (a stack)
    sy = np.empty(256, np.int64)
    sad = np.empty(16, np.int64)  # stack positions of the saddles on it
    for r0 in range(h):
        for c0 in range(w):
            if m[r0, c0] == 0 or visited[r0, c0] or (r0 > 0 and m[r0 - 1, c0] != 0):
                continue
            sn = 0
            ns = 0
            sx[0] = c0
            sy[0] = r0
            sn = 1
            if split and _fg(m, r0 - 1, c0 - 1) and not _fg(m, r0, c0 - 1):
                sad[0] = 0
                ns = 1
            r, c, d = r0, c0, 0
            done = False
            while not done:
                if d == 0:
                    visited[r, c] = True  # the top edge of pixel (r, c)
                r += _DY[d]
                c += _DX[d]
                dr = (d + 1) & 3
                left = _fg(m, r + _AHEAD_LEFT[d, 0], c + _AHEAD_LEFT[d, 1])
                right = _fg(m, r + _AHEAD_LEFT[dr, 0], c + _AHEAD_LEFT[dr, 1])
                if not right:
                    nd = dr  # also at a saddle: keep to the pixel on the right
                elif left:
                    nd = (d + 3) & 3
                else:
                    nd = d
                if r == r0 and c == c0 and nd == 0:
                    done = True
                    break
                if nd != d:
                    k = -1
                    if split and left and not right:  # a saddle: seen before?
                        for j in range(ns):
                            p = sad[j]
                            if sx[p] == c and sy[p] == r:
                                k = p
                                ns = j
                                break
                        if k < 0:
                            sad = _grow(sad, ns)
                            sad[ns] = sn
                            ns += 1
                    if k >= 0:  # cut the loop stack[k:sn] off as its own ring
                        for q in range(k, sn):
                            xs = _grow(xs, n)
                            ys = _grow(ys, n)
                            xs[n] = sx[q]
                            ys[n] = sy[q]
                            n += 1
                        a = 0
                        for q in range(k, sn):
                            q1 = q + 1 if q + 1 < sn else k
                            a += sx[q] * sy[q1] - sx[q1] * sy[q]
                        ring_off = _grow(ring_off, nr + 1)
                        ring_r = _grow(ring_r, nr)
                        ring_c = _grow(ring_c, nr)
                        ring_a = _grow(ring_a, nr)
                        ring_r[nr] = r0
                        ring_c[nr] = c0
                        ring_a[nr] = a
                        nr += 1
                        ring_off[nr] = n
                        sn = k + 1
                    else:
                        sx = _grow(sx, sn)
                        sy = _grow(sy, sn)
                        sx[sn] = c
                        sy[sn] = r
                        sn += 1
                d = nd
            a = 0
            for q in range(sn):
                xs = _grow(xs, n)
                ys = _grow(ys, n)
                xs[n] = sx[q]
                ys[n] = sy[q]
                n += 1
                q1 = q + 1 if q + 1 < sn else 0
                a += sx[q] * sy[q1] - sx[q1] * sy[q]
            ring_off = _grow(ring_off, nr + 1)
            ring_r = _grow(ring_r, nr)
            ring_c = _grow(ring_c, nr)
            ring_a = _grow(ring_a, nr)
            ring_r[nr] = r0
            ring_c[nr] = c0
            ring_a[nr] = a
            nr += 1
            ring_off[nr] = n
    return xs[:n], ys[:n], ring_off[: nr + 1], ring_r[:nr], ring_c[:nr], ring_a[:nr]


def _ring(pts: NDArray[np.int32], tolerance: float) -> list[float]:
    if tolerance > 0 and len(pts) > 4:
        simple = cv2.approxPolyDP(pts.reshape(-1, 1, 2), float(tolerance), True)
        if len(simple) >= 3:
            pts = simple.reshape(-1, 2)
    return pts.astype(np.float64).ravel().tolist()


def mask_to_polygons(
    mask: ArrayLike, *, tolerance: float = 0, simple: bool = True
) -> list[Polygon]:
    """Outlines of a 2D binary mask as COCO polygons with holes, exact at tolerance 0.

    The outline of the union of the foreground pixel squares: vertices at
    pixel corners, collinear points merged. Rasterised back by
    :func:`polygons_to_mask` or by pycocotools (``frPyObjects`` + ``decode``)
    it gives the mask exactly (see the module docstring).

    Parameters
    ----------
    mask : (H, W) array_like of bool or 0/1
    tolerance : float
        Simplification: the ``epsilon`` of ``cv2.approxPolyDP`` in pixels (the
        largest distance of a dropped vertex from the simplified ring); 0
        keeps every corner (exact). Rings that would fall below 3 points are
        kept whole.
    simple : bool
        Where a part touches itself diagonally (two of its pixels share only a
        corner) its outline passes that corner twice. True (default) cuts such
        a ring there into simple rings: the outer ring and holes touching it at
        that one point, which is what OGC / shapely call valid. False keeps it
        as one ring touching itself (still exact for pycocotools), so a part
        has holes only where it encloses background (8-connected): the form
        COCO writers want, as COCO polygons cannot hold holes.

    Returns
    -------
    list of Polygon
        One per 4-connected part (pixels touching only at a corner are
        separate parts, whose polygons touch at that point), each with its
        holes, in raster order of the parts' first pixels; coordinates in the
        pixel-edge convention (see the module docstring). Exteriors run
        clockwise on screen (y down), holes counter-clockwise.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True; m[2, 2] = False
    >>> p = mask_to_polygons(m)
    >>> len(p), len(p[0].holes)
    (1, 1)
    >>> p[0].exterior
    [1.0, 1.0, 4.0, 1.0, 4.0, 4.0, 1.0, 4.0]
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2D, got shape {arr.shape}")
    if arr.dtype != bool and arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("mask must be binary (0/1 or bool): pass `mask > 0`")
    if float(tolerance) < 0:
        raise ValueError(f"tolerance must be >= 0 pixels, got {tolerance!r}")
    img = np.ascontiguousarray(arr, dtype=np.uint8)
    xs, ys, off, rr, cc, area = _trace_edges(img, bool(simple))
    if area.size == 0:
        return []
    xy = np.stack([xs, ys], axis=1)
    tol = float(tolerance)
    shells = np.flatnonzero(area > 0)
    holes = np.flatnonzero(area < 0)
    out = [Polygon(_ring(xy[off[i] : off[i + 1]], tol), []) for i in shells]
    if holes.size:
        # every ring of one trace borders one 4-connected part; a part has one
        # outer ring, found (in raster order) before any of its holes
        _, labels = cv2.connectedComponents(img, connectivity=4, ltype=cv2.CV_32S)
        part = {int(k): j for j, k in enumerate(labels[rr[shells], cc[shells]])}
        for i, k in zip(holes, labels[rr[holes], cc[holes]]):
            out[part[int(k)]].holes.append(_ring(xy[off[i] : off[i + 1]], tol))
    return out


@numba.njit(cache=True)
def _crossing(xy):  # pragma: no cover
    """Index of the first edge properly crossing a non-adjacent edge, or -1."""
    n = xy.shape[0]
    for i in range(n):
        ax, ay = xy[i]
        bx, by = xy[(i + 1) % n]
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            cx, cy = xy[j]
            dx, dy = xy[(j + 1) % n]
            if max(ax, bx) < min(cx, dx) or max(cx, dx) < min(ax, bx):
                continue
            if max(ay, by) < min(cy, dy) or max(cy, dy) < min(ay, by):
                continue
            d1 = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
            d2 = (bx - ax) * (dy - ay) - (by - ay) * (dx - ax)
            d3 = (dx - cx) * (ay - cy) - (dy - cy) * (ax - cx)
            d4 = (dx - cx) * (by - cy) - (dy - cy) * (bx - cx)
            if d1 * d2 < 0 and d3 * d4 < 0:
                return i
    return -1


def check_ring(ring: Sequence[float], *, name: str = "polygon") -> NDArray[np.float64]:
    """Validate a flat COCO ring; return it as an ``(n, 2)`` array.

    Refuses rings with an odd number of coordinates, fewer than 3 points,
    non-finite values, or edges that cross each other (touching, as traced
    around one-pixel-wide parts, is allowed).
    """
    try:
        xy = np.asarray(ring, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a flat list of numbers [x0, y0, x1, y1, ...]") from None
    if xy.ndim != 1 or xy.size % 2:
        raise ValueError(
            f"{name} must be a flat list [x0, y0, x1, y1, ...] with an even number of values, "
            f"got shape {xy.shape}"
        )
    if xy.size < 6:
        raise ValueError(f"{name} has {xy.size // 2} points; a polygon needs at least 3")
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"{name} has non-finite coordinates")
    xy = xy.reshape(-1, 2)
    bad = _crossing(xy)
    if bad >= 0:
        raise ValueError(
            f"{name} intersects itself (edge {bad} from {xy[bad].tolist()} crosses another "
            "edge); split it into simple polygons or store the object as RLE"
        )
    return xy


def _raster(rings: list[list[float]], h: int, w: int) -> NDArray[np.bool_]:
    if not rings:
        return np.zeros((h, w), bool)
    rles = _coco_mask.frPyObjects([list(map(float, r)) for r in rings], h, w)
    return _coco_mask.decode(_coco_mask.merge(rles)).astype(bool)


def polygons_to_mask(
    polygons: Sequence[Polygon] | Sequence[Sequence[float]],
    shape: tuple[int, int],
    *,
    holes: bool = True,
    validate: bool = True,
) -> NDArray[np.bool_]:
    """Rasterise polygons (pixel-edge convention) exactly as pycocotools does.

    Parameters
    ----------
    polygons : list of Polygon, or list of flat rings
        :class:`Polygon` objects, or COCO's ``segmentation`` list of flat
        rings (all outer parts; COCO has no holes).
    shape : (int, int)
        ``(H, W)`` of the mask.
    holes : bool
        Subtract the holes of :class:`Polygon` objects; False fills them (what
        COCO stores when the holes are dropped).
    validate : bool
        Check every ring with :func:`check_ring` first.

    Returns
    -------
    (H, W) ndarray of bool
    """
    h, w = (int(v) for v in shape)
    outer: list[list[float]] = []
    holed: list[tuple[list[float], list[list[float]]]] = []
    for k, p in enumerate(polygons):
        ring, inner = (p.exterior, p.holes if holes else []) if isinstance(p, Polygon) else (p, [])
        if validate:
            check_ring(ring, name=f"polygon {k}")  # type: ignore[arg-type]
            for j, hole in enumerate(inner):
                check_ring(hole, name=f"hole {j} of polygon {k}")
        if inner:
            holed.append((ring, inner))  # type: ignore[arg-type]
        else:
            outer.append(ring)  # type: ignore[arg-type]
    out = _raster(outer, h, w)
    # each part minus its own holes: a part lying in another part's hole stays
    for r, inner in holed:
        out |= _raster([r], h, w) & ~_raster(inner, h, w)
    return out


def simplification_loss(masks: Any, tolerance: float | Sequence[float]) -> NDArray[np.float64]:
    """IoU lost per object by writing it as polygons of a given tolerance.

    Parameters
    ----------
    masks : (H, W) mask, (N, H, W) stack or list of 2D masks
        One object per mask (holes included).
    tolerance : float or sequence of float
        ``cv2.approxPolyDP`` epsilon(s) in pixels (0: no simplification,
        which still loses the half boundary pixels; see the module docstring).

    Returns
    -------
    (N,) or (T, N) ndarray of float64
        ``1 - IoU(polygons rasterised, mask)`` for each object (and tolerance);
        0 for an empty mask.
    """
    arr = [np.asarray(masks)] if np.ndim(masks) == 2 else list(masks)
    tols = np.atleast_1d(np.asarray(tolerance, dtype=np.float64))
    out = np.zeros((tols.size, len(arr)))
    for k, m in enumerate(arr):
        m = np.asarray(m).astype(bool)
        for t, tol in enumerate(tols):
            back = polygons_to_mask(mask_to_polygons(m, tolerance=tol), m.shape, validate=False)
            union = np.count_nonzero(m | back)
            out[t, k] = 1 - np.count_nonzero(m & back) / union if union else 0.0
    return out[0] if np.ndim(tolerance) == 0 else out
