"""Run a recipe over files, in memory, one file after another.

Each input file is read through :mod:`napari_maskclean.io` as the recipe's one
input layer (an image, a label image, or a colour mask, by the role of the first
step that reads it; a COCO JSON file for instance ops, read through
:mod:`napari_maskclean.io_coco`), the recipe is applied, and its result is written under the
output folder in the input's format, atomically, never replacing a file unless
``overwrite``. Next to every output goes a JSON sidecar with the recipe, the
versions and the input's SHA-256. A file that cannot be processed gets a
one-line reason and the run goes on. ``maskclean run`` runs the same per-file
code as dask tasks (:mod:`napari_maskclean.batch.runner`, whose command line is
:mod:`napari_maskclean.batch.cli_run`).
"""

from __future__ import annotations

import glob
import hashlib
import os
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, io
from .io import atomic_write
from .recipe import Recipe, RecipeError

__all__ = ["RunSummary", "expand_inputs", "run_recipe"]

_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy", ".zarr")
_SIDECAR = ".recipe.json"
#: The files a recipe reads, by the role of its input: instance ops read COCO JSON.
_ROLE_EXTENSIONS = {"instances": (".json",)}


@dataclass
class RunSummary:
    """What :func:`run_recipe` did: outputs written and one-line reasons for failures."""

    written: list[tuple[str, str]] = field(default_factory=list)  # (input, output)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, reason)

    @property
    def n_ok(self) -> int:
        """Number of inputs processed."""
        return len(self.written)

    @property
    def exit_code(self) -> int:
        """0 if at least one input was processed (or there were none to fail), else 1."""
        return 0 if self.written or not self.failed else 1

    def lines(self) -> list[str]:
        """Human-readable report: failures, then the count."""
        out = [f"FAILED {src}: {reason}" for src, reason in self.failed]
        total = self.n_ok + len(self.failed)
        out.append(f"{self.n_ok} of {total} input{'s' if total != 1 else ''} processed")
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"written": [{"input": a, "output": b} for a, b in self.written],
                "failed": [{"input": a, "reason": b} for a, b in self.failed],
                "n_ok": self.n_ok}


def expand_inputs(inputs: Sequence[str | os.PathLike], extensions: Sequence[str] = _EXTENSIONS
                  ) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files from paths, folders (their ``extensions`` files, sorted) and glob patterns.

    Returns ``(files, problems)``: ``problems`` are (argument, reason) pairs for
    arguments that name nothing usable.
    """
    files: list[Path] = []
    problems: list[tuple[str, str]] = []
    for arg in inputs:
        text = os.fspath(arg)
        path = Path(text)
        if glob.has_magic(text) and not path.exists():
            matches = sorted(Path(m) for m in glob.glob(text))
            if not matches:
                problems.append((text, "the pattern matches no file"))
            files.extend(matches)
        elif path.is_dir() and path.suffix.lower() != ".zarr":
            found = sorted(p for p in path.iterdir()
                           if p.suffix.lower() in extensions and not p.name.startswith(".")
                           and not p.name.endswith((_SIDECAR, ".metrics.json")))
            if not found:
                problems.append((text, f"the folder has no {'/'.join(extensions)} file"))
            files.extend(found)
        elif not path.exists():
            problems.append((text, "no such file or folder"))
        else:
            files.append(path)
    seen: set[Path] = set()
    unique = []
    for f in files:
        if f.resolve() not in seen:
            seen.add(f.resolve())
            unique.append(f)
    return unique, problems


def _input_role(recipe: Recipe) -> tuple[str, str, str | None]:
    """(layer name, role, RGB channel) of the recipe's single input layer."""
    names = recipe.input_names()
    if len(names) != 1:
        raise RecipeError(f"the recipe reads {len(names)} layers {names}; 'maskclean run' "
                          "feeds one file to a recipe with exactly one input layer")
    name = names[0]
    for step in recipe.active_steps():
        for role, layer in step.inputs.items():
            if layer == name:
                return name, role, step.channel if role == "image" else None
    raise AssertionError("unreachable")  # pragma: no cover


def _looks_rgb(arr: np.ndarray) -> bool:
    return arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.dtype == np.uint8


def _read(path: Path, role: str, channel: str | None = None) -> Any:
    """The file as the recipe's input: labels through read_mask, anything else read_image."""
    if role == "instances":  # unknown image ids/categories: kept and written back
        from .io_coco import read_coco

        return read_coco(path, unknown="keep")
    if role in ("labels", "truth", "pred", "barrier"):
        return io.read_mask(path)
    arr = io.read_image(path)
    if role == "image" and channel is None and _looks_rgb(arr):
        raise ValueError(f"the file is an RGB image {arr.shape} but the recipe was recorded "
                         "on a grey image; record it on an RGB image (it then says which "
                         "channel to use) or convert the file to grey")
    if role == "rgb" and (arr.ndim < 3 or arr.shape[-1] not in (3, 4) or arr.dtype != np.uint8):
        raise ValueError(f"the recipe cleans a colour mask but the file is a {arr.dtype} array "
                         f"of shape {arr.shape}, not 8-bit RGB(A)")
    return arr


def sha256(path: Path) -> str:
    """SHA-256 of a file, or of every file of a folder (zarr) in sorted order."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        if path.is_dir():
            h.update(str(p.relative_to(path)).encode())
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def _output_path(src: Path, outdir: Path, has_palette: bool, is_metrics: bool) -> Path:
    ext = src.suffix.lower()
    if is_metrics:
        return outdir / (src.name + ".metrics.json")
    if ext in (".jpg", ".jpeg"):  # lossy: labels go to PNG
        ext = ".png"
    if has_palette and ext != ".png":
        ext = ".png"  # colour masks are written as colour PNGs
    return outdir / (src.stem + ext)


def _write_output(path: Path, value: Any, palette: np.ndarray | None, overwrite: bool) -> None:
    if hasattr(value, "images") and hasattr(value, "categories"):  # io_coco.CocoData
        from .io_coco import write_coco

        write_coco(path, value, overwrite=overwrite)
    elif isinstance(value, dict):
        payload = (io.json_text(value) + "\n").encode()
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(payload), overwrite=overwrite)
    elif path.suffix == ".zarr":
        import zarr

        def write(tmp):
            arr = zarr.open_array(str(tmp), mode="w", shape=value.shape, dtype=value.dtype)
            arr[...] = value

        atomic_write(path, write, overwrite=overwrite)
    elif palette is not None:
        atomic_write(path, lambda tmp: io.write_rgb_mask(tmp, value, palette, overwrite=True),
                     overwrite=overwrite)
    else:
        atomic_write(path, lambda tmp: io.write_mask(tmp, value, overwrite=True),
                     overwrite=overwrite)


def _versions() -> dict[str, str]:
    import scipy
    import skimage

    return {"napari-maskclean": __version__, "numpy": np.__version__,
            "scipy": scipy.__version__, "scikit-image": skimage.__version__,
            "python": platform.python_version()}


def run_recipe(recipe: Recipe | str | os.PathLike, inputs: Sequence[str | os.PathLike],
               outdir: str | os.PathLike, *, overwrite: bool = False,
               progress: Callable[[int, int, str], None] | None = None) -> RunSummary:
    """Apply ``recipe`` to every input file; write results and sidecars under ``outdir``.

    Parameters
    ----------
    recipe : Recipe, or a path / JSON text for :meth:`Recipe.load`
        A recipe with one input layer.
    inputs : list of str or path
        Files, folders (their image files, not recursive) and glob patterns.
    outdir : str or path
        Created if missing. Outputs keep the input's name and format (JPEG and
        colour-mask results as PNG); ``<output>.recipe.json`` sidecars.
    overwrite : bool
        Replace existing outputs. Inputs are never replaced.
    progress : callable, optional
        ``progress(done, total, name)`` after each file.

    Returns
    -------
    RunSummary
    """
    if not isinstance(recipe, Recipe):
        recipe = Recipe.load(recipe)
    name, role, channel = _input_role(recipe)
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files, problems = expand_inputs(inputs, _ROLE_EXTENSIONS.get(role, _EXTENSIONS))
    summary = RunSummary(failed=list(problems))
    made: set[Path] = set()
    for k, src in enumerate(files):
        try:
            out = _process(recipe, name, _read(src, role, channel), src, outdir, overwrite,
                           made)
            summary.written.append((str(src), str(out)))
        except (ValueError, TypeError, OSError, KeyError, MemoryError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            summary.failed.append((str(src), reason))
        if progress is not None:
            progress(k + 1, len(files), str(src))
    return summary


def _process(recipe: Recipe, name: str, data: Any, src: Path, outdir: Path,
             overwrite: bool, made: set[Path]) -> Path:
    ws = recipe.run({name: data})
    target = recipe.output_name()
    value = ws.layers[target]
    palette = ws.palettes.get(target)
    out = _output_path(src, outdir, palette is not None, isinstance(value, dict))
    if out.resolve() == src.resolve():
        raise FileExistsError(f"the output {str(out)!r} would replace the input; choose "
                              "another output folder")
    if out in made:
        raise FileExistsError(f"another input of this run already wrote {str(out)!r}; "
                              "rename one of them or run them separately")
    sidecar = out.with_name(out.name + _SIDECAR)
    for p in (out, sidecar):
        if p.exists() and not overwrite:
            raise FileExistsError(f"{str(p)!r} already exists; pass --overwrite to replace it")
    _write_output(out, value, palette, overwrite)
    made.add(out)
    meta = {"input": str(src), "input_sha256": sha256(src), "output": str(out),
            "target": target, "versions": _versions(), "recipe": recipe.to_dict()}
    if palette is not None:
        meta["palette"] = np.asarray(palette).tolist()
    payload = (io.json_text(meta) + "\n").encode()
    atomic_write(sidecar, lambda tmp: Path(tmp).write_bytes(payload), overwrite=overwrite)
    return out
