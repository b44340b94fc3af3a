"""What an operation is, as data: :class:`OpSpec`, :class:`Param`, :class:`Locality`.

An operation is one core function plus a declarative description of it: the
inputs it takes (by role: ``image``, ``labels``, ``truth``, ``seeds`` ...), the
kind of output, every parameter (type or Enum, default, bounds, label,
tooltip, and *when* it applies), and its :class:`Locality` (what a tiled engine
needs to know to cut the data into blocks). Widgets build their forms from the
:class:`Param` list, core-level validation and recipes call :meth:`OpSpec.validate`,
the dask engine reads :meth:`OpSpec.locality_for`.

napari-free, Qt-free and dask-free, like ``core/``.

Slightly over the house's ~500 lines on purpose: the classes are one schema
(a :class:`Param`'s ``when`` names the other params of its :class:`OpSpec`,
which validates them together and picks the :class:`Locality`), and whoever
adds an operation reads them together.

Why one module of ~500 lines: :class:`Param`, :class:`Input`, :class:`Locality`
and :class:`OpSpec` are one small description language (an OpSpec validates
through its Params and Locality); apart, each would import the others.
"""

from __future__ import annotations

import enum
import importlib
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "IS_SET",
    "GlobalHow",
    "Input",
    "Locality",
    "LocalityKind",
    "OpSpec",
    "OutputKind",
    "Param",
    "ParamError",
]


class ParamError(ValueError):
    """A parameter of an operation is unknown, of the wrong type or out of bounds."""


class OutputKind(str, enum.Enum):
    """What an operation returns."""

    LABELS = "labels"  #: integer label image (0 = background)
    MASK = "mask"  #: boolean mask (written as one label value)
    IMAGE = "image"  #: an image (e.g. grey values)
    METRICS = "metrics"  #: a JSON-able dict of numbers, nothing is written
    INSTANCES = "instances"  #: instance masks with their annotations (io_coco.CocoData)


class LocalityKind(str, enum.Enum):
    """How far an output pixel looks into the input."""

    POINTWISE = "pointwise"  #: output pixel = f(input pixel)
    HALO = "halo"  #: output pixel depends on a bounded neighbourhood
    GLOBAL = "global"  #: output pixel may depend on the whole array


class GlobalHow(str, enum.Enum):
    """How a tiled engine handles a global operation."""

    HISTOGRAM = "histogram"  #: two passes: a global statistic, then a pointwise step
    COMPONENTS = "components"  #: label blocks, then join components across block faces
    NEAREST = "nearest"  #: nearest-valid search; bounded by ``max_distance`` if given
    REDUCTION = "reduction"  #: per-block partial results summed (counts, metrics)
    UNTILEABLE = "untileable"  #: cannot be tiled exactly: refuse with ``message``


@dataclass(frozen=True)
class Locality:
    """What a tiled (dask) engine must know to run an operation block by block.

    Build one with :meth:`pointwise`, :meth:`bounded` or :meth:`global_`.

    Attributes
    ----------
    kind : LocalityKind
    halo : int
        Pixels of overlap needed on each side along every spatial axis (``HALO``;
        also the halo of the pointwise part of a ``GLOBAL`` op, e.g. a prefilter).
    how : GlobalHow or None
        ``GLOBAL`` only: the exact blockwise algorithm to use.
    message : str
        Why it is global, or (``UNTILEABLE``) what the user can do instead.
    """

    kind: LocalityKind
    halo: int = 0
    how: GlobalHow | None = None
    message: str = ""

    @classmethod
    def pointwise(cls) -> Locality:
        """Each output pixel depends on the same input pixel only."""
        return cls(LocalityKind.POINTWISE)

    @classmethod
    def bounded(cls, halo: int, message: str = "") -> Locality:
        """Each output pixel depends on input pixels at most ``halo`` pixels away."""
        halo = int(math.ceil(halo))
        if halo <= 0:
            return cls.pointwise()
        return cls(LocalityKind.HALO, halo=halo, message=message)

    @classmethod
    def global_(cls, how: GlobalHow | str, message: str = "", *, halo: int = 0) -> Locality:
        """Output pixels may depend on the whole array; ``how`` says how to tile it."""
        return cls(LocalityKind.GLOBAL, halo=int(math.ceil(halo)), how=GlobalHow(how),
                   message=message)

    @property
    def tileable(self) -> bool:
        """False when no exact blockwise algorithm exists (see ``message``)."""
        return self.how is not GlobalHow.UNTILEABLE

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for docs and recipe sidecars)."""
        out: dict[str, Any] = {"kind": self.kind.value, "halo": self.halo}
        if self.how is not None:
            out["how"] = self.how.value
        if self.message:
            out["message"] = self.message
        return out


# ----------------------------------------------------------------------------- params
_MISSING = object()


class _IsSet:
    """``when={"palette": IS_SET}``: applies when that parameter is not None."""

    def __repr__(self) -> str:
        return "IS_SET"


#: A ``when`` condition meaning "the other parameter is given (not None)".
IS_SET = _IsSet()


def _allowed(allowed: Any) -> tuple:
    if allowed is IS_SET:
        return ()
    return tuple(a.value if isinstance(a, enum.Enum) else a for a in allowed)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in tp)
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string",
            list: "a list"}.get(tp, getattr(tp, "__name__", str(tp)))


@dataclass(frozen=True)
class Param:
    """One parameter of an operation.

    Parameters
    ----------
    name : str
        The core function's keyword.
    type : type
        ``bool``, ``int``, ``float``, ``str``, a ``str``-valued :class:`enum.Enum`
        (a dropdown; the value is stored as its string), or ``list`` (numbers,
        nested ``ndim`` deep, e.g. a colour or a palette).
    default : object
        The value used when the parameter is not given (``None`` needs ``optional``).
    min, max : float, optional
        Inclusive bounds (of the value, or of every number of a ``list``).
    label, tooltip : str
        For forms.
    when : mapping, optional
        The parameter applies only when every named parameter has one of the
        given values, e.g. ``{"prefilter": ("median",)}``. Widgets hide it
        otherwise; :meth:`OpSpec.validate` leaves it out.
    optional : bool
        ``None`` is accepted (it means "off"/"unlimited", see ``tooltip``).
    odd : bool
        Integers only: must be odd (window sizes).
    ndim : int
        ``list`` only: nesting depth (1 = a vector, 2 = rows).
    length : tuple of int, optional
        ``list`` only: allowed lengths of the innermost lists (e.g. ``(3, 4)``).
    """

    name: str
    type: Any
    default: Any = None
    min: float | None = None
    max: float | None = None
    label: str = ""
    tooltip: str = ""
    when: Mapping[str, tuple] | None = None
    optional: bool = False
    odd: bool = False
    ndim: int = 1
    length: tuple[int, ...] | None = None

    @property
    def is_enum(self) -> bool:
        """True for a dropdown (an Enum type)."""
        return isinstance(self.type, type) and issubclass(self.type, enum.Enum)

    @property
    def choices(self) -> tuple[str, ...]:
        """The allowed values of an Enum parameter (empty otherwise)."""
        return tuple(m.value for m in self.type) if self.is_enum else ()

    def applies(self, params: Mapping[str, Any]) -> bool:
        """Whether this parameter applies given the other (validated) parameters."""
        if not self.when:
            return True
        for other, allowed in self.when.items():
            value = params.get(other)
            value = value.value if isinstance(value, enum.Enum) else value
            if allowed is IS_SET:
                if value is None:
                    return False
            elif value not in _allowed(allowed):
                return False
        return True

    def when_text(self) -> str:
        """The ``when`` condition in words (for messages)."""
        parts = []
        for other, allowed in (self.when or {}).items():
            if allowed is IS_SET:
                parts.append(f"{other} is given")
                continue
            parts.append(f"{other} is " + " or ".join(repr(v) for v in _allowed(allowed)))
        return " and ".join(parts)

    def check(self, value: Any, where: str) -> Any:
        """Return ``value`` converted to its JSON form, or raise :class:`ParamError`."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(f"{where}: {self.name!r} must be {_type_name(self.type)}, got "
                             f"None; give a value (default {self.default!r})")
        tp = self.type
        if self.is_enum:
            raw = value.value if isinstance(value, enum.Enum) else value
            if raw not in self.choices:
                raise ParamError(f"{where}: {self.name!r} must be one of {list(self.choices)}, "
                                 f"got {value!r}")
            return raw
        if tp is bool:
            if not isinstance(value, (bool, np.bool_)):
                raise ParamError(f"{where}: {self.name!r} must be true or false, got {value!r}")
            return bool(value)
        if tp is int:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise ParamError(f"{where}: {self.name!r} must be an integer, got "
                                     f"{value!r}; e.g. {self.default!r}")
            value = int(value)
            if self.odd and value % 2 == 0:
                raise ParamError(f"{where}: {self.name!r} must be odd, got {value}; use "
                                 f"{value + 1}")
            return self._bounded(value, where)
        if tp is float:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise ParamError(f"{where}: {self.name!r} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(f"{where}: {self.name!r} must be finite, got {value}")
            return self._bounded(value, where)
        if tp is str:
            if not isinstance(value, str):
                raise ParamError(f"{where}: {self.name!r} must be a string, got {value!r}")
            return value
        if tp is list:
            return self._check_list(value, where)
        raise TypeError(f"Param {self.name!r} has an unsupported type {tp!r}")  # spec bug

    def _bounded(self, value: float, where: str) -> Any:
        if (self.min is not None and value < self.min) or (
                self.max is not None and value > self.max):
            lo = "-inf" if self.min is None else f"{self.min:g}"
            hi = "inf" if self.max is None else f"{self.max:g}"
            raise ParamError(f"{where}: {self.name!r} must be in {lo}..{hi}, got {value:g}")
        return value

    def _check_list(self, value: Any, where: str) -> list:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            arr = np.asarray([], dtype=object)
        if arr.dtype.kind not in "iuf" or arr.ndim != self.ndim or arr.size == 0:
            shape = "a list of numbers" if self.ndim == 1 else "a list of rows of numbers"
            raise ParamError(f"{where}: {self.name!r} must be {shape}, got {value!r}")
        if not np.all(np.isfinite(arr)):
            raise ParamError(f"{where}: {self.name!r} must hold finite numbers, got {value!r}")
        if self.length is not None and arr.shape[-1] not in self.length:
            raise ParamError(f"{where}: {self.name!r} needs {' or '.join(map(str, self.length))}"
                             f" values per entry, got {arr.shape[-1]}: {value!r}")
        if (self.min is not None and arr.min() < self.min) or (
                self.max is not None and arr.max() > self.max):
            raise ParamError(f"{where}: {self.name!r} values must be in {self.min:g}.."
                             f"{self.max:g}, got {arr.min():g}..{arr.max():g}")
        return arr.tolist()

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description (docs, generated forms in other languages)."""
        out: dict[str, Any] = {"name": self.name, "type": _type_name(self.type),
                               "default": self.default}
        if self.is_enum:
            out["choices"] = list(self.choices)
        for key in ("min", "max", "label", "tooltip"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.when:
            out["when"] = {k: "given" if v is IS_SET else list(_allowed(v))
                           for k, v in self.when.items()}
        if self.optional:
            out["optional"] = True
        return out


@dataclass(frozen=True)
class Input:
    """One input of an operation.

    ``arg`` is the core function's keyword for it; ``None`` passes it
    positionally (in the order of :attr:`OpSpec.inputs`). ``rgb`` True means
    the input must be a colour image (a widget then lists RGB layers only).
    """

    role: str
    arg: str | None = None
    optional: bool = False
    doc: str = ""
    rgb: bool | None = None


@dataclass(frozen=True)
class OpSpec:
    """One operation: a core function and everything needed to call, show and tile it.

    Attributes
    ----------
    name : str
        Registry key and recipe step name (``"threshold"``).
    func : callable or str
        The core function, or its import path ``"package.module:function"``
        (resolved on first use, so the registry imports nothing heavy).
    inputs : tuple of Input
        Inputs by role.
    output : OutputKind
        What the result is.
    params : tuple of Param
        Every keyword parameter a recipe may set, in form order.
    locality : Locality or callable
        A fixed :class:`Locality`, or ``f(params) -> Locality``.
    doc : str
        One line for menus and tooltips.
    version : int
        Bumped when the meaning of a parameter or the result changes; recipes
        record it and refuse a newer one.
    check : callable, optional
        ``f(params, where)`` for constraints between parameters; raises ParamError.
    result_fields : tuple of str, optional
        Names of the parts of a tuple result, in order (``RGBFill`` gives
        ``("labels", "palette", "changed")``); default: the result is one
        ``output`` (``{output.value: raw}``).
    """

    name: str
    func: Callable[..., Any] | str
    inputs: tuple[Input, ...]
    output: OutputKind
    params: tuple[Param, ...] = ()
    locality: Locality | Callable[[Mapping[str, Any]], Locality] = field(
        default_factory=Locality.pointwise)
    doc: str = ""
    version: int = 1
    check: Callable[[dict[str, Any], str], None] | None = None
    result_fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"op {self.name!r}: duplicate parameter names in {names}")
        for p in self.params:
            for other in p.when or {}:
                if other not in names:
                    raise ValueError(f"op {self.name!r}: {p.name!r} depends on unknown "
                                     f"parameter {other!r}")
            if p.default is not None:
                p.check(p.default, f"op {self.name!r} default")

    # -- lookup --------------------------------------------------------------------------
    @property
    def function(self) -> Callable[..., Any]:
        """The core function (imported from its path on first use)."""
        func = self.func
        if isinstance(func, str):
            module, _, attr = func.partition(":")
            func = getattr(importlib.import_module(module), attr)
            object.__setattr__(self, "func", func)
        return func

    @property
    def func_path(self) -> str:
        """``module:function`` of the core function (for exported scripts)."""
        if isinstance(self.func, str):
            return self.func
        return f"{self.func.__module__}:{self.func.__qualname__}"

    def param(self, name: str) -> Param:
        """The :class:`Param` called ``name``."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(f"op {self.name!r} has no parameter {name!r}; it has "
                       f"{[p.name for p in self.params]}")

    @property
    def defaults(self) -> dict[str, Any]:
        """The default parameters (those applicable by default)."""
        return self.validate({})

    @property
    def roles(self) -> tuple[str, ...]:
        """Input roles, in order."""
        return tuple(i.role for i in self.inputs)

    # -- validation ----------------------------------------------------------------------
    def validate(self, params: Mapping[str, Any] | None = None, *, where: str = "",
                 strict: bool = True) -> dict[str, Any]:
        """Return complete, JSON-able parameters: defaults filled in, types and bounds checked.

        Parameters that do not apply (their ``when`` is false) are left out. With
        ``strict`` (default), giving one is an error; otherwise it is dropped
        (a form may pass all its controls).

        Raises
        ------
        ParamError
            Naming the op, the parameter and the fix.
        """
        where = where or f"op {self.name!r}"
        params = dict(params or {})
        known = {p.name for p in self.params}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ParamError(f"{where}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                             f"{', '.join(map(repr, unknown))}; {self.name!r} takes "
                             f"{sorted(known)}")
        out: dict[str, Any] = {}
        # Parameters are listed so that a ``when`` only names earlier ones.
        for p in self.params:
            if not p.applies(out):
                if strict and p.name in params and params[p.name] != p.default:
                    raise ParamError(f"{where}: {p.name!r} applies only when {p.when_text()};"
                                     f" remove it or change that parameter")
                continue
            value = params.get(p.name, _MISSING)
            out[p.name] = p.check(p.default if value is _MISSING else value, where)
        if self.check is not None:
            self.check(out, where)
        return out

    def locality_for(self, params: Mapping[str, Any] | None = None) -> Locality:
        """The :class:`Locality` of this op with these parameters."""
        if isinstance(self.locality, Locality):
            return self.locality
        return self.locality(self.validate(params, strict=False))

    # -- calling -------------------------------------------------------------------------
    def call_args(self, inputs: Mapping[str, Any]) -> tuple[list, dict[str, Any]]:
        """Positional arguments and input keywords for the core function."""
        unknown = sorted(set(inputs) - set(self.roles))
        if unknown:
            raise ValueError(f"op {self.name!r}: unknown input role(s) {unknown}; it takes "
                             f"{list(self.roles)}")
        args: list = []
        kwargs: dict[str, Any] = {}
        for inp in self.inputs:
            value = inputs.get(inp.role)
            if value is None and not inp.optional:
                raise ValueError(f"op {self.name!r} needs its {inp.role!r} input; pass "
                                 f"inputs={{'{inp.role}': array, ...}}")
            if inp.arg is None:
                args.append(value)
            elif value is not None:
                kwargs[inp.arg] = value
        return args, kwargs

    def call(self, inputs: Mapping[str, Any] | Any, params: Mapping[str, Any] | None = None,
             **extra: Any) -> Any:
        """Validate ``params`` and run the core function on ``inputs`` (by role).

        ``inputs`` may be one array for an op with one required input. ``extra``
        keywords (``progress=...``) go to the core function unchecked.
        """
        if not isinstance(inputs, Mapping):
            inputs = {self.inputs[0].role: inputs}
        args, kwargs = self.call_args(inputs)
        kwargs.update(self.validate(params))
        kwargs.update(extra)
        return self.function(*args, **kwargs)

    def outputs(self, raw: Any) -> dict[str, Any]:
        """The parts of a result by name (``{"labels": ...}``)."""
        if self.result_fields:
            return dict(zip(self.result_fields, raw, strict=False))
        return {self.output.value: raw}

    def as_dict(self) -> dict[str, Any]:
        """JSON-able description of the spec (docs, sidecars)."""
        loc = self.locality.as_dict() if isinstance(self.locality, Locality) else \
            "depends on the parameters"
        return {"name": self.name, "version": self.version, "func": self.func_path,
                "inputs": [i.role for i in self.inputs], "output": self.output.value,
                "params": [p.as_dict() for p in self.params], "locality": loc,
                "doc": self.doc}
