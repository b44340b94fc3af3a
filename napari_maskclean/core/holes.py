"""Nearest-label filling of invalid pixels and removal of small islands.

Every function here rests on one exact Euclidean feature transform: for each
pixel, the flat index of a nearest *source* pixel and the squared distance to
it (optionally with anisotropic ``spacing``). It is the separable lower-envelope
algorithm of Felzenszwalb & Huttenlocher (2012), carrying the index of the
feature through the passes, compiled with :func:`numba.njit`. It is exact:
the distance to the chosen source equals the minimum over all sources (the
arithmetic is exact for integer spacings; for other spacings up to float64
rounding). When several sources are equally near, any one of them is chosen
(deterministically, but not necessarily the one SciPy would pick).

Work is restricted to the bounding box of the pixels to fill plus what can
reach them, so cleaning a few specks in a large image is cheap. Each pass is
split into independent chunks of lines run on several threads
(:mod:`._parallel`); the result does not depend on the number of threads.

Layout: the transform lives in :mod:`._holes_transform` (with
:func:`nearest_valid_indices`), its numba kernels in :mod:`._holes_kernels`,
the input checks in :mod:`._holes_checks`, and :func:`remove_islands` in
:mod:`.islands`; all public names are re-exported here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._holes_checks import (
    ProgressCallback,
    _check_channel_axis,
    _check_connectivity,
    _check_spacing,
    _report,
    _validate_fill_options,
)
from ._holes_kernels import _gather_targets, _rows_equal
from ._holes_transform import _crop_transform, _nearest_sources, nearest_valid_indices
from ._parallel import run_chunked

# remove_islands and the test-facing _components and _neighbour_sources live in
# islands.py; re-exported here, where they used to be.
from .islands import _components as _components
from .islands import _neighbour_sources as _neighbour_sources
from .islands import remove_islands

__all__ = [
    "fill_nearest",
    "fill_nearest_from",
    "invalid_mask",
    "nearest_valid_indices",
    "remove_islands",
]


# ---------------------------------------------------------------------------
# invalid masks and filling
# ---------------------------------------------------------------------------


def invalid_mask(
    mask: ArrayLike,
    *,
    invalid: float | Sequence[float] = 0,
    channel_axis: int | None = None,
) -> NDArray[np.bool_]:
    """Boolean mask of the pixels equal to the ``invalid`` value (or colour).

    Parameters
    ----------
    mask : array_like
        Label image (any number of dimensions) or colour mask.
    invalid : number or sequence of numbers, optional
        For a label image, the label that marks invalid pixels (default 0).
        For a colour mask, the invalid colour, one value per channel (e.g.
        ``[0, 0, 0]``); a single number means that value in every channel.
    channel_axis : int, optional
        Axis of the colour channels (length 3 or 4), or None for a label image.

    Returns
    -------
    ndarray of bool
        True at invalid pixels; the shape of ``mask`` without the channel axis.
        In floating-point label images NaN is always invalid (in addition to
        the ``invalid`` value); in colour masks a pixel with a NaN channel is
        invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import invalid_mask
    >>> invalid_mask(np.array([[1, 0], [0, 2]])).tolist()
    [[False, True], [True, False]]
    >>> rgb = np.array([[[0, 0, 0], [255, 0, 0]]], dtype=np.uint8)
    >>> invalid_mask(rgb, invalid=[0, 0, 0], channel_axis=-1).tolist()
    [[True, False]]
    """
    arr = np.asarray(mask)
    axis = _check_channel_axis(arr.shape, channel_axis)
    is_float = np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(
            f"mask must be a numeric or boolean array, got dtype {arr.dtype}; convert it "
            "with np.asarray(mask, dtype=...)"
        )
    if axis is None:
        if isinstance(invalid, (str, bytes)) or np.ndim(invalid) != 0:
            raise ValueError(
                f"invalid must be a single label value for a label image, got {invalid!r}; "
                "for an RGB mask pass channel_axis=-1 (or the axis of the channels)"
            )
        out = arr == invalid
        if is_float:
            out |= np.isnan(arr)
        return np.asarray(out, dtype=bool)
    n_ch = arr.shape[axis]
    if isinstance(invalid, (str, bytes)):
        raise TypeError(
            f"invalid must be a number or a colour (sequence of numbers), got {invalid!r}"
        )
    colour = np.asarray(invalid)
    if colour.ndim == 0:
        colour = np.repeat(colour, n_ch)
    if colour.ndim != 1 or colour.shape[0] != n_ch:
        raise ValueError(
            f"invalid colour must have one value per channel ({n_ch}), got {invalid!r}; "
            f"pass e.g. {[0] * n_ch} or a single number for all channels"
        )
    moved = np.moveaxis(arr, axis, -1)
    if (
        moved.flags.c_contiguous
        and moved.dtype.kind in "biu"
        and (colour.dtype.kind in "biu" or (colour.dtype.kind == "f" and np.isfinite(colour).all()))
    ):
        with np.errstate(all="ignore"):
            cast = colour.astype(moved.dtype)
        if np.array_equal(cast, colour):
            # integers: equal values <=> equal bytes; one compiled pass
            words = _as_words(moved.reshape(-1, n_ch))
            target = _as_words(cast.reshape(1, n_ch))[0]
            return _rows_equal(words, target).reshape(moved.shape[:-1])
    out = np.ones(moved.shape[:-1], dtype=bool)
    for c in range(n_ch):
        out &= moved[..., c] == colour[c]
    if is_float:
        out |= np.isnan(moved).any(axis=-1)
    return out


def _hole_components(
    invalid: NDArray[np.bool_], connectivity: int, max_size: int, *, backend: str = "auto"
) -> NDArray[np.bool_]:
    """Invalid pixels whose connected component has at most ``max_size`` pixels."""
    if backend == "auto":
        backend = "opencv" if invalid.ndim == 2 and invalid.size < 2**31 else "scipy"
    if backend == "opencv":
        import cv2

        n, lab, stats, _ = cv2.connectedComponentsWithStats(
            np.ascontiguousarray(invalid).view(np.uint8),
            connectivity=4 if connectivity == 1 else 8,
            ltype=cv2.CV_32S,
        )
        area = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    else:
        from scipy import ndimage as ndi

        structure = ndi.generate_binary_structure(invalid.ndim, connectivity)
        lab, n = ndi.label(invalid, structure=structure)
        area = np.bincount(lab.ravel(), minlength=n + 1)
    keep = area <= max_size
    keep[0] = False  # OpenCV/SciPy label 0 = the non-invalid pixels
    return keep[lab]


def _as_words(flat: NDArray) -> NDArray:
    """View a C-contiguous (pixels, channels) array as unsigned words for copying."""
    size = flat.dtype.itemsize
    if size in (1, 2, 4, 8) and flat.dtype != np.bool_:
        return flat.view(f"u{size}")
    return flat.view(np.uint8)


def fill_nearest_from(
    values: ArrayLike,
    invalid: ArrayLike,
    *,
    channel_axis: int | None = None,
    max_distance: float | None = None,
    max_hole_size: int | None = None,
    connectivity: int = 1,
    dilate_invalid: float = 0,
    spacing: Sequence[float] | float | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Give every pixel flagged in ``invalid`` the value of a nearest valid pixel.

    Like :func:`fill_nearest`, but the pixels to replace are given as a
    boolean mask, e.g. off-palette pixels or pixels selected by hand.

    Parameters
    ----------
    values : array_like
        Label image (any number of dimensions) or colour mask.
    invalid : array_like of bool
        True at the pixels to replace; the shape of ``values`` without the
        channel axis.
    channel_axis : int, optional
        Axis of the colour channels of ``values`` (length 3 or 4), or None.
    max_distance : float, optional
        Leave pixels whose nearest valid pixel is farther than this (in units
        of ``spacing``) unchanged.
    max_hole_size : int, optional
        Only fill connected invalid regions of at most this many pixels
        (holes); larger invalid regions are left unchanged and are not used
        as sources either. The rule is size only: a small region touching the
        image border is filled like any other (so a result does not depend
        on where an image is cropped).
    connectivity : int, optional
        Neighbourhood defining connected invalid regions for
        ``max_hole_size``: 1 = face neighbours (default) up to ``ndim`` = all.
    dilate_invalid : float, optional
        Grow the pixels to fill by this distance (units of ``spacing``) before
        filling, so that ragged edges around them are re-drawn from farther
        inside: every pixel within Euclidean distance ``dilate_invalid`` of a
        pixel to fill is discarded and filled too. Default 0. Only with this
        option do valid pixels change.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis (default 1).
    progress : callable, optional
        Called as ``progress(done, total)`` as the work advances.

    Returns
    -------
    ndarray
        A new array of the dtype and shape of ``values``.

    Raises
    ------
    ValueError
        If there is no valid pixel to fill from ("nothing to fill from"):
        the input is left unchanged and nothing is returned.

    See Also
    --------
    fill_nearest, invalid_mask, nearest_valid_indices

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import fill_nearest_from
    >>> labels = np.array([[1, 1, 7, 2, 2]])
    >>> fill_nearest_from(labels, labels == 7).tolist() in ([[1, 1, 1, 2, 2]], [[1, 1, 2, 2, 2]])
    True
    """
    vals = np.asarray(values)
    inv = np.asarray(invalid)
    if inv.dtype != np.bool_:
        raise TypeError(
            f"invalid must be a boolean array (True = pixel to fill), got dtype {inv.dtype}; "
            "build one with invalid_mask(...) or a comparison such as labels == 0"
        )
    axis = _check_channel_axis(vals.shape, channel_axis)
    spatial = vals.shape if axis is None else vals.shape[:axis] + vals.shape[axis + 1 :]
    if inv.shape != spatial:
        raise ValueError(
            f"invalid must have the spatial shape of values, got {inv.shape} and {spatial}"
            + ("" if axis is None else f" (values without channel_axis={channel_axis})")
        )
    ndim = len(spatial)
    if not 1 <= ndim <= 3:
        raise ValueError(
            f"values must have 1 to 3 spatial dimensions, got shape {vals.shape}"
            + ("" if axis is not None else "; for a colour mask pass channel_axis")
            + "; for a time series, fill each frame separately"
        )
    weights = tuple(s * s for s in _check_spacing(spacing, ndim))
    connectivity = _check_connectivity(connectivity, ndim)
    _validate_fill_options(max_distance, max_hole_size, dilate_invalid)
    if max_distance is not None and math.isinf(max_distance):
        max_distance = None

    if axis is None:
        moved = vals
    else:
        moved = np.moveaxis(vals, axis, -1)
    out = np.array(moved, order="C", copy=True)

    def finish(result: NDArray) -> NDArray:
        return result if axis is None else np.moveaxis(result, -1, axis)

    n_invalid = int(np.count_nonzero(inv))
    if inv.size == 0:
        return finish(out)
    if n_invalid == inv.size:
        raise ValueError(
            "nothing to fill from: every pixel is invalid, so there is no valid pixel to "
            "copy a value from; nothing was changed"
        )
    if n_invalid == 0:
        return finish(out)

    total = (ndim if dilate_invalid > 0 else 0) + ndim + 2
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        _report(progress, done, total)

    _report(progress, 0, total)
    # 1. which invalid pixels to fill
    if max_hole_size is not None:
        targets = _hole_components(inv, connectivity, int(max_hole_size))
        untouched = inv & ~targets  # big regions: neither filled nor sources
        if not targets.any():
            _report(progress, total, total)
            return finish(out)
    else:
        targets = inv
        untouched = None
    step()
    # 2. optional dilation of the pixels to fill
    if dilate_invalid > 0:
        # + 1: float rounding must never make the crop one pixel short of the exact
        # distance test below (which alone decides)
        reach = tuple(int(math.floor(dilate_invalid / math.sqrt(w))) + 1 for w in weights)
        near = ~targets if untouched is None else ~(targets | untouched)
        # distance from every candidate pixel to the nearest target
        cand_tgt, cand_src, cand_d = _nearest_sources(
            targets, near, weights, grow=reach, box_of=targets, step=step
        )
        grown = cand_tgt[(cand_src >= 0) & (np.sqrt(cand_d) <= dilate_invalid)]
        targets = targets.copy()
        targets.reshape(-1)[grown] = True
    sources = ~targets if untouched is None else ~(targets | untouched)
    if not sources.any():
        raise ValueError(
            "nothing to fill from: no valid pixel is left to copy a value from"
            + (
                f" after growing the invalid pixels by dilate_invalid={dilate_invalid}; "
                "use a smaller dilate_invalid"
                if dilate_invalid > 0
                else ""
            )
            + "; nothing was changed"
        )
    # 3. nearest sources of the targets
    reach = None
    if max_distance is not None:
        reach = tuple(int(math.floor(max_distance / math.sqrt(w))) + 1 for w in weights)
    if untouched is None or not untouched.any():
        grow = (1,) * ndim  # every pixel outside the targets is a source
    else:
        grow = reach
    lo, crop, feat, dist = _crop_transform(sources, targets, weights, grow=grow, step=step)
    # 4. gather: out[t] = out[source of t] (sources never change)
    pad = 3 - ndim
    crop3 = (1,) * pad + feat.shape
    run_chunked(
        _gather_targets,
        crop3[0] * crop3[1],
        np.ascontiguousarray(targets[crop]).view(np.uint8).reshape(crop3),
        feat.reshape((1,) * pad + feat.shape),
        dist.reshape((1,) * pad + feat.shape),
        np.inf if max_distance is None else float(max_distance),
        np.array((0,) * pad + tuple(lo), dtype=np.int64),
        np.array((1,) * pad + spatial, dtype=np.int64),
        _as_words(out.reshape(inv.size, -1)),
        work=feat.size,
    )
    step()
    return finish(out)


def fill_nearest(
    mask: ArrayLike,
    *,
    invalid: float | Sequence[float] = 0,
    channel_axis: int | None = None,
    max_distance: float | None = None,
    max_hole_size: int | None = None,
    connectivity: int = 1,
    dilate_invalid: float = 0,
    spacing: Sequence[float] | float | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Replace invalid pixels by the value of a nearest valid pixel.

    Every invalid pixel takes the value (label or colour) of a valid pixel at
    the minimal Euclidean distance (anisotropic with ``spacing``). Among
    equally near valid pixels any one may be chosen. Valid pixels never change
    (unless ``dilate_invalid`` > 0), and the result contains only values that
    already occur among the valid pixels.

    Parameters
    ----------
    mask : array_like
        Label image (1-D to n-D) or colour mask with a channel axis.
    invalid : number or sequence of numbers, optional
        The invalid label (default 0), or for a colour mask the invalid colour
        (e.g. ``[0, 0, 0]``; a single number means that value in every
        channel). In floating-point images NaN always counts as invalid.
    channel_axis : int, optional
        Axis of the colour channels (length 3 or 4), e.g. -1 for an RGB mask;
        None (default) for a label image.
    max_distance : float, optional
        Leave invalid pixels farther than this from any valid pixel (in units
        of ``spacing``) unchanged.
    max_hole_size : int, optional
        Only fill connected invalid regions ("holes") of at most this many
        pixels, e.g. to fill specks but keep the background. The rule is size
        only: small regions touching the image border are filled too (so the
        result does not depend on where the image was cropped). Larger invalid
        regions are left as they are and are not used as sources.
    connectivity : int, optional
        Neighbourhood defining connected invalid regions for
        ``max_hole_size``: 1 = face neighbours (default) up to ``ndim`` = all.
    dilate_invalid : float, optional
        First grow the pixels to fill by this distance (units of ``spacing``;
        e.g. 2 = two pixels), discarding the valid pixels near them so that
        ragged edges are re-drawn from farther inside. Default 0.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis, for anisotropic data.
    progress : callable, optional
        Called as ``progress(done, total)`` as the work advances.

    Returns
    -------
    ndarray
        A new array with the dtype and shape of ``mask``.

    Raises
    ------
    ValueError
        If no valid pixel exists ("nothing to fill from"; nothing is changed),
        or for inconsistent options (each message says how to fix it).

    See Also
    --------
    fill_nearest_from : fill pixels flagged by an arbitrary boolean mask.
    remove_islands : remove small connected components and refill them.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import fill_nearest
    >>> labels = np.array([[1, 1, 0, 0, 0, 2, 2]])
    >>> fill_nearest(labels).tolist()[0][:2], fill_nearest(labels).tolist()[0][5:]
    ([1, 1], [2, 2])
    >>> fill_nearest(labels).tolist()[0][2], fill_nearest(labels).tolist()[0][4]
    (1, 2)
    >>> rgb = np.zeros((1, 3, 3), np.uint8)
    >>> rgb[0, 0] = [255, 0, 0]
    >>> fill_nearest(rgb, invalid=[0, 0, 0], channel_axis=-1)[0].tolist()
    [[255, 0, 0], [255, 0, 0], [255, 0, 0]]
    """
    inv = invalid_mask(mask, invalid=invalid, channel_axis=channel_axis)
    return fill_nearest_from(
        mask,
        inv,
        channel_axis=channel_axis,
        max_distance=max_distance,
        max_hole_size=max_hole_size,
        connectivity=connectivity,
        dilate_invalid=dilate_invalid,
        spacing=spacing,
        progress=progress,
    )


