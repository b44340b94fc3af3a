"""Benchmark label-only elastic deformation against the seed's NSegment+ code.

Run ``python benchmarks/bench_noise.py [--quick]`` from the repository root.
Rows: ``elastic_deform_labels`` (seed mode, alpha=30, sigma=3 and alpha=100,
sigma=10) on a 2048x2048 6-class map and on a ragged 2048x2048 instance mask
(3000 Voronoi instances with a noisy background: ~20k components), against
the seed's ``transform`` (NameError fixed) timed in the same run; on the
instance mask the seed runs on a 256x256 crop and is extrapolated by its
component count (its cost is one full-crop pass per component). A last row
times ``noise_sweep`` (5 alphas x 2 sigmas x 2 repeats) on a 1024x1024 map.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
from _common import interleaved, main_for, row  # also puts the repo on sys.path
from scipy import ndimage as ndi

from napari_maskclean.core.noise import elastic_deform_labels
from napari_maskclean.core.noise_metrics import noise_sweep


def _seed_transform(segment, alpha, sigma, area_thresh=1000, random_state=None):
    """The seed's NoisySegmentPlus.transform with (alpha, sigma) given and area_thresh bound."""
    shape = segment.shape[:2]
    dx = 2 * random_state.rand(*shape) - 1
    dy = 2 * random_state.rand(*shape) - 1
    dx, dy = alpha * dx, alpha * dy
    mask_ignore = np.zeros(shape, dtype=bool)
    for class_id in np.unique(segment):
        if class_id == -1:
            continue
        class_mask = (segment == class_id).astype(np.uint8)
        num_labels, labels = cv2.connectedComponents(class_mask)
        for comp_id in range(1, num_labels):
            comp_mask = (labels == comp_id).astype(np.uint8)
            area = np.sum(comp_mask)
            if area > area_thresh:
                continue
            ys, xs = np.where(comp_mask)
            pad = alpha // 2
            y1, y2 = max(ys.min() - pad, 0), min(ys.max() + pad, shape[0] - 1)
            x1, x2 = max(xs.min() - pad, 0), min(xs.max() + pad, shape[1] - 1)
            mask_ignore[y1 : y2 + 1, x1 : x2 + 1] = True
    dx[mask_ignore], dy[mask_ignore] = 0, 0
    dx = cv2.GaussianBlur(dx, (0, 0), sigma)
    dy = cv2.GaussianBlur(dy, (0, 0), sigma)
    x, y = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]))
    map_x = np.clip(x + dx, 0, shape[1] - 1).astype(np.float32)
    map_y = np.clip(y + dy, 0, shape[0] - 1).astype(np.float32)
    return cv2.remap(segment, map_x, map_y, interpolation=cv2.INTER_NEAREST)


def semantic_map(n: int, seed: int = 0) -> np.ndarray:
    """6 classes in smooth blobs (argmax of blurred noise)."""
    rng = np.random.default_rng(seed)
    k = max(n // 128, 4)
    noise = rng.random((6, k, k)).astype(np.float32)
    up = np.stack([cv2.resize(c, (n, n), interpolation=cv2.INTER_CUBIC) for c in noise])
    return np.argmax(up, axis=0).astype(np.uint8)


def instance_mask(n: int, seed: int = 0, count: int = 3000) -> np.ndarray:
    """Voronoi instances with a ragged, noisy background (many small pieces)."""
    rng = np.random.default_rng(seed)
    seeds = np.zeros((n, n), np.int32)
    pts = rng.integers(0, n, (count, 2))
    seeds[pts[:, 0], pts[:, 1]] = np.arange(1, count + 1)
    idx = ndi.distance_transform_edt(seeds == 0, return_distances=False, return_indices=True)
    inst = seeds[idx[0], idx[1]]
    inst[ndi.gaussian_filter(rng.random((n, n)), 2) > 0.5] = 0
    return inst


def _n_components(a: np.ndarray) -> int:
    return sum(cv2.connectedComponents((a == v).astype(np.uint8))[0] - 1 for v in np.unique(a))


def run(quick: bool) -> list[dict]:
    n = 1024 if quick else 2048
    reps = 2 if quick else 3
    rows = []
    sem = semantic_map(n)
    for alpha, sigma in ((30, 3), (100, 10)):
        def ours(alpha=alpha, sigma=sigma):
            return elastic_deform_labels(sem, alpha=alpha, sigma=sigma, random_state=0)

        def base(alpha=alpha, sigma=sigma):
            return _seed_transform(sem, alpha, sigma, random_state=np.random.RandomState(0))

        assert np.array_equal(ours(), base())
        t_o, t_b = interleaved(ours, base, reps)
        rows.append(row(f"deform 6-class a={alpha} s={sigma}", f"{n}x{n} uint8", t_o,
                        "seed transform", t_b, "<= 200 ms", t_o <= 200))
    inst = instance_mask(n)
    crop = np.ascontiguousarray(inst[:256, :256])
    scale = _n_components(inst) / max(_n_components(crop), 1)
    for alpha, sigma in ((30, 3), (100, 10)):
        def ours(alpha=alpha, sigma=sigma):
            return elastic_deform_labels(inst, alpha=alpha, sigma=sigma, random_state=0)

        t_o, _ = interleaved(ours, ours, reps)
        t0 = time.perf_counter()
        _seed_transform(crop, alpha, sigma, random_state=np.random.RandomState(0))
        per_component_crop = time.perf_counter() - t0
        # each component costs a full pass: cost ~ components x pixels
        t_b = per_component_crop * scale * (inst.size / crop.size) * 1e3
        rows.append(row(f"deform instances a={alpha} s={sigma}", f"{n}x{n} int32", t_o,
                        "seed (extrapolated from 256² crop)", t_b, "<= 200 ms", t_o <= 200))
    m = n // 2
    small = semantic_map(m, seed=1)
    t0 = time.perf_counter()
    noise_sweep(small, [0, 25, 50, 100, 200], [3, 10], repeats=2, area_threshold=0)
    t_s = (time.perf_counter() - t0) * 1e3
    rows.append(row("noise_sweep 5x2x2", f"{m}x{m} uint8", t_s, "-", float("nan"), "-", None))
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
