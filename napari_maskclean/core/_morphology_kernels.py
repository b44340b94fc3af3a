"""The binary primitives of :mod:`.morphology`: erosion, dilation, counting, components.

Each primitive has an OpenCV kernel (2D, and 3D as exact sums of 2D operations
over the footprint's z-sections), a Euclidean-distance kernel for large disks
and balls, and a SciPy reference; :func:`_pick` chooses, and the tests assert
that all give identical results, interior and border.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray

from .footprints import _named_footprint

_Backend = Literal["auto", "opencv", "scipy", "edt"]


# 3D crops below this size with a footprint of width <= 5 run faster in SciPy
# than as per-slice OpenCV calls (Python overhead per slice); same results.
_SMALL_3D = 20_000


# From this disk radius on (2D), erosion/dilation by a disk run as a Euclidean
# distance transform (cost independent of r) instead of OpenCV's kernel
# (cost ~ r per pixel). Measured crossover (closing, 2048^2, 2 cores): r 20-30
# (333 vs 545 ms at r 20, 689 vs 443 ms at r 30, 2285 vs 354 ms at r 60);
# benchmarks/bench_morphology.py re-measures it.
_EDT_MIN_RADIUS_2D = 24


# Same for a ball in 3D (the per-slice OpenCV stack costs ~ r^2 per voxel;
# SciPy's 3D transform is slower): crossover r 16-24 on 128^3.
_EDT_MIN_RADIUS_3D = 20


# cv2.distanceTransform returns float32: its squared distances are exact to
# +-0.5 below 2**22, so it decides d^2 <= r^2 exactly for r^2 + 1 < 2**21;
# larger radii use SciPy's float64 transform.
_CV_EDT_MAX_R2 = (1 << 21) - 2


def _u8(m: NDArray[np.bool_]) -> NDArray[np.uint8]:
    return np.ascontiguousarray(m).view(np.uint8)


def _cv_stack(m: NDArray[np.bool_], fp: NDArray[np.bool_], kind: str) -> NDArray:
    """Exact 3D erosion/dilation/count as a combination of 2D OpenCV calls.

    Output slice ``z`` combines the 2D operation of input slice ``z + dz``
    with the footprint's section ``dz``; slices outside the volume are
    skipped, which is the border rule along z.
    """
    depth = m.shape[0]
    a = fp.shape[0] // 2
    src = _u8(m)
    groups: dict[bytes, tuple[NDArray, list[int]]] = {}
    for dz in range(-a, a + 1):
        section = fp[a + dz]
        if not section.any():
            continue
        key = section.tobytes()
        if key not in groups:
            sec = np.ascontiguousarray(section, dtype=np.uint8)
            if kind == "count":
                sec = sec.astype(np.float32)
            groups[key] = (sec, [])
        groups[key][1].append(dz)
    if kind == "erode":
        out = np.ones(m.shape, dtype=np.uint8)
    elif kind == "dilate":
        out = np.zeros(m.shape, dtype=np.uint8)
    else:
        out = np.zeros(m.shape, dtype=np.float32)
    for sec, dzs in groups.values():
        for z in range(depth):
            targets = [z - dz for dz in dzs if 0 <= z - dz < depth]
            if not targets:
                continue
            if kind == "erode":
                d = cv2.erode(src[z], sec)
                for t in targets:
                    np.bitwise_and(out[t], d, out=out[t])
            elif kind == "dilate":
                d = cv2.dilate(src[z], sec)
                for t in targets:
                    np.bitwise_or(out[t], d, out=out[t])
            else:
                d = cv2.filter2D(src[z], cv2.CV_32F, sec, borderType=cv2.BORDER_CONSTANT)
                for t in targets:
                    np.add(out[t], d, out=out[t])
    if kind == "count":
        return np.rint(out).astype(np.int32)
    return out.view(bool)


def _euclidean_radius(fp: NDArray[np.bool_]) -> int | None:
    """``r`` if ``fp`` is the Euclidean disk/ball of radius r (x^2 + y^2 (+ z^2) <= r^2)."""
    r = fp.shape[0] // 2
    if fp.ndim not in (2, 3) or any(s != 2 * r + 1 for s in fp.shape) or r < 1:
        return None
    named = _named_footprint("disk" if fp.ndim == 2 else "ball", r, fp.ndim)
    return r if fp is named or np.array_equal(fp, named) else None


def _within(m: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    """Pixels at Euclidean distance <= r from a True pixel of ``m`` (``m`` has one).

    This is the dilation by the disk/ball ``x^2 + y^2 (+ z^2) <= r^2`` with
    pixels outside the image ignored: the distance transform only measures to
    in-image pixels. Squared distances are compared with ``r^2 + 0.5``: they
    are integers, and the transform's rounding error stays far below 0.5.
    """
    src = ~m
    if m.ndim == 2 and r * r <= _CV_EDT_MAX_R2:
        d = cv2.distanceTransform(src.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    else:
        d = ndi.distance_transform_edt(src)
    d *= d
    return d <= r * r + 0.5


def _edt_dilate(m: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    if not m.any():
        return np.zeros(m.shape, dtype=bool)
    return _within(m, r)


def _edt_erode(m: NDArray[np.bool_], r: int) -> NDArray[np.bool_]:
    # A pixel survives iff no in-image background pixel lies within r.
    if m.all():
        return np.ones(m.shape, dtype=bool)
    return ~_within(~m, r)


def _pick(m: NDArray, fp: NDArray[np.bool_], backend: _Backend, edt_ok: bool = False) -> _Backend:
    """Resolve ``"auto"`` to the faster kernel for this array and footprint.

    ``"edt"`` applies only to erosion/dilation-based operations (``edt_ok``)
    with a Euclidean disk/ball; elsewhere it falls back to ``"auto"``.
    """
    r = _euclidean_radius(fp) if edt_ok else None
    if backend == "edt" and r is None:
        backend = "auto"
    if backend != "auto":
        return backend
    if r is not None and r >= (_EDT_MIN_RADIUS_2D if m.ndim == 2 else _EDT_MIN_RADIUS_3D):
        return "edt"
    if m.ndim == 3 and m.size < _SMALL_3D and max(fp.shape) <= 5:
        return "scipy"
    return "opencv"


def _erode(m: NDArray[np.bool_], fp: NDArray[np.bool_], backend: _Backend) -> NDArray[np.bool_]:
    if backend == "edt":
        return _edt_erode(m, _euclidean_radius(fp))
    if backend == "scipy":
        return ndi.binary_erosion(m, structure=fp, border_value=1)
    if m.ndim == 2:
        return cv2.erode(_u8(m), fp.view(np.uint8)).view(bool)
    return _cv_stack(m, fp, "erode")


def _dilate(m: NDArray[np.bool_], fp: NDArray[np.bool_], backend: _Backend) -> NDArray[np.bool_]:
    if backend == "edt":
        return _edt_dilate(m, _euclidean_radius(fp))
    if backend == "scipy":
        return ndi.binary_dilation(m, structure=fp, border_value=0)
    if m.ndim == 2:
        return cv2.dilate(_u8(m), fp.view(np.uint8)).view(bool)
    return _cv_stack(m, fp, "dilate")


def _count(m: NDArray[np.bool_], fp: NDArray[np.bool_], backend: _Backend) -> NDArray[np.int32]:
    """Count True pixels under the footprint (pixels outside the image count as 0)."""
    if backend == "scipy":
        return ndi.correlate(m.astype(np.int32), fp.astype(np.int32), mode="constant", cval=0)
    if m.ndim == 2:
        c = cv2.filter2D(_u8(m), cv2.CV_32F, fp.astype(np.float32), borderType=cv2.BORDER_CONSTANT)
        # Large kernels go through the DFT: round the tiny float error away.
        return np.rint(c).astype(np.int32)
    return _cv_stack(m, fp, "count")


def _components(m: NDArray[np.bool_], backend: _Backend) -> tuple[NDArray, NDArray[np.int64]]:
    """Face-connected components: (label image, size per label; label 0 = False)."""
    if backend == "opencv" and m.ndim == 2 and m.size:
        _, lab, stats, _ = cv2.connectedComponentsWithStats(
            _u8(m), connectivity=4, ltype=cv2.CV_32S
        )
        sizes = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
        sizes[0] = 0
        return lab, sizes
    lab, _ = ndi.label(m, structure=ndi.generate_binary_structure(m.ndim, 1))
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    return lab, sizes


def _fill(m: NDArray[np.bool_], max_size: int | None, backend: _Backend) -> NDArray[np.bool_]:
    """Fill enclosed background components (smaller than ``max_size`` if given)."""
    lab, sizes = _components(~m, backend)
    fill = np.ones(sizes.shape, dtype=bool)
    fill[0] = False
    for axis in range(m.ndim):  # background touching the border is no hole
        fill[np.take(lab, 0, axis=axis)] = False
        fill[np.take(lab, -1, axis=axis)] = False
    if max_size is not None:
        fill &= sizes < max_size
    return m | fill[lab]


def _binary_op(
    m: NDArray[np.bool_],
    op: str,
    fp: NDArray[np.bool_],
    min_size: int,
    max_size: int,
    backend: _Backend,
) -> NDArray[np.bool_]:
    """Apply ``op`` to a bool mask; returns a new bool array."""
    backend = _pick(m, fp, backend, edt_ok=op in _EDT_OPS)
    if op == "erode":
        return _erode(m, fp, backend)
    if op == "dilate":
        return _dilate(m, fp, backend)
    if op in ("open", "close"):
        if backend == "opencv" and m.ndim == 2:
            flag = cv2.MORPH_OPEN if op == "open" else cv2.MORPH_CLOSE
            return cv2.morphologyEx(_u8(m), flag, fp.view(np.uint8)).view(bool)
        if op == "open":
            return _dilate(_erode(m, fp, backend), fp, backend)
        return _erode(_dilate(m, fp, backend), fp, backend)
    if op == "fill_holes":
        return _fill(m, None, backend)
    if op == "remove_small_holes":
        return _fill(m, max_size, backend)
    if op == "remove_small_objects":
        lab, sizes = _components(m, backend)
        return (sizes >= min_size)[lab] & m
    # smooth: majority of the in-image footprint pixels; a tie keeps the pixel.
    fg = _count(m, fp, backend)
    total = _count(np.ones(m.shape, dtype=bool), fp, backend)
    twice = 2 * fg
    return np.where(twice == total, m, twice > total)


_EDT_OPS = frozenset({"erode", "dilate", "open", "close"})
