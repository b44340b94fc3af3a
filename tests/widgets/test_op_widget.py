"""The generic dock: built from a spec alone, live preview, commit, recorded, replayed."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from napari_maskclean._widgets._recording import recorder_for
from napari_maskclean._widgets.op_widget import OpWidget, is_simple
from napari_maskclean.core.convert import to_grey
from napari_maskclean.core.holes import fill_nearest
from napari_maskclean.ops import REGISTRY
from napari_maskclean.recipe import Recipe
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def add(viewer, spec_name):
    w = OpWidget(viewer, spec_name)
    viewer.window.add_dock_widget(w, name=spec_name)
    return w


def test_which_specs_are_simple():
    assert is_simple(REGISTRY["to_grey"]) and is_simple(REGISTRY["fill_nearest"])
    assert not is_simple(REGISTRY["region_grow"])  # seeds
    assert not is_simple(REGISTRY["binary_metrics"])  # two inputs, metrics
    with pytest.raises(ValueError, match="its own widget"):
        OpWidget(None, "binary_metrics")


def test_fill_nearest_dock_from_its_spec(make_napari_viewer, qtbot):
    labels = np.zeros((4, 50, 60), np.int32)
    labels[:, 5:30, 5:40] = 2
    labels[:, 30:45, 10:55] = 3
    holes = labels.copy()
    holes[:, ::5, ::6] = 0
    viewer = make_napari_viewer()
    viewer.add_labels(holes.copy(), name="holes", scale=(2.0, 0.5, 0.5), translate=(1, 2, 3))
    w = add(viewer, "fill_nearest")
    spec = REGISTRY["fill_nearest"]
    # the form is the spec: every parameter the dock does not set itself
    assert [c.name for c in w.form.widgets] == [
        p.name for p in spec.params if p.name not in ("spacing", "channel_axis", "per_slice")]
    w.form["max_hole_size"].value = 4  # a hole is a column through the 4 slices
    w.scope.value = "whole volume"
    result = wait_for_result(qtbot, w)
    expected = fill_nearest(holes, max_hole_size=4, spacing=[2.0, 0.5, 0.5])
    np.testing.assert_array_equal(result.value, expected)
    assert (expected != holes).any()
    w.target.value = viewer.layers["holes"]  # in place
    assert w.run_commit() > 0
    np.testing.assert_array_equal(viewer.layers["holes"].data, expected)
    recipe = Recipe.load(recorder_for(viewer).recipe.to_json())
    np.testing.assert_array_equal(recipe.apply({"holes": holes})["holes"], expected)
    viewer.layers["holes"].undo()  # one undo step
    np.testing.assert_array_equal(viewer.layers["holes"].data, holes)


def test_to_grey_dock_makes_an_image_layer(make_napari_viewer, qtbot):
    astro = skdata.astronaut()[::4, ::4]
    viewer = make_napari_viewer()
    viewer.add_image(astro, name="astro", rgb=True)
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "RGB to grey")
    assert isinstance(w, OpWidget) and w.spec is REGISTRY["to_grey"]
    w.form["channel"].value = "green"
    wait_for_result(qtbot, w)
    assert w.preview_layer().data.shape == astro.shape[:2]
    assert w.run_commit() > 0
    grey = viewer.layers["astro to_grey"].data
    np.testing.assert_array_equal(grey, to_grey(astro, channel="green"))
    step = recorder_for(viewer).steps[-1]
    assert step.op == "to_grey" and step.params == {"channel": "green"}
    out = Recipe(steps=[step]).apply({"astro": astro})
    np.testing.assert_array_equal(out["astro to_grey"], grey)


def test_to_grey_dock_lists_colour_images_only(make_napari_viewer, qtbot, monkeypatch):
    # opening it beside a grey image must not pick the grey one (an error popup at once)
    errors = []
    monkeypatch.setattr("napari_maskclean._widgets._engine.show_error", errors.append)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 30), np.uint8), name="grey")
    astro = viewer.add_image(skdata.astronaut()[::8, ::8], name="astro", rgb=True)
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "RGB to grey")
    assert [layer.name for layer in w.source.choices] == ["astro"]
    assert w.source.value is astro
    qtbot.wait(200)
    assert errors == []
