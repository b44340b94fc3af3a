"""OpSpec, Param and Locality: validation rules and messages, independent of the built-ins."""

from __future__ import annotations

import enum
import json

import numpy as np
import pytest

from napari_maskclean.ops import (
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


class Colour(str, enum.Enum):
    RED = "red"
    BLUE = "blue"


def _double(x, *, factor=2, colour="red", extra=None, weights=None):
    return np.asarray(x) * factor


SPEC = OpSpec(
    name="double", func=_double, inputs=(Input("image"),), output=OutputKind.IMAGE,
    params=(
        Param("factor", int, 2, min=1, max=10),
        Param("colour", Colour, "red"),
        Param("extra", float, 0.5, when={"colour": ("blue",)}),
        Param("weights", list, None, min=0, max=1, optional=True, length=(3,)),
    ),
    locality=lambda p: Locality.bounded(p["factor"]),
)


def test_validate_fills_defaults_and_leaves_out_what_does_not_apply():
    assert SPEC.validate({}) == {"factor": 2, "colour": "red", "weights": None}
    assert SPEC.validate({"colour": Colour.BLUE})["extra"] == 0.5
    assert SPEC.validate({"colour": "blue", "extra": 1})["extra"] == 1.0  # int -> float


@pytest.mark.parametrize(("params", "words"), [
    ({"factr": 3}, ["'double'", "unknown parameter 'factr'", "factor"]),
    ({"factor": 11}, ["'factor'", "1..10", "11"]),
    ({"factor": 2.5}, ["'factor'", "integer"]),
    ({"factor": True}, ["'factor'", "integer"]),
    ({"colour": "green"}, ["'colour'", "['red', 'blue']"]),
    ({"extra": 3.0}, ["'extra'", "only when colour is 'blue'", "remove it"]),
    ({"weights": [0.1, 2, 0]}, ["'weights'", "0..1"]),
    ({"weights": [0.1, 0.2]}, ["'weights'", "3 values"]),
    ({"weights": "abc"}, ["'weights'", "list of numbers"]),
    ({"factor": None}, ["'factor'", "None"]),
])
def test_validation_errors_name_the_op_the_param_and_the_fix(params, words):
    with pytest.raises(ParamError) as info:
        SPEC.validate(params)
    for w in words:
        assert w in str(info.value)


def test_non_strict_drops_params_that_do_not_apply():
    assert "extra" not in SPEC.validate({"extra": 3.0}, strict=False)


def test_is_set_condition():
    spec = OpSpec("p", func=_double, inputs=(Input("image"),), output=OutputKind.IMAGE,
                  params=(Param("weights", list, None, optional=True),
                          Param("factor", int, 2, when={"weights": IS_SET})))
    assert "factor" not in spec.validate({})
    assert spec.validate({"weights": [1, 2]})["factor"] == 2
    assert spec.param("factor").as_dict()["when"] == {"weights": "given"}


def test_call_validates_and_passes_inputs():
    out = SPEC.call(np.ones(3), {"factor": 3})
    assert out.tolist() == [3, 3, 3]
    with pytest.raises(ParamError):
        SPEC.call({"image": np.ones(3)}, {"factor": 0})
    with pytest.raises(ValueError, match="needs its 'image' input"):
        SPEC.call({}, {})
    with pytest.raises(ValueError, match="unknown input role"):
        SPEC.call({"image": 1, "labels": 2}, {})


def test_spec_refuses_bad_definitions():
    with pytest.raises(ValueError, match="duplicate"):
        OpSpec("x", _double, (Input("image"),), OutputKind.IMAGE,
               params=(Param("a", int, 1), Param("a", int, 2)))
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        OpSpec("x", _double, (Input("image"),), OutputKind.IMAGE,
               params=(Param("a", int, 1, when={"nope": (1,)}),))
    with pytest.raises(ParamError):  # default outside its own bounds
        OpSpec("x", _double, (Input("image"),), OutputKind.IMAGE,
               params=(Param("a", int, 0, min=1),))


def test_locality_factories_and_params():
    assert Locality.bounded(0).kind is LocalityKind.POINTWISE
    assert Locality.bounded(2.2).halo == 3
    g = Locality.global_("nearest", "why")
    assert g.how is GlobalHow.NEAREST and g.tileable
    assert not Locality.global_(GlobalHow.UNTILEABLE, "no").tileable
    assert SPEC.locality_for({"factor": 4}).halo == 4


def test_as_dict_is_json():
    text = json.dumps(SPEC.as_dict())
    assert json.loads(text)["params"][1]["choices"] == ["red", "blue"]
