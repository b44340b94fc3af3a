"""The elastic_deform_labels op: reproducible in recipes and maskclean run, refused by tiling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean import io
from napari_maskclean.batch.cli_run import main as main_run
from napari_maskclean.core.noise import elastic_deform_labels
from napari_maskclean.core.noise_copy import image_seed, noisy_labels
from napari_maskclean.ops import REGISTRY, GlobalHow, LocalityKind, ParamError
from napari_maskclean.ops.noise import DEFAULTS
from napari_maskclean.recipe import Recipe, RecipeError, Scope, Step
from napari_maskclean.run import run_recipe


def _labels(seed: int, shape=(96, 96)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros(shape, np.uint8)
    for k in range(1, 5):
        y, x = rng.integers(10, shape[0] - 30, 2)
        a[y:y + 25, x:x + 20] = k
    return a


def _step(**params) -> Step:
    return Step("elastic_deform_labels", {"alpha": 200.0, "sigma": 5.0, **params},
                {"labels": "gt"}, "gt noisy", new_target=True)


def test_registered_with_dock_defaults_and_untileable():
    spec = REGISTRY["elastic_deform_labels"]
    d = spec.defaults
    assert {k: d[k] for k in DEFAULTS} == DEFAULTS
    assert d["random_state"] == 0 and d["seed_per_image"] is True
    loc = spec.locality_for(d)
    assert loc.kind is LocalityKind.GLOBAL and loc.how is GlobalHow.UNTILEABLE
    assert not loc.tileable and "in memory" in loc.message
    assert spec.validate(json.loads(json.dumps(d))) == d


def test_op_call_equals_the_core_with_the_image_seed():
    spec = REGISTRY["elastic_deform_labels"]
    a = _labels(0)
    params = {"alpha": 300.0, "sigma": 6.0, "random_state": 7}
    out = spec.call(a, params)
    seed = image_seed(a, 7)
    expected = elastic_deform_labels(a, alpha=300.0, sigma=6.0, area_threshold=50,
                                     random_state=np.random.RandomState(seed))
    np.testing.assert_array_equal(out, expected)
    assert not np.array_equal(out, a)  # it did deform
    fixed = spec.call(a, {**params, "seed_per_image": False})
    np.testing.assert_array_equal(fixed, elastic_deform_labels(
        a, alpha=300.0, sigma=6.0, area_threshold=50, random_state=7))


def test_image_seed_follows_the_values_not_the_dtype():
    a = _labels(0)
    assert image_seed(a, 0) == image_seed(a.astype(np.int32), 0) == image_seed(
        a.astype(np.uint16), 0)
    assert image_seed(a, 0) != image_seed(a, 1)
    b = a.copy()
    b[0, 0] = 9
    assert image_seed(a, 0) != image_seed(b, 0)
    assert image_seed(a, 0) != image_seed(a[:, :-1], 0)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, True])
def test_bad_seed_is_refused_with_the_range(seed):
    with pytest.raises(ParamError, match="random_state"):
        REGISTRY["elastic_deform_labels"].validate({"random_state": seed})
    with pytest.raises(ValueError, match="random_state"):
        noisy_labels(_labels(0), alpha=1, sigma=1, random_state=seed)


def test_4d_needs_per_slice():
    a = np.zeros((2, 3, 32, 32), np.uint8)
    a[..., 8:24, 8:24] = 1
    with pytest.raises(ValueError, match="per_slice"):
        noisy_labels(a, alpha=50, sigma=3)
    out = noisy_labels(a, alpha=200, sigma=3, per_slice=True, seed_per_image=False)
    flat = a.reshape(-1, 32, 32)
    rs = np.random.RandomState(0)  # slice after slice, in C order, one generator
    expected = np.stack([elastic_deform_labels(s, alpha=200, sigma=3, area_threshold=1000,
                                               random_state=rs) for s in flat])
    np.testing.assert_array_equal(out.reshape(-1, 32, 32), expected)


def test_recipe_replay_is_reproducible_and_survives_json():
    a = _labels(1)
    recipe = Recipe(steps=[_step(random_state=3)])
    first = recipe.apply(a)
    again = Recipe.load(recipe.to_json()).apply(a.astype(np.int32))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, noisy_labels(a, alpha=200.0, sigma=5.0,
                                                      area_threshold=50, random_state=3))
    other = Recipe(steps=[_step(random_state=4)]).apply(a)
    assert not np.array_equal(first, other)


def test_each_slice_scope_maps_to_per_slice():
    stack = np.stack([_labels(k, (48, 48)) for k in range(3)])
    step = Step("elastic_deform_labels", {"alpha": 150.0, "sigma": 4.0}, {"labels": "gt"},
                "noisy", new_target=True, scope=Scope.EACH_SLICE)
    out = Recipe(steps=[step]).apply(stack)
    expected = noisy_labels(stack, alpha=150.0, sigma=4.0, area_threshold=50, per_slice=True)
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(RecipeError, match="each_slice"):
        Recipe(steps=[Step("elastic_deform_labels", {"per_slice": True}, {"labels": "gt"},
                           "noisy")])


def test_python_export_replays_the_same(tmp_path):
    a = _labels(2)
    recipe = Recipe(steps=[_step(random_state=11)])
    namespace: dict = {}
    exec(compile(recipe.to_python(), "recipe_script", "exec"), namespace)  # noqa: S102
    out = namespace["run"]({"gt": a})["gt noisy"]
    np.testing.assert_array_equal(out, recipe.apply(a))


def test_run_over_a_folder_is_reproducible_and_each_file_gets_its_own_field(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    masks = {f"m{k}.png": _labels(k) for k in range(3)}
    masks["same_as_m0.png"] = masks["m0.png"]  # same content, another name
    for name, m in masks.items():
        io.write_mask(src / name, m)
    recipe = Recipe(steps=[_step(random_state=5)])
    runs = []
    for out in ("a", "b"):
        summary = run_recipe(recipe, [src], tmp_path / out)
        assert summary.n_ok == 4 and not summary.failed
        runs.append({n: io.read_mask(tmp_path / out / n) for n in masks})
    for name, m in masks.items():
        np.testing.assert_array_equal(runs[0][name], runs[1][name])  # reproducible
        np.testing.assert_array_equal(runs[0][name], recipe.apply(m))  # == in-memory replay
        assert set(np.unique(runs[0][name])) <= set(np.unique(m))
    # the seed comes from the content, not the file name
    np.testing.assert_array_equal(runs[0]["m0.png"], runs[0]["same_as_m0.png"])
    # different images get different fields
    fields = [noisy_labels(m, alpha=200.0, sigma=5.0, area_threshold=50, random_state=5,
                           return_displacement=True)[1] for m in (masks["m0.png"],
                                                                  masks["m1.png"])]
    assert not np.allclose(fields[0], fields[1])
    meta = json.loads((tmp_path / "a" / "m1.png.recipe.json").read_text())
    assert meta["recipe"]["steps"][0]["params"]["random_state"] == 5


def test_maskclean_run_from_a_saved_recipe(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for k in range(2):
        io.write_mask(src / f"m{k}.png", _labels(k))
    recipe = Recipe(steps=[_step(random_state=9)])
    path = recipe.save(tmp_path / "noise.json")
    assert main_run([str(path), str(src), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    for k in range(2):
        np.testing.assert_array_equal(io.read_mask(tmp_path / "out" / f"m{k}.png"),
                                      recipe.apply(_labels(k)))
