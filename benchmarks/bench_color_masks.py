"""Colour masks at their defaults: % of pixels restored to their true class, and time.

A 6-class 512 x 512 map of smooth blobs saved as JPEG (quality 80), and a map
of ellipses and lines drawn with anti-aliasing (cv2.LINE_AA), each cleaned by
``fill_rgb_mask`` with its defaults: with the palette given, and with the
palette estimated from the image. Baselines in the same run: exact colours
(``snap=0``, the old default) and nearest palette colour for every pixel.

    python benchmarks/bench_color_masks.py
"""

from __future__ import annotations

import statistics
import time

import _common  # noqa: F401  (puts the working tree first on sys.path)
import numpy as np

from napari_maskclean._synthetic import OKABE_ITO, antialiased_map, blob_map, jpeg
from napari_maskclean.core.colors import rgb_to_labels
from napari_maskclean.core.fill import estimate_palette, fill_rgb_mask


def _ms(func, repeats=5):
    func()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def _right(labels, palette, truth):
    """Share of pixels whose colour is nearest to their true class colour."""
    d = ((palette.astype(float)[:, None] - OKABE_ITO[None].astype(float)) ** 2).sum(-1)
    return float((d.argmin(1)[labels] == truth).mean())


def main() -> None:
    truth = blob_map((512, 512), seed=0)
    aa_truth, aa = antialiased_map((512, 512), seed=0)
    cases = [("JPEG q80", truth, jpeg(OKABE_ITO[truth])), ("anti-aliased", aa_truth, aa),
             ("anti-aliased + JPEG q80", aa_truth, jpeg(aa))]
    print("| mask (512x512, 6 classes) | exact (snap=0) | nearest colour | palette given "
          "| ms | palette estimated | classes found | ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, lab, img in cases:
        exact = _right(np.maximum(rgb_to_labels(img, OKABE_ITO, snap=0)[0], 0), OKABE_ITO, lab)
        nearest = _right(rgb_to_labels(img, OKABE_ITO, snap=1e3)[0], OKABE_ITO, lab)
        given = fill_rgb_mask(img, palette=OKABE_ITO)
        est = fill_rgb_mask(img)
        n_est = len(estimate_palette(img))
        t_given = _ms(lambda img=img: fill_rgb_mask(img, palette=OKABE_ITO))
        t_est = _ms(lambda img=img: fill_rgb_mask(img))
        print(f"| {name} | {exact:.1%} | {nearest:.1%} | "
              f"{_right(given.labels, given.palette, lab):.1%} | {t_given:.0f} | "
              f"{_right(est.labels, est.palette, lab):.1%} | {n_est} | {t_est:.0f} |")


if __name__ == "__main__":
    main()
