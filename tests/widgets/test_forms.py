"""Forms built from the specs: for every op, the controls ARE the spec's parameters.

Names, defaults, choices, bounds, labels, tooltips and the ``when`` visibility
rules come from :mod:`napari_maskclean.ops`; the docks built on the specs
(Threshold, Morphology, generic op docks) show exactly those controls.
"""

from __future__ import annotations

import pytest
from magicgui.widgets import CheckBox, ComboBox, Container, FloatSpinBox, LineEdit, SpinBox

from napari_maskclean._widgets._form import NONE_TEXT, SpecForm
from napari_maskclean.ops import REGISTRY

pytestmark = pytest.mark.gui

SPECS = sorted(REGISTRY)


def _shown(form: SpecForm, name: str) -> bool:
    widget = form[name]
    return widget.native.isVisibleTo(widget.native.parentWidget())


@pytest.mark.parametrize("name", SPECS)
def test_form_controls_match_the_spec(qapp, name):
    spec = REGISTRY[name]
    form = SpecForm(spec)
    assert [w.name for w in form.widgets] == [p.name for p in spec.params]
    # the defaults of the form are the spec's defaults
    assert spec.validate(form.values()) == spec.defaults
    for p in spec.params:
        w = form[p.name]
        assert w.tooltip == p.tooltip
        if p.is_enum:
            assert isinstance(w, ComboBox) and tuple(w.choices) == p.choices
        elif p.type is bool:
            assert isinstance(w, CheckBox) and w.text == (p.label or p.name)
        elif p.type in (int, float):
            assert isinstance(w, SpinBox if p.type is int else FloatSpinBox)
            if p.max is not None:
                assert w.max == p.max
            if p.optional:  # the lowest value is None, shown as "none"
                assert w.native.specialValueText() == NONE_TEXT
            elif p.min is not None:
                assert w.min == p.min
            if p.odd:
                assert w.step == 2
        else:
            assert isinstance(w, LineEdit)
        if p.type is not bool:
            assert w.label == (p.label or p.name)


@pytest.mark.parametrize("name", SPECS)
def test_form_visibility_follows_when(qapp, name):
    spec = REGISTRY[name]
    form = SpecForm(spec)
    Container(widgets=form.widgets)  # parented: visibility without showing windows
    form.update_visibility()
    defaults = form.raw()
    for p in spec.params:
        assert _shown(form, p.name) == p.applies(defaults), p.name
    assert set(form.values()) == {p.name for p in spec.params if p.applies(defaults)}


def test_threshold_form_switches_with_the_method(qapp):
    form = SpecForm(REGISTRY["threshold"])
    Container(widgets=form.widgets)
    form["method"].value = "manual"
    assert _shown(form, "level") and not _shown(form, "block_size")
    assert form.values()["level"] == 128.0 and "block_size" not in form.values()
    form["method"].value = "sauvola"
    assert _shown(form, "block_size") and _shown(form, "k") and not _shown(form, "level")
    form.set_values({"method": "multiotsu", "classes": 4, "class_index": 2})
    assert REGISTRY["threshold"].validate(form.values())["class_index"] == 2


def test_optional_numbers_and_lists_round_trip(qapp):
    spec = REGISTRY["fill_rgb_mask"]
    form = SpecForm(spec)
    assert form.values()["snap"] is None and form.values()["palette"] is None
    params = {"snap": 12.5, "palette": [[0, 0, 0], [255, 0, 0]], "max_hole_size": None,
              "invalid_color": [1, 2, 3]}
    form.set_values(params)
    values = spec.validate(form.values())
    for key, value in params.items():
        assert values[key] == value
    form["palette"].value = "[[0, 0"
    with pytest.raises(ValueError, match="not a list of numbers"):
        form.values()


def _dock(viewer, name):
    _d, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
    return widget


@pytest.mark.parametrize(("dock_name", "op", "set_by_dock"), [
    ("Threshold", "threshold", {"per_slice"}),
    ("Morphology", "morphology", {"per_slice", "label"}),
])
def test_docks_show_the_spec_form(make_napari_viewer, dock_name, op, set_by_dock):
    viewer = make_napari_viewer()
    w = _dock(viewer, dock_name)
    spec = REGISTRY[op]
    assert w.form.spec is spec
    assert [c.name for c in w.form.widgets] == [p.name for p in spec.params
                                                if p.name not in set_by_dock]
    for control in w.form.widgets:
        assert getattr(w, control.name) is control  # the dock's attributes are the form's
    assert spec.validate(w.form.values()) == spec.defaults


#: The Fill holes dock's controls and the spec parameters they stand for.
FILL_CONTROLS = {
    "invalid_label": ("fill_labels", "invalid"),
    "rgb_invalid": ("fill_rgb_mask", "invalid"),
    "snap": ("fill_rgb_mask", "snap"),
    "max_colors": ("fill_rgb_mask", "palette_max_colors"),
    "min_count": ("fill_rgb_mask", "palette_min_count"),
    "max_hole_size": ("fill_labels", "max_hole_size"),
    "max_distance": ("fill_labels", "max_distance"),
    "dilate": ("fill_labels", "dilate_invalid"),
    "min_island": ("fill_labels", "min_island_size"),
}


def test_fill_dock_controls_come_from_the_specs(make_napari_viewer):
    viewer = make_napari_viewer()
    w = _dock(viewer, "Fill holes")
    for control, (op, name) in FILL_CONTROLS.items():
        p = REGISTRY[op].param(name)
        widget = getattr(w, control)
        assert widget.tooltip == p.tooltip and widget.label == p.label, control
        if p.is_enum:
            assert tuple(widget.choices) == p.choices and widget.value == p.default
        elif p.max is not None:
            assert widget.max == p.max, control
        if p.default is not None and not p.is_enum:
            assert widget.value == p.default, control
    colour = REGISTRY["fill_rgb_mask"].param("invalid_color")
    assert [c.value for c in w._rgb] == colour.default
    assert all(c.max == colour.max for c in w._rgb)
    # each control stands for its parameter in the job
    import numpy as np

    viewer.add_labels(np.ones((20, 20), np.int32), name="lab")
    w.target.value = viewer.layers["lab"]
    params = w.params(viewer.layers["lab"], ())
    assert REGISTRY["fill_labels"].validate(params) == {**params, "per_slice": False}
