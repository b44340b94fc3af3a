"""Run every core benchmark and print one markdown table.

``python benchmarks/run_all.py [--quick]``. The GUI latency benchmark needs a
display and runs separately: ``xvfb-run -a python benchmarks/bench_gui.py``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import HEADER, format_row, quick_flag  # noqa: E402

MODULES = ("bench_threshold", "bench_morphology", "bench_region", "bench_holes", "bench_compare")


def main() -> None:
    """Print the combined table, one row as soon as it is measured."""
    quick = quick_flag(__doc__)
    print(HEADER, flush=True)
    for name in MODULES:
        for r in importlib.import_module(name).run(quick):
            print(format_row(r), flush=True)


if __name__ == "__main__":
    main()
