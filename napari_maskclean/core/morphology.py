"""Binary and per-label morphology, small objects and holes.

One public entry point, :func:`morphology`, applies one operation from
:data:`OPERATIONS` to a boolean mask or an integer label image, in 2D or 3D.

Conventions shared by every operation and every kernel
------------------------------------------------------
* **Border rule.** Pixels outside the image never influence the result:
  an erosion takes the minimum and a dilation the maximum over the
  footprint pixels that lie *inside* the image (OpenCV's default border,
  scikit-image's ``mode="ignore"``). Objects touching the border are not
  eroded from it and a closing does not strip their border pixels (as
  :func:`scipy.ndimage.binary_closing` does). Opening and closing are an
  erosion followed by a dilation and vice versa, each with this rule.
  Consequently a closing of radius r fills background gaps of at most r
  pixels between an object and the image border.
* **Connectivity.** Objects and holes are connected through faces
  (connectivity 1: 4-neighbours in 2D, 6-neighbours in 3D), the default of
  :func:`skimage.morphology.remove_small_objects`,
  :func:`skimage.morphology.remove_small_holes` and
  :func:`scipy.ndimage.binary_fill_holes`.
* **Kernels.** OpenCV runs the 2D operations; 3D operations run as exact
  sums of 2D OpenCV operations over the footprint's z-sections (about 10x
  faster than :mod:`scipy.ndimage` on 256^3), except small 3D crops with
  small footprints, where :mod:`scipy.ndimage` is faster. A SciPy
  implementation of every primitive is kept as a reference and the tests
  assert that both give identical results, interior and border.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Literal, get_args

import cv2
import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray
from skimage import morphology as skmorph

from .slicing import each_plane

__all__ = [
    "FOOTPRINTS",
    "OPERATIONS",
    "Footprint",
    "FootprintName",
    "Operation",
    "make_footprint",
    "morphology",
]

Operation = Literal[
    "erode",
    "dilate",
    "open",
    "close",
    "fill_holes",
    "remove_small_objects",
    "remove_small_holes",
    "smooth",
]
FootprintName = Literal["disk", "square", "diamond", "ball", "cube", "octahedron"]
#: A footprint name or an explicit footprint (nested lists of 0/1 are JSON-able).
Footprint = FootprintName | Sequence | NDArray

#: Valid ``operation`` names, in the order a GUI should list them.
OPERATIONS: tuple[str, ...] = get_args(Operation)
#: Valid ``footprint`` names; 2D names work on 3D data and vice versa.
FOOTPRINTS: tuple[str, ...] = get_args(FootprintName)

_TO_3D = {"disk": "ball", "square": "cube", "diamond": "octahedron"}
_TO_2D = {v: k for k, v in _TO_3D.items()}

_EDT_OPS = frozenset({"erode", "dilate", "open", "close"})
_USES_FOOTPRINT = frozenset({"erode", "dilate", "open", "close", "smooth"})
_ADDS = frozenset({"dilate", "close", "fill_holes", "remove_small_holes", "smooth"})
_REMOVES = frozenset({"erode", "open", "remove_small_objects", "smooth"})

# Above this maximum label, bounding boxes are found on a compacted copy.
_MAX_DIRECT_LABEL = 1 << 20

_Backend = Literal["auto", "opencv", "scipy", "edt"]
# 3D crops below this size with a footprint of width <= 5 run faster in SciPy
# than as per-slice OpenCV calls (Python overhead per slice); same results.
_SMALL_3D = 20_000
Progress = Callable[[int, int], None] | None
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


# --------------------------------------------------------------------------
# footprints
# --------------------------------------------------------------------------


def _check_radius(radius: object) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise ValueError(
            f"radius must be an integer >= 1, got {radius!r} "
            f"({type(radius).__name__}); pass a whole number such as radius=2"
        )
    if radius < 1:
        raise ValueError(
            f"radius must be an integer >= 1, got {radius}; use radius=1 for the smallest footprint"
        )
    return int(radius)


@lru_cache(maxsize=64)
def _named_footprint(name: str, radius: int, ndim: int) -> NDArray[np.bool_]:
    if ndim == 3:
        name = _TO_3D.get(name, name)
    else:
        name = _TO_2D.get(name, name)
    if name == "disk":
        fp = skmorph.disk(radius)
    elif name == "diamond":
        fp = skmorph.diamond(radius)
    elif name == "ball":
        fp = skmorph.ball(radius)
    elif name == "octahedron":
        fp = skmorph.octahedron(radius)
    else:  # square / cube
        fp = skmorph.footprint_rectangle((2 * radius + 1,) * ndim)
    fp = np.ascontiguousarray(fp, dtype=bool)
    fp.setflags(write=False)
    return fp


def make_footprint(name: FootprintName, radius: int, ndim: int = 2) -> NDArray[np.bool_]:
    """Build a named footprint with scikit-image.

    Parameters
    ----------
    name : {"disk", "square", "diamond", "ball", "cube", "octahedron"}
        Footprint shape. Names are mapped to the requested dimensionality:
        ``disk <-> ball``, ``square <-> cube``, ``diamond <-> octahedron``.
    radius : int
        Radius in pixels (>= 1); the footprint has ``2 * radius + 1`` pixels
        along each axis.
    ndim : {2, 3}, optional
        Dimensionality of the footprint.

    Returns
    -------
    footprint : ndarray of bool
        A new array of shape ``(2 * radius + 1,) * ndim``.

    Raises
    ------
    ValueError
        For an unknown name, a radius that is not an integer >= 1, or an
        ``ndim`` other than 2 or 3.

    Examples
    --------
    >>> make_footprint("disk", 1).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    >>> make_footprint("disk", 2, ndim=3).shape  # a ball
    (5, 5, 5)
    """
    if not isinstance(name, str) or name not in FOOTPRINTS:
        raise ValueError(f"unknown footprint {name!r}; use one of {', '.join(FOOTPRINTS)}")
    radius = _check_radius(radius)
    if isinstance(ndim, bool) or ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    return _named_footprint(name, radius, int(ndim)).copy()


def _resolve_footprint(footprint: object, radius: int, ndim: int) -> NDArray[np.bool_]:
    """Return a validated, read-only bool footprint of dimensionality ``ndim``."""
    if isinstance(footprint, str):
        if footprint not in FOOTPRINTS:
            raise ValueError(
                f"unknown footprint {footprint!r}; use one of "
                f"{', '.join(FOOTPRINTS)} or an array of 0/1"
            )
        return _named_footprint(footprint, radius, ndim)
    try:
        arr = np.asarray(footprint)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "footprint must be a name from FOOTPRINTS or an array (nested list) "
            f"of 0/1, got {type(footprint).__name__}"
        ) from exc
    if arr.dtype == object or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise TypeError(
            "footprint must be a name from FOOTPRINTS or an array (nested list) "
            f"of 0/1, got an array of dtype {arr.dtype}"
        )
    if arr.ndim != ndim:
        raise ValueError(
            f"a {arr.ndim}D footprint cannot be used on {ndim}D data; give a {ndim}D "
            f"footprint, or a name such as 'disk' that adapts to the data"
        )
    if any(s % 2 == 0 for s in arr.shape):
        raise ValueError(
            f"footprint must have an odd size along every axis, got shape {arr.shape}; "
            "pad it with zeros to make it centred"
        )
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("footprint values must be 0 or 1 (or bool)")
    fp = np.ascontiguousarray(arr, dtype=bool)
    if not fp[tuple(s // 2 for s in fp.shape)]:
        raise ValueError("footprint centre must be 1")
    if not np.array_equal(fp, fp[(slice(None, None, -1),) * ndim]):
        raise ValueError(
            "footprint must be point-symmetric (equal to itself rotated by 180 "
            "degrees) so that erosion and dilation are well defined; "
            "use footprint | footprint[::-1, ::-1]"
        )
    fp.setflags(write=False)
    return fp


# --------------------------------------------------------------------------
# primitives: erosion, dilation, counting, connected components
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# label images
# --------------------------------------------------------------------------


def _crop_pad(op: str, fp: NDArray[np.bool_]) -> tuple[int, ...]:
    """Margin around a label's bounding box that makes a crop exact."""
    half = tuple(s // 2 for s in fp.shape)
    if op in ("close", "smooth"):
        return tuple(2 * h for h in half)
    if op in ("erode", "dilate", "open"):
        return half
    if op in ("fill_holes", "remove_small_holes"):
        return (1,) * fp.ndim
    return (0,) * fp.ndim


def _padded(
    sl: tuple[slice, ...], pad: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    return tuple(
        slice(max(s.start - p, 0), min(s.stop + p, n))
        for s, p, n in zip(sl, pad, shape, strict=True)
    )


def _bbox(m: NDArray[np.bool_]) -> tuple[slice, ...] | None:
    if not m.any():
        return None
    out = []
    for axis in range(m.ndim):
        other = tuple(a for a in range(m.ndim) if a != axis)
        idx = np.flatnonzero(m.any(axis=other))
        out.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(out)


def _max_label(labels: NDArray[np.integer]) -> int:
    """Largest label, in one pass; raises for negative labels."""
    if labels.size == 0:
        return 0
    if np.issubdtype(labels.dtype, np.signedinteger):
        # Negative values become huge in the unsigned view: max and sign check at once.
        top = int(labels.view(labels.dtype.str.replace("i", "u")).max())
        if top > np.iinfo(labels.dtype).max:
            raise ValueError(
                "label images must not contain negative labels, found "
                f"{int(labels.min())}; relabel with "
                "skimage.segmentation.relabel_sequential or np.where(mask < 0, 0, mask)"
            )
        return top
    return int(labels.max())


def _label_boxes(
    labels: NDArray[np.integer], top: int | None = None
) -> list[tuple[int, tuple[slice, ...]]]:
    """(label, bounding box) for every label present, in ascending order."""
    if labels.size == 0:
        return []
    if top is None:
        top = _max_label(labels)
    if top == 0:
        return []
    if top <= _MAX_DIRECT_LABEL:
        objs = ndi.find_objects(labels)
        return [(i + 1, sl) for i, sl in enumerate(objs) if sl is not None]
    values, inverse = np.unique(labels, return_inverse=True)
    offset = 0 if values[0] == 0 else 1
    compact = (inverse.reshape(labels.shape) + offset).astype(np.int64)
    objs = ndi.find_objects(compact)
    return [
        (int(values[i + 1 - offset]), sl)
        for i, sl in enumerate(objs)
        if sl is not None and values[i + 1 - offset] != 0
    ]


def _per_label(
    labels: NDArray[np.integer],
    op: str,
    fp: NDArray[np.bool_],
    min_size: int,
    max_size: int,
    backend: _Backend,
    boxes: list[tuple[int, tuple[slice, ...]]],
    progress: Progress,
) -> NDArray[np.integer]:
    """Binary ``op`` on each label in its padded box; lowest label id wins."""
    out = labels.copy()
    pad = _crop_pad(op, fp)
    adds, removes = op in _ADDS, op in _REMOVES
    total = len(boxes)
    # Descending order: a lower id processed later overwrites a higher id's
    # claim on an originally-background pixel, so the lowest id wins,
    # independently of the processing order of anything else.
    for done, (k, sl) in enumerate(reversed(boxes), start=1):
        csl = _padded(sl, pad, labels.shape)
        crop = labels[csl]
        m = crop == k
        res = _binary_op(m, op, fp, min_size, max_size, backend)
        target = out[csl]
        if adds:
            target[res & (crop == 0)] = k
        if removes:
            target[m & ~res] = 0
        if progress is not None:
            progress(done, total)
    return out


def _nearest_labels(labels: NDArray[np.integer], new: NDArray[np.bool_]) -> NDArray[np.integer]:
    """Label of the nearest labelled pixel for each True pixel of ``new``."""
    box = _bbox((labels != 0) | new)
    crop = labels[box]
    idx = ndi.distance_transform_edt(crop == 0, return_distances=False, return_indices=True)
    where = new[box]
    return crop[tuple(i[where] for i in idx)]


def _mode_filter(
    labels: NDArray[np.integer],
    fp: NDArray[np.bool_],
    backend: _Backend,
    boxes: list[tuple[int, tuple[slice, ...]]],
    progress: Progress,
) -> NDArray[np.integer]:
    """Most frequent value under the footprint; ties keep the pixel, else lowest value."""
    background = labels == 0
    best_cnt = _count(background, fp, _pick(labels, fp, backend))
    own_cnt = np.where(background, best_cnt, 0)
    best_val = np.zeros_like(labels)
    half = tuple(s // 2 for s in fp.shape)
    total = len(boxes)
    for done, (k, sl) in enumerate(boxes, start=1):  # ascending: ties -> lowest
        csl = _padded(sl, half, labels.shape)
        m = labels[csl] == k
        c = _count(m, fp, _pick(m, fp, backend))
        bc, bv = best_cnt[csl], best_val[csl]
        better = c > bc
        bc[better] = c[better]
        bv[better] = k
        own_cnt[csl][m] = c[m]
        if progress is not None:
            progress(done, total)
    return np.where(own_cnt == best_cnt, labels, best_val)


def _labels_union(
    labels: NDArray[np.integer],
    op: str,
    fp: NDArray[np.bool_],
    min_size: int,
    max_size: int,
    backend: _Backend,
    progress: Progress,
) -> NDArray[np.integer]:
    """Binary ``op`` on all labels as one foreground; new pixels get the nearest label."""
    if op == "smooth":
        return _mode_filter(labels, fp, backend, _label_boxes(labels), progress)
    fg = labels != 0
    res = _binary_op(fg, op, fp, min_size, max_size, backend)
    out = np.where(res, labels, 0).astype(labels.dtype, copy=False)
    new = res & ~fg
    if new.any():
        out[new] = _nearest_labels(labels, new)
    if progress is not None:
        progress(1, 1)
    return out


# --------------------------------------------------------------------------
# validation and the public function
# --------------------------------------------------------------------------


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0 (a number of pixels), got {value!r}")
    return int(value)


def _process(
    arr: NDArray,
    op: str,
    fp: NDArray[np.bool_],
    per_label: bool,
    label: int | None,
    min_size: int,
    max_size: int,
    backend: _Backend,
    progress: Progress,
    top: int | None = None,
) -> NDArray:
    """Run one operation on a 2D or 3D array whose ndim matches ``fp``."""
    if arr.dtype == bool:
        out = _binary_op(arr, op, fp, min_size, max_size, backend)
        if progress is not None:
            progress(1, 1)
        return out
    if label is not None:
        box = _bbox(arr == label)
        boxes = [] if box is None else [(label, box)]
        return _per_label(arr, op, fp, min_size, max_size, backend, boxes, progress)
    if per_label:
        boxes = _label_boxes(arr, top)
        return _per_label(arr, op, fp, min_size, max_size, backend, boxes, progress)
    return _labels_union(arr, op, fp, min_size, max_size, backend, progress)


def _refuse_large_footprint(
    fp_shape: tuple[int, ...], work_shape: tuple[int, ...], radius: int, named: bool
) -> None:
    """Refuse a footprint larger than the image in every dimension (it is pointless)."""
    if not all(f > s for f, s in zip(fp_shape, work_shape, strict=True)):
        return
    if not named:
        hint = "use a smaller footprint"
    elif max(work_shape) >= 3:
        hint = f"use radius <= {(max(work_shape) - 1) // 2}"
    else:
        hint = "the image is too small for any footprint (it needs 3 pixels along one axis)"
    raise ValueError(
        f"the footprint (shape {tuple(fp_shape)}, radius {radius}) is larger than the "
        f"image {tuple(work_shape)} in every dimension; {hint}"
    )


def _morphology(
    mask: NDArray,
    operation: str,
    *,
    radius: int = 1,
    footprint: Footprint = "disk",
    per_label: bool = True,
    label: int | None = None,
    min_size: int = 64,
    max_size: int = 64,
    per_slice: bool = False,
    progress: Progress = None,
    backend: _Backend = "auto",
) -> NDArray:
    """Implement :func:`morphology` with a selectable kernel (for tests)."""
    if backend not in ("auto", "opencv", "scipy", "edt"):
        raise ValueError(f"backend must be 'auto', 'opencv', 'scipy' or 'edt', got {backend!r}")
    arr = np.asarray(mask)
    if not isinstance(operation, str) or operation not in OPERATIONS:
        raise ValueError(f"unknown operation {operation!r}; use one of {', '.join(OPERATIONS)}")
    radius = _check_radius(radius)
    min_size = _check_size("min_size", min_size)
    max_size = _check_size("max_size", max_size)
    for name, flag in (("per_label", per_label), ("per_slice", per_slice)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if progress is not None and not callable(progress):
        raise TypeError("progress must be a callable progress(done, total) or None")

    if arr.ndim < 2 or (arr.ndim > 3 and not per_slice):
        raise ValueError(
            f"expected a 2D image or a 3D volume, got {arr.ndim}D data of shape "
            f"{arr.shape}; for a 1D signal use mask[np.newaxis], for a time "
            "series pass per_slice=True (each 2D slice) or process each frame separately"
        )
    top = None
    if arr.dtype == bool:
        if label is not None:
            raise ValueError(
                "label= selects one label of a label image; a boolean mask has "
                "none, so leave label=None (or pass mask.astype(np.uint8))"
            )
    elif np.issubdtype(arr.dtype, np.integer):
        top = _max_label(arr)
    elif np.issubdtype(arr.dtype, np.floating):
        raise ValueError(
            f"expected a boolean mask or an integer label image, got {arr.dtype}; "
            "convert with mask.astype(np.int32) for labels or mask > 0 for a "
            "binary mask"
        )
    else:
        raise TypeError(f"expected a boolean mask or an integer label image, got dtype {arr.dtype}")
    if label is not None:
        if isinstance(label, bool) or not isinstance(label, int | np.integer) or label < 1:
            raise ValueError(
                f"label must be a positive label id (an integer >= 1) or None, got {label!r}"
            )
        label = int(label)
        if not (arr == label).any():
            raise ValueError(
                f"label {label} is not present in the label image; pick an existing "
                "label (np.unique(mask)) or use label=None for all labels"
            )

    slices = bool(per_slice) and arr.ndim >= 3
    work_ndim = 2 if slices else arr.ndim
    work_shape = arr.shape[-work_ndim:]
    if isinstance(footprint, str) and operation in _USES_FOOTPRINT:
        # Check a named footprint's size before building it: radius=10**6
        # would otherwise allocate a (2r+1)^ndim array first.
        _refuse_large_footprint((2 * radius + 1,) * work_ndim, work_shape, radius, True)
    fp = _resolve_footprint(footprint, radius, work_ndim)
    if operation in _USES_FOOTPRINT:
        _refuse_large_footprint(fp.shape, work_shape, radius, isinstance(footprint, str))
    if arr.size == 0:
        return arr.copy()

    if not slices:
        return _process(
            arr, operation, fp, bool(per_label), label, min_size, max_size, backend, progress, top
        )
    out = np.empty_like(arr)
    for z in each_plane(arr.shape, progress=progress):  # every 2D slice, of 3D or 4D+ data
        plane = arr[z]
        if label is not None and not (plane == label).any():
            out[z] = plane
        else:
            out[z] = _process(
                plane, operation, fp, bool(per_label), label, min_size, max_size, backend, None
            )
    return out


def morphology(
    mask: NDArray[np.bool_] | NDArray[np.integer],
    operation: Operation,
    *,
    radius: int = 1,
    footprint: Footprint = "disk",
    per_label: bool = True,
    label: int | None = None,
    min_size: int = 64,
    max_size: int = 64,
    per_slice: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.bool_] | NDArray[np.integer]:
    """Apply one morphological clean-up operation to a mask or label image.

    Parameters
    ----------
    mask : (M, N) or (P, M, N) ndarray of bool or integers
        A boolean mask, or a label image (integers >= 0, 0 = background).
        Float images are rejected: convert them with ``.astype``.
    operation : str
        One of :data:`OPERATIONS`:

        ``"erode"``, ``"dilate"``, ``"open"``, ``"close"``
            Erosion, dilation, opening (erode then dilate) and closing
            (dilate then erode) by the footprint. Pixels outside the image
            never influence the result (see the module notes).
        ``"fill_holes"``
            Fill every hole: background components (face-connected) that do
            not touch the image border.
        ``"remove_small_objects"``
            Remove face-connected objects with **fewer than** ``min_size``
            pixels (``size < min_size``); objects of exactly ``min_size``
            pixels stay. Note that scikit-image 0.26's
            ``remove_small_objects(max_size=m)`` removes sizes ``<= m``, so it
            equals ``min_size=m + 1`` here.
        ``"remove_small_holes"``
            Fill holes with **fewer than** ``max_size`` pixels
            (``size < max_size``). Only holes enclosed by the object are
            filled; background touching the image border is never a hole
            (unlike scikit-image 0.26's ``remove_small_holes``, which also
            fills small border-touching background and fills sizes
            ``<= max_size``).
        ``"smooth"``
            Majority filter for masks: a pixel becomes foreground when more
            than half of the in-image footprint pixels are foreground,
            background when fewer than half are, and keeps its value on a
            tie. For label images with ``per_label=False`` it is a mode
            filter: a pixel takes the most frequent value (background
            included) under the footprint; it keeps its value when that is
            among the most frequent, otherwise the lowest tied value wins.
    radius : int, optional
        Footprint radius in pixels (integer >= 1). Used by erode, dilate,
        open, close and smooth; ignored by the other operations and when
        ``footprint`` is an array.
    footprint : str or array_like of 0/1, optional
        A name from :data:`FOOTPRINTS` (2D names are mapped to 3D ones for
        volumes and vice versa: disk <-> ball, square <-> cube,
        diamond <-> octahedron), or an explicit point-symmetric footprint
        with odd sizes and a set centre (nested lists keep recipes JSON-able).
    per_label : bool, optional
        Label images only. If True, every label is processed on its own, as
        the binary mask ``mask == k`` cropped to its bounding box plus the
        margin the operation needs (2r for closing and smoothing, r for
        erosion, dilation and opening, 1 for holes). A label only writes
        into background or its own pixels: it never grows into another
        label and labels never merge. When several labels claim the same
        background pixel the **lowest label id wins**. Pixels a label loses
        become background. Hole sizes count every enclosed pixel, including
        other labels inside the hole (those are never overwritten).
        If False, all labels form one foreground: the binary operation runs
        on ``mask != 0``; surviving pixels keep their label, removed pixels
        become 0 and new pixels take the label of the nearest original
        labelled pixel (Euclidean; ties broken by
        :func:`scipy.ndimage.distance_transform_edt`). ``"smooth"`` is the
        mode filter instead. Ignored for boolean masks.
    label : int, optional
        Process only label ``label`` (as with ``per_label=True``); all other
        labels are untouched. It must be present in ``mask``.
    min_size : int, optional
        Minimum object size kept by ``"remove_small_objects"``.
    max_size : int, optional
        Holes with fewer pixels are filled by ``"remove_small_holes"``.
    per_slice : bool, optional
        For 3D (or 4D and more) data, process every 2D slice (the last two
        axes) on its own with a 2D footprint. Ignored for 2D data.
    progress : callable, optional
        Called as ``progress(done, total)`` after each label (per-label
        mode), each slice (``per_slice=True``) or once at the end.

    Returns
    -------
    result : ndarray
        A new array with the shape and dtype of ``mask``.

    Raises
    ------
    ValueError
        For an unknown operation or footprint name, a radius that is not an
        integer >= 1 or makes the footprint larger than the image in every
        dimension, negative or float labels, a ``label`` that is absent,
        a footprint array of the wrong dimensionality, or 1D / 4D input.
    TypeError
        For unsupported dtypes or non-boolean flags.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((7, 9), dtype=bool)
    >>> m[2:5, 2:4] = m[2:5, 5:7] = True
    >>> morphology(m, "close", radius=1, footprint="square").astype(int)
    array([[0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 1, 1, 1, 1, 1, 0, 0],
           [0, 0, 1, 1, 1, 1, 1, 0, 0],
           [0, 0, 1, 1, 1, 1, 1, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0],
           [0, 0, 0, 0, 0, 0, 0, 0, 0]])

    Labels never merge and the lowest id wins a contested pixel:

    >>> lab = np.array([[1, 1, 0, 2, 0, 3, 3, 3]], dtype=np.uint8)
    >>> morphology(lab, "dilate", radius=1, footprint="square")
    array([[1, 1, 1, 2, 2, 3, 3, 3]], dtype=uint8)
    >>> morphology(lab, "remove_small_objects", min_size=2)
    array([[1, 1, 0, 0, 0, 3, 3, 3]], dtype=uint8)
    """
    return _morphology(
        mask,
        operation,
        radius=radius,
        footprint=footprint,
        per_label=per_label,
        label=label,
        min_size=min_size,
        max_size=max_size,
        per_slice=per_slice,
        progress=progress,
        backend="auto",
    )
