"""Big outputs: an OME-Zarr written chunk by chunk, resumable after a crash.

The output of a tiled run is written where it will stay (not to a temporary
name: a crash must leave the finished chunks). Every chunk is written by one
task, then marked done by an empty marker file; a re-run with ``resume``
writes only the chunks without a marker. The group's attributes hold the
OME-Zarr (NGFF 0.4) ``multiscales`` metadata, the recipe, the versions, the
input's checksum and ``complete`` (false until the last chunk is written).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import dask
import dask.array as da
import numpy as np

__all__ = ["ZarrOutput"]

_MARKERS = ".maskclean-done"
_ATTRS = "napari-maskclean"


def _axes(ndim: int) -> list[dict[str, str]]:
    names = ["t", "c", "z", "y", "x"][-ndim:] if ndim <= 5 else [f"d{i}" for i in range(ndim)]
    kinds = {"t": "time", "c": "channel"}
    return [{"name": n, "type": kinds.get(n, "space")} for n in names]


def _block_id(index: tuple[int, ...]) -> str:
    return ".".join(str(i) for i in index)


def _write_chunk(block: np.ndarray, path: str, region: tuple[slice, ...], marker: str) -> int:
    """Write one chunk, then its marker (a crash in between leaves no marker)."""
    import zarr

    arr = zarr.open_array(path, mode="r+")
    arr[region] = block
    Path(marker).touch()
    return 1


class ZarrOutput:
    """A resumable OME-Zarr output for one lazy (dask) result.

    Parameters
    ----------
    path : path
        The ``.zarr`` folder.
    meta : dict
        Recipe, versions, input and its checksum: stored in the attributes; a
        resumed run must carry the same ``recipe`` and ``input_sha256``.
    """

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self.meta = meta

    @property
    def array_path(self) -> str:
        """The full-resolution array inside the group."""
        return str(self.path / "0")

    def stored_meta(self) -> dict[str, Any] | None:
        """The attributes a previous run left, or None if there is no output yet."""
        attrs = self.path / ".zattrs"
        if not attrs.is_file():
            return None
        return json.loads(attrs.read_text()).get(_ATTRS)

    def is_complete(self) -> bool:
        """True when an earlier run with the same recipe and input finished this output."""
        old = self.stored_meta()
        return bool(old and old.get("complete") and self._same_run(old))

    def _same_run(self, old: dict[str, Any]) -> bool:
        return (old.get("recipe") == self.meta.get("recipe")
                and old.get("input_sha256") == self.meta.get("input_sha256"))

    def _attrs(self, shape, complete: bool) -> dict[str, Any]:
        return {
            "multiscales": [{
                "version": "0.4",
                "name": self.path.stem,
                "axes": _axes(len(shape)),
                "datasets": [{"path": "0", "coordinateTransformations": [
                    {"type": "scale", "scale": [1.0] * len(shape)}]}],
            }],
            _ATTRS: {**self.meta, "complete": complete},
        }

    def prepare(self, result: da.Array, *, overwrite: bool, resume: bool) -> list:
        """Create (or reopen) the store; return the chunk-writing tasks still to do.

        Raises
        ------
        FileExistsError
            The output exists and neither ``resume`` (same recipe and input) nor
            ``overwrite`` allows reusing or replacing it.
        """
        import zarr

        exists = self.path.exists()
        reuse = False
        if exists:
            old = self.stored_meta()
            if resume and old is not None and self._same_run(old):
                reuse = True
            elif overwrite:
                shutil.rmtree(self.path)
            else:
                why = ("it was made by another recipe or from another input; "
                       if resume and old is not None else "")
                raise FileExistsError(f"{str(self.path)!r} already exists; {why}pass "
                                      "--overwrite to replace it"
                                      + ("" if resume else " or --resume to finish it"))
        chunks = tuple(c[0] for c in result.chunks)
        if not reuse:
            group = zarr.open_group(str(self.path), mode="w", zarr_format=2)
            group.create_array("0", shape=result.shape, chunks=chunks, dtype=result.dtype,
                               fill_value=0)
            group.attrs.update(self._attrs(result.shape, complete=False))
        markers = self.path / _MARKERS
        markers.mkdir(exist_ok=True)
        done = {p.name for p in markers.iterdir()}
        tasks = []
        blocks = result.to_delayed()
        starts = [np.concatenate([[0], np.cumsum(c)]) for c in result.chunks]
        for index in np.ndindex(*result.numblocks):
            name = _block_id(index)
            if name in done:
                continue
            region = tuple(slice(int(starts[a][i]), int(starts[a][i + 1]))
                           for a, i in enumerate(index))
            tasks.append(dask.delayed(_write_chunk)(
                blocks[index], self.array_path, region, str(markers / name)))
        return tasks

    def finish(self, shape) -> None:
        """Mark the output complete (after every chunk task succeeded)."""
        import zarr

        group = zarr.open_group(str(self.path), mode="r+", zarr_format=2)
        group.attrs.update(self._attrs(shape, complete=True))


def regular_chunks(arr: da.Array, tile: int | None) -> da.Array:
    """Rechunk to a regular grid (zarr needs one): ``tile`` per axis, or the first chunk."""
    sizes = tuple(
        min(s, tile if tile else max(c[0], 1)) for s, c in zip(arr.shape, arr.chunks,
                                                                strict=True)
    )
    target = tuple((sz,) * (s // sz) + ((s % sz,) if s % sz else ())
                   for s, sz in zip(arr.shape, sizes, strict=True))
    return arr if target == arr.chunks else arr.rechunk(sizes)
