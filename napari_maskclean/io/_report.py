"""Write comparison reports (scores, confusion matrix, objects) as CSV or JSON.

A report is a plain dict such as
:meth:`napari_maskclean.core.review.LiveComparison.report` plus context
entries; it is written through :func:`atomic_write` like every other file.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import atomic_write
from ._common import PathLike

__all__ = ["json_text", "report_rows", "write_report"]


def _value(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _plain(obj: Any) -> Any:
    """``obj`` with numpy values as Python ones and non-finite floats as None."""
    if isinstance(obj, dict):
        return {str(k) if isinstance(k, np.generic) else k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    return _value(obj)


def json_text(obj: Any, *, indent: int | None = 2) -> str:
    """Valid JSON for ``obj``: NaN and infinities as ``null``, numpy values as numbers.

    ``json.dumps`` writes a NaN as the bare word ``NaN``, which is not JSON
    (strict parsers, ``jq`` and browsers refuse the file).

    Examples
    --------
    >>> json_text({"f1": float("nan"), "n": np.int64(3)}, indent=None)
    '{"f1": null, "n": 3}'
    """
    return json.dumps(_plain(obj), indent=indent, allow_nan=False)


def report_rows(report: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """Flatten a report into ``(metric, class, value)`` rows for a CSV file.

    Context entries (strings, numbers) come first, then ``metrics``, then the
    per-class scores and confusion-matrix cells (``cm[truth=a,pred=b]``), then
    object-level scores (``objects.*``; per category with the category in the
    class column), category names (``class_name``), then a noise floor
    (``noise_floor.*``).

    Examples
    --------
    >>> report_rows({"prediction": "p", "metrics": {"tp": 3}})
    [('prediction', '', 'p'), ('tp', '', 3)]
    """
    rows: list[tuple[str, str, Any]] = []
    for key, value in report.items():
        if isinstance(value, str | int | float | np.generic) or value is None:
            rows.append((key, "", _value(value)))
    for name, value in report.get("metrics", {}).items():
        rows.append((name, "", _value(value)))
    for cls, scores in report.get("per_class", {}).items():
        for name, value in scores.items():
            rows.append((name, str(cls), _value(value)))
    cm = report.get("confusion_matrix")
    if cm:
        for a, row in zip(cm["labels"], cm["matrix"]):
            for b, n in zip(cm["labels"], row):
                rows.append((f"cm[truth={a},pred={b}]", "", int(n)))
    for name, value in report.get("objects", {}).items():
        if isinstance(value, list):
            value = json.dumps(value)
        rows.append((f"objects.{name}", "", _value(value)))
    for cls, scores in report.get("objects_per_category", {}).items():
        for name, value in scores.items():
            if not isinstance(value, list):  # the ids are in the JSON report
                rows.append((f"objects.{name}", str(cls), _value(value)))
    for cls, name in report.get("class_names", {}).items():
        rows.append(("class_name", str(cls), name))
    floor = report.get("noise_floor") or {}
    for name, value in floor.items():  # a reference line (the Compare dock's noise floor)
        if isinstance(value, dict):  # its spreads
            rows.extend((f"noise_floor.{name}.{k}", "", _value(v)) for k, v in value.items())
        else:
            rows.append((f"noise_floor.{name}", "", _value(value)))
    return rows


def write_report(path: PathLike, report: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write a report as ``.json`` (nested) or ``.csv`` (``metric,class,value`` rows).

    Parameters
    ----------
    path : str or path-like
        Destination; the format follows the suffix. Its folder must exist.
    report : dict
        E.g. :meth:`~napari_maskclean.core.review.LiveComparison.report` plus
        context entries.
    overwrite : bool, default False
        Replace an existing file. Default: refuse.

    Returns
    -------
    pathlib.Path
        The file written (complete or not at all, see :func:`atomic_write`).

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    FileNotFoundError
        If the folder does not exist.
    ValueError
        If the suffix is neither ``.csv`` nor ``.json``.

    Examples
    --------
    >>> import tempfile
    >>> p = write_report(Path(tempfile.mkdtemp()) / "m.csv", {"metrics": {"f1": 0.5}})
    >>> p.read_text().splitlines()
    ['metric,class,value', 'f1,,0.5']
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise ValueError(
            f"cannot write metrics as {target.suffix or 'a file without suffix'!r}; "
            "use a .csv or .json file name"
        )
    if suffix == ".json":
        text = json_text(report) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(("metric", "class", "value"))
        writer.writerows(report_rows(report))
        text = buf.getvalue()
    return atomic_write(target, lambda tmp: tmp.write_text(text, encoding="utf-8"),
                        overwrite=overwrite)
