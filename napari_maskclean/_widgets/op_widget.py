"""A live dock for any simple operation, built from its spec alone.

``OpWidget(viewer, REGISTRY["fill_nearest"])`` is a working dock: a picker for
the op's first input (an Image, an RGB Image or a Labels layer, by its role), the
parameter form from the spec (:class:`~._form.SpecForm`), the scope for nD data,
a target, a live preview, and Commit through the single write path, recorded in
the viewer's recipe. "Simple" means one array in (``image``, ``labels`` or
``rgb``) and one array out (``labels``, ``mask`` or ``image``); operations with
seeds, two inputs or metrics need their own widget.

Parameters the dock sets itself: ``per_slice`` (the scope), ``spacing`` (the
layer's scale) and ``channel_axis`` (-1 for an RGB layer, else None).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from magicgui.widgets import SpinBox
from napari.layers import Image, Labels, Layer

from ..ops import REGISTRY, OpSpec, OutputKind, ParamError
from ..recipe import Step
from ._engine import Job, LiveWidget, Result
from ._errors import InputError
from ._form import SpecForm
from ._layers import layer_combo, new_labels_layer, prefer_visible_layer
from ._scope import SCOPES, ScopeMixin, check_target, spatial_ndim, step_placement
from ._write import write_labels

if TYPE_CHECKING:
    import napari

__all__ = ["OpWidget", "is_simple", "op_widget_factory"]

_SET_BY_DOCK = ("per_slice", "spacing", "channel_axis")
_INPUT_LAYERS = {"image": (Image, None), "labels": (Labels, None), "rgb": (Image, True)}
_OUTPUTS = (OutputKind.LABELS, OutputKind.MASK, OutputKind.IMAGE)


def is_simple(spec: OpSpec) -> bool:
    """Whether :class:`OpWidget` can show ``spec``: one array in, one array out."""
    required = [i for i in spec.inputs if not i.optional]
    return (len(required) == 1 and required[0].role in _INPUT_LAYERS
            and spec.output in _OUTPUTS and not spec.result_fields)


class OpWidget(ScopeMixin, LiveWidget):
    """Live preview and Commit of one simple operation (see the module docstring)."""

    def __init__(self, viewer: napari.viewer.Viewer, spec: OpSpec | str) -> None:
        spec = REGISTRY[spec] if isinstance(spec, str) else spec
        if not is_simple(spec):
            raise ValueError(f"op {spec.name!r} is not one array in, one array out; give it "
                             "its own widget")
        self.spec = spec
        self.preview_kind = "image" if spec.output is OutputKind.IMAGE else "labels"
        super().__init__(viewer, title=spec.name.replace("_", " ").capitalize())
        role = spec.inputs[0].role
        kinds, rgb = _INPUT_LAYERS[role]
        if spec.inputs[0].rgb is not None:  # e.g. to_grey lists colour images only
            rgb = spec.inputs[0].rgb
        self.role = role
        self.source = layer_combo(viewer, kinds, rgb=rgb, label=role,
                                  tooltip=spec.inputs[0].doc or f"The {role} layer.")
        self.form = SpecForm(spec, exclude=_SET_BY_DOCK)
        self.add_scope_widgets()
        widgets = [self.source, self.scope, *self.form.widgets]
        self.target = self.label_value = None
        if spec.output is not OutputKind.IMAGE:
            self.target = layer_combo(viewer, Labels, label="target", nullable=True,
                                      tooltip="Labels layer to write into; empty = a new "
                                              "layer.")
            widgets.append(self.target)
        if spec.output is OutputKind.MASK:
            self.label_value = SpinBox(label="label", value=1, min=1, max=2**31 - 1,
                                       tooltip="Label value written where the mask is on.")
            widgets.append(self.label_value)
        self.extend([*widgets, self.commit_button, self.status])
        self.watch_parameters([self.source, self.scope, *self.form.widgets])
        self.source.changed.connect(self._rewatch_sources)
        self.source.changed.connect(self._update_visibility)
        self.reset_choices()
        prefer_visible_layer(self.source, viewer)
        self._rewatch_sources()
        self._update_visibility()
        self._written: dict = {}
        self.request()

    def _update_visibility(self, *_args) -> None:
        self.form.update_visibility()
        self.update_scope_visibility(self.source.value)

    def source_layers(self) -> list[Layer]:
        """Edits of the input layer recompute the preview."""
        return [self.source.value]

    def params(self, layer: Layer, region: tuple) -> dict:
        """The op's parameters: the form's values plus those the dock sets."""
        p = self.form.values()
        names = {q.name for q in self.spec.params}
        n_lead = len(region)
        if "spacing" in names:
            p["spacing"] = [float(s) for s in np.asarray(layer.scale)[n_lead:]]
        if "channel_axis" in names and getattr(layer, "rgb", False):
            p["channel_axis"] = -1
        if self.scope.value == SCOPES[2] and spatial_ndim(layer) > 2:
            if "per_slice" not in names:
                raise InputError(f"{self.spec.name} has no 'each slice' mode; choose "
                                 "'current slice' or 'whole volume'.")
            p["per_slice"] = True
        try:
            return self.spec.validate(p)
        except ParamError as err:
            raise InputError(str(err)) from None

    def make_job(self) -> Job | None:
        """Snapshot the input (or its current slice) and the parameters."""
        layer = self.source.value
        if layer is None:
            self.status.value = f"add or choose a layer for '{self.role}'"
            return None
        region = self.region_for(layer)
        data = self.array_for(layer, region)
        params = self.params(layer, region)
        return Job(self.spec.function, (data,), params, layer, region)

    def preview_data(self, result: Result) -> np.ndarray:
        """Masks show as 0/1 labels; labels and images as they are."""
        value = np.asarray(result.value)
        return value.view(np.uint8) if value.dtype == bool else value

    def commit(self, result: Result) -> int:
        """Write the result (one undo step); an image result becomes a new Image layer."""
        job = result.job
        source = job.source
        if self.spec.output is OutputKind.IMAGE:
            if job.region:
                raise InputError("an image result is a new layer of the whole data; choose "
                                 "'whole volume' to commit it.")
            name = f"{source.name} {self.spec.name}"
            full = np.asarray(result.value)
            ndim = full.ndim
            self.viewer.add_image(full, name=name, scale=source.scale[-ndim:],
                                  translate=source.translate[-ndim:])
            self._written = {"target": name, "new_target": True}
            return int(full.size)
        target = self.target.value
        created = target is None
        if created:
            target = new_labels_layer(self.viewer, source, f"{source.name} {self.spec.name}")
            self.target.reset_choices()
            self.target.value = target
        check_target(target, source)
        preserve = bool(target.preserve_labels)
        self._written = {"target": target.name, "new_target": created,
                         "preserve_labels": preserve}
        if self.spec.output is OutputKind.MASK:
            value = int(self.label_value.value)
            self._written["label_value"] = value
            return write_labels(target, value, region=job.region,
                                where=np.asarray(result.value, bool), preserve_labels=preserve)
        return write_labels(target, np.asarray(result.value), region=job.region,
                            preserve_labels=preserve)

    def recipe_step(self, result: Result) -> Step:
        """The step that replays the last commit."""
        job = result.job
        return Step(op=self.spec.name, version=self.spec.version, params=dict(job.params),
                    inputs={self.role: job.source.name}, **self._written,
                    **step_placement(job))


def op_widget_factory(name: str) -> type[OpWidget]:
    """A dock class for op ``name``, to list in napari.yaml (``python_name``).

    napari builds a dock from a class whose ``__init__`` takes the viewer.
    """

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        OpWidget.__init__(self, viewer, name)

    title = "".join(part.capitalize() for part in name.split("_"))
    return type(f"{title}Widget", (OpWidget,), {"__init__": __init__, "__module__": __name__,
                                                "__doc__": REGISTRY[name].doc})


#: Docks of simple operations without a custom widget (listed in napari.yaml).
to_grey_widget = op_widget_factory("to_grey")
