"""Removal of small islands: components below a size take their neighbours' label.

:func:`remove_islands` rests on the same exact feature transform as
:mod:`.holes` (an island's pixels take the value of the nearest kept pixel);
it is re-exported from :mod:`.holes`, where it used to live.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._holes_checks import (
    ProgressCallback,
    _check_channel_axis,
    _check_connectivity,
    _check_spacing,
    _report,
)
from ._holes_kernels import _equal_value_components
from ._holes_transform import _nearest_sources

__all__ = ["remove_islands"]


def _backward_offsets(ndim: int, connectivity: int) -> NDArray[np.int64]:
    """Neighbour offsets (as 3-D) that precede a pixel in raster order."""
    offs = []
    for off in np.ndindex(*(3,) * ndim):
        d = tuple(o - 1 for o in off)
        if d == (0,) * ndim or sum(abs(x) for x in d) > connectivity:
            continue
        if d < (0,) * ndim:  # lexicographically before: already visited
            offs.append((0,) * (3 - ndim) + d)
    return np.array(offs, dtype=np.int64).reshape(-1, 3)


def _components(codes: NDArray[np.int64], connectivity: int) -> tuple[NDArray, NDArray]:
    """Label the connected components of equal-valued pixels (1-D to 3-D)."""
    shape3 = (1,) * (3 - codes.ndim) + codes.shape
    comp, sizes = _equal_value_components(
        np.ascontiguousarray(codes).reshape(shape3),
        _backward_offsets(codes.ndim, connectivity),
    )
    return comp.reshape(codes.shape), sizes


def _codes(arr: NDArray, axis: int | None) -> NDArray[np.int64]:
    """One int64 per pixel that is equal exactly when the pixel values are equal."""
    if axis is None:
        if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
            return arr.astype(np.int64)  # injective, also for uint64 (wraps)
        raise TypeError(
            f"labels must be an integer or boolean label image, got dtype {arr.dtype}; "
            "convert it first, e.g. labels.astype(np.int32)"
        )
    moved = np.moveaxis(arr, axis, -1)
    if moved.dtype == np.uint8:
        code = np.zeros(moved.shape[:-1], np.int64)
        for c in range(moved.shape[-1]):
            code = (code << 8) | moved[..., c]
        return code
    flat = moved.reshape(-1, moved.shape[-1])
    _, inverse = np.unique(flat, axis=0, return_inverse=True)
    return inverse.reshape(moved.shape[:-1]).astype(np.int64)


def remove_islands(
    labels: ArrayLike,
    *,
    min_size: int,
    connectivity: int = 1,
    spacing: Sequence[float] | float | None = None,
    channel_axis: int | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Remove connected components smaller than ``min_size`` and refill them.

    Every connected region of equal label (including the background, 0) with
    fewer than ``min_size`` pixels is removed, and each of its pixels takes
    the label of a nearest pixel of the remaining regions (exact Euclidean
    nearest, as in :func:`fill_nearest`). So a background speck inside an
    object takes the object's label, a small object in the background becomes
    background, and a sliver between two objects is split between them.
    Removed pixels are never blanked to 0 (unlike
    ``skimage.morphology.remove_small_objects``): a pixel becomes background
    only if its nearest remaining pixel is background.

    Guarantee: no connected component smaller than ``min_size`` remains. A
    refill can create one (the pixels nearest to some kept region may be cut
    off from it, e.g. a thin wedge between two other regions); then the
    refill is repeated for the remaining small regions with the grown large
    regions as sources, and if a round makes no progress (possible only with
    anisotropic spacing) small regions take the label of a face-neighbouring
    large region instead. Kept regions never shrink and each round strictly
    shrinks the set of small-region pixels, so this terminates (usually after
    one or two rounds). Only pixels of removed regions change.

    Parameters
    ----------
    labels : array_like
        Integer or boolean label image (1-D to 3-D), or a colour mask with
        ``channel_axis`` (colours are compared as a whole).
    min_size : int
        Smallest allowed component size, in pixels (components with
        ``size < min_size`` are removed).
    connectivity : int, optional
        1 = face neighbours (default) up to ``ndim`` = all neighbours.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis, for the nearest rule.
    channel_axis : int, optional
        Axis of the colour channels of an RGB(A) mask, or None.
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of small-region
        pixels resolved so far.

    Returns
    -------
    ndarray
        A new array with the dtype and shape of ``labels``.

    Raises
    ------
    ValueError
        If every component is smaller than ``min_size`` (nothing to fill
        from), or for invalid options.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import remove_islands
    >>> labels = np.array([[1, 1, 1, 0, 0],
    ...                    [1, 0, 1, 0, 3],
    ...                    [1, 1, 1, 0, 0]])
    >>> remove_islands(labels, min_size=2).tolist()
    [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]
    """
    arr = np.asarray(labels)
    axis = _check_channel_axis(arr.shape, channel_axis)
    if isinstance(min_size, bool) or not isinstance(min_size, numbers.Integral):
        raise TypeError(f"min_size must be an integer number of pixels, got {min_size!r}")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1 pixel, got {min_size}")
    codes = _codes(arr, axis)
    ndim = codes.ndim
    if not 1 <= ndim <= 3:
        raise ValueError(
            f"labels must have 1 to 3 spatial dimensions, got shape {arr.shape}; "
            "for a colour mask pass channel_axis"
        )
    connectivity = _check_connectivity(connectivity, ndim)
    weights = tuple(s * s for s in _check_spacing(spacing, ndim))

    comp, sizes = _components(codes, connectivity)
    small = (sizes < min_size)[comp]
    n_small = int(small.sum())
    out = np.array(arr if axis is None else np.moveaxis(arr, axis, -1), order="C", copy=True)
    finish = (lambda r: r) if axis is None else (lambda r: np.moveaxis(r, -1, axis))
    if n_small == 0:
        return finish(out)
    if n_small == codes.size:
        raise ValueError(
            f"nothing to fill from: every connected component is smaller than "
            f"min_size={min_size} (largest has {int(sizes.max())} pixels); use a smaller "
            "min_size; nothing was changed"
        )
    # index map: out pixel p gets the value of input pixel source[p]
    source = np.arange(codes.size, dtype=np.intp)
    cur = codes.reshape(-1).copy()
    total = n_small
    _report(progress, 0, total)
    prev = n_small + 1
    while n_small:
        if n_small < prev:
            tgt, src, _ = _nearest_sources(~small, small, weights, grow=(1,) * ndim)
        else:  # no progress: take the label of a face neighbour that is kept
            tgt, src = _neighbour_sources(small)
        source[tgt] = source[src]
        cur[tgt] = cur[src]
        prev = n_small
        comp, sizes = _components(cur.reshape(codes.shape), connectivity)
        small = (sizes < min_size)[comp]
        n_small = int(small.sum())
        _report(progress, total - n_small, total)
    if axis is None:
        res = out.reshape(-1)[source].reshape(out.shape)
    else:
        flat = out.reshape(-1, out.shape[-1])
        res = flat[source].reshape(out.shape)
    return finish(res)


def _neighbour_sources(small: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Small pixels with a kept face neighbour, and that neighbour (flat indices)."""
    shape = small.shape
    flat_idx = np.arange(small.size, dtype=np.intp).reshape(shape)
    src = np.full(small.size, -1, dtype=np.intp)
    for ax in range(small.ndim):
        for shift in (1, -1):
            a = [slice(None)] * small.ndim
            b = [slice(None)] * small.ndim
            if shift == 1:
                a[ax], b[ax] = slice(1, None), slice(None, -1)
            else:
                a[ax], b[ax] = slice(None, -1), slice(1, None)
            here, there = tuple(a), tuple(b)
            ok = small[here] & ~small[there]
            dst = flat_idx[here][ok]
            fresh = src[dst] < 0
            src[dst[fresh]] = flat_idx[there][ok][fresh]
    tgt = np.flatnonzero(src >= 0)
    return tgt, src[tgt]
