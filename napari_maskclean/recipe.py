"""Recipes: the steps committed in the GUI, as versioned JSON, replayed headless.

A :class:`Step` is one commit: an op of :data:`~napari_maskclean.ops.REGISTRY`
with its validated parameters, the layers it read (by role), and how its result
was written (target layer, label value, preserve-labels, slice / volume /
each slice), plus what a replay needs that is not a core parameter: the
RGB-to-grey channel, the seeds in world coordinates with the layer's
scale/translate, the palette of a colour mask.

A :class:`Recipe` is an ordered list of steps. Layers are named arrays: a step
reads ``layers[name][region]`` and writes its target exactly as the GUI's single
write path does (changed pixels only, label value, preserve-labels), so
:meth:`Recipe.apply` gives the arrays the GUI produced. :meth:`Recipe.to_python`
exports the same computation as a plain script over the public core API; the
helpers it needs (``_read``, ``_store``, ...) are copied into the script from
this module, so the script and ``apply`` share their code.

napari-free. :class:`RecipeRecorder` is the per-viewer list of steps the widgets
append to (reorder, delete, enable/disable, edit parameters).

Longer than ~500 lines on purpose: the replay (:meth:`Recipe.apply`) and the
exported script (:meth:`Recipe.to_python`) must run the very same helpers
(``_SHARED``, copied into scripts by ``inspect.getsource``), so the data model,
the replay and the export stay together; the recorder could move out if it grows.

Why one module of ~750 lines: :class:`Step`, :class:`Recipe` (with its JSON
form, replay and script export) and :class:`RecipeRecorder` are one file
format and the two ways it is made and used; the ops, the runners and the
writer (:func:`napari_maskclean.io.atomic_write`) live elsewhere.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import inspect
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .io import atomic_write
from .ops import REGISTRY, OpSpec, OutputKind, ParamError

__all__ = [
    "SCHEMA_VERSION",
    "Recipe",
    "RecipeError",
    "RecipeRecorder",
    "Scope",
    "Step",
    "merge_palette",
    "world_to_index",
]

#: Version of the recipe file format; a newer one is refused on load.
SCHEMA_VERSION = 1
_FORMAT = "napari-maskclean recipe"


class RecipeError(ValueError):
    """A recipe cannot be loaded or applied (the message names the step and the fix)."""


class Scope(str, enum.Enum):
    """Where in nD data a step worked."""

    SLICE = "slice"  #: one slice (``slice_world`` says which)
    VOLUME = "volume"  #: the whole array at once
    EACH_SLICE = "each_slice"  #: every 2D slice on its own (the op's ``per_slice``)


# ------------------------------------------------------------------ shared helpers
# These functions are copied verbatim into exported scripts (Recipe.to_python):
# they use NumPy only and no name from this module other than each other.
def world_to_index(world, scale, translate):
    """Data indices (rounded) of world coordinates, for an axis-aligned layer.

    ``world`` is one point or an (N, D) array; ``scale``/``translate`` are the
    layer's, for the same (last) D axes.
    """
    world = np.asarray(world, dtype=float)
    d = world.shape[-1] if world.ndim else 0
    scale = np.asarray(scale, dtype=float)[len(scale) - d:]
    translate = np.asarray(translate, dtype=float)[len(translate) - d:]
    return np.round((world - translate) / scale).astype(np.int64)


def merge_palette(old, new):
    """Merge the palette of a cleaned colour mask into a target's palette.

    Returns ``(merged, lut)``: ``lut[k]`` is the target label of colour ``new[k]``.
    A new target (``old`` None) keeps ``new``'s order, with black prepended as
    label 0 when ``new[0]`` is not black (napari's background stays class-free);
    an existing one keeps its labels and appends the colours it lacks, so a
    label always means the same colour across commits.
    """
    new = np.asarray(new, dtype=np.uint8)
    if old is None:
        lut = np.arange(len(new), dtype=np.int32)
        if (new[0, :3] != 0).any():
            new = np.vstack([np.zeros((1, new.shape[1]), np.uint8), new])
            lut += 1
        return new, lut
    old = np.asarray(old, dtype=np.uint8)
    merged = [tuple(c) for c in old.tolist()]
    index = {c: k for k, c in enumerate(merged)}
    lut = np.empty(len(new), dtype=np.int32)
    for k, colour in enumerate(map(tuple, new.tolist())):
        if colour not in index:
            index[colour] = len(merged)
            merged.append(colour)
        lut[k] = index[colour]
    return np.array(merged, dtype=np.uint8), lut


def write_region(current, values, *, where=None, preserve_labels=False):
    """``current`` with ``values`` written where they differ (as the GUI's write path).

    Only pixels where ``where`` is true (if given) and, with ``preserve_labels``,
    only background (0) pixels change. Returns ``current`` itself if nothing
    changes, else a new array. Raises ValueError if a value does not fit the dtype.
    """
    new = np.broadcast_to(np.asarray(values), current.shape)
    changed = current != new
    if where is not None:
        changed &= where
    if preserve_labels:
        changed &= current == 0
    if not changed.any():
        return current
    written = new[changed]
    if current.dtype.kind in "iu" and written.size:
        info = np.iinfo(current.dtype)
        if written.min() < info.min or written.max() > info.max:
            raise ValueError(f"label {int(written.max())} does not fit the target's dtype "
                             f"{current.dtype}; choose a smaller label or a wider dtype")
    out = current.copy()
    out[changed] = written.astype(current.dtype, copy=False)
    return out


def _read(layers, name, region, channel=None):
    """The array ``layers[name][region]`` (an RGB image reduced to ``channel``)."""
    if name not in layers:
        raise KeyError(f"no layer {name!r}; the recipe needs it as an input "
                       f"(have {sorted(layers)})")
    arr = np.asarray(layers[name])[region]
    if channel is not None:
        from napari_maskclean.core import to_grey

        arr = to_grey(arr, channel=channel)
    return arr


def _store(layers, palettes, target, out, *, region, shape, label_value=None,
           preserve_labels=False, paint=False):
    """Write one step's outputs ``out`` into ``layers[target][region]``.

    A missing target is created as int32 zeros of ``shape`` (a new Labels layer).
    Masks write ``label_value``; labels with a palette are mapped through
    :func:`merge_palette`; ``paint`` writes only non-zero labels.
    """
    if "metrics" in out or "instances" in out:  # stored as they are (no pixels to write)
        layers[target] = out.get("metrics", out.get("instances"))
        return
    current = layers.get(target)
    if "image" in out:
        if current is None or not region:
            layers[target] = np.asarray(out["image"])
        else:
            current = np.array(current, dtype=np.result_type(current, out["image"]))
            current[region] = out["image"]
            layers[target] = current
        return
    current = np.zeros(shape, np.int32) if current is None else np.asarray(current)
    window = current[region]
    where = None
    if "mask" in out:
        values, where = label_value, np.asarray(out["mask"], bool)
    elif "palette" in out:
        merged, lut = merge_palette(palettes.get(target), out["palette"])
        palettes[target] = merged
        values = lut[out["labels"]]
    else:
        values = np.asarray(out["labels"])
        if paint:
            where = values != 0
    new = write_region(window, values, where=where, preserve_labels=preserve_labels)
    if new is not window:
        current = current.copy()
        current[region] = new
    layers[target] = current


_SHARED = (world_to_index, merge_palette, write_region, _read, _store)


# ---------------------------------------------------------------------------- steps
@dataclass
class Step:
    """One committed operation and how its result was written.

    Attributes
    ----------
    op : str
        Registry name of the operation.
    params : dict
        Its parameters (validated, JSON-able; defaults filled in).
    inputs : dict
        Layer name per input role, e.g. ``{"image": "coins"}``. Region growing's
        ``barrier`` is the target layer's labels (absent for a new target).
    target : str
        The layer written (or the name the metrics are stored under).
    version : int
        The op's version when recorded.
    new_target : bool
        The target was created by this step (int32 zeros, the source's shape).
    label_value : int, optional
        Mask outputs: the label written where the mask is on.
    preserve_labels : bool
        Only background (0) pixels of the target were written.
    paint : bool
        Only the non-zero pixels of a labels result were written (region growing).
    scope : Scope
        ``slice`` (``slice_world`` says which), ``volume`` or ``each_slice``.
    slice_world : list of float, optional
        World coordinates of the leading (non-worked) axes of the slice.
    scale, translate : list of float, optional
        The source layer's, for every non-channel axis (maps world to data).
    channel : str, optional
        An RGB image was reduced to this channel first ("luminance", "red", ...).
    seeds_world : list of list of float, optional
        Seed positions in world coordinates (every axis of the layer).
    seed_labels : list of int, optional
        The label of each seed.
    palette : list of list of int, optional
        Colour masks: the target's palette after this step (row k = colour of k).
    enabled : bool
        Disabled steps are kept but skipped.
    """

    op: str
    params: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    target: str = ""
    version: int = 1
    new_target: bool = False
    label_value: int | None = None
    preserve_labels: bool = False
    paint: bool = False
    scope: Scope = Scope.VOLUME
    slice_world: list[float] | None = None
    scale: list[float] | None = None
    translate: list[float] | None = None
    channel: str | None = None
    seeds_world: list[list[float]] | None = None
    seed_labels: list[int] | None = None
    palette: list[list[int]] | None = None
    enabled: bool = True

    @property
    def spec(self) -> OpSpec:
        """The op's :class:`~napari_maskclean.ops.OpSpec`."""
        return REGISTRY[self.op]

    def checked(self, where: str = "") -> Step:
        """A validated copy (params completed); raises :class:`RecipeError`."""
        where = where or f"step {self.op!r}"
        if self.op not in REGISTRY:
            raise RecipeError(f"{where}: unknown op {self.op!r}; known ops: "
                              f"{sorted(REGISTRY)} (was it written by a newer or extended "
                              "napari-maskclean?)")
        spec = self.spec
        if self.version > spec.version:
            raise RecipeError(f"{where}: written with {self.op!r} version {self.version}, this "
                              f"napari-maskclean has version {spec.version}; update "
                              "napari-maskclean to replay it")
        try:
            scope = Scope(self.scope)
        except ValueError:
            raise RecipeError(f"{where}: scope must be one of {[s.value for s in Scope]}, "
                              f"got {self.scope!r}") from None
        params = dict(self.params)
        if "per_slice" in {p.name for p in spec.params}:
            if params.get("per_slice") and scope is not Scope.EACH_SLICE:
                raise RecipeError(f"{where}: per_slice is true but scope is {scope.value!r}; "
                                  "set scope to 'each_slice'")
            if scope is Scope.EACH_SLICE:
                params["per_slice"] = True
        elif scope is Scope.EACH_SLICE:
            raise RecipeError(f"{where}: {self.op!r} has no 'each_slice' scope; use 'slice' "
                              "or 'volume'")
        try:
            params = spec.validate(params, where=where)
        except ParamError as err:
            raise RecipeError(str(err)) from None
        roles = set(spec.roles) - {"seeds", "seed_labels"}
        unknown = sorted(set(self.inputs) - roles)
        missing = sorted(i.role for i in spec.inputs
                         if not i.optional and i.role in roles and i.role not in self.inputs)
        if unknown or missing:
            raise RecipeError(f"{where}: inputs must name a layer for "
                              f"{sorted(i.role for i in spec.inputs if i.role in roles)}; "
                              f"unknown {unknown}, missing {missing}")
        if not self.target:
            raise RecipeError(f"{where}: no target layer; set 'target' to the layer written")
        if spec.output is OutputKind.MASK and self.label_value is None:
            raise RecipeError(f"{where}: a mask is written as one label; set 'label_value'")
        if "seeds" in spec.roles and self.seeds_world is None:
            raise RecipeError(f"{where}: {self.op!r} needs 'seeds_world' (seed positions in "
                              "world coordinates) and 'scale'/'translate'")
        if scope is Scope.SLICE and not self.slice_world:
            raise RecipeError(f"{where}: scope 'slice' needs 'slice_world' (the world "
                              "coordinates of the slice's leading axes)")
        if (self.slice_world or self.seeds_world) and (self.scale is None
                                                       or self.translate is None):
            raise RecipeError(f"{where}: world coordinates need the layer's 'scale' and "
                              "'translate'")
        return dataclasses.replace(self, params=params, scope=scope)

    # -- JSON --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict; fields at their default are left out (readable files)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            default = f.default_factory() if callable(f.default_factory) else f.default
            if f.name in ("op", "params", "target") or value != default:
                out[f.name] = value.value if isinstance(value, enum.Enum) else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "") -> Step:
        """A validated step from its JSON dict."""
        where = where or "step"
        if not isinstance(data, Mapping) or "op" not in data:
            raise RecipeError(f"{where}: a step is an object with at least 'op', 'params' "
                              f"and 'target', got {data!r}")
        where = f"{where} ({data['op']})"
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise RecipeError(f"{where}: unknown field(s) {unknown}; a step has {sorted(names)}")
        return cls(**dict(data)).checked(where)

    # -- replay ------------------------------------------------------------------------
    def region(self) -> tuple[int, ...]:
        """Data indices of the slice's leading axes (``()`` for volume/each slice)."""
        if Scope(self.scope) is not Scope.SLICE:
            return ()
        return tuple(int(i) for i in world_to_index(self.slice_world, self.scale[
            : len(self.slice_world)], self.translate[: len(self.slice_world)]))

    def seed_indices(self) -> list[list[int]]:
        """Seeds in data coordinates of the worked region (leading slice axes dropped)."""
        idx = world_to_index(np.asarray(self.seeds_world, float).reshape(
            -1, len(self.scale)), self.scale, self.translate)
        return idx[:, len(self.region()):].tolist()

    def is_rgb_source(self) -> bool:
        """Whether the source has a trailing channel axis (not part of the layer shape)."""
        return (self.channel is not None or "rgb" in self.inputs
                or self.params.get("channel_axis") is not None)


# --------------------------------------------------------------------------- recipes
@dataclass
class Workspace:
    """The layers of a replay: arrays (or metrics dicts) and colour-mask palettes."""

    layers: dict[str, Any]
    palettes: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Recipe:
    """An ordered list of :class:`Step` s, saved as versioned, human-readable JSON."""

    steps: list[Step] = field(default_factory=list)
    schema: int = SCHEMA_VERSION
    plugin_version: str = __version__
    created_with: str = f"napari-maskclean {__version__}"
    created: str = field(default_factory=lambda: datetime.datetime.now(
        datetime.timezone.utc).isoformat(timespec="seconds"))

    def __post_init__(self) -> None:
        self.steps = steps_from(self.steps)  # validated, parameters completed

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    # -- JSON --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict."""
        return {"format": _FORMAT, "schema": self.schema, "plugin_version": self.plugin_version,
                "created_with": self.created_with, "created": self.created,
                "steps": [s.to_dict() for s in self.steps]}

    def to_json(self) -> str:
        """The recipe as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recipe:
        """A validated recipe from its JSON dict (see :meth:`load`)."""
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise RecipeError(f"not a napari-maskclean recipe: expected an object with "
                              f"\"format\": \"{_FORMAT}\"")
        schema = data.get("schema")
        if not isinstance(schema, int) or schema < 1:
            raise RecipeError(f"recipe has no valid 'schema' version, got {schema!r}")
        if schema > SCHEMA_VERSION:
            raise RecipeError(f"recipe schema {schema} is newer than this napari-maskclean "
                              f"({__version__}) reads (schema {SCHEMA_VERSION}); update "
                              "napari-maskclean")
        steps = data.get("steps")
        if not isinstance(steps, list):
            raise RecipeError("recipe has no 'steps' list")
        return cls(steps=[Step.from_dict(s, f"step {i + 1}") for i, s in enumerate(steps)],
                   schema=SCHEMA_VERSION,
                   plugin_version=str(data.get("plugin_version", "")),
                   created_with=str(data.get("created_with", "")),
                   created=str(data.get("created", "")))

    @classmethod
    def load(cls, source: str | os.PathLike) -> Recipe:
        """Read a recipe from a JSON file or JSON text; refuse what cannot be replayed.

        Raises
        ------
        RecipeError
            Unknown op, newer schema or op version, wrong or unknown parameter: the
            message names the step (number and op) and the fix.
        """
        text = str(source)
        if not text.lstrip().startswith("{"):
            path = Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"recipe file {text!r} does not exist")
            text = path.read_text(encoding="utf-8")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise RecipeError(f"recipe is not valid JSON: {err}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the recipe as JSON (atomically; an existing file only with ``overwrite``)."""
        payload = self.to_json().encode("utf-8")

        def write(tmp) -> None:
            Path(tmp).write_bytes(payload)

        return atomic_write(Path(path), write, overwrite=overwrite)

    # -- structure ---------------------------------------------------------------------
    def numbered_steps(self) -> list[tuple[int, Step]]:
        """(step number from 1, validated step) of the enabled steps."""
        return [(i + 1, s.checked(f"step {i + 1} ({s.op})")) for i, s in enumerate(self.steps)
                if s.enabled]

    def active_steps(self) -> list[Step]:
        """The enabled steps, validated."""
        return [s for _, s in self.numbered_steps()]

    def input_names(self) -> list[str]:
        """Layers the recipe reads before writing them: what :meth:`apply` must be given."""
        written: set[str] = set()
        needed: list[str] = []
        for step in self.active_steps():
            for name in step.inputs.values():
                if name not in written and name not in needed:
                    needed.append(name)
            written.add(step.target)
        return needed

    def output_name(self) -> str:
        """The target of the last enabled step."""
        steps = self.active_steps()
        if not steps:
            raise RecipeError("the recipe has no enabled step")
        return steps[-1].target

    # -- replay ------------------------------------------------------------------------
    def run(self, layers: Mapping[str, Any], *, palettes: Mapping[str, Any] | None = None,
            progress: Callable[[int, int], None] | None = None) -> Workspace:
        """Replay every enabled step on ``layers`` (name -> array); inputs are not modified."""
        ws = Workspace(dict(layers), {k: np.asarray(v, np.uint8)
                                      for k, v in (palettes or {}).items()})
        steps = self.numbered_steps()
        for i, (number, step) in enumerate(steps):
            try:
                _apply_step(step, ws)
            except KeyError as err:
                raise RecipeError(f"step {number} ({step.op}): {err.args[0]}") from None
            if progress is not None:
                progress(i + 1, len(steps))
        return ws

    def apply(self, data: Any, *, palettes: Mapping[str, Any] | None = None,
              progress: Callable[[int, int], None] | None = None) -> Any:
        """Replay the recipe; return the arrays as the GUI produced them.

        Parameters
        ----------
        data : ndarray or mapping
            One array (for a recipe with one input layer; the result is the last
            step's target array), or layer name -> array (the result is the
            mapping of all layers after the replay).
        palettes : mapping, optional
            Palettes of existing colour-mask label layers (``layer.metadata["palette"]``).
        """
        if isinstance(data, Mapping):
            return self.run(data, palettes=palettes, progress=progress).layers
        names = self.input_names()
        if len(names) != 1:
            raise RecipeError(f"the recipe reads {len(names)} layers {names}; pass "
                              "apply({name: array, ...})")
        ws = self.run({names[0]: data}, palettes=palettes, progress=progress)
        return ws.layers[self.output_name()]

    # -- export ------------------------------------------------------------------------
    def to_python(self) -> str:
        """A standalone script doing what :meth:`apply` does, over the public core API.

        The script defines ``run(layers) -> layers`` and, run as a program, reads
        ``.npy`` files given as ``name=path`` arguments.
        """
        steps = self.numbered_steps()
        imports = sorted({_import_line(s.spec) for _, s in steps}
                         | {"from napari_maskclean.core import to_grey"})
        lines = [
            f'"""Recipe exported by napari-maskclean {__version__} ({len(steps)} steps).',
            "",
            "run(layers) replays it on a dict of layer name -> NumPy array and returns",
            "the layers afterwards. From a shell: python script.py name=file.npy ...",
            '"""',
            "",
            "import sys",
            "",
            "import numpy as np",
            "",
            *imports,
            "",
        ]
        for func in _SHARED:
            lines += ["", inspect.getsource(func).rstrip(), ""]
        lines += ["", "def run(layers, palettes=None):",
                  '    """Replay the recipe on ``layers`` (name -> array)."""',
                  "    layers = dict(layers)",
                  "    palettes = dict(palettes or {})"]
        for number, step in steps:
            lines += [""] + ["    " + ln for ln in _step_code(number, step)]
        lines += ["    return layers", "", "",
                  'if __name__ == "__main__":',
                  '    pairs = dict(arg.split("=", 1) for arg in sys.argv[1:])',
                  "    result = run({k: np.load(v) for k, v in pairs.items()})",
                  "    for name, value in result.items():",
                  '        print(name, getattr(value, "shape", value))', ""]
        return "\n".join(lines)


def _import_line(spec: OpSpec) -> str:
    from . import core

    module, _, name = spec.func_path.partition(":")
    if name in core.__all__:
        module = "napari_maskclean.core"
    return f"from {module} import {name}"


def _step_inputs(step: Step, region: tuple) -> tuple[dict[str, tuple], dict[str, Any]]:
    """(layer reads by role as (name, region, channel)), and literal seed inputs."""
    reads: dict[str, tuple] = {}
    for role, name in step.inputs.items():
        if role == "barrier":
            reads[role] = (name, region, None)
        else:
            channel = step.channel if role == "image" else None
            reads[role] = (name, region, channel)
    literal: dict[str, Any] = {}
    if "seeds" in step.spec.roles:
        literal["seeds"] = step.seed_indices()
        if step.seed_labels is not None:
            literal["seed_labels"] = list(step.seed_labels)
    return reads, literal


def _source_shape(step: Step, ws: Workspace) -> tuple[int, ...]:
    first = next(iter(step.inputs.values()))
    shape = np.shape(ws.layers[first]) if first in ws.layers else ()
    return tuple(shape[:-1] if step.is_rgb_source() else shape)


def _apply_step(step: Step, ws: Workspace) -> None:
    region = step.region()
    reads, literal = _step_inputs(step, region)
    inputs: dict[str, Any] = dict(literal)
    for role, (name, reg, channel) in reads.items():
        if role == "barrier" and name not in ws.layers:
            continue  # a new target: no existing labels
        inputs[role] = _read(ws.layers, name, reg, channel)
    raw = step.spec.call(inputs, step.params)
    _store(ws.layers, ws.palettes, step.target, step.spec.outputs(raw), region=region,
           shape=_source_shape(step, ws), label_value=step.label_value,
           preserve_labels=step.preserve_labels, paint=step.paint)


def _step_code(number: int, step: Step) -> list[str]:
    """The lines of ``run()`` for one step."""
    spec = step.spec
    region = step.region()
    reads, literal = _step_inputs(step, region)
    name = spec.func_path.partition(":")[2]
    out = [f"# step {number}: {step.op} -> {step.target!r}"
           + (f" (slice at world {step.slice_world})" if region else "")]
    out.append(f"region = {region!r}")
    first = next(iter(step.inputs.values()))
    shape_expr = f"np.shape(layers[{first!r}])" + ("[:-1]" if step.is_rgb_source() else "")
    out.append(f"shape = tuple({shape_expr})")
    args, kwargs = [], []
    for inp in spec.inputs:
        if inp.role in reads:
            lname, _, channel = reads[inp.role]
            expr = f"_read(layers, {lname!r}, region, {channel!r})"
            if inp.role == "barrier":
                expr = f"({expr} if {lname!r} in layers else None)"
        elif inp.role in literal:
            expr = repr(literal[inp.role])
        else:
            continue
        if inp.arg is None:
            args.append(expr)
        else:
            kwargs.append(f"{inp.arg}={expr}")
    kwargs += [f"{k}={v!r}" for k, v in step.params.items()]
    out.append(f"result = {name}(")
    out += [f"    {a}," for a in args + kwargs]
    out.append(")")
    if spec.result_fields:
        out.append(f"out = dict(zip({spec.result_fields!r}, result))")
    else:
        out.append(f"out = {{{spec.output.value!r}: result}}")
    out.append(f"_store(layers, palettes, {step.target!r}, out, region=region, shape=shape, "
               f"label_value={step.label_value!r}, preserve_labels={step.preserve_labels!r}, "
               f"paint={step.paint!r})")
    return out


# --------------------------------------------------------------------------- writing
# -------------------------------------------------------------------------- recorder
class RecipeRecorder:
    """The steps committed in one viewer (napari-free; the widgets append to it).

    ``recording`` switches appending on/off; listeners (``on_change``) are called
    with no arguments after every change, e.g. to refresh a Recipe dock.
    """

    def __init__(self, recipe: Recipe | None = None) -> None:
        self.recipe = recipe if recipe is not None else Recipe()
        self.recording = True
        self._listeners: list[Callable[[], None]] = []

    @property
    def steps(self) -> list[Step]:
        """The steps (the live list; change it through the methods)."""
        return self.recipe.steps

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after every change."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in list(self._listeners):
            callback()

    def append(self, step: Step) -> Step | None:
        """Validate and append ``step`` (nothing while not recording)."""
        if not self.recording:
            return None
        step = step.checked(f"step {len(self.steps) + 1} ({step.op})")
        self.steps.append(step)
        self._changed()
        return step

    def delete(self, index: int) -> Step:
        """Remove and return step ``index``."""
        step = self.steps.pop(index)
        self._changed()
        return step

    def move(self, index: int, new_index: int) -> None:
        """Move step ``index`` to position ``new_index``."""
        step = self.steps.pop(index)
        self.steps.insert(new_index, step)
        self._changed()

    def set_enabled(self, index: int, enabled: bool) -> None:
        """Enable or disable step ``index`` (disabled steps are kept, not replayed)."""
        self.steps[index].enabled = bool(enabled)
        self._changed()

    def edit(self, index: int, **params: Any) -> Step:
        """Change parameters of step ``index`` (validated against its op's spec)."""
        old = self.steps[index]
        merged = {**old.params, **params}
        # Parameters that no longer apply (e.g. 'level' after method='otsu') are dropped.
        where = f"step {index + 1} ({old.op})"
        try:
            merged = old.spec.validate(merged, where=where, strict=False)
        except ParamError as err:
            raise RecipeError(str(err)) from None
        step = dataclasses.replace(old, params=merged).checked(where)
        self.steps[index] = step
        self._changed()
        return step

    def replace(self, recipe: Recipe) -> None:
        """Make ``recipe``'s steps the recorded ones (a loaded recipe)."""
        self.recipe.steps[:] = list(recipe.steps)
        self._changed()

    def clear(self) -> None:
        """Remove every step."""
        self.steps.clear()
        self._changed()

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, index: int) -> Step:
        return self.steps[index]

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)


def steps_from(items: Sequence[Step | Mapping[str, Any]]) -> list[Step]:
    """Steps from Step objects or their JSON dicts (validated)."""
    return [s.checked(f"step {i + 1} ({s.op})") if isinstance(s, Step)
            else Step.from_dict(s, f"step {i + 1}") for i, s in enumerate(items)]
