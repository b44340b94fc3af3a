"""THE single write into a user's Labels layer: undoable, all or nothing.

:func:`write_labels` is the ONLY function in the plugin that changes a user's
Labels layer. It writes the changed pixels only, through ``Labels.data_setitem``
inside one ``block_history()``, so that every commit is exactly one Ctrl-Z; if
napari fails half-way, the data and the undo history are put back as they were.
"""

from __future__ import annotations

import logging

import numpy as np
from napari.layers import Labels

from ._errors import InputError
from ._napari_compat import HistorySnapshot

__all__ = ["WriteError", "check_fits_dtype", "write_labels"]

logger = logging.getLogger(__name__)


class WriteError(InputError):
    """A write into a Labels layer failed inside napari and was rolled back."""


def _full_indices(region: tuple, local: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    """Map indices within ``data[region]`` to indices of the whole array."""
    out: list[np.ndarray] = []
    it = iter(local)
    n = local[0].size if local else 0
    for r in region:
        if isinstance(r, slice):
            out.append(next(it) + (r.start or 0))
        else:  # an integer index removed this axis
            out.append(np.full(n, int(r), dtype=np.intp))
    out.extend(it)  # axes after the region tuple
    return tuple(out)


def check_fits_dtype(values: np.ndarray | int, dtype: np.dtype, what: str = "label") -> None:
    """Raise :class:`InputError` if ``values`` cannot be stored in ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "iu":
        return
    info = np.iinfo(dtype)
    arr = np.asarray(values)
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    if lo < info.min or hi > info.max:
        bad = hi if hi > info.max else lo
        raise InputError(
            f"{what} {bad} does not fit the target layer's dtype {dtype} "
            f"(range {info.min}..{info.max}); choose a smaller {what} or convert the layer "
            "to a wider dtype (e.g. layer.data.astype('int32'))."
        )


def write_labels(
    layer: Labels,
    values: np.ndarray | int,
    *,
    region: tuple = (),
    where: np.ndarray | None = None,
    preserve_labels: bool | None = None,
) -> int:
    """Write ``values`` into a Labels layer as ONE undo step, changing only what differs.

    This is the single code path that mutates a user's Labels layer.

    Parameters
    ----------
    layer : napari.layers.Labels
        The target layer.
    values : ndarray or int
        New values for ``layer.data[region]`` (same shape), or one label value.
    region : tuple, optional
        Index into ``layer.data`` (integers and slices), ``()`` for the whole array.
    where : ndarray of bool, optional
        Only these pixels of the region may be written.
    preserve_labels : bool, optional
        Write only into background (0) pixels. Defaults to the layer's own
        ``preserve_labels`` setting.

    Returns
    -------
    int
        The number of pixels changed (0 means the layer and its history are untouched).
    """
    current = np.asarray(layer.data[region])
    new = np.broadcast_to(np.asarray(values), current.shape)
    check_fits_dtype(new if where is None else new[where], layer.data.dtype)
    changed = current != new
    if where is not None:
        changed &= where
    if layer.preserve_labels if preserve_labels is None else preserve_labels:
        changed &= current == 0
    local = np.nonzero(changed)
    if local[0].size == 0:
        return 0
    indices = _full_indices(region, local) if region else local
    old_values = current[changed]  # a copy (boolean indexing), for the rollback
    new_values = new[changed].astype(layer.data.dtype, copy=False)
    _fresh_slice(layer)
    saved = HistorySnapshot(layer)
    try:
        with layer.block_history():
            layer.data_setitem(indices, new_values)
    except Exception as err:  # noqa: BLE001 - anything inside napari: undo it all
        _roll_back(layer, indices, old_values, saved)
        logger.exception("writing into %r failed; rolled back", layer.name, exc_info=err)
        raise WriteError(
            f"could not write into {layer.name!r} ({type(err).__name__}: {err}); nothing "
            "was changed (the layer and its undo history are as before). Please report "
            "this with the steps that led to it."
        ) from err
    return int(local[0].size)


def _fresh_slice(layer: Labels) -> None:
    """Make the layer's displayed slice match the viewer's dims before ``data_setitem``.

    ``Labels.data_setitem`` writes the new values into the data AND into the
    displayed slice (``_slice.image.view``) at the indices it computes from that
    slice's own position. napari does not slice a hidden layer: its slice is a
    (1, 1) placeholder once the dims change (a sample's hidden ground truth), so
    the second write raised ``IndexError`` after the data had changed. Slicing it
    now (the public ``set_view_slice``) makes the view match; a visible layer is
    already sliced (napari slices synchronously) unless async slicing is on.
    """
    if not layer.visible or not getattr(layer, "loaded", True):
        layer.set_view_slice()


def _roll_back(layer: Labels, indices: tuple, old_values: np.ndarray,
               saved: HistorySnapshot) -> None:
    """Put back the old values and the undo history after a failed write."""
    layer.data[indices] = old_values  # straight into the array: no history, no events
    saved.restore()
    try:
        layer.refresh()  # the displayed slice may hold part of the failed write
    except Exception:  # noqa: BLE001 - the data is restored; the display catches up later
        logger.exception("refreshing %r after a rollback failed", layer.name)

