"""Region growing dock: click objects, each grows by a rule, commit them as labels.

Mouse (while "click to segment" is on): a click starts a NEW object, Shift+click
adds a seed to the current object, Ctrl+click (or Alt+click) removes the nearest
seed; a click inside a label of the target refines that label (re-grown from its
extent) or erases it ('click in a label'), one undo step each. Shift+wheel
changes the tolerance of the flood rule. A click-and-drag still pans the view.
The work itself (sessions, jobs, steps) is in :mod:`.region_jobs`, the seeds layer and
the mouse in :mod:`.region_seeds`; what stays here (just over 500 lines) is the dock's
form and its wiring.

Why one module of ~510 lines: the seeds (:mod:`.region_seeds`) and the jobs
(:mod:`.region_jobs`) are split out; what remains is the dock's options, its
mouse handling and its commits, which share the current object.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    FloatSlider,
    FloatSpinBox,
    PushButton,
    SpinBox,
)
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_info, show_warning

from ..core.grow_clicks import ClickSession
from ..ops import REGISTRY
from ..recipe import Step
from . import region_jobs as jobs
from ._live import (
    InputError,
    Job,
    LiveWidget,
    Result,
    current_region,
    layer_combo,
    new_labels_layer,
    prefer_visible_layer,
    wrapping_label,
    write_labels,
)
from ._scope import check_target, spatial_ndim
from .region_seeds import SeedClicksMixin, has_modifier

if TYPE_CHECKING:
    import napari

_MODES = ("2D (current slice)", "3D (whole volume)")
_ON_LABEL = ("refine it", "erase it")
_REMOVE_MODIFIERS = ("Control", "Alt", "Meta")
_MAX_LABEL = 2**31 - 1
HINT = ("Click: new object · Shift+click: add a seed to the current object · "
        "Ctrl/Alt+click: remove the nearest seed · click inside a label of the target: "
        "refine it, or erase it ('click in a label' below); each is one Ctrl-Z.")


class RegionGrowingWidget(SeedClicksMixin, LiveWidget):
    """Click-to-segment: one object per click, grown by a rule, with a live preview."""

    #: (cache key, ClickSession or RegionGrower) of the last result: a click grows one more.
    _grown: tuple | None = None
    #: What the last commit wrote (for :meth:`recipe_step`).
    _last_commit: dict | None = None

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Region growing", debounce_ms=30)
        self.image = layer_combo(viewer, Image, label="image",
                                 tooltip="The image objects grow in.")
        self.clicking = CheckBox(text="click to segment", value=False,
                                 tooltip="Turn on, then click objects in the image.")
        self.hint = wrapping_label()
        self.hint.value = HINT
        self.rule = ComboBox(
            label="rule", choices=jobs.RULES, value="edge",
            tooltip="edge (default, best measured): a seeded watershed on the gradient; "
                    "contrast: brighter than a level between background and object; "
                    "adaptive: within k spreads of the region's mean; tolerance: the "
                    "classic flood within a tolerance of the seed's value.")
        spec = REGISTRY["click_segment"]
        self.level = FloatSlider(label="level", value=spec.param("level").default, min=0.05,
                                 max=0.95, step=0.05, tooltip=spec.param("level").tooltip)
        self.k = FloatSpinBox(label="k (spreads)", value=spec.param("k").default, min=0.5,
                              max=10.0, step=0.5, tooltip=spec.param("k").tooltip)
        self.sigma = FloatSpinBox(label="smoothing (0 = auto)", value=0.0, min=0.0, max=10.0,
                                  step=0.5,
                                  tooltip="Gaussian smoothing before growing (pixels); "
                                          "0 = auto, from the noise around each click.")
        self.polarity = ComboBox(label="objects are", choices=("auto", "bright", "dark"),
                                 value="auto", tooltip=spec.param("polarity").tooltip)
        self.fill_holes = CheckBox(text="fill holes", value=True,
                                   tooltip=spec.param("fill_holes").tooltip)
        self.boundary = FloatSpinBox(label="smooth boundary", value=1.0, min=0.0, max=10.0,
                                     step=0.5, tooltip=spec.param("smooth").tooltip)
        self.max_size = SpinBox(label="max size px (0 = auto)", value=0, min=0,
                                max=_MAX_LABEL,
                                step=1000, tooltip="Largest object: a region that grows "
                                "past it leaked and is not kept. 0 = 5 % of the image "
                                "(at least 10,000 px).")
        self.tolerance = FloatSlider(label="tolerance %", value=10.0, min=0.0, max=100.0,
                                     step=0.5,
                                     tooltip="Grow into pixels within this % of the image's "
                                             "value range from the seed's value.")
        self.flood_smooth = FloatSpinBox(label="smoothing ", value=0.0, min=0.0, max=20.0,
                                         step=0.5, tooltip="Gaussian sigma (pixels) of a "
                                         "smoothed copy the regions grow on; 0 = raw image.")
        self.connectivity = ComboBox(label="neighbours", choices=("faces", "full"),
                                     value="faces",
                                     tooltip="faces: 4 (2D) / 6 (3D) neighbours; full: 8 / 26.")
        self.overwrite = CheckBox(text="grow over existing labels", value=False,
                                  tooltip="Off: the target's labels are a barrier and are "
                                          "never overwritten.")
        self.mode = ComboBox(label="grow in", choices=_MODES, value=_MODES[0],
                             tooltip="Stacks/volumes: grow in the clicked 2D slice or in "
                                     "3D (in the current time point of 4D data).")
        self.target = layer_combo(viewer, Labels, label="target", nullable=True,
                                  tooltip="Labels layer to commit into; empty = a new layer.")
        self.next_label = SpinBox(label="next label", value=1, min=1, max=_MAX_LABEL,
                                  tooltip="The label of the next new object; it moves on to "
                                          "the next free label of the target after each.")
        self.on_label = ComboBox(label="click in a label", choices=_ON_LABEL,
                                 value=_ON_LABEL[0],
                                 tooltip="A plain click inside a label of the target: "
                                         "re-grow it from its current extent, or erase it.")
        self.clear_button = PushButton(text="Clear seeds")
        self.clear_button.clicked.connect(self.clear_seeds)
        self._grow_widgets = [self.sigma, self.polarity, self.fill_holes, self.boundary,
                              self.max_size]
        self._flood_widgets = [self.tolerance, self.flood_smooth, self.connectivity,
                               self.overwrite]
        self.extend([self.image, self.clicking, self.hint, self.rule, self.level, self.k,
                     *self._grow_widgets, *self._flood_widgets, self.mode, self.target,
                     self.next_label, self.on_label, self.clear_button, self.commit_button,
                     self.status])
        self.watch_parameters([self.image, self.rule, self.level, self.k, *self._grow_widgets,
                               *self._flood_widgets, self.mode, self.target])
        self.clicking.changed.connect(self._set_clicking)
        self.image.changed.connect(self._image_changed)
        self.target.changed.connect(self._target_changed)
        self.rule.changed.connect(self._rule_changed)
        self._current_label = 0
        self.reset_choices()
        prefer_visible_layer(self.image, viewer)
        self._rewatch_sources()
        self._image_changed()
        self._rule_changed()
        self._target_changed()
        # Imports and kernels now, in the background, not on the first click.
        thread_worker(jobs.warm_up, ignore_errors=True)().start()

    @property
    def flood(self) -> bool:
        """Whether the tolerance flood (not a growing rule) is chosen."""
        return self.rule.value == jobs.FLOOD

    def _rule_changed(self, *_args) -> None:
        """Show only the options of the chosen rule."""
        rule = self.rule.value
        self.level.visible = rule == "contrast"
        self.k.visible = rule == "adaptive"
        for w in self._grow_widgets:
            w.visible = not self.flood
        for w in self._flood_widgets:
            w.visible = self.flood
        self._grown = None

    def _target_changed(self, *_args) -> None:
        self._rewatch_sources()
        self.next_label.value = self._next_free()

    def click(self, world_position, modifiers=()) -> bool:
        """Handle a click at ``world_position`` (viewer world coordinates).

        Returns True when something changed (a seed added or removed, a label
        refined or erased).
        """
        image = self.image.value
        if image is None:
            show_warning("Region growing: choose an image layer first.")
            return False
        if self.viewer.dims.ndisplay == 3:
            # a click in the 3D view is a ray, not a voxel: no seed at a guessed depth
            show_warning("Region growing: switch to the 2D view to click objects (in the 3D "
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
        if any(has_modifier(modifiers, m) for m in _REMOVE_MODIFIERS):
            return self.remove_nearest_seed(point)
        shift = has_modifier(modifiers, "Shift")
        target = self.target.value
        if (not shift and target is not None and not (self.flood and self.overwrite.value)
                and target.data.shape == tuple(shape) and target.data[tuple(point)] != 0):
            return self.edit_label(point)
        new_object = not shift or self._current_label == 0
        if new_object:
            self._current_label = int(self.next_label.value)
        layer = self.seeds_layer(create=True)
        with layer.events.data.blocker(self._seeds_edited):
            labels = np.append(np.asarray(layer.features["label"], dtype=int),
                               self._current_label)
            layer.data = np.vstack([layer.data, point[None].astype(float)])
            layer.features = {"label": labels}
        if new_object:
            self.next_label.value = self._next_free()
        self.request(immediate=True)
        return True

    def _next_free(self) -> int:
        """One more than the largest label of the target and of the seeds."""
        _, labels = self.seeds()
        target = self.target.value
        top = int(labels.max()) if labels.size else 0
        if target is not None and target.data.size:
            top = max(top, int(np.max(target.data)))
        return min(top + 1, _MAX_LABEL)

    def close_down(self, *args) -> None:
        """Also remove the mouse callbacks."""
        self._set_clicking(False)
        super().close_down(*args)

    # ---- refine / erase ----------------------------------------------------------------
    def edit_label(self, point: np.ndarray) -> bool:
        """Refine or erase the target's label under ``point`` (data coordinates): one undo step."""
        image, target = self.image.value, self.target.value
        erase = self.on_label.value == _ON_LABEL[1]
        if self.flood and not erase:
            show_warning("Region growing: refining needs a growing rule (edge, contrast or "
                         "adaptive); choose one, or set 'click in a label' to 'erase it'.")
            return False
        try:
            check_target(target, image)
            region = (current_region(self.viewer, image, n_spatial=self._grown_ndim())
                      if self.follows_slice() else ())
            local = tuple(int(c) for c in point[len(region):])
            label = int(target.data[tuple(point)])
            params = self.click_params(image, action="erase" if erase else "refine")
            barrier = np.asarray(target.data[region])
            grey, channel = self._grey(image, region)
            session = ClickSession.from_params(grey, labels=barrier, **params)
            if erase:
                session.erase(local, label)
            else:
                res = session.refine(local, label)
                if res.leaked:
                    self.status.value = "⚠ " + jobs.leak_message(res, self.rule.value)
                    return False
            n = write_labels(target, session.labels, region=region, preserve_labels=False)
        except (InputError, ValueError) as err:
            self._report_error(err, drop_preview=False)
            return False
        what = "erased" if erase else "refined"
        note = f"{what} label {label}: {n} pixel{'s' if n != 1 else ''} changed (Ctrl-Z undoes)"
        self.status.value = note
        show_info(f"{self.title}: {note}.")
        if n:
            self._record_step(jobs.build_step(
                op="click_segment", params=params, image_name=image.name,
                target_name=target.name, new_target=False, scale=image.scale[:image.ndim],
                translate=image.translate[:image.ndim], region=region, seeds=point[None],
                seed_labels=[label], channel=channel))
        return bool(n)

    def _record_step(self, step: Step) -> None:
        """Append a refine/erase step to the viewer's recipe (they bypass Commit).

        (Not ``_record``: the base class records a commit's :meth:`recipe_step` under
        that name.)
        """
        try:
            from ._recording import recorder_for  # the per-viewer recipes
        except ImportError:  # a tree without them: the session log of _live
            from ._live import record_step

            record_step(step.to_dict(), source=step.inputs["image"])
            return
        recorder_for(self.viewer).append(step)

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
        """The flood's core keyword parameters (JSON-able), without the seeds."""
        p = {"tolerance": float(self.tolerance.value) / 100.0, "relative": True,
             "connectivity": 1 if self.connectivity.value == "faces" else 2,
             "overwrite": bool(self.overwrite.value)}
        if self.flood_smooth.value > 0:
            p["smooth_sigma"] = float(self.flood_smooth.value)
        if image.rgb:
            p["channel_axis"] = -1
        return p

    def click_params(self, image: Image, action: str = "grow") -> dict:
        """The ``click_segment`` op's parameters (validated), without the seeds."""
        n = min(self._grown_ndim(), spatial_ndim(image))
        p = {"action": action, "spacing": [float(s) for s in image.scale[:image.ndim][-n:]]}
        if action != "erase":
            p.update(rule=self.rule.value, sigma=float(self.sigma.value) or None,
                     polarity=self.polarity.value, fill_holes=bool(self.fill_holes.value),
                     smooth=float(self.boundary.value),
                     max_size=int(self.max_size.value) or None)
            if self.rule.value == "contrast":
                p["level"] = float(self.level.value)
            elif self.rule.value == "adaptive":
                p["k"] = float(self.k.value)
        return REGISTRY["click_segment"].validate(p)

    def _grey(self, image: Image, region: tuple) -> tuple[np.ndarray, str | None]:
        """The image data the rules grow in (RGB as luminance) and the channel recorded."""
        arr = self.source_array(image, region)
        if not image.rgb:
            return arr, None
        from ..core import to_grey

        return to_grey(arr, channel="luminance"), "luminance"

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
        target = self.target.value
        if target is not None:
            check_target(target, image)
        params = self.params(image) if self.flood else self.click_params(image)
        seeds = [tuple(int(c) for c in s) for s in coords]
        seed_labels = [int(v) for v in labels]
        # A click only adds a seed: grow just that one on what was grown so far
        # (exactly the same result), if nothing else changed.
        key = (id(image), id(target), self.source_edits, region,
               json.dumps(params, sort_keys=True))
        grown = self._grown
        done = None if grown is None or grown[0] != key else grown[1]
        if self.flood:
            if done is not None and seeds[: len(done.seeds)] == [tuple(s) for s in done.seeds]:
                args, func = (done,), jobs._grow_more
            else:
                barrier = None if target is None else self.source_array(target, region)
                args, func = (self.source_array(image, region), barrier), jobs._grow
            params.update(seeds=[list(s) for s in seeds], seed_labels=seed_labels)
        else:
            if done is not None and list(zip(seeds, seed_labels))[: len(done.clicks)] == \
                    done.clicks:
                args, func = (done,), jobs.click_more
            else:
                barrier = None if target is None else self.source_array(target, region)
                args, func = (self._grey(image, region)[0], barrier), jobs.click_grow
            params.update(seeds=seeds, seed_labels=seed_labels)
        return Job(func, args, params, image, region, post=lambda value, k=key: k)

    def show_result(self, result: Result) -> None:
        """Show the grown objects and, for a leak, why the last click was not kept."""
        value = result.value
        flood = isinstance(value, jobs.Grown)
        self._grown = (result.extra, value.grower if flood else value.session)
        if flood:
            self.update_preview(result.job, value.labels, opacity=0.6)
        elif not (value.changed is not None and self._shown == (result.extra, value.base,
                                                                 id(self.preview_layer()))
                  and self._patch_preview(result.job, value)):
            full = value.objects if value.changed is None else value.session.objects()
            self.update_preview(result.job, full, opacity=0.6)
        self._shown = None if flood else (result.extra, len(value.session.clicks),
                                          id(self.preview_layer()))
        seed_labels = result.job.params["seed_labels"]
        n = len(seed_labels)
        if n == 0:
            self.status.value = ("click an object" if self.clicking.value else
                                 "turn on 'click to segment', then click an object")
            return
        k = len(set(seed_labels))
        line = f"{k} object{'s' if k != 1 else ''} ({n} seed{'s' if n != 1 else ''})"
        leak = "" if flood else value.leak
        self.status.value = f"⚠ {leak}; {line}" if leak else line

    def _patch_preview(self, job: Job, value: jobs.Clicked) -> bool:
        """Write only the box the new clicks changed into the preview; False if it cannot.

        The preview is the plugin's own layer: ``data_setitem`` there makes napari
        upload only that part of the texture (a full refresh of 2048² costs more than
        the click itself).
        """
        layer = self.preview_layer()
        source = job.source
        if (layer is None or not layer.visible or not isinstance(layer.data, np.ndarray)
                or layer.data.shape != source.data.shape[:source.ndim]):
            return False
        sub = value.objects
        if sub.size == 0:
            return True
        if int(sub.max()) > np.iinfo(layer.data.dtype).max:
            return False  # a label too large for the preview's compact dtype
        where = tuple(job.region) + tuple(value.changed)
        changed = layer.data[where] != sub
        local = np.nonzero(changed)
        if local[0].size:
            lead = [np.full(local[0].size, i, dtype=np.intp) for i in job.region]
            full = tuple(lead) + tuple(ix + s.start for ix, s in zip(local, value.changed))
            layer.data_setitem(full, sub[changed].astype(layer.data.dtype))
        return True

    #: (cache key, clicks, preview layer id) of what the preview shows (patchable).
    _shown: tuple | None = None

    def commit(self, result: Result) -> int:
        """Write the objects into the target (one undo step) and clear the seeds used.

        Seeds on other slices (2D mode on a stack) stay for their own commit.
        """
        job = result.job
        if not job.params["seeds"]:
            raise InputError("no seeds: turn on 'click to segment' and click an object.")
        target = self.target.value
        new_target = target is None
        if new_target:
            target = new_labels_layer(self.viewer, job.source, f"{job.source.name} regions")
            self.target.reset_choices()
            with self.target.changed.blocked():
                self.target.value = target
            # The new layer is the barrier from now on: watch its edits (undo,
            # paint), which must invalidate the cached session.
            self._rewatch_sources()
        flood = isinstance(result.value, jobs.Grown)
        if flood:
            grown = result.value.labels
            preserve = bool(target.preserve_labels) and not job.params["overwrite"]
            n = write_labels(target, grown, region=job.region, where=grown > 0,
                             preserve_labels=preserve)
        else:
            preserve = False
            n = write_labels(target, result.value.session.labels, region=job.region,
                             preserve_labels=False)
        self._last_commit = {"target": target.name, "new_target": new_target,
                             "preserve": preserve, "paint": flood}
        self._grown = None  # the target changed: the next click grows afresh
        self._clear_seeds_in(job.region)  # seeds on other slices wait for their commit
        self.next_label.value = self._next_free()
        return n

    def recipe_step(self, result: Result) -> Step | None:
        """The recipe step of the commit just made (replays it bit for bit)."""
        info = self._last_commit
        if info is None:
            return None
        job, image = result.job, result.job.source
        params = {k: v for k, v in job.params.items() if k not in ("seeds", "seed_labels")}
        lead = np.asarray(job.region, dtype=int)
        seeds = np.asarray(job.params["seeds"], dtype=int).reshape(len(job.params["seeds"]), -1)
        full = np.hstack([np.broadcast_to(lead, (len(seeds), lead.size)), seeds])
        flood = job.func.__name__ == "region_grow"
        return jobs.build_step(
            op=job.func.__name__, params=params, image_name=image.name,
            target_name=info["target"], new_target=info["new_target"],
            scale=image.scale[:image.ndim], translate=image.translate[:image.ndim],
            region=job.region, seeds=full, seed_labels=job.params["seed_labels"],
            paint=info["paint"], preserve_labels=info["preserve"],
            channel=None if flood or not image.rgb else "luminance")
