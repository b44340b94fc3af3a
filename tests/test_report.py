import csv
import json

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_maskclean.core.compare import binary_metrics, metrics_from_counts
from napari_maskclean.report import MEAN_ROW, TOTAL_ROW, Report, compare_paths


def save_png(path, arr):
    Image.fromarray(np.asarray(arr)).save(path)


@pytest.fixture
def dataset(tmp_path):
    rng = np.random.default_rng(0)
    gt, pr = tmp_path / "gt", tmp_path / "pred"
    gt.mkdir()
    pr.mkdir()
    arrays = {}
    for name in ("img2", "img10", "img1"):
        t = (rng.random((20, 24)) < 0.4).astype(np.uint8) * 255
        p = (rng.random((20, 24)) < 0.4).astype(np.uint8) * 255
        save_png(gt / f"{name}.png", t)
        save_png(pr / f"{name}.png", p)
        arrays[name] = (t, p)
    save_png(gt / "shape.png", np.zeros((20, 24), np.uint8))
    save_png(pr / "shape.png", np.zeros((20, 23), np.uint8))
    save_png(gt / "only_gt.png", np.zeros((20, 24), np.uint8))
    save_png(pr / "only_pred.png", np.zeros((20, 24), np.uint8))
    (gt / "notes.txt").write_text("not a mask")
    return gt, pr, arrays


def test_compare_folders(dataset, tmp_path):
    gt, pr, arrays = dataset
    calls = []
    report = compare_paths(gt, pr, progress=lambda d, n: calls.append((d, n)))
    assert [r["name"] for r in report.rows] == ["img1", "img2", "img10"]  # natural order
    skipped = dict(report.skipped)
    assert set(skipped) == {"shape", "only_gt", "only_pred"}
    assert "(20, 24)" in skipped["shape"] and "(20, 23)" in skipped["shape"]
    assert "no prediction" in skipped["only_gt"]
    assert "no ground-truth" in skipped["only_pred"]
    assert calls[0] == (0, 6) and calls[-1] == (6, 6) and len(calls) == 7
    for row in report.rows:
        t, p = arrays[row["name"]]
        ref = binary_metrics(t, p)
        assert {k: row[k] for k in ref} == ref
        assert row["shape"] == [20, 24]
    # micro = metrics of the summed counts; macro = mean of per-file scores
    sums = [sum(r[k] for r in report.rows) for k in ("tp", "fp", "fn", "tn")]
    micro = metrics_from_counts(*sums)
    assert {k: report.totals[k] for k in micro} == micro
    assert report.totals["n_files"] == 3
    assert report.macro["f1"] == pytest.approx(np.mean([r["f1"] for r in report.rows]))
    assert report.macro["f1"] != pytest.approx(report.totals["f1"], rel=1e-9)
    assert "3 compared, 3 skipped" in report.summary()


def test_write_csv_json_plot(dataset, tmp_path):
    gt, pr, _ = dataset
    report = compare_paths(gt, pr)
    report.write_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    names = [r["name"] for r in rows]
    assert names[:3] == ["img1", "img2", "img10"]
    assert names[-2:] == [TOTAL_ROW, MEAN_ROW]
    assert {r["name"] for r in rows if r["skipped"]} == {"shape", "only_gt", "only_pred"}
    assert float(rows[-2]["f1"]) == pytest.approx(report.totals["f1"])
    assert int(rows[-2]["tp"]) == report.totals["tp"]
    assert float(rows[-1]["mcc"]) == pytest.approx(report.macro["mcc"])
    assert rows[0]["shape"] == "20x24"
    report.write_csv(tmp_path / "r2.csv", include_skipped=False)
    with open(tmp_path / "r2.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 5

    report.write_json(tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["rows"]) == 3 and len(data["skipped"]) == 3
    assert data["totals"]["iou"] == pytest.approx(report.totals["iou"])
    assert {"name", "reason"} == set(data["skipped"][0])

    report.plot(tmp_path / "r.png")
    img = np.asarray(Image.open(tmp_path / "r.png"))
    assert img.ndim == 3 and img.shape[0] > 100
    with pytest.raises(ValueError, match="unknown metrics"):
        report.plot(tmp_path / "x.png", metrics=["bogus"])


def test_many_files_plot_as_dots(tmp_path):
    rows = [
        {"name": f"f{i}", "f1": 0.5, "iou": 0.3, "mcc": -0.2, "shape": [2, 2]} for i in range(60)
    ]
    report = Report(rows=rows, totals={"f1": 0.5, "iou": 0.3, "mcc": -0.2})
    report.plot(tmp_path / "dots.png")
    assert (tmp_path / "dots.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unreadable_nan_and_ambiguous_are_skipped(tmp_path):
    gt, pr = tmp_path / "gt", tmp_path / "pr"
    gt.mkdir()
    pr.mkdir()
    (gt / "broken.png").write_bytes(b"not a png at all")
    save_png(pr / "broken.png", np.zeros((4, 4), np.uint8))
    np.save(gt / "nan.npy", np.full((3, 3), np.nan))
    np.save(pr / "nan.npy", np.zeros((3, 3)))
    save_png(gt / "dup.png", np.zeros((4, 4), np.uint8))
    np.save(gt / "dup.npy", np.zeros((4, 4), np.uint8))
    np.save(pr / "dup.npy", np.zeros((4, 4), np.uint8))
    np.save(gt / "ok.npy", np.eye(4, dtype=np.uint8))
    np.save(pr / "ok.npy", np.eye(4, dtype=np.uint8))
    report = compare_paths(gt, pr)
    assert [r["name"] for r in report.rows] == ["ok"]
    assert report.totals["f1"] == 1.0
    reasons = dict(report.skipped)
    assert "cannot read broken.png" in reasons["broken"]
    assert "NaN" in reasons["nan"]
    assert "dup.npy" in reasons["dup"] and "dup.png" in reasons["dup"]


def test_mixed_formats_rgb_and_palette(tmp_path):
    gt, pr = tmp_path / "gt", tmp_path / "pr"
    gt.mkdir()
    pr.mkdir()
    truth = np.zeros((6, 8), np.uint8)
    truth[1:4, 2:6] = 1
    # RGB truth: any non-black pixel is foreground
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[truth == 1] = (0, 0, 7)
    save_png(gt / "a.png", rgb)
    tifffile.imwrite(pr / "a.tif", truth * 3)
    # palette PNG: indices, not colours
    pal = Image.new("P", (8, 6))
    pal.putdata((truth * 2).ravel().tolist())
    pal.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
    pal.save(gt / "b.png")
    np.save(pr / "b.npy", truth.astype(np.int64) * 2)
    report = compare_paths(gt, pr)
    assert [r["name"] for r in report.rows] == ["a", "b"]
    assert all(r["f1"] == 1.0 and r["tp"] == 12 for r in report.rows)
    # label value selection; RGB images cannot use it
    sel = compare_paths(gt, pr, positive=2)
    assert [r["name"] for r in sel.rows] == ["b"]
    assert "RGB" in dict(sel.skipped)["a"]


def test_single_files_and_file_vs_folder(tmp_path):
    t = np.zeros((5, 5), np.uint8)
    t[1:3, 1:4] = 1
    p = np.zeros_like(t)
    p[1:3, 1:3] = 1
    np.save(tmp_path / "truth.npy", t)
    np.save(tmp_path / "other_name.npy", p)
    report = compare_paths(tmp_path / "truth.npy", tmp_path / "other_name.npy")
    assert report.rows[0]["name"] == "truth"
    assert report.totals == {**binary_metrics(t, p), "n_files": 1}
    folder = tmp_path / "preds"
    folder.mkdir()
    np.save(folder / "truth.npy", p)
    np.save(folder / "zzz.npy", p)
    r2 = compare_paths(tmp_path / "truth.npy", folder)
    assert [r["name"] for r in r2.rows] == ["truth"] and r2.skipped == []


def test_nothing_comparable_and_missing_path(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    np.save(a / "x.npy", np.zeros(3))
    report = compare_paths(a, b)
    assert report.rows == [] and report.totals == {} and report.macro == {}
    assert report.n_compared == 0 and len(report.skipped) == 1
    report.write_csv(tmp_path / "r.csv")
    report.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        compare_paths(tmp_path / "missing", b)


def test_one_reader_and_one_suffix_list(tmp_path):
    """report reads with io (zarr, whole-number float TIFF, bad files) and io's suffix list."""
    zarr = pytest.importorskip("zarr")
    from napari_maskclean import io
    from napari_maskclean.report import MASK_SUFFIXES

    assert MASK_SUFFIXES is io.MASK_EXTENSIONS
    gt, pr = tmp_path / "gt", tmp_path / "pr"
    gt.mkdir()
    pr.mkdir()
    t = np.zeros((6, 8), np.uint8)
    t[1:4, 2:6] = 3
    z = zarr.open(str(gt / "vol.zarr"), mode="w", shape=t.shape, dtype=t.dtype)
    z[...] = t
    np.save(pr / "vol.npy", t)
    (gt / "empty.png").write_bytes(b"")
    np.save(pr / "empty.npy", t)
    save_png(gt / "cut.png", t)
    (gt / "cut.png").write_bytes((gt / "cut.png").read_bytes()[:40])
    np.save(pr / "cut.npy", t)
    tifffile.imwrite(gt / "prob.tif", t.astype(np.float32) / 10)  # a probability map
    np.save(pr / "prob.npy", t)
    report = compare_paths(gt, pr)
    assert [r["name"] for r in report.rows] == ["vol"] and report.rows[0]["f1"] == 1.0
    reasons = dict(report.skipped)
    assert "empty.png" in reasons["empty"] and "empty (0 bytes)" in reasons["empty"]
    assert "cut.png" in reasons["cut"] and "truncated" in reasons["cut"]
    assert "prob.tif" in reasons["prob"] and "non-integer" in reasons["prob"]
    assert all("\n" not in r and str(tmp_path) not in r for r in reasons.values())


def test_writes_are_no_clobber_and_format_follows_suffix(dataset, tmp_path):
    gt, pr, _ = dataset
    report = compare_paths(gt, pr)
    out = tmp_path / "r.csv"
    out.write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite"):
        report.write_csv(out)
    with pytest.raises(FileExistsError, match="overwrite"):
        report.write_json(out)
    assert out.read_text() == "keep"
    report.write(out, overwrite=True)
    assert next(csv.DictReader(out.open()))["name"] == "img1"
    report.write(tmp_path / "r.json")
    assert json.loads((tmp_path / "r.json").read_text())["totals"]["n_files"] == 3
    with pytest.raises(ValueError, match=r"\.csv or \.json"):
        report.write(tmp_path / "r.png")
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match=r"\.png or \.pdf or \.svg"):
        report.plot(tmp_path / "r.csv2")
    report.plot(tmp_path / "r.svg")
    assert b"<svg" in (tmp_path / "r.svg").read_bytes()[:500]
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == [
        "r.csv", "r.json", "r.svg"]
