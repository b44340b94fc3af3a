"""Napari-free core operations: arrays in, new arrays out.

Every function here is pure NumPy/SciPy/scikit-image/OpenCV (numba for the exact
distance transform and the nD flood) and never imports napari, Qt, magicgui or dask.
"""

from .convert import RGB_CHANNELS, to_grey
from .morphology import FOOTPRINTS, OPERATIONS, make_footprint, morphology
from .threshold import (
    PREFILTERS,
    THRESHOLD_METHODS,
    image_histogram,
    prefilter_image,
    threshold_mask,
    threshold_value,
)

__all__ = [
    "FOOTPRINTS",
    "OPERATIONS",
    "PREFILTERS",
    "RGB_CHANNELS",
    "THRESHOLD_METHODS",
    "image_histogram",
    "make_footprint",
    "morphology",
    "prefilter_image",
    "threshold_mask",
    "threshold_value",
    "to_grey",
]
