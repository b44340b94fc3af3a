"""Fill holes dock widget: nearest-label hole filling and island clean-up, live.

The target is a Labels layer (Commit writes into it, one undo step) or an RGB
colour-coded mask shown as an RGB Image layer (napari Image layers have no undo,
so it is never modified: Commit writes the cleaned labels into a new Labels layer
"<name> labels" whose colours are exactly the mask's palette, kept in
``layer.metadata["palette"]``).

The preview layer shows only the pixels that will change, each in the colour of
its new label; pixels that become background (label 0 of a Labels layer) are white.
All the work is done by :mod:`napari_maskclean.core.fill`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, SpinBox
from napari.layers import Image, Labels, Layer
from napari.qt.threading import thread_worker
from napari.utils.colormaps import DirectLabelColormap

from ..core.fill import (
    ChangePreview,
    change_preview,
    fill_labels,
    fill_rgb_mask,
    palette_color_dict,
)
from ..io import load_palette
from ..ops import REGISTRY, FillMode
from ..recipe import Step, merge_palette
from ._changes import change_colormap, compact_changes
from ._engine import Job, LiveWidget, Result
from ._errors import InputError
from ._form import control_for
from ._layers import _OWNED_PREFIXES, new_labels_layer, prefer_visible_layer
from ._preview import warm_up_label_display
from ._scope import SCOPES, ScopeMixin, spatial_ndim, step_placement
from ._write import write_labels

if TYPE_CHECKING:
    import napari

_FILL = ("holes up to max size", "all invalid pixels")
FILL_LABELS = REGISTRY["fill_labels"]
FILL_RGB_MASK = REGISTRY["fill_rgb_mask"]
_PALETTE = ("estimate from the mask", "load from file")


def _is_rgb(layer: Layer | None) -> bool:
    return isinstance(layer, Image) and bool(layer.rgb)


def _post_labels(before: np.ndarray):
    """Off-thread: which pixels of a label image change."""
    return lambda after: compact_changes(change_preview(after, before=before))


def _post_rgb(fill) -> ChangePreview:
    """Off-thread: which pixels of a colour mask change."""
    return compact_changes(change_preview(fill.labels, changed=fill.changed))


def _warm_up() -> None:
    """Run the fills once on tiny 2D arrays so that numba's kernels are ready.

    Colour codes, palette estimation and snapping, nearest fill, island removal and
    the change preview, for RGB masks and label images, then napari's colouring of
    the preview layer. Loaded from numba's cache when it holds them (fast),
    compiled otherwise (seconds, while the user looks at the dock).
    """
    rgb = np.zeros((12, 12, 3), np.uint8)
    rgb[:6] = (230, 159, 0)
    rgb[2, 2] = (1, 2, 3)  # off-palette: a hole
    rgb[9, 9] = (230, 159, 0)  # an island
    for kwargs in ({}, {"max_hole_size": 4, "min_island_size": 2},
                   {"palette": [[0, 0, 0], [230, 159, 0]], "snap": 10.0}):
        fill = fill_rgb_mask(rgb, spacing=[1.0, 1.0], **kwargs)
        _post_rgb(fill)
    labels = np.zeros((12, 12), np.int32)
    labels[:6] = 1
    labels[2, 2] = 0
    labels[9, 9] = 2
    for kwargs in ({}, {"max_hole_size": 4, "min_island_size": 2, "max_distance": 3.0}):
        _post_labels(labels)(fill_labels(labels, spacing=[1.0, 1.0], **kwargs))
    warm_up_label_display()


class FillWidget(ScopeMixin, LiveWidget):
    """Fill invalid pixels from the nearest valid label and remove small islands."""

    max_volume_ndim = 3  # the core fill is 2D/3D; 4D+ data: each slice
    operation_name = "filling"

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Fill holes")
        self._last_output: Labels | None = None  # the Labels layer an RGB commit wrote to
        self._committed: Result | None = None  # an RGB result already written
        self._created = False
        self.target = ComboBox(
            label="mask", choices=self._target_choices,
            tooltip="A Labels layer (Commit writes into it), or an RGB colour-coded mask "
                    "(Commit creates a new Labels layer '<name> labels' with its colours).")
        self.add_scope_widgets()
        # --- what is invalid
        # The controls come from the specs (labels, tooltips, bounds, defaults); the dock
        # adds friendlier forms for three of them: the invalid colour as three numbers,
        # the palette from a file, and max_hole_size None as a 'fill' choice.
        lab, rgb = FILL_LABELS.param, FILL_RGB_MASK.param
        self.invalid_label = control_for(lab("invalid"), name="invalid_label")
        self.rgb_invalid = control_for(rgb("invalid"), name="rgb_invalid")
        colour = rgb("invalid_color")
        self._rgb = [SpinBox(label=c, value=v, min=int(colour.min), max=int(colour.max),
                             tooltip=f"{c.upper()} value (0..255) of the invalid colour.")
                     for c, v in zip("rgb", colour.default, strict=True)]
        self.invalid_color = Container(
            widgets=self._rgb, layout="horizontal", labels=False,
            label=colour.label, tooltip=colour.tooltip)
        self.snap = control_for(rgb("snap"))
        self.snap.native.setSpecialValueText("auto")  # None: chosen from the palette
        self.palette_source = ComboBox(
            label="palette", choices=_PALETTE, value=_PALETTE[0],
            tooltip="The colours of the classes: estimated from the mask (colours of regions, "
                    "not of specks or anti-aliased edges), or a "
                    "JSON file of [r, g, b] rows (row k = colour of label k).")
        self.palette_file = FileEdit(
            label="palette file", filter="*.json", mode="r",
            tooltip="JSON palette: a list of [r, g, b] (or [r, g, b, a]) rows, e.g. "
                    "[[0, 0, 0], [255, 0, 0]].")
        self.max_colors = control_for(rgb("palette_max_colors"), name="max_colors")
        self.min_count = control_for(rgb("palette_min_count"), name="min_count")
        self.min_count.native.setSpecialValueText("auto")
        # --- how to fill
        self.fill_mode = ComboBox(
            label="fill", choices=[m.value for m in FillMode], value=_FILL[0],
            tooltip="Fill only invalid regions up to 'max hole size' pixels (holes, specks), "
                    "or every invalid pixel.")
        self.max_hole_size = control_for(lab("max_hole_size"), min=1)  # None: 'fill'
        self.max_distance = control_for(lab("max_distance"))
        self.max_distance.native.setSpecialValueText("unlimited")
        self.dilate = control_for(lab("dilate_invalid"), name="dilate")
        self.min_island = control_for(lab("min_island_size"), name="min_island")
        self.connectivity = ComboBox(
            label="neighbours", choices=("faces", "full"), value="faces",
            tooltip="What connects pixels into regions: faces (4 in 2D, 6 in 3D) or also "
                    "corners (8 / 26).")
        self.highlight = CheckBox(
            text="highlight changes", value=True,
            tooltip="Preview the pixels that will change in magenta, instead of in the "
                    "colour of their new label (labels: those becoming background stay "
                    "white).")
        params = [self.target, self.scope, self.invalid_label, self.rgb_invalid, *self._rgb,
                  self.snap, self.palette_source, self.palette_file, self.max_colors,
                  self.min_count, self.fill_mode, self.max_hole_size, self.max_distance,
                  self.dilate, self.min_island, self.connectivity]
        self.highlight.changed.connect(self._restyle)
        self.extend([self.target, self.scope, self.invalid_label, self.rgb_invalid,
                     self.invalid_color, self.snap, self.palette_source, self.palette_file,
                     self.max_colors, self.min_count, self.fill_mode, self.max_hole_size,
                     self.max_distance, self.dilate, self.min_island, self.connectivity,
                     self.highlight, self.commit_button, self.status])
        self.watch_parameters(params)
        for w in (self.target, self.rgb_invalid, self.palette_source, self.fill_mode):
            w.changed.connect(self._update_visibility)
        self.target.changed.connect(self._rewatch_sources)
        self.reset_choices()
        prefer_visible_layer(self.target, viewer)
        self._rewatch_sources()
        self._update_visibility()
        self.request()
        # Compile (or load from numba's cache) the kernels now, not at the first preview.
        thread_worker(_warm_up, ignore_errors=True)().start()

    # ---- GUI state ---------------------------------------------------------------------
    def _target_choices(self, _widget=None) -> list[Layer]:
        """The user's Labels layers and RGB Image layers (never the plugin's own)."""
        return [layer for layer in self.viewer.layers
                if (isinstance(layer, Labels) or _is_rgb(layer))
                and not layer.name.startswith(_OWNED_PREFIXES)]

    def _update_visibility(self, *_args) -> None:
        rgb = _is_rgb(self.target.value)
        mode = self.rgb_invalid.value
        off_palette = rgb and mode != "colour"
        estimate = off_palette and self.palette_source.value == _PALETTE[0]
        self.invalid_label.visible = not rgb
        self.rgb_invalid.visible = rgb
        self.invalid_color.visible = rgb and mode != "off-palette"
        self.snap.visible = self.palette_source.visible = off_palette
        self.palette_file.visible = off_palette and not estimate
        self.max_colors.visible = self.min_count.visible = estimate
        self.max_hole_size.visible = self.fill_mode.value == _FILL[0]
        self.update_scope_visibility(self.target.value)

    def source_layers(self):
        """Edits of the mask (painting, other commits, undo) recompute the preview."""
        return [self.target.value]

    def _needs_palette_file(self) -> bool:
        """True while 'load from file' is chosen for an RGB mask but no file is."""
        if not (_is_rgb(self.target.value) and self.rgb_invalid.value != "colour"
                and self.palette_source.value == _PALETTE[1]):
            return False
        path = self.palette_file.value
        return path is None or not str(path) or Path(path).is_dir()

    def palette(self) -> list | None:
        """The palette loaded from the chosen file, or None (estimate it)."""
        if self.palette_source.value == _PALETTE[0]:
            return None
        path = self.palette_file.value
        try:
            return load_palette(path).tolist()
        except (OSError, ValueError) as err:
            raise InputError(f"could not load the palette: {err}") from None

    def params(self, layer: Layer, region: tuple) -> dict:
        """Return the core keyword parameters for the current GUI state (JSON-able)."""
        n_axes = layer.ndim - len(region)
        p: dict = {
            "max_hole_size": (int(self.max_hole_size.value)
                              if self.fill_mode.value == _FILL[0] else None),
            "max_distance": (float(self.max_distance.value)
                             if self.max_distance.value >= 0 else None),
            "dilate_invalid": float(self.dilate.value),
            "min_island_size": int(self.min_island.value),
            "connectivity": 1 if self.connectivity.value == "faces" else min(max(n_axes, 1), 3),
            "spacing": [float(s) for s in layer.scale[len(region):]],
        }
        if n_axes > 2 and self.scope.value == SCOPES[2]:
            p["per_slice"] = True
            p["connectivity"] = min(p["connectivity"], 2)
        if not _is_rgb(layer):
            p["invalid"] = int(self.invalid_label.value)
            return p
        mode = self.rgb_invalid.value
        p["invalid"] = mode
        if mode != "off-palette":
            p["invalid_color"] = [int(w.value) for w in self._rgb]
        if mode != "colour":
            if self.snap.value >= 0:  # below 0: 'auto' (None), the core default
                p["snap"] = float(self.snap.value)
            palette = self.palette()
            if palette is not None:
                p["palette"] = palette
            else:
                if self.min_count.value > 0:  # 0: 'auto' (None)
                    p["palette_min_count"] = int(self.min_count.value)
                p["palette_max_colors"] = int(self.max_colors.value)
        return p

    # ---- LiveWidget API ----------------------------------------------------------------
    def make_job(self) -> Job | None:
        """Snapshot the mask (or its current slice) and the parameters."""
        layer = self.target.value
        if layer is None:
            self.status.value = "add or choose a Labels layer or an RGB mask"
            return None
        if self._needs_palette_file():
            self.status.value = "choose a palette file (JSON list of [r, g, b] rows)"
            return None
        region = self.region_for(layer)
        data = self.array_for(layer, region)
        params = self.params(layer, region)
        if _is_rgb(layer):
            return Job(fill_rgb_mask, (data,), params, layer, region, post=_post_rgb)
        return Job(fill_labels, (data,), params, layer, region, post=_post_labels(data))

    def show_result(self, result: Result) -> None:
        """Show the pixels that will change, in the colours of their new labels."""
        preview: ChangePreview = result.extra
        source = result.job.source
        if _is_rgb(source):
            colours = palette_color_dict(result.value.palette, transparent_black=False)
            colormap = change_colormap(preview, colours, zero_colour=colours[0],
                                       highlight=self.highlight.value, highlight_zero=True)
        else:
            colormap = change_colormap(preview, source_colormap=source.colormap,
                                       highlight=self.highlight.value)
        self.update_preview(result.job, preview.data, colormap=colormap, opacity=0.9)
        msg = f"{preview.n_changed} pixel{'s' if preview.n_changed != 1 else ''} will change"
        if preview.n_zero and not _is_rgb(source):
            msg += f" ({preview.n_zero} to background 0, white)"
        if _is_rgb(source):
            msg += f"; palette: {len(result.value.palette)} colours"
            if result.value.colour_is_class and result.value.invalid == "off-palette":
                msg += ("; the invalid colour is the largest class (background?), so only "
                        "off-palette pixels are filled: limit 'max hole size' or choose "
                        "'colour + off-palette' to fill it")
            elif result.value.colour_is_class and result.value.invalid != "off-palette":
                msg += ("; WARNING: the invalid colour is the largest class (background?) "
                        "and its pixels will be repainted")
        if self._committed is result:
            msg = "committed; nothing left to change (edit the mask or the parameters)"
        self.status.value = msg

    def _restyle(self, *_args) -> None:
        """Recolour the preview (no recomputation)."""
        if (self.last_result is not None and self.preview_layer() is not None
                and self._job_inputs_alive(self.last_result.job)):
            self.show_result(self.last_result)

    def commit(self, result: Result) -> int:
        """Write the cleaned labels (one undo step); RGB masks go to a new Labels layer."""
        job = result.job
        if job.source not in self.viewer.layers:
            raise InputError(f"the layer {job.source.name!r} was removed; choose another mask.")
        if not _is_rgb(job.source):
            self._written = {"target": job.source.name, "new_target": False}
            return write_labels(job.source, result.value, region=job.region,
                                preserve_labels=False)
        if self._committed is result:
            return 0  # the RGB source does not change: the same preview is already written
        target, lut = self._labels_for_rgb(job.source, result.value.palette)
        self._last_output = target
        self._written = {"target": target.name, "new_target": self._created,
                         "palette": np.asarray(target.metadata["palette"]).tolist()}
        written = write_labels(target, lut[result.value.labels], region=job.region,
                               preserve_labels=False)
        self._committed = result
        # Report the pixels whose colour is cleaned (as previewed), not the labels written.
        return result.extra.n_changed if written or self._created else 0

    def recipe_step(self, result: Result) -> Step:
        """The step that replays the last commit (labels in place; RGB into '<name> labels')."""
        job = result.job
        rgb = _is_rgb(job.source)
        spec = FILL_RGB_MASK if rgb else FILL_LABELS
        return Step(op=spec.name, version=spec.version, params=dict(job.params),
                    inputs={"rgb" if rgb else "labels": job.source.name},
                    preserve_labels=False, **self._written, **step_placement(job))

    def _labels_for_rgb(self, source: Image, palette: np.ndarray) -> tuple[Labels, np.ndarray]:
        """The '<name> labels' layer for an RGB mask, and a look-up table into its labels.

        An existing layer is reused (slices of a stack, committed one by one, may
        have different palettes): colours it does not have yet are appended to
        its palette, so that a label always means the same colour.
        """
        self._created = False
        name = f"{source.name} labels"
        shape = source.data.shape[: spatial_ndim(source)]
        palette = np.asarray(palette, np.uint8)
        for layer in self.viewer.layers:
            old = getattr(layer, "metadata", {}).get("palette")
            if not (isinstance(layer, Labels) and layer.name == name
                    and layer.data.shape == shape and old is not None):
                continue
            merged, lut = merge_palette(old, palette)  # the replay merges the same way
            if len(merged) > len(old):
                layer.metadata["palette"] = merged
                layer.colormap = DirectLabelColormap(
                    color_dict=palette_color_dict(layer.metadata["palette"]))
            return layer, lut
        palette, lut = merge_palette(None, palette)
        layer = new_labels_layer(self.viewer, source, name)
        layer.metadata["palette"] = palette
        layer.colormap = DirectLabelColormap(color_dict=palette_color_dict(palette))
        layer.opacity = 1.0  # the mask's colours exactly
        self._created = True
        return layer, lut

    def run_commit(self) -> int:
        """Commit the current result; say so clearly when there is no mask to commit to."""
        if self.target.value is None:
            msg = ("Fill holes: no mask to commit to (was the layer removed?); choose a "
                   "Labels layer or an RGB mask.")
            self._report_error(InputError(msg))
            return 0
        self._last_output = None
        n = super().run_commit()
        layer = self._last_output
        if (_is_rgb(self.target.value) and layer is not None and n > 0
                and self.last_error is None):
            new = "the new layer" if self._created else "the layer"
            preview = self.preview_layer()
            if preview is not None:  # the RGB source does not change: clear what is done
                preview.data[...] = 0
                preview.refresh()
                self.hide_empty_layers()
            self.status.value = (f"committed to {new} {layer.name!r} (Ctrl-Z on it undoes); "
                                 "nothing left to change")
        return n
