"""Instance masks: merge_redundant, RLE encode/decode and the RLE IoU matrix.

Baselines in the same run: the seed's pair loop (seed 004, timed on a subset
and extrapolated to the full number of IoU calls it makes), pycocotools
(encode including its ``np.asfortranarray`` copy, decode). Correctness checks
run first: merge groups equal a brute-force reference (all pairs through
``pycocotools.mask.iou``, then connected components), encodings are
byte-identical to pycocotools, the RLE IoU matrix equals pycocotools' on a
sample of rows.
"""

from __future__ import annotations

import time
import tracemalloc

import _common  # noqa: F401  (puts the repository first on sys.path)
import numpy as np
from _common import interleaved, main_for, row
from pycocotools import mask as mask_utils
from scipy import ndimage as ndi
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components

from napari_maskclean.core.instances import mask_iou, merge_redundant
from napari_maskclean.core.rle import rle_decode, rle_encode


def detector_output(n_objects, copies, size, rng, radius=(8, 40)):
    """Clusters of near-duplicates: ellipses, each copy shifted and scaled a little."""
    h = w = size
    yy, xx = np.mgrid[:h, :w]
    masks = np.zeros((n_objects * copies, h, w), bool)
    scores = rng.random(n_objects * copies)
    k = 0
    for _ in range(n_objects):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        ry, rx = rng.uniform(*radius, size=2)
        for _ in range(copies):
            dy, dx = rng.normal(0, 1.0, size=2)
            sy, sx = rng.uniform(0.93, 1.07, size=2)
            masks[k] = ((yy - cy - dy) / (ry * sy)) ** 2 + ((xx - cx - dx) / (rx * sx)) ** 2 <= 1
            k += 1
    order = rng.permutation(len(masks))
    return masks[order], scores[order]


def seed_iou(mask1, mask2):
    """The seed's IoU (verbatim)."""
    intersection = np.logical_and(mask1, mask2).sum()
    union = np.logical_or(mask1, mask2).sum()
    if union == 0:
        return 0
    return intersection / union


def seed_combine(masks, iou_threshold=0.8, iou=seed_iou):
    """The seed's pair loop (verbatim but for the ``iou`` argument)."""
    combined, processed = [], set()
    for i in range(len(masks)):
        if i in processed:
            continue
        current = masks[i]
        group = np.copy(current)
        idx = [i]
        for j in range(i + 1, len(masks)):
            if j in processed:
                continue
            if iou(current, masks[j]) >= iou_threshold:
                group = np.logical_or(group, masks[j])
                idx.append(j)
        combined.append(group)
        processed.update(idx)
    return combined


def brute_groups(rles, threshold):
    """All pairs through pycocotools, then connected components (the reference)."""
    coco = [{"size": r["size"], "counts": r["counts"].encode()} for r in rles]
    iou = mask_utils.iou(coco, coco, [0] * len(coco))
    n = len(coco)
    _, comp = connected_components(csr_array(np.triu(iou >= threshold, 1)), directed=False)
    groups = {}
    for i in range(n):
        groups.setdefault(comp[i], []).append(i)
    return sorted(groups.values())


def time_once(f):
    t0 = time.perf_counter()
    f()
    return (time.perf_counter() - t0) * 1e3


def scattered_rles(n, size, rng):
    """``n`` RLEs of ellipses scattered over a ``size``² image (encoded from their boxes)."""
    from napari_maskclean.core.rle import encode_crop

    rles = []
    for _ in range(n):
        ry, rx = rng.uniform(5, 40, size=2)
        cy, cx = rng.uniform(0, size, size=2)
        y0, y1 = int(max(cy - ry, 0)), int(min(cy + ry + 1, size))
        x0, x1 = int(max(cx - rx, 0)), int(min(cx + rx + 1, size))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        crop = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        rles.append(encode_crop(crop, y0, x0, (size, size)))
    return rles


def run(quick: bool = False):
    rng = np.random.default_rng(0)
    rows = []
    n_obj, copies, size = (40, 5, 256) if quick else (200, 5, 512)
    masks, scores = detector_output(n_obj, copies, size, rng)
    n = len(masks)
    rles = [rle_encode(m) for m in masks]
    merged_d, groups_d = merge_redundant(masks, threshold=0.8)
    merged_r, groups_r = merge_redundant(rles, threshold=0.8)
    ref = brute_groups(rles, 0.8)
    same = [g.tolist() for g in groups_d] == ref == [g.tolist() for g in groups_r]
    assert same, "groups differ from the brute-force reference"
    assert all((rle_decode(r) == m).all() for r, m in zip(merged_r, merged_d))
    # the seed on a subset, extrapolated by its number of IoU calls on all masks
    full_iou = mask_iou(rles)
    calls = [0]

    def counting_iou(a, b):
        calls[0] += 1
        return full_iou[a, b]

    seed_combine(np.arange(n), 0.8, iou=counting_iou)
    sub = masks[: 60 if quick else 120]
    sub_calls = [0]

    def timed_iou(a, b):
        sub_calls[0] += 1
        return seed_iou(a, b)

    t_sub = time_once(lambda: seed_combine(sub, 0.8, iou=timed_iou))
    seed_ms = t_sub / sub_calls[0] * calls[0]
    label = f"{n} masks {size}² ({n_obj} objects x {copies})"
    dense_ms = min(time_once(lambda: merge_redundant(masks, threshold=0.8)) for _ in range(5))
    rle_ms = min(time_once(lambda: merge_redundant(rles, threshold=0.8)) for _ in range(5))
    rows.append(
        row(
            "merge_redundant, dense stack",
            label,
            dense_ms,
            f"seed pair loop (extrapolated, {calls[0]} IoU calls)",
            seed_ms,
            "<= 300 ms, >= 750x",
            dense_ms <= 300 and seed_ms / dense_ms >= 750,
        )
    )
    rows.append(
        row(
            "merge_redundant, RLE list",
            label,
            rle_ms,
            "seed pair loop (extrapolated)",
            seed_ms,
            "<= 150 ms, >= 750x",
            rle_ms <= 150 and seed_ms / rle_ms >= 750,
        )
    )

    # RLE encode / decode of a 2048² mask
    s = 512 if quick else 2048
    big = ndi.gaussian_filter(rng.random((s, s)), 8) > 0.5
    ref_rle = mask_utils.encode(np.asfortranarray(big.view(np.uint8)))
    assert rle_encode(big)["counts"] == ref_rle["counts"].decode()
    ours, base = interleaved(
        lambda: rle_encode(big),
        lambda: mask_utils.encode(np.asfortranarray(big.view(np.uint8))),
        15,
    )
    rows.append(
        row(
            "rle_encode",
            f"{s}² blobs",
            ours,
            "pycocotools encode + asfortranarray",
            base,
            "<= 1x",
            ours <= base,
        )
    )
    ours_rle = rle_encode(big)
    ours, base = interleaved(lambda: rle_decode(ours_rle), lambda: mask_utils.decode(ref_rle), 15)
    rows.append(
        row("rle_decode", f"{s}² blobs", ours, "pycocotools decode", base, "<= 1x", ours <= base)
    )

    # 10,000 RLEs of a 4096² image: IoU matrix against themselves
    n_big, s_big = (2000, 2048) if quick else (10_000, 4096)
    many = scattered_rles(n_big, s_big, rng)
    mask_iou(many[:50])  # warm-up (compilation cache load)
    # The first 800 MB float64 result of a process is paid in page faults to the
    # OS (measured 3.6 s for np.empty + fill alone on the shared machine); later
    # calls reuse the freed memory. Report both.
    t_cold = time_once(lambda: mask_iou(many))
    tracemalloc.start()
    t0 = time.perf_counter()
    dense = mask_iou(many)
    t_dense = (time.perf_counter() - t0) * 1e3
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    del dense
    t_sparse = min(time_once(lambda: mask_iou(many, sparse=True)) for _ in range(3))
    coco = [{"size": r["size"], "counts": r["counts"].encode()} for r in many]
    sample = coco[:100]
    t0 = time.perf_counter()
    ref_iou = mask_utils.iou(sample, coco, [0] * len(coco))
    coco_ms = (time.perf_counter() - t0) * 1e3 * len(coco) / len(sample)
    assert np.allclose(mask_iou(many[:100], many), ref_iou)
    rows.append(
        row(
            "mask_iou, RLE vs itself (dense out)",
            f"{n_big} RLEs {s_big}², peak {peak:.0f} MiB",
            t_dense,
            "pycocotools.mask.iou (extrapolated)",
            coco_ms,
            "<= 2000 ms, < 1 GB",
            t_dense <= 2000 and peak < 1024,
        )
    )
    rows.append(
        row(
            "mask_iou, RLE vs itself (dense out, first call of the process)",
            f"{n_big} RLEs {s_big}² (fresh pages from the OS)",
            t_cold,
            "pycocotools.mask.iou (extrapolated)",
            coco_ms,
            "-",
            None,
        )
    )
    rows.append(
        row(
            "mask_iou, RLE vs itself (sparse out)",
            f"{n_big} RLEs {s_big}²",
            t_sparse,
            "pycocotools.mask.iou (extrapolated)",
            coco_ms,
            "-",
            None,
        )
    )
    return rows


if __name__ == "__main__":
    main_for(run, __doc__)
