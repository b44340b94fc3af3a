"""Where a widget works in nD data: the current 2D slice, the whole volume, or each slice.

:func:`current_region` maps the viewer's slider to the index of the slice on screen;
:meth:`ScopeMixin.scope_fields` turns a job's region into the world coordinates a
recipe step records (``scope``, ``slice_world``, ``scale``, ``translate``).
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import ComboBox
from napari.layers import Layer

from ._errors import InputError


def current_region(viewer, layer: Layer, *, n_spatial: int = 2) -> tuple:
    """Return the index of the 2D slice of ``layer`` that the viewer shows now.

    Integer indices for the leading (non-displayed) axes, nothing for the last
    ``n_spatial`` axes. A layer with no more than ``n_spatial`` axes gives ``()``.

    Raises
    ------
    InputError
        When the view does not show such a slice of the layer: another pair of
        axes displayed (the axes were reordered or rolled), the 3D view for a
        2D slice, or the slider beyond the layer's extent. Working on another
        slice than the one on screen would be a silent wrong answer.
    """
    ndim = layer.ndim  # napari's ndim excludes an RGB(A) channel axis
    n_lead = ndim - n_spatial
    if n_lead <= 0:
        return ()
    dims = viewer.dims
    offset = dims.ndim - ndim  # the layer's axes are the last ones of the world
    displayed = sorted(d - offset for d in dims.displayed)
    if displayed != list(range(n_lead, ndim))[-len(displayed):] or len(displayed) > n_spatial:
        what = "the 3D view" if dims.ndisplay == 3 else f"axes {tuple(dims.displayed)} displayed"
        raise InputError(
            f"'current slice' works on the {n_spatial}D slice of the last {n_spatial} axes of "
            f"{layer.name!r}, but the viewer shows {what}; switch to the 2D view (the "
            "square/cube button at the bottom left) with the default axis order (the "
            "transpose/roll buttons change it), or work on the whole volume."
        )
    point = np.asarray(dims.point)[-ndim:]
    data_point = np.asarray(layer.world_to_data(point))
    shape = layer.data.shape
    idx = []
    for axis in range(n_lead):
        i = int(np.round(data_point[axis]))
        if not 0 <= i < shape[axis]:
            raise InputError(
                f"the slider is at slice {i} of axis {axis}, outside {layer.name!r} "
                f"(slices 0 to {shape[axis] - 1}); move the slider into the layer."
            )
        idx.append(i)
    return tuple(idx)



#: Scope choices shown in the widgets (the order is relied upon).
SCOPES = ("current slice", "whole volume", "each slice")


def spatial_ndim(layer: Layer) -> int:
    """Number of non-channel axes of a layer (napari's ``ndim`` excludes RGB channels)."""
    return layer.ndim


class ScopeMixin:
    """Adds a ``scope`` dropdown to a :class:`LiveWidget` for stacks and volumes."""

    #: Most spatial axes the core operation takes at once ("whole volume"); None = any.
    max_volume_ndim: int | None = None
    #: What the widget does, for messages ("morphology works in 2D or 3D").
    operation_name = "this operation"

    def add_scope_widgets(self) -> None:
        """Create the scope dropdown (shown only for nD layers)."""
        self.scope = ComboBox(
            label="scope", choices=SCOPES, value=SCOPES[0],
            tooltip="nD data: work on the current 2D slice (follows the slider), on the whole "
                    "volume at once, or on each 2D slice of the stack separately.")

    def update_scope_visibility(self, layer: Layer | None) -> None:
        """Show the scope dropdown only for layers with more than two spatial axes."""
        self.scope.visible = layer is not None and spatial_ndim(layer) > 2

    def follows_slice(self) -> bool:
        """The preview follows the slider in 'current slice' scope."""
        return self.scope.value == SCOPES[0]

    def region_for(self, layer: Layer) -> tuple:
        """Index of the data this job works on: the current slice, or everything.

        Raises InputError for "whole volume" on data with more axes than the core
        operation takes (``max_volume_ndim``), pointing to the scopes that work.
        """
        ndim = spatial_ndim(layer)
        if ndim > 2 and self.scope.value == SCOPES[0]:
            return current_region(self.viewer, layer)
        limit = self.max_volume_ndim
        if limit is not None and ndim > limit and self.scope.value == SCOPES[1]:
            raise InputError(
                f"{layer.name!r} has {ndim} axes; {self.operation_name} works in 2D or "
                f"{limit}D: choose 'each slice' (every 2D slice) or 'current slice'.")
        return ()

    def array_for(self, layer: Layer, region: tuple) -> np.ndarray:
        """The layer's data for ``region`` as a NumPy array (a copy the job may keep)."""
        return self.source_array(layer, region)


def check_target(target: Layer, source: Layer) -> None:
    """Raise InputError unless ``target`` lines up with ``source`` (shape, scale, translate)."""
    shape = source.data.shape[: spatial_ndim(source)]
    if target.data.shape != shape:
        raise InputError(
            f"target layer {target.name!r} has shape {target.data.shape} but "
            f"{source.name!r} has shape {shape}; choose a target of the same shape "
            "or leave 'target' empty to create a new layer.")
    if getattr(target, "multiscale", False):
        raise InputError(f"target layer {target.name!r} is multiscale and read-only; "
                         "choose another target.")
    # Pixels are written by index: a target placed elsewhere in the world would
    # receive the mask in the wrong place.
    ndim = len(shape)
    for name in ("scale", "translate"):
        mine, theirs = np.asarray(getattr(target, name))[-ndim:], np.asarray(
            getattr(source, name))[-ndim:]
        if not np.allclose(mine, theirs):
            raise InputError(
                f"target layer {target.name!r} has {name} {tuple(mine.tolist())} but "
                f"{source.name!r} has {name} {tuple(theirs.tolist())}: their pixels do not "
                "line up; give the target the same scale and translate, or leave 'target' "
                "empty to create a new, aligned layer.")


def step_placement(job) -> dict:
    """Where a job worked, as a recipe step records it (world coordinates, not the slider).

    ``scope`` ("slice" with ``slice_world``, "volume", or "each_slice" when the
    job's parameters say ``per_slice``) and the source layer's ``scale`` and
    ``translate`` over its non-channel axes, so that a replay finds the same
    slice (:meth:`napari_maskclean.recipe.Step.region`) and seeds.
    """
    from ..recipe import Scope

    layer = job.source
    ndim = spatial_ndim(layer)
    scale = [float(v) for v in np.asarray(layer.scale)[-ndim:]]
    translate = [float(v) for v in np.asarray(layer.translate)[-ndim:]]
    out: dict = {"scale": scale, "translate": translate}
    if job.region:
        out["scope"] = Scope.SLICE
        out["slice_world"] = [float(i) * scale[a] + translate[a]
                              for a, i in enumerate(job.region)]
    elif job.params.get("per_slice"):
        out["scope"] = Scope.EACH_SLICE
    else:
        out["scope"] = Scope.VOLUME
    return out
