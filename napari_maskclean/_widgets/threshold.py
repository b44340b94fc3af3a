"""Threshold dock widget: a live binary mask preview, committed as a label."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import Container, SpinBox
from napari.layers import Image, Labels
from napari.utils.colormaps import DirectLabelColormap
from napari.utils.notifications import show_info

from ..core.convert import to_grey
from ..core.threshold import threshold_with_histogram
from ..ops import REGISTRY, ParamError
from ..recipe import Step
from ._engine import Job, LiveWidget, Result
from ._errors import InputError
from ._form import SpecForm, control_for
from ._histogram import HistogramView
from ._layers import layer_combo, new_labels_layer, prefer_visible_layer
from ._scope import SCOPES, ScopeMixin, check_target, step_placement
from ._write import write_labels

if TYPE_CHECKING:
    import napari

# One fixed, clearly visible colour for the mask preview (not a random label colour).
_MASK_COLORS = DirectLabelColormap(color_dict={None: "transparent", 0: "transparent",
                                               1: "cyan"})


THRESHOLD = REGISTRY["threshold"]
TO_GREY = REGISTRY["to_grey"]
#: Finer steps than the form's defaults for these spin boxes.
_FORM_OPTIONS = {"level": {"step": 1.0}, "k": {"step": 0.05}, "sigma": {"step": 0.1},
                 "clip_limit": {"step": 0.005}}


class ThresholdWidget(ScopeMixin, LiveWidget):
    """Threshold an image live; Commit writes the mask as a label into a Labels layer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Threshold")
        self.image = layer_combo(viewer, Image, label="image",
                                 tooltip="The image to threshold.")
        self.rgb_channel = control_for(TO_GREY.param("channel"), name="rgb_channel")
        self.form = SpecForm(THRESHOLD, exclude=("per_slice",), options=_FORM_OPTIONS)
        for name, control in self.form.controls.items():
            setattr(self, name, control)  # w.method, w.level, ... as before
        self.target = layer_combo(viewer, Labels, label="target", nullable=True,
                                  tooltip="Labels layer to write into; empty = a new layer.")
        self.label_value = SpinBox(label="label", value=1, min=1, max=2**31 - 1,
                                   tooltip="Label value written where the mask is on.")
        self.histogram = HistogramView()
        self.histogram.levelChanged.connect(self._level_from_histogram)
        self.add_scope_widgets()
        params = [self.image, self.rgb_channel, *self.form.widgets, self.scope]
        self.extend([self.image, self.rgb_channel, self.scope, *self.form.widgets])
        output = Container(widgets=[self.target, self.label_value], labels=True)
        self.extend([output, self.commit_button, self.status])
        # The histogram right under the parameters it shows, above target and Commit
        # (a plain Qt widget: magicgui would insert its later widgets above it).
        layout = self.native.layout()
        row = next(i for i in range(layout.count())
                   if layout.itemAt(i).widget() is not None
                   and (layout.itemAt(i).widget() is output.native
                        or layout.itemAt(i).widget().isAncestorOf(output.native)))
        layout.insertWidget(row, self.histogram)
        self.watch_parameters(params)
        for w in (self.method, self.prefilter, self.image):
            w.changed.connect(self._update_visibility)
        self.image.changed.connect(self._rewatch_sources)
        self.image.changed.connect(self._explain_rgb)
        self.rgb_channel.changed.connect(self._explain_rgb)
        self.reset_choices()
        prefer_visible_layer(self.image, viewer)
        self._rewatch_sources()
        self._update_visibility()
        self.request()

    # ---- GUI state ---------------------------------------------------------------------
    def _update_visibility(self, *_args) -> None:
        layer = self.image.value
        self.rgb_channel.visible = bool(layer is not None and layer.rgb)
        self.form.update_visibility()  # the spec's 'when' rules
        self.update_scope_visibility(layer)

    def _explain_rgb(self, *_args) -> None:
        """Say which channel an RGB image is thresholded on (once per choice)."""
        layer = self.image.value
        if layer is not None and layer.rgb:
            msg = (f"{layer.name!r} is RGB; thresholding its {self.rgb_channel.value} "
                   "(change it in 'RGB as').")
            if self._dock_visible:  # no popup from a background tab
                show_info(f"Threshold: {msg}")
            self.status.value = msg

    def _level_from_histogram(self, value: float) -> None:
        self.method.value = "manual"
        self.level.value = value

    def source_layers(self):
        """Edits of the image recompute the preview."""
        return [self.image.value]

    def params(self) -> dict:
        """Return the core keyword parameters for the current GUI state (JSON-able)."""
        p = self.form.values()
        if self.scope.value == SCOPES[2]:
            p["per_slice"] = True
        try:
            return THRESHOLD.validate(p)
        except ParamError as err:  # e.g. a multi-Otsu boundary beyond the classes
            raise InputError(str(err).replace("op 'threshold': ", "")) from None

    # ---- LiveWidget API ----------------------------------------------------------------
    def make_job(self) -> Job | None:
        """Snapshot the image (or its current slice) and the parameters."""
        layer = self.image.value
        if layer is None:
            self.status.value = "add or choose an image layer"
            return None
        region = self.region_for(layer)
        image = self.array_for(layer, region)
        if layer.rgb:
            image = to_grey(image, channel=self.rgb_channel.value)
        params = self.params()
        return Job(threshold_with_histogram, (image,), params, layer, region,
                   post=lambda t: (t.counts, t.edges, t.levels))

    def preview_data(self, result: Result) -> np.ndarray:
        """The preview is the mask as 0/1 labels."""
        return result.value.mask.view(np.uint8)

    def show_result(self, result: Result) -> None:
        """Update the preview layer and the histogram."""
        self.update_preview(result.job, self.preview_data(result), opacity=0.5,
                            colormap=_MASK_COLORS)
        counts, edges, levels = result.extra
        self.histogram.set_histogram(counts, edges)
        self.histogram.set_lines([] if levels is None else levels)
        mask = result.value.mask
        n = int(np.count_nonzero(mask))
        msg = f"{n} pixels on ({100 * n / max(mask.size, 1):.1f}%)"
        if levels is not None:
            values = ", ".join(f"{float(v):.4g}" for v in np.ravel(levels))
            msg += f"; level {values}"
        self.status.value = msg

    def commit(self, result: Result) -> int:
        """Write the label into the target layer where the mask is on."""
        job = result.job
        target = self.target.value
        value = int(self.label_value.value)
        created = target is None
        if created:
            target = new_labels_layer(self.viewer, job.source, f"{job.source.name} mask")
            self.target.reset_choices()
            self.target.value = target
        check_target(target, job.source)
        preserve = bool(target.preserve_labels)  # as write_labels applies it
        n = write_labels(target, value, region=job.region, where=result.value.mask,
                         preserve_labels=preserve)
        self._written = {"target": target.name, "new_target": created, "label_value": value,
                         "preserve_labels": preserve}
        return n

    def recipe_step(self, result: Result) -> Step:
        """The step that replays the last commit (see :meth:`LiveWidget.recipe_step`)."""
        job = result.job
        source = job.source
        return Step(op="threshold", version=THRESHOLD.version, params=dict(job.params),
                    inputs={"image": source.name},
                    channel=self.rgb_channel.value if source.rgb else None,
                    **self._written, **step_placement(job))
