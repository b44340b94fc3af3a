"""The exact Euclidean feature transform of :mod:`.holes`, on threads and cropped.

:func:`nearest_valid_indices` is its public face (re-exported from :mod:`.holes`).

For each pixel, the flat index of a nearest *source* pixel and the squared
distance to it; the work is restricted to the bounding box of the pixels to
fill plus what can reach them, and each pass is split into chunks of lines run
on several threads (:mod:`._parallel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._holes_checks import _check_spacing
from ._holes_kernels import _envelope_axis, _scan_first_axis
from ._parallel import run_chunked


def _feature_transform(
    sources: NDArray[np.bool_],
    weights: tuple[float, ...],
    step: Callable[[], None] | None = None,
) -> tuple[NDArray[np.integer], NDArray[np.float64]]:
    """Exact Euclidean feature transform of ``sources`` (C-contiguous bool).

    Returns flat indices (into ``sources``) of a nearest source, -1 where there
    is none, and the squared distances (``inf`` where there is none), both
    defined at non-source pixels only (entries at sources are uninitialised).
    ``weights`` are the squared spacings.
    """
    shape = sources.shape
    size = sources.size
    idx_dtype = np.int32 if size < 2**31 - 1 else np.int64
    dist = np.empty(shape, np.float64)
    feat = np.empty(shape, idx_dtype)
    n0 = shape[0]
    rest = size // n0 if n0 else 0
    src = sources.view(np.uint8)
    run_chunked(
        _scan_first_axis,
        rest,
        src.reshape(n0, rest),
        weights[0],
        dist.reshape(n0, rest),
        feat.reshape(n0, rest),
        work=size,
    )
    if step is not None:
        step()
    for axis in range(1, len(shape)):
        outer = int(np.prod(shape[:axis]))
        inner = int(np.prod(shape[axis + 1 :]))
        run_chunked(
            _envelope_axis,
            outer,
            src.reshape(outer, shape[axis], inner),
            dist.reshape(outer, shape[axis], inner),
            feat.reshape(outer, shape[axis], inner),
            weights[axis],
            work=size,
        )
        if step is not None:
            step()
    return feat, dist


def _bbox(mask: NDArray[np.bool_]) -> tuple[tuple[int, int], ...] | None:
    """Per-axis (start, stop) of the True pixels, or None if there are none."""
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other)) if other else np.flatnonzero(mask)
        if hit.size == 0:
            return None
        box.append((int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)


def _crop_transform(
    sources: NDArray[np.bool_],
    box_of: NDArray[np.bool_],
    weights: tuple[float, ...],
    *,
    grow: tuple[int, ...] | None,
    step: Callable[[], None] | None = None,
) -> tuple[tuple[int, ...], tuple[slice, ...], NDArray[np.integer], NDArray[np.float64]]:
    """Feature transform restricted to a crop around ``box_of``.

    The crop is the bounding box of ``box_of`` grown by ``grow`` pixels per
    axis, or the whole image when ``grow`` is None. Growing the box of the
    targets by 1 is exact when every pixel outside the box is a source: for
    any source outside the grown box, the pixel of the 1-pixel shell on its
    straight projection is a source at least as near. Returns the crop
    offset, the crop slices and the transform of the crop (indices flat in
    the crop).
    """
    shape = sources.shape
    box = _bbox(box_of)
    assert box is not None
    if grow is None:
        lo = (0,) * len(shape)
        hi = shape
    else:
        lo = tuple(max(0, b[0] - g) for b, g in zip(box, grow, strict=True))
        hi = tuple(min(n, b[1] + g) for b, n, g in zip(box, shape, grow, strict=True))
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    feat, dist = _feature_transform(np.ascontiguousarray(sources[crop]), weights, step)
    return lo, crop, feat, dist


def _nearest_sources(
    sources: NDArray[np.bool_],
    targets: NDArray[np.bool_],
    weights: tuple[float, ...],
    *,
    grow: tuple[int, ...] | None,
    box_of: NDArray[np.bool_] | None = None,
    step: Callable[[], None] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Nearest source of every target pixel (targets must not be sources).

    Returns (flat target indices, flat source indices, squared distances),
    over the targets inside the crop (see :func:`_crop_transform`; the crop is
    around ``box_of``, default the targets). A source index of -1 marks a
    target with no source inside the crop.
    """
    shape = sources.shape
    lo, crop, feat, dist = _crop_transform(
        sources, targets if box_of is None else box_of, weights, grow=grow, step=step
    )
    crop_shape = feat.shape
    tgt_local = np.flatnonzero(targets[crop])
    src_local = feat.reshape(-1)[tgt_local].astype(np.intp)
    sqd = dist.reshape(-1)[tgt_local]
    if crop_shape == shape:
        return tgt_local, src_local, sqd
    tgt = np.ravel_multi_index(
        tuple(c + o for c, o in zip(np.unravel_index(tgt_local, crop_shape), lo, strict=True)),
        shape,
    )
    found = src_local >= 0
    src = np.full_like(src_local, -1)
    src[found] = np.ravel_multi_index(
        tuple(
            c + o for c, o in zip(np.unravel_index(src_local[found], crop_shape), lo, strict=True)
        ),
        shape,
    )
    return tgt, src, sqd


def nearest_valid_indices(
    invalid: ArrayLike,
    *,
    spacing: Sequence[float] | float | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Exact Euclidean feature transform: the nearest valid pixel of every pixel.

    Parameters
    ----------
    invalid : array_like of bool
        True where a pixel is invalid (needs a source), False where it is valid.
        Any number of dimensions.
    spacing : float or sequence of float, optional
        Pixel size along each axis (default 1). Distances are measured in these
        units.

    Returns
    -------
    indices : ndarray of intp, shape ``(invalid.ndim,) + invalid.shape``
        Coordinates of a nearest valid pixel, in the layout of
        ``scipy.ndimage.distance_transform_edt(..., return_indices=True)``:
        ``values[tuple(indices)]`` gathers the nearest valid value. Valid
        pixels point to themselves.
    sq_distances : ndarray of float64, shape ``invalid.shape``
        Squared Euclidean distance to that pixel (0 at valid pixels).

    Raises
    ------
    ValueError
        If there is no valid pixel at all.

    Notes
    -----
    The distance is exactly the minimum over all valid pixels. Among equally
    near valid pixels, one is chosen deterministically; it may differ from the
    one SciPy chooses.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import nearest_valid_indices
    >>> invalid = np.array([[False, True, True, True]])
    >>> idx, d2 = nearest_valid_indices(invalid)
    >>> idx[1].tolist(), d2.tolist()
    ([[0, 0, 0, 0]], [[0.0, 1.0, 4.0, 9.0]])
    """
    inv = np.asarray(invalid)
    if inv.dtype != np.bool_:
        raise TypeError(
            f"invalid must be a boolean array (True = invalid), got dtype {inv.dtype}; "
            "build one with invalid_mask(...) or a comparison such as labels == 0"
        )
    if inv.ndim == 0:
        raise ValueError("invalid must have at least one dimension, got a 0-d array")
    weights = tuple(s * s for s in _check_spacing(spacing, inv.ndim))
    if inv.size == 0:
        return np.zeros((inv.ndim,) + inv.shape, np.intp), np.zeros(inv.shape, np.float64)
    if inv.all():
        raise ValueError(
            "nothing to fill from: every pixel is invalid, so no pixel has a valid "
            "neighbour; nothing was changed"
        )
    flat_self = np.arange(inv.size, dtype=np.intp)
    sq = np.zeros(inv.size, np.float64)
    if inv.any():
        tgt, src, sqd = _nearest_sources(~inv, inv, weights, grow=(1,) * inv.ndim)
        flat_self[tgt] = src
        sq[tgt] = sqd
    indices = np.stack(np.unravel_index(flat_self, inv.shape)).reshape((inv.ndim,) + inv.shape)
    return indices.astype(np.intp, copy=False), sq.reshape(inv.shape)
