"""Dataset report: compare folders of predicted masks with their ground truth.

:func:`compare_paths` pairs the files of two folders by file name stem,
computes :func:`~napari_maskclean.core.compare.binary_metrics` per pair
("map") and sums the confusion counts over the dataset ("reduce"), so the
dataset totals are exact micro-averages; macro averages (the mean of the
per-file scores) are reported alongside. Problems with single files (missing
partner, unreadable, different shapes) are recorded in
:attr:`Report.skipped` and never stop the run. Big files (zarr folders, TIFFs
over a size limit) are compared tile by tile on dask
(:func:`napari_maskclean.batch.compare.compare_tiled`), in bounded memory and
with the same numbers as in memory.

This module is napari-free and prints nothing: the caller reports
``report.skipped`` as it sees fit (``maskclean compare``, in
:func:`napari_maskclean.cli.compare`, writes one line per skipped file to
stderr, then ``report.write`` / ``report.plot``). Files are read with
:mod:`napari_maskclean.io`, exactly as the napari reader reads them, and
written through :func:`napari_maskclean.io.atomic_write` (complete or not at
all; an existing file is replaced only with ``overwrite=True``). Reading and
pairing the files is in :mod:`napari_maskclean._report_files`.
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from napari_maskclean import io
from napari_maskclean._report_files import (
    _is_single,
    _listing,
    _natural_key,
    _read_lazy,
    _read_mask,
    _Skip,
)
from napari_maskclean.core.compare import (
    COUNT_NAMES,
    METRIC_NAMES,
    binary_metrics,
    metrics_from_counts,
)

__all__ = ["MASK_SUFFIXES", "REPORT_FORMATS", "PLOT_FORMATS", "Report", "compare_paths"]

#: File name suffixes read by :func:`compare_paths` (case-insensitive): the
#: one list of mask types, :data:`napari_maskclean.io.MASK_EXTENSIONS`.
MASK_SUFFIXES = io.MASK_EXTENSIONS
#: Suffixes :meth:`Report.write` understands, and the method each one uses.
REPORT_FORMATS = (".csv", ".json")
#: Suffixes :meth:`Report.plot` writes (the format follows the suffix).
PLOT_FORMATS = (".png", ".pdf", ".svg")

#: TIFFs over this many bytes are compared tile by tile (as
#: :data:`napari_maskclean.batch.lazy_io.DEFAULT_SIZE_LIMIT`; dask is imported only when used).
_DEFAULT_SIZE_LIMIT = 512 * 2**20

TOTAL_ROW = "TOTAL (micro)"
MEAN_ROW = "MEAN (macro)"

ProgressCallback = Callable[[int, int], None]


def _pair_metrics(
    tpath: Path, ppath: Path, positive: float | None, tile_size: int | None, size_limit: int
) -> tuple[tuple[int, ...], dict[str, Any]]:
    """Shape and binary metrics of a file pair: tile by tile when a file is big."""
    tiled = False
    if any(f.is_dir() or f.suffix.lower() in (".tif", ".tiff") for f in (tpath, ppath)):
        from napari_maskclean.batch.lazy_io import is_large  # imports dask: only if needed

        tiled = is_large(tpath, size_limit=size_limit) or is_large(ppath, size_limit=size_limit)
    read = (lambda f: _read_lazy(f, positive, tile_size, size_limit)) if tiled else (
        lambda f: _read_mask(f, positive))
    t, p = read(tpath), read(ppath)
    if t.shape != p.shape:
        raise _Skip(
            f"shape mismatch: ground truth {tpath.name} is {tuple(t.shape)}, "
            f"prediction {ppath.name} is {tuple(p.shape)}"
        )
    try:
        if tiled:
            from napari_maskclean.batch.compare import compare_tiled

            if t.chunks != p.chunks and not is_large(tpath, size_limit=size_limit):
                t = t.rechunk(p.chunks)  # the file read whole follows the big one's tiles
            return t.shape, compare_tiled(t, p, positive=positive, objects=False).metrics
        return t.shape, binary_metrics(t, p, positive=positive)
    except (TypeError, ValueError) as exc:
        raise _Skip(str(exc)) from None


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------


def _fmt_shape(shape: Iterable[int]) -> str:
    return "x".join(str(s) for s in shape)


@dataclass
class Report:
    """Per-file and dataset metrics of a ground-truth comparison.

    Attributes
    ----------
    rows : list of dict
        One dict per compared file: ``name``, ``truth`` and ``pred`` (paths
        as strings), ``shape`` (list of ints), the counts ``tp, fp, fn, tn``
        and the scores of :func:`~napari_maskclean.core.compare.binary_metrics`.
    skipped : list of (str, str)
        ``(name, reason)`` for every file that could not be compared.
    totals : dict
        Micro-average: the scores of the summed counts (plus ``n_files``);
        empty if no file was compared.
    macro : dict
        Macro-average: the mean of each per-file score (plus ``n_files``);
        empty if no file was compared.
    positive : int or float or None
        The foreground definition used.
    """

    rows: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)
    macro: dict[str, Any] = field(default_factory=dict)
    positive: float | None = None

    @property
    def n_compared(self) -> int:
        """Number of compared files."""
        return len(self.rows)

    def summary(self) -> str:
        """Return a one-line summary, e.g. for a command-line tool.

        Returns
        -------
        str
            Compared/skipped counts and micro / macro F1, IoU and MCC.
        """
        head = f"{self.n_compared} compared, {len(self.skipped)} skipped"
        if not self.rows:
            return head
        t, m = self.totals, self.macro
        return (
            f"{head}; micro F1 {t['f1']:.4f} IoU {t['iou']:.4f} MCC {t['mcc']:.4f}; "
            f"macro F1 {m['f1']:.4f} IoU {m['iou']:.4f} MCC {m['mcc']:.4f}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-able data.

        Returns
        -------
        dict
            ``rows``, ``skipped`` (list of ``{"name", "reason"}``), ``totals``,
            ``macro`` and ``positive``.
        """
        return {
            "rows": [dict(r) for r in self.rows],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
            "totals": dict(self.totals),
            "macro": dict(self.macro),
            "positive": self.positive,
        }

    def write(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the report as CSV or JSON, chosen by the suffix of ``path``.

        Parameters
        ----------
        path : str or Path
            Output file ending in ``.csv`` (:meth:`write_csv`) or ``.json``
            (:meth:`write_json`).
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        Path
            The file written.

        Raises
        ------
        ValueError
            If the suffix is neither ``.csv`` nor ``.json``.
        """
        suffix = _suffix(path, REPORT_FORMATS, "report")
        if suffix == ".json":
            return self.write_json(path, overwrite=overwrite)
        return self.write_csv(path, overwrite=overwrite)

    def write_json(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_dict` as JSON, atomically (see :func:`napari_maskclean.io.atomic_write`).

        Parameters
        ----------
        path : str or Path
            Output file.
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        Path
            The file written.
        """
        text = io.json_text(self.to_dict())
        return io.atomic_write(
            path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=overwrite
        )

    def write_csv(
        self, path: str | Path, *, include_skipped: bool = True, overwrite: bool = False
    ) -> Path:
        """Write one row per file, then a TOTAL (micro) and a MEAN (macro) row.

        The file is written atomically (see :func:`napari_maskclean.io.atomic_write`).

        Parameters
        ----------
        path : str or Path
            Output file.
        include_skipped : bool, default True
            Also write one row per skipped file (empty metrics, the reason in
            the ``skipped`` column), after the compared files.
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        Path
            The file written.
        """
        cols = ["name", "shape", *COUNT_NAMES, *METRIC_NAMES, "truth", "pred", "skipped"]

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
                w.writeheader()
                for r in self.rows:
                    w.writerow({**r, "shape": _fmt_shape(r["shape"])})
                if include_skipped:
                    for name, reason in self.skipped:
                        w.writerow({"name": name, "skipped": reason})
                if self.rows:
                    w.writerow({"name": TOTAL_ROW, **self.totals})
                    w.writerow({"name": MEAN_ROW, **self.macro})

        return io.atomic_write(path, write, overwrite=overwrite)

    def plot(
        self,
        path: str | Path,
        *,
        metrics: Iterable[str] = ("f1", "iou", "mcc"),
        dpi: int = 100,
        overwrite: bool = False,
    ) -> Path:
        """Save a chart of per-file scores (bars; dots for > 40 files).

        Dashed lines mark the micro-averaged dataset totals. The file is
        written atomically (see :func:`napari_maskclean.io.atomic_write`).

        Parameters
        ----------
        path : str or Path
            Output file: ``.png``, ``.pdf`` or ``.svg`` (the format follows
            the suffix).
        metrics : iterable of str, default ("f1", "iou", "mcc")
            Scores to draw (keys of a row).
        dpi : int, default 100
            Resolution.
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        Path
            The file written.
        """
        fmt = _suffix(path, PLOT_FORMATS, "plot").lstrip(".")
        from matplotlib.figure import Figure  # lazy: no pyplot, no GUI backend

        names = [str(r["name"]) for r in self.rows]
        metrics = list(metrics)
        unknown = [m for m in metrics if m not in METRIC_NAMES]
        if unknown:
            raise ValueError(f"unknown metrics {unknown}; choose from {', '.join(METRIC_NAMES)}")
        n = len(names)
        width = min(max(6.0, 0.35 * n * max(len(metrics), 1) / 2 + 2), 24.0)
        fig = Figure(figsize=(width, 4.5), dpi=dpi)
        ax = fig.add_subplot()
        colors = ["C0", "C1", "C2", "C3", "C4", "C5", "C6", "C7"]
        if n == 0:
            ax.text(0.5, 0.5, "no files compared", ha="center", va="center")
            ax.set_axis_off()
        else:
            x = np.arange(n)
            k = len(metrics)
            bw = 0.8 / max(k, 1)
            for i, m in enumerate(metrics):
                vals = [float(r[m]) for r in self.rows]
                c = colors[i % len(colors)]
                if n <= 40:
                    ax.bar(x + (i - (k - 1) / 2) * bw, vals, bw, label=m, color=c)
                else:
                    ax.plot(x, vals, "o", ms=3, label=m, color=c)
                ax.axhline(self.totals[m], color=c, ls="--", lw=1)
            if n <= 40:
                ax.set_xticks(x)
                ax.set_xticklabels(names, rotation=60, ha="right", fontsize=8)
            else:
                ax.set_xlabel("file index")
            lo = min(0.0, *(float(r[m]) for r in self.rows for m in metrics))
            ax.set_ylim(lo, 1.05)
            ax.set_ylabel("score")
            ax.set_title("per-file scores (dashed: dataset total, micro)")
            ax.legend(loc="lower right", fontsize=8)
            ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        return io.atomic_write(
            path, lambda tmp: fig.savefig(tmp, format=fmt), overwrite=overwrite
        )


def _suffix(path: str | Path, allowed: tuple[str, ...], what: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        shown = suffix or "no suffix"
        raise ValueError(
            f"cannot write a {what} to {str(path)!r}: unknown format ({shown}); "
            f"end the file name in {' or '.join(allowed)}"
        )
    return suffix


def _macro(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        m: float(math.fsum(r[m] for r in rows) / len(rows)) for m in METRIC_NAMES
    }
    out["n_files"] = len(rows)
    return out


def compare_paths(
    truth: str | Path,
    pred: str | Path,
    *,
    positive: float | None = None,
    progress: ProgressCallback | None = None,
    tile_size: int | None = None,
    size_limit: int | None = None,
) -> Report:
    """Compare predicted masks with ground-truth masks, file by file.

    Parameters
    ----------
    truth, pred : str or Path
        Folders (files matched by file name stem, e.g. ``img01.png`` with
        ``img01.tif``; sub-folders and hidden files are ignored) or single
        files (compared with each other whatever their names). A single file
        and a folder: the folder's file with the same stem is used. Readable
        types: :data:`MASK_SUFFIXES` (``.png``, ``.tif``/``.tiff``, ``.npy``,
        ``.zarr``).
    positive : int or float, optional
        Foreground definition: ``None`` (default) = any non-zero value;
        ``k`` = only label ``k`` (see
        :func:`~napari_maskclean.core.compare.binary_metrics`).
    progress : callable, optional
        Called as ``progress(done, total)`` before the first and after each
        file name.
    tile_size : int, optional
        Chunk edge (pixels per axis) for big files, which are compared tile by
        tile on dask (:func:`napari_maskclean.batch.compare.compare_tiled`,
        same results in bounded memory): zarr folders and TIFFs over
        ``size_limit``. Default: the zarr chunks, about 16 M pixels otherwise.
    size_limit : int, optional
        TIFFs over this many bytes are big (default
        :data:`napari_maskclean.batch.lazy_io.DEFAULT_SIZE_LIMIT`, 512 MiB).

    Returns
    -------
    Report
        Per-file rows, skipped files with reasons, micro totals (summed
        counts) and macro means.

    Raises
    ------
    FileNotFoundError
        If ``truth`` or ``pred`` does not exist.
    ValueError
        If ``tile_size`` is not a positive integer.

    Notes
    -----
    Masks are read with :func:`napari_maskclean.io.read_mask` (palette PNGs
    -> palette indices; grey + alpha PNGs -> the grey channel; ``.npy`` ->
    the array as saved, any number of dimensions; whole-number float images
    -> integers), except RGB(A) PNG/TIFF images
    (:func:`napari_maskclean.io.is_rgb_file`), read with
    :func:`napari_maskclean.io.read_image`: foreground = any non-black
    pixel, alpha ignored (``positive`` cannot be used with them). Singleton
    axes are dropped. Files present on one side only, unreadable files
    (empty, truncated, not an image), shape mismatches and masks with NaN or
    fractional values are recorded in :attr:`Report.skipped` with a reason.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "gt").mkdir(); (d / "pr").mkdir()
    >>> np.save(d / "gt" / "a.npy", np.array([[0, 1], [1, 1]]))
    >>> np.save(d / "pr" / "a.npy", np.array([[0, 1], [0, 1]]))
    >>> report = compare_paths(d / "gt", d / "pr")
    >>> report.totals["tp"], report.totals["fn"], report.skipped
    (2, 1, [])
    """
    tpath, ppath = Path(truth), Path(pred)
    for what, p in (("truth", tpath), ("pred", ppath)):
        if not p.exists():
            raise FileNotFoundError(
                f"{what} path {str(p)!r} does not exist; pass a folder of masks or a mask file"
            )
    if _is_single(tpath) and _is_single(ppath):
        tl, tdup = {tpath.stem: tpath}, {}
        pl, pdup = {tpath.stem: ppath}, {}
    else:
        tl, tdup = _listing(tpath)
        pl, pdup = _listing(ppath)
        if _is_single(tpath):
            pl = {k: v for k, v in pl.items() if k == tpath.stem}
            pdup = {k: v for k, v in pdup.items() if k == tpath.stem}
        if _is_single(ppath):
            tl = {k: v for k, v in tl.items() if k == ppath.stem}
            tdup = {k: v for k, v in tdup.items() if k == ppath.stem}
    names = sorted(set(tl) | set(pl) | set(tdup) | set(pdup), key=_natural_key)

    if tile_size is not None and (
        isinstance(tile_size, bool) or not isinstance(tile_size, numbers.Integral) or tile_size < 1
    ):
        raise ValueError(f"tile size must be a positive whole number of pixels, got {tile_size!r}")
    limit = _DEFAULT_SIZE_LIMIT if size_limit is None else int(size_limit)
    report = Report(positive=positive)
    total = len(names)
    if progress is not None:
        progress(0, total)
    sums = dict.fromkeys(COUNT_NAMES, 0)
    for i, name in enumerate(names):
        try:
            for side, dup in (("ground-truth", tdup), ("prediction", pdup)):
                if name in dup:
                    raise _Skip(
                        f"several {side} files with this name: "
                        + ", ".join(p.name for p in dup[name])
                    )
            if name not in pl:
                raise _Skip(f"no prediction file (only in {tpath})")
            if name not in tl:
                raise _Skip(f"no ground-truth file (only in {ppath})")
            shape, m = _pair_metrics(tl[name], pl[name], positive, tile_size, limit)
            report.rows.append(
                {
                    "name": name,
                    "truth": str(tl[name]),
                    "pred": str(pl[name]),
                    "shape": [int(s) for s in shape],
                    **m,
                }
            )
            for k in COUNT_NAMES:
                sums[k] += m[k]
        except _Skip as skip:
            report.skipped.append((name, str(skip)))
        if progress is not None:
            progress(i + 1, total)
    if report.rows:
        report.totals = {**metrics_from_counts(**sums), "n_files": len(report.rows)}
        report.macro = _macro(report.rows)
    return report
