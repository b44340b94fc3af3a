"""Tile-local operations on dask arrays: ``map_overlap`` with the halo the op needs.

An operation whose output pixel depends only on input pixels at most ``halo``
pixels away gives, on every chunk extended by ``halo`` on each side, exactly
the in-memory result on the chunk's own pixels. At the image border there is
no extension (``boundary="none"``), so the op sees the real border, as in
memory. Chunks are first made at least ``2 * halo + 1`` wide (a chunk narrower
than the footprint would be refused by the core functions, and dask needs
chunks at least as wide as the overlap).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dask.array as da
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize

__all__ = ["TilingError", "map_local", "widen_chunks"]


class TilingError(ValueError):
    """A step that cannot be computed tile by tile exactly (the message says why and what to do)."""


def _depths(ndim: int, halo: int, axes: Sequence[int] | None) -> dict[int, int]:
    """Halo per axis: ``halo`` along ``axes`` (default: all), 0 elsewhere."""
    axes = range(ndim) if axes is None else [a % ndim for a in axes]
    return {a: (halo if a in axes else 0) for a in range(ndim)}


def widen_chunks(arr: da.Array, depth: dict[int, int]) -> da.Array:
    """Rechunk so that every chunk along an axis is at least ``2 * depth + 1`` wide."""
    chunks = []
    for ax, c in enumerate(arr.chunks):
        need = 2 * depth.get(ax, 0) + 1
        if need > 1 and min(c) < need:
            if need >= arr.shape[ax]:
                c = (arr.shape[ax],)
            else:
                c = ensure_minimum_chunksize(need, c)
        chunks.append(c)
    chunks = tuple(chunks)
    return arr if chunks == arr.chunks else arr.rechunk(chunks)


def map_local(
    func: Callable[[np.ndarray], np.ndarray],
    arr: da.Array,
    *,
    halo: int,
    dtype,
    axes: Sequence[int] | None = None,
) -> da.Array:
    """Apply ``func`` chunk by chunk with ``halo`` pixels of overlap; exact for local ops.

    Parameters
    ----------
    func : callable
        Array in, array of the same shape out (a core function with its options bound).
    arr : dask.array.Array
        The input.
    halo : int
        How far (in pixels) an output pixel looks into the input, along ``axes``.
    dtype : dtype
        Output dtype.
    axes : sequence of int, optional
        The axes with a halo (default all; per-slice ops use the last two).

    Returns
    -------
    dask.array.Array
        Same shape and chunks as ``arr`` (after widening).
    """
    meta = np.empty((0,) * arr.ndim, dtype=dtype)
    if halo <= 0:
        return arr.map_blocks(func, dtype=dtype, meta=meta)
    depth = _depths(arr.ndim, int(halo), axes)
    arr = widen_chunks(arr, depth)
    # an axis held by one chunk needs no overlap (and dask refuses a deeper one)
    depth = {a: (0 if len(arr.chunks[a]) == 1 else d) for a, d in depth.items()}
    if not any(depth.values()):
        return arr.map_blocks(func, dtype=dtype, meta=meta)
    return arr.map_overlap(func, depth=depth, boundary="none", dtype=dtype, meta=meta)
