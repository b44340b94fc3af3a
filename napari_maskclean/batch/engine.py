"""Replay a recipe on dask arrays, tile by tile, with the same result as in memory.

:func:`run_tiled` does what :meth:`napari_maskclean.recipe.Recipe.run` does, but
every layer is a :class:`dask.array.Array` and every step is translated from
its op's :class:`~napari_maskclean.ops.Locality`:

* pointwise and bounded-halo steps run chunk by chunk with ``map_overlap``
  (:func:`~napari_maskclean.batch.tiles.map_local`), each step with its own halo
  (chaining steps keeps every intermediate exact, so halos need not be summed);
* global thresholds reduce the histogram over all tiles first
  (:mod:`~napari_maskclean.batch.threshold`);
* connected-component steps label each chunk and join labels across chunk faces
  (:mod:`~napari_maskclean.batch.components`);
* per-slice steps on stacks get chunks that hold whole slices, so the core
  function sees exactly the slices it sees in memory;
* what cannot be tiled exactly is refused with a message that says what to do.

The result is lazy; writing it (chunk by chunk, to zarr) is the caller's job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import partial
from typing import Any

import dask.array as da
import numpy as np

from .. import recipe as _recipe
from ..ops import GlobalHow, LocalityKind, OutputKind
from . import components
from .threshold import global_threshold_mask
from .tiles import TilingError, map_local

__all__ = ["TilingError", "run_tiled", "step_halo"]

# Nearest-label fills: a tile with no valid pixel at all is left as it is.
_FILLS = ("fill_labels", "fill_nearest")

# A bounded halo larger than this is refused (the tiles would be mostly halo).
_MAX_HALO = 2048


def _refuse(number: int, step: _recipe.Step, why: str) -> TilingError:
    return TilingError(f"step {number} ({step.op}) cannot run tile by tile: {why}")


# ----------------------------------------------------------------------- calling the op
def _call_block(spec, params: dict[str, Any], roles: tuple[str, ...], field: str, dtype,
                *blocks: np.ndarray) -> np.ndarray:
    """Run the op's core function on one block (or halo-extended block)."""
    if spec.name in _FILLS and not (blocks[0] != params.get("invalid", 0)).any():
        # no valid pixel within the halo: the in-memory fill leaves these pixels
        # too (farther than max_distance, or in a region larger than max_hole_size)
        return np.asarray(blocks[0], dtype=dtype)
    out = spec.outputs(spec.call(dict(zip(roles, blocks, strict=True)), params))[field]
    out = np.asarray(out)
    if out.dtype != dtype:
        out = out.astype(dtype)
    return out


def _output_dtype(spec, first: da.Array) -> np.dtype:
    if spec.output is OutputKind.MASK:
        return np.dtype(bool)
    return first.dtype


def _whole_slices(arr: da.Array) -> da.Array:
    """Rechunk so each chunk holds whole 2D slices (the last two axes unchunked)."""
    chunks = tuple(
        "auto" if ax < arr.ndim - 2 else -1 for ax in range(arr.ndim)
    )
    return arr.rechunk(chunks) if any(len(c) > 1 for c in arr.chunks[-2:]) else arr


def _halo_for_holes(params: Mapping[str, Any], ndim: int) -> int | None:
    """Exact halo of a nearest-label fill limited to holes of at most S pixels.

    A connected invalid region of at most S pixels lies within S steps of any
    of its pixels (each step moves one pixel along at most every axis), so a
    window of that reach sees it whole and sees that a larger region is larger;
    its nearest valid pixel is no farther than that either. In spacing units the
    reach is S * sqrt(ndim) * max(spacing), i.e. that divided by min(spacing)
    pixels. Dilation and island removal are not covered (None).
    """
    size = params.get("max_hole_size")
    if size is None or params.get("dilate_invalid", 0) or params.get("min_island_size", 0):
        return None
    spacing = params.get("spacing") or [1.0] * ndim
    reach = size * math.sqrt(ndim) * max(spacing) / min(spacing)
    if params.get("max_distance") is not None:
        # pixels farther than max_distance from every valid pixel stay: no further look
        reach = min(reach, params["max_distance"] / min(spacing))
        reach = max(reach, size)  # the size decision itself needs S steps
    return math.ceil(reach) + 1


def step_halo(step: _recipe.Step, ndim: int) -> int | None:
    """The halo (pixels) a step needs when tiled, or None if it is not halo-local."""
    loc = step.spec.locality_for(step.params)
    if loc.kind in (LocalityKind.POINTWISE, LocalityKind.HALO):
        return loc.halo
    if step.op in ("fill_labels", "fill_nearest"):
        return _halo_for_holes(step.params, ndim)
    return None


def _tiled_op(number: int, step: _recipe.Step, inputs: dict[str, da.Array],
              known: frozenset | None = None) -> da.Array:
    """The op's main output, as a lazy dask array computed tile by tile."""
    spec, params = step.spec, step.params
    if spec.output is OutputKind.METRICS:
        raise _refuse(number, step, "metrics are not written by a recipe; use "
                      "'maskclean compare' to score whole datasets")
    if spec.result_fields and "palette" in spec.result_fields:
        raise _refuse(number, step, "colour-mask steps need the palette of the whole mask; "
                      "run this recipe without tiling (small images) or convert the colour "
                      "mask to labels first")
    roles = tuple(r for r in inputs)
    arrays = [inputs[r] for r in roles]
    first = arrays[0]
    dtype = _output_dtype(spec, first)
    field = spec.output.value
    per_slice = bool(params.get("per_slice")) and first.ndim > 2
    call = partial(_call_block, spec, params, roles, field, dtype)
    loc = spec.locality_for(params)

    if not loc.tileable:
        raise _refuse(number, step, loc.message or "no exact blockwise algorithm")
    if per_slice and loc.kind is LocalityKind.GLOBAL:
        # each slice on its own: chunks of whole slices give the in-memory result
        arrays = [_whole_slices(a) for a in arrays]
        return da.map_blocks(call, *arrays, dtype=dtype,
                             meta=np.empty((0,) * first.ndim, dtype))
    halo = step_halo(step, first.ndim)
    if halo is not None:
        if halo > _MAX_HALO:
            raise _refuse(number, step, f"it looks {halo} pixels around each pixel (more "
                          f"than {_MAX_HALO}); lower the size or distance parameters")
        axes = (-2, -1) if per_slice else None
        if len(arrays) == 1:
            return map_local(call, first, halo=halo, dtype=dtype, axes=axes)
        depth = {a: (halo if (axes is None or a >= first.ndim - 2) else 0)
                 for a in range(first.ndim)}
        return da.map_overlap(call, *arrays, depth=depth, boundary="none", dtype=dtype,
                              meta=np.empty((0,) * first.ndim, dtype), align_arrays=True)
    if loc.how is GlobalHow.HISTOGRAM and step.op == "threshold":
        try:
            return global_threshold_mask(first, params, halo=loc.halo)
        except TilingError as err:
            raise _refuse(number, step, str(err)) from None
    if loc.how is GlobalHow.COMPONENTS and step.op == "morphology":
        return _components_step(number, step, first, known)
    raise _refuse(number, step, loc.message or "it depends on the whole image")


def _nonzero_values(labels: da.Array, known: frozenset | None) -> np.ndarray:
    """The non-zero values of a label image: known from the recipe, else one pass."""
    values = np.array(sorted(known)) if known is not None else np.unique(
        da.unique(labels).compute())
    return values[values != 0]


def _components_step(number: int, step: _recipe.Step, labels: da.Array,
                     known: frozenset | None) -> da.Array:
    """fill_holes / remove_small_objects / remove_small_holes, exactly, over all tiles.

    ``known`` is the set of values the label image can hold, when the recipe
    says (a thresholded mask written as one label): with one non-zero label,
    per-label and binary components are the same, and binary ones are faster.
    """
    p = step.params
    op = p["operation"]
    if p.get("label") is not None:
        raise _refuse(number, step, "'only label' is not supported tile by tile; clear it")
    is_mask = labels.dtype == bool
    if op == "remove_small_objects":
        if is_mask:
            return components.remove_small_objects(labels, min_size=p["min_size"])
        single = known is not None and _nonzero_values(labels, known).size <= 1
        if p["per_label"] and not single:
            return components.remove_small_objects(labels, min_size=p["min_size"],
                                                   by_value=True)
        keep = components.remove_small_objects(labels != 0, min_size=p["min_size"])
        return da.where(keep, labels, labels.dtype.type(0))
    value = None
    if not is_mask:
        # One label (a thresholded mask written as a label value): its holes are the
        # holes of the binary mask. Several labels fill their holes one by one.
        values = _nonzero_values(labels, known)
        if values.size > 1:
            raise _refuse(number, step, f"{op!r} on a label image with {values.size} labels "
                          "fills each label's holes separately, which is not tiled; run it "
                          "without tiling, or on a mask")
        value = values[0] if values.size else labels.dtype.type(0)
        labels = labels != 0
    if op == "fill_holes":
        filled = components.fill_holes(labels)
    else:
        filled = components.remove_small_holes(labels, max_size=p["max_size"])
    if value is None:
        return filled
    return da.where(filled, value, np.zeros((), dtype=type(value)))


# ---------------------------------------------------------------------------- storing
def _write_block(current, values, where, *, preserve_labels):
    return _recipe.write_region(current, values, where=where, preserve_labels=preserve_labels)


def _store(ws: dict[str, da.Array], step: _recipe.Step, out: da.Array, shape,
           narrow: set[str]) -> None:
    """Write a step's output into its target, exactly as :func:`recipe._store` does.

    ``narrow`` names the new targets held as uint8 instead of int32 (see below).
    """
    region = step.region()
    if step.spec.output is OutputKind.IMAGE:
        if step.target in ws and region:
            cur = ws[step.target].astype(np.result_type(ws[step.target].dtype, out.dtype))
            cur[region] = out
            ws[step.target] = cur
        else:
            ws[step.target] = out
        return
    current = ws.get(step.target)
    fresh = current is None
    if current is None:
        # A new target is an int32 layer; while it holds one mask label, a byte is
        # enough to compute with (4x less memory traffic); run_tiled casts back.
        small = (step.spec.output is OutputKind.MASK and step.label_value is not None
                 and 0 <= step.label_value <= 255)
        current = da.zeros(shape, dtype=np.uint8 if small else np.int32,
                           chunks=out.chunks if not region else "auto")
        if small:
            narrow.add(step.target)
    elif step.target in narrow and not _fits_a_byte(step, out):
        current = current.astype(np.int32)
        narrow.discard(step.target)
    window = current[region] if region else current
    window = window.rechunk(out.chunks) if window.chunks != out.chunks else window
    kind = step.spec.output
    if fresh and not region and kind is OutputKind.MASK:
        # a new (all-zero) target: write_region reduces to this, without reading zeros
        new = da.where(out, current.dtype.type(step.label_value), current.dtype.type(0))
    elif (kind is OutputKind.LABELS and not region and not step.paint
          and not step.preserve_labels and np.can_cast(out.dtype, current.dtype)
          and (fresh or step.target in step.inputs.values())):
        # every pixel takes the op's output (in place on its own input, or a new layer)
        new = out.astype(current.dtype)
    elif kind is OutputKind.MASK:
        values = np.asarray(step.label_value)
        _recipe.write_region(np.zeros(1, current.dtype), values)  # dtype check, eagerly
        new = da.map_blocks(_write_block, window, values, out, dtype=current.dtype,
                            preserve_labels=step.preserve_labels)
    else:
        where = (out != 0) if step.paint else None
        new = da.map_blocks(_write_block, window, out, where, dtype=current.dtype,
                            preserve_labels=step.preserve_labels)
    if region:
        current = current.copy()
        current[region] = new
        ws[step.target] = current
    else:
        ws[step.target] = new


# Ops whose output labels are a subset of their input labels (plus background).
_VALUE_PRESERVING = ("morphology", "fill_labels", "fill_nearest", "remove_islands",
                     "elastic_deform_labels")


def _values_after(step: _recipe.Step, known: dict, ws: dict) -> frozenset | None:
    """The values ``step.target`` can hold after the step, if the recipe tells."""
    before = frozenset({0}) if step.target not in ws else known.get(step.target)
    if before is None:
        return None
    if step.spec.output is OutputKind.MASK and step.label_value is not None:
        return before | {int(step.label_value)}
    if step.op in _VALUE_PRESERVING:
        source = known.get(next(iter(step.inputs.values())))
        return None if source is None else before | source | {0}
    return None


def _fits_a_byte(step: _recipe.Step, out: da.Array) -> bool:
    """Whether writing ``out`` keeps every value of a uint8-held target within 0..255."""
    if step.spec.output is OutputKind.MASK:
        return step.label_value is not None and 0 <= step.label_value <= 255
    return out.dtype in (np.uint8, np.bool_)


# ----------------------------------------------------------------------------- engine
def _read(ws: Mapping[str, da.Array], name: str, region: tuple, channel: str | None):
    if name not in ws:
        raise KeyError(f"no layer {name!r}; the recipe needs it as an input (have {sorted(ws)})")
    arr = ws[name][region] if region else ws[name]
    if channel is not None:
        from ..core import to_grey

        arr = arr.rechunk({arr.ndim - 1: -1})
        arr = arr.map_blocks(partial(to_grey, channel=channel), drop_axis=arr.ndim - 1,
                             dtype=np.float64 if channel == "luminance" else arr.dtype)
    return arr


def run_tiled(recipe: _recipe.Recipe, layers: Mapping[str, Any]) -> dict[str, da.Array]:
    """Replay ``recipe`` on dask arrays; the result equals :meth:`Recipe.run`'s layers.

    Parameters
    ----------
    recipe : Recipe
        The recipe to replay.
    layers : mapping
        Layer name -> array (dask arrays keep their chunks; others are wrapped).

    Returns
    -------
    dict
        Layer name -> lazy dask array after the replay.

    Raises
    ------
    TilingError
        A step that cannot be computed tile by tile exactly (the message names the
        step and what to do instead).
    """
    ws: dict[str, da.Array] = {
        k: v if isinstance(v, da.Array) else da.asarray(v) for k, v in layers.items()
    }
    narrow: set[str] = set()
    known: dict[str, frozenset | None] = {}  # values a layer can hold, where the recipe says
    for number, step in recipe.numbered_steps():
        if "seeds" in step.spec.roles:
            raise _refuse(number, step, "seeded region growing follows its seeds across the "
                          "whole image; grow the regions in napari, or crop the image around "
                          "the seeds and run without tiling")
        region = step.region()
        reads, _ = _recipe._step_inputs(step, region)
        inputs = {}
        try:
            for role, (name, reg, channel) in reads.items():
                if role == "barrier" and name not in ws:
                    continue
                inputs[role] = _read(ws, name, reg, channel)
        except KeyError as err:
            raise _recipe.RecipeError(f"step {number} ({step.op}): {err.args[0]}") from None
        first = next(iter(step.inputs.values()))
        out = _tiled_op(number, step, inputs, known.get(first))
        known[step.target] = _values_after(step, known, ws)
        shape = ws[first].shape[:-1] if step.is_rgb_source() else ws[first].shape
        _store(ws, step, out, shape, narrow)
    for name in narrow:  # new targets are int32 layers, as in memory
        ws[name] = ws[name].astype(np.int32)
    return ws
