"""The preview layer of a LiveWidget: created once, then updated in place.

The layer is named ``PREVIEW_PREFIX + title``, lines up with the source layer
(its scale and translate), and for a slice of a stack has the source's full
shape with only the current slice filled, so it follows the slider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from napari.layers import Image, Labels, Layer

from ._layers import _set_if_changed, compact_labels

if TYPE_CHECKING:
    from ._engine import Job


class PreviewLayer:
    """Mixin of LiveWidget: ``preview_name``, ``preview_kind``, ``viewer`` come from it."""

    def owned_layers(self) -> list[Layer]:
        """The layers this widget shows its preview in (hidden with the widget)."""
        layer = self.preview_layer()
        return [] if layer is None else [layer]

    # ---- preview layer ---------------------------------------------------------------
    def preview_layer(self) -> Layer | None:
        """Return the preview layer if it exists."""
        for layer in self.viewer.layers:
            if layer.name == self.preview_name:
                return layer
        return None

    def update_preview(self, job: Job, data: np.ndarray, **layer_kwargs) -> Layer:
        """Show ``data`` (for ``job.region`` of ``job.source``) in the preview layer.

        The preview layer is created once and then updated in place: replacing
        ``layer.data`` or re-setting scale/translate makes napari redo far more work
        than copying the new values into the array it already displays.
        """
        source = job.source
        full_shape = source.data.shape[: source.ndim]  # ndim excludes an RGB channel axis
        ndim = len(full_shape)
        data = compact_labels(data) if self.preview_kind == "labels" else data
        kind = Labels if self.preview_kind == "labels" else Image
        layer = self.preview_layer()
        if layer is not None and not isinstance(layer, kind):
            self.viewer.layers.remove(layer)
            layer = None
        reusable = (layer is not None and layer.data.shape == full_shape
                    and layer.data.dtype == data.dtype and isinstance(layer.data, np.ndarray))
        if reusable:
            if job.region:
                # A slice of a stack: the preview has the source's full shape so it lines
                # up with the slider; only the current slice is filled.
                layer.data[...] = 0
                layer.data[job.region] = data
            else:
                np.copyto(layer.data, data)
            _set_if_changed(layer, "scale", source.scale[-ndim:])
            _set_if_changed(layer, "translate", source.translate[-ndim:])
            colormap = layer_kwargs.get("colormap")
            for key, value in layer_kwargs.items():
                if key != "colormap":
                    _set_if_changed(layer, key, value)
            if colormap is not None and not _same_colormap(layer.colormap, colormap):
                layer.colormap = colormap  # redraws the layer: no refresh() on top
            else:
                layer.refresh()
            return layer
        full = np.zeros(full_shape, dtype=data.dtype)
        full[job.region] = data
        if layer is not None:
            self.viewer.layers.remove(layer)
        active = self.viewer.layers.selection.active
        layer = self.viewer.add_layer(
            kind(full, name=self.preview_name, scale=source.scale[-ndim:],
                 translate=source.translate[-ndim:], **layer_kwargs)
        )
        if self._hidden:  # a result that was on its way when the dock was hidden
            layer.visible = False
            self._hid_layers.append(layer)
        # Adding a layer selects it: give the selection back to the user's layer (never
        # to a hidden one, which the user would then paint into without seeing it).
        if active is not None and active in self.viewer.layers and not self._is_preview(active):
            self.viewer.layers.selection.active = active
        elif source.visible:
            self.viewer.layers.selection.active = source
        return layer

    def remove_preview(self) -> None:
        """Remove the preview layer if present."""
        layer = self.preview_layer()
        if layer is not None:
            self.viewer.layers.remove(layer)



def _same_colormap(old, new) -> bool:
    """True when a label colormap would not change the colours (new colours redraw).

    Setting a Labels colormap rebuilds napari's value -> colour table and redraws
    the layer (with its thumbnail): ~30 ms on 2048², twice per result when it came
    on top of a refresh. Only a :class:`DirectLabelColormap` is compared; anything
    else counts as changed.
    """
    from napari.utils.colormaps import DirectLabelColormap

    if old is new:
        return True
    if not (isinstance(old, DirectLabelColormap) and isinstance(new, DirectLabelColormap)):
        return False
    a, b = old.color_dict, new.color_dict
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def warm_up_label_display() -> None:
    """Compile napari's label-colouring kernels now (call off the GUI thread).

    The first Labels layer with a :class:`DirectLabelColormap` in a process compiles
    numba kernels inside napari (not cached to disk): about 1 s, paid by the first
    preview otherwise. A layer that is never added to a viewer does the same work.
    """
    from napari.utils.colormaps import DirectLabelColormap

    colours = DirectLabelColormap(color_dict={None: (0, 0, 0, 0), 0: (0, 0, 0, 0),
                                              1: (1.0, 0.0, 1.0, 1.0)})
    for dtype in (np.uint8, np.uint16):  # what compact_labels gives the preview
        Labels(np.ones((2, 2), dtype), colormap=colours)
