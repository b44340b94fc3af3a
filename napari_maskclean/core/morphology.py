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

Layout: footprints in :mod:`.footprints`, the binary primitives and their
kernels in :mod:`._morphology_kernels`, per-label processing in
:mod:`._morphology_labels`; the public names are re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray

from ._morphology_kernels import _EDT_MIN_RADIUS_2D as _EDT_MIN_RADIUS_2D
from ._morphology_kernels import _Backend, _binary_op
from ._morphology_kernels import _pick as _pick
from ._morphology_labels import (
    Progress,
    _bbox,
    _label_boxes,
    _labels_union,
    _max_label,
    _per_label,
)
from .footprints import (
    FOOTPRINTS,
    Footprint,
    FootprintName,
    _check_radius,
    _resolve_footprint,
    make_footprint,
)
from .footprints import _named_footprint as _named_footprint
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

#: Valid ``operation`` names, in the order a GUI should list them.
OPERATIONS: tuple[str, ...] = get_args(Operation)


_USES_FOOTPRINT = frozenset({"erode", "dilate", "open", "close", "smooth"})


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
