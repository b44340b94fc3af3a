"""Writing comparison reports: napari_maskclean.io.write_report (through the atomic writer)."""

import csv
import json

import numpy as np
import pytest

from napari_maskclean.core.compare import binary_metrics, confusion_matrix, per_class_metrics
from napari_maskclean.core.review import compare
from napari_maskclean.io import report_rows, write_report


def test_write_report(tmp_path):
    truth = np.array([[0, 1, 2], [2, 2, 0]])
    pred = np.array([[0, 1, 1], [2, 0, 0]])
    live = compare(truth, pred, multiclass=True, iou_threshold=0.5)
    report = {"prediction": "p", **live.report()}
    out = write_report(tmp_path / "r.csv", report)
    rows = list(csv.DictReader(out.open()))
    by = {(r["metric"], r["class"]): r["value"] for r in rows}
    assert by[("prediction", "")] == "p"
    assert float(by[("f1", "")]) == binary_metrics(truth, pred)["f1"]
    assert float(by[("iou", "2")]) == pytest.approx(per_class_metrics(
        confusion_matrix(truth, pred))["iou"][2])
    assert by[("cm[truth=2,pred=0]", "")] == "1"
    assert ("objects.f1", "") in by
    data = json.loads(write_report(tmp_path / "r.json", report).read_text())
    assert data["confusion_matrix"]["matrix"] == confusion_matrix(truth, pred).tolist()
    with pytest.raises(FileExistsError, match="already exists"):
        write_report(tmp_path / "r.json", report)
    write_report(tmp_path / "r.json", {"x": 1}, overwrite=True)
    assert json.loads((tmp_path / "r.json").read_text()) == {"x": 1}
    with pytest.raises(ValueError, match=".csv or .json"):
        write_report(tmp_path / "r.txt", report)
    with pytest.raises(FileNotFoundError):
        write_report(tmp_path / "missing" / "r.csv", report)
    assert report_rows({"metrics": {"mcc": float("nan")}}) == [("mcc", "", None)]


def test_write_report_goes_through_the_atomic_writer(tmp_path, monkeypatch):
    """A write that fails half-way leaves neither the file nor a temporary file, and an
    existing file is untouched (the old fixed temp name ``.r.csv.tmp`` is gone)."""
    from pathlib import Path

    (tmp_path / "old.csv").write_text("keep")
    real = Path.write_text

    def half_then_fail(self, text, *args, **kwargs):
        real(self, text[:5], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    for name, overwrite in (("r.csv", False), ("old.csv", True)):
        with pytest.raises(OSError, match="disk full"):
            write_report(tmp_path / name, {"metrics": {"f1": 0.5}}, overwrite=overwrite)
    monkeypatch.setattr(Path, "write_text", real)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]
    assert (tmp_path / "old.csv").read_text() == "keep"


def test_json_reports_are_valid_json_with_nan_as_null(tmp_path):
    # json.dumps writes NaN as a bare NaN, which strict parsers refuse.
    def strict(text):
        def refuse(name):
            raise ValueError(f"not JSON: {name}")
        return json.loads(text, parse_constant=refuse)

    report = {"metrics": {"mcc": float("nan"), "f1": np.float32(0.5), "x": float("inf")},
              "per_class": {np.int64(2): [np.float64("nan"), 1]}, "arr": np.arange(3)}
    data = strict(write_report(tmp_path / "r.json", report).read_text())
    assert data == {"metrics": {"mcc": None, "f1": 0.5, "x": None},
                    "per_class": {"2": [None, 1]}, "arr": [0, 1, 2]}
    from napari_maskclean.core.noise_metrics import measure_noise
    from napari_maskclean.io import json_text

    a = np.zeros((8, 8), np.uint8)
    a[2:5, 2:5] = 1
    m = measure_noise(a, np.zeros_like(a))  # class 1 vanished: some figures are NaN
    assert "NaN" in json.dumps(m.to_dict())
    assert strict(json_text(m.to_dict()))["tolerance"] == 2.0
