"""The maskclean command: compare over folders, exit codes, one-line errors."""

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from napari_maskclean.cli import main
from napari_maskclean.core import binary_metrics
from napari_maskclean.io import read_mask

SAMPLES = Path(__file__).parents[1] / "sample_data"


@pytest.fixture
def folders(tmp_path):
    truth, pred = tmp_path / "truth", tmp_path / "pred"
    truth.mkdir()
    pred.mkdir()
    shutil.copy(SAMPLES / "coins_truth.png", truth / "coins.png")
    shutil.copy(SAMPLES / "coins_annotation.png", pred / "coins.png")
    shutil.copy(SAMPLES / "coins_truth.png", truth / "only_truth.png")  # no prediction
    return truth, pred


def test_compare_folders_writes_csv_and_plot(folders, tmp_path, capsys):
    truth, pred = folders
    out, png = tmp_path / "r.csv", tmp_path / "r.png"
    assert main(["compare", str(truth), str(pred), "-o", str(out), "--plot", str(png),
                 "-q"]) == 0
    err = capsys.readouterr().err
    assert "only_truth" in err  # the missing file is reported, not fatal
    rows = list(csv.DictReader(out.open()))
    coins = next(r for r in rows if r["name"] == "coins")
    expected = binary_metrics(read_mask(truth / "coins.png"), read_mask(pred / "coins.png"))
    assert float(coins["f1"]) == pytest.approx(expected["f1"])
    assert int(coins["tp"]) == expected["tp"]
    assert png.stat().st_size > 1000


def test_compare_refuses_to_overwrite(folders, tmp_path, capsys):
    truth, pred = folders
    out = tmp_path / "r.csv"
    out.write_text("keep me")
    assert main(["compare", str(truth), str(pred), "-o", str(out), "-q"]) == 2
    assert out.read_text() == "keep me"
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("maskclean: error:") and "--overwrite" in err[-1]
    assert main(["compare", str(truth), str(pred), "-o", str(out), "-q", "--overwrite"]) == 0
    assert out.read_text() != "keep me"


def test_compare_nothing_comparable_exits_nonzero(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    np.save(tmp_path / "a" / "x.npy", np.zeros((4, 4), dtype=np.uint8))
    np.save(tmp_path / "b" / "x.npy", np.zeros((5, 4), dtype=np.uint8))  # shape mismatch
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "(4, 4)" in err and "(5, 4)" in err


def test_compare_missing_path_is_one_line(tmp_path, capsys):
    assert main(["compare", str(tmp_path / "nope"), str(tmp_path), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "does not exist" in err and "Traceback" not in err


@pytest.mark.gui
def test_demo_screenshot_shows_every_widget(tmp_path):
    """`maskclean demo --screenshot` opens napari with all widgets, saves a PNG, exits 0."""
    import os
    import subprocess
    import sys

    import imageio.v3 as iio

    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (run pytest under xvfb-run)")
    png = tmp_path / "demo.png"
    run = subprocess.run(
        [sys.executable, "-m", "napari_maskclean.cli", "demo", "--screenshot", str(png)],
        capture_output=True, text=True, timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert f"saved {png}" in run.stdout
    image = iio.imread(png)
    assert image.shape[0] >= 800 and image.shape[1] >= 1200
    assert image[..., :3].std() > 20  # a rendered window, not a blank frame


def test_compare_refuses_bad_outputs_before_any_work(folders, tmp_path, capsys, monkeypatch):
    truth, pred = folders
    code = main(["compare", str(truth), str(pred), "-q", "-o", str(tmp_path / "no" / "r.csv")])
    err = capsys.readouterr().err
    assert code == 2 and "does not exist" in err and "Traceback" not in err
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # a base install
    code = main(["compare", str(truth), str(pred), "-q", "--plot", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 2 and "needs matplotlib" in err and "Traceback" not in err
    assert not (tmp_path / "p.png").exists()
