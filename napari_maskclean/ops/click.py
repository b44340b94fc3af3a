"""The click-to-segment op: the Region growing dock's clicks, recorded and replayed.

One op, ``click_segment``, runs :func:`napari_maskclean.core.grow_clicks.segment_clicks`:
the clicks in order (seeds and their labels are the step's ``seeds_world`` and
``seed_labels``), the target's labels as the barrier, and the result is the
target's whole labels afterwards, so a replay writes exactly the pixels the
GUI's commit changed (new objects, a refined object, an erased one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .builtin import _SPACING, _str_enum, register
from .spec import GlobalHow, Input, Locality, OpSpec, OutputKind, Param

__all__ = ["CLICK_SEGMENT", "ClickAction", "GrowRule", "Polarity"]

# The core's choices (core.grow_rules.RULES, core.grow_clicks.ACTIONS; a test checks
# they match), spelled out so that importing the registry does not import scikit-image.
RULES = ("contrast", "adaptive", "edge")
ACTIONS = ("grow", "refine", "erase")

GrowRule = _str_enum("GrowRule", RULES, "How a clicked object grows (core.grow_rules).")
ClickAction = _str_enum("ClickAction", ACTIONS,
                        "What the clicks do: grow new objects, refine or erase labels.")
Polarity = _str_enum("Polarity", ("auto", "bright", "dark"),
                     "Objects brighter or darker than their background.")

_GROWS = {"action": ("grow", "refine")}


def _locality(_params: Mapping[str, Any]) -> Locality:
    return Locality.global_(
        GlobalHow.UNTILEABLE,
        "a clicked object grows as far as the rule says (its window grows with it) and "
        "objects compete in click order; replay it in memory (Recipe.apply), not in tiles")


CLICK_SEGMENT = register(OpSpec(
    name="click_segment",
    func="napari_maskclean.core.grow_clicks:segment_clicks",
    inputs=(Input("image", doc="grey image the objects grow in"),
            Input("seeds", doc="(N, ndim) clicks in data coordinates, in click order"),
            Input("seed_labels", arg="seed_labels", optional=True,
                  doc="the object label of each click"),
            Input("barrier", arg="labels", optional=True,
                  doc="the target's labels: never overwritten by new objects")),
    output=OutputKind.LABELS,
    doc="Click-to-segment: one object per click (edge, contrast or adaptive rule).",
    params=(
        Param("action", ClickAction, "grow", label="clicks",
              tooltip="grow: new objects; refine: re-grow the labels under the clicks "
                      "from their extent; erase: remove them."),
        Param("rule", GrowRule, "edge", label="rule", when=_GROWS,
              tooltip="edge: a seeded watershed on the gradient (best measured); "
                      "contrast: brighter than a level between background and object; "
                      "adaptive: within k spreads of the region's mean."),
        Param("level", float, 0.45, min=0.01, max=0.99, label="level", when={"rule": (
              "contrast",)}, tooltip="Where the edge is between the local background "
                                     "(0) and the object (1)."),
        Param("k", float, 2.5, min=0.0, max=20.0, label="k (spreads)",
              when={"rule": ("adaptive",)},
              tooltip="How many spreads below the region's mean still belong."),
        Param("sigma", float, None, min=0.0, max=20.0, optional=True, label="smoothing",
              when=_GROWS, tooltip="Gaussian smoothing before growing (pixels); None = "
                                   "auto, from the noise around each click."),
        Param("polarity", Polarity, "auto", label="objects are", when=_GROWS,
              tooltip="Brighter or darker than their background; auto decides per click."),
        Param("fill_holes", bool, True, label="fill holes", when=_GROWS,
              tooltip="Fill the holes of each object."),
        Param("smooth", float, 1.0, min=0.0, max=10.0, label="smooth boundary", when=_GROWS,
              tooltip="Smooth each object's boundary (Gaussian sigma in pixels); 0 = off."),
        Param("max_size", int, None, min=1, optional=True, label="max size", when=_GROWS,
              tooltip="Largest object in pixels: a region that grows past it leaked and "
                      "is not kept. None = 5 % of the image (at least 10,000)."),
        _SPACING,
    ),
    locality=_locality,
))
