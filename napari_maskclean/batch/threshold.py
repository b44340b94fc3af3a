"""Global thresholds on chunked images: the histogram reduced over tiles, then the level applied.

scikit-image picks a global level (Otsu, Yen, ...) from the histogram of the
whole (prefiltered) image. Histograms add up, so the tiled version is exact:

1. the prefiltered image, tile by tile with the prefilter's halo (lazy);
2. for float images its global minimum and maximum (they fix the 256 bins);
3. the histogram of every tile, summed;
4. the level from the summed histogram by the same core code as in memory
   (:func:`napari_maskclean.core.threshold.level_from_histogram`), and every
   tile cut at that level. The prefilter is recomputed per pass rather than
   kept, so memory stays bounded.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import dask
import dask.array as da
import numpy as np

from ..core import threshold as core_threshold
from .tiles import TilingError, map_local

__all__ = ["HISTOGRAM_METHODS", "global_threshold_mask"]

#: Global methods whose level depends only on the histogram (exact when tiled).
HISTOGRAM_METHODS = ("otsu", "yen", "isodata", "minimum", "multiotsu", "mean")


def _prefiltered(block: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    keys = ("prefilter", "prefilter_size", "sigma", "clip_limit")
    return core_threshold.prefilter_image(block, **{k: params[k] for k in keys if k in params})


def _counts(block: np.ndarray, lo, hi) -> np.ndarray:
    if block.dtype.kind in "iu":
        # one bin per integer value in lo..hi, as scikit-image's integer histogram
        return np.bincount(block.reshape(-1).astype(np.int64) - int(lo),
                           minlength=int(hi) - int(lo) + 1)[None]
    counts, _ = np.histogram(block, bins=256, range=(lo, hi))
    return counts[None]


def _cut(block: np.ndarray, level: float, invert: bool) -> np.ndarray:
    out = np.empty(block.shape, dtype=bool)
    core_threshold.apply_level(block, level, invert=invert, out=out)
    return out


def global_threshold_mask(image: da.Array, params: dict[str, Any], *, halo: int) -> da.Array:
    """The mask of a global histogram threshold, computed tile by tile (exact).

    Parameters
    ----------
    image : dask.array.Array
        Grey image or volume.
    params : dict
        Validated parameters of the ``threshold`` op (``per_slice`` False).
    halo : int
        The prefilter's halo.

    Returns
    -------
    dask.array.Array of bool
        Equal to ``threshold_mask(image.compute(), **params)``.
    """
    method = params["method"]
    if method not in HISTOGRAM_METHODS:
        raise TilingError(
            f'method="{method}" needs the whole image at once (its level is not computed '
            f"from the histogram), so it cannot run tile by tile; use one of "
            f"{HISTOGRAM_METHODS}, or process the image in memory"
        )
    if image.dtype == bool:
        image = image.astype(np.uint8)
    if image.dtype == np.float16:
        image = image.astype(np.float32)  # as the core does
    if image.dtype.kind == "f" and method == "mean":
        raise TilingError(
            'method="mean" on a float image cannot be reproduced exactly tile by tile '
            "(floating-point sums depend on their order); use otsu, or an integer image"
        )
    pre_dtype = image.dtype if params.get("prefilter", "none") in ("none", "median", "gaussian") \
        else float
    pre = map_local(partial(_prefiltered, params=params), image, halo=halo, dtype=pre_dtype)
    if pre.dtype in (np.uint8, np.uint16):
        # every possible value has its bin: one pass, no min/max pass first
        lo, hi = 0, np.iinfo(pre.dtype).max
        counts = _block_counts(pre, lo, hi).sum(axis=0).compute()
        nz = np.flatnonzero(counts)
        if nz.size < 2:
            raise _constant()
        lo, hi = int(nz[0]), int(nz[-1])
        counts = counts[lo : hi + 1]
    else:
        lo, hi = dask.compute(pre.min(), pre.max())
        if lo == hi:
            raise _constant()
        counts = _block_counts(pre, lo, hi).sum(axis=0).compute()
    if pre.dtype.kind in "iu":
        centers = np.arange(int(lo), int(hi) + 1)
    else:
        edges = np.histogram_bin_edges(np.array([lo, hi]), bins=256, range=(lo, hi))
        centers = (edges[:-1] + edges[1:]) / 2.0
    level = core_threshold.level_from_histogram(counts, centers, params)
    return pre.map_blocks(_cut, level, params.get("invert", False), dtype=bool)


def _constant() -> ValueError:
    return ValueError(
        "the image is constant, so an automatic threshold is undefined; use "
        'method="manual" with a level, or check that you picked the right image'
    )


def _block_counts(pre: da.Array, lo, hi) -> da.Array:
    """A (number of blocks, number of bins) array of per-block histograms (lazy)."""
    nbins = int(hi) - int(lo) + 1 if pre.dtype.kind in "iu" else 256
    parts = [
        da.from_delayed(dask.delayed(_counts)(b, lo, hi), shape=(1, nbins), dtype=np.int64)
        for b in pre.to_delayed().ravel()
    ]
    return da.concatenate(parts, axis=0)
