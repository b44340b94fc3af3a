"""Normalised instances for :mod:`.instances`: boxes, areas, crops or runs, and pair overlaps.

Any input kind (dense stack, list of 2D masks, list of COCO RLEs) becomes one
:class:`_Parsed`; the intersections of the pairs whose boxes overlap are then
counted by the compiled kernels of :mod:`._instances_kernels`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import rle as _rle
from ._instances_kernels import (
    _box_area_2d,
    _box_area_stack,
    _inter_crops,
    _inter_runs,
    _overlapping_boxes,
)
from ._parallel import run_chunked
from ._rle_kernels import _fill_crop


class _Parsed:
    """Boxes ``(y0, x0, y1, x1)``, areas and crops (dense) or runs (RLE) of instances."""

    def __init__(self, masks: Any, name: str = "masks") -> None:
        if isinstance(masks, np.ndarray) and masks.ndim == 3:
            self.kind = "stack"
            items: Sequence[Any] = masks
        elif isinstance(masks, list | tuple):
            items = masks
            if len(items) and all(isinstance(m, dict) for m in items):
                self.kind = "rle"
            elif any(isinstance(m, dict) for m in items):
                raise TypeError(f"{name} mixes RLE dicts and arrays; convert them to one kind")
            else:
                self.kind = "list"
        else:
            raise TypeError(
                f"{name} must be an (N, H, W) array, a list of 2D masks or a list of RLE "
                f"dicts, got {type(masks).__name__}"
                + (f" of shape {masks.shape}" if isinstance(masks, np.ndarray) else "")
            )
        self.n = len(items)
        if self.kind == "rle":
            try:
                shape, self.starts, self.ends, self.roff, self.areas, self.boxes = (
                    _rle.runs_of_many(list(items))
                )
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
            self.shape = tuple(int(v) for v in shape)
            return
        if self.kind == "stack":
            arrays = [_binary_view(masks, name)]
            self.shape = masks.shape[1:]
        else:
            arrays = [_binary_view(m, f"{name}[{k}]", ndim=2) for k, m in enumerate(items)]
            shapes = {a.shape for a in arrays}
            if len(shapes) > 1:
                k = next(k for k, a in enumerate(arrays) if a.shape != arrays[0].shape)
                raise ValueError(
                    f"all masks must have the same shape: {name}[0] is {arrays[0].shape}, "
                    f"{name}[{k}] is {arrays[k].shape}"
                )
            self.shape = arrays[0].shape if arrays else (0, 0)
        info = np.zeros((self.n, 6), np.int64)
        # bool masks cannot hold other values: skip the binary check's extra pass
        check = any(
            np.asarray(m).dtype != bool for m in ([masks] if self.kind == "stack" else items)
        )
        if self.kind == "stack":
            run_chunked(_box_area_stack, self.n, arrays[0], info, check, work=arrays[0].size)
            arrays = list(arrays[0])
        else:
            for k, a in enumerate(arrays):
                _box_area_2d(a, info[k], check)
        bad = np.flatnonzero(info[:, 5] > 1)
        if bad.size:
            raise ValueError(
                f"masks must be binary (0/1 or bool); mask {int(bad[0])} has the value "
                f"{int(info[bad[0], 5])}: pass `masks > 0`, or split a label image "
                "with labels_to_instances"
            )
        self.boxes, self.areas = info[:, :4].copy(), info[:, 4].copy()
        sizes = (self.boxes[:, 2] - self.boxes[:, 0]) * (self.boxes[:, 3] - self.boxes[:, 1])
        self.offs = np.zeros(self.n + 1, np.int64)
        np.cumsum(sizes, out=self.offs[1:])
        self.buf = np.empty(self.offs[-1], np.uint8)
        for k, a in enumerate(arrays):
            y0, x0, y1, x1 = self.boxes[k]
            self.buf[self.offs[k] : self.offs[k + 1]].reshape(y1 - y0, x1 - x0)[...] = a[
                y0:y1, x0:x1
            ]

    def crop(self, k: int) -> NDArray[np.bool_]:
        """Instance ``k`` inside its box."""
        y0, x0, y1, x1 = self.boxes[k]
        if self.kind == "rle":
            out = np.zeros((y1 - y0, x1 - x0), bool)
            r0, r1 = self.roff[k], self.roff[k + 1]
            _fill_crop(self.starts[r0:r1], self.ends[r0:r1], self.shape[0], y0, x0, out)
            return out
        return self.buf[self.offs[k] : self.offs[k + 1]].reshape(y1 - y0, x1 - x0).view(bool)

    def to_rle(self) -> _Parsed:
        """The same instances as parsed RLEs (for comparing dense with RLE input)."""
        if self.kind == "rle":
            return self
        rles = [
            _rle.encode_crop(self.crop(k), *self.boxes[k, :2], self.shape) for k in range(self.n)
        ]
        return _Parsed(rles)


def _binary_view(m: Any, name: str, ndim: int | None = None) -> NDArray[np.uint8]:
    arr = np.asarray(m)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be a 2D mask, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.view(np.uint8)
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 1:
        return arr.view(np.uint8) if arr.dtype.kind == "u" else arr.astype(np.uint8)
    if arr.dtype.kind in "iuf":
        if arr.size and not np.all((arr == 0) | (arr == 1)):
            raise ValueError(
                f"{name} must be binary (0/1 or bool): pass `masks > 0`, or split a label "
                "image with labels_to_instances"
            )
        return arr.astype(np.uint8)
    raise TypeError(f"{name} must be a bool or numeric array, got dtype {arr.dtype}")


def _pair_intersections(
    a: _Parsed, b: _Parsed, same: bool, bound: tuple[str, float] | None = None
) -> tuple[NDArray, NDArray, NDArray]:
    """Candidate pairs (boxes overlap) and their intersections.

    With ``bound=(metric, threshold)``, pairs whose metric cannot reach the
    threshold even if their intersection filled the common box (nor the
    smaller mask) are dropped before counting: exact for thresholding.
    """
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same image shape, got {a.shape} and {b.shape}")
    if a.kind == "rle" or b.kind == "rle":
        a, b = a.to_rle(), b.to_rle()
    pi, pj = _overlapping_boxes(a.boxes, b.boxes, same)
    if bound is not None:
        ba, bb = a.boxes[pi], b.boxes[pj]
        common = np.maximum(np.minimum(ba[:, 2], bb[:, 2]) - np.maximum(ba[:, 0], bb[:, 0]), 0)
        common *= np.maximum(np.minimum(ba[:, 3], bb[:, 3]) - np.maximum(ba[:, 1], bb[:, 1]), 0)
        ai, aj = a.areas[pi], b.areas[pj]
        best = np.minimum(np.minimum(ai, aj), common)
        possible = _scores(best, ai, aj, bound[0]) >= bound[1]
        pi, pj = pi[possible], pj[possible]
    inter = np.empty(pi.size, np.int64)
    if a.kind == "rle":
        args = (a.starts, a.ends, a.roff, a.boxes, b.starts, b.ends, b.roff, b.boxes)
        h = max(int(a.shape[0]), 1)
        run_chunked(_inter_runs, pi.size, *args, h, pi, pj, inter, work=pi.size * 1000)
    else:
        args = (a.buf, a.offs, a.boxes, b.buf, b.offs, b.boxes)
        run_chunked(_inter_crops, pi.size, *args, pi, pj, inter, work=pi.size * 1000)
    return pi, pj, inter


def _scores(inter: NDArray, area_i: NDArray, area_j: NDArray, metric: str) -> NDArray:
    if metric == "iou":
        den = area_i + area_j - inter
    elif metric == "ios":
        den = np.minimum(area_i, area_j)
    else:
        raise ValueError(f"metric must be 'iou' or 'ios', got {metric!r}")
    out = np.zeros(inter.shape, np.float64)
    np.divide(inter, den, out=out, where=den > 0)
    return out
