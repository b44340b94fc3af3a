"""Morphology dock widget: live preview of a morphological clean-up of a Labels layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from magicgui.widgets import ComboBox
from napari.layers import Labels

from ..core.fill import change_preview
from ..core.morphology import morphology
from ..ops import REGISTRY
from ..recipe import Step
from ._changes import change_colormap, compact_changes
from ._engine import Job, LiveWidget, Result
from ._form import SpecForm
from ._layers import layer_combo, prefer_visible_layer
from ._scope import SCOPES, ScopeMixin, spatial_ndim, step_placement
from ._write import write_labels

if TYPE_CHECKING:
    import napari

MORPHOLOGY = REGISTRY["morphology"]
_APPLY_TO = ("all labels", "selected label")
_SHOW = ("changes", "changes in label colours", "result")


class MorphologyWidget(ScopeMixin, LiveWidget):
    """Erode, dilate, open, close, fill holes, remove specks or smooth a Labels layer."""

    max_volume_ndim = 3  # the core morphology is 2D/3D; 4D+ data: each slice
    operation_name = "morphology"
    _shown_result = False  # whether the preview layer holds the result (not changes)

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__(viewer, title="Morphology")
        self.labels = layer_combo(viewer, Labels, label="labels",
                                  tooltip="The Labels layer to clean; Commit writes into it.")
        self.form = SpecForm(MORPHOLOGY, exclude=("label", "per_slice"))
        for name, control in self.form.controls.items():
            setattr(self, name, control)  # w.operation, w.radius, ... as before
        self.apply_to = ComboBox(label="apply to", choices=_APPLY_TO, value=_APPLY_TO[0],
                                 tooltip="All labels, or only the layer's selected label.")
        self.show = ComboBox(label="preview", choices=_SHOW, value=_SHOW[0],
                             tooltip="Show only the pixels that will change (magenta, or in "
                                     "their new label's colour; white = becomes background), "
                                     "or the whole cleaned result.")
        self.show.changed.connect(self._restyle)
        self.add_scope_widgets()
        params = [self.labels, *self.form.widgets, self.apply_to, self.scope]
        self.extend([self.labels, self.scope, *self.form.widgets, self.apply_to,
                     self.show, self.commit_button, self.status])
        self.watch_parameters(params)
        for w in (self.operation, self.labels):
            w.changed.connect(self._update_visibility)
        self.labels.changed.connect(self._rewatch_sources)
        self.reset_choices()
        prefer_visible_layer(self.labels, viewer)
        self._rewatch_sources()
        self._update_visibility()
        self.request()

    def _update_visibility(self, *_args) -> None:
        self.form.update_visibility()  # the spec's 'when' rules
        self.update_scope_visibility(self.labels.value)

    def source_layers(self):
        """Edits of the labels (painting, other commits) recompute the preview."""
        return [self.labels.value]

    def _rewatch_sources(self, *args) -> None:
        super()._rewatch_sources()
        layer = self.labels.value
        if layer is not None:  # the selected label matters only in "selected label" mode
            try:
                layer.events.selected_label.disconnect(self._selected_label_changed)
            except (TypeError, ValueError, RuntimeError):
                pass
            layer.events.selected_label.connect(self._selected_label_changed)

    def _selected_label_changed(self, *_args) -> None:
        if self.apply_to.value == _APPLY_TO[1]:
            self.request()

    def params(self, layer: Labels) -> dict:
        """Return the core keyword parameters (JSON-able, validated by the spec)."""
        p = self.form.values()
        if self.apply_to.value == _APPLY_TO[1]:
            p["label"] = int(layer.selected_label)
        if spatial_ndim(layer) > 2 and self.scope.value == SCOPES[2]:
            p["per_slice"] = True
        return MORPHOLOGY.validate(p)

    def make_job(self) -> Job | None:
        """Snapshot the labels (or the current slice) and the parameters."""
        layer = self.labels.value
        if layer is None:
            self.status.value = "add or choose a Labels layer"
            return None
        region = self.region_for(layer)
        data = self.array_for(layer, region)
        return Job(morphology, (data,), self.params(layer), layer, region,
                   post=lambda after: compact_changes(change_preview(after, before=data)))

    def show_result(self, result: Result) -> None:
        """Show the pixels that will change (or the whole result) in the labels' colours."""
        source = result.job.source
        changes = result.extra
        result_mode = self.show.value == _SHOW[-1]
        if result_mode != self._shown_result:  # another kind of data and colormap
            self.remove_preview()
            self._shown_result = result_mode
        if not result_mode:
            colormap = change_colormap(changes, source_colormap=source.colormap,
                                       highlight=self.show.value == _SHOW[0])
            self.update_preview(result.job, changes.data, colormap=colormap, opacity=0.9)
        else:
            self.update_preview(result.job, result.value, colormap=source.colormap,
                                opacity=0.7)
        n = changes.n_changed
        msg = f"{n} pixel{'s' if n != 1 else ''} would change"
        if changes.n_zero:
            msg += f" ({changes.n_zero} to background, white)"
        self.status.value = msg

    def _restyle(self, *_args) -> None:
        """Switch between the changes and the result (no recomputation)."""
        if (self.last_result is not None
                and self._job_inputs_alive(self.last_result.job)):
            self.show_result(self.last_result)

    def commit(self, result: Result) -> int:
        """Write the cleaned labels back into the same layer (one undo step)."""
        return write_labels(result.job.source, result.value, region=result.job.region,
                            preserve_labels=False)

    def recipe_step(self, result: Result) -> Step:
        """The step that replays the last commit: the labels cleaned in place."""
        job = result.job
        return Step(op="morphology", version=MORPHOLOGY.version, params=dict(job.params),
                    inputs={"labels": job.source.name}, target=job.source.name,
                    preserve_labels=False, **step_placement(job))

