"""The built-in operations: one :class:`~napari_maskclean.ops.spec.OpSpec` per operation.

Each spec names its core function by import path (resolved on first call),
lists its parameters in form order (a ``when`` only names parameters listed
before it) and says how it tiles. Defaults are the defaults
of the dock widgets, so a generated form starts where the hand-written one did.

To add an operation: write the core function, add a spec here (or call
:func:`napari_maskclean.ops.register` from your module), and it can be recorded,
replayed, exported and run by ``maskclean run``.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Mapping
from typing import Any

from ..core import FOOTPRINTS, OPERATIONS, PREFILTERS, RGB_CHANNELS, THRESHOLD_METHODS
from ..core.fill import RGB_INVALID_MODES
from ..core.threshold import LOCAL_KINDS
from .spec import IS_SET, GlobalHow, Input, Locality, OpSpec, OutputKind, Param, ParamError

__all__ = [
    "REGISTRY",
    "FillMode",
    "Footprint",
    "LocalMethod",
    "MorphologyOperation",
    "Prefilter",
    "RGBChannel",
    "RGBInvalid",
    "ThresholdMethod",
    "get",
    "register",
]


def _str_enum(name: str, values: tuple[str, ...], doc: str) -> type[enum.Enum]:
    """A str-valued Enum whose values are ``values`` (the core's Literal values)."""
    members = {re.sub(r"\W+", "_", v).strip("_").upper(): v for v in values}
    cls = enum.Enum(name, members, type=str, module=__name__)
    cls.__doc__ = doc
    return cls


# The choices are the core's own tuples (built from its Literal types): one source.
ThresholdMethod = _str_enum("ThresholdMethod", THRESHOLD_METHODS,
                            "How the threshold is chosen (core.threshold.ThresholdMethod).")
Prefilter = _str_enum("Prefilter", PREFILTERS, "Denoising/equalisation before thresholding.")
LocalMethod = _str_enum("LocalMethod", LOCAL_KINDS, "Window weighting of the 'local' threshold.")
MorphologyOperation = _str_enum("MorphologyOperation", OPERATIONS,
                                "Morphological clean-up operations (core.morphology.Operation).")
Footprint = _str_enum("Footprint", FOOTPRINTS,
                      "Footprint shapes (2D names map to 3D ones on volumes).")
RGBChannel = _str_enum("RGBChannel", RGB_CHANNELS,
                       "What an RGB image is reduced to (core.convert.to_grey).")
RGBInvalid = _str_enum("RGBInvalid", RGB_INVALID_MODES,
                       "Which pixels of a colour mask are invalid (core.fill.RGBInvalidMode).")
# Not a core choice: how the fill widget describes max_hole_size None vs a number.
FillMode = _str_enum("FillMode", ("holes up to max size", "all invalid pixels"),
                     "Fill only small invalid regions, or every invalid pixel.")

REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec, *, replace: bool = False) -> OpSpec:
    """Add ``spec`` to :data:`REGISTRY` (refusing a second op of the same name)."""
    if not isinstance(spec, OpSpec):
        raise TypeError(f"register() takes an OpSpec, got {type(spec).__name__}")
    if spec.name in REGISTRY and not replace and REGISTRY[spec.name] is not spec:
        raise ValueError(f"an op called {spec.name!r} is already registered; choose another "
                         "name or pass replace=True")
    REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> OpSpec:
    """The spec called ``name``, with a helpful error."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown op {name!r}; known ops: {sorted(REGISTRY)}") from None


def _all_but(enum_cls: type[enum.Enum], *excluded: str) -> tuple[str, ...]:
    return tuple(m.value for m in enum_cls if m.value not in excluded)


# ------------------------------------------------------------------------ shared params
def _connectivity(tooltip: str = "1 = face neighbours (4 in 2D, 6 in 3D), up to the "
                                 "number of axes = all neighbours (8 / 26).") -> Param:
    return Param("connectivity", int, 1, min=1, max=3, label="neighbours", tooltip=tooltip)


_SPACING = Param("spacing", list, None, min=1e-12, optional=True, label="pixel size",
                 tooltip="Pixel size along each spatial axis (the layer's scale); "
                         "None = 1 on every axis.")
_PER_SLICE = Param("per_slice", bool, False, label="each slice",
                   tooltip="Process every 2D slice of a stack on its own.")

# ----------------------------------------------------------------------------- threshold
_LOCALS = ("local", "sauvola", "niblack")
_PREFILTER_HALO = {"median": lambda p: p["prefilter_size"] // 2,
                   "gaussian": lambda p: math.ceil(4.0 * p["sigma"])}  # scipy truncate=4


def _local_reach(p: Mapping[str, Any]) -> int:
    """How far a local threshold reads around a pixel."""
    size = p["block_size"]
    if p["method"] == "local" and p.get("local_method", "gaussian") == "gaussian":
        # skimage: sigma = (block_size - 1) / 6, and SciPy's kernel radius is
        # int(truncate * sigma + 0.5) with truncate 4: wider than block_size // 2.
        return max(size // 2, int(4.0 * (size - 1) / 6 + 0.5))
    return size // 2


def _threshold_locality(p: Mapping[str, Any]) -> Locality:
    pre = p["prefilter"]
    halo = _PREFILTER_HALO[pre](p) if pre in _PREFILTER_HALO else 0
    if pre == "clahe":
        return Locality.global_(GlobalHow.UNTILEABLE,
                                "CLAHE's tiles depend on the image size; prefilter with "
                                "'median' or 'gaussian' to run this in blocks")
    if pre == "equalize":
        return Locality.global_(GlobalHow.HISTOGRAM, "equalisation uses the global "
                                "histogram", halo=halo)
    method = p["method"]
    if method == "manual":
        return Locality.bounded(halo)
    if method in _LOCALS:
        return Locality.bounded(halo + _local_reach(p))
    return Locality.global_(GlobalHow.HISTOGRAM, f"{method!r} picks one level from the "
                            "histogram of the whole image (per slice with per_slice)", halo=halo)


def _threshold_check(p: dict[str, Any], where: str) -> None:
    if p["method"] == "multiotsu" and p["class_index"] > p["classes"] - 2:
        raise ParamError(f"{where}: multi-Otsu with {p['classes']} classes has boundaries "
                         f"0..{p['classes'] - 2}; lower 'class_index' or raise 'classes'")


THRESHOLD = register(OpSpec(
    name="threshold",
    func="napari_maskclean.core.threshold:threshold_mask",
    inputs=(Input("image", doc="grey image (RGB: see the step's 'channel')"),),
    output=OutputKind.MASK,
    doc="Threshold an image into a mask (global, multi-Otsu or local methods).",
    params=(
        Param("method", ThresholdMethod, "otsu", label="method",
              tooltip="How the threshold is chosen (scikit-image's methods)."),
        Param("level", float, 128.0, label="level", when={"method": ("manual",)},
              tooltip="Manual threshold; click or drag in the histogram."),
        Param("classes", int, 3, min=2, max=5, label="classes",
              when={"method": ("multiotsu",)}, tooltip="Multi-Otsu: number of classes."),
        Param("class_index", int, 0, min=0, max=3, label="boundary",
              when={"method": ("multiotsu",)},
              tooltip="Multi-Otsu: which class boundary separates the mask."),
        Param("block_size", int, 35, min=3, max=1001, odd=True, label="block size",
              when={"method": _LOCALS}, tooltip="Local methods: odd window size in pixels."),
        Param("local_method", LocalMethod, "gaussian", label="local",
              when={"method": ("local",)}, tooltip="Local method: window weighting."),
        Param("offset", float, 0.0, label="offset", when={"method": ("local",)},
              tooltip="Local method: subtracted from the local threshold."),
        Param("k", float, 0.2, min=-5, max=5, label="k", when={"method": ("sauvola", "niblack")},
              tooltip="Sauvola/Niblack: the k parameter."),
        Param("prefilter", Prefilter, "none", label="prefilter",
              tooltip="Denoise or equalise before thresholding."),
        Param("prefilter_size", int, 3, min=3, max=51, odd=True, label="median size",
              when={"prefilter": ("median",)}, tooltip="Median filter size (odd)."),
        Param("sigma", float, 1.0, min=1e-3, max=50, label="sigma",
              when={"prefilter": ("gaussian",)}, tooltip="Gaussian prefilter sigma (pixels)."),
        Param("clip_limit", float, 0.01, min=1e-3, max=1.0, label="clip limit",
              when={"prefilter": ("clahe",)}, tooltip="CLAHE clip limit."),
        Param("invert", bool, False, label="invert (mask dark objects)",
              tooltip="Mask pixels at or below the threshold instead of above."),
        _PER_SLICE,
    ),
    locality=_threshold_locality,
    check=_threshold_check,
))

# ---------------------------------------------------------------------------- morphology
_FOOTPRINT_OPS = ("erode", "dilate", "open", "close", "smooth")


def _morphology_locality(p: Mapping[str, Any]) -> Locality:
    op = p["operation"]
    if op not in _FOOTPRINT_OPS:
        return Locality.global_(GlobalHow.COMPONENTS, f"{op!r} measures connected components "
                                "(objects or holes) of any size")
    reach = 2 * p["radius"] if op in ("open", "close") else p["radius"]
    if not p["per_label"]:
        # new pixels take the nearest original label: up to sqrt(ndim) * r away (square)
        reach = math.ceil(reach * math.sqrt(3))
    return Locality.bounded(reach)


MORPHOLOGY = register(OpSpec(
    name="morphology",
    func="napari_maskclean.core.morphology:morphology",
    inputs=(Input("labels", doc="boolean mask or label image"),),
    output=OutputKind.LABELS,
    doc="Erode, dilate, open, close, fill holes, remove specks or smooth labels.",
    params=(
        Param("operation", MorphologyOperation, "close", label="operation",
              tooltip="The morphological operation."),
        Param("radius", int, 1, min=1, max=200, label="radius",
              when={"operation": _FOOTPRINT_OPS}, tooltip="Footprint radius in pixels."),
        Param("footprint", Footprint, "disk", label="footprint",
              when={"operation": _FOOTPRINT_OPS},
              tooltip="Footprint shape (ball/cube/octahedron in 3D)."),
        Param("min_size", int, 64, min=0, label="min size",
              when={"operation": ("remove_small_objects",)},
              tooltip="Objects smaller than this many pixels are removed."),
        Param("max_size", int, 64, min=0, label="max hole",
              when={"operation": ("remove_small_holes",)},
              tooltip="Enclosed holes smaller than this many pixels are filled."),
        Param("per_label", bool, True, label="each label on its own",
              tooltip="Process every label separately: labels never grow into each other "
                      "or merge."),
        Param("label", int, None, min=0, optional=True, label="only label",
              tooltip="Process only this label (the layer's selected label); None = all."),
        _PER_SLICE,
    ),
    locality=_morphology_locality,
))

# ------------------------------------------------------------------------ region growing
REGION_GROW = register(OpSpec(
    name="region_grow",
    func="napari_maskclean.core.region:region_grow",
    inputs=(Input("image", doc="image the regions grow in"),
            Input("seeds", doc="(N, ndim) seed positions in data coordinates"),
            Input("seed_labels", arg="seed_labels", optional=True,
                  doc="label of each seed; default 1, 2, ..."),
            Input("barrier", arg="labels", optional=True,
                  doc="existing labels: a barrier unless overwrite")),
    output=OutputKind.LABELS,
    doc="Grow one region per seed within an intensity tolerance.",
    params=(
        Param("tolerance", float, 0.1, min=0.0, label="tolerance",
              tooltip="Grow into pixels within this difference of the seed's value "
                      "(a fraction of the value range when 'relative')."),
        Param("relative", bool, True, label="relative",
              tooltip="Tolerance as a fraction of the image's value range."),
        _connectivity(),
        Param("overwrite", bool, False, label="grow over existing labels",
              tooltip="Off: the existing labels are a barrier and are never overwritten."),
        Param("smooth_sigma", float, 0.0, min=0.0, max=20.0, label="smoothing",
              tooltip="Gaussian sigma (pixels) of a smoothed copy the regions grow on; "
                      "0 = raw image."),
        Param("channel_axis", int, None, optional=True, label="channel axis",
              tooltip="The channel axis of a colour image (-1 for RGB), or None."),
    ),
    locality=Locality.global_(GlobalHow.COMPONENTS, "a region is the connected set of "
                              "pixels within tolerance of its seed, of any extent"),
))

# -------------------------------------------------------------------------------- fill
def _fill_locality(p: Mapping[str, Any]) -> Locality:
    if p.get("max_hole_size") is not None or p.get("min_island_size"):
        return Locality.global_(GlobalHow.COMPONENTS, "hole and island sizes are sizes of "
                                "connected components; then a nearest-label fill")
    if p.get("max_distance") is None:
        return Locality.global_(GlobalHow.NEAREST, "the nearest valid pixel may be anywhere; "
                                "set max_distance to bound it")
    step = min(p["spacing"]) if p.get("spacing") else 1.0
    reach = (p["max_distance"] + p.get("dilate_invalid", 0.0)) / step
    return Locality.bounded(math.ceil(reach) + 1)


_FILL_PARAMS = (
    Param("max_hole_size", int, 64, min=1, optional=True, label="max hole size",
          tooltip="Connected invalid regions of at most this many pixels are filled; "
                  "larger ones are kept. None = fill every invalid pixel."),
    Param("max_distance", float, None, min=0.0, optional=True, label="max distance",
          tooltip="Leave invalid pixels farther than this from any valid pixel, in "
                  "spacing units; None = unlimited."),
    Param("dilate_invalid", float, 0.0, min=0.0, max=100.0, label="redraw edges",
          tooltip="First grow the pixels to fill by this distance (spacing units); 0 = off."),
    Param("min_island_size", int, 0, min=0, label="remove islands <",
          tooltip="Then remove connected regions smaller than this many pixels; 0 = off."),
    _connectivity(),
    _SPACING,
    _PER_SLICE,
)

FILL_LABELS = register(OpSpec(
    name="fill_labels",
    func="napari_maskclean.core.fill:fill_labels",
    inputs=(Input("labels"),),
    output=OutputKind.LABELS,
    doc="Fill invalid pixels from the nearest valid label, then remove small islands.",
    params=(Param("invalid", int, 0, label="invalid label",
                  tooltip="Pixels with this label are invalid and get the nearest valid "
                          "label."), *_FILL_PARAMS),
    locality=_fill_locality,
))

_OFF_PALETTE = ("auto", "colour + off-palette", "off-palette")
FILL_RGB_MASK = register(OpSpec(
    name="fill_rgb_mask",
    func="napari_maskclean.core.fill:fill_rgb_mask",
    inputs=(Input("rgb", doc="channel-last 8-bit colour mask"),),
    output=OutputKind.LABELS,
    doc="Clean a colour-coded mask: labels from colours, fill invalid pixels, remove islands.",
    params=(
        Param("invalid", RGBInvalid, "auto", label="invalid",
              tooltip="Invalid pixels: those of the invalid colour, those whose colour is "
                      "not in the palette, or both; 'auto': both, unless the invalid colour "
                      "is the largest class and every hole is filled (then off-palette)."),
        Param("invalid_color", list, [0, 0, 0], min=0, max=255, length=(3, 4),
              label="invalid colour",
              when={"invalid": ("auto", "colour + off-palette", "colour")},
              tooltip="The invalid colour (default black)."),
        Param("snap", float, None, min=0.0, max=442.0, optional=True, label="snap tolerance",
              when={"invalid": _OFF_PALETTE},
              tooltip="Colours within this distance of a palette colour count as that "
                      "colour; estimated palettes also merge colours this close. None: "
                      "chosen from the palette (JPEG and anti-aliased masks); 0 = exact."),
        Param("palette", list, None, min=0, max=255, ndim=2, length=(3, 4), optional=True,
              label="palette", when={"invalid": _OFF_PALETTE},
              tooltip="Row k = [r, g, b] of label k; None = estimate it from the mask."),
        Param("palette_min_count", int, None, min=1, optional=True, label="min pixels",
              when={"invalid": _OFF_PALETTE, "palette": (None,)},
              tooltip="Estimated palette: ignore colours covering fewer pixels; None = "
                      "automatic (0.01 % of the pixels)."),
        Param("palette_max_colors", int, 256, min=1, max=256, label="colours",
              when={"invalid": _OFF_PALETTE, "palette": (None,)},
              tooltip="Estimated palette: keep at most this many colours."),
        *_FILL_PARAMS,
    ),
    locality=lambda p: _fill_locality(p) if p.get("palette") is not None else
    Locality.global_(GlobalHow.HISTOGRAM, "the palette is estimated from the colours of "
                     "the whole mask (a first pass), then filled"),
    result_fields=("labels", "palette", "changed"),
))

FILL_NEAREST = register(OpSpec(
    name="fill_nearest",
    func="napari_maskclean.core.holes:fill_nearest",
    inputs=(Input("labels", doc="labels or any image (channels: channel_axis)"),),
    output=OutputKind.LABELS,
    doc="Give invalid pixels the value of the nearest valid pixel.",
    params=(
        Param("invalid", float, 0, label="invalid value",
              tooltip="Pixels with this value are invalid."),
        Param("channel_axis", int, None, optional=True, label="channel axis",
              tooltip="The channel axis of a colour image, or None."),
        *[p for p in _FILL_PARAMS if p.name not in ("min_island_size", "per_slice")],
    ),
    locality=_fill_locality,
))

REMOVE_ISLANDS = register(OpSpec(
    name="remove_islands",
    func="napari_maskclean.core.islands:remove_islands",
    inputs=(Input("labels"),),
    output=OutputKind.LABELS,
    doc="Remove connected regions smaller than min_size and refill them from the nearest.",
    params=(
        Param("min_size", int, 16, min=1, label="min size",
              tooltip="Regions (background included) smaller than this many pixels go."),
        _connectivity(), _SPACING,
        Param("channel_axis", int, None, optional=True, label="channel axis",
              tooltip="The channel axis of a colour image, or None."),
    ),
    locality=Locality.global_(GlobalHow.COMPONENTS, "region sizes are sizes of connected "
                              "components"),
))

# ------------------------------------------------------------------------------ colours
RGB_TO_LABELS = register(OpSpec(
    name="rgb_to_labels",
    func="napari_maskclean.core.colors:rgb_to_labels",
    inputs=(Input("rgb", doc="channel-last 8-bit colour mask"),),
    output=OutputKind.LABELS,
    doc="Convert a colour-coded mask to labels (label k = palette row k).",
    params=(
        Param("palette", list, None, min=0, max=255, ndim=2, length=(3, 4), optional=True,
              label="palette", tooltip="Row k = colour of label k; None = the colours found, "
                                       "sorted (black first)."),
        Param("snap", float, None, min=0.0, max=442.0, optional=True, label="snap",
              when={"palette": IS_SET}, tooltip="Off-palette colours within this distance "
                                             "take the nearest palette label; None: -1."),
        Param("max_colors", int, 256, min=1, max=256, label="colours",
              tooltip="Refuse masks with more colours than this."),
    ),
    locality=lambda p: Locality.pointwise() if p.get("palette") is not None else
    Locality.global_(GlobalHow.HISTOGRAM, "the palette is the set of colours of the whole "
                     "mask (a first pass)"),
    result_fields=("labels", "palette"),
))

TO_GREY = register(OpSpec(
    name="to_grey",
    func="napari_maskclean.core.convert:to_grey",
    inputs=(Input("image", doc="channel-last RGB(A) image", rgb=True),),
    output=OutputKind.IMAGE,
    doc="Reduce an RGB image to its luminance or one channel.",
    params=(Param("channel", RGBChannel, "luminance", label="RGB as",
                  tooltip="RGB images are used through one channel or their luminance."),),
    locality=Locality.pointwise(),
))

# ------------------------------------------------------------------------------ metrics
BINARY_METRICS = register(OpSpec(
    name="binary_metrics",
    func="napari_maskclean.core.compare:binary_metrics",
    inputs=(Input("truth"), Input("pred")),
    output=OutputKind.METRICS,
    doc="Pixel-wise scores of a predicted mask against the ground truth.",
    params=(Param("positive", int, None, optional=True, label="class",
                  tooltip="Only this label is foreground; None = any non-zero value."),),
    locality=Locality.global_(GlobalHow.REDUCTION, "confusion counts are sums over blocks"),
))
