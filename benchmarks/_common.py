"""Helpers shared by the core benchmark scripts (``bench_*.py`` and ``run_all.py``).

Importing this module puts the repository root first on ``sys.path``, so the
benchmarks time the working-tree copy of ``napari_maskclean`` whether they run
standalone (``python benchmarks/bench_x.py``) or through ``run_all.py``.
Import it before ``napari_maskclean``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parents[1])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

HEADER = (
    "| operation | size | ours (ms) | baseline | baseline (ms) | ratio | target | met |\n"
    "|---|---|---:|---|---:|---:|---|---|"
)
"""The two header lines of the markdown table (column titles and alignment)."""


def interleaved(
    ours: Callable[[], Any], base: Callable[[], Any], repeats: int
) -> tuple[float, float]:
    """Time two callables in alternation and return their median times.

    Each callable is called once first as a warm-up (caches, page faults, lazy
    imports, numba compilation or cache load); then ``ours`` and ``base`` are
    timed alternately, ``repeats`` times each, so that drifts in machine load
    affect both alike.

    Parameters
    ----------
    ours : callable
        The operation under test, called without arguments.
    base : callable
        The baseline, called without arguments.
    repeats : int
        Number of timed calls of each.

    Returns
    -------
    ours_ms : float
        Median time of ``ours`` in milliseconds.
    base_ms : float
        Median time of ``base`` in milliseconds.
    """
    ours()
    base()
    t_ours, t_base = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        base()
        t_base.append(time.perf_counter() - t0)
    return statistics.median(t_ours) * 1e3, statistics.median(t_base) * 1e3


def row(
    operation: str,
    size: str,
    ours_ms: float,
    baseline: str,
    baseline_ms: float,
    target: str,
    met: bool | None,
) -> dict[str, Any]:
    """Build one table row.

    Parameters
    ----------
    operation : str
        What was timed.
    size : str
        The problem size, e.g. ``"2048x2048 uint8"``.
    ours_ms : float
        Our time in milliseconds.
    baseline : str
        What it was compared with.
    baseline_ms : float
        The baseline's time in milliseconds (possibly extrapolated).
    target : str
        The target, as text.
    met : bool or None
        Whether the target is met; None when the row is informational.

    Returns
    -------
    dict
        Keys ``operation, size, ours_ms, baseline, baseline_ms, ratio, target,
        met``; ``ratio`` is ``ours_ms / baseline_ms`` (NaN if the baseline took
        no time) and ``met`` is a bool or None.
    """
    return {
        "operation": operation,
        "size": size,
        "ours_ms": float(ours_ms),
        "baseline": baseline,
        "baseline_ms": float(baseline_ms),
        "ratio": ours_ms / baseline_ms if baseline_ms else float("nan"),
        "target": target,
        "met": None if met is None else bool(met),
    }


def met_text(met: Any) -> str:
    """Show a row's ``met`` value as ``yes``, ``NO`` or ``-``.

    Parameters
    ----------
    met : bool, None or str
        A bool (target met or not), None or ``"-"`` (informational), or text
        shown as it is.

    Returns
    -------
    str
        The table cell.
    """
    if met is None or met == "-":
        return "-"
    if isinstance(met, str):
        return met
    return "yes" if met else "NO"


def format_row(r: dict[str, Any]) -> str:
    """Format one row as a line of the markdown table.

    Parameters
    ----------
    r : dict
        A row as built by :func:`row`.

    Returns
    -------
    str
        The table line, without a newline.
    """
    return (
        f"| {r['operation']} | {r['size']} | {float(r['ours_ms']):.2f} | {r['baseline']} "
        f"| {float(r['baseline_ms']):.2f} | {float(r['ratio']):.3g} | {r['target']} "
        f"| {met_text(r['met'])} |"
    )


def format_table(rows: Sequence[dict[str, Any]]) -> str:
    """Format rows as a markdown table.

    Parameters
    ----------
    rows : sequence of dict
        Rows as built by :func:`row`.

    Returns
    -------
    str
        The header and one line per row, without a final newline.
    """
    return "\n".join([HEADER, *(format_row(r) for r in rows)])


def quick_flag(description: str | None) -> bool:
    """Parse the command line of a benchmark script.

    Parameters
    ----------
    description : str or None
        The ``--help`` text, usually the script's docstring.

    Returns
    -------
    bool
        Whether ``--quick`` was given.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    return parser.parse_args().quick


def main_for(run: Callable[[bool], Sequence[dict[str, Any]]], description: str | None) -> None:
    """Command-line entry point of a benchmark script: run it and print its table.

    Parameters
    ----------
    run : callable
        The script's ``run(quick)``, returning rows as built by :func:`row`.
    description : str or None
        The ``--help`` text, usually the script's docstring.
    """
    print(format_table(run(quick_flag(description))), flush=True)
