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


def click_nuclei() -> None:
    """Stardist's DSB nuclei clicked once each (edge rule, defaults), committed as outlines.

    Needs the ``stardist`` package for its bundled image (pip install stardist).
    """
    import importlib.util

    import numpy as np
    import tifffile
    from scipy import ndimage as ndi

    spec = importlib.util.find_spec("stardist")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    image = tifffile.imread(root / "img2d.tif")
    truth = tifffile.imread(root / "mask2d.tif")
    viewer = napari.Viewer(show=True)
    viewer.window._qt_window.resize(1400, 900)
    viewer.add_image(image, name="DSB nuclei", colormap="gray")
    _, w = viewer.window.add_plugin_dock_widget("napari-maskclean", "Region growing")
    w.clicking.value = True
    centres = []
    for i, box in enumerate(ndi.find_objects(truth), start=1):
        if box is not None:  # one click per nucleus, at its innermost pixel
            d = ndi.distance_transform_edt(np.pad(truth[box] == i, 1))[1:-1, 1:-1]
            p = np.unravel_index(int(np.argmax(d)), d.shape)
            centres.append(tuple(int(c + b.start) for c, b in zip(p, box)))
    for c in centres[:-12]:
        w.click(c)
    settle(3)
    w.run_commit()  # committed: drawn as outlines
    target = viewer.layers["DSB nuclei regions"]
    target.contour = 2
    for c in centres[-12:]:  # the last ones still in the preview, with their seeds
        w.click(c)
    settle(3)
    shot(viewer, "click_nuclei.png")
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
    which = sys.argv[1:] or ["click_nuclei", "morphology", "fill_holes", "compare"]
    for name in which:
        globals()[name]()
