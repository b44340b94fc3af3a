"""Benchmark the ground-truth comparison core against simple baselines.

Run ``python benchmarks/bench_compare.py [--quick]`` from the repository root.
Timings are medians of interleaved repeats (ours, baseline, ours, ...) in one
process. Baselines marked "extrapolated" were timed on a smaller problem and
scaled linearly by the number of pixels (or pixel x object pairs).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from _common import interleaved, main_for, row  # also puts the repo on sys.path

from napari_maskclean.core.compare import (
    ConfusionCounter,
    binary_metrics,
    confusion_map,
    confusion_matrix,
    match_objects,
)


def _sklearn_all(t: np.ndarray, p: np.ndarray) -> None:
    import sklearn.metrics as skm

    t, p = t.ravel(), p.ravel()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        skm.accuracy_score(t, p)
        skm.precision_score(t, p, zero_division=0)
        skm.recall_score(t, p, zero_division=0)
        skm.f1_score(t, p, zero_division=0)
        skm.jaccard_score(t, p, zero_division=0)
        skm.matthews_corrcoef(t, p)
        skm.balanced_accuracy_score(t, p)


def _grid_objects(n_side: int, cell: int, *, shift: int, seed: int) -> np.ndarray:
    """n_side**2 rectangles with random non-consecutive ids on a grid."""
    rng = np.random.default_rng(seed)
    lab = np.zeros((n_side * cell, n_side * cell), np.int32)
    ids = rng.choice(10**6, n_side * n_side, replace=False) + 1
    sizes = rng.integers(cell // 3, cell - 12, (n_side * n_side, 2))
    k = 0
    for i in range(n_side):
        for j in range(n_side):
            y, x = i * cell + 5 + shift, j * cell + 5
            lab[y : y + sizes[k, 0], x : x + sizes[k, 1]] = ids[k]
            k += 1
    return lab


def _naive_pairs(t: np.ndarray, p: np.ndarray, tids: np.ndarray, pids: np.ndarray) -> None:
    for a in tids:
        ma = t == a
        for b in pids:
            mb = p == b
            inter = np.count_nonzero(ma & mb)
            union = np.count_nonzero(ma | mb)
            _ = inter / union if union else 0.0


def run(quick: bool) -> list[dict[str, Any]]:
    """Run the benchmarks and return the table rows.

    Parameters
    ----------
    quick : bool
        2048² instead of 4096² images, 256 instead of 1024 objects per side
        for ``match_objects``, and fewer repeats.

    Returns
    -------
    list of dict
        One row per timing, as built by ``_common.row`` (keys ``operation,
        size, ours_ms, baseline, baseline_ms, ratio, target, met``).
    """
    rng = np.random.default_rng(0)
    reps = 5 if quick else 11
    rows = []

    # ---- binary_metrics vs bare read, vs scikit-learn
    n = 2048 if quick else 4096
    t = (rng.random((n, n)) < 0.3).astype(np.uint8)
    p = (rng.random((n, n)) < 0.3).astype(np.uint8)
    ours, base = interleaved(
        lambda: binary_metrics(t, p),
        lambda: (np.count_nonzero(t), np.count_nonzero(p)),
        reps,
    )
    rows.append(
        row(
            f"binary_metrics {n}²",
            f"{n}x{n} uint8",
            ours,
            "bare read (2x count_nonzero)",
            base,
            "<= 10x",
            ours <= 10 * base,
        )
    )
    c = 512 if quick else 1024
    scale = (n * n) / (c * c)
    tc, pc = t[:c, :c].copy(), p[:c, :c].copy()
    ours, base = interleaved(
        lambda: binary_metrics(t, p), lambda: _sklearn_all(tc, pc), max(3, reps // 3)
    )
    rows.append(
        row(
            f"binary_metrics {n}²",
            f"{n}x{n} uint8",
            ours,
            f"sklearn 7 metric fns ({c}² crop x{scale:.0f}, extrapolated)",
            base * scale,
            "faster",
            ours < base * scale,
        )
    )

    # ---- confusion_matrix, 10 classes
    t10 = rng.integers(0, 10, (n, n), dtype=np.uint8)
    p10 = rng.integers(0, 10, (n, n), dtype=np.uint8)
    t10c, p10c = t10[:c, :c].ravel(), p10[:c, :c].ravel()

    def sk_cm() -> None:
        import sklearn.metrics as skm

        skm.confusion_matrix(t10c, p10c)

    ours, base = interleaved(lambda: confusion_matrix(t10, p10), sk_cm, max(3, reps // 3))
    rows.append(
        row(
            f"confusion_matrix 10 classes {n}²",
            f"{n}x{n} uint8",
            ours,
            f"sklearn confusion_matrix ({c}² crop x{scale:.0f}, extrapolated)",
            base * scale,
            "faster",
            ours < base * scale,
        )
    )

    # ---- confusion_map vs np.select
    def select_map() -> np.ndarray:
        tb, pb = t != 0, p != 0
        return np.select([tb & pb, ~tb & pb, tb & ~pb], [1, 2, 3], 0).astype(np.uint8)

    ours, base = interleaved(lambda: confusion_map(t, p), select_map, reps)
    rows.append(
        row(
            f"confusion_map {n}²",
            f"{n}x{n} uint8",
            ours,
            "np.select of boolean masks",
            base,
            "-",
            None,
        )
    )

    # ---- ConfusionCounter: one 40-px brush stroke on 2048²
    m = 2048
    tm = (rng.random((m, m)) < 0.3).astype(np.uint8)
    pm = (rng.random((m, m)) < 0.3).astype(np.uint8)
    counter = ConfusionCounter(tm, pm)
    # diagonal stroke of a 40-px round brush over 200 px: bbox 240 x 240
    y0, x0, box = 900, 900, 240
    yy, xx = np.mgrid[:box, :box]
    d = np.abs(yy - xx) / np.sqrt(2)  # distance to the diagonal
    stroke = d <= 20
    region = (slice(y0, y0 + box), slice(x0, x0 + box))
    painted = [np.where(stroke, v, pm[region]) for v in (1, 0)]
    state = {"i": 0}

    def brush() -> None:
        state["i"] ^= 1
        counter.update(region, pred_region=painted[state["i"]])

    ours, base = interleaved(brush, lambda: binary_metrics(tm, pm), reps * 3)
    rows.append(
        row(
            "ConfusionCounter update 40-px stroke",
            f"{m}x{m}, bbox {box}x{box}",
            ours,
            "full recompute (binary_metrics)",
            base,
            "<= 50 ms",
            ours <= 50,
        )
    )

    # ---- match_objects, 1000 objects per side
    n_side, cell = (16, 64) if quick else (32, 64)
    lt = _grid_objects(n_side, cell, shift=0, seed=1)
    lp = _grid_objects(n_side, cell, shift=3, seed=1)
    lp[lp == lp[lp > 0][0]] = 0  # one missing object
    n_obj = n_side * n_side
    k = 5 if quick else 10
    tids = np.unique(lt[lt > 0])[:k]
    pids = np.unique(lp[lp > 0])[:k]
    pair_scale = (n_obj / k) ** 2
    ours, base = interleaved(
        lambda: match_objects(lt, lp),
        lambda: _naive_pairs(lt, lp, tids, pids),
        max(3, reps // 2),
    )
    side = n_side * cell
    rows.append(
        row(
            f"match_objects {n_obj} objects per side",
            f"{side}x{side} int32",
            ours,
            f"naive per-pair IoU loop ({k}x{k} pairs x{pair_scale:.0f}, extrapolated)",
            base * pair_scale,
            "< 1000 ms",
            ours < 1000,
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
