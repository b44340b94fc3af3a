"""GUI commit == headless replay of the recorded recipe, bit for bit, for every widget.

Each test commits in a real viewer, takes the recipe that viewer recorded
(``recorder_for(viewer)``), replays it with :meth:`Recipe.apply` on copies of
the ORIGINAL data, and compares every written layer exactly. Slice scope on a
stack, each-slice, an existing target with preserve_labels, RGB images and
colour masks, and layers with non-unit scale/translate are covered.
"""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest
from skimage import data as skdata

from napari_maskclean._widgets._recording import recorder_for
from napari_maskclean.recipe import Recipe, Scope
from napari_maskclean.samples import rgb_mask_sample
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def dock(viewer, name):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", name)
    return widget


def commit(qtbot, w) -> int:
    wait_for_result(qtbot, w)
    n = w.run_commit()
    assert n > 0, w.status.value
    return n


def replay(viewer, originals: dict) -> tuple[Recipe, dict]:
    """The viewer's recipe (through JSON, as saved) and its replay on ``originals``."""
    recipe = Recipe.load(recorder_for(viewer).recipe.to_json())
    assert len(recipe) == len(recorder_for(viewer))
    out = recipe.apply({k: v.copy() for k, v in originals.items()})
    return recipe, out


def assert_same(viewer, out: dict, names) -> None:
    for name in names:
        gui = np.asarray(viewer.layers[name].data)
        np.testing.assert_array_equal(out[name], gui, err_msg=name)
        assert out[name].dtype == gui.dtype, name


def assert_script_same(recipe: Recipe, originals: dict, out: dict, tmp_path) -> None:
    """The exported script gives the same arrays as the replay."""
    path = tmp_path / "recipe_script.py"
    path.write_text(recipe.to_python())
    namespace = runpy.run_path(str(path))
    scripted = namespace["run"]({k: v.copy() for k, v in originals.items()})
    for name, value in out.items():
        np.testing.assert_array_equal(scripted[name], value, err_msg=name)


@pytest.fixture
def stack():
    """A 3D stack of coins slices (so each slice has objects)."""
    coins = skdata.coins()[:160, :200]
    return np.stack([coins, np.roll(coins, 17, axis=1), coins[::-1]]).astype(np.uint8)


# ------------------------------------------------------------------------- threshold
def test_threshold_new_target_json_and_script(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    coins = skdata.coins()
    viewer.add_image(coins, name="coins", scale=(2.0, 0.5), translate=(10, 5))
    w = dock(viewer, "Threshold")
    w.label_value.value = 7
    commit(qtbot, w)
    w.method.value = "manual"
    w.level.value = 60.0
    w.label_value.value = 2
    commit(qtbot, w)  # a second step into the same (now existing) layer
    steps = recorder_for(viewer).steps
    assert [s.op for s in steps] == ["threshold", "threshold"]
    assert steps[0].new_target and not steps[1].new_target
    assert steps[0].scale == [2.0, 0.5] and steps[0].translate == [10.0, 5.0]
    recipe, out = replay(viewer, {"coins": coins})
    assert_same(viewer, out, ["coins mask"])
    # the JSON is plain data and round-trips exactly
    text = recipe.to_json()
    assert Recipe.load(text).to_dict() == json.loads(text)
    assert_script_same(recipe, {"coins": coins}, out, tmp_path)


def test_threshold_slice_scope_existing_target_preserve_labels(make_napari_viewer, qtbot,
                                                               stack):
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="stack", scale=(3.0, 0.5, 2.0), translate=(-4.0, 1.0, 7.0))
    existing = np.zeros(stack.shape, np.int32)
    existing[1, 20:80, 30:120] = 5  # labels the commit must not overwrite
    target = viewer.add_labels(existing.copy(), name="annot", scale=(3.0, 0.5, 2.0),
                               translate=(-4.0, 1.0, 7.0))
    target.preserve_labels = True
    w = dock(viewer, "Threshold")
    w.image.value = viewer.layers["stack"]
    w.target.value = target
    w.scope.value = "current slice"
    viewer.dims.set_current_step(0, 1)
    w.label_value.value = 3
    commit(qtbot, w)
    step = recorder_for(viewer).steps[-1]
    assert step.scope is Scope.SLICE and step.region() == (1,)
    assert step.preserve_labels and step.target == "annot"
    assert (target.data[1, 20:80, 30:120] == 5).all()  # preserved in the GUI
    _, out = replay(viewer, {"stack": stack, "annot": existing})
    assert_same(viewer, out, ["annot"])


def test_threshold_each_slice_and_rgb_channel(make_napari_viewer, qtbot, stack):
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="stack")
    astro = skdata.astronaut()[::4, ::4]
    viewer.add_image(astro, name="astro", rgb=True, translate=(3, 4))
    w = dock(viewer, "Threshold")
    w.image.value = viewer.layers["stack"]
    w.scope.value = "each slice"
    commit(qtbot, w)
    w.image.value = viewer.layers["astro"]
    w.target.value = None  # a new layer for the RGB image's mask
    w.rgb_channel.value = "red"
    w.method.value = "li"
    commit(qtbot, w)
    steps = recorder_for(viewer).steps
    assert steps[0].scope is Scope.EACH_SLICE and steps[0].params["per_slice"]
    assert steps[1].channel == "red"
    _, out = replay(viewer, {"stack": stack, "astro": astro})
    assert_same(viewer, out, ["stack mask", "astro mask"])


# ------------------------------------------------------------------------ morphology
@pytest.fixture
def blobs():
    from skimage.measure import label

    rng = np.random.default_rng(3)
    vol = np.zeros((4, 70, 90), bool)
    for _ in range(40):
        z, y, x = rng.integers(0, 4), rng.integers(5, 65), rng.integers(5, 85)
        vol[z, max(y - 4, 0):y + 4, max(x - 5, 0):x + 5] = True
    vol[rng.random(vol.shape) < 0.03] = True  # specks
    return label(vol).astype(np.int32)


def test_morphology_volume_slice_and_each_slice(make_napari_viewer, qtbot, blobs):
    viewer = make_napari_viewer()
    viewer.add_labels(blobs.copy(), name="blobs", scale=(2.0, 1.0, 0.5), translate=(0, 3, 0))
    w = dock(viewer, "Morphology")
    w.labels.value = viewer.layers["blobs"]
    w.operation.value = "remove_small_objects"
    w.min_size.value = 5
    w.scope.value = "whole volume"
    commit(qtbot, w)
    w.operation.value = "dilate"
    w.radius.value = 2
    w.scope.value = "current slice"
    viewer.dims.set_current_step(0, 2)
    commit(qtbot, w)
    w.operation.value = "smooth"
    w.radius.value = 1
    w.scope.value = "each slice"
    commit(qtbot, w)
    steps = recorder_for(viewer).steps
    assert [s.scope for s in steps] == [Scope.VOLUME, Scope.SLICE, Scope.EACH_SLICE]
    assert steps[1].region() == (2,)
    _, out = replay(viewer, {"blobs": blobs})
    assert_same(viewer, out, ["blobs"])


def test_morphology_selected_label_only(make_napari_viewer, qtbot, blobs):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(blobs[1].copy(), name="one")
    w = dock(viewer, "Morphology")
    w.labels.value = layer
    layer.selected_label = int(blobs[1].max())
    w.apply_to.value = "selected label"
    w.operation.value = "dilate"
    w.radius.value = 3
    commit(qtbot, w)
    assert recorder_for(viewer).steps[-1].params["label"] == int(blobs[1].max())
    _, out = replay(viewer, {"one": blobs[1]})
    assert_same(viewer, out, ["one"])


# -------------------------------------------------------------------------- fill holes
def test_fill_labels_slice_and_volume(make_napari_viewer, qtbot, blobs):
    holes = blobs.copy()
    holes[:, ::7, ::9] = 0  # a grid of one-pixel holes
    viewer = make_napari_viewer()
    viewer.add_labels(holes.copy(), name="holes", scale=(1.5, 0.7, 0.7), translate=(2, 0, 1))
    w = dock(viewer, "Fill holes")
    w.target.value = viewer.layers["holes"]
    w.scope.value = "current slice"
    viewer.dims.set_current_step(0, 0)
    w.max_hole_size.value = 4
    commit(qtbot, w)
    w.scope.value = "whole volume"
    w.min_island.value = 3
    w.max_distance.value = 5.0
    commit(qtbot, w)
    steps = recorder_for(viewer).steps
    assert steps[0].params["spacing"] == [0.7, 0.7] and steps[0].scope is Scope.SLICE
    _, out = replay(viewer, {"holes": holes})
    assert_same(viewer, out, ["holes"])


def test_fill_rgb_mask_palette_and_two_commits(make_napari_viewer, qtbot, tmp_path):
    s = rgb_mask_sample()
    noisy = s["noisy"]
    viewer = make_napari_viewer()
    viewer.add_image(noisy, name="mask", rgb=True)
    w = dock(viewer, "Fill holes")
    w.target.value = viewer.layers["mask"]
    commit(qtbot, w)
    assert viewer.layers["mask labels"].data.any()
    w.min_island.value = 30  # a second commit into the same labels layer
    commit(qtbot, w)
    steps = recorder_for(viewer).steps
    assert steps[0].new_target and steps[0].target == "mask labels"
    assert steps[-1].palette == np.asarray(
        viewer.layers["mask labels"].metadata["palette"]).tolist()
    recipe, out = replay(viewer, {"mask": noisy})
    assert_same(viewer, out, ["mask labels"])
    assert_script_same(recipe, {"mask": noisy}, out, tmp_path)


def test_fill_rgb_mask_each_slice_stack(make_napari_viewer, qtbot):
    s = rgb_mask_sample()
    rgb = np.stack([s["noisy"][:120, :160], s["noisy"][120:, 160:]])
    viewer = make_napari_viewer()
    viewer.add_image(rgb, name="rgbstack", rgb=True, scale=(4.0, 1.0, 1.0))
    w = dock(viewer, "Fill holes")
    w.target.value = viewer.layers["rgbstack"]
    w.scope.value = "each slice"
    commit(qtbot, w)
    assert recorder_for(viewer).steps[-1].scope is Scope.EACH_SLICE
    _, out = replay(viewer, {"rgbstack": rgb})
    assert_same(viewer, out, ["rgbstack labels"])


def test_recipes_are_per_viewer(make_napari_viewer, qtbot):
    v1, v2 = make_napari_viewer(), make_napari_viewer()
    coins = skdata.coins()
    for v in (v1, v2):
        v.add_image(coins, name="coins")
    commit(qtbot, dock(v1, "Threshold"))
    assert len(recorder_for(v1)) == 1 and len(recorder_for(v2)) == 0
