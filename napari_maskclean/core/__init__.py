"""Napari-free core operations: arrays in, new arrays out.

Every function here is pure NumPy/SciPy/scikit-image/OpenCV (numba compiles the
exact distance transform, the nD flood and colour packing) and never imports
napari, Qt, magicgui or dask.
"""

from .colors import INVALID_LABEL, labels_to_rgb, palette_from_rgb, rgb_to_labels
from .compare import (
    FN,
    FP,
    TN,
    TP,
    ConfusionCounter,
    ObjectMatch,
    binary_metrics,
    confusion_map,
    confusion_matrix,
    error_components,
    match_objects,
    metrics_from_counts,
    per_class_metrics,
)
from .convert import RGB_CHANNELS, to_grey
from .fill import estimate_palette, fill_labels, fill_rgb_mask
from .holes import (
    fill_nearest,
    fill_nearest_from,
    invalid_mask,
    nearest_valid_indices,
    remove_islands,
)
from .morphology import FOOTPRINTS, OPERATIONS, make_footprint, morphology
from .region import flood_mask, region_grow
from .threshold import (
    PREFILTERS,
    THRESHOLD_METHODS,
    image_histogram,
    prefilter_image,
    threshold_mask,
    threshold_value,
)

__all__ = [
    "FN",
    "FOOTPRINTS",
    "FP",
    "INVALID_LABEL",
    "OPERATIONS",
    "PREFILTERS",
    "RGB_CHANNELS",
    "THRESHOLD_METHODS",
    "TN",
    "TP",
    "ConfusionCounter",
    "ObjectMatch",
    "binary_metrics",
    "confusion_map",
    "confusion_matrix",
    "error_components",
    "estimate_palette",
    "fill_labels",
    "fill_nearest",
    "fill_nearest_from",
    "fill_rgb_mask",
    "flood_mask",
    "image_histogram",
    "invalid_mask",
    "labels_to_rgb",
    "make_footprint",
    "match_objects",
    "metrics_from_counts",
    "morphology",
    "nearest_valid_indices",
    "palette_from_rgb",
    "per_class_metrics",
    "prefilter_image",
    "region_grow",
    "remove_islands",
    "rgb_to_labels",
    "threshold_mask",
    "threshold_value",
    "to_grey",
]
