"""Compare a prediction with its ground truth on dask arrays, tile by tile, exactly.

Everything :mod:`napari_maskclean.core.compare` reports for a pair of masks is
a function of small, summable tables, so a volume of any size compares in
bounded memory (one pair of chunks per task, plus the per-object tables):

* the joint histogram of (truth value, predicted value) pairs, computed per
  chunk and summed ("map-reduce"): the binary confusion counts
  (:func:`~napari_maskclean.core.compare.metrics_from_counts`), the
  multi-class confusion matrix (labels need not be known up front: the
  sparse pair counts are merged) and, for label images, the object areas and
  pairwise intersections (ids are global already);
* for binary masks the objects are connected components: both foregrounds
  are labelled with :func:`~napari_maskclean.batch.components.component_table`
  (chunks joined across their faces, so an object crossing tile borders is
  counted once), then the chunks are labelled again, mapped to global ids and
  their (truth id, pred id) histogram is summed. Ids are renumbered in raster
  order of each object's first pixel, the numbering of
  :func:`skimage.measure.label`, so matches name the same ids as in memory;
* the object matching itself is the one of
  :func:`~napari_maskclean.core.compare.match_objects`, run once on the sums.

The per-chunk tables are merged by a tree of small tasks, so no task holds
more than a chunk pair or a few merged tables, whatever scheduler dask uses.

About the house's ~500 lines, one concern: the map (per-chunk tables), the
reduce and the final matching of one tiled comparison, which share the private
``_Stats``/``_Side`` tables; the component labelling is already in
:mod:`napari_maskclean.batch.components`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import dask
import dask.array as da
import numpy as np
from numpy.typing import NDArray

from ..core import compare as _core
from ..core._checks import _check_connectivity, _check_iou_threshold
from ..core.compare import ObjectMatch, metrics_from_counts
from ..core.compare import match_objects_from_overlaps as _match_from_overlaps
from ._pairs import Pairs, count_pairs, first_pixels, merge_first, merge_pairs
from .components import _label, component_table

__all__ = ["TiledComparison", "compare_tiled"]

Instances = Literal["auto", "labels", "components"]

# Merge this many per-chunk tables per task (tree reduction).
_SPLIT_EVERY = 16
# Largest number of distinct values for which confusion_matrix() builds a dense
# matrix without explicit labels (an instance label image has far more).
_MAX_CLASSES = 4096

# --------------------------------------------------------------------------
# per-chunk statistics
# --------------------------------------------------------------------------


@dataclass
class _Stats:
    """What one chunk pair (or a merge of several) contributes."""

    values: Pairs  # joint histogram of (truth value, pred value)
    objects: Pairs | None = None  # (truth id, pred id) intersections, both > 0
    first_t: tuple[NDArray, NDArray] | None = None  # component id -> first pixel
    first_p: tuple[NDArray, NDArray] | None = None


def _merge_stats(*parts: _Stats) -> _Stats:
    parts = list(parts)
    out = _Stats(merge_pairs([s.values for s in parts]))
    if parts[0].objects is not None:
        out.objects = merge_pairs([s.objects for s in parts])
    if parts[0].first_t is not None:
        out.first_t = merge_first([s.first_t for s in parts])
    if parts[0].first_p is not None:
        out.first_p = merge_first([s.first_p for s in parts])
    return out


@dataclass
class _Side:
    """How one side's objects are found in a chunk: label values, or components."""

    mode: str  # "labels" | "components" | "none"
    positive: float | None
    connectivity: int
    lut: NDArray | None = None  # local component label -> global id (components)


def _check_block(block: NDArray, what: str) -> NDArray:
    if block.dtype.kind == "f" and np.isnan(block).any():
        raise _core._nan_error(what)
    return block


def _local_components(block: NDArray, side: _Side, origin, shape) -> tuple[NDArray, tuple]:
    """A chunk's local component labels, and each component's global id and first pixel.

    The chunk's raster order agrees with the image's, so a component's first
    pixel in the chunk is its first in the image among the chunk's pixels.
    """
    fg = np.asarray(_core._foreground(block, side.positive), dtype=bool)
    lab, n = _label(fg, side.connectivity, False)
    firsts = first_pixels(lab.reshape(-1), n)
    local = np.unravel_index(firsts, lab.shape)
    glob = np.ravel_multi_index(
        tuple(c + o for c, o in zip(local, origin, strict=True)), shape
    ).astype(np.int64)
    return lab, (side.lut[1:].astype(np.int64), glob)


def _block_stats(
    t: NDArray, p: NDArray, origin: tuple[int, ...], shape: tuple[int, ...],
    side_t: _Side, side_p: _Side,
) -> _Stats:
    t = _check_block(np.asarray(t), "truth")
    p = _check_block(np.asarray(p), "pred")
    stats = _Stats(count_pairs(t.reshape(-1), p.reshape(-1)))
    if "components" not in (side_t.mode, side_p.mode):
        return stats  # objects (if any) come from the value histogram
    # the pair histogram is counted on the chunk's local (compact) labels, so
    # the dense kernel applies; only the occurring pairs are mapped to global ids
    oid, luts = [], []
    for k, (block, side) in enumerate(((t, side_t), (p, side_p))):
        if side.mode == "components":
            lab, first = _local_components(block, side, origin, shape)
            if k == 0:
                stats.first_t = first
            else:
                stats.first_p = first
            oid.append(lab.reshape(-1))
            luts.append(side.lut)
        else:
            oid.append(block.reshape(-1))
            luts.append(None)
    a, b, n = count_pairs(oid[0], oid[1])
    a = a.astype(np.int64) if luts[0] is None else luts[0][a]
    b = b.astype(np.int64) if luts[1] is None else luts[1][b]
    both = (a != 0) & (b != 0)
    # two local components of a chunk can be one global object (joined elsewhere)
    stats.objects = merge_pairs([(a[both], b[both], n[both])], force=True)
    return stats


def _tree_reduce(parts: list, split_every: int = _SPLIT_EVERY):
    merge = dask.delayed(_merge_stats, pure=True)
    while len(parts) > 1:
        parts = [merge(*parts[i : i + split_every]) for i in range(0, len(parts), split_every)]
    return parts[0]


# --------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TiledComparison:
    """Result of :func:`compare_tiled`.

    Attributes
    ----------
    metrics : dict
        What :func:`~napari_maskclean.core.compare.binary_metrics` returns for
        the whole arrays: counts ``tp, fp, fn, tn`` and the scores.
    objects : ObjectMatch or None
        What :func:`~napari_maskclean.core.compare.match_objects` returns for
        the objects (None with ``objects=False``).
    pair_truth, pair_pred, pair_counts : ndarray
        The joint histogram of the pixel values: value ``pair_truth[i]`` in
        the truth and ``pair_pred[i]`` in the prediction at ``pair_counts[i]``
        pixels (sorted, only pairs that occur).
    labels : list or None
        Default ``labels`` of :meth:`confusion_matrix`.
    shape : tuple of int
        Shape of the compared arrays.
    """

    metrics: dict[str, Any]
    objects: ObjectMatch | None
    pair_truth: NDArray
    pair_pred: NDArray
    pair_counts: NDArray[np.int64]
    labels: list[Any] | None = None
    shape: tuple[int, ...] = field(default=())

    def confusion_matrix(
        self,
        *,
        labels: list[float] | None = None,
        ignore_index: float | None = None,
        return_labels: bool = False,
    ) -> NDArray[np.int64] | tuple[NDArray[np.int64], NDArray]:
        """Multi-class confusion matrix, equal to the core's on the whole arrays.

        Parameters are those of
        :func:`~napari_maskclean.core.compare.confusion_matrix`; ``labels``
        defaults to the ``labels`` given to :func:`compare_tiled`.

        Raises
        ------
        ValueError
            Without ``labels``, if the images hold more than 4096 distinct
            values (instance label images): pass the classes of interest.
        """
        lab = self.labels if labels is None else labels
        a, b, n = self.pair_truth, self.pair_pred, self.pair_counts
        if ignore_index is not None:
            _core._check_positive(ignore_index, "ignore_index")
            keep = a != ignore_index
            a, b, n = a[keep], b[keep], n[keep]
        if lab is None:
            values = np.union1d(a, b)
            if values.size > _MAX_CLASSES:
                raise ValueError(
                    f"the images hold {values.size} distinct values (an instance label "
                    f"image?), too many for a dense confusion matrix; pass labels=[...] "
                    "with the classes to count"
                )
            ia, ib = np.searchsorted(values, a), np.searchsorted(values, b)
            cm = np.zeros((values.size, values.size), dtype=np.int64)
            np.add.at(cm, (ia, ib), n)
            if values.dtype.kind in "biu" and (not values.size or int(values[-1]) < 2**63):
                values = values.astype(np.int64)  # as the core's integer path
        else:
            values = _core._labels_array(lab)
            order = np.argsort(values, kind="stable")
            srt = values[order]
            ia = np.clip(np.searchsorted(srt, a), 0, max(srt.size - 1, 0))
            ib = np.clip(np.searchsorted(srt, b), 0, max(srt.size - 1, 0))
            ok = (srt[ia] == a) & (srt[ib] == b)
            cm = np.zeros((srt.size, srt.size), dtype=np.int64)
            np.add.at(cm, (order[ia[ok]], order[ib[ok]]), n[ok])
        if return_labels:
            return cm, values
        return cm

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict: ``metrics``, ``objects`` (or None) and ``shape``."""
        return {
            "metrics": dict(self.metrics),
            "objects": None if self.objects is None else self.objects.as_dict(),
            "shape": list(self.shape),
        }


# --------------------------------------------------------------------------
# the comparison
# --------------------------------------------------------------------------


def _as_dask(x: Any, what: str) -> da.Array:
    if isinstance(x, da.Array):
        arr = x
    else:
        arr = da.asarray(np.asarray(x) if not hasattr(x, "shape") else x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be a boolean, integer or float array, got dtype {arr.dtype}; "
            "convert it with .astype(np.int32) or threshold it first"
        )
    return arr


def _side_mode(instances: str, arr: da.Array, what: str) -> str:
    mode = instances
    if mode == "auto":
        mode = "components" if arr.dtype == bool else "labels"
    if mode == "labels" and arr.dtype.kind not in "biu":
        raise TypeError(
            f"{what} must be an integer label image (0 = background) for object "
            f"matching, got dtype {arr.dtype}; pass instances='components' to match "
            "its connected components, or objects=False"
        )
    return mode


def _check_options(instances: Any, iou_threshold: Any, connectivity: Any, ndim: int) -> int:
    if instances not in ("auto", "labels", "components"):
        raise ValueError(
            f"instances must be 'auto', 'labels' or 'components', got {instances!r}"
        )
    _check_iou_threshold(iou_threshold)
    return _check_connectivity(connectivity, ndim)


def _label_objects(values: Pairs, axis: int, what: str) -> tuple[NDArray, NDArray]:
    """Object ids (non-zero values) and their areas from the value histogram."""
    v, n = values[axis], values[2]
    nz = v != 0
    v = v[nz].astype(np.int64) if v.dtype == bool else v[nz]
    if v.size and v.dtype.kind == "i" and int(v.min()) < 0:
        raise ValueError(
            f"{what} contains negative labels; object ids must be >= 0 (0 = background)"
        )
    ids, inv = np.unique(v, return_inverse=True)
    areas = np.bincount(inv.reshape(-1), weights=n[nz], minlength=ids.size)
    return ids.astype(np.int64), np.rint(areas).astype(np.int64)


def compare_tiled(
    truth: Any,
    pred: Any,
    *,
    positive: float | None = None,
    objects: bool = True,
    iou_threshold: float = 0.5,
    labels: list[float] | None = None,
    instances: Instances = "auto",
    connectivity: int | None = None,
) -> TiledComparison:
    """Compare a prediction with its ground truth chunk by chunk, exactly.

    Parameters
    ----------
    truth, pred : dask.array.Array or array_like
        Ground truth and prediction of the same shape (boolean, integer, or
        float without NaN). Chunks of ``pred`` are aligned to those of
        ``truth``. NumPy arrays are wrapped with dask's automatic chunks.
    positive : int or float, optional
        Foreground of the pixel scores, as in
        :func:`~napari_maskclean.core.compare.binary_metrics` (and of the
        connected components with ``instances="components"``).
    objects : bool, default True
        Also match objects (:attr:`TiledComparison.objects`).
    iou_threshold : float, default 0.5
        As in :func:`~napari_maskclean.core.compare.match_objects`.
    labels : list of numbers, optional
        Default classes of :meth:`TiledComparison.confusion_matrix`.
    instances : {"auto", "labels", "components"}, default "auto"
        What an object is, per side: ``"labels"``: every non-zero value of a
        label image (a boolean mask is one object, id 1, as in
        ``match_objects``); ``"components"``: every connected component of
        the foreground (ids numbered as by :func:`skimage.measure.label`);
        ``"auto"``: components for a boolean array, labels otherwise.
    connectivity : int, optional
        Neighbourhood of the components, 1 to ndim (default: ndim, as
        :func:`skimage.measure.label`).

    Returns
    -------
    TiledComparison
        ``metrics`` equal to ``binary_metrics(truth, pred, positive=...)``,
        ``objects`` equal to ``match_objects`` on the label images (for
        components: on ``skimage.measure.label(foreground, connectivity=...)``)
        and :meth:`~TiledComparison.confusion_matrix` equal to
        ``confusion_matrix``, all computed on the whole arrays in memory.

    Raises
    ------
    ValueError
        If the shapes differ, the arrays have no pixels, a float array holds
        NaN, ``positive`` can never equal a pixel, a label image holds
        negative ids, or an option is out of range.
    TypeError
        If an array is not boolean, integer or float (or, for object
        matching with ``instances="labels"``, not integer).

    Notes
    -----
    Memory: one pair of chunks per task and the sparse tables (one row per
    value pair / overlapping object pair); binary masks with components add
    one integer per component per chunk (see
    :func:`~napari_maskclean.batch.components.component_table`). Works with
    any dask scheduler (threads, processes, ``dask.distributed``).

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> t = da.from_array(np.array([[1, 1, 0, 2, 2], [1, 1, 0, 2, 2]]), chunks=2)
    >>> p = da.from_array(np.array([[7, 7, 0, 0, 0], [7, 7, 0, 0, 9]]), chunks=3)
    >>> r = compare_tiled(t, p)
    >>> r.metrics["tp"], r.objects.matches
    (5, [(1, 7, 1.0)])
    """
    t = _as_dask(truth, "truth")
    p = _as_dask(pred, "pred")
    if t.shape != p.shape:
        raise ValueError(
            "prediction and ground truth must have the same shape, got "
            f"{t.shape} and {p.shape}; crop, pad or resize one of them first"
        )
    if math.prod(t.shape) == 0:
        raise ValueError(
            f"truth and pred have no pixels (shape {t.shape}), so there is nothing to "
            "compare; pass the masks themselves, not an empty crop or selection"
        )
    _core._check_positive(positive)
    _core._check_positive_can_match(positive, t, "truth")
    _core._check_positive_can_match(positive, p, "pred")
    conn = _check_options(instances, iou_threshold, connectivity, t.ndim)
    if labels is not None:
        labels = _core._labels_array(labels).tolist()
    if p.chunks != t.chunks:
        p = p.rechunk(t.chunks)

    modes = ["none", "none"]
    if objects:
        modes = [_side_mode(instances, t, "truth"), _side_mode(instances, p, "pred")]
    sides = [_Side(m, positive, conn) for m in modes]
    tables, global_ids = [None, None], [None, None]
    for i, (arr, side) in enumerate(zip((t, p), sides, strict=True)):
        if side.mode == "components":
            what = ("truth", "pred")[i]
            fg = arr.map_blocks(_foreground_block, positive, what, dtype=bool)
            tables[i] = component_table(fg, connectivity=conn)
            global_ids[i] = np.arange(1, tables[i].n_components + 1, dtype=np.int64)

    starts = [np.concatenate([[0], np.cumsum(c)]).astype(int) for c in t.chunks]
    bt, bp = t.to_delayed(), p.to_delayed()
    stats = dask.delayed(_block_stats, pure=True)
    parts = []
    for idx in itertools.product(*(range(n) for n in t.numblocks)):
        origin = tuple(int(starts[d][i]) for d, i in enumerate(idx))
        blk_sides = []
        for side, table, ids in zip(sides, tables, global_ids, strict=True):
            if table is not None:  # this chunk's local label -> global object id
                side = _Side(side.mode, positive, conn, table.block_table(idx, ids, 0))
            blk_sides.append(side)
        parts.append(stats(bt[idx], bp[idx], origin, t.shape, *blk_sides))
    (total,) = dask.compute(_tree_reduce(parts))

    values = total.values
    fg_t = np.asarray(_core._foreground(values[0], positive), dtype=bool)
    fg_p = np.asarray(_core._foreground(values[1], positive), dtype=bool)
    n = values[2]
    tp, nt, np_ = int(n[fg_t & fg_p].sum()), int(n[fg_t].sum()), int(n[fg_p].sum())
    metrics = metrics_from_counts(tp, np_ - tp, nt - tp, int(n.sum()) - nt - np_ + tp)

    match = None
    if objects:
        match = _match(total, sides, tables, float(iou_threshold))
    return TiledComparison(
        metrics=metrics,
        objects=match,
        pair_truth=values[0],
        pair_pred=values[1],
        pair_counts=values[2],
        labels=labels,
        shape=tuple(int(s) for s in t.shape),
    )


def _foreground_block(block: NDArray, positive: float | None, what: str) -> NDArray[np.bool_]:
    return np.asarray(_core._foreground(_check_block(block, what), positive), dtype=bool)


def _match(total: _Stats, sides: list[_Side], tables: list, thr: float) -> ObjectMatch:
    ids, areas, renumber = [], [], []
    for axis, (side, table) in enumerate(zip(sides, tables, strict=True)):
        what = ("truth", "pred")[axis]
        if side.mode == "labels":
            i, a = _label_objects(total.values, axis, what)
            ids.append(i)
            areas.append(a)
            renumber.append(None)
            continue
        # components: global id k+1 -> raster-order id (skimage.measure.label's)
        first = total.first_t if axis == 0 else total.first_p
        m = table.n_components
        pos = np.empty(m, dtype=np.int64)
        pos[first[0] - 1] = first[1]
        new = np.empty(m + 1, dtype=np.int64)
        new[0] = 0
        new[1 + np.argsort(pos, kind="stable")] = np.arange(1, m + 1)
        area = np.empty(m, dtype=np.int64)
        area[new[1:] - 1] = table.size
        ids.append(np.arange(1, m + 1, dtype=np.int64))
        areas.append(area)
        renumber.append(new)
    if total.objects is None:  # both sides label images: pairs from the value histogram
        a, b, n = total.values
        both = (a != 0) & (b != 0)
        pt, pp, inter = a[both].astype(np.int64), b[both].astype(np.int64), n[both]
    else:
        pt, pp, inter = total.objects
        if renumber[0] is not None:
            pt = renumber[0][pt]
        if renumber[1] is not None:
            pp = renumber[1][pp]
    return _match_from_overlaps(
        ids[0], ids[1], areas[0], areas[1], pt, pp, inter, iou_threshold=thr
    )
