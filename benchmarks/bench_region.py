"""Benchmark napari_maskclean.core.region (seeded region growing).

Run ``python benchmarks/bench_region.py [--quick]`` from the repository root.
Timings are medians of interleaved repeats (ours, baseline, ours, ...) in one
process, after a warm-up call of each (which also loads or compiles the numba
kernels).

Baselines: ``cv2.floodFill`` with a fixed range, mask only, 4-connectivity
(including the allocation of its (H+2, W+2) mask), and
``skimage.segmentation.flood(..., connectivity=1)``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from _common import interleaved, main_for, row  # also puts the repo on sys.path
from scipy import ndimage as ndi
from skimage.segmentation import flood

from napari_maskclean.core.region import RegionGrower, flood_mask, region_grow


def _blobs(shape: tuple[int, ...], sigma: float, seed: int) -> np.ndarray:
    """Smooth random landscape scaled to 0..255 (uint8)."""
    rng = np.random.default_rng(seed)
    a = ndi.gaussian_filter(rng.random(shape, dtype=np.float32), sigma)
    a = (a - a.min()) / (a.max() - a.min()) * 255
    return a.astype(np.uint8)


def _cells(n: int, seed: int) -> tuple[np.ndarray, list[list[int]]]:
    """Noisy uint16 'cells' (bright disks) on a dark background, and 10 seeds in cells."""
    rng = np.random.default_rng(seed)
    image = rng.normal(100, 5, (n, n))
    yy, xx = np.ogrid[:n, :n]
    centres = []
    for _ in range(int(60 * (n / 2048) ** 2) + 10):
        cy, cx = rng.integers(64, n - 64, 2)
        r = rng.integers(15, 50) * n / 2048 + 4
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= r * r] = rng.normal(450, 5)
        centres.append([int(cy), int(cx)])
    image += rng.normal(0, 5, image.shape)
    return np.clip(image, 0, 65535).astype(np.uint16), centres[-10:]


def run(quick: bool) -> list[dict[str, Any]]:
    """Run the benchmarks and return the table rows.

    Parameters
    ----------
    quick : bool
        1024² instead of 2048² images, 128³ instead of 256³ volumes, and
        fewer repeats.

    Returns
    -------
    list of dict
        One row per timing, as built by ``_common.row`` (keys ``operation``,
        ``size``, ``ours_ms``, ``baseline``, ``baseline_ms``, ``ratio``,
        ``target``, ``met``).
    """
    n2 = 1024 if quick else 2048
    n3 = 128 if quick else 256
    rep2 = 5 if quick else 21
    rep3 = 3 if quick else 5
    rows = []

    # -- one seed, 2D uint8: against cv2.floodFill --------------------------
    im = _blobs((n2, n2), 8, 0)
    seed = (n2 // 2, n2 // 2)
    tol = 40

    def cv2_flood() -> None:
        mask = np.zeros((n2 + 2, n2 + 2), np.uint8)
        cv2.floodFill(
            im,
            mask,
            (seed[1], seed[0]),
            0,
            tol,
            tol,
            4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8),
        )

    ours = flood_mask(im, [list(seed)], tolerance=tol)
    frac = ours.mean()
    t_ours, t_base = interleaved(
        lambda: flood_mask(im, [list(seed)], tolerance=tol), cv2_flood, rep2
    )
    rows.append(
        row(
            f"flood 1 seed {n2}² uint8 ({frac:.0%} filled)",
            f"{n2}x{n2}",
            t_ours,
            "cv2.floodFill fixed range, mask only, 4-conn",
            t_base,
            "<= 1.5x",
            t_ours <= 1.5 * t_base,
        )
    )

    # -- one seed, 2D float32: the numba kernel against skimage -------------
    imf = im.astype(np.float32)
    t_ours, t_base = interleaved(
        lambda: flood_mask(imf, [list(seed)], tolerance=tol),
        lambda: flood(imf, seed, tolerance=tol, connectivity=1),
        rep2,
    )
    rows.append(
        row(
            f"flood 1 seed {n2}² float32 ({frac:.0%} filled)",
            f"{n2}x{n2}",
            t_ours,
            "skimage flood, connectivity=1",
            t_base,
            "-",
            None,
        )
    )

    # -- one seed, 3D: against skimage --------------------------------------
    vol = _blobs((n3, n3, n3), 4, 1)
    seed3 = (n3 // 2,) * 3
    frac3 = flood_mask(vol, [list(seed3)], tolerance=tol).mean()
    t_ours, t_base = interleaved(
        lambda: flood_mask(vol, [list(seed3)], tolerance=tol),
        lambda: flood(vol, seed3, tolerance=tol, connectivity=1),
        rep3,
    )
    rows.append(
        row(
            f"flood 1 seed {n3}³ uint8 ({frac3:.0%} filled)",
            f"{n3}x{n3}x{n3}",
            t_ours,
            "skimage flood, connectivity=1",
            t_base,
            "<= 0.5x",
            t_ours <= 0.5 * t_base,
        )
    )

    # -- region_grow, 10 seeds, 2D: absolute target -------------------------
    cells, cell_seeds = _cells(n2, 2)
    rng = np.random.default_rng(3)
    blob_seeds = rng.integers(0, n2, (10, 2)).tolist()
    cases = [
        ("cells, uint16", cells, cell_seeds, 60),
        ("landscape, uint8, tol 10", im, blob_seeds, 10),
        ("landscape, uint8, tol 30 (worst case)", im, blob_seeds, 30),
    ]
    for name, image, seeds, t in cases:
        cover = (region_grow(image, seeds, tolerance=t) > 0).mean()

        def base(image: np.ndarray = image, seeds: list = seeds, t: float = t) -> None:
            for s in seeds:
                flood(image, tuple(s), tolerance=t, connectivity=1)

        t_ours, t_base = interleaved(
            lambda image=image, seeds=seeds, t=t: region_grow(image, seeds, tolerance=t),
            base,
            max(3, rep2 // 2),
        )
        rows.append(
            row(
                f"region_grow 10 seeds {n2}² ({name}; {cover:.0%} covered)",
                f"{n2}x{n2}",
                t_ours,
                "10x skimage flood (no merge)",
                t_base,
                "< 150 ms",
                t_ours < 150,
            )
        )

    # -- the same worst case on one thread: what the parallel split gains ------
    name, image, seeds, t = cases[-1]
    t_ours, t_base = interleaved(
        lambda: region_grow(image, seeds, tolerance=t),
        lambda: region_grow(image, seeds, tolerance=t, threads=1),
        max(3, rep2 // 2),
    )
    rows.append(
        row(
            f"region_grow 10 seeds {n2}² ({name}), default threads",
            f"{n2}x{n2}",
            t_ours,
            "region_grow threads=1",
            t_base,
            "informational",
            None,
        )
    )

    # -- a click: the 11th seed added to 10 grown ones (what the widget does) --
    image, t = im, 10
    grown = RegionGrower(image, tolerance=t).add_seeds(blob_seeds)
    extra = [[n2 // 3, n2 // 2]]
    t_ours, t_base = interleaved(
        lambda: grown.add_seeds(extra).labels(),
        lambda: region_grow(image, blob_seeds + extra, tolerance=t),
        max(3, rep2 // 2),
    )
    rows.append(
        row(
            f"click: 11th seed added to 10 grown, {n2}² (landscape, tol 10)",
            f"{n2}x{n2}",
            t_ours,
            "region_grow of all 11 seeds",
            t_base,
            "< 100 ms",
            t_ours < 100,
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
