"""Parameter forms built from an operation's spec (:class:`~napari_maskclean.ops.OpSpec`).

One magicgui control per :class:`~napari_maskclean.ops.Param`, named after it:
an Enum is a ComboBox of its values, ``bool`` a CheckBox, ``int``/``float`` a
spin box with the Param's bounds (odd sizes step by 2), ``list`` a JSON line
(``[0, 0, 0]``), ``str`` a line edit. Labels and tooltips come from the spec.
An ``optional`` number shows its lowest value as the special text "none" (the
value ``None``: off / unlimited / automatic, as the tooltip says). A control is
visible only while its Param's ``when`` holds. :meth:`SpecForm.values` gives the
parameters that apply, ready for :meth:`OpSpec.validate`.

Widgets add their own controls (layer pickers, target, scope) around the form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from magicgui.widgets import CheckBox, ComboBox, FloatSpinBox, LineEdit, SpinBox, Widget

from ..ops import OpSpec, Param

__all__ = ["SpecForm", "control_for"]

#: Bounds of a spin box for a Param without min/max.
_INT_RANGE = (-(2**31), 2**31 - 1)
_FLOAT_RANGE = (-1e12, 1e12)
#: The special text of the lowest value of an optional number (its ``None``).
NONE_TEXT = "none"


def _none_value(p: Param) -> float:
    """The spin-box value that stands for None (one step below the Param's minimum)."""
    lo = p.min if p.min is not None else (_INT_RANGE[0] + 1 if p.type is int else
                                          _FLOAT_RANGE[0] + 1)
    return lo - 1


def _decimals(*values: float) -> int:
    """Decimals that show every value exactly enough (at least 2, at most 6)."""
    out = 2
    for v in values:
        v = abs(float(v))
        if 0 < v < 1:
            out = max(out, min(6, -math.floor(math.log10(v)) + 1))
    return out


def control_for(p: Param, **options: Any) -> Widget:
    """A magicgui control for ``p`` (``options`` override the constructor's keywords)."""
    common = {"name": p.name, "label": p.label or p.name, "tooltip": p.tooltip}
    if p.is_enum:
        kw = {**common, "choices": p.choices, "value": p.default, **options}
        return ComboBox(**kw)
    if p.type is bool:
        kw = {**common, "text": common.pop("label"), "value": bool(p.default), **options}
        kw["label"] = ""
        return CheckBox(**kw)
    if p.type in (int, float):
        rng = _INT_RANGE if p.type is int else _FLOAT_RANGE
        lo = p.min if p.min is not None else rng[0]
        hi = p.max if p.max is not None else rng[1]
        if p.optional:
            lo = _none_value(p)
        value = lo if p.default is None else p.default
        if p.type is int:
            kw = {**common, "min": int(lo), "max": int(hi), "value": int(value),
                  "step": 2 if p.odd else 1, **options}
            widget = SpinBox(**kw)
        else:
            step = 1.0 if hi - lo > 10 else 0.01
            kw = {**common, "min": float(lo), "max": float(hi), "value": float(value),
                  "step": step, **options}
            widget = FloatSpinBox(**{k: v for k, v in kw.items() if k not in ("min", "value")})
            # enough decimals for the bounds and the step (Qt rounds to 2 by default)
            widget.native.setDecimals(_decimals(kw["min"], kw["step"], kw["value"]))
            widget.min, widget.value = kw["min"], kw["value"]
        if p.optional and widget.min <= _none_value(p):
            widget.native.setSpecialValueText(NONE_TEXT)
        return widget
    if p.type is list:
        text = "" if p.default is None else json.dumps(p.default)
        return LineEdit(**{**common, "value": text, **options})
    return LineEdit(**{**common, "value": "" if p.default is None else str(p.default),
                       **options})


class SpecForm:
    """The controls of an op's parameters, with visibility rules and values from the spec.

    Parameters
    ----------
    spec : OpSpec
        The operation.
    exclude : iterable of str
        Parameters the widget sets itself (e.g. ``per_slice`` from its scope,
        ``spacing`` from the layer's scale): no control is made for them.
    options : mapping, optional
        Per-parameter constructor keywords for the controls (e.g. a finer ``step``).
    """

    def __init__(self, spec: OpSpec, *, exclude: Iterable[str] = (),
                 options: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.spec = spec
        self.exclude = tuple(exclude)
        options = options or {}
        self.params = tuple(p for p in spec.params if p.name not in self.exclude)
        self.controls: dict[str, Widget] = {
            p.name: control_for(p, **options.get(p.name, {})) for p in self.params}
        for widget in self.controls.values():
            widget.changed.connect(self.update_visibility)
        self.update_visibility()

    # -- access ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Widget:
        return self.controls[name]

    def __iter__(self):
        return iter(self.controls.values())

    @property
    def widgets(self) -> list[Widget]:
        """The controls in the spec's order (to add to a container)."""
        return list(self.controls.values())

    # -- values ------------------------------------------------------------------------
    def raw(self) -> dict[str, Any]:
        """Every control's value as a parameter (None for an optional number at 'none')."""
        out: dict[str, Any] = {}
        for p in self.params:
            out[p.name] = self._read(p, self.controls[p.name])
        return out

    @staticmethod
    def _read(p: Param, widget: Widget) -> Any:
        value = widget.value
        if p.is_enum:
            return getattr(value, "value", value)
        if p.type is bool:
            return bool(value)
        if p.type in (int, float):
            if p.optional and value <= _none_value(p):
                return None
            return int(value) if p.type is int else float(value)
        if p.type is list:
            text = str(value).strip()
            if not text:
                return None
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError(f"{p.label or p.name}: {text!r} is not a list of numbers; "
                                 "write it like [0, 0, 0]") from None
        return value

    def values(self) -> dict[str, Any]:
        """The parameters that apply (their ``when`` holds), for :meth:`OpSpec.validate`."""
        raw = self.raw()
        return {p.name: raw[p.name] for p in self.params if p.applies(raw)}

    def set_values(self, params: Mapping[str, Any]) -> None:
        """Show ``params`` in the controls (unknown names are an error; others stay)."""
        for name, value in params.items():
            if name in self.exclude:
                continue
            p = self.spec.param(name)
            widget = self.controls[name]
            if p.type in (int, float) and value is None:
                value = _none_value(p)
            elif p.type is list:
                value = "" if value is None else json.dumps(value)
            widget.value = value
        self.update_visibility()

    def update_visibility(self, *_args) -> None:
        """Show the controls whose Param applies to the current values."""
        try:
            raw = self.raw()
        except ValueError:  # a half-typed list: keep the visibility as it is
            return
        for p in self.params:
            self.controls[p.name].visible = p.applies(raw)
