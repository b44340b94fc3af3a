"""Label noise dock: parameter change -> preview (and its figures) updated, in the real GUI.

Run under a display: ``xvfb-run -a python benchmarks/bench_noise_dock.py [--quick]``.
Times from the alpha change (as the widget sees it, debounce included) until the
preview layer holds the new result; also the parts (deformation, status figures)
timed alone. Maps from bench_noise: a 6-class semantic map and a ragged instance mask.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common  # noqa: F401  (the working tree first on sys.path)
import numpy as np
from bench_gui import _latency
from bench_noise import instance_mask, semantic_map


def _median_ms(func, repeats=5):
    func()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def _measure(app, kind: str, labels: np.ndarray, quick: bool) -> dict:
    import napari

    from napari_maskclean._widgets.noise_widget import _figures
    from napari_maskclean.core.noise_copy import noisy_labels

    viewer = napari.Viewer(show=True)
    try:
        viewer.add_labels(labels, name="gt")
        _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Label noise")
        ms = _latency(app, w, lambda i: setattr(w.alpha, "value", 60.0 + 5 * (i % 7)),
                      5 if quick else 7)
        p = w.params()
        deform = _median_ms(lambda: noisy_labels(labels, **p), 3)
        noisy = noisy_labels(labels, **p)
        figures = _median_ms(lambda: _figures(labels, noisy, None), 3)
    finally:
        viewer.close()
    n = labels.shape[0]
    return dict(map=kind, size=f"{n}²", preview_ms=ms[0], drawn_ms=ms[1], deform_ms=deform,
                figures_ms=figures)


def run(quick: bool = False) -> list[dict]:
    """One row per map and size."""
    from qtpy.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    rows = []
    for n in (1024,) if quick else (1024, 2048):
        rows.append(_measure(app, "6-class map", semantic_map(n), quick))
        rows.append(_measure(app, "instance mask",
                             instance_mask(n, count=3000 * n * n // 2048**2), quick))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print("| map | size | change -> preview (ms) | -> drawn (ms) | deformation (ms) | "
          "status figures (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    for r in run(args.quick):
        print(f"| {r['map']} | {r['size']} | {r['preview_ms']:.0f} | {r['drawn_ms']:.0f} | "
              f"{r['deform_ms']:.0f} | {r['figures_ms']:.0f} |")


if __name__ == "__main__":
    main()
