"""The seeds of the Region growing dock: their Points layer and the mouse.

A mixin of :class:`~napari_maskclean._widgets.region_widget.RegionGrowingWidget`
(listed before :class:`LiveWidget` in its bases): the seeds live in the plugin's
own ``[seeds] Region growing`` Points layer, with the object label of each seed
as a feature, in click order (the order a recorded step replays). A press and a
release without dragging is a click; a drag still pans.
"""

from __future__ import annotations

import numpy as np
from napari.layers import Points
from napari.utils.notifications import show_warning

from . import region_jobs as jobs
from ._live import SEEDS_PREFIX, Job
from ._scope import spatial_ndim

_CLICK_SLOP_PX = 4


def has_modifier(modifiers, name: str) -> bool:
    """Whether ``name`` ("Shift", "Control", ...) is among an event's modifiers."""
    return any(str(getattr(m, "name", m)) == name for m in modifiers or ())


class SeedClicksMixin:
    """The seeds layer, clicking on/off, mouse and wheel callbacks, seed removal."""

    # ---- seeds layer -------------------------------------------------------------------
    @property
    def seeds_name(self) -> str:
        """Name of the Points layer holding the seeds."""
        return f"{SEEDS_PREFIX}{self.title}"

    def seeds_layer(self, create: bool = False) -> Points | None:
        """Return the seeds Points layer (creating it aligned with the image if asked)."""
        for layer in self.viewer.layers:
            if layer.name == self.seeds_name and isinstance(layer, Points):
                return layer
        image = self.image.value
        if not create or image is None:
            return None
        ndim = spatial_ndim(image)
        layer = Points(np.empty((0, ndim)), name=self.seeds_name, ndim=ndim,
                       scale=image.scale[-ndim:], translate=image.translate[-ndim:],
                       features={"label": np.empty(0, dtype=int)}, size=8,
                       face_color="transparent", border_color="yellow", border_width=0.25,
                       canvas_size_limits=(8, 16))  # rings: the region stays visible
        self.viewer.add_layer(layer)
        layer.events.data.connect(self._seeds_edited)
        self.viewer.layers.selection.active = image
        return layer

    def seeds(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the seeds (N, ndim) in image data coordinates and their labels (N,)."""
        layer = self.seeds_layer()
        if layer is None or len(layer.data) == 0:
            return np.empty((0, 0), dtype=int), np.empty(0, dtype=int)
        coords = np.round(np.asarray(layer.data)).astype(int)
        labels = np.asarray(layer.features["label"], dtype=int)
        return coords, labels

    def owned_layers(self) -> list:
        """The preview and the seeds: both hidden while the dock is."""
        seeds = self.seeds_layer()
        return super().owned_layers() + ([] if seeds is None else [seeds])

    def set_hidden(self, hidden: bool) -> None:
        """A hidden dock must not catch clicks: clicking is turned off with it."""
        if hidden and self.clicking.value:
            self.clicking.value = False
        super().set_hidden(hidden)

    def _seeds_edited(self, *_args) -> None:
        self.request(immediate=True)

    def clear_seeds(self, *_args) -> None:
        """Remove every seed (the preview empties)."""
        layer = self.seeds_layer()
        if layer is not None:
            layer.data = np.empty((0, layer.ndim))
        self._current_label = 0
        self.request(immediate=True)

    def _clear_seeds_in(self, region: tuple) -> None:
        """Remove the seeds of ``region`` (leading indices; () = all seeds)."""
        layer = self.seeds_layer()
        if not region or layer is None or len(layer.data) == 0:
            self.clear_seeds()
            return
        coords, _ = self.seeds()
        keep = ~np.all(coords[:, : len(region)] == region, axis=1)
        if keep.any():
            self._keep_seeds(keep)
            self._current_label = 0
            self.request(immediate=True)
        else:
            self.clear_seeds()

    def _keep_seeds(self, keep: np.ndarray) -> None:
        """Keep only the seeds flagged in ``keep`` (the plugin's own Points layer)."""
        layer = self.seeds_layer()
        _, labels = self.seeds()
        with layer.events.data.blocker(self._seeds_edited):
            layer.data = np.asarray(layer.data)[keep]
            layer.features = {"label": labels[keep]}

    # ---- mouse -------------------------------------------------------------------------
    def _set_clicking(self, on: bool) -> None:
        callbacks = self.viewer.mouse_drag_callbacks
        wheel = self.viewer.mouse_wheel_callbacks
        if on:
            if self.image.value is None:
                show_warning("Region growing: choose an image layer before clicking.")
            if self._on_mouse not in callbacks:
                callbacks.append(self._on_mouse)
            if self._on_wheel not in wheel:
                wheel.append(self._on_wheel)
            if self.image.value is not None:
                self._prepare_layers()
                self.viewer.layers.selection.active = self.image.value
        else:
            if self._on_mouse in callbacks:
                callbacks.remove(self._on_mouse)
            if self._on_wheel in wheel:
                wheel.remove(self._on_wheel)

    def _prepare_layers(self) -> None:
        """Add the seeds and an empty preview layer now, when clicking is turned on.

        Adding layers is slow in napari; the first click should only show its object.
        """
        image = self.image.value
        self.seeds_layer(create=True)
        if self.preview_layer() is None and not self._hidden:
            shape = image.data.shape[:image.ndim]
            self.update_preview(Job(jobs.click_grow, (), {}, image), np.zeros(shape, np.uint8),
                                opacity=0.6)
            self.viewer.layers.selection.active = image

    def _on_mouse(self, viewer, event):
        """Press, then release without dragging = a click; a drag pans as usual."""
        if event.type != "mouse_press" or getattr(event, "button", 1) != 1:
            return
        start = np.asarray(event.position, dtype=float)
        start_pos = np.asarray(getattr(event, "pos", (0, 0)), dtype=float)
        modifiers = tuple(event.modifiers or ())
        yield
        while event.type == "mouse_move":
            moved = np.abs(np.asarray(getattr(event, "pos", start_pos)) - start_pos).max()
            # A few screen pixels of jitter is still a click; more is a pan.
            if moved > _CLICK_SLOP_PX or (moved == 0 and getattr(event, "is_dragging", False)
                                         and not hasattr(event, "pos")):
                return
            yield
        self.click(start, modifiers)

    def _on_wheel(self, viewer, event) -> None:
        if not has_modifier(event.modifiers, "Shift") or not self.flood:
            return
        step = 1.0 if np.sign(event.delta[-1] or event.delta[0]) > 0 else -1.0
        self.tolerance.value = float(np.clip(self.tolerance.value + step, 0, 100))
        event.handled = True

    def remove_nearest_seed(self, point) -> bool:
        """Remove the seed closest to ``point`` (data coordinates), in world distance."""
        coords, labels = self.seeds()
        if len(coords) == 0:
            return False
        image = self.image.value
        scale = np.asarray(image.scale[-coords.shape[1]:])
        i = int(np.argmin((((coords - point) * scale) ** 2).sum(axis=1)))
        self._keep_seeds(np.arange(len(coords)) != i)
        if self._current_label == labels[i] and not (labels == labels[i]).sum() > 1:
            self._current_label = 0
        self.request(immediate=True)
        return True
