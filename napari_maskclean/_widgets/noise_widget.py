"""Label noise dock: preview and commit noisy copies of a label image, sweep and calibrate.

The dock is a thin adapter over napari-free functions: the preview and the commit
call :func:`napari_maskclean.core.noise_copy.noisy_labels` with the parameters of
the ``elastic_deform_labels`` op (so a recipe replay gives the committed pixels),
Calibrate calls :func:`~napari_maskclean.core.noise_metrics.calibrate_noise`, the
sweep :func:`~napari_maskclean.core.noise_metrics.noise_sweep` (one alpha at a
time in a worker, so it shows progress and can be cancelled).

:class:`~napari_maskclean._widgets.noise_floor_control.NoiseFloorControl` (the
Compare dock's "noise floor" form) is importable from here too.

Over the house's ~500 lines on purpose: one dock, whose preview/commit and two
background tasks (Calibrate, Sweep: one worker, progress, cancel, the plot)
share the dock's state; the computations themselves are in ``core``.

Why one module of ~570 lines: the preview, commit, calibration and sweep of the
dock share its parameters and its one background worker; the napari-free work
is in ``core`` and the noise-floor control in :mod:`.noise_floor_control`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    Label,
    LineEdit,
    ProgressBar,
    PushButton,
    SpinBox,
)
from napari.layers import Image, Labels
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_error, show_info

from ..core.compare import confusion_matrix, per_class_metrics
from ..core.noise import SUPPRESSIONS
from ..core.noise_copy import displacement_rms, noisy_labels
from ..core.noise_metrics import calibrate_noise, noise_sweep
from ..ops import REGISTRY
from ..ops.noise import DEFAULTS
from ._live import (
    PREVIEW_PREFIX,
    InputError,
    Job,
    LiveWidget,
    Result,
    layer_combo,
    new_labels_layer,
    wrapping_label,
    write_labels,
)
from ._scope import SCOPES, ScopeMixin
from .noise_floor_control import LEVEL_SIGMA, LEVELS, NoiseFloorControl, max_seed

__all__ = ["LEVELS", "LEVEL_SIGMA", "NoiseFloorControl", "NoiseWidget", "check_label_layer"]

if TYPE_CHECKING:
    import napari

    from ..recipe import Step

OP = "elastic_deform_labels"
_TARGETS = ("Dice", "boundary shift (px)")
_SWEEP_METRICS = ("dice", "boundary_f1", "mean_boundary_shift")


def check_label_layer(layer) -> None:
    """Raise InputError unless ``layer`` holds an integer label image."""
    if isinstance(layer, Image):
        dtype = (layer.data[0] if layer.multiscale else layer.data).dtype
        if layer.rgb:
            raise InputError(f"{layer.name!r} is an RGB image, not a label image; convert a "
                             "colour mask to labels first (Fill holes dock or the reader).")
        if not (np.issubdtype(dtype, np.integer) or dtype.kind == "b"):
            raise InputError(f"{layer.name!r} holds {dtype} values, not labels; label noise "
                             "deforms integer label images: choose a Labels layer.")
        raise InputError(f"{layer.name!r} is an Image layer; label noise works on Labels "
                         "layers: right-click it > Convert to Labels, then choose it here.")


class NoiseWidget(ScopeMixin, LiveWidget):
    """Preview and commit noisy copies of a Labels layer (label-only elastic deformation)."""

    max_volume_ndim = 3
    operation_name = "label noise"
    #: The optional image of the displacement lengths (owned, like the preview).
    displacement_name = f"{PREVIEW_PREFIX}Label noise displacement"

    def _adopt_leftovers(self) -> None:
        """Also show again the displacement image an earlier, closed dock hid."""
        super()._adopt_leftovers()
        for layer in self.viewer.layers:
            if layer.name == self.displacement_name:
                layer.visible = True

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Label noise")
        self.labels = layer_combo(viewer, (Labels, Image), label="labels",
                                  tooltip="The label image to make a noisy copy of (never "
                                          "changed).")
        spec = REGISTRY[OP]
        tip = {p.name: p.tooltip for p in spec.params}
        self.alpha = FloatSpinBox(label="alpha", value=DEFAULTS["alpha"], min=0, max=1e5,
                                  step=5, tooltip=tip["alpha"])
        self.sigma = FloatSpinBox(label="sigma", value=DEFAULTS["sigma"], min=0.5, max=500,
                                  step=0.5, tooltip=tip["sigma"])
        self.area_threshold = SpinBox(label="keep small ≤", value=DEFAULTS["area_threshold"],
                                      min=0, max=2**31 - 1, step=10,
                                      tooltip=tip["area_threshold"] + " The paper's 1000 "
                                      "freezes every component up to 1000 px with a box "
                                      "padded by alpha/2: on instance masks nothing moves.")
        self.suppression = ComboBox(label="suppression", choices=SUPPRESSIONS, value="seed",
                                    tooltip=tip["suppression"])
        self.instance_safe = CheckBox(text="instance-safe", value=False,
                                      tooltip=tip["instance_safe"])
        self.ignore_index = SpinBox(label="ignore label", value=-1, min=-1, max=2**31 - 1,
                                    tooltip="A label never frozen nor checked (e.g. 255); "
                                            "-1 = none.")
        self.seed = SpinBox(label="seed", value=0, min=0, max=max_seed(),
                            tooltip=tip["random_state"])
        self.seed_per_image = CheckBox(text="new field per image", value=True,
                                       tooltip=tip["seed_per_image"])
        self.show_displacement = CheckBox(text="show displacement", value=False,
                                          tooltip="Show the length of the displacement "
                                                  "(pixels) as an image layer.")
        self.level_note = Label(value="")
        self.add_scope_widgets()
        self.scope.value = SCOPES[1]  # a noisy copy of the whole volume by default
        # calibration
        self.target_kind = ComboBox(label="target", choices=_TARGETS, value=_TARGETS[0],
                                    tooltip="Calibrate alpha (sigma fixed) so that the noisy "
                                            "copies reach this mean Dice or boundary shift.")
        self.target_value = FloatSpinBox(label="value", value=0.95, min=0.0, max=1e4,
                                         step=0.01, tooltip="The target (Dice in 0..1, shift "
                                                            "in pixels).")
        self.calibrate_button = PushButton(text="Calibrate alpha")
        self.calibrate_button.clicked.connect(self.calibrate)
        self.calibration_note = wrapping_label()
        self.calibration = None
        # sweep
        self.sweep_alphas = LineEdit(label="alphas", value="0, 25, 50, 100, 200, 400",
                                     tooltip="Alpha values of the sweep (sigma is the one "
                                             "above), comma-separated.")
        self.sweep_repeats = SpinBox(label="repeats", value=3, min=1, max=50,
                                     tooltip="Noisy copies per alpha (mean and spread).")
        self.sweep_button = PushButton(text="Sweep")
        self.sweep_button.clicked.connect(self.sweep)
        self.cancel_button = PushButton(text="Cancel", enabled=False)
        self.cancel_button.clicked.connect(self.cancel_background)
        self.progress = ProgressBar(value=0, min=0, max=1, visible=False)
        self.sweep_rows: list[dict[str, float]] = []
        self._background = None
        self._background_generation = 0
        self._canvas = None

        params = [self.labels, self.alpha, self.sigma, self.area_threshold, self.suppression,
                  self.instance_safe, self.ignore_index, self.seed, self.seed_per_image,
                  self.show_displacement, self.scope]
        self.extend([self.labels, self.scope, self.alpha, self.sigma, self.level_note,
                     self.area_threshold, self.suppression, self.instance_safe,
                     self.ignore_index, self.seed, self.seed_per_image,
                     self.show_displacement, self.commit_button, self.status])
        self.extend([Container(widgets=[self.target_kind, self.target_value], labels=True),
                     self.calibrate_button, self.calibration_note])
        buttons = Container(widgets=[self.sweep_button, self.cancel_button], layout="horizontal",
                            labels=False)
        self.sweep_box = Container(widgets=[self.sweep_alphas, self.sweep_repeats, buttons,
                                            self.progress], labels=True)
        self.append(self.sweep_box)
        self.watch_parameters(params)
        for w in (self.alpha, self.sigma):
            w.changed.connect(self._update_level_note)
        self.labels.changed.connect(self._rewatch_sources)
        self.labels.changed.connect(self._update_visibility)
        self.target_kind.changed.connect(self._target_changed)
        self.reset_choices()
        self._prefer_labels()
        self._rewatch_sources()
        self._update_visibility()
        self._update_level_note()
        self.request()

    # ---- GUI state ---------------------------------------------------------------------
    def _prefer_labels(self) -> None:
        """Start on the active Labels layer, else the topmost visible one."""
        choices = [c for c in self.labels.choices if isinstance(c, Labels)]
        active = self.viewer.layers.selection.active
        pick = active if active in choices else next(
            (c for c in reversed(choices) if c.visible), None)
        if pick is not None:
            self.labels.value = pick

    def _update_visibility(self, *_args) -> None:
        self.update_scope_visibility(self.labels.value)

    def _update_level_note(self, *_args) -> None:
        rms = displacement_rms(self.alpha.value, self.sigma.value)
        self.level_note.value = f"≈ {rms:.2f} px RMS shift per axis (2D)"

    def _target_changed(self, *_args) -> None:
        dice = self.target_kind.value == _TARGETS[0]
        self.target_value.value = 0.95 if dice else 1.0

    def source_layers(self):
        """Edits of the labels recompute the preview."""
        return [self.labels.value]

    def params(self) -> dict[str, Any]:
        """The op's parameters for the current GUI state (validated, JSON-able)."""
        layer = self.labels.value
        raw = {
            "alpha": float(self.alpha.value),
            "sigma": float(self.sigma.value),
            "area_threshold": int(self.area_threshold.value),
            "ignore_index": None if self.ignore_index.value < 0 else int(self.ignore_index.value),
            "suppression": self.suppression.value,
            "instance_safe": bool(self.instance_safe.value),
            "random_state": int(self.seed.value),
            "seed_per_image": bool(self.seed_per_image.value),
            "per_slice": self.scope.value == SCOPES[2] and layer is not None
            and layer.ndim > 2,
        }
        return REGISTRY[OP].validate(raw)

    def _labels_array(self) -> tuple[Labels, tuple, np.ndarray]:
        layer = self.labels.value
        if layer is None:
            raise InputError("add or choose a Labels layer")
        check_label_layer(layer)
        region = self.region_for(layer)
        return layer, region, self.array_for(layer, region)

    # ---- LiveWidget API ----------------------------------------------------------------
    def make_job(self) -> Job | None:
        """Snapshot the labels (or the current slice) and the op's parameters."""
        if self.labels.value is None:
            self.status.value = "add or choose a Labels layer"
            return None
        layer, region, data = self._labels_array()
        params = self.params()
        show = bool(self.show_displacement.value)

        def elastic_deform_labels(labels, **p):  # the recipe step's name
            out = noisy_labels(labels, return_displacement=show, **p)
            return out if show else (out, None)

        def figures(value):
            noisy, _ = value
            return _figures(data, noisy, params["ignore_index"], params)

        return Job(elastic_deform_labels, (data,), params, layer, region, post=figures)

    def preview_data(self, result: Result) -> np.ndarray:
        """The noisy labels."""
        return result.value[0]

    def show_result(self, result: Result) -> None:
        """Update the preview (same colours as the source) and the displacement image."""
        source = result.job.source
        self.update_preview(result.job, result.value[0], opacity=0.7,
                            colormap=source.colormap)
        disp = result.value[1]
        if disp is None:
            self._remove_displacement()
        else:
            self._show_displacement(result.job, disp)
        self.status.value = result.extra

    def owned_layers(self):
        """The preview and the displacement image (hidden with the dock)."""
        return [lay for lay in (self.preview_layer(), self.displacement_layer())
                if lay is not None]

    def displacement_layer(self) -> Image | None:
        """The displacement image layer, if shown."""
        for layer in self.viewer.layers:
            if layer.name == self.displacement_name:
                return layer
        return None

    def _show_displacement(self, job: Job, disp: np.ndarray) -> None:
        source = job.source
        ndim = source.ndim
        full_shape = source.data.shape[:ndim]
        layer = self.displacement_layer()
        if layer is not None and layer.data.shape == full_shape:
            if job.region:
                layer.data[...] = 0
            layer.data[job.region] = disp
            layer.contrast_limits = (0.0, max(float(disp.max()), 1e-3))
            layer.refresh()
            return
        if layer is not None:
            self.viewer.layers.remove(layer)
        full = np.zeros(full_shape, np.float32)
        full[job.region] = disp
        active = self.viewer.layers.selection.active
        self.viewer.add_image(full, name=self.displacement_name, colormap="magma",
                              blending="additive", opacity=0.6, scale=source.scale[-ndim:],
                              translate=source.translate[-ndim:],
                              contrast_limits=(0.0, max(float(disp.max()), 1e-3)))
        if active is not None and active in self.viewer.layers:
            self.viewer.layers.selection.active = active

    def _remove_displacement(self) -> None:
        layer = self.displacement_layer()
        if layer is not None:
            self.viewer.layers.remove(layer)

    def remove_preview(self) -> None:
        """Remove the preview and the displacement image."""
        super().remove_preview()
        self._remove_displacement()

    def commit(self, result: Result) -> int:
        """Write the noisy copy into a NEW Labels layer (one undo step); the source is kept."""
        job = result.job
        source = job.source
        dtype = np.uint8 if source.data.dtype == bool else source.data.dtype
        target = new_labels_layer(self.viewer, source, f"{source.name} noisy", dtype=dtype)
        target.colormap = source.colormap
        self.last_target = target
        n = write_labels(target, result.value[0], region=job.region, preserve_labels=False)
        self.viewer.layers.selection.active = target
        return n

    def recipe_step(self, result: Result) -> Step | None:
        """The committed noisy copy as a recipe step (replays to the same pixels)."""
        from ..recipe import Scope, Step

        job = result.job
        source = job.source
        target = getattr(self, "last_target", None)
        params = dict(job.params)
        ndim = source.ndim
        scale = [float(v) for v in source.scale[-ndim:]]
        translate = [float(v) for v in source.translate[-ndim:]]
        if job.region:
            scope = Scope.SLICE
            slice_world = [translate[i] + scale[i] * int(r) for i, r in enumerate(job.region)]
        else:
            scope = Scope.EACH_SLICE if params.get("per_slice") else Scope.VOLUME
            slice_world = None
        return Step(OP, params, {"labels": source.name},
                    target.name if target is not None else f"{source.name} noisy",
                    version=REGISTRY[OP].version, new_target=True, scope=scope,
                    slice_world=slice_world, scale=scale, translate=translate)

    # ---- calibration and sweep (background work) ---------------------------------------
    def _start_background(self, work, done, *, total: int, desc: str) -> None:
        if self._background is not None:
            show_info("Label noise: another calibration or sweep is running; cancel it first.")
            return
        self._background_generation += 1
        generation = self._background_generation
        worker = thread_worker(work, progress={"total": total, "desc": desc},
                               ignore_errors=True)()
        self.progress.max = max(total, 1)
        self.progress.value = 0
        self.progress.visible = True
        self.cancel_button.enabled = True
        self.calibrate_button.enabled = self.sweep_button.enabled = False

        def step(value):
            if generation == self._background_generation and value is not None:
                self.progress.value = min(int(value), self.progress.max)

        def finish(value):
            if generation != self._background_generation or self._closed:
                return
            self._end_background()
            done(value)

        def failed(err):
            if generation != self._background_generation or self._closed:
                return
            self._end_background()
            self._background_error(err)

        worker.yielded.connect(step)
        worker.returned.connect(finish)
        worker.errored.connect(failed)
        self._background = worker
        worker.start()

    def _background_error(self, err: Exception) -> None:
        msg = str(err) if isinstance(err, (ValueError, TypeError)) else f"failed: {err!r}"
        self.calibration_note.value = f"⚠ {msg}"
        show_error(f"Label noise: {msg}")

    def _end_background(self) -> None:
        self._background = None
        self.progress.visible = False
        self.cancel_button.enabled = False
        self.calibrate_button.enabled = self.sweep_button.enabled = True

    @property
    def busy(self) -> bool:
        """True while a calibration or sweep runs."""
        return self._background is not None

    def cancel_background(self, *_args) -> None:
        """Stop the running sweep or calibration (its result is dropped)."""
        worker = self._background
        if worker is None:
            return
        self._background_generation += 1
        worker.quit()
        self._end_background()
        self.calibration_note.value = "cancelled"

    def calibrate(self, *_args) -> None:
        """Find alpha (sigma fixed) for the target Dice or boundary shift, in a worker."""
        try:
            _layer, _region, data = self._labels_array()
            p = self.params()
        except (InputError, ValueError) as err:
            self._background_error(err)
            return
        dice = self.target_kind.value == _TARGETS[0]
        target = float(self.target_value.value)
        kw = dict(sigma=p["sigma"], area_threshold=p["area_threshold"],
                  ignore_index=p["ignore_index"], suppression=p["suppression"],
                  instance_safe=p["instance_safe"], random_state=p["random_state"])
        if dice:
            kw["target_dice"] = target
        else:
            kw["target_boundary_shift"] = target

        def work():
            yield 0
            return calibrate_noise(data, **kw)

        self.calibration_note.value = "calibrating…"
        self._start_background(work, self._calibrated, total=1, desc="Label noise calibration")

    def _calibrated(self, cal) -> None:
        self.calibration = cal
        self.alpha.value = round(cal.alpha, 2)
        f = cal.figures
        what = "Dice" if cal.metric == "dice" else "boundary shift"
        state = "reached" if cal.reached else "NOT reached (closest alpha)"
        self.calibration_note.value = (
            f"alpha {cal.alpha:.4g}: {what} {cal.achieved:.4g} (target {cal.target:g} ± "
            f"{cal.tolerance:g}, {state}); mean of the copies: Dice {f['dice']:.4f}, "
            f"boundary F1 {f['boundary_f1']:.3f}, shift {f['mean_boundary_shift']:.2f} px, "
            f"HD95 {f['hd95']:.2f} px")

    def sweep_alpha_values(self) -> list[float]:
        """The alphas typed in the sweep field."""
        try:
            values = [float(v) for v in self.sweep_alphas.value.replace(";", ",").split(",")
                      if v.strip()]
        except ValueError:
            raise InputError(f"alphas must be numbers separated by commas, got "
                             f"{self.sweep_alphas.value!r}") from None
        if not values or any(not math.isfinite(v) or v < 0 for v in values):
            raise InputError("alphas must be numbers >= 0 separated by commas, e.g. "
                             "'0, 50, 100, 200'")
        return sorted(set(values))

    def sweep(self, *_args) -> None:
        """Measure the noise at each alpha (mean and spread over repeats) and plot it."""
        try:
            _layer, _region, data = self._labels_array()
            p = self.params()
            alphas = self.sweep_alpha_values()
        except (InputError, ValueError) as err:
            self._background_error(err)
            return
        repeats = int(self.sweep_repeats.value)
        kw = dict(repeats=repeats, metrics=_SWEEP_METRICS, random_state=p["random_state"],
                  area_threshold=p["area_threshold"], ignore_index=p["ignore_index"],
                  suppression=p["suppression"], instance_safe=p["instance_safe"])
        sigma = p["sigma"]

        def work():
            rows = []
            for k, alpha in enumerate(alphas):
                yield k  # quit() stops here
                rows += noise_sweep(data, [alpha], [sigma], **kw)
            yield len(alphas)
            return rows

        self.calibration_note.value = "sweeping…"
        self._start_background(work, self._swept, total=len(alphas) + 1,
                               desc="Label noise sweep")

    def _swept(self, rows) -> None:
        self.sweep_rows = rows
        self.calibration_note.value = f"sweep: {len(rows)} alphas at sigma {rows[0]['sigma']:g}"
        self._plot(rows)

    def _plot(self, rows) -> None:
        from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
        from matplotlib.figure import Figure

        if self._canvas is None:
            from qtpy.QtWidgets import QSizePolicy

            self._canvas = FigureCanvasQTAgg(Figure(figsize=(3.2, 2.4), tight_layout=True))
            self._canvas.setMinimumHeight(220)
            self._canvas.setSizePolicy(QSizePolicy.Policy.Expanding,
                                       QSizePolicy.Policy.Fixed)
            self.sweep_box.native.layout().addWidget(self._canvas)
        fig = self._canvas.figure
        fig.clear()
        ax = fig.add_subplot(111)
        x = [r["alpha"] for r in rows]
        for key, name in (("dice", "Dice"), ("boundary_f1", "boundary F1")):
            ax.errorbar(x, [r[f"{key}_mean"] for r in rows], yerr=[r[f"{key}_std"] for r in rows],
                        marker="o", ms=3, capsize=2, label=name)
        ax.set_xlabel("alpha (px)", fontsize="small")
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("score", fontsize="small")
        ax.tick_params(labelsize="x-small")
        right = ax.twinx()
        right.errorbar(x, [r["mean_boundary_shift_mean"] for r in rows],
                       yerr=[r["mean_boundary_shift_std"] for r in rows], color="tab:red",
                       marker="s", ms=3, capsize=2, label="shift (px)")
        right.set_ylabel("boundary shift (px)", fontsize="small")
        right.tick_params(labelsize="x-small")
        lines = ax.get_legend_handles_labels()
        more = right.get_legend_handles_labels()
        ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize="x-small", loc="best",
                  framealpha=0.6)
        ax.set_title(f"sigma {rows[0]['sigma']:g}, {rows[0]['repeats']} repeats",
                     fontsize="small")
        self._canvas.draw_idle()

    @property
    def figure(self):
        """The sweep's matplotlib Figure (None before the first sweep)."""
        return None if self._canvas is None else self._canvas.figure

    def close_down(self, *args) -> None:
        """Also stop a running sweep or calibration."""
        if self._background is not None:
            self._background_generation += 1
            self._background.quit()
            self._background = None
        super().close_down(*args)


def _figures(original: np.ndarray, noisy: np.ndarray, ignore_index,
             params: dict | None = None) -> str:
    """One status line: changed pixels and the mean Dice / IoU over the labels.

    From one confusion matrix (tens of ms at 2048²); the boundary figures
    (distance transforms per label, seconds on a 2048² map) are left to
    Calibrate and Sweep.
    """
    changed = np.count_nonzero(original != noisy)
    line = f"{changed:,} pixels changed ({100 * changed / max(original.size, 1):.2f}%)"
    if changed:
        cm = confusion_matrix(original, noisy, ignore_index=ignore_index)
        m = per_class_metrics(cm)
        line += f"; mean Dice {m['mean_dice']:.4f}, mean IoU {m['mean_iou']:.4f}"
    elif params and params["alpha"] > 0 and params["area_threshold"] > 0:
        line += (f": components of at most {params['area_threshold']} px freeze their boxes "
                 "(padded by alpha/2); lower 'keep small ≤' (0 = none) and, for instance "
                 "masks, use 'instance-safe' instead")
    return line
