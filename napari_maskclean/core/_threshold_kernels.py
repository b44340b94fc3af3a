"""The fast kernels of :mod:`.threshold`: prefilters and histograms.

OpenCV where it applies (``cv2.medianBlur``, ``cv2.calcHist``), the compiled
3x3x3 median for volumes, else SciPy/NumPy/scikit-image: the results are
identical. Tests switch ``_USE_OPENCV`` off here to compare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage import exposure, filters

from ._median3d import median3x3x3

if TYPE_CHECKING:
    from ._threshold_checks import ProgressCallback

try:  # opencv-python-headless is a dependency; the fallbacks give the same results
    import cv2
except ImportError:  # pragma: no cover - exercised by monkeypatching _USE_OPENCV
    cv2 = None


# cv2.calcHist returns float32 counts: exact only below 2**24 per call.
_CALCHIST_CHUNK = 1 << 24


#: Use the OpenCV kernels when they apply (tests switch this off to compare).
_USE_OPENCV = cv2 is not None


def _median_backend(shape: tuple[int, ...], dtype: np.dtype, size: int) -> str:
    """The kernel :func:`_median` uses: "opencv", "median3" or "scipy"."""
    if _USE_OPENCV and len(shape) == 2 and (
        dtype == np.uint8 or (dtype in (np.uint16, np.float32) and size <= 5)
    ):
        return "opencv"
    if len(shape) == 3 and size == 3:
        return "median3"
    return "scipy"


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
