"""maskclean run on dask: a 20,000² zarr image and 1,000 files, against the issue's targets.

1. A 4-step recipe (median 3 + Otsu, remove small objects, close r 2, nearest fill
   with max_distance 10) on a 20,000 x 20,000 uint8 image stored as zarr, run
   by ``maskclean run`` on a local cluster of 2 worker processes: throughput
   (target >= 25 megapixels/s) and the peak memory of the whole process tree
   (target < 2 GB). The tiled output is checked against ``Recipe.apply`` on an
   8,192² crop held in memory.
2. 1,000 PNG files of 1,024²: the same recipe on 1 and on 2 workers (target:
   >= 1.8x faster on 2).

``--quick`` runs 8,192² and 100 files. The machine has 2 cores: close other
work first; figures vary from run to run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repository first on sys.path)
import numpy as np

RECIPE_STEPS = [
    ("threshold", {"method": "otsu", "prefilter": "median", "prefilter_size": 3},
     {"image": "img"}, dict(new_target=True, label_value=1)),
    ("morphology", {"operation": "remove_small_objects", "min_size": 64}, {"labels": "m"}, {}),
    ("morphology", {"operation": "close", "radius": 2}, {"labels": "m"}, {}),
    ("fill_labels", {"max_hole_size": None, "max_distance": 10.0}, {"labels": "m"}, {}),
]


def recipe():
    from napari_maskclean.recipe import Recipe, Step

    return Recipe(steps=[Step(op, p, i, "m", **kw) for op, p, i, kw in RECIPE_STEPS])


def tile_image(block_id: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """A reproducible 'microscopy' tile: blobs of many sizes on noise (per tile seed)."""
    import cv2

    rng = np.random.default_rng(block_id[0] * 100_003 + block_id[1])
    img = rng.normal(50, 12, shape).astype(np.float32)
    blobs = np.zeros(shape, np.float32)
    for _ in range(shape[0] * shape[1] // 20_000):
        cy, cx = int(rng.integers(0, shape[0])), int(rng.integers(0, shape[1]))
        cv2.circle(blobs, (cx, cy), int(rng.integers(2, 40)), float(rng.integers(60, 150)), -1)
    return np.clip(img + blobs, 0, 255).astype(np.uint8)


def _block(block, block_info=None):
    info = block_info[0]
    shape = tuple(e - s for s, e in info["array-location"])
    return tile_image(tuple(info["chunk-location"]), shape)


def make_zarr(path: Path, size: int, chunk: int = 2048) -> None:
    """Write the input image chunk by chunk (never whole in memory)."""
    import dask.array as da

    arr = da.zeros((size, size), chunks=chunk, dtype=np.uint8).map_blocks(
        _block, dtype=np.uint8)
    arr.to_zarr(str(path), overwrite=True)


class TreeMemory:
    """Peak summed RSS of this process and all its children, sampled every 0.1 s."""

    def __init__(self) -> None:
        import psutil

        self.proc = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_cli(args: list[str]) -> float:
    from napari_maskclean.batch import cli_run

    t0 = time.perf_counter()
    code = cli_run.main(args)
    if code != 0:
        raise SystemExit(f"maskclean run failed with exit code {code}")
    return time.perf_counter() - t0


def big_image(work: Path, size: int, tile: int = 4096) -> list[str]:
    import dask.array as da

    src = work / "big.zarr"
    t0 = time.perf_counter()
    make_zarr(src, size)
    made = time.perf_counter() - t0
    rec = work / "recipe.json"
    recipe().save(rec, overwrite=True)
    with TreeMemory() as mem:
        seconds = run_cli([str(rec), str(src), "-o", str(work / "out"), "--workers", "2",
                           "--quiet", "--tile-size", str(tile)])
    mpx = size * size / 1e6
    rows = [
        f"| {size:,}² uint8 zarr, 4-step recipe, 2 worker processes, tiles {tile}² | "
        f"{seconds:.1f} s | "
        f"{mpx / seconds:.1f} Mpx/s | >= 25 Mpx/s | {'yes' if mpx / seconds >= 25 else 'no'} |",
        f"| peak memory of the process tree | {mem.peak / 2**30:.2f} GB | | < 2 GB | "
        f"{'yes' if mem.peak < 2**31 else 'no'} |",
    ]
    # identical to Recipe.apply on a crop held in memory
    crop = min(size, 8192)
    data = da.from_zarr(str(src))[:crop, :crop].compute()
    from napari_maskclean.batch.engine import run_tiled

    tiled = run_tiled(recipe(), {"img": da.from_array(data, chunks=3000)})["m"].compute()
    same = np.array_equal(tiled, recipe().apply(data))
    rows.append(f"| tiled == Recipe.apply on a {crop:,}² crop (chunks 3,000) | "
                f"{'identical' if same else 'DIFFERENT'} | | identical | "
                f"{'yes' if same else 'no'} |")
    print(f"(made the input in {made:.1f} s)", file=sys.stderr)
    return rows


def many_files(work: Path, n: int) -> list[str]:
    import cv2

    folder = work / "files"
    folder.mkdir()
    for k in range(n):
        cv2.imwrite(str(folder / f"f{k:04d}.png"), tile_image((k, 7), (1024, 1024)))
    rec = work / "recipe.json"
    recipe().save(rec, overwrite=True)
    times = {}
    for workers in (1, 2):
        out = work / f"out{workers}"
        times[workers] = run_cli([str(rec), str(folder), "-o", str(out), "--workers",
                                  str(workers), "--quiet"])
    ratio = times[1] / times[2]
    return [f"| {n:,} files of 1,024², 1 worker -> 2 workers | {times[1]:.1f} s -> "
            f"{times[2]:.1f} s | {ratio:.2f}x | >= 1.8x | {'yes' if ratio >= 1.8 else 'no'} |"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8,192² and 100 files")
    parser.add_argument("--only", choices=["big", "files"], default=None)
    parser.add_argument("--tile", type=int, default=3072, help="tile edge of the big run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    try:
        rows = ["| case | time | figure | target | met |", "|---|---:|---:|---|---|"]
        if args.only in (None, "big"):
            rows += big_image(work, 8192 if args.quick else 20_000, args.tile)
        if args.only in (None, "files"):
            rows += many_files(work, 100 if args.quick else 1000)
        print("\n".join(rows))
        print(f"(cpu count {os.cpu_count()})", file=sys.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
