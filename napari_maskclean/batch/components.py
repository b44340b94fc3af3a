"""Exact connected-component decisions on chunked (dask) arrays.

Removing small objects, filling holes and removing small holes decide per
connected component, by its size over the whole image or by whether it touches
the image border. A component can cross any number of chunks, so no halo makes
these operations tile-local. They are computed exactly in two passes, the way
dask-image's ``ndmeasure.label`` joins labels across chunks:

1. every chunk is labelled on its own (SciPy, face connectivity by default);
   per chunk we keep only small summaries: the number of components, their
   sizes, whether they touch the image border, and the chunk's outer planes;
2. the planes on both sides of every chunk boundary form thin slabs; two
   labels that meet in a slab are the same component (union-find via SciPy's
   sparse connected components), so global sizes and border flags are sums and
   "any" over the joined labels;
3. every chunk is labelled again (deterministically, the same labels) and each
   pixel is decided by a lookup table of its component.

Memory stays bounded by the chunk size plus the summaries (one integer per
component and two planes per chunk), so the image can be larger than memory.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import dask
import dask.array as da
import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from skimage.measure import label as sk_label

__all__ = [
    "ComponentTable",
    "component_table",
    "fill_holes",
    "remove_small_holes",
    "remove_small_objects",
]


def _opencv_ok(block: NDArray, by_value: bool) -> bool:
    return not by_value and block.ndim == 2 and block.size > 0 and max(block.shape) < 2**31


def _u8(block: NDArray) -> NDArray:
    return block.view(np.uint8) if block.dtype == bool else (block != 0).view(np.uint8)


def _label(block: NDArray, connectivity: int, by_value: bool) -> tuple[NDArray, int]:
    """Label one chunk: components of True pixels, or of equal non-zero values.

    Any deterministic labelling works (both passes label a chunk the same way);
    OpenCV's is ~7x faster than SciPy's on 2D masks.
    """
    if _opencv_ok(block, by_value):
        n, lab = cv2.connectedComponents(_u8(block), connectivity=4 if connectivity == 1
                                         else 8, ltype=cv2.CV_32S)
        return lab, int(n) - 1
    if by_value:
        lab, n = sk_label(block, background=0, connectivity=connectivity, return_num=True)
        return lab, int(n)
    structure = ndi.generate_binary_structure(block.ndim, connectivity)
    lab, n = ndi.label(block, structure=structure)
    return lab, int(n)


@dataclass
class _Summary:
    n: int
    sizes: NDArray[np.int64]
    border: NDArray[np.bool_]
    values: NDArray | None  # the value of each component (label images)
    first: list[NDArray]  # first plane of the local labels along each axis
    last: list[NDArray]  # last plane along each axis
    first_vals: list[NDArray] | None
    last_vals: list[NDArray] | None


def _summarise(
    block: NDArray, index: tuple[int, ...], numblocks: tuple[int, ...], connectivity: int,
    by_value: bool,
) -> _Summary:
    if _opencv_ok(block, by_value):
        # sizes from OpenCV's statistics: no second pass over the labels
        n, lab, stats, _ = cv2.connectedComponentsWithStats(
            _u8(block), connectivity=4 if connectivity == 1 else 8, ltype=cv2.CV_32S)
        n = int(n) - 1
        sizes = stats[1:, cv2.CC_STAT_AREA].astype(np.int64)
    else:
        lab, n = _label(block, connectivity, by_value)
        sizes = np.bincount(lab.reshape(-1), minlength=n + 1)[1:].astype(np.int64)
    border = np.zeros(n + 1, dtype=bool)
    first, last = [], []
    first_vals: list[NDArray] | None = [] if by_value else None
    last_vals: list[NDArray] | None = [] if by_value else None
    for ax in range(block.ndim):
        f = np.take(lab, 0, axis=ax)
        b = np.take(lab, -1, axis=ax)
        if index[ax] == 0:
            border[f] = True
        if index[ax] == numblocks[ax] - 1:
            border[b] = True
        first.append(f.copy())
        last.append(b.copy())
        if by_value:
            first_vals.append(np.take(block, 0, axis=ax).copy())
            last_vals.append(np.take(block, -1, axis=ax).copy())
    values = None
    if by_value and n:
        values = np.zeros(n, dtype=block.dtype)
        flat = lab.reshape(-1)
        values[flat[flat > 0] - 1] = block.reshape(-1)[flat > 0]
    return _Summary(n, sizes, border[1:], values, first, last, first_vals, last_vals)


@dataclass
class ComponentTable:
    """The components of a chunked image, joined across chunks.

    Attributes
    ----------
    offsets : dict
        Block index -> offset added to that block's local labels (global label =
        local label + offset, for local labels > 0).
    counts : dict
        Block index -> number of local components.
    root : ndarray of int
        Global label (1-based, index 0 unused) -> component id.
    size : ndarray of int
        Component id -> number of pixels.
    touches_border : ndarray of bool
        Component id -> True when the component touches the image border.
    """

    offsets: dict[tuple[int, ...], int]
    counts: dict[tuple[int, ...], int]
    root: NDArray[np.int64]
    size: NDArray[np.int64]
    touches_border: NDArray[np.bool_]

    @property
    def n_components(self) -> int:
        """Number of connected components in the whole image."""
        return int(self.size.size)

    def block_table(self, index: tuple[int, ...], decision: NDArray, background) -> NDArray:
        """Lookup table local label -> output for one block (entry 0 = background)."""
        off, n = self.offsets[index], self.counts[index]
        table = np.empty(n + 1, dtype=decision.dtype)
        table[0] = background
        table[1:] = decision[self.root[off + 1 : off + n + 1]]
        return table


def _slab_joins(
    a: NDArray, b: NDArray, va: NDArray | None, vb: NDArray | None, connectivity: int
) -> tuple[str, NDArray, NDArray]:
    """What joins across one chunk boundary, from the planes on both sides.

    Returns ``("pairs", p, q)``: global labels p[i] and q[i] touch; or
    ``("groups", g, q)``: all global labels q with the same slab component g touch.
    """
    if connectivity == 1:
        # face neighbours only: the pixel right across the boundary
        touch = (a > 0) & (b > 0)
        if va is not None:
            touch &= va == vb
        return "pairs", a[touch], b[touch]
    # diagonal neighbours too: label the two-plane slab and join what meets in it
    slab = np.stack([a, b])
    if va is not None:
        comp = sk_label(np.stack([va, vb]), background=0, connectivity=connectivity)
    else:
        structure = ndi.generate_binary_structure(slab.ndim, connectivity)
        comp, _ = ndi.label(slab > 0, structure=structure)
    keep = slab > 0
    return "groups", comp[keep], slab[keep]


def component_table(
    image: da.Array, *, connectivity: int = 1, by_value: bool = False
) -> ComponentTable:
    """Find the connected components of a chunked image, joined across chunks.

    Parameters
    ----------
    image : dask.array.Array
        Boolean mask (components of True pixels), or with ``by_value`` a label
        image (components of equal non-zero value, as
        ``skimage.measure.label(image, background=0)``).
    connectivity : int, optional
        1 = face neighbours (default), up to ``image.ndim`` = all neighbours.
    by_value : bool, optional
        Components of equal values instead of True pixels.

    Returns
    -------
    ComponentTable
    """
    if not 1 <= connectivity <= image.ndim:
        raise ValueError(
            f"connectivity must be between 1 and {image.ndim} for a {image.ndim}D image, "
            f"got {connectivity}"
        )
    numblocks = image.numblocks
    blocks = image.to_delayed()
    indices = list(itertools.product(*(range(n) for n in numblocks)))
    tasks = [
        dask.delayed(_summarise)(blocks[idx], idx, numblocks, connectivity, by_value)
        for idx in indices
    ]
    summaries = dict(zip(indices, dask.compute(*tasks), strict=True))

    offsets, counts, total = {}, {}, 0
    for idx in indices:
        offsets[idx], counts[idx] = total, summaries[idx].n
        total += summaries[idx].n
    sizes = np.zeros(total + 1, dtype=np.int64)
    border = np.zeros(total + 1, dtype=bool)
    for idx in indices:
        s, off = summaries[idx], offsets[idx]
        sizes[off + 1 : off + s.n + 1] = s.sizes
        border[off + 1 : off + s.n + 1] = s.border

    starts = [np.concatenate([[0], np.cumsum(c)]) for c in image.chunks]
    edges: list[NDArray] = []
    n_extra = 0
    for ax in range(image.ndim):
        other = [d for d in range(image.ndim) if d != ax]
        plane_shape = tuple(image.shape[d] for d in other)
        for k in range(1, numblocks[ax]):
            a = np.zeros(plane_shape, dtype=np.int64)
            b = np.zeros(plane_shape, dtype=np.int64)
            va = vb = None
            if by_value:
                va = np.zeros(plane_shape, dtype=image.dtype)
                vb = np.zeros(plane_shape, dtype=image.dtype)
            for idx in indices:
                if idx[ax] not in (k - 1, k):
                    continue
                s, off = summaries[idx], offsets[idx]
                where = tuple(
                    slice(starts[d][idx[d]], starts[d][idx[d] + 1]) for d in other
                )
                if idx[ax] == k - 1:
                    plane, target = s.last[ax], a
                    if by_value:
                        va[where] = s.last_vals[ax]
                else:
                    plane, target = s.first[ax], b
                    if by_value:
                        vb[where] = s.first_vals[ax]
                target[where] = np.where(plane > 0, plane + off, 0)
            kind, p, q = _slab_joins(a, b, va, vb, connectivity)
            if kind == "groups" and p.size:
                # slab components become extra graph nodes after the global labels
                p = p + total + n_extra
                n_extra += int(p.max()) - total - n_extra
            if p.size:
                edges.append(np.stack([p, q], axis=1))

    n_nodes = total + 1 + n_extra
    if edges:
        e = np.concatenate(edges)
        graph = coo_matrix(
            (np.ones(len(e), dtype=np.int8), (e[:, 0], e[:, 1])), shape=(n_nodes, n_nodes)
        )
        _, comp = connected_components(graph, directed=False)
    else:
        comp = np.arange(n_nodes)
    comp = comp[: total + 1]
    # renumber the components of the real labels 0..m-1 in order of first label
    _, root = np.unique(comp[1:], return_inverse=True)
    root = np.concatenate([[-1], root]).astype(np.int64)
    m = int(root.max()) + 1 if total else 0
    size = np.bincount(root[1:], weights=sizes[1:], minlength=m).astype(np.int64)
    touches = np.bincount(root[1:], weights=border[1:], minlength=m) > 0
    return ComponentTable(offsets, counts, root, size, touches)


def _decide_blocks(
    image: da.Array, table: ComponentTable, decide, *, connectivity: int, by_value: bool
) -> da.Array:
    """Label every chunk again and map each pixel through ``decide(local labels, table, block)``."""
    blocks = image.to_delayed()
    numblocks = image.numblocks
    out = np.empty(numblocks, dtype=object)
    for idx in itertools.product(*(range(n) for n in numblocks)):
        shape = tuple(image.chunks[d][idx[d]] for d in range(image.ndim))
        task = dask.delayed(_relabel_and_apply)(
            blocks[idx], decide(idx), connectivity, by_value
        )
        out[idx] = da.from_delayed(task, shape=shape, dtype=decide.dtype)
    return da.block(out.tolist())


def _relabel_and_apply(block, apply, connectivity, by_value):
    lab, _ = _label(block, connectivity, by_value)
    return apply(block, lab)


class _Decision:
    """Per-block callables for :func:`_decide_blocks` (picklable for distributed)."""

    def __init__(self, table: ComponentTable, keep: NDArray[np.bool_], mode: str, dtype):
        self.table, self.keep, self.mode, self.dtype = table, keep, mode, np.dtype(dtype)

    def __call__(self, idx):
        lut = self.table.block_table(idx, self.keep, False)
        return _Apply(lut, self.mode)


class _Apply:
    def __init__(self, lut: NDArray[np.bool_], mode: str):
        self.lut, self.mode = lut, mode

    def __call__(self, block: NDArray, lab: NDArray) -> NDArray:
        hit = self.lut[lab]
        if self.mode == "keep":  # objects: keep the pixels of kept components
            return np.where(hit, block, np.zeros((), dtype=block.dtype))
        return hit  # the pixels of the chosen components


def _check_mask(mask: da.Array, what: str) -> da.Array:
    if mask.dtype != bool:
        raise TypeError(
            f"{what} needs a boolean mask, got dtype {mask.dtype}; threshold the image "
            "first or pass mask != 0"
        )
    return mask


def remove_small_objects(
    mask: da.Array, *, min_size: int, connectivity: int = 1, by_value: bool = False
) -> da.Array:
    """Remove connected components with fewer than ``min_size`` pixels, exactly.

    Equals :func:`napari_maskclean.core.morphology` ``"remove_small_objects"``
    on the whole image (face connectivity), chunk by chunk. With ``by_value``
    the input is a label image and the components are regions of equal label
    (as with ``per_label=True``); removed pixels become 0.
    """
    if not by_value:
        _check_mask(mask, "remove_small_objects")
    table = component_table(mask, connectivity=connectivity, by_value=by_value)
    keep = table.size >= min_size
    decide = _Decision(table, keep, "keep", mask.dtype)
    return _decide_blocks(mask, table, decide, connectivity=connectivity, by_value=by_value)


def _holes(mask: da.Array, max_size: int | None, connectivity: int) -> da.Array:
    _check_mask(mask, "hole filling")
    background = ~mask
    table = component_table(background, connectivity=connectivity)
    fill = ~table.touches_border
    if max_size is not None:
        fill &= table.size < max_size
    decide = _Decision(table, fill, "hit", bool)
    holes = _decide_blocks(background, table, decide, connectivity=connectivity, by_value=False)
    return mask | holes


def fill_holes(mask: da.Array, *, connectivity: int = 1) -> da.Array:
    """Fill every background component that does not touch the image border, exactly."""
    return _holes(mask, None, connectivity)


def remove_small_holes(mask: da.Array, *, max_size: int, connectivity: int = 1) -> da.Array:
    """Fill holes with fewer than ``max_size`` pixels (border-touching background excluded)."""
    return _holes(mask, max_size, connectivity)
