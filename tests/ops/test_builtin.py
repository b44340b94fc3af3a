"""Every built-in op: the defaults run, params round-trip through JSON, errors are clear."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean import core
from napari_maskclean.core.fill import RGB_INVALID_MODES
from napari_maskclean.core.threshold import LOCAL_KINDS
from napari_maskclean.ops import (
    REGISTRY,
    Footprint,
    GlobalHow,
    LocalityKind,
    MorphologyOperation,
    OpSpec,
    OutputKind,
    ParamError,
    Prefilter,
    RGBChannel,
    RGBInvalid,
    ThresholdMethod,
    get,
    register,
)

_rng = np.random.default_rng(0)
_IMAGE = (_rng.random((24, 24)) * 200).astype(np.uint8)
_IMAGE[6:14, 6:14] += 50
_LABELS = np.zeros((24, 24), np.int32)
_LABELS[3:10, 3:10] = 1
_LABELS[12:20, 12:22] = 2
_LABELS[5, 5] = 0  # a hole
_RGB = np.zeros((24, 24, 3), np.uint8)
_RGB[:, 12:] = (255, 0, 0)
_RGB[4, 4] = (90, 90, 90)  # off-palette speck

SMALL_INPUTS = {
    "threshold": {"image": _IMAGE},
    "morphology": {"labels": _LABELS},
    "region_grow": {"image": _IMAGE, "seeds": [[8, 8], [20, 3]]},
    "click_segment": {"image": _IMAGE, "seeds": [[8, 8], [20, 3]]},
    "fill_labels": {"labels": _LABELS},
    "fill_rgb_mask": {"rgb": _RGB},
    "fill_nearest": {"labels": _LABELS},
    "remove_islands": {"labels": _LABELS},
    "rgb_to_labels": {"rgb": _RGB},
    "to_grey": {"image": _RGB},
    "binary_metrics": {"truth": _LABELS > 0, "pred": _IMAGE > 128},
    "merge_redundant": {"instances": np.stack([_LABELS == 1, _LABELS == 1, _LABELS == 2])},
    "mask_nms": {"instances": None},  # COCO detector results: built in _nms_input()
    "elastic_deform_labels": {"labels": _LABELS},
}


def _nms_input():
    """A small COCO results image (NMS needs scores)."""
    from napari_maskclean.core.rle import rle_encode
    from napari_maskclean.io_coco import read_coco

    masks = [_LABELS == 1, _LABELS == 1, _LABELS == 2]
    h, w = _LABELS.shape
    data = {"images": [{"id": 1, "file_name": "a.png", "height": h, "width": w}],
            "categories": [{"id": 1, "name": "cell"}],
            "annotations": [{"id": k + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                             "score": 0.9 - 0.1 * k, "segmentation": rle_encode(m)}
                            for k, m in enumerate(masks)]}
    return read_coco(data).images[0]


SMALL_INPUTS["mask_nms"] = {"instances": _nms_input()}


def test_every_registered_op_has_a_small_input():
    # a new op must add its input here, so its defaults are run below
    assert set(SMALL_INPUTS) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(SMALL_INPUTS))
def test_defaults_run_and_match_the_direct_core_call(name):
    spec = REGISTRY[name]
    inputs = SMALL_INPUTS[name]
    raw = spec.call(inputs, {})
    args, kwargs = spec.call_args(inputs)
    direct = spec.function(*args, **kwargs, **spec.defaults)
    for key, value in spec.outputs(raw).items():
        expected = spec.outputs(direct)[key]
        if isinstance(value, dict):
            assert value == expected
        else:
            np.testing.assert_array_equal(value, expected)
    kind = spec.output
    out = spec.outputs(raw)
    assert kind.value in out or set(out) >= {"labels"}
    if kind is OutputKind.MASK:
        assert out["mask"].dtype == bool


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_params_round_trip_through_json(name):
    spec = REGISTRY[name]
    params = spec.defaults
    back = json.loads(json.dumps(params))
    assert spec.validate(back) == params
    json.dumps(spec.as_dict())  # the whole spec is JSON-able


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_unknown_parameter_message_names_op_and_choices(name):
    with pytest.raises(ParamError, match=rf"op '{name}'.*unknown parameter 'bogus'"):
        REGISTRY[name].validate({"bogus": 1})


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_param_is_documented_and_locality_resolves(name):
    spec = REGISTRY[name]
    assert spec.doc
    for p in spec.params:
        assert p.label and p.tooltip, p.name
    assert spec.locality_for({}).kind in LocalityKind


def test_enums_are_the_core_choices():
    assert tuple(m.value for m in ThresholdMethod) == core.THRESHOLD_METHODS
    assert tuple(m.value for m in Prefilter) == core.PREFILTERS
    assert tuple(m.value for m in MorphologyOperation) == core.OPERATIONS
    assert tuple(m.value for m in Footprint) == core.FOOTPRINTS
    assert tuple(m.value for m in RGBChannel) == core.RGB_CHANNELS
    assert tuple(m.value for m in RGBInvalid) == RGB_INVALID_MODES
    assert tuple(m.value for m in REGISTRY["threshold"].param("local_method").type) == \
        LOCAL_KINDS
    # Enum members are accepted and stored as their strings
    assert REGISTRY["threshold"].validate({"method": ThresholdMethod.LI})["method"] == "li"


def test_threshold_when_rules():
    spec = REGISTRY["threshold"]
    p = spec.validate({"method": "manual", "prefilter": "median"})
    assert p["level"] == 128.0 and p["prefilter_size"] == 3
    assert "sigma" not in p and "block_size" not in p
    with pytest.raises(ParamError, match="'sigma' applies only when prefilter is 'gaussian'"):
        spec.validate({"sigma": 2.0})
    with pytest.raises(ParamError, match="odd"):
        spec.validate({"method": "local", "block_size": 34})
    with pytest.raises(ParamError, match="lower 'class_index'"):
        spec.validate({"method": "multiotsu", "classes": 2, "class_index": 1})


@pytest.mark.parametrize(("params", "kind", "halo", "how"), [
    ({"method": "manual"}, LocalityKind.POINTWISE, 0, None),
    ({"method": "manual", "prefilter": "median", "prefilter_size": 5}, LocalityKind.HALO, 2,
     None),
    ({"method": "sauvola", "block_size": 15}, LocalityKind.HALO, 7, None),
    ({"method": "otsu", "prefilter": "gaussian", "sigma": 1.0}, LocalityKind.GLOBAL, 4,
     GlobalHow.HISTOGRAM),
    ({"prefilter": "clahe"}, LocalityKind.GLOBAL, 0, GlobalHow.UNTILEABLE),
])
def test_threshold_locality(params, kind, halo, how):
    loc = REGISTRY["threshold"].locality_for(params)
    assert (loc.kind, loc.halo, loc.how) == (kind, halo, how)


def test_morphology_and_fill_locality():
    m = REGISTRY["morphology"]
    assert m.locality_for({"operation": "dilate", "radius": 3}).halo == 3
    assert m.locality_for({"operation": "close", "radius": 3}).halo == 6
    assert m.locality_for({"operation": "fill_holes"}).how is GlobalHow.COMPONENTS
    f = REGISTRY["fill_labels"]
    assert f.locality_for({}).how is GlobalHow.COMPONENTS
    assert f.locality_for({"max_hole_size": None}).how is GlobalHow.NEAREST
    bounded = f.locality_for({"max_hole_size": None, "max_distance": 4.0})
    assert bounded.kind is LocalityKind.HALO and bounded.halo >= 4


def test_fill_rgb_palette_params_apply_only_when_estimating():
    spec = REGISTRY["fill_rgb_mask"]
    assert "palette_max_colors" in spec.validate({})
    given = spec.validate({"palette": [[0, 0, 0], [255, 0, 0]]})
    assert "palette_max_colors" not in given
    assert "snap" not in spec.validate({"invalid": "colour"})
    with pytest.raises(ParamError, match="'palette'"):
        spec.validate({"palette": [[0, 0, 0, 0, 0]]})


def test_spec_call_matches_core_on_non_default_params():
    p = {"operation": "open", "radius": 2, "footprint": "square", "per_label": False}
    np.testing.assert_array_equal(REGISTRY["morphology"].call(_LABELS, p),
                                  core.morphology(_LABELS, **p))


def test_register_refuses_duplicates_and_get_lists_known_ops():
    with pytest.raises(ValueError, match="already registered"):
        register(OpSpec("threshold", func=core.to_grey, inputs=(), output=OutputKind.IMAGE))
    with pytest.raises(KeyError, match="known ops"):
        get("nope")
    with pytest.raises(TypeError):
        register({"name": "x"})
