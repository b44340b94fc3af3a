"""Prefilters and global or local thresholds that turn an image into a boolean mask.

Every automatic threshold is *exactly* the value scikit-image's function of the
same name returns on the prefiltered image; only the kernels around it are
faster (``cv2.medianBlur`` for the median prefilter, ``cv2.calcHist`` for the
histogram of uint8/uint16 images, comparisons written into a preallocated
mask). The SciPy/NumPy fallbacks give identical results.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage as ndi
from skimage import exposure, filters

from ._channels import to_single_channel
from ._median3d import median3x3x3
from .slicing import each_plane

try:  # opencv-python-headless is a dependency; the fallbacks give the same results
    import cv2
except ImportError:  # pragma: no cover - exercised by monkeypatching _USE_OPENCV
    cv2 = None

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

ThresholdMethod = Literal[
    "manual",
    "otsu",
    "li",
    "yen",
    "triangle",
    "isodata",
    "mean",
    "minimum",
    "multiotsu",
    "local",
    "sauvola",
    "niblack",
]
PrefilterName = Literal["none", "median", "gaussian", "clahe", "equalize"]
LocalMethod = Literal["gaussian", "mean", "median"]
ProgressCallback = Callable[[int, int], None]

#: Names accepted by ``method`` (the GUI builds its dropdown from this tuple).
THRESHOLD_METHODS: tuple[str, ...] = (
    "manual",
    "otsu",
    "li",
    "yen",
    "triangle",
    "isodata",
    "mean",
    "minimum",
    "multiotsu",
    "local",
    "sauvola",
    "niblack",
)
#: Methods whose threshold is an image (they use ``block_size``).
LOCAL_METHODS: tuple[str, ...] = ("local", "sauvola", "niblack")
#: Names accepted by ``prefilter``; ``None`` is accepted as an alias of ``"none"``.
PREFILTERS: tuple[str, ...] = ("none", "median", "gaussian", "clahe", "equalize")
#: ``local_method`` names for ``method="local"``.
LOCAL_KINDS: tuple[str, ...] = ("gaussian", "mean", "median")

# Methods that accept a precomputed histogram in scikit-image.
_HIST_METHODS = ("otsu", "yen", "isodata", "minimum", "multiotsu")
# Global automatic methods: undefined on a constant image.
_AUTO_METHODS = ("otsu", "li", "yen", "triangle", "isodata", "mean", "minimum", "multiotsu")
# Above this many histogram bins, multi-Otsu needs a (bins x bins) lookup table.
_MULTIOTSU_MAX_BINS = 8192
# scikit-image bins integer images per value; refuse absurd ranges (memory).
_MAX_INT_BINS = 1 << 25
# cv2.calcHist returns float32 counts: exact only below 2**24 per call.
_CALCHIST_CHUNK = 1 << 24
# SciPy's median/rank filters cost (window pixels) x (image pixels): refuse
# work above this (about a minute) instead of hanging.
_MAX_RANK_WORK = 1 << 32
# Windows up to this size are accepted on any image (cheap on small images).
_MIN_WINDOW_LIMIT = 255
# image_histogram: more bins than this only costs memory.
_MAX_NBINS = 1 << 20
ChannelName = Literal["luminance", "red", "green", "blue"]

#: Use the OpenCV kernels when they apply (tests switch this off to compare).
_USE_OPENCV = cv2 is not None


# --------------------------------------------------------------------------- checks


def _as_image(
    image: ArrayLike,
    *,
    func: str,
    min_ndim: int = 2,
    channel_axis: Any = None,
    channel: Any = "luminance",
) -> NDArray:
    """Return ``image`` as a validated real-valued grey ndarray (bool viewed as uint8).

    Colour images are reduced to grey along ``channel_axis``; without it an
    array that looks like an RGB(A) picture is refused (see ``_channels``).
    """
    arr = np.asarray(image)
    kind = arr.dtype.kind
    if kind in "biuf":
        arr = to_single_channel(arr, channel_axis, channel, func=func, min_ndim=min_ndim)
        kind = arr.dtype.kind
    if kind == "c":
        raise TypeError(
            f"{func} needs a real-valued image, got complex dtype {arr.dtype}; "
            "pass np.abs(image) or image.real instead"
        )
    if kind not in "biuf":
        raise TypeError(
            f"{func} needs a numeric image, got dtype {arr.dtype}; "
            "convert it first, e.g. image.astype(np.float32)"
        )
    if arr.ndim < min_ndim:
        raise ValueError(
            f"{func} needs an image with at least {min_ndim} dimensions, got shape "
            f"{arr.shape}; add an axis first, e.g. image[np.newaxis, :]"
        )
    if arr.size == 0:
        raise ValueError(
            f"{func} got an empty image of shape {arr.shape}; pass an image with pixels"
        )
    if kind == "b":
        return arr.view(np.uint8)
    if arr.dtype == np.float16:
        # Half floats are thresholded as float32 (scikit-image's histograms of
        # float16 are coarse); levels may differ slightly from skimage's on float16.
        arr = arr.astype(np.float32)
    if kind == "f" and not (np.isfinite(arr.min()) and np.isfinite(arr.max())):
        raise ValueError(
            f"{func} got an image containing NaN or inf; replace them, e.g. with "
            "np.nan_to_num, before thresholding"
        )
    return arr


def _real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def _integer(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    return int(value)


def _odd_size(name: str, value: Any) -> int:
    value = _integer(name, value)
    if value < 3 or value % 2 == 0:
        raise ValueError(
            f"{name} must be an odd integer >= 3 (3, 5, 7, ...), got {value}; "
            f"use {max(3, value + 1 if value % 2 == 0 else 3)} instead"
        )
    return value


def _window_limit(shape: tuple[int, ...]) -> int:
    """Largest accepted odd window for an image of ``shape``.

    A window of ``2 n - 1`` (``n`` the longest axis) covers the whole image
    from every pixel; larger ones only repeat the border and cost time. Small
    windows stay allowed on tiny images (defaults such as 35 keep working).
    """
    return max(_MIN_WINDOW_LIMIT, 2 * max(shape) - 1)


def _check_window(name: str, size: int, shape: tuple[int, ...]) -> None:
    limit = _window_limit(shape)
    if size > limit:
        raise ValueError(
            f"{name}={size} is larger than this image allows: at most {limit} "
            f"(twice its longest axis {max(shape)}, minus 1, where the window already "
            f"covers the whole image); use {name}={limit} or less"
        )


def _check_rank_work(name: str, size: int, ndim: int, pixels: int, what: str) -> None:
    """Refuse a SciPy median of ``size`` per axis (``ndim`` axes) that would run for minutes."""
    if size**ndim * pixels <= _MAX_RANK_WORK:
        return
    best = int((_MAX_RANK_WORK / pixels) ** (1 / ndim))
    best = best - (best % 2 == 0)
    fix = f"use {name} <= {best}" if best >= 3 else "downsample the image"
    if ndim == 2:
        fix += ", or convert the image to uint8, whose 2D median has no size limit"
    raise ValueError(
        f"{name}={size} is too large for a {what} of this image ({pixels} pixels, "
        f"{ndim}D windows): it would compare {size}**{ndim} values per pixel, above "
        f"the limit of {_MAX_RANK_WORK} comparisons in all (about a minute); {fix}"
    )


def _median_backend(shape: tuple[int, ...], dtype: np.dtype, size: int) -> str:
    """The kernel :func:`_median` uses: "opencv", "median3" or "scipy"."""
    if _USE_OPENCV and len(shape) == 2 and (
        dtype == np.uint8 or (dtype in (np.uint16, np.float32) and size <= 5)
    ):
        return "opencv"
    if len(shape) == 3 and size == 3:
        return "median3"
    return "scipy"


def _check_prefilter(
    prefilter: Any,
    prefilter_size: Any,
    sigma: Any,
    clip_limit: Any,
    shape: tuple[int, ...] | None = None,
    dtype: np.dtype | None = None,
    pixels: int = 0,
) -> dict[str, Any]:
    """Validate the prefilter options.

    With ``shape`` (one filtered array's shape), ``dtype`` and ``pixels``
    (all pixels filtered) the sizes are also bounded by the image.
    """
    if prefilter is None:
        prefilter = "none"
    if not isinstance(prefilter, str) or prefilter not in PREFILTERS:
        raise ValueError(f"unknown prefilter {prefilter!r}; choose one of {PREFILTERS} (or None)")
    opts: dict[str, Any] = {"prefilter": prefilter}
    if prefilter == "median":
        opts["size"] = size = _odd_size("prefilter_size", prefilter_size)
        if shape is not None:
            _check_window("prefilter_size", size, shape)
            if _median_backend(shape, dtype, size) == "scipy":
                _check_rank_work("prefilter_size", size, len(shape), pixels, f"{dtype} median")
    elif prefilter == "gaussian":
        opts["sigma"] = _real("sigma", sigma, low=0.0, low_open=True)
        limit = None if shape is None else max(_MIN_WINDOW_LIMIT / 16, max(shape) / 4)
        if limit is not None and opts["sigma"] > limit:
            # The kernel spans 4 sigma each side: beyond the image it costs
            # time (O(sigma) per pixel) and gives a nearly flat image.
            raise ValueError(
                f"sigma={opts['sigma']} is larger than this image allows: at most "
                f"{limit:g} (a quarter of its longest axis {max(shape)}, where "
                "the Gaussian already spans the whole image); use a smaller sigma"
            )
    elif prefilter == "clahe":
        opts["clip_limit"] = _real("clip_limit", clip_limit, low=0.0, high=1.0)
    return opts


def _check_options(
    method: Any,
    level: Any,
    classes: Any,
    class_index: Any,
    block_size: Any,
    local_method: Any,
    offset: Any,
    k: Any,
    progress: Any,
    shape: tuple[int, ...] | None = None,
    pixels: int = 0,
) -> dict[str, Any]:
    if not isinstance(method, str) or method not in THRESHOLD_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {THRESHOLD_METHODS}")
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress must be None or a callable progress(done, total), got {progress!r}"
        )
    opts: dict[str, Any] = {"method": method}
    if method == "manual":
        if level is None:
            raise ValueError(
                'method="manual" needs a threshold: pass level=<number>, e.g. level=128'
            )
        opts["level"] = _real("level", level)
    elif method == "multiotsu":
        classes = _integer("classes", classes)
        if classes < 2:
            raise ValueError(f"classes must be >= 2 for multiotsu, got {classes}")
        class_index = _integer("class_index", class_index)
        if not 0 <= class_index <= classes - 2:
            raise ValueError(
                f"class_index must be between 0 and classes - 2 = {classes - 2} "
                f"(which of the {classes - 1} thresholds to use), got {class_index}"
            )
        opts["classes"] = classes
        opts["class_index"] = class_index
    elif method in LOCAL_METHODS:
        opts["block_size"] = _odd_size("block_size", block_size)
        if method == "local":
            if not isinstance(local_method, str) or local_method not in LOCAL_KINDS:
                raise ValueError(
                    f"unknown local_method {local_method!r}; choose one of {LOCAL_KINDS}"
                )
            opts["local_method"] = local_method
            opts["offset"] = _real("offset", offset)
        else:
            opts["k"] = _real("k", k)
        if shape is not None:
            _check_window("block_size", opts["block_size"], shape)
            if opts.get("local_method") == "median":
                _check_rank_work(
                    "block_size", opts["block_size"], len(shape), pixels, "local median"
                )
    return opts


# --------------------------------------------------------------------------- kernels


def _median(image: NDArray, size: int, progress: ProgressCallback | None = None) -> NDArray:
    """Median filter with replicated borders (``ndi.median_filter(mode="nearest")``).

    OpenCV in 2D where it applies, the compiled 3x3x3 kernel for volumes
    (identical results, ~100x faster than SciPy), else SciPy.
    """
    backend = _median_backend(image.shape, image.dtype, size)
    if backend == "opencv":
        return cv2.medianBlur(np.ascontiguousarray(image), size)
    if backend == "median3":
        return median3x3x3(image, progress=progress)
    return ndi.median_filter(image, size=size, mode="nearest")


def _gaussian(image: NDArray, sigma: float) -> NDArray:
    """Gaussian blur in the image's units; integer images stay integer (rounded)."""
    out = filters.gaussian(image, sigma=sigma, mode="nearest", preserve_range=True)
    if image.dtype.kind == "f":
        return out
    info = np.iinfo(image.dtype)
    np.rint(out, out=out)
    np.clip(out, info.min, info.max, out=out)
    return out.astype(image.dtype)


def _unit_range(image: NDArray) -> NDArray:
    """Min-max rescale to [0, 1] in floating point (constant images give zeros)."""
    out = image.astype(image.dtype if image.dtype.kind == "f" else np.float64)
    lo, hi = out.min(), out.max()
    out -= lo
    if hi > lo:
        out /= hi - lo
    return out


def _clahe(image: NDArray, clip_limit: float) -> NDArray:
    if image.dtype.kind == "f":
        if image.min() < 0 or image.max() > 1:
            image = _unit_range(image)
    elif image.dtype not in (np.uint8, np.uint16):
        image = _unit_range(image)
    # __wrapped__ skips skimage's RGB adaptation: an (..., 3) volume is not colour here.
    clahe = getattr(exposure.equalize_adapthist, "__wrapped__", exposure.equalize_adapthist)
    return clahe(image, clip_limit=clip_limit)


def _prefilter(
    image: NDArray, opts: dict[str, Any], progress: ProgressCallback | None = None
) -> NDArray:
    """Apply a validated prefilter; may return ``image`` itself for "none".

    ``progress(done, total)`` is called during the long 3D median only.
    """
    name = opts["prefilter"]
    if name == "none":
        return image
    if name == "median":
        return _median(image, opts["size"], progress)
    if name == "gaussian":
        return _gaussian(image, opts["sigma"])
    if name == "clahe":
        return _clahe(image, opts["clip_limit"])
    # equalize: a 1D view avoids skimage's "might be a colour image" guess on (..., 3) data
    return exposure.equalize_hist(image.reshape(-1)).reshape(image.shape)


def _full_counts(image: NDArray) -> NDArray[np.int64]:
    """Count every value 0..255 (uint8) or 0..65535 (uint16), as int64."""
    nb = 256 if image.dtype == np.uint8 else 65536
    image = np.ascontiguousarray(image)
    width = image.shape[-1]
    if not _USE_OPENCV or width > _CALCHIST_CHUNK:
        return np.bincount(image.reshape(-1), minlength=nb).astype(np.int64, copy=False)
    rows = image.reshape(-1, width)
    step = max(1, _CALCHIST_CHUNK // width)
    total = np.zeros(nb, dtype=np.int64)
    for start in range(0, rows.shape[0], step):
        part = rows[start : start + step]
        total += cv2.calcHist([part], [0], None, [nb], [0, nb]).reshape(-1).astype(np.int64)
    return total


def _skimage_hist(image: NDArray) -> tuple[NDArray, NDArray]:
    """Histogram exactly as scikit-image's threshold functions compute it."""
    if image.dtype in (np.uint8, np.uint16):
        full = _full_counts(image)
        nz = np.flatnonzero(full)
        lo, hi = int(nz[0]), int(nz[-1])
        return full[lo : hi + 1], np.arange(lo, hi + 1)
    return exposure.histogram(image.reshape(-1), 256, source_range="image")


# --------------------------------------------------------------------------- thresholds


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
