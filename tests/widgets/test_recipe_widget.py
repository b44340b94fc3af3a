"""The Recipe dock: list, reorder, delete, enable, edit, save/load, export, apply (one undo)."""

from __future__ import annotations

import runpy

import numpy as np
import pytest
from skimage import data as skdata

from napari_maskclean._widgets._recording import recorder_for
from napari_maskclean._widgets.recipe_widget import RecipeWidget
from napari_maskclean.recipe import Recipe
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def dock(viewer, name):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
    return widget


@pytest.fixture
def recorded(make_napari_viewer, qtbot):
    """A viewer with three committed steps: threshold, then two morphology steps."""
    viewer = make_napari_viewer()
    coins = skdata.coins()
    viewer.add_image(coins, name="coins")
    t = dock(viewer, "Threshold")
    wait_for_result(qtbot, t)
    assert t.run_commit() > 0
    m = dock(viewer, "Morphology")
    m.labels.value = viewer.layers["coins mask"]
    m.operation.value = "remove_small_objects"
    m.min_size.value = 200
    wait_for_result(qtbot, m)
    assert m.run_commit() > 0
    m.operation.value = "close"
    m.radius.value = 2
    wait_for_result(qtbot, m)
    assert m.run_commit() > 0
    return viewer, coins


def test_lists_the_steps_of_this_viewer_and_follows_commits(recorded):
    viewer, _ = recorded
    w = dock(viewer, "Recipe")
    assert isinstance(w, RecipeWidget)
    assert w.list.count() == 3
    assert w.list.item(0).text().startswith("1. threshold: coins → coins mask")
    recorder_for(viewer).delete(2)  # the dock follows changes made elsewhere
    assert w.list.count() == 2


def test_reorder_delete_enable_and_edit(recorded):
    viewer, coins = recorded
    w = dock(viewer, "Recipe")
    rec = recorder_for(viewer)
    w.select(2)
    w.move_up()
    assert [s.params["operation"] for s in rec.steps[1:]] == ["close",
                                                              "remove_small_objects"]
    assert w.selected == 1
    w.set_enabled(1, False)
    assert not rec.steps[1].enabled
    w.select(2)
    assert w.form is not None and w.form["min_size"].value == 200
    w.form["min_size"].value = 50
    w.edit_selected()
    assert rec.steps[2].params["min_size"] == 50
    w.form["operation"].value = "dilate"  # 'min_size' no longer applies: dropped
    w.edit_selected()
    assert rec.steps[2].params["operation"] == "dilate" and "min_size" not in rec.steps[2].params
    w.select(0)
    w.delete()
    assert len(rec) == 2 and rec.steps[0].op == "morphology"


def test_save_load_export(recorded, tmp_path):
    viewer, coins = recorded
    w = dock(viewer, "Recipe")
    path = w.save(tmp_path / "r.json")
    expected = Recipe.load(path).apply({"coins": coins})["coins mask"]
    np.testing.assert_array_equal(expected, viewer.layers["coins mask"].data)
    script = w.export_script(tmp_path / "r.py")
    out = runpy.run_path(str(script))["run"]({"coins": coins})
    np.testing.assert_array_equal(out["coins mask"], expected)
    w.delete()
    assert len(recorder_for(viewer)) == 2
    w.load(path)
    assert len(recorder_for(viewer)) == 3 and w.list.count() == 3
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    w._guarded(lambda: w.load(bad))
    assert "not valid JSON" in w.status.value and len(recorder_for(viewer)) == 3


def test_apply_to_the_selected_layer_in_one_undo_step(recorded):
    viewer, coins = recorded
    w = dock(viewer, "Recipe")
    other = viewer.add_image(coins[::-1].copy(), name="flipped")
    viewer.layers.selection.active = other
    n = w.apply_to_selected()
    result = viewer.layers["flipped coins mask"]
    expected = recorder_for(viewer).recipe.apply({"coins": coins[::-1].copy()})["coins mask"]
    np.testing.assert_array_equal(result.data, expected)
    assert n == np.count_nonzero(expected)
    result.undo()
    assert not result.data.any()  # one undo step
    # a clean-up-only recipe applied in place to a Labels layer
    rec = recorder_for(viewer)
    rec.delete(0)
    labels = viewer.add_labels(expected.copy(), name="to clean")
    labels.data[5:9, 5:9] = 1  # a speck the recipe removes
    before = labels.data.copy()
    viewer.layers.selection.active = labels
    assert w.apply_to_selected() > 0
    np.testing.assert_array_equal(labels.data, rec.recipe.apply({"coins mask": before})[
        "coins mask"])
    labels.undo()
    np.testing.assert_array_equal(labels.data, before)


def test_apply_refuses_what_it_cannot_do(make_napari_viewer):
    viewer = make_napari_viewer()
    w = dock(viewer, "Recipe")
    assert w.list.count() == 0 and not w.buttons["apply"].enabled
    w._guarded(w.apply_to_selected)
    assert "select the image or labels layer" in w.status.value
