"""The files of a dataset report (:mod:`.report`): reading masks and pairing them by stem.

Files are read through :mod:`napari_maskclean.io`, exactly as the napari reader
reads them; a pair that cannot be compared raises :class:`_Skip` with the reason.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from napari_maskclean import io


class _Skip(Exception):
    """A file pair cannot be compared; the message is the reason."""


def _read_mask(path: Path, positive: float | None) -> np.ndarray:
    try:
        if io.is_rgb_file(path):
            if positive is not None:
                raise _Skip(
                    f"{path.name} is an RGB image, where foreground = any non-black "
                    f"pixel; positive={positive} only applies to label images"
                )
            rgb = io.read_image(path)
            a = rgb[..., :3].any(axis=-1) if rgb.ndim == 3 else rgb
        else:
            a = io.read_mask(path)
    except (io.MaskReadError, OSError) as exc:
        # the io message names the full path; the report names the file
        reason = str(exc).replace(repr(str(path)), path.name).replace(str(path), path.name)
        if path.name not in reason:
            reason = f"cannot read {path.name}: {reason}"
        raise _Skip(reason) from None
    if a.ndim > 2:
        a = np.squeeze(a)
    return a


def _read_lazy(path: Path, positive: float | None, tile_size: int | None, size_limit: int):
    """A mask as a dask array: big files (zarr, large TIFF) lazily, others read whole."""
    import dask.array as da

    from napari_maskclean.batch import lazy_io

    if not lazy_io.is_large(path, size_limit=size_limit):
        a = _read_mask(path, positive)
        return da.from_array(a, chunks=lazy_io._tile_chunks(a.shape, tile_size, a.itemsize))
    try:
        if positive is not None and io.is_rgb_file(path):
            _read_mask(path, positive)  # raises the reader's reason
        a = lazy_io.open_lazy(path, tile_size=tile_size, size_limit=size_limit)
    except (io.MaskReadError, OSError) as exc:
        raise _Skip(str(exc).replace(str(path), path.name)) from None
    return lazy_io.squeeze(a)


def _natural_key(name: str) -> list[Any]:
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", name)]


def _is_single(path: Path) -> bool:
    """A mask file, or a zarr folder (one volume, not a folder of masks)."""
    return path.is_file() or (path.is_dir() and path.suffix.lower() == ".zarr")


def _listing(path: Path) -> tuple[dict[str, Path], dict[str, list[Path]]]:
    """Mask files of a folder (or a single file) by stem, plus ambiguous stems."""
    if _is_single(path):
        return {path.stem: path}, {}
    found: dict[str, list[Path]] = {}
    for f in path.iterdir():
        if f.name.startswith(".") or f.suffix.lower() not in io.MASK_EXTENSIONS:
            continue
        if f.is_file() or (f.suffix.lower() == ".zarr" and f.is_dir()):
            found.setdefault(f.stem, []).append(f)
    unique = {k: v[0] for k, v in found.items() if len(v) == 1}
    dup = {k: sorted(v) for k, v in found.items() if len(v) > 1}
    return unique, dup
