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


def _ring(contour: NDArray[np.int32], tolerance: float) -> list[float]:
    pts = contour.reshape(-1, 2)
    if tolerance > 0 and len(pts) >= 3:
        simple = cv2.approxPolyDP(contour, float(tolerance), True).reshape(-1, 2)
        if len(simple) >= 3:
            pts = simple
    if len(pts) < 3:  # a pixel or a one-pixel line: its exact pixel-edge box
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0) + 1
        return [float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]
    return (pts.astype(np.float64) + 0.5).ravel().tolist()


def mask_to_polygons(mask: ArrayLike, *, tolerance: float = 0) -> list[Polygon]:
    """Outer contours and holes of a 2D binary mask as COCO polygons.

    Parameters
    ----------
    mask : (H, W) array_like of bool or 0/1
    tolerance : float
        Simplification: the ``epsilon`` of ``cv2.approxPolyDP`` in pixels (the
        largest distance of a dropped contour point from the simplified
        polygon); 0 keeps every contour corner.

    Returns
    -------
    list of Polygon
        One per 8-connected part, each with its holes; coordinates in the
        pixel-edge convention (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((5, 5), bool); m[1:4, 1:4] = True; m[2, 2] = False
    >>> p = mask_to_polygons(m)
    >>> len(p), len(p[0].holes)
    (1, 1)
    """
    arr = np.asarray(mask)
    if arr.ndim != 2:
        raise ValueError(f"mask must be 2D, got shape {arr.shape}")
    if arr.dtype != bool and arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError("mask must be binary (0/1 or bool): pass `mask > 0`")
    if float(tolerance) < 0:
        raise ValueError(f"tolerance must be >= 0 pixels, got {tolerance!r}")
    img = np.ascontiguousarray(arr, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(img, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hier = hierarchy[0]
    out = []
    for i, c in enumerate(contours):
        if hier[i][3] >= 0:
            continue  # a hole: attached to its parent below
        holes = []
        child = hier[i][2]
        while child >= 0:
            holes.append(_ring(contours[child], tolerance))
            child = hier[child][0]
        out.append(Polygon(_ring(c, tolerance), holes))
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
    inner: list[list[float]] = []
    for p in polygons:
        if isinstance(p, Polygon):
            outer.append(p.exterior)
            if holes:
                inner.extend(p.holes)
        else:
            outer.append(p)  # type: ignore[arg-type]
    if validate:
        for k, r in enumerate(outer):
            check_ring(r, name=f"polygon {k}")
        for k, r in enumerate(inner):
            check_ring(r, name=f"hole {k}")
    out = _raster(outer, h, w)
    if inner:
        out &= ~_raster(inner, h, w)
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
