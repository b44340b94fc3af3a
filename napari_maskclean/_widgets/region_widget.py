"""Region growing dock widget: click objects, they grow by intensity tolerance, commit as labels.

Mouse (while "click to add seeds" is on): click adds a seed to the current label,
Shift+click starts a new label, Ctrl+click (or Alt+click) removes the nearest seed,
Shift+wheel changes the tolerance. A click-and-drag still pans the view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, FloatSlider, FloatSpinBox, PushButton
from napari.layers import Image, Labels, Points
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_warning

from ..core.region import RegionGrower, region_grow
from ._live import (
    SEEDS_PREFIX,
    InputError,
    Job,
    LiveWidget,
    Result,
    current_region,
    image_array,
    layer_combo,
    new_labels_layer,
    prefer_visible_layer,
    write_labels,
)
from ._scope import check_target, spatial_ndim

if TYPE_CHECKING:
    import napari

_MODES = ("2D (current slice)", "3D (whole volume)")
_REMOVE_MODIFIERS = ("Control", "Alt", "Meta")
_CLICK_SLOP_PX = 4


def _has(modifiers, name: str) -> bool:
    return any(str(getattr(m, "name", m)) == name for m in modifiers or ())


class RegionGrowingWidget(LiveWidget):
    """Seeded region growing by clicking, with a live tolerance."""

    #: (cache key, RegionGrower) of the last result shown: a click grows one seed more.
    _grown: tuple | None = None

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Region growing", debounce_ms=30)
        self.image = layer_combo(viewer, Image, label="image",
                                 tooltip="The image regions grow in.")
        self.clicking = CheckBox(
            text="click to add seeds", value=False,
            tooltip="Click: add a seed (current label). Shift+click: new label. "
                    "Ctrl/Alt+click: remove the nearest seed. Shift+wheel: tolerance.")
        self.tolerance = FloatSlider(label="tolerance %", value=10.0, min=0.0, max=100.0,
                                     step=0.5,
                                     tooltip="Grow into pixels within this % of the image's "
                                             "value range from the seed's value.")
        self.mode = ComboBox(label="grow in", choices=_MODES, value=_MODES[0],
                             tooltip="Stacks/volumes: grow in the clicked 2D slice or in "
                                     "3D (in the current time point of 4D data).")
        self.smooth = FloatSpinBox(label="smoothing", value=0.0, min=0.0, max=20.0, step=0.5,
                                   tooltip="Gaussian sigma (pixels) of a smoothed copy the "
                                           "regions grow on; 0 = raw image.")
        self.connectivity = ComboBox(label="neighbours", choices=("faces", "full"),
                                     value="faces",
                                     tooltip="faces: 4 (2D) / 6 (3D) neighbours; full: 8 / 26.")
        self.target = layer_combo(viewer, Labels, label="target", nullable=True,
                                  tooltip="Labels layer to commit into; empty = a new layer.")
        self.overwrite = CheckBox(text="grow over existing labels", value=False,
                                  tooltip="Off: the target's labels are a barrier and are "
                                          "never overwritten.")
        self.clear_button = PushButton(text="Clear seeds")
        self.clear_button.clicked.connect(self.clear_seeds)
        self.extend([self.image, self.clicking, self.tolerance, self.mode, self.smooth,
                     self.connectivity, self.target, self.overwrite, self.clear_button,
                     self.commit_button, self.status])
        self.watch_parameters([self.image, self.tolerance, self.mode, self.smooth,
                               self.connectivity, self.target, self.overwrite])
        self.clicking.changed.connect(self._set_clicking)
        self.image.changed.connect(self._image_changed)
        self.target.changed.connect(self._rewatch_sources)
        self._current_label = 0
        self.reset_choices()
        prefer_visible_layer(self.image, viewer)
        self._rewatch_sources()
        self._image_changed()
        # Compile (or load from cache) the flood kernels now, not on the first click.
        thread_worker(_warm_up, ignore_errors=True)().start()

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
                show_warning("Region growing: choose an image layer before clicking seeds.")
            if self._on_mouse not in callbacks:
                callbacks.append(self._on_mouse)
            if self._on_wheel not in wheel:
                wheel.append(self._on_wheel)
            if self.image.value is not None:
                self.viewer.layers.selection.active = self.image.value
        else:
            if self._on_mouse in callbacks:
                callbacks.remove(self._on_mouse)
            if self._on_wheel in wheel:
                wheel.remove(self._on_wheel)

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
        if not _has(event.modifiers, "Shift"):
            return
        step = 1.0 if np.sign(event.delta[-1] or event.delta[0]) > 0 else -1.0
        self.tolerance.value = float(np.clip(self.tolerance.value + step, 0, 100))
        event.handled = True

    def click(self, world_position, modifiers=()) -> bool:
        """Handle a click at ``world_position`` (viewer world coordinates).

        Returns True when a seed was added or removed.
        """
        image = self.image.value
        if image is None:
            show_warning("Region growing: choose an image layer first.")
            return False
        if self.viewer.dims.ndisplay == 3:
            # a click in the 3D view is a ray, not a voxel: no seed at a guessed depth
            show_warning("Region growing: switch to the 2D view to place seeds (in the 3D "
                         "view a click has no depth); '3D' mode still grows in 3D.")
            return False
        ndim = spatial_ndim(image)
        data_pos = np.asarray(image.world_to_data(world_position))[-ndim:]
        point = np.round(data_pos).astype(int)
        shape = image.data.shape[:ndim]
        if np.any(point < 0) or np.any(point >= shape):
            show_warning(f"Region growing: the click at {tuple(int(p) for p in point)} is "
                         f"outside the image {tuple(shape)}; click on the image.")
            return False
        if any(_has(modifiers, m) for m in _REMOVE_MODIFIERS):
            return self.remove_nearest_seed(point)
        if _has(modifiers, "Shift") or self._current_label == 0:
            self._current_label = self._next_label()
        layer = self.seeds_layer(create=True)
        with layer.events.data.blocker(self._seeds_edited):
            labels = np.append(np.asarray(layer.features["label"], dtype=int),
                               self._current_label)
            layer.data = np.vstack([layer.data, point[None].astype(float)])
            layer.features = {"label": labels}
        self.request(immediate=True)
        return True

    def remove_nearest_seed(self, point) -> bool:
        """Remove the seed closest to ``point`` (data coordinates), in world distance."""
        coords, labels = self.seeds()
        if len(coords) == 0:
            return False
        image = self.image.value
        scale = np.asarray(image.scale[-coords.shape[1]:])
        i = int(np.argmin((((coords - point) * scale) ** 2).sum(axis=1)))
        self._keep_seeds(np.arange(len(coords)) != i)
        self.request(immediate=True)
        return True

    def _next_label(self) -> int:
        _, labels = self.seeds()
        target = self.target.value
        top = int(labels.max()) if labels.size else 0
        if target is not None and target.data.size:
            top = max(top, int(np.max(target.data)))
        return top + 1

    def close_down(self, *args) -> None:
        """Also remove the mouse callbacks."""
        self._set_clicking(False)
        super().close_down(*args)

    # ---- LiveWidget API ----------------------------------------------------------------
    def request(self, *_args, immediate: bool = False) -> None:
        """Recompute; clicks skip the debounce so the region appears at once."""
        super().request()
        if immediate and self._live and not self._closed and not self._hidden:
            self._timer.stop()
            self._start()

    def _image_changed(self, *_args) -> None:
        image = self.image.value
        self.mode.visible = image is not None and spatial_ndim(image) > 2
        layer = self.seeds_layer()
        if layer is not None and image is not None:
            ndim = spatial_ndim(image)
            if layer.ndim != ndim:
                self.viewer.layers.remove(layer)
            else:
                layer.scale = image.scale[-ndim:]
                layer.translate = image.translate[-ndim:]
        if self.clicking.value and image is not None:
            self.viewer.layers.selection.active = image
        self._rewatch_sources()

    def source_layers(self):
        """The image and the target (its labels are a barrier)."""
        return [self.image.value, self.target.value]

    def _grown_ndim(self) -> int:
        """Number of axes a region grows in: 2 in 2D mode, else 3."""
        return 2 if self.mode.value == _MODES[0] else 3

    def follows_slice(self) -> bool:
        """On a stack in 2D mode (or 4D data in 3D mode) the preview is for the current slice."""
        image = self.image.value
        return image is not None and spatial_ndim(image) > self._grown_ndim()

    def params(self, image: Image) -> dict:
        """Core keyword parameters (JSON-able), without the seeds."""
        p = {"tolerance": float(self.tolerance.value) / 100.0, "relative": True,
             "connectivity": 1 if self.connectivity.value == "faces" else 2,
             "overwrite": bool(self.overwrite.value)}
        if self.smooth.value > 0:
            p["smooth_sigma"] = float(self.smooth.value)
        if image.rgb:
            p["channel_axis"] = -1
        return p

    def make_job(self) -> Job | None:
        """Snapshot image, seeds (of the current slice in 2D mode) and barrier labels."""
        image = self.image.value
        if image is None:
            self.status.value = "choose an image layer, then turn on clicking"
            return None
        coords, labels = self.seeds()
        region = (current_region(self.viewer, image, n_spatial=self._grown_ndim())
                  if self.follows_slice() else ())
        if region and len(coords):
            on_slice = np.all(coords[:, : len(region)] == region, axis=1)
            coords, labels = coords[on_slice][:, len(region):], labels[on_slice]
        params = self.params(image)
        target = self.target.value
        if target is not None:
            check_target(target, image)
        if params["tolerance"] < 0:
            raise InputError("tolerance must be >= 0")
        seeds = coords.tolist()
        # A click only adds a seed: grow just that one on the regions grown so far
        # (exactly the same result, see RegionGrower), if nothing else changed.
        key = (id(image), id(target), self.source_edits, region,
               tuple(sorted(params.items())))
        grown = self._grown
        if grown is not None and grown[0] == key and seeds[: len(grown[1].seeds)] == [
                list(s) for s in grown[1].seeds]:
            args = (grown[1],)
            func = _grow_more
        else:
            barrier = None if target is None else np.asarray(target.data[region])
            args = (image_array(image, region), barrier)
            func = _grow
        params.update(seeds=seeds, seed_labels=labels.tolist())
        return Job(func, args, params, image, region, post=lambda value, k=key: k)

    def show_result(self, result: Result) -> None:
        """Show the grown regions."""
        self._grown = (result.extra, result.value.grower)
        self.update_preview(result.job, result.value.labels, opacity=0.6)
        n = len(result.job.params["seeds"])
        if n == 0:
            self.status.value = ("click an object to add a seed" if self.clicking.value else
                                 "turn on 'click to add seeds', then click an object")
            return
        self.status.value = f"{n} seed{'s' if n != 1 else ''}, " \
                            f"{int(np.count_nonzero(result.value.labels))} pixels"

    def commit(self, result: Result) -> int:
        """Write the regions into the target (one undo step) and clear the seeds used.

        Seeds on other slices (2D mode on a stack) stay for their own commit.
        """
        job = result.job
        if not job.params["seeds"]:
            raise InputError("no seeds: turn on 'click to add seeds' and click an object.")
        target = self.target.value
        if target is None:
            target = new_labels_layer(self.viewer, job.source, f"{job.source.name} regions")
            self.target.reset_choices()
            with self.target.changed.blocked():
                self.target.value = target
            # The new layer is the barrier from now on: watch its edits (undo,
            # paint), which must invalidate the cached grower.
            self._rewatch_sources()
        grown = result.value.labels
        n = write_labels(target, grown, region=job.region, where=grown > 0,
                         preserve_labels=None if not job.params["overwrite"] else False)
        self._grown = None  # the target changed: the next click grows afresh
        self._clear_seeds_in(job.region)  # seeds on other slices wait for their commit
        return n


def _warm_up() -> None:
    """Run region growing once on tiny arrays so numba's JIT is ready."""
    for dtype in (np.uint8, np.float32):
        region_grow(np.zeros((3, 3), dtype=dtype), [[1, 1]], tolerance=0.1, relative=True)


class Grown(NamedTuple):
    """A job's result: the new regions, and the grower that made them (for more clicks)."""

    labels: np.ndarray
    grower: RegionGrower


def _grow(image, barrier, *, seeds, seed_labels, **params) -> Grown:
    """Run :func:`region_grow` with the target's labels as the barrier."""
    overwrite = params.pop("overwrite", False)
    grower = RegionGrower(image, labels=barrier, overwrite=overwrite, **params)
    grower = grower.add_seeds(seeds)
    return Grown(grower.labels(seed_labels), grower)


def _grow_more(grower: RegionGrower, *, seeds, seed_labels, **_params) -> Grown:
    """Grow only the seeds added since ``grower`` was made (the other parameters match)."""
    grower = grower.add_seeds(seeds[len(grower.seeds):])
    return Grown(grower.labels(seed_labels), grower)


_grow.__name__ = _grow_more.__name__ = "region_grow"  # the recipe step's name
