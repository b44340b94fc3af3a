"""maskclean run: a recipe over files, outputs in the input's format, sidecars, clear failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from napari_maskclean import io
from napari_maskclean.batch.cli_run import main as main_run
from napari_maskclean.recipe import Recipe, Step
from napari_maskclean.run import run_recipe, sha256

SAMPLES = Path(__file__).resolve().parents[1] / "sample_data"


def _threshold_recipe() -> Recipe:
    return Recipe(steps=[
        Step("threshold", {"method": "otsu"}, {"image": "im"}, "mask", new_target=True,
             label_value=1),
        Step("morphology", {"operation": "open"}, {"labels": "mask"}, "mask"),
    ])


def test_run_over_the_sample_folder_with_sidecars_and_named_failures(tmp_path):
    recipe = _threshold_recipe()
    out = tmp_path / "out"
    seen = []
    summary = run_recipe(recipe, [SAMPLES, tmp_path / "missing.png", str(SAMPLES / "*.xyz")],
                         out, progress=lambda d, t, n: seen.append((d, t)))
    reasons = dict(summary.failed)
    assert "no such file" in reasons[str(tmp_path / "missing.png")]
    assert "matches no file" in reasons[str(SAMPLES / "*.xyz")]
    # colour masks are named, with the fix, not a traceback
    assert "RGB image" in reasons[str(SAMPLES / "rgb_mask_noisy.png")]
    assert summary.n_ok == 5 and seen[-1] == (7, 7)
    result = io.read_mask(out / "coins_image.png")
    expected = recipe.apply(io.read_image(SAMPLES / "coins_image.png"))
    np.testing.assert_array_equal(result, expected)
    assert (out / "blobs3d_image.tif").exists()  # TIFF in, TIFF out
    meta = json.loads((out / "coins_image.png.recipe.json").read_text())
    assert meta["input_sha256"] == sha256(SAMPLES / "coins_image.png")
    assert meta["versions"]["napari-maskclean"] and meta["recipe"]["steps"][0]["op"] == \
        "threshold"
    assert Recipe.from_dict(meta["recipe"]).to_dict() == recipe.to_dict()


def test_never_replaces_without_overwrite_nor_the_input(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(SAMPLES / "coins_image.png", src)
    out = tmp_path / "out"
    assert run_recipe(_threshold_recipe(), [src], out).n_ok == 1
    before = (out / "coins_image.png").read_bytes()
    again = run_recipe(_threshold_recipe(), [src], out)
    assert again.n_ok == 0 and "already exists" in again.failed[0][1]
    assert again.exit_code == 1
    assert run_recipe(_threshold_recipe(), [src], out, overwrite=True).n_ok == 1
    assert (out / "coins_image.png").read_bytes() == before
    same = run_recipe(_threshold_recipe(), [src], src, overwrite=True)
    assert "would replace the input" in same.failed[0][1]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_colour_mask_recipe_writes_a_colour_png(tmp_path):
    recipe = Recipe(steps=[Step("fill_rgb_mask", {"palette": json.loads(
        (SAMPLES / "rgb_palette.json").read_text())}, {"rgb": "m"}, "m labels",
        new_target=True)])
    summary = run_recipe(recipe, [SAMPLES / "rgb_mask_noisy.png", SAMPLES / "coins_truth.png"],
                         tmp_path)
    assert summary.n_ok == 1
    assert "not 8-bit RGB" in summary.failed[0][1]
    ws = recipe.run({"m": io.read_image(SAMPLES / "rgb_mask_noisy.png")})
    rgb = io.read_image(tmp_path / "rgb_mask_noisy.png")
    palette = ws.palettes["m labels"]
    np.testing.assert_array_equal(rgb, palette[ws.layers["m labels"]])
    meta = json.loads((tmp_path / "rgb_mask_noisy.png.recipe.json").read_text())
    assert meta["palette"] == palette.tolist()


def test_zarr_in_zarr_out(tmp_path):
    zarr = pytest.importorskip("zarr")
    labels = np.zeros((2, 20, 20), np.uint16)
    labels[:, 5:15, 5:15] = 4
    labels[:, 9, 9] = 0
    src = tmp_path / "vol.zarr"
    zarr.save_array(str(src), labels)
    recipe = Recipe(steps=[Step("fill_labels", {}, {"labels": "v"}, "v")])
    summary = run_recipe(recipe, [src], tmp_path / "out")
    assert summary.n_ok == 1, summary.failed
    out = np.asarray(zarr.open_array(str(tmp_path / "out" / "vol.zarr"), mode="r"))
    np.testing.assert_array_equal(out, recipe.apply(labels))
    assert out[0, 9, 9] == 4


def test_main_run_exit_codes_and_messages(tmp_path, capsys):
    path = _threshold_recipe().save(tmp_path / "r.json")
    code = main_run([str(path), str(SAMPLES / "coins_image.png"), "-o", str(tmp_path / "o"),
                     "--quiet"])
    assert code == 0 and "1 of 1 input processed" in capsys.readouterr().out
    code = main_run([str(path), str(tmp_path / "nothing.png"), "-o", str(tmp_path / "o")])
    assert code == 1 and "FAILED" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "napari-maskclean recipe", "schema": 7, "steps": []}')
    assert main_run([str(bad), str(SAMPLES), "-o", str(tmp_path / "o")]) == 2
    assert "schema 7" in capsys.readouterr().err
