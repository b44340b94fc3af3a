"""Benchmark and measure mask -> COCO polygon tracing (``mask_to_polygons``).

Run ``python benchmarks/bench_polygons.py [--quick]`` from the repository root.

Speed rows (medians of interleaved repeats, after a warm-up that loads the
numba kernel): ``mask_to_polygons`` (pixel-edge outlines, exact) against the
previous implementation, OpenCV contours through the boundary pixel centres
(``cv2.findContours(RETR_CCOMP, CHAIN_APPROX_SIMPLE)``, shifted by 0.5),
kept here verbatim as the baseline. The test mask is 2048² with about 1,000
ragged blobs (1,600 random discs, many overlapping, with noisy edges: diagonal
contacts, specks, small holes).
Target: no slower than 2x the baseline.

Quality rows (``--quality`` prints them as well): IoU of each object with its
polygons rasterised back by pycocotools (``frPyObjects`` + ``merge`` +
``decode``, holes subtracted), for the old centre trace and for the
pixel-edge trace: discs of radius 5/15/30, random blobs, the coins sample.
"""

from __future__ import annotations

import argparse
from typing import Any

import cv2
import numpy as np
from _common import format_table, interleaved, row  # also puts the repo on sys.path
from pycocotools import mask as mask_utils
from scipy import ndimage as ndi

from napari_maskclean.core.polygons import Polygon, mask_to_polygons


# --- the previous mask_to_polygons (pixel-centre contours), the baseline -------------
def _centre_ring(contour: np.ndarray, tolerance: float) -> list[float]:
    pts = contour.reshape(-1, 2)
    if tolerance > 0 and len(pts) >= 3:
        simple = cv2.approxPolyDP(contour, float(tolerance), True).reshape(-1, 2)
        if len(simple) >= 3:
            pts = simple
    if len(pts) < 3:
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0) + 1
        return [float(v) for v in (x0, y0, x1, y0, x1, y1, x0, y1)]
    return (pts.astype(np.float64) + 0.5).ravel().tolist()


def centre_polygons(mask: np.ndarray, tolerance: float = 0) -> list[Polygon]:
    img = np.ascontiguousarray(mask, dtype=np.uint8)
    contours, hierarchy = cv2.findContours(img, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    hier = hierarchy[0]
    out = []
    for i, c in enumerate(contours):
        if hier[i][3] >= 0:
            continue
        holes = []
        child = hier[i][2]
        while child >= 0:
            holes.append(_centre_ring(contours[child], tolerance))
            child = hier[child][0]
        out.append(Polygon(_centre_ring(c, tolerance), holes))
    return out


# --- test masks -----------------------------------------------------------------------
def blobs(n: int, n_discs: int, seed: int = 0, max_radius: int = 25) -> np.ndarray:
    """Ragged blobs: random discs (many overlapping) with a noisy signed-distance edge.

    Ragged edges give diagonal contacts, specks and small holes.
    """
    rng = np.random.default_rng(seed)
    m = np.zeros((n, n), np.uint8)
    for _ in range(n_discs):
        centre = (int(rng.integers(0, n)), int(rng.integers(0, n)))
        cv2.circle(m, centre, int(rng.integers(4, max_radius)), 1, -1)
    dist = ndi.distance_transform_edt(m) - ndi.distance_transform_edt(1 - m)
    noise = ndi.gaussian_filter(rng.standard_normal((n, n)).astype(np.float32), 1.5)
    return dist + noise / noise.std() > 0


def disc(r: float, n: int | None = None) -> np.ndarray:
    n = n or int(2 * r + 10)
    yy, xx = np.mgrid[:n, :n]
    c = (n - 1) / 2 + 0.3  # off-centre: no 4-fold symmetry
    return (yy - c) ** 2 + (xx - c + 0.17) ** 2 <= r * r


def coco_iou(mask: np.ndarray, polys: list[Polygon]) -> float:
    """IoU of a mask with its polygons rasterised by pycocotools (holes subtracted)."""
    h, w = mask.shape
    back = np.zeros((h, w), bool)
    for p in polys:
        part = mask_utils.decode(mask_utils.frPyObjects([p.exterior], h, w))[..., 0] > 0
        if p.holes:
            hole = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(p.holes, h, w)))
            part &= hole == 0
        back |= part
    return float((back & mask).sum() / (back | mask).sum())


def quality() -> list[tuple[str, int, float, float, float, float]]:
    """(case, objects, old mean IoU, old min IoU, new mean IoU, new min IoU)."""
    from napari_maskclean.samples import coins_sample

    cases: dict[str, list[np.ndarray]] = {
        f"disc r={r}": [disc(r + k / 7) for k in range(7)] for r in (5, 15, 30)
    }
    field = blobs(512, 100, seed=3)
    lab, n = ndi.label(field)
    sl = ndi.find_objects(lab)
    cases["random blobs 512²"] = [np.pad(lab[s] == i + 1, 2) for i, s in enumerate(sl)]
    s = coins_sample()
    for key in ("truth", "annotation"):
        lab = s[key]
        cases[f"coins {key}"] = [lab == i for i in np.unique(lab) if i]
    out = []
    for name, masks in cases.items():
        old = [coco_iou(m, centre_polygons(m)) for m in masks]
        new = [coco_iou(m, mask_to_polygons(m)) for m in masks]
        out.append((name, len(masks), np.mean(old), np.min(old), np.mean(new), np.min(new)))
    return out


def run(quick: bool) -> list[dict[str, Any]]:
    n = 1024 if quick else 2048
    reps = 3 if quick else 7
    mask = blobs(n, 1600 if n == 2048 else 400)
    n_obj = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)[0] - 1
    rows = []
    for label, kw in (
        ("", {}),
        (", simple=False", {"simple": False}),
        (", tolerance=1", {"tolerance": 1}),
    ):
        t = kw.get("tolerance", 0)
        ours, base = interleaved(
            lambda kw=kw: mask_to_polygons(mask, **kw), lambda t=t: centre_polygons(mask, t), reps
        )
        rows.append(
            row(
                f"mask_to_polygons{label}",
                f"{n}x{n} bool, {n_obj} blobs",
                ours,
                "cv2 centre contours (old)",
                base,
                "<= 2x",
                ours <= 2 * base,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--quality", action="store_true", help="also the round-trip IoU table")
    args = parser.parse_args()
    print(format_table(run(args.quick)), flush=True)
    if args.quality:
        print("\n| objects | n | old mean IoU | old min IoU | new mean IoU | new min IoU |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, k, om, on, nm, nn in quality():
            print(f"| {name} | {k} | {om:.4f} | {on:.4f} | {nm:.4f} | {nn:.4f} |")


if __name__ == "__main__":
    main()
