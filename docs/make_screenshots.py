"""Render the README screenshots: `xvfb-run -a python docs/make_screenshots.py`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

HERE = Path(__file__).parent


def settle(seconds: float = 1.5) -> None:
    """Let live previews finish and the canvas draw."""
    end = time.time() + seconds
    while time.time() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def shot(viewer, name: str) -> None:
    """Save the whole window."""
    settle()
    viewer.reset_view()  # fit the data into the canvas once the docks have their size
    settle(0.5)
    viewer.screenshot(str(HERE / name), canvas_only=False)
    print("saved", HERE / name)


def region_growing() -> None:
    """Three coins clicked, one of them as a second label."""
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("napari-maskclean", "coins")
    for name in ("coins annotation", "coins truth"):
        viewer.layers[name].visible = False
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Region growing")
    w.image.value = viewer.layers["coins"]
    w.tolerance.value = 12
    w.smooth.value = 2.0
    w.clicking.value = True
    w.click((50, 155))
    w.click((51, 215))  # same label as the first click
    w.click((193, 273), modifiers=("Shift",))  # Shift+click: a new label
    w.click((124, 336), modifiers=("Shift",))
    shot(viewer, "region_growing.png")
    viewer.close()


def morphology() -> None:
    """Per-label closing of the corrupted coins annotation: the changes in magenta."""
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("napari-maskclean", "coins")
    viewer.layers["coins truth"].visible = False
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Morphology")
    w.labels.value = viewer.layers["coins annotation"]
    w.operation.value = "close"
    w.radius.value = 3
    shot(viewer, "morphology.png")
    viewer.close()


def fill_holes() -> None:
    """The noisy RGB colour mask with the fill preview."""
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.open_sample("napari-maskclean", "rgb_mask")
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Fill holes")
    w.target.value = viewer.layers["RGB mask noisy"]
    w.max_hole_size.value = 400  # black holes up to 400 px; the background is kept
    w.highlight.value = True  # every pixel that will change, in magenta
    shot(viewer, "fill_holes.png")
    viewer.close()


def compare() -> None:
    """The coins annotation scored against its ground truth."""
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1500, 1000)
    viewer.open_sample("napari-maskclean", "coins")
    viewer.window.add_plugin_dock_widget("napari-maskclean", "Compare with ground truth")
    shot(viewer, "compare.png")
    viewer.close()


if __name__ == "__main__":
    which = sys.argv[1:] or ["region_growing", "morphology", "fill_holes", "compare"]
    for name in which:
        globals()[name]()
