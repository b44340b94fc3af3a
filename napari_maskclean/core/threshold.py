"""Prefilters and global or local thresholds that turn an image into a boolean mask.

Every automatic threshold is *exactly* the value scikit-image's function of the
same name returns on the prefiltered image; only the kernels around it are
faster (``cv2.medianBlur`` for the median prefilter, ``cv2.calcHist`` for the
histogram of uint8/uint16 images, comparisons written into a preallocated
mask). The SciPy/NumPy fallbacks give identical results.

Layout: option checks and vocabularies in :mod:`._threshold_checks`, the
prefilter and histogram kernels in :mod:`._threshold_kernels`, scikit-image's
levels and the exact cut in :mod:`._threshold_levels`, and the histogram
functions in :mod:`.histogram`; the public names are re-exported here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._threshold_checks import LOCAL_KINDS as LOCAL_KINDS
from ._threshold_checks import (
    LOCAL_METHODS,
    PREFILTERS,
    THRESHOLD_METHODS,
    ChannelName,
    LocalMethod,
    PrefilterName,
    ProgressCallback,
    ThresholdMethod,
    _as_image,
    _check_options,
    _check_prefilter,
)
from ._threshold_kernels import _prefilter
from ._threshold_levels import _apply, _cut, _threshold
from .histogram import apply_level as apply_level
from .histogram import image_histogram
from .histogram import level_from_histogram as level_from_histogram
from .slicing import each_plane

__all__ = [
    "LOCAL_METHODS",
    "PREFILTERS",
    "THRESHOLD_METHODS",
    "ThresholdPreview",
    "image_histogram",
    "prefilter_image",
    "threshold_mask",
    "threshold_value",
    "threshold_with_histogram",
]


# Methods that accept a precomputed histogram in scikit-image.
_HIST_METHODS = ("otsu", "yen", "isodata", "minimum", "multiotsu")
# Global automatic methods: undefined on a constant image.
_AUTO_METHODS = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum", "multiotsu")








def _run(
    image: ArrayLike,
    *,
    func: str,
    want_mask: bool,
    method: Any,
    prefilter: Any,
    prefilter_size: Any,
    sigma: Any,
    clip_limit: Any,
    invert: Any,
    level: Any,
    classes: Any,
    class_index: Any,
    block_size: Any,
    local_method: Any,
    offset: Any,
    k: Any,
    per_slice: Any,
    progress: ProgressCallback | None,
    channel_axis: Any,
    channel: Any,
) -> tuple[NDArray[np.bool_] | None, Any, tuple[int, ...]]:
    img = _as_image(image, func=func, channel_axis=channel_axis, channel=channel)
    slices = bool(per_slice) and img.ndim > 2
    shape = img.shape[-2:] if slices else img.shape
    pre = _check_prefilter(
        prefilter, prefilter_size, sigma, clip_limit, shape, img.dtype, img.size
    )
    opts = _check_options(
        method, level, classes, class_index, block_size, local_method, offset, k, progress,
        shape, img.size,
    )
    invert = bool(invert)
    mask = np.empty(img.shape, dtype=bool) if want_mask else None

    if not slices:
        # Long prefilters (the 3D median) report progress; the final call says done.
        steps = None if progress is None else (lambda d, n: progress(d, n + 1))
        filtered = _prefilter(img, pre, steps)
        t = _threshold(filtered, opts)
        if mask is not None:
            _apply(filtered, _cut(t, opts), invert, mask)
        if progress is not None:
            progress(1, 1)
        return mask, t, img.shape

    values = []
    for idx in each_plane(img.shape, progress=progress):
        filtered = _prefilter(img[idx], pre)
        t = _threshold(filtered, opts, where=f"slice {idx} of the ")
        if mask is not None:
            _apply(filtered, _cut(t, opts), invert, mask[idx])
        else:
            values.append(t)
    return mask, values, img.shape


# --------------------------------------------------------------------------- public API


def prefilter_image(
    image: ArrayLike,
    *,
    prefilter: PrefilterName | None = None,
    prefilter_size: int = 3,
    sigma: float = 1.0,
    clip_limit: float = 0.01,
    per_slice: bool = False,
    channel_axis: int | None = None,
    channel: ChannelName = "luminance",
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Apply the prefilter that :func:`threshold_mask` uses before thresholding.

    Parameters
    ----------
    image : (M, N[, ...]) ndarray
        Grey image or volume. bool images are treated as uint8 0/1.
    prefilter : {None, "none", "median", "gaussian", "clahe", "equalize"}
        ``"median"``: median of a ``prefilter_size`` box (every axis), borders
        replicated; keeps the dtype. ``"gaussian"``: Gaussian blur of standard
        deviation ``sigma`` in the image's units
        (``skimage.filters.gaussian(..., mode="nearest", preserve_range=True)``);
        float images stay float, integer images are rounded back to their
        dtype (so the fast integer paths and Sauvola's dtype-based ``r`` still
        apply). ``"clahe"``:
        ``skimage.exposure.equalize_adapthist`` (float in [0, 1]; images that
        are not uint8/uint16 or float in [0, 1] are first min-max rescaled to
        [0, 1]). ``"equalize"``: ``skimage.exposure.equalize_hist`` (float in
        [0, 1]).
    prefilter_size : int
        Odd box size (>= 3) of the median filter, at most ``2 * n - 1`` where
        ``n`` is the longest filtered axis (larger windows only repeat the
        border). Medians that SciPy computes (not 2D uint8, not 3x3x3) are
        also refused when they would compare more than 2**32 values in all.
    sigma : float
        Standard deviation (> 0) of the Gaussian filter, at most a quarter of
        the longest filtered axis (or 15.9 on small images).
    clip_limit : float
        CLAHE clipping limit in [0, 1].
    per_slice : bool
        Filter each 2D slice (last two axes) on its own instead of the whole
        nD array at once.
    channel_axis : int or None
        The axis of a colour image's channels (``-1`` for RGB(A) as read from
        a file), as in scikit-image. The channels are reduced to one grey
        image first, as :func:`~napari_maskclean.core.convert.to_grey` does
        (see ``channel``); all sizes and shapes then refer to that grey image.
        None (default): the image is grey, and an array that looks like an
        RGB(A) picture (uint8, shape ``(M, N, 3)`` or ``(M, N, 4)``) is
        refused rather than thresholded as a 3-slice volume.
    channel : {"luminance", "red", "green", "blue"}
        With ``channel_axis``: ``"luminance"`` uses the
        :func:`skimage.color.rgb2gray` weights (float64 in the input's units,
        0..255 for uint8; alpha ignored), a colour name takes that channel
        unchanged (same dtype, so the fast uint8 paths still apply).
    progress : callable or None
        Called as ``progress(done, total)`` during long filters (the 3D median).

    Returns
    -------
    ndarray
        A new array of the same shape (the input is never modified).

    Examples
    --------
    >>> image = np.array([[0, 0, 0], [0, 9, 0], [0, 0, 0]], dtype=np.uint8)
    >>> prefilter_image(image, prefilter="median").max()
    np.uint8(0)
    """
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be None or a callable progress(done, total), got {progress!r}"
        )
    img = _as_image(image, func="prefilter_image", channel_axis=channel_axis, channel=channel)
    slices = bool(per_slice) and img.ndim > 2
    shape = img.shape[-2:] if slices else img.shape
    pre = _check_prefilter(
        prefilter, prefilter_size, sigma, clip_limit, shape, img.dtype, img.size
    )
    if pre["prefilter"] == "none":
        return img.copy()
    if not slices:
        return _prefilter(img, pre, progress)
    slices = [_prefilter(img[idx], pre) for idx in np.ndindex(*img.shape[:-2])]
    return np.stack(slices).reshape(img.shape)


def threshold_mask(
    image: ArrayLike,
    *,
    method: ThresholdMethod = "otsu",
    prefilter: PrefilterName | None = None,
    prefilter_size: int = 3,
    sigma: float = 1.0,
    clip_limit: float = 0.01,
    invert: bool = False,
    level: float | None = None,
    classes: int = 3,
    class_index: int = 0,
    block_size: int = 35,
    local_method: LocalMethod = "gaussian",
    offset: float = 0.0,
    k: float = 0.2,
    per_slice: bool = False,
    progress: ProgressCallback | None = None,
    channel_axis: int | None = None,
    channel: ChannelName = "luminance",
) -> NDArray[np.bool_]:
    """Threshold an image (after an optional prefilter) into a boolean mask.

    The mask is ``prefiltered > t`` (``prefiltered <= t`` with ``invert``),
    where ``t`` is exactly what scikit-image's function of the same name
    returns on the prefiltered image (see :func:`threshold_value`).

    Parameters
    ----------
    image : (M, N[, ...]) ndarray
        Grey image or volume (integer, float or bool; bool is treated as
        uint8 0/1). Float images must not contain NaN or inf.
    method : str
        One of :data:`THRESHOLD_METHODS`. ``"manual"`` uses ``level``;
        ``"otsu"``, ``"li"``, ``"yen"``, ``"triangle"``, ``"isodata"``,
        ``"mean"``, ``"minimum"`` are the ``skimage.filters.threshold_*``
        functions; ``"multiotsu"`` splits into ``classes`` classes and keeps
        ``image > thresholds[class_index]``; ``"local"``, ``"sauvola"`` and
        ``"niblack"`` compare each pixel with a threshold image computed
        over a ``block_size`` window.
    prefilter : {None, "none", "median", "gaussian", "clahe", "equalize"}
        Filter applied first, see :func:`prefilter_image`.
    prefilter_size : int
        Odd box size (>= 3) of the median prefilter (bounded by the image,
        see :func:`prefilter_image`).
    sigma : float
        Standard deviation of the Gaussian prefilter (bounded by the image).
    clip_limit : float
        Clipping limit of the CLAHE prefilter, in [0, 1].
    invert : bool
        Keep the pixels at or below the threshold (dark objects).
    level : float or None
        The threshold for ``method="manual"``, in the prefiltered image's units.
    classes : int
        Number of classes for ``"multiotsu"`` (>= 2).
    class_index : int
        Which multi-Otsu threshold to use, 0 .. ``classes - 2``.
    block_size : int
        Odd window size (>= 3) of the local methods (``window_size`` of
        Sauvola and Niblack), in every axis; at most ``2 * n - 1`` for an
        image whose longest axis is ``n``.
    local_method : {"gaussian", "mean", "median"}
        Weighting of ``skimage.filters.threshold_local``.
    offset : float
        Subtracted from the local threshold image (``"local"`` only).
    k : float
        The ``k`` parameter of Sauvola and Niblack.
    per_slice : bool
        For nD data: prefilter and threshold every 2D slice (last two axes) on
        its own. Otherwise global methods use the whole volume and prefilters
        work in nD. Ignored for 2D images.
    progress : callable or None
        Called as ``progress(done, total)`` after every slice; for a
        whole-image run during a 3D median prefilter and once at the end
        with ``(1, 1)``.
    channel_axis : int or None
        The axis of a colour image's channels (``-1`` for RGB(A) as read from
        a file), as in scikit-image. The channels are reduced to one grey
        image first, as :func:`~napari_maskclean.core.convert.to_grey` does
        (see ``channel``); all sizes and shapes then refer to that grey image.
        None (default): the image is grey, and an array that looks like an
        RGB(A) picture (uint8, shape ``(M, N, 3)`` or ``(M, N, 4)``) is
        refused rather than thresholded as a 3-slice volume.
    channel : {"luminance", "red", "green", "blue"}
        With ``channel_axis``: ``"luminance"`` uses the
        :func:`skimage.color.rgb2gray` weights (float64 in the input's units,
        0..255 for uint8; alpha ignored), a colour name takes that channel
        unchanged (same dtype, so the fast uint8 paths still apply).

    Returns
    -------
    mask : ndarray of bool
        Same shape as ``image`` (without the channel axis).

    Raises
    ------
    ValueError
        Bad option values, window sizes too large for the image, empty or 1D
        input, NaN/inf, a constant image for an automatic global method, an
        RGB(A)-looking image without ``channel_axis``.
    TypeError
        Complex or non-numeric images, options of the wrong type.

    Examples
    --------
    >>> image = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> threshold_mask(image).astype(int)
    array([[0, 0, 1],
           [0, 1, 1]])
    >>> threshold_mask(image, method="manual", level=100, invert=True).astype(int)
    array([[1, 1, 0],
           [1, 0, 0]])
    """
    mask, _, _ = _run(
        image,
        func="threshold_mask",
        want_mask=True,
        method=method,
        prefilter=prefilter,
        prefilter_size=prefilter_size,
        sigma=sigma,
        clip_limit=clip_limit,
        invert=invert,
        level=level,
        classes=classes,
        class_index=class_index,
        block_size=block_size,
        local_method=local_method,
        offset=offset,
        k=k,
        per_slice=per_slice,
        progress=progress,
        channel_axis=channel_axis,
        channel=channel,
    )
    return mask


def threshold_value(
    image: ArrayLike,
    *,
    method: ThresholdMethod = "otsu",
    prefilter: PrefilterName | None = None,
    prefilter_size: int = 3,
    sigma: float = 1.0,
    clip_limit: float = 0.01,
    invert: bool = False,
    level: float | None = None,
    classes: int = 3,
    class_index: int = 0,
    block_size: int = 35,
    local_method: LocalMethod = "gaussian",
    offset: float = 0.0,
    k: float = 0.2,
    per_slice: bool = False,
    progress: ProgressCallback | None = None,
    channel_axis: int | None = None,
    channel: ChannelName = "luminance",
) -> float | NDArray:
    """Return the threshold(s) :func:`threshold_mask` uses with the same options.

    Parameters
    ----------
    image : (M, N[, ...]) ndarray
        Grey image or volume, as for :func:`threshold_mask`.
    method, prefilter, prefilter_size, sigma, clip_limit, invert, level, \
classes, class_index, block_size, local_method, offset, k, per_slice, progress, \
channel_axis, channel
        As for :func:`threshold_mask` (``invert`` and ``class_index`` do not
        change the value).

    Returns
    -------
    float or ndarray
        A float for global methods; for ``"multiotsu"`` all ``classes - 1``
        thresholds (float64 array); for local methods the threshold image
        (same shape as ``image``). With ``per_slice`` on nD data: an array with
        one entry per slice, shape ``image.shape[:-2]`` (plus
        ``(classes - 1,)`` for multi-Otsu; the full image shape for local
        methods). Values are in the prefiltered image's units.

    Examples
    --------
    >>> image = np.array([[10, 10, 200], [10, 200, 200]], dtype=np.uint8)
    >>> threshold_value(image)
    10.0
    >>> threshold_value(np.stack([image, image // 2]), per_slice=True)
    array([10.,  5.])
    """
    _, t, shape = _run(
        image,
        func="threshold_value",
        want_mask=False,
        method=method,
        prefilter=prefilter,
        prefilter_size=prefilter_size,
        sigma=sigma,
        clip_limit=clip_limit,
        invert=invert,
        level=level,
        classes=classes,
        class_index=class_index,
        block_size=block_size,
        local_method=local_method,
        offset=offset,
        k=k,
        per_slice=per_slice,
        progress=progress,
        channel_axis=channel_axis,
        channel=channel,
    )
    if not isinstance(t, list):
        return float(t) if np.ndim(t) == 0 else np.asarray(t, dtype=np.float64)
    lead = shape[:-2]
    if method in LOCAL_METHODS:
        return np.stack(t).reshape(shape)
    return np.asarray(t, dtype=np.float64).reshape(lead + np.shape(t[0]))


class ThresholdPreview(NamedTuple):
    """:func:`threshold_with_histogram`'s result."""

    mask: NDArray[np.bool_]  #: exactly ``threshold_mask(image, **options)``
    counts: NDArray  #: histogram of the (prefiltered) values the level applies to
    edges: NDArray
    levels: Any  #: the level(s) found, or None (local methods, one level per slice)


_PREFILTER_KEYS = ("prefilter", "prefilter_size", "sigma", "clip_limit")


def threshold_with_histogram(image: ArrayLike, **options: Any) -> ThresholdPreview:
    """:func:`threshold_mask`, plus the histogram and level(s) a threshold dock shows.

    The prefilter runs once and the level is found once: the histogram is of the
    values the level applies to (CLAHE and equalisation map them to 0..1), and the
    mask is cut at exactly that level, so ``mask`` equals
    ``threshold_mask(image, **options)``.

    Parameters
    ----------
    image : array_like
        As for :func:`threshold_mask` (grey; reduce RGB with ``to_grey`` first).
    **options
        The keyword options of :func:`threshold_mask`.

    Returns
    -------
    ThresholdPreview
        ``(mask, counts, edges, levels)``.
    """
    rest = dict(options)
    pre = {k: rest.pop(k) for k in _PREFILTER_KEYS if k in rest}
    if pre.get("prefilter") not in (None, "none"):
        image = prefilter_image(image, per_slice=bool(rest.get("per_slice")), **pre)
    counts, edges = image_histogram(image)
    method = rest.get("method", "otsu")
    if method in LOCAL_METHODS or rest.get("per_slice"):
        # a threshold image, or one level per slice: not a line on a histogram
        return ThresholdPreview(threshold_mask(image, **rest), counts, edges, None)
    levels = threshold_value(image, **rest)
    cut = np.ravel(levels)[rest.get("class_index", 0)] if method == "multiotsu" else levels
    manual = {k: v for k, v in rest.items() if k not in ("method", "level")}
    mask = threshold_mask(image, method="manual", level=float(cut), **manual)
    return ThresholdPreview(mask, counts, edges, levels)
