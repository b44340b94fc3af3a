"""Benchmark ``compare_tiled`` on zarr volumes against reading both volumes once.

Run ``python benchmarks/bench_batch_compare.py [--quick]`` from the repository
root. Two uint8 mask volumes (256 x 2048 x 2048, chunks 64 x 512 x 512; with
``--quick`` 64 x 1024 x 1024) are written once to a temporary folder, chunk by
chunk. In the same process, timed alternately (medians): reading every chunk
of both arrays once (the baseline, nothing computed) and

* ``compare_tiled(objects=False)``: what ``maskclean compare`` computes for a
  big pair (binary counts and scores; the confusion matrix comes free);
* ``compare_tiled`` with objects on the uint8 label volumes (ids are global);
* informational, on a smaller volume: boolean masks, whose objects are
  connected components joined across chunks (labelling every chunk twice).

Target (issue 11): within 2x of reading both arrays once. The peak memory
(``ru_maxrss`` of this process, dask's threaded scheduler) is printed after
the table; the data is written by a child process, so it does not count.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import tempfile
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np
from _common import interleaved, main_for, row  # also puts the repo on sys.path

from napari_maskclean.batch.compare import compare_tiled


def _chunk(seed: int, shape: tuple[int, ...], shift: int) -> tuple[np.ndarray, np.ndarray]:
    """Blocky blobs (about 40 % foreground) and a shifted, noisy prediction of them."""
    rng = np.random.default_rng(seed)
    coarse = rng.random(tuple(max(1, s // 8) for s in shape)) < 0.4
    truth = coarse.repeat(8, 0).repeat(8, 1).repeat(8, 2)[: shape[0], : shape[1], : shape[2]]
    pred = np.roll(truth, shift, axis=2)
    pred[rng.random(shape) < 0.01] ^= True
    return truth.astype(np.uint8), pred.astype(np.uint8)


def _make(folder: Path, shape: tuple[int, int, int], chunks: tuple[int, int, int]):
    import zarr

    t = zarr.create_array(str(folder / "truth.zarr"), shape=shape, chunks=chunks, dtype="u1")
    p = zarr.create_array(str(folder / "pred.zarr"), shape=shape, chunks=chunks, dtype="u1")
    grid = [range(0, s, c) for s, c in zip(shape, chunks, strict=True)]
    for k, (z, y, x) in enumerate(np.ndindex(*(len(g) for g in grid))):
        sl = tuple(slice(g[i], g[i] + c) for g, i, c in zip(grid, (z, y, x), chunks, strict=True))
        a, b = _chunk(k, chunks, shift=3)
        t[sl], p[sl] = a, b


def _read_all(t: da.Array, p: da.Array) -> None:
    """Read every chunk of both arrays once (nothing else computed)."""
    def nothing(b):
        return np.zeros((1,) * b.ndim, dtype=np.uint8)

    da.compute(t.map_blocks(nothing, chunks=(1,) * t.ndim).sum(),
               p.map_blocks(nothing, chunks=(1,) * p.ndim).sum())


PEAKS: list[str] = []


def _peak(what: str) -> None:
    mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    PEAKS.append(f"peak memory after {what}: {mib:.0f} MiB (ru_maxrss of this process)")


def run(quick: bool) -> list[dict[str, Any]]:
    shape = (64, 1024, 1024) if quick else (256, 2048, 2048)
    chunks = (64, 512, 512)
    repeats = 2 if quick else 3
    size = "x".join(map(str, shape)) + " uint8 zarr x2"
    rows = []
    folder = Path(tempfile.mkdtemp(prefix="bench_batch_compare_"))
    try:
        # written by a child process, so the peak memory below is the comparison's
        writer = multiprocessing.get_context("fork").Process(
            target=_make, args=(folder, shape, chunks))
        writer.start()
        writer.join()
        import zarr

        zt, zp = zarr.open(str(folder / "truth.zarr"), mode="r"), zarr.open(
            str(folder / "pred.zarr"), mode="r")
        _peak("opening the volumes")
        t, p = da.from_zarr(zt), da.from_zarr(zp)
        with dask.config.set(scheduler="threads"):
            ours, base = interleaved(lambda: compare_tiled(t, p, objects=False),
                                     lambda: _read_all(t, p), repeats)
            rows.append(row("compare_tiled, pixel metrics (maskclean compare)", size, ours,
                            "read both arrays once", base, "<= 2x", ours <= 2 * base))
            _peak("compare_tiled, pixel metrics")
            ours, base = interleaved(lambda: compare_tiled(t, p),
                                     lambda: _read_all(t, p), repeats)
            rows.append(row("compare_tiled + objects (label ids)", size, ours,
                            "read both arrays once", base, "<= 2x", ours <= 2 * base))
            _peak("compare_tiled + objects (labels)")
            small = (64, 1024, 1024)
            tb = t[: small[0], : small[1], : small[2]] > 0
            pb = p[: small[0], : small[1], : small[2]] > 0
            ours, base = interleaved(lambda: compare_tiled(tb, pb),
                                     lambda: _read_all(tb, pb), 1)
            rows.append(row("compare_tiled + objects (bool: components across chunks)",
                            "x".join(map(str, small)) + " bool", ours,
                            "read both arrays once", base, "-", None))
            _peak("compare_tiled + objects (components)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
    print("\n" + "\n".join(PEAKS))
