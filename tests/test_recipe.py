"""Recipes: JSON round trip, refusals on load, apply == direct core calls, exported scripts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean import core
from napari_maskclean.recipe import (
    Recipe,
    RecipeError,
    RecipeRecorder,
    Step,
    merge_palette,
    world_to_index,
)

_rng = np.random.default_rng(1)
IMAGE = (_rng.random((4, 32, 40)) * 120).astype(np.uint8)
IMAGE[:, 8:20, 10:25] += 120
SCALE, TRANSLATE = [2.0, 0.5, 0.5], [10.0, -3.0, 4.0]


def _gui_recipe() -> Recipe:
    """Threshold slice 2 (world z=14) into a new layer, clean it, grow two seeds."""
    seeds_data = np.array([[2, 12, 15], [2, 28, 35]])
    seeds_world = (seeds_data * SCALE + TRANSLATE).tolist()
    frame = {"scale": SCALE, "translate": TRANSLATE}
    return Recipe(steps=[
        Step("threshold", {"method": "otsu"}, {"image": "img"}, "img mask", new_target=True,
             label_value=3, scope="slice", slice_world=[14.0], **frame),
        Step("morphology", {"operation": "open", "radius": 1}, {"labels": "img mask"},
             "img mask", scope="each_slice"),
        Step("region_grow", {"tolerance": 0.05}, {"image": "img", "barrier": "img mask"},
             "img mask", scope="slice", slice_world=[14.0], seeds_world=seeds_world,
             seed_labels=[7, 8], paint=True, **frame),
    ])


def _direct() -> np.ndarray:
    """What the three steps do, written against the core API by hand."""
    out = np.zeros(IMAGE.shape, np.int32)
    mask = core.threshold_mask(IMAGE[2], method="otsu")
    out[2][mask] = 3
    out = core.morphology(out, "open", radius=1, per_slice=True)
    grown = core.region_grow(IMAGE[2], [[12, 15], [28, 35]], tolerance=0.05, relative=True,
                             labels=out[2], seed_labels=[7, 8])
    out[2] = np.where(grown != 0, grown, out[2])
    return out


def test_apply_equals_direct_core_calls_and_never_mutates_inputs():
    image = IMAGE.copy()
    result = _gui_recipe().apply(image)
    np.testing.assert_array_equal(result, _direct())
    np.testing.assert_array_equal(image, IMAGE)
    # seed 7 sits on the thresholded label (a barrier: grows nothing), seed 8 grows
    assert 8 in result[2] and 7 not in result
    assert not result[[0, 1, 3]].any()  # only the recorded slice was thresholded


def test_json_round_trip_is_plain_readable_json():
    recipe = _gui_recipe()
    text = recipe.to_json()
    data = json.loads(text)
    assert data["schema"] == 1 and data["format"] == "napari-maskclean recipe"
    assert "!!python" not in text and "py/object" not in text
    assert data["steps"][0]["params"]["method"] == "otsu"  # completed params are stored
    back = Recipe.load(text)
    assert back.to_dict() == recipe.to_dict()
    np.testing.assert_array_equal(back.apply(IMAGE), recipe.apply(IMAGE))


def test_save_and_load_a_file(tmp_path):
    path = _gui_recipe().save(tmp_path / "r.json")
    assert Recipe.load(path).to_dict() == _gui_recipe().to_dict()
    with pytest.raises(FileExistsError):
        _gui_recipe().save(path)
    _gui_recipe().save(path, overwrite=True)


def _data(**step):
    base = {"op": "threshold", "params": {}, "inputs": {"image": "a"}, "target": "b",
            "label_value": 1}
    base.update(step)
    return {"format": "napari-maskclean recipe", "schema": 1, "steps": [base]}


@pytest.mark.parametrize(("data", "words"), [
    (_data(op="sharpen"), ["step 1", "unknown op 'sharpen'", "known ops"]),
    ({**_data(), "schema": 99}, ["schema 99 is newer", "update napari-maskclean"]),
    (_data(version=5), ["step 1 (threshold)", "version 5", "update"]),
    (_data(params={"method": "magic"}), ["step 1 (threshold)", "'method'", "'otsu'"]),
    (_data(params={"levle": 3}), ["step 1 (threshold)", "unknown parameter 'levle'"]),
    (_data(params={"method": "manual", "level": "high"}), ["step 1 (threshold)", "'level'"]),
    (_data(colour="red"), ["step 1 (threshold)", "unknown field(s) ['colour']"]),
    (_data(label_value=None), ["label_value"]),
    (_data(scope="slice"), ["slice_world"]),
    (_data(scope="sideways"), ["scope must be one of"]),
    (_data(params={"per_slice": True}), ["set scope to 'each_slice'"]),
    (_data(op="region_grow", inputs={"image": "a"}, label_value=None), ["seeds_world"]),
    ({"steps": []}, ["not a napari-maskclean recipe"]),
])
def test_load_refuses_with_a_message_naming_the_step_and_fix(data, words):
    with pytest.raises(RecipeError) as info:
        Recipe.load(json.dumps(data))
    for w in words:
        assert w in str(info.value)


def test_load_refuses_bad_json_and_missing_files(tmp_path):
    with pytest.raises(RecipeError, match="not valid JSON"):
        Recipe.load("{nope")
    with pytest.raises(FileNotFoundError):
        Recipe.load(tmp_path / "missing.json")


def test_to_python_runs_and_matches_bit_for_bit(tmp_path):
    recipe = _gui_recipe()
    script = recipe.to_python()
    assert "napari_maskclean.recipe" not in script and "napari_maskclean.ops" not in script
    path = tmp_path / "script.py"
    path.write_text(script)
    namespace: dict = {"__name__": "exported"}
    exec(compile(script, str(path), "exec"), namespace)
    out = namespace["run"]({"img": IMAGE})
    np.testing.assert_array_equal(out["img mask"], recipe.apply(IMAGE))


def test_rgb_fill_merges_palettes_like_the_gui_and_exports():
    red, blue, grey = (255, 0, 0), (0, 0, 255), (90, 90, 90)
    rgb = np.zeros((2, 10, 12, 3), np.uint8)
    rgb[0, :, :6], rgb[0, :, 6:] = red, blue
    rgb[1, :, :6], rgb[1, :, 6:] = blue, grey  # another palette on slice 1
    rgb[0, 3, 3] = (0, 0, 0)  # a hole
    frame = {"scale": [1.0, 1.0, 1.0], "translate": [0.0, 0.0, 0.0]}
    recipe = Recipe(steps=[
        Step("fill_rgb_mask", {"snap": 0.0, "palette_min_count": 1}, {"rgb": "m"}, "m labels",
             new_target=True, scope="slice", slice_world=[0.0], **frame),
        Step("fill_rgb_mask", {"snap": 0.0, "palette_min_count": 1}, {"rgb": "m"}, "m labels",
             scope="slice", slice_world=[1.0], **frame),
    ])
    ws = recipe.run({"m": rgb})
    labels, palette = ws.layers["m labels"], ws.palettes["m labels"]
    # one colour = one label across both slices; the palette reproduces the colours
    np.testing.assert_array_equal(palette[labels[0, :, 8]], [blue] * 10)
    np.testing.assert_array_equal(palette[labels[1, :, 0]], [blue] * 10)
    assert tuple(palette[labels[0, 3, 3]]) == red  # the hole was filled
    ns: dict = {}
    exec(recipe.to_python(), ns)
    np.testing.assert_array_equal(ns["run"]({"m": rgb})["m labels"], labels)


def test_merge_palette():
    merged, lut = merge_palette(None, [[255, 0, 0], [0, 0, 0]])
    assert merged.tolist() == [[0, 0, 0], [255, 0, 0], [0, 0, 0]] and lut.tolist() == [1, 2]
    merged2, lut2 = merge_palette([[0, 0, 0], [255, 0, 0]], [[0, 0, 255], [255, 0, 0]])
    assert merged2.tolist() == [[0, 0, 0], [255, 0, 0], [0, 0, 255]]
    assert lut2.tolist() == [2, 1]


def test_world_to_index_inverts_scale_and_translate():
    data = np.array([[3, 7], [0, 1]])
    world = data * [0.3, 2.5] + [-1.1, 4.0]
    np.testing.assert_array_equal(world_to_index(world, [0.3, 2.5], [-1.1, 4.0]), data)


def test_channel_reduces_rgb_before_the_op():
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[:, 5:, 1] = 200
    rgb[:, :, 0] = _rng.integers(0, 255, (10, 10))
    step = Step("threshold", {"method": "manual", "level": 100}, {"image": "c"}, "mask",
                new_target=True, label_value=1, channel="green")
    out = Recipe(steps=[step]).apply(rgb)
    np.testing.assert_array_equal(out, (rgb[..., 1] > 100).astype(np.int32))


def test_preserve_labels_and_disabled_steps():
    labels = np.zeros((6, 6), np.int32)
    labels[0] = 9
    image = np.full((6, 6), 200, np.uint8)
    steps = [Step("threshold", {"method": "manual", "level": 10}, {"image": "i"}, "l",
                  label_value=2, preserve_labels=True),
             Step("morphology", {"operation": "erode"}, {"labels": "l"}, "l", enabled=False)]
    out = Recipe(steps=steps).apply({"i": image, "l": labels})["l"]
    assert (out[0] == 9).all() and (out[1:] == 2).all()


def test_recorder_append_reorder_delete_edit_enable():
    rec = RecipeRecorder()
    calls = []
    rec.on_change(lambda: calls.append(1))
    rec.append(Step("threshold", {}, {"image": "a"}, "b", label_value=1))
    rec.append(Step("morphology", {"operation": "dilate"}, {"labels": "b"}, "b"))
    rec.move(1, 0)
    assert [s.op for s in rec] == ["morphology", "threshold"]
    rec.edit(1, method="manual", level=5.0)
    assert rec[1].params["level"] == 5.0
    rec.edit(1, method="otsu")  # 'level' no longer applies: dropped
    assert "level" not in rec[1].params
    with pytest.raises(RecipeError, match="'radius'"):
        rec.edit(0, radius=0)
    rec.set_enabled(0, False)
    assert len(rec.recipe.active_steps()) == 1
    rec.delete(0)
    rec.recording = False
    assert rec.append(Step("threshold", {}, {"image": "a"}, "b", label_value=1)) is None
    assert len(rec) == 1 and len(calls) == 7
    with pytest.raises(RecipeError, match="step 2 \\(threshold\\)"):
        rec.recording = True
        rec.append(Step("threshold", {"nope": 1}, {"image": "a"}, "b", label_value=1))


def test_apply_needs_its_input_layers():
    with pytest.raises(RecipeError, match="step 1 \\(threshold\\).*no layer 'img'"):
        _gui_recipe().apply({"other": IMAGE})
    two = Recipe(steps=[Step("binary_metrics", {}, {"truth": "t", "pred": "p"}, "scores")])
    with pytest.raises(RecipeError, match="reads 2 layers"):
        two.apply(IMAGE)
    out = two.apply({"t": IMAGE > 100, "p": IMAGE > 120})["scores"]
    assert out == core.binary_metrics(IMAGE > 100, IMAGE > 120)
