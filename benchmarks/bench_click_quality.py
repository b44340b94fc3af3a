"""Click-to-segment quality on real images with expert ground truth (issue 14).

One click per ground-truth object, at its innermost pixel (the maximum of its
distance transform). For each growing rule of ``core.grow`` and for today's
tolerance flood (``core.region``, tolerance 10 % relative), reports the
fraction of objects with IoU >= 0.5, the median IoU and ms per click, with
each object clicked alone, with all objects clicked together (``grow_objects``)
and one after the other as in the dock (``segment_clicks``); at the
default settings and at the best single setting per image (``--sweep``).
Also on the 2D image with noise and an intensity gradient added.

Run: ``python benchmarks/bench_click_quality.py [--sweep] [--only nuclei2d]``.
Needs the ``stardist`` package for its bundled data (see ``_click_data.py``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402,F401  (puts the working tree first on sys.path)
import numpy as np  # noqa: E402
from _click_data import DATASETS, load  # noqa: E402
from scipy import ndimage as ndi  # noqa: E402

from napari_maskclean.core.grow import ClickSegmenter, grow_objects, grow_region  # noqa: E402
from napari_maskclean.core.grow_clicks import segment_clicks  # noqa: E402
from napari_maskclean.core.region import flood_mask, region_grow  # noqa: E402

RULES = ("contrast", "adaptive", "edge")
#: The swept setting per method (best single value per image with --sweep).
SWEEP = {
    "flood": ("tolerance", [0.02, 0.05, 0.1, 0.15, 0.2, 0.3]),
    "contrast": ("level", [0.2, 0.3, 0.35, 0.4, 0.5, 0.6]),
    "adaptive": ("k", [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]),
    "edge": ("sigma", [0.5, 1.0, 1.5, 2.0, 3.0]),
}
DEFAULTS = {"flood": {"tolerance": 0.1}, "contrast": {}, "adaptive": {}, "edge": {}}


def innermost(gt: np.ndarray) -> tuple[list[int], list[tuple[int, ...]]]:
    """Object ids and the innermost pixel of each (max of its distance transform)."""
    ids, seeds = [], []
    for i, box in enumerate(ndi.find_objects(gt), start=1):
        if box is None:
            continue
        obj = np.pad(gt[box] == i, 1)
        d = ndi.distance_transform_edt(obj)
        p = np.unravel_index(int(np.argmax(d)), obj.shape)
        ids.append(i)
        seeds.append(tuple(int(c - 1 + b.start) for c, b in zip(p, box)))
    return ids, seeds


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return np.count_nonzero(a & b) / union if union else 0.0


def degrade(image: np.ndarray, seed: int = 0) -> np.ndarray:
    """Gaussian noise (sd 10 % of the range) and a left-right gradient (+100 % of the range)."""
    rng = np.random.default_rng(seed)
    img = image.astype(np.float32)
    span = float(img.max() - img.min())
    ramp = np.linspace(0, 1, img.shape[-1], dtype=np.float32) * span
    return img + ramp + rng.normal(0, 0.1 * span, img.shape).astype(np.float32)


def run(method: str, image, gt, ids, seeds, params, mode: str, spacing=None):
    """IoU per object and ms per click for one method, mode 'alone' or 'together'."""
    ious, times = [], []
    if mode == "dock" and method != "flood":
        # The Region growing dock: one click after the other, each object competing
        # with those clicked before it (core.grow_clicks, what a recipe replays).
        lab = segment_clicks(image, seeds, rule=method, spacing=spacing, **params)
        ious = [iou(lab == k + 1, gt == i) for k, i in enumerate(ids)]
        ious = np.array(ious)
        return float((ious >= 0.5).mean()), float(np.median(ious)), float("nan")
    if mode in ("together", "dock"):
        t0 = time.perf_counter()
        if method == "flood":
            lab = region_grow(image, seeds, tolerance=params["tolerance"], relative=True)
        else:
            lab, _ = grow_objects(image, seeds, rule=method, spacing=spacing, **params)
        times.append((time.perf_counter() - t0) / len(seeds))
        first = 1 if method == "flood" else 1
        for k, i in enumerate(ids):
            ious.append(iou(lab == first + k, gt == i))
    else:
        for s, i in zip(seeds, ids):
            t0 = time.perf_counter()
            if method == "flood":
                m = flood_mask(image, [s], tolerance=params["tolerance"], relative=True)
            else:
                m = grow_region(image, s, rule=method, spacing=spacing, **params).mask()
            times.append(time.perf_counter() - t0)
            ious.append(iou(m, gt == i))
    ious = np.array(ious)
    return float((ious >= 0.5).mean()), float(np.median(ious)), 1e3 * statistics.median(times)


def big_click_ms(rule: str, image2d: np.ndarray, seeds, n: int = 40) -> float:
    """Median ms per click of ClickSegmenter.add_object on the image tiled to 2,048^2."""
    big = np.tile(image2d, (4, 4))
    seg = ClickSegmenter(big, rule=rule)
    seg.add_object(seeds[0])  # warm-up
    times = []
    for s in seeds[1:n + 1]:
        t0 = time.perf_counter()
        seg.add_object((s[0] + 1024, s[1] + 1024))
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", action="store_true", help="also find the best single setting")
    ap.add_argument("--only", choices=[*DATASETS, "nuclei2d-noisy"], default=None)
    ap.add_argument("--methods", default="flood,contrast,adaptive,edge")
    args = ap.parse_args()
    methods = args.methods.split(",")
    cases = []
    for name in DATASETS:
        data = load(name)
        if isinstance(data, str):
            print(f"skipped {name}: {data}")
            continue
        cases.append((name, *data))
        if name == "nuclei2d":
            cases.append(("nuclei2d-noisy", degrade(data[0]), data[1]))
    if args.only:
        cases = [c for c in cases if c[0] == args.only]
    print("| image | method | setting | alone: IoU>=0.5 | alone: median IoU | ms/click "
          "| together: IoU>=0.5 | together: median IoU | in click order (dock): IoU>=0.5 "
          "| in click order: median IoU |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, image, gt in cases:
        ids, seeds = innermost(gt)
        for method in methods:
            settings = [("default", DEFAULTS[method])]
            if args.sweep:
                key, values = SWEEP[method]
                best = max(values, key=lambda v: run(method, image, gt, ids, seeds,
                                                     {**DEFAULTS[method], key: v}, "alone")[0])
                settings.append((f"best {key}={best}", {**DEFAULTS[method], key: best}))
            for label, params in settings:
                fa, ma, ms = run(method, image, gt, ids, seeds, params, "alone")
                ft, mt, _ = run(method, image, gt, ids, seeds, params, "together")
                fd, md, _ = run(method, image, gt, ids, seeds, params, "dock")
                print(f"| {name} ({len(ids)}) | {method} | {label} | {fa:.0%} | {ma:.2f} "
                      f"| {ms:.1f} | {ft:.0%} | {mt:.2f} | {fd:.0%} | {md:.2f} |", flush=True)
    two_d = [c for c in cases if c[0] == "nuclei2d"]
    if two_d:
        _, image, gt = two_d[0]
        _, seeds = innermost(gt)
        for rule in [m for m in methods if m != "flood"]:
            print(f"2,048^2 ClickSegmenter.add_object, rule={rule}: "
                  f"{big_click_ms(rule, image, seeds):.1f} ms per click")


if __name__ == "__main__":
    main()
