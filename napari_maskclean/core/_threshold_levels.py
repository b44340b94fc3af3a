"""Threshold levels for :mod:`.threshold`: scikit-image's methods, and the exact cut.

Every automatic level is exactly the value scikit-image's function of the same
name returns; histogram methods get the histogram from :mod:`._threshold_kernels`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from skimage import filters

from ._threshold_checks import LOCAL_METHODS
from ._threshold_kernels import _skimage_hist

# Above this many histogram bins, multi-Otsu needs a (bins x bins) lookup table.
_MULTIOTSU_MAX_BINS = 8192


# scikit-image bins integer images per value; refuse absurd ranges (memory).
_MAX_INT_BINS = 1 << 25


def _constant_error(where: str) -> ValueError:
    return ValueError(
        f"the {where}image is constant, so an automatic threshold is undefined; "
        'use method="manual" with a level, or check that you picked the right image'
    )


def _threshold(image: NDArray, opts: dict[str, Any], where: str = "") -> Any:
    """Return scikit-image's threshold (scalar, array of thresholds or threshold image)."""
    method = opts["method"]
    if method == "manual":
        return opts["level"]
    if method in LOCAL_METHODS:
        size = opts["block_size"]
        if method == "local":
            return filters.threshold_local(
                image, size, method=opts["local_method"], offset=opts["offset"]
            )
        if method == "sauvola":
            return filters.threshold_sauvola(image, window_size=size, k=opts["k"])
        return filters.threshold_niblack(image, window_size=size, k=opts["k"])

    hist = None
    if image.dtype in (np.uint8, np.uint16):
        hist = _skimage_hist(image)
        if hist[0].size == 1:
            raise _constant_error(where)
    else:
        lo, hi = image.min(), image.max()
        if lo == hi:
            raise _constant_error(where)
        nvalues = int(hi) - int(lo) + 1 if image.dtype.kind in "iu" else 0
        if nvalues > _MAX_INT_BINS and method != "mean":
            raise ValueError(
                f'method="{method}" needs one histogram bin per integer value, and this '
                f"{where}image spans {nvalues} values ({lo} .. {hi}); convert it to float "
                "first (e.g. image.astype(np.float64)) so 256 bins are used"
            )

    if method == "li":
        # scikit-image's Li overflows int8 arithmetic and returns NaN: use int16.
        t = filters.threshold_li(image.astype(np.int16) if image.dtype == np.int8 else image)
        if not np.isfinite(t):
            raise ValueError(
                f'method="li" did not converge on this {where}image (dtype {image.dtype}); '
                'convert it first, e.g. image.astype(np.float32), or use method="otsu"'
            )
        return t
    if method == "triangle":
        return filters.threshold_triangle(image)
    if method == "mean":
        return filters.threshold_mean(image)

    if hist is None:
        hist = _skimage_hist(image)
    return _level_from_hist(*hist, opts, where)


def _level_from_hist(counts: NDArray, centers: NDArray, opts: dict[str, Any], where: str) -> Any:
    """The level(s) of a histogram-based global method, from the image's histogram."""
    method = opts["method"]
    if method == "mean":
        # scikit-image: np.mean(image); exact from the histogram for integer values
        if np.issubdtype(centers.dtype, np.integer):
            return int((counts.astype(np.int64) * centers.astype(np.int64)).sum()) / int(
                counts.sum()
            )
        return float((counts * centers).sum() / counts.sum())
    if method == "otsu":
        return filters.threshold_otsu(hist=(counts, centers))
    if method == "yen":
        return filters.threshold_yen(hist=(counts, centers))
    if method == "isodata":
        return filters.threshold_isodata(hist=(counts, centers))
    if method == "minimum":
        try:
            return filters.threshold_minimum(hist=(counts, centers))
        except RuntimeError as err:
            raise ValueError(
                f'method="minimum" failed on the {where}image ({err}): its histogram does '
                'not have two clear peaks; use method="otsu" or "li" instead'
            ) from None
    # multiotsu: skimage normalises the histogram it computes itself
    classes = opts["classes"]
    if counts.size > _MULTIOTSU_MAX_BINS:
        raise ValueError(
            f'method="multiotsu" on this {where}image needs {counts.size} histogram bins '
            f"(one per integer value), too many for multi-Otsu; convert the image to "
            "float (e.g. image.astype(np.float32)) so 256 bins are used"
        )
    nvalues = np.count_nonzero(counts)
    if nvalues < classes:
        raise ValueError(
            f"the {where}image has only {nvalues} distinct histogram levels, too few for "
            f"classes={classes}; lower classes to at most {max(nvalues, 2)} or use "
            'method="otsu"'
        )
    return filters.threshold_multiotsu(classes=classes, hist=(counts / counts.sum(), centers))


def _apply(image: NDArray, t: Any, invert: bool, out: NDArray[np.bool_]) -> None:
    """Write ``image > t`` (``image <= t`` with invert) into ``out``, exactly."""
    compare = np.less_equal if invert else np.greater
    if np.ndim(t) == 0 and image.dtype.kind in "iu" and image.dtype.itemsize <= 4:
        # For integers x: x > t <=> x > floor(t). Comparing in the image dtype
        # avoids a float64 copy of the image; the result is identical.
        ft = math.floor(float(t))
        info = np.iinfo(image.dtype)
        if ft < info.min:
            out[...] = not invert
        elif ft >= info.max:
            out[...] = invert
        else:
            compare(image, image.dtype.type(ft), out=out)
        return
    compare(image, t, out=out)


def _cut(t: Any, opts: dict[str, Any]) -> Any:
    """Return the threshold the mask uses: the chosen multi-Otsu one, else ``t``."""
    return t[opts["class_index"]] if opts["method"] == "multiotsu" else t
