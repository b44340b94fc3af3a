"""Input validation for :mod:`.threshold`: the image, the prefilter and the method options.

Also the option vocabularies (``THRESHOLD_METHODS``, ``PREFILTERS``, ...), which
the checks read; :mod:`.threshold` re-exports them.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any, Literal, get_args

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._channels import to_single_channel
from ._threshold_kernels import _median_backend

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
THRESHOLD_METHODS: tuple[str, ...] = get_args(ThresholdMethod)


#: Methods whose threshold is an image (they use ``block_size``).
LOCAL_METHODS: tuple[str, ...] = ("local", "sauvola", "niblack")


#: Names accepted by ``prefilter``; ``None`` is accepted as an alias of ``"none"``.
PREFILTERS: tuple[str, ...] = get_args(PrefilterName)


#: ``local_method`` names for ``method="local"``.
LOCAL_KINDS: tuple[str, ...] = get_args(LocalMethod)


# SciPy's median/rank filters cost (window pixels) x (image pixels): refuse
# work above this (about a minute) instead of hanging.
_MAX_RANK_WORK = 1 << 32


# Windows up to this size are accepted on any image (cheap on small images).
_MIN_WINDOW_LIMIT = 255


ChannelName = Literal["luminance", "red", "green", "blue"]


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
