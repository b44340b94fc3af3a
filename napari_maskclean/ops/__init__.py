"""The operation registry: every operation described once, as data.

``REGISTRY`` maps an op name to its :class:`OpSpec` (core function, input roles,
output kind, parameters with defaults/bounds/``when`` rules, locality).
Widgets build their forms from it, recipes validate and replay steps with it,
``maskclean run`` and the dask engine read it. napari-free, like ``core/``;
importing it does not import the core modules (they are resolved on first call).

Examples
--------
>>> from napari_maskclean.ops import REGISTRY
>>> spec = REGISTRY["threshold"]
>>> spec.validate({"method": "manual", "level": 10})["level"]
10.0
"""

from . import (
    click,  # noqa: F401  (registers click_segment)
    noise,  # noqa: F401  (registers the label-noise op elastic_deform_labels)
)
from . import instances as _instances  # noqa: F401  (registers merge_redundant, mask_nms)
from .builtin import (
    REGISTRY,
    FillMode,
    Footprint,
    LocalMethod,
    MorphologyOperation,
    Prefilter,
    RGBChannel,
    RGBInvalid,
    ThresholdMethod,
    get,
    register,
)
from .spec import (
    IS_SET,
    GlobalHow,
    Input,
    Locality,
    LocalityKind,
    OpSpec,
    OutputKind,
    Param,
    ParamError,
)

__all__ = [
    "IS_SET",
    "REGISTRY",
    "FillMode",
    "Footprint",
    "GlobalHow",
    "Input",
    "LocalMethod",
    "Locality",
    "LocalityKind",
    "MorphologyOperation",
    "OpSpec",
    "OutputKind",
    "Param",
    "ParamError",
    "Prefilter",
    "RGBChannel",
    "RGBInvalid",
    "ThresholdMethod",
    "get",
    "register",
]
