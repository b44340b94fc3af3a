"""Timing of napari_maskclean.core.threshold against OpenCV and SciPy/scikit-image.

Run ``python benchmarks/bench_threshold.py [--quick]`` from the repository root.
Times are medians of interleaved repeats (ours, baseline, ours, baseline, ...)
in one process; ``ratio`` is ours / baseline (below 1: ours is faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu, threshold_sauvola

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from napari_maskclean.core.threshold import threshold_mask  # noqa: E402


def _image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Bright blobs on a darker background with noise, uint8."""
    rng = np.random.default_rng(seed)
    coarse = ndi.zoom(rng.random(tuple(max(2, s // 32) for s in shape)), 32, order=1)
    coarse = coarse[tuple(slice(0, s) for s in shape)]
    fg = coarse > 0.55
    img = np.where(fg, 170.0, 70.0) + rng.normal(0, 25, shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _interleaved(ours: Callable, base: Callable, repeats: int) -> tuple[float, float]:
    ours()
    base()  # warm-up
    t_ours, t_base = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t1 = time.perf_counter()
        base()
        t2 = time.perf_counter()
        t_ours.append(t1 - t0)
        t_base.append(t2 - t1)
    return float(np.median(t_ours)) * 1e3, float(np.median(t_base)) * 1e3


def _row(operation, size, baseline, ours_ms, base_ms, target, limit):
    ratio = ours_ms / base_ms
    return {
        "operation": operation,
        "size": size,
        "ours_ms": round(ours_ms, 2),
        "baseline": baseline,
        "baseline_ms": round(base_ms, 2),
        "ratio": round(ratio, 4),
        "target": target,
        "met": None if limit is None else bool(ratio <= limit),
    }


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

    o, b = _interleaved(ours_median_otsu, cv2_median_otsu, 11 if quick else 41)
    rows.append(
        _row(
            "median3+otsu",
            "2048² uint8",
            "cv2 medianBlur + threshold(OTSU)",
            o,
            b,
            "ratio <= 2 (within 2x)",
            2.0,
        )
    )
    o, b = _interleaved(ours_median_otsu, scipy_median_otsu, 3 if quick else 7)
    rows.append(
        _row(
            "median3+otsu",
            "2048² uint8",
            "scipy median_filter + skimage otsu",
            o,
            b,
            "ratio <= 0.01 (>=100x faster)",
            0.01,
        )
    )

    vol = _image((128, 128, 128) if quick else (256, 256, 256), seed=1)
    o, b = _interleaved(
        lambda: threshold_mask(vol, method="otsu"),
        lambda: vol > threshold_otsu(vol),
        3 if quick else 9,
    )
    rows.append(
        _row(
            "otsu",
            f"{vol.shape[0]}³ uint8",
            "skimage threshold_otsu + compare",
            o,
            b,
            "informational",
            None,
        )
    )

    o, b = _interleaved(
        lambda: threshold_mask(img, method="sauvola", block_size=15),
        lambda: img > threshold_sauvola(img, window_size=15),
        2 if quick else 5,
    )
    rows.append(
        _row(
            "sauvola w=15",
            "2048² uint8",
            "skimage threshold_sauvola + compare",
            o,
            b,
            "informational",
            None,
        )
    )
    return rows


def _table(rows: list[dict]) -> str:
    head = "| operation | size | ours (ms) | baseline | baseline (ms) | ratio | target | met |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        met = "n/a" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append(
            f"| {r['operation']} | {r['size']} | {r['ours_ms']:.2f} | {r['baseline']} | "
            f"{r['baseline_ms']:.2f} | {r['ratio']:.4f} | {r['target']} | {met} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats, smaller volume")
    args = parser.parse_args()
    print(_table(run(quick=args.quick)))
