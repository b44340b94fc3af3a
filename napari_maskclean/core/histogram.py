"""Image histograms, and threshold levels read from a histogram.

:func:`image_histogram` is the fast display histogram of a threshold dock;
:func:`level_from_histogram` and :func:`apply_level` split
:func:`~napari_maskclean.core.threshold.threshold_mask` into "level from the
histogram" and "cut at the level", so a chunked (dask) image can be thresholded
from its merged histogram. All three are re-exported from :mod:`.threshold`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._threshold_checks import ChannelName, _as_image, _check_options, _integer
from ._threshold_kernels import _full_counts
from ._threshold_levels import _apply, _constant_error, _cut, _level_from_hist

__all__ = ["apply_level", "image_histogram", "level_from_histogram"]


# image_histogram: more bins than this only costs memory.
_MAX_NBINS = 1 << 20


def image_histogram(
    image: ArrayLike,
    *,
    nbins: int = 256,
    channel_axis: int | None = None,
    channel: ChannelName = "luminance",
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Fast histogram of an image for display, with ``numpy.histogram`` semantics.

    Integer (and bool) images get bins centred on integers: one bin per value
    from the image minimum to maximum when there are at most ``nbins`` values,
    otherwise ``nbins`` equal bins spanning ``[min - 0.5, max + 0.5]``. Float
    images get ``numpy.histogram(image, bins=nbins)`` (the bins scikit-image's
    threshold functions use). In all cases ``counts`` equals
    ``numpy.histogram(image, bins=bin_edges)[0]``.

    Parameters
    ----------
    image : ndarray
        Grey image of any shape (bool is treated as uint8 0/1).
    nbins : int
        Maximum number of bins, 1 .. 2**20.
    channel_axis : int or None
        The axis of a colour image's channels (``-1`` for RGB(A) as read from
        a file), as in scikit-image. The channels are reduced to one grey
        image first, as :func:`~napari_maskclean.core.convert.to_grey` does
        (see ``channel``); the histogram is that grey image's.
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
    counts : ndarray of int64
        Number of pixels per bin.
    bin_edges : ndarray of float64
        ``len(counts) + 1`` increasing bin edges.

    Examples
    --------
    >>> counts, edges = image_histogram(np.array([[0, 1], [1, 3]], dtype=np.uint8))
    >>> counts
    array([1, 2, 0, 1])
    >>> edges
    array([-0.5,  0.5,  1.5,  2.5,  3.5])
    """
    img = _as_image(
        image, func="image_histogram", min_ndim=1, channel_axis=channel_axis, channel=channel
    )
    nbins = _integer("nbins", nbins)
    if not 1 <= nbins <= _MAX_NBINS:
        raise ValueError(
            f"nbins must be between 1 and {_MAX_NBINS} (more bins than that cannot be "
            f"displayed and only cost memory), got {nbins}"
        )
    if img.dtype.kind == "f":
        counts, edges = np.histogram(img, bins=nbins)
        return counts.astype(np.int64, copy=False), edges.astype(np.float64, copy=False)

    if img.dtype in (np.uint8, np.uint16):
        full = _full_counts(img)
        nz = np.flatnonzero(full)
        lo, hi = int(nz[0]), int(nz[-1])
        per_value = full[lo : hi + 1]
    else:
        lo, hi = int(img.min()), int(img.max())
        per_value = None
        if hi - lo < (1 << 20):
            shifted = (img.reshape(-1).astype(np.int64) - lo).astype(np.intp)
            per_value = np.bincount(shifted, minlength=hi - lo + 1)
    nvalues = hi - lo + 1
    if nvalues <= nbins:
        edges = np.arange(lo, hi + 2, dtype=np.float64) - 0.5
        if per_value is None:  # pragma: no cover - nvalues <= nbins implies small range
            return np.histogram(img, bins=edges)[0].astype(np.int64), edges
        return per_value.astype(np.int64, copy=False), edges
    edges = np.linspace(lo - 0.5, hi + 0.5, nbins + 1)
    if per_value is None:
        return np.histogram(img, bins=edges)[0].astype(np.int64), edges
    # every bin is wider than 1, so it holds at least one integer value:
    # bin i collects the values v with edges[i] <= v < edges[i + 1]
    values = np.arange(lo, hi + 1)
    starts = np.searchsorted(values, edges[:-1], side="left")
    return np.add.reduceat(per_value, starts).astype(np.int64, copy=False), edges


def level_from_histogram(
    counts: ArrayLike, centers: ArrayLike, params: dict[str, Any]
) -> float:
    """The level :func:`threshold_mask` cuts at, from the image's histogram.

    For the global methods whose level depends on the histogram only (otsu,
    yen, isodata, minimum, multiotsu, and mean on integer images). A tiled
    engine sums the histograms of its tiles and gets exactly the level of
    the whole image.

    Parameters
    ----------
    counts, centers : array_like
        The histogram as scikit-image computes it: one bin per integer value
        between the image's minimum and maximum for integer images, 256 equal
        bins between them for float images.
    params : dict
        ``method`` and, for multi-Otsu, ``classes`` and ``class_index``.

    Returns
    -------
    float
        The threshold.
    """
    opts = _check_options(
        params["method"], params.get("level"), params.get("classes", 3),
        params.get("class_index", 0), 35, "gaussian", 0.0, 0.2, None,
    )
    counts, centers = np.asarray(counts), np.asarray(centers)
    if np.count_nonzero(counts) < 2:
        raise _constant_error("")
    return _cut(_level_from_hist(counts, centers, opts, ""), opts)


def apply_level(
    image: ArrayLike, level: float, *, invert: bool = False, out: NDArray | None = None
) -> NDArray[np.bool_]:
    """``image > level`` (``<=`` with invert), exactly as :func:`threshold_mask` cuts."""
    image = np.asarray(image)
    if out is None:
        out = np.empty(image.shape, dtype=bool)
    _apply(image, level, invert, out)
    return out
