"""Run every core benchmark and print one markdown table.

``python benchmarks/run_all.py [--quick]``. The GUI latency benchmark needs a
display and runs separately: ``xvfb-run -a python benchmarks/bench_gui.py``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

MODULES = ("bench_threshold", "bench_morphology", "bench_region", "bench_holes", "bench_compare")


def _met(value) -> str:
    if value is None or value == "-":
        return "-"
    if isinstance(value, str):
        return value
    return "yes" if value else "NO"


def main() -> None:
    """Print the combined table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    print("| operation | size | ours (ms) | baseline | baseline (ms) | ratio | target | met |")
    print("|---|---|---:|---|---:|---:|---|---|")
    for name in MODULES:
        for r in importlib.import_module(name).run(args.quick):
            print(f"| {r['operation']} | {r['size']} | {float(r['ours_ms']):.2f} | "
                  f"{r['baseline']} | {float(r['baseline_ms']):.2f} | {float(r['ratio']):.3g} | "
                  f"{r['target']} | {_met(r['met'])} |", flush=True)


if __name__ == "__main__":
    main()
