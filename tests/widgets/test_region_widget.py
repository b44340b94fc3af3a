"""Region growing in a real viewer: simulated clicks, modifiers, tolerance, commit, undo."""

import numpy as np
import pytest
from napari.utils._proxies import ReadOnlyWrapper
from napari.utils.interactions import (
    mouse_move_callbacks,
    mouse_press_callbacks,
    mouse_release_callbacks,
)

from napari_maskclean._widgets.region_jobs import FLOOD
from napari_maskclean.core import region_grow
from tests.conftest import Click, wait_for_result

pytestmark = pytest.mark.gui


def dock(viewer, rule=FLOOD):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Region growing")
    widget.rule.value = rule
    return widget


def click(viewer, world, modifiers=()):
    """Press and release at ``world`` without moving: a click."""
    # napari wraps events so that drag generators see the newest one
    press = ReadOnlyWrapper(Click(position=tuple(world), modifiers=modifiers),
                            exceptions=("handled",))
    mouse_press_callbacks(viewer, press)
    release = Click(position=tuple(world), modifiers=modifiers, type="mouse_release")
    mouse_release_callbacks(viewer, release)


@pytest.fixture
def squares():
    img = np.full((60, 80), 20, dtype=np.uint8)
    img[5:25, 5:25] = 200      # object A
    img[30:50, 40:70] = 120    # object B
    img[30:50, 5:25] = 125     # object C, close in value to B
    return img


def test_click_grows_and_commit_is_undoable(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares, name="img")
    w = dock(viewer)
    w.clicking.value = True
    w.tolerance.value = 5.0
    click(viewer, (10, 10))
    res = wait_for_result(qtbot, w)
    assert res.job.params["seeds"] == [[10, 10]]
    np.testing.assert_array_equal(w.preview_layer().data > 0, squares == 200)
    seeds = w.seeds_layer()
    assert len(seeds.data) == 1
    click(viewer, (40, 50), ("Shift",))  # same label: the union
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert set(np.unique(prev)) == {0, 1}
    assert (prev[30:50, 40:70] == 1).all()
    n = w.run_commit()
    target = viewer.layers["img regions"]
    assert n == 400 + 600
    np.testing.assert_array_equal(target.data, prev)
    assert len(w.seeds_layer().data) == 0  # seeds cleared after commit
    target.undo()
    assert not target.data.any()


def test_flood_plain_click_new_label_and_ctrl_click_removes(make_napari_viewer, qtbot,
                                                           squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares)
    w = dock(viewer)
    w.clicking.value = True
    w.tolerance.value = 2.0
    click(viewer, (10, 10))
    click(viewer, (40, 50))
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev[10, 10] == 1 and prev[40, 50] == 2
    click(viewer, (11, 11), modifiers=("Control",))  # removes the seed at (10, 10)
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev[10, 10] == 0 and prev[40, 50] == 2


def test_tolerance_regrows_live(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    image = viewer.add_image(squares)
    w = dock(viewer)
    w.clicking.value = True
    w.tolerance.value = 1.0
    click(viewer, (40, 50))
    wait_for_result(qtbot, w)
    assert not w.preview_layer().data[40, 10]  # C is 5 grey levels away
    w.tolerance.value = 3.0  # 3% of range 180 = 5.4 grey levels: B grows into... not C (apart)
    wait_for_result(qtbot, w)
    expected = region_grow(squares, [[40, 50]], tolerance=0.03, relative=True)
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    assert image.data is not None


def test_drag_does_not_add_a_seed(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares)
    w = dock(viewer)
    w.clicking.value = True
    mouse_press_callbacks(viewer, ReadOnlyWrapper(Click(position=(10, 10)),
                                                  exceptions=("handled",)))
    mouse_move_callbacks(viewer, Click(position=(12, 12), type="mouse_move", is_dragging=True))
    mouse_release_callbacks(viewer, Click(position=(12, 12), type="mouse_release"))
    assert w.seeds_layer() is None or len(w.seeds_layer().data) == 0


def test_click_outside_is_ignored(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares)
    w = dock(viewer)
    assert not w.click((100, 5))
    assert not w.click((-1, 5))
    assert w.seeds_layer() is None


def test_click_without_image(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    w = dock(viewer)
    w.clicking.value = True
    assert not w.click((1, 1))


def test_scaled_translated_layer(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares, scale=(0.5, 2.0), translate=(100, -40))
    w = dock(viewer)
    w.clicking.value = True
    w.tolerance.value = 2.0
    click(viewer, (100 + 10 * 0.5, -40 + 10 * 2.0))  # world of pixel (10, 10)
    res = wait_for_result(qtbot, w)
    assert res.job.params["seeds"] == [[10, 10]]
    np.testing.assert_allclose(w.preview_layer().scale, (0.5, 2.0))
    np.testing.assert_allclose(w.seeds_layer().scale, (0.5, 2.0))


def test_existing_labels_are_a_barrier(make_napari_viewer, qtbot, squares):
    viewer = make_napari_viewer()
    viewer.add_image(squares)
    existing = np.zeros(squares.shape, dtype=np.int32)
    existing[5:25, 15:25] = 9  # covers part of object A
    target = viewer.add_labels(existing.copy(), name="target")
    w = dock(viewer)
    w.target.value = target
    w.clicking.value = True
    w.tolerance.value = 2.0
    click(viewer, (10, 6))
    wait_for_result(qtbot, w)
    w.run_commit()
    assert (target.data[5:25, 15:25] == 9).all()  # never overwritten
    assert (target.data[5:25, 5:15] == 10).all()  # new label = max + 1
    target.undo()
    np.testing.assert_array_equal(target.data, existing)


def test_3d_stack_grows_in_clicked_slice_or_volume(make_napari_viewer, qtbot):
    vol = np.zeros((5, 30, 30), dtype=np.uint8)
    vol[1:4, 10:20, 10:20] = 200
    viewer = make_napari_viewer()
    viewer.add_image(vol, name="vol")
    w = dock(viewer)
    w.clicking.value = True
    viewer.dims.set_current_step(0, 2)
    click(viewer, (2, 15, 15))
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev.shape == vol.shape
    assert prev[2].sum() == 100 and not prev[[0, 1, 3, 4]].any()
    w.mode.value = "3D (whole volume)"
    wait_for_result(qtbot, w)
    np.testing.assert_array_equal(w.preview_layer().data > 0, vol == 200)
    w.run_commit()
    np.testing.assert_array_equal(viewer.layers["vol regions"].data > 0, vol == 200)


def test_shift_wheel_changes_tolerance(make_napari_viewer, qtbot, squares):
    from napari.utils.interactions import mouse_wheel_callbacks

    viewer = make_napari_viewer()
    viewer.add_image(squares)
    w = dock(viewer)
    w.clicking.value = True
    before = w.tolerance.value
    mouse_wheel_callbacks(viewer, Click(position=(1, 1), type="mouse_wheel",
                                        modifiers=("Shift",), delta=(0.0, 1.0)))
    assert w.tolerance.value == before + 1
    w.clicking.value = False
    mouse_wheel_callbacks(viewer, Click(position=(1, 1), type="mouse_wheel",
                                        modifiers=("Shift",), delta=(0.0, 1.0)))
    assert w.tolerance.value == before + 1  # callback removed when clicking is off


def test_rgb_image_grows_by_colour_distance(make_napari_viewer, qtbot):
    rgb = np.zeros((30, 30, 3), dtype=np.uint8)
    rgb[5:15, 5:15] = (200, 40, 40)  # red square
    rgb[5:15, 15:25] = (40, 40, 200)  # blue square, same luminance-ish, different colour
    viewer = make_napari_viewer()
    viewer.add_image(rgb, rgb=True, name="rgb")
    w = dock(viewer)
    w.clicking.value = True
    w.tolerance.value = 10.0
    click(viewer, (10, 10))
    res = wait_for_result(qtbot, w)
    assert res.job.params["channel_axis"] == -1
    prev = w.preview_layer().data
    assert prev.shape == (30, 30)
    assert (prev[5:15, 5:15] == 1).all() and not prev[5:15, 15:25].any()


def test_clicks_grow_only_the_new_seed_and_edits_regrow_all(make_napari_viewer, qtbot, rng):
    """Adding a seed reuses the regions grown so far; any other change re-grows from scratch."""
    from napari_maskclean._widgets.region_jobs import _grow, _grow_more

    image = rng.integers(0, 6, size=(50, 60)).astype(np.uint8)  # many touching regions
    viewer = make_napari_viewer()
    viewer.add_image(image, name="img")
    target = viewer.add_labels(np.zeros((50, 60), np.int32), name="target")
    w = dock(viewer)
    w.target.value = target
    w.clicking.value = True
    w.tolerance.value = 40.0
    clicks = [((5, 5), ()), ((20, 30), ("Shift",)), ((40, 10), ()), ((45, 55), ("Shift",))]
    funcs = []
    for pos, mods in clicks:
        click(viewer, pos, mods)
        res = wait_for_result(qtbot, w)
        funcs.append(res.job.func)
        expected = region_grow(image, res.job.params["seeds"], tolerance=0.4, relative=True,
                               seed_labels=res.job.params["seed_labels"])
        np.testing.assert_array_equal(w.preview_layer().data, expected)
    assert funcs[0] is _grow and all(f is _grow_more for f in funcs[1:])

    target.paint((0, 0), 9)  # the barrier changed: re-grow everything
    res = wait_for_result(qtbot, w)
    assert res.job.func is _grow
    assert w.preview_layer().data[0, 0] == 0
    w.tolerance.value = 30.0  # so does a tolerance change
    assert wait_for_result(qtbot, w).job.func is _grow
    click(viewer, (25, 25), ("Control",))  # removing a seed too
    assert wait_for_result(qtbot, w).job.func is _grow


def test_undo_on_a_new_target_layer_frees_its_pixels_for_the_next_click(
        make_napari_viewer, qtbot, squares):
    """After a commit to '(new layer)', edits of that layer reach the cached grower."""
    viewer = make_napari_viewer()
    viewer.add_image(squares, name="img")
    w = dock(viewer)
    w.clicking.value = True
    click(viewer, (10, 10))
    wait_for_result(qtbot, w)
    assert w.run_commit() > 0
    target = viewer.layers["img regions"]
    assert w.target.value is target
    click(viewer, (40, 50))  # grown with object A in the target as a barrier
    wait_for_result(qtbot, w)
    target.undo()  # object A is free again
    assert not target.data.any()
    click(viewer, (10, 10))
    result = wait_for_result(qtbot, w)
    params = result.job.params
    expected = region_grow(squares, params["seeds"], tolerance=params["tolerance"],
                           relative=params["relative"], seed_labels=params["seed_labels"],
                           labels=target.data)
    assert (expected[5:25, 5:25] > 0).all()
    np.testing.assert_array_equal(w.preview_layer().data, expected)


def test_3d_mode_on_4d_data_grows_in_the_current_time_point_only(make_napari_viewer, qtbot):
    image = np.zeros((3, 4, 30, 30), np.uint8)
    image[:, :, 10:20, 10:20] = 200  # the same object at every time point
    viewer = make_napari_viewer()
    viewer.add_image(image, name="t")
    w = dock(viewer)
    w.mode.value = "3D (whole volume)"
    w.clicking.value = True
    viewer.dims.set_current_step(0, 1)
    viewer.dims.set_current_step(1, 2)
    click(viewer, (1, 2, 15, 15))
    result = wait_for_result(qtbot, w)
    assert result.job.region == (1,)
    preview = w.preview_layer().data
    assert preview[1, :, 10:20, 10:20].all()
    assert not preview[0].any() and not preview[2].any()
    assert w.run_commit() == 4 * 10 * 10
    assert not viewer.layers["t regions"].data[[0, 2]].any()


def test_commit_in_2d_mode_keeps_the_seeds_of_other_slices(make_napari_viewer, qtbot):
    volume = np.zeros((5, 30, 30), dtype=np.uint8)
    volume[:, 10:20, 10:20] = 200
    viewer = make_napari_viewer()
    viewer.add_image(volume, name="vol")
    w = dock(viewer)
    w.clicking.value = True
    viewer.dims.set_current_step(0, 1)
    click(viewer, (1, 15, 15))
    wait_for_result(qtbot, w)
    viewer.dims.set_current_step(0, 3)
    click(viewer, (3, 15, 15), ("Shift",))
    wait_for_result(qtbot, w)
    assert w.run_commit() == 100  # slice 3
    target = viewer.layers["vol regions"]
    assert target.data[3].any() and not target.data[1].any()
    np.testing.assert_array_equal(w.seeds_layer().data, [[1, 15, 15]])  # waits for slice 1
    viewer.dims.set_current_step(0, 1)
    wait_for_result(qtbot, w)
    assert w.run_commit() == 100
    assert target.data[1].any() and len(w.seeds_layer().data) == 0


def test_clicks_in_the_3d_view_are_refused(make_napari_viewer, qtbot, monkeypatch):
    import napari_maskclean._widgets.region_widget as rw

    warnings = []
    monkeypatch.setattr(rw, "show_warning", warnings.append)
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((5, 30, 30), np.uint8), name="vol")
    w = dock(viewer)
    w.clicking.value = True
    viewer.dims.ndisplay = 3
    click(viewer, (2, 15, 15))
    assert w.seeds_layer() is None or len(w.seeds_layer().data) == 0
    assert "2D view" in warnings[-1]


# ------------------------------------------------------------------ the growing rules
def nuclei(shape=(70, 100), centres=((20, 20), (20, 37), (50, 70)), r=9, seed=0):
    """Bright round nuclei with dim rims on a noisy background; the first two touch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.full(shape, 20.0)
    truth = np.zeros(shape, np.int32)
    for i, (cy, cx) in enumerate(centres, start=1):
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        img = np.maximum(img, 200.0 * np.exp(-d2 / (2 * (r * 0.8) ** 2)))
        truth[d2 <= r * r] = i
    return (img + rng.normal(0, 3, shape)).astype(np.float32), truth


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


def test_edge_is_the_default_and_options_follow_the_rule(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.add_image(nuclei()[0])
    _dock, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Region growing")
    assert w.rule.value == "edge"
    hidden = {name: getattr(w, name).native.isHidden()
              for name in ("level", "k", "tolerance", "sigma", "max_size", "fill_holes")}
    assert hidden == {"level": True, "k": True, "tolerance": True, "sigma": False,
                      "max_size": False, "fill_holes": False}
    assert w.fill_holes.value and w.boundary.value > 0  # on by default
    w.rule.value = "contrast"
    assert not w.level.native.isHidden() and w.k.native.isHidden()
    w.rule.value = FLOOD
    assert not w.tolerance.native.isHidden() and w.sigma.native.isHidden()
    # the click help is on the dock itself, not only in tooltips
    assert not w.hint.native.isHidden()
    for words in ("Click: new object", "Shift+click", "Ctrl/Alt+click", "refine", "erase"):
        assert words in w.hint.value


def test_plain_click_new_object_shift_adds_ctrl_removes(make_napari_viewer, qtbot):
    from napari_maskclean._widgets.region_jobs import click_grow, click_more
    from napari_maskclean.core.grow_clicks import segment_clicks

    img, truth = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    w = dock(viewer, "edge")
    w.clicking.value = True
    click(viewer, (20, 20))
    assert wait_for_result(qtbot, w).job.func is click_grow
    full_updates = []
    update_preview = w.update_preview
    w.update_preview = lambda *a, **k: full_updates.append(1) or update_preview(*a, **k)
    click(viewer, (20, 37))  # a plain click: a new object, though it touches the first
    res = wait_for_result(qtbot, w)
    assert res.job.func is click_more  # only the new click was grown
    assert not full_updates  # and only its window of the preview was written
    prev = w.preview_layer().data
    assert prev[20, 20] == 1 and prev[20, 37] == 2
    for i in (1, 2):  # touching objects clicked separately never merge
        assert iou(prev == i, truth == i) > 0.7
    click(viewer, (50, 70), ("Shift",))  # a seed of the current object (2)
    res = wait_for_result(qtbot, w)
    assert res.job.params["seed_labels"] == [1, 2, 2]
    prev = w.preview_layer().data
    assert prev[50, 70] == 2 and set(np.unique(prev)) == {0, 1, 2}
    expected = segment_clicks(img, [(20, 20), (20, 37), (50, 70)], seed_labels=[1, 2, 2])
    np.testing.assert_array_equal(prev, expected)
    click(viewer, (51, 69), ("Control",))  # removes the nearest seed: (50, 70)
    res = wait_for_result(qtbot, w)
    assert res.job.params["seeds"] == [(20, 20), (20, 37)]
    assert not w.preview_layer().data[50, 70]
    w.click((20, 21), ("Alt",))  # Alt too (napari's own Alt+drag binding needs a canvas)
    assert wait_for_result(qtbot, w).job.params["seed_labels"] == [2]


def test_next_label_is_the_next_free_one_and_can_be_chosen(make_napari_viewer, qtbot):
    img, truth = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    existing = np.zeros(img.shape, np.int32)
    existing[0:3, 0:3] = 7
    target = viewer.add_labels(existing, name="target")
    w = dock(viewer, "edge")
    w.target.value = target
    assert w.next_label.value == 8
    w.clicking.value = True
    click(viewer, (20, 20))
    assert w.next_label.value == 9
    w.next_label.value = 20
    click(viewer, (50, 70))
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev[20, 20] == 8 and prev[50, 70] == 20
    assert w.next_label.value == 21


def replay(step, layers):
    from napari_maskclean.recipe import Recipe

    recipe = Recipe.load(Recipe([step]).to_json())  # through JSON, as saved
    return recipe.apply(layers)


def test_commit_is_one_undo_step_and_the_step_replays_it_bit_for_bit(make_napari_viewer,
                                                                       qtbot):
    img, truth = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img", scale=(0.5, 0.5), translate=(3, -2))
    existing = np.zeros(img.shape, np.int32)
    existing[truth == 2] = 5  # one nucleus is already segmented
    target = viewer.add_labels(existing.copy(), name="target", scale=(0.5, 0.5),
                               translate=(3, -2))
    w = dock(viewer, "edge")
    w.target.value = target
    w.clicking.value = True
    for y, x in ((20, 20), (22, 22), (50, 70)):
        click(viewer, (3 + 0.5 * y, -2 + 0.5 * x), ("Shift",) if (y, x) == (22, 22) else ())
    result = wait_for_result(qtbot, w)
    assert w.run_commit() > 0
    after = target.data.copy()
    np.testing.assert_array_equal(after[existing != 0], existing[existing != 0])  # kept
    step = w.recipe_step(result)
    assert iou(after == 6, truth == 1) > 0.7 and iou(after == 7, truth == 3) > 0.7
    try:  # the base class records it in the viewer's recipe (where that exists)
        from napari_maskclean._widgets._recording import recorder_for
    except ImportError:
        pass
    else:
        assert recorder_for(viewer).steps[-1].to_dict() == step.to_dict()
    assert step.op == "click_segment" and step.seed_labels == [6, 6, 7]
    assert step.params["rule"] == "edge" and step.params["spacing"] == [0.5, 0.5]
    out = replay(step, {"img": img, "target": existing})
    np.testing.assert_array_equal(out["target"], after)
    target.undo()
    np.testing.assert_array_equal(target.data, existing)


def test_commit_to_a_new_layer_replays_bit_for_bit(make_napari_viewer, qtbot):
    img, _ = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    w = dock(viewer, "contrast")
    w.level.value = 0.5
    w.clicking.value = True
    for p in ((20, 20), (20, 37), (50, 70)):
        click(viewer, p)
    result = wait_for_result(qtbot, w)
    w.run_commit()
    target = viewer.layers["img regions"]
    step = w.recipe_step(result)
    assert step.new_target and step.params["level"] == 0.5
    np.testing.assert_array_equal(replay(step, {"img": img})["img regions"], target.data)
    assert set(np.unique(target.data)) == {0, 1, 2, 3}


def test_clicked_nuclei_on_the_stardist_image_replay_bit_for_bit(make_napari_viewer, qtbot):
    import importlib.util
    from pathlib import Path

    tifffile = pytest.importorskip("tifffile")
    spec = importlib.util.find_spec("stardist")
    if spec is None:
        pytest.skip("the stardist package (its bundled DSB nuclei) is not installed")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    img = tifffile.imread(root / "img2d.tif")
    gt = tifffile.imread(root / "mask2d.tif").astype(np.int32)
    from scipy import ndimage as ndi

    ids = [i for i in np.unique(gt) if i][:3]
    viewer = make_napari_viewer()
    viewer.add_image(img, name="nuclei")
    w = dock(viewer, "edge")
    w.clicking.value = True
    for i in ids:  # each nucleus at its innermost pixel
        d = ndi.distance_transform_edt(np.pad(gt == i, 1))[1:-1, 1:-1]
        click(viewer, np.unravel_index(int(np.argmax(d)), gt.shape))
    result = wait_for_result(qtbot, w)
    w.run_commit()
    target = viewer.layers["nuclei regions"]
    for k, i in enumerate(ids, start=1):
        assert iou(target.data == k, gt == i) > 0.6
    out = replay(w.recipe_step(result), {"nuclei": img})
    np.testing.assert_array_equal(out["nuclei regions"], target.data)


def test_refine_a_label_of_the_target(make_napari_viewer, qtbot):
    from napari_maskclean._widgets import _live
    from napari_maskclean.core.grow_clicks import segment_clicks

    img, truth = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    rough = np.zeros(img.shape, np.int32)
    rough[46:55, 66:75] = 4  # a box inside nucleus 3
    rough[truth == 1] = 2
    target = viewer.add_labels(rough.copy(), name="target")
    w = dock(viewer, "edge")
    w.target.value = target
    w.clicking.value = True
    n_steps = len(getattr(_live, "SESSION_STEPS", ()))
    click(viewer, (50, 70))  # inside label 4: refine it
    assert "refined label 4" in w.status.value
    assert w.seeds_layer() is None or len(w.seeds_layer().data) == 0  # no new object
    expected = segment_clicks(img, [(50, 70)], seed_labels=[4], labels=rough,
                              action="refine")
    np.testing.assert_array_equal(target.data, expected)
    assert iou(target.data == 4, truth == 3) > 0.7
    np.testing.assert_array_equal(target.data == 2, rough == 2)
    try:  # the step is recorded (in the viewer's recipe once that exists)
        from napari_maskclean._widgets._recording import recorder_for

        step = recorder_for(viewer).steps[-1]
    except ImportError:
        from napari_maskclean.recipe import Step

        assert len(_live.SESSION_STEPS) == n_steps + 1
        entry = dict(_live.SESSION_STEPS[-1])
        entry.pop("source")
        step = Step.from_dict(entry)
    assert step.params["action"] == "refine"
    np.testing.assert_array_equal(replay(step, {"img": img, "target": rough})["target"],
                                  target.data)
    target.undo()  # one undo step restores exactly
    np.testing.assert_array_equal(target.data, rough)


def test_erase_a_label_of_the_target(make_napari_viewer, qtbot):
    img, truth = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    target = viewer.add_labels(truth.copy(), name="target")
    w = dock(viewer, "edge")
    w.target.value = target
    w.on_label.value = "erase it"
    w.clicking.value = True
    click(viewer, (50, 70))
    assert "erased label 3" in w.status.value
    assert not (target.data == 3).any()
    np.testing.assert_array_equal(target.data[truth != 3], truth[truth != 3])
    target.undo()
    np.testing.assert_array_equal(target.data, truth)
    w.rule.value = FLOOD  # erasing works with every rule; refining needs a growing rule
    click(viewer, (50, 70))
    assert not (target.data == 3).any()


def test_a_leak_is_stopped_with_its_message(make_napari_viewer, qtbot):
    img, _ = nuclei()
    viewer = make_napari_viewer()
    viewer.add_image(img, name="img")
    w = dock(viewer, "edge")
    w.max_size.value = 50
    w.clicking.value = True
    click(viewer, (50, 70))
    wait_for_result(qtbot, w)
    assert "stopped: the region leaked past 50 px" in w.status.value
    assert "click closer to the object's centre" in w.status.value
    assert not w.preview_layer().data.any()
    w.max_size.value = 0  # auto: the object fits
    wait_for_result(qtbot, w)
    assert "leaked" not in w.status.value and w.preview_layer().data[50, 70] == 1


def test_3d_volume_and_2d_slices(make_napari_viewer, qtbot):
    from napari_maskclean.core.grow_clicks import segment_clicks

    zz, yy, xx = np.mgrid[:16, :40, :40]
    vol = (10.0 + 150 * (((zz - 8) ** 2 + (yy - 12) ** 2 + (xx - 12) ** 2) < 30)
           + 150 * (((zz - 8) ** 2 + (yy - 26) ** 2 + (xx - 26) ** 2) < 30)).astype(np.float32)
    viewer = make_napari_viewer()
    viewer.add_image(vol, name="vol", scale=(2.0, 1.0, 1.0))
    w = dock(viewer, "edge")
    w.clicking.value = True
    viewer.dims.set_current_step(0, 8)
    click(viewer, (16, 12, 12))
    click(viewer, (16, 26, 26))
    wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert prev[8, 12, 12] == 1 and prev[8, 26, 26] == 2 and not prev[[7, 9]].any()
    w.mode.value = "3D (whole volume)"
    result = wait_for_result(qtbot, w)
    prev = w.preview_layer().data
    assert result.job.params["spacing"] == [2.0, 1.0, 1.0]
    expected = segment_clicks(vol, [(8, 12, 12), (8, 26, 26)], spacing=[2.0, 1.0, 1.0])
    np.testing.assert_array_equal(prev, expected)
    assert prev[6:11, 12, 12].all() and prev[6:11, 26, 26].all()
    w.run_commit()
    out = replay(w.recipe_step(result), {"vol": vol})
    np.testing.assert_array_equal(out["vol regions"], viewer.layers["vol regions"].data)


def test_rgb_image_grows_on_its_luminance_and_replays(make_napari_viewer, qtbot):
    from napari_maskclean.core import to_grey
    from napari_maskclean.core.grow_clicks import segment_clicks

    img, _ = nuclei()
    rgb = np.stack([img, img * 0.5, img * 0.2], axis=-1).clip(0, 255).astype(np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(rgb, rgb=True, name="rgb")
    w = dock(viewer, "edge")
    w.clicking.value = True
    click(viewer, (50, 70))
    result = wait_for_result(qtbot, w)
    expected = segment_clicks(to_grey(rgb, channel="luminance"), [(50, 70)])
    np.testing.assert_array_equal(w.preview_layer().data, expected)
    w.run_commit()
    step = w.recipe_step(result)
    assert step.channel == "luminance"
    np.testing.assert_array_equal(replay(step, {"rgb": rgb})["rgb regions"],
                                  viewer.layers["rgb regions"].data)


def test_refine_on_a_slice_of_a_stack_changes_that_slice_only(make_napari_viewer, qtbot):
    img, truth = nuclei()
    stack = np.stack([img, img, img])
    rough = np.zeros(stack.shape, np.int32)
    rough[:, 46:55, 66:75] = 4  # the same rough box on every slice
    viewer = make_napari_viewer()
    viewer.add_image(stack, name="stack")
    target = viewer.add_labels(rough.copy(), name="target")
    w = dock(viewer, "edge")
    w.target.value = target
    w.clicking.value = True
    viewer.dims.set_current_step(0, 1)
    click(viewer, (1, 50, 70))
    assert "refined label 4" in w.status.value
    assert iou(target.data[1] == 4, truth == 3) > 0.7
    np.testing.assert_array_equal(target.data[[0, 2]], rough[[0, 2]])
    target.undo()
    np.testing.assert_array_equal(target.data, rough)
