"""Real images with expert ground truth for the click benchmarks, from installed packages.

Nothing is downloaded: each loader reads files that a PyPI package ships and
returns ``None`` (with the reason) when the package is not installed.

* ``stardist`` (BSD-3-Clause) ships ``stardist/data/images``:
  - ``img2d.tif``/``mask2d.tif``: a fluorescence nuclei image (512 x 512, 125
    nuclei) with its expert instance annotation, from the 2018 Kaggle Data
    Science Bowl (Caicedo et al., Nature Methods 16, 2019; the DSB data is CC0);
  - ``img3d.tif``/``mask3d.tif``: a 3D nuclei volume (31 x 61 x 57, 51 nuclei)
    with its instance labels (synthetic nuclei, as stardist documents it);
  - ``histo.jpg``: an H&E image without annotation (not used: no ground truth).

The package is found without importing it (``importlib.util.find_spec``), so
its own dependencies (csbdeep) are not needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np


def _stardist_images() -> Path | None:
    spec = importlib.util.find_spec("stardist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return path if path.is_dir() else None


def load(name: str) -> tuple[np.ndarray, np.ndarray] | str:
    """Return ``(image, ground_truth_labels)`` or a string saying why it is missing."""
    import tifffile

    root = _stardist_images()
    if root is None:
        return "the 'stardist' package is not installed (pip install stardist --no-deps)"
    files = {"nuclei2d": ("img2d.tif", "mask2d.tif"), "nuclei3d": ("img3d.tif", "mask3d.tif")}
    img, gt = files[name]
    return tifffile.imread(root / img), tifffile.imread(root / gt).astype(np.int32)


DATASETS = ("nuclei2d", "nuclei3d")
