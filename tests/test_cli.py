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


# --------------------------------------------------------------------------------------
# outputs are checked before any work; inputs are never overwritten
# --------------------------------------------------------------------------------------


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the comparison starts."""
    import napari_maskclean.report as report

    def boom(*args, **kwargs):
        raise AssertionError("the comparison ran before the output was checked")

    monkeypatch.setattr(report, "compare_paths", boom)


def _last_error(capsys):
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(("option", "side"), [("-o", "truth"), ("--plot", "pred")])
def test_output_that_is_an_input_is_refused(folders, capsys, no_work, option, side):
    """`-o gt/a.png --overwrite` used to replace the ground-truth mask with CSV text."""
    truth, pred = folders
    target = {"truth": truth, "pred": pred}[side] / "coins.png"
    before = target.read_bytes()
    code = main(["compare", str(truth), str(pred), "-q", option, str(target), "--overwrite"])
    line = _last_error(capsys)
    assert code == 2 and "input" in line and str(target.parent) in line
    assert target.read_bytes() == before
    # a new mask-type file in an input folder would be read as a mask next time
    code = main(["compare", str(truth), str(pred), "-q", "--plot", str(truth / "new.png")])
    assert code == 2 and "input folder" in _last_error(capsys)


def test_output_linked_to_an_input_file_is_refused(folders, tmp_path, capsys, no_work):
    truth, pred = folders
    link = tmp_path / "link.png"
    link.symlink_to(truth / "coins.png")
    before = (truth / "coins.png").read_bytes()
    code = main(["compare", str(truth / "coins.png"), str(pred / "coins.png"), "-q",
                 "--plot", str(link), "--overwrite"])
    assert code == 2 and "input" in _last_error(capsys)
    assert (truth / "coins.png").read_bytes() == before


def test_output_folder_refused_even_with_overwrite(folders, tmp_path, capsys, no_work):
    truth, pred = folders
    (tmp_path / "out.csv").mkdir()
    for option in ("-o", "--plot"):
        code = main(["compare", str(truth), str(pred), "-q", option, str(tmp_path / "out.csv"),
                     "--overwrite"])
        assert code == 2 and "is a folder" in _last_error(capsys)


@pytest.mark.parametrize(("option", "name"), [("-o", "report.png"), ("-o", "report"),
                                              ("--plot", "plot.csv")])
def test_output_format_must_be_known(folders, tmp_path, capsys, no_work, option, name):
    truth, pred = folders
    code = main(["compare", str(truth), str(pred), "-q", option, str(tmp_path / name)])
    line = _last_error(capsys)
    assert code == 2 and "unknown format" in line
    assert not (tmp_path / name).exists()


def test_output_folder_must_exist_and_be_writable(folders, tmp_path, capsys, no_work):
    truth, pred = folders
    code = main(["compare", str(truth), str(pred), "-q", "-o", str(tmp_path / "no" / "r.csv")])
    assert code == 2 and "does not exist" in _last_error(capsys)
    if not Path("/proc/self").exists():
        pytest.skip("needs /proc (a folder where no file can be created, even as root)")
    code = main(["compare", str(truth), str(pred), "-q", "--plot", "/proc/r.png"])
    assert code == 2 and "not writable" in _last_error(capsys)


def test_output_and_plot_must_differ(folders, tmp_path, capsys, no_work):
    truth, pred = folders
    code = main(["compare", str(truth), str(pred), "-q", "-o", str(tmp_path / "r.json"),
                 "--plot", str(tmp_path / "r.json")])
    assert code == 2


def test_json_output_by_suffix(folders, tmp_path, capsys):
    import json

    truth, pred = folders
    out = tmp_path / "r.json"
    assert main(["compare", str(truth), str(pred), "-q", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["rows"][0]["name"] == "coins" and data["totals"]["n_files"] == 1


def test_output_created_during_the_run_is_not_overwritten(folders, tmp_path, capsys,
                                                          monkeypatch):
    import napari_maskclean.report as report

    truth, pred = folders
    out = tmp_path / "r.csv"
    real = report.compare_paths

    def slow_run(*args, **kwargs):
        result = real(*args, **kwargs)
        out.write_text("someone else's")  # appears while we compare
        return result

    monkeypatch.setattr(report, "compare_paths", slow_run)
    code = main(["compare", str(truth), str(pred), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "already exists" in err and "--overwrite" in err
    assert "Traceback" not in err and "tmp-" not in err
    assert out.read_text() == "someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred", "r.csv", "truth"]


# --------------------------------------------------------------------------------------
# bad input files, Ctrl-C, exit codes
# --------------------------------------------------------------------------------------


def test_unreadable_files_one_line_each_and_exit_1(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "zero.png").write_bytes(b"")
    (tmp_path / "b" / "zero.png").write_bytes(b"")
    (tmp_path / "a" / "text.tif").write_text("not a tiff\n" * 20)
    np.save(tmp_path / "b" / "text.npy", np.zeros((3, 3), np.uint8))
    good = (SAMPLES / "coins_truth.png").read_bytes()
    (tmp_path / "a" / "cut.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "b" / "cut.png").write_bytes(good)
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    skipped = [line for line in err if line.startswith("maskclean: skipped")]
    assert len(skipped) == 3 and len(err) == 4, err
    assert any("zero.png" in s and "empty" in s for s in skipped)
    assert any("text.tif" in s for s in skipped)
    assert any("cut.png" in s and "truncated" in s for s in skipped)
    assert "nothing could be compared" in err[-1]


def test_ctrl_c_mid_run(tmp_path, capsys, monkeypatch):
    import napari_maskclean.report as report

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for i in range(5):
        np.save(tmp_path / "a" / f"m{i}.npy", np.eye(4, dtype=np.uint8))
        np.save(tmp_path / "b" / f"m{i}.npy", np.eye(4, dtype=np.uint8))
    real, calls = report.binary_metrics, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "binary_metrics", interrupted)
    out = tmp_path / "r.csv"
    code = main(["compare", str(tmp_path / "a"), str(tmp_path / "b"), "-q", "-o", str(out),
                 "--plot", str(tmp_path / "r.png")])
    assert code == 130
    line = _last_error(capsys)
    assert line == "maskclean: interrupted after 2 of 5 files; nothing partial written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_ctrl_c_while_writing(folders, tmp_path, capsys, monkeypatch):
    import matplotlib.figure

    truth, pred = folders

    def killed(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", killed)
    code = main(["compare", str(truth), str(pred), "-q", "--plot", str(tmp_path / "p.png")])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted while writing" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.png")) and not list(tmp_path.glob(".*"))


def test_real_sigint_to_a_running_compare(tmp_path):
    """A real Ctrl-C (SIGINT) to a `maskclean compare` process: exit 130, one line, no file."""
    import os
    import signal
    import subprocess
    import sys

    if sys.platform == "win32":
        pytest.skip("POSIX signals")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for i in range(50):
        np.save(tmp_path / "a" / f"m{i}.npy", np.eye(4, dtype=np.uint8))
        np.save(tmp_path / "b" / f"m{i}.npy", np.eye(4, dtype=np.uint8))
    # slow each file down and say when the run is under way, so the signal lands mid-run
    script = (
        "import sys, time\n"
        "import napari_maskclean.report as r\n"
        "real = r.binary_metrics\n"
        "def slow(*a, **k):\n"
        "    print('file', flush=True); time.sleep(0.1); return real(*a, **k)\n"
        "r.binary_metrics = slow\n"
        "from napari_maskclean.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "r.csv"
    proc = subprocess.Popen(
        [sys.executable, "-c", script, "compare", str(tmp_path / "a"), str(tmp_path / "b"),
         "-q", "-o", str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    try:
        for _ in range(3):
            assert proc.stdout.readline() == "file\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("maskclean: interrupted after ") and "of 50 files" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in out


# ------------------------------------------------------------------------------ run
def _morphology_recipe(tmp_path) -> Path:
    from napari_maskclean.recipe import Recipe, Step

    recipe = Recipe(steps=[Step("morphology", {"operation": "remove_small_objects",
                                               "min_size": 20}, {"labels": "mask"}, "mask")])
    return recipe.save(tmp_path / "clean.json")


def test_run_over_a_folder_of_samples_with_sidecars_and_bad_inputs(tmp_path, capsys):
    import json

    from napari_maskclean.recipe import Recipe
    from napari_maskclean.run import sha256

    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("coins_truth.png", "coins_annotation.png", "blobs3d_truth.tif"):
        shutil.copy(SAMPLES / name, folder / name)
    (folder / "broken.png").write_bytes(b"not a png at all")
    recipe = _morphology_recipe(tmp_path)
    out = tmp_path / "out"
    code = main(["run", str(recipe), str(folder), str(tmp_path / "missing.tif"), "-o",
                 str(out), "-q"])
    captured = capsys.readouterr()
    assert code == 0
    failed = [ln for ln in captured.err.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 2 and "Traceback" not in captured.err
    assert any("broken.png" in ln for ln in failed)
    assert any("missing.tif" in ln and "no such file" in ln for ln in failed)
    assert "3 of 5 inputs processed" in captured.out
    for name in ("coins_truth.png", "coins_annotation.png", "blobs3d_truth.tif"):
        expected = Recipe.load(recipe).apply(read_mask(folder / name))
        np.testing.assert_array_equal(read_mask(out / name), expected)
        meta = json.loads((out / f"{name}.recipe.json").read_text())
        assert meta["input_sha256"] == sha256(folder / name)
    # a second run refuses to replace the outputs without --overwrite, then replaces them
    assert main(["run", str(recipe), str(folder / "coins_truth.png"), "-o", str(out),
                 "-q"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["run", str(recipe), str(folder / "coins_truth.png"), "-o", str(out),
                 "--overwrite", "-q"]) == 0


def test_run_exit_codes(tmp_path, capsys):
    recipe = _morphology_recipe(tmp_path)
    assert main(["run", str(recipe), str(tmp_path / "none.png"), "-o",
                 str(tmp_path / "o"), "-q"]) == 1  # nothing processed
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "napari-maskclean recipe", "schema": 1, "steps": '
                   '[{"op": "warp_drive", "params": {}, "target": "x"}]}')
    assert main(["run", str(bad), str(SAMPLES), "-o", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "warp_drive" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and "run: no input could be processed" in out
