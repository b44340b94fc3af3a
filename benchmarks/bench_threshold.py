"""Timing of napari_maskclean.core.threshold against OpenCV and SciPy/scikit-image.

Run ``python benchmarks/bench_threshold.py [--quick]`` from the repository root.
Times are medians of interleaved repeats (ours, baseline, ours, baseline, ...)
in one process; ``ratio`` is ours / baseline (below 1: ours is faster).
"""

from __future__ import annotations

import cv2
import numpy as np
from _common import interleaved, main_for, row  # also puts the repo on sys.path
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu, threshold_sauvola

from napari_maskclean.core.threshold import prefilter_image, threshold_mask


def _image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Bright blobs on a darker background with noise, uint8."""
    rng = np.random.default_rng(seed)
    coarse = ndi.zoom(rng.random(tuple(max(2, s // 32) for s in shape)), 32, order=1)
    coarse = coarse[tuple(slice(0, s) for s in shape)]
    fg = coarse > 0.55
    img = np.where(fg, 170.0, 70.0) + rng.normal(0, 25, shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def run(quick: bool = False) -> list[dict]:
    """Run the benchmarks and return one dict per table row."""
    rows = []
    img = _image((2048, 2048))

    def ours_median_otsu():
        return threshold_mask(img, method="otsu", prefilter="median", prefilter_size=3)

    def cv2_median_otsu():
        filtered = cv2.medianBlur(img, 3)
        return cv2.threshold(filtered, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1]

    def scipy_median_otsu():
        filtered = ndi.median_filter(img, size=3)
        return filtered > threshold_otsu(filtered)

    o, b = interleaved(ours_median_otsu, cv2_median_otsu, 11 if quick else 41)
    rows.append(
        row(
            "median3+otsu",
            "2048² uint8",
            o,
            "cv2 medianBlur + threshold(OTSU)",
            b,
            "ratio <= 2 (within 2x)",
            o / b <= 2.0,
        )
    )
    o, b = interleaved(ours_median_otsu, scipy_median_otsu, 3 if quick else 7)
    rows.append(
        row(
            "median3+otsu",
            "2048² uint8",
            o,
            "scipy median_filter + skimage otsu",
            b,
            "ratio <= 0.01 (>=100x faster)",
            o / b <= 0.01,
        )
    )

    vol = _image((128, 128, 128) if quick else (256, 256, 256), seed=1)
    o, b = interleaved(
        lambda: threshold_mask(vol, method="otsu"),
        lambda: vol > threshold_otsu(vol),
        3 if quick else 9,
    )
    rows.append(
        row(
            "otsu",
            f"{vol.shape[0]}³ uint8",
            o,
            "skimage threshold_otsu + compare",
            b,
            "informational",
            None,
        )
    )

    o, b = interleaved(
        lambda: threshold_mask(img, method="sauvola", block_size=15),
        lambda: img > threshold_sauvola(img, window_size=15),
        2 if quick else 5,
    )
    rows.append(
        row(
            "sauvola w=15",
            "2048² uint8",
            o,
            "skimage threshold_sauvola + compare",
            b,
            "informational",
            None,
        )
    )
    # 3x3x3 median of a volume: our compiled kernel on the full volume, SciPy
    # on a slab of it (56 s on 512^3 would dominate the run), extrapolated
    # per voxel to the full volume.
    side = 256 if quick else 512
    vol3 = np.random.default_rng(2).integers(0, 256, (side,) * 3, dtype=np.uint8)
    slab = vol3[: 8 if quick else 16]
    o, b = interleaved(
        lambda: prefilter_image(vol3, prefilter="median", prefilter_size=3),
        lambda: ndi.median_filter(slab, size=3, mode="nearest"),
        1 if quick else 3,
    )
    b *= vol3.shape[0] / slab.shape[0]
    rows.append(
        row(
            "median 3x3x3",
            f"{side}³ uint8",
            o,
            f"scipy median_filter (timed on {slab.shape[0]} slices, extrapolated)",
            b,
            "<= 3 s on 512³ (2 cores)",
            o <= 3000 if side == 512 else None,
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
