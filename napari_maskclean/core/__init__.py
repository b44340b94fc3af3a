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
from .instances import (
    instances_to_labels,
    labels_to_instances,
    mask_iou,
    mask_nms,
    merge_redundant,
)
from .morphology import FOOTPRINTS, OPERATIONS, make_footprint, morphology
from .noise import SUPPRESSIONS, LabelNoise, elastic_deform_labels
from .noise_metrics import calibrate_noise, measure_noise, noise_sweep
from .polygons import mask_to_polygons, polygons_to_mask, simplification_loss
from .region import flood_mask, region_grow
from .rle import rle_area, rle_decode, rle_encode, rle_to_bbox
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
    "SUPPRESSIONS",
    "THRESHOLD_METHODS",
    "TN",
    "TP",
    "ConfusionCounter",
    "LabelNoise",
    "ObjectMatch",
    "binary_metrics",
    "calibrate_noise",
    "confusion_map",
    "confusion_matrix",
    "elastic_deform_labels",
    "error_components",
    "estimate_palette",
    "fill_labels",
    "fill_nearest",
    "fill_nearest_from",
    "fill_rgb_mask",
    "flood_mask",
    "image_histogram",
    "instances_to_labels",
    "invalid_mask",
    "labels_to_instances",
    "labels_to_rgb",
    "make_footprint",
    "mask_iou",
    "mask_nms",
    "mask_to_polygons",
    "match_objects",
    "measure_noise",
    "merge_redundant",
    "metrics_from_counts",
    "morphology",
    "nearest_valid_indices",
    "noise_sweep",
    "palette_from_rgb",
    "per_class_metrics",
    "polygons_to_mask",
    "prefilter_image",
    "region_grow",
    "remove_islands",
    "rgb_to_labels",
    "rle_area",
    "rle_decode",
    "rle_encode",
    "rle_to_bbox",
    "simplification_loss",
    "threshold_mask",
    "threshold_value",
    "to_grey",
]
