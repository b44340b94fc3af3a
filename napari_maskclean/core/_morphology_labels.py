"""Per-label morphology for :mod:`.morphology`: each label processed in its own padded box.

Plus the rules that settle pixels claimed by several labels (nearest label,
mode filter) and the union of per-label results.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray

from ._morphology_kernels import _Backend, _binary_op, _count, _pick

# Above this maximum label, bounding boxes are found on a compacted copy.
_MAX_DIRECT_LABEL = 1 << 20


def _crop_pad(op: str, fp: NDArray[np.bool_]) -> tuple[int, ...]:
    """Margin around a label's bounding box that makes a crop exact."""
    half = tuple(s // 2 for s in fp.shape)
    if op in ("close", "smooth"):
        return tuple(2 * h for h in half)
    if op in ("erode", "dilate", "open"):
        return half
    if op in ("fill_holes", "remove_small_holes"):
        return (1,) * fp.ndim
    return (0,) * fp.ndim


def _padded(
    sl: tuple[slice, ...], pad: tuple[int, ...], shape: tuple[int, ...]
) -> tuple[slice, ...]:
    return tuple(
        slice(max(s.start - p, 0), min(s.stop + p, n))
        for s, p, n in zip(sl, pad, shape, strict=True)
    )


def _bbox(m: NDArray[np.bool_]) -> tuple[slice, ...] | None:
    if not m.any():
        return None
    out = []
    for axis in range(m.ndim):
        other = tuple(a for a in range(m.ndim) if a != axis)
        idx = np.flatnonzero(m.any(axis=other))
        out.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(out)


def _max_label(labels: NDArray[np.integer]) -> int:
    """Largest label, in one pass; raises for negative labels."""
    if labels.size == 0:
        return 0
    if np.issubdtype(labels.dtype, np.signedinteger):
        # Negative values become huge in the unsigned view: max and sign check at once.
        top = int(labels.view(labels.dtype.str.replace("i", "u")).max())
        if top > np.iinfo(labels.dtype).max:
            raise ValueError(
                "label images must not contain negative labels, found "
                f"{int(labels.min())}; relabel with "
                "skimage.segmentation.relabel_sequential or np.where(mask < 0, 0, mask)"
            )
        return top
    return int(labels.max())


def _label_boxes(
    labels: NDArray[np.integer], top: int | None = None
) -> list[tuple[int, tuple[slice, ...]]]:
    """(label, bounding box) for every label present, in ascending order."""
    if labels.size == 0:
        return []
    if top is None:
        top = _max_label(labels)
    if top == 0:
        return []
    if top <= _MAX_DIRECT_LABEL:
        objs = ndi.find_objects(labels)
        return [(i + 1, sl) for i, sl in enumerate(objs) if sl is not None]
    values, inverse = np.unique(labels, return_inverse=True)
    offset = 0 if values[0] == 0 else 1
    compact = (inverse.reshape(labels.shape) + offset).astype(np.int64)
    objs = ndi.find_objects(compact)
    return [
        (int(values[i + 1 - offset]), sl)
        for i, sl in enumerate(objs)
        if sl is not None and values[i + 1 - offset] != 0
    ]


def _per_label(
    labels: NDArray[np.integer],
    op: str,
    fp: NDArray[np.bool_],
    min_size: int,
    max_size: int,
    backend: _Backend,
    boxes: list[tuple[int, tuple[slice, ...]]],
    progress: Progress,
) -> NDArray[np.integer]:
    """Binary ``op`` on each label in its padded box; lowest label id wins."""
    out = labels.copy()
    pad = _crop_pad(op, fp)
    adds, removes = op in _ADDS, op in _REMOVES
    total = len(boxes)
    # Descending order: a lower id processed later overwrites a higher id's
    # claim on an originally-background pixel, so the lowest id wins,
    # independently of the processing order of anything else.
    for done, (k, sl) in enumerate(reversed(boxes), start=1):
        csl = _padded(sl, pad, labels.shape)
        crop = labels[csl]
        m = crop == k
        res = _binary_op(m, op, fp, min_size, max_size, backend)
        target = out[csl]
        if adds:
            target[res & (crop == 0)] = k
        if removes:
            target[m & ~res] = 0
        if progress is not None:
            progress(done, total)
    return out


def _nearest_labels(labels: NDArray[np.integer], new: NDArray[np.bool_]) -> NDArray[np.integer]:
    """Label of the nearest labelled pixel for each True pixel of ``new``."""
    box = _bbox((labels != 0) | new)
    crop = labels[box]
    idx = ndi.distance_transform_edt(crop == 0, return_distances=False, return_indices=True)
    where = new[box]
    return crop[tuple(i[where] for i in idx)]


def _mode_filter(
    labels: NDArray[np.integer],
    fp: NDArray[np.bool_],
    backend: _Backend,
    boxes: list[tuple[int, tuple[slice, ...]]],
    progress: Progress,
) -> NDArray[np.integer]:
    """Most frequent value under the footprint; ties keep the pixel, else lowest value."""
    background = labels == 0
    best_cnt = _count(background, fp, _pick(labels, fp, backend))
    own_cnt = np.where(background, best_cnt, 0)
    best_val = np.zeros_like(labels)
    half = tuple(s // 2 for s in fp.shape)
    total = len(boxes)
    for done, (k, sl) in enumerate(boxes, start=1):  # ascending: ties -> lowest
        csl = _padded(sl, half, labels.shape)
        m = labels[csl] == k
        c = _count(m, fp, _pick(m, fp, backend))
        bc, bv = best_cnt[csl], best_val[csl]
        better = c > bc
        bc[better] = c[better]
        bv[better] = k
        own_cnt[csl][m] = c[m]
        if progress is not None:
            progress(done, total)
    return np.where(own_cnt == best_cnt, labels, best_val)


def _labels_union(
    labels: NDArray[np.integer],
    op: str,
    fp: NDArray[np.bool_],
    min_size: int,
    max_size: int,
    backend: _Backend,
    progress: Progress,
) -> NDArray[np.integer]:
    """Binary ``op`` on all labels as one foreground; new pixels get the nearest label."""
    if op == "smooth":
        return _mode_filter(labels, fp, backend, _label_boxes(labels), progress)
    fg = labels != 0
    res = _binary_op(fg, op, fp, min_size, max_size, backend)
    out = np.where(res, labels, 0).astype(labels.dtype, copy=False)
    new = res & ~fg
    if new.any():
        out[new] = _nearest_labels(labels, new)
    if progress is not None:
        progress(1, 1)
    return out


_ADDS = frozenset({"dilate", "close", "fill_holes", "remove_small_holes", "smooth"})


_REMOVES = frozenset({"erode", "open", "remove_small_objects", "smooth"})


Progress = Callable[[int, int], None] | None
