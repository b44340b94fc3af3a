"""Open big mask files lazily, as dask arrays read chunk by chunk.

* a ``.zarr`` folder (zarr v2 or v3): the array, the only array of a group, or
  level 0 of an OME-Zarr ``multiscales`` group; the zarr chunks are the tiles
  unless a tile size is given;
* a TIFF larger than a size limit: its first series through
  ``tifffile.imread(path, aszarr=True)``, read region by region (each task
  opens the file itself, so the graph pickles for ``dask.distributed``);
* any dask array: passed through;
* anything else (small files): read whole by :func:`napari_maskclean.io.read_mask`
  and wrapped.

Values are those :func:`napari_maskclean.io.read_mask` gives: whole-number
float data becomes integers, checked chunk by chunk (NaN or fractions raise
:class:`~napari_maskclean.io.MaskReadError` naming the file); RGB(A) TIFFs give
their foreground (any non-zero colour channel), as ``maskclean compare`` reads
colour files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
from numpy.typing import NDArray

from .. import io

__all__ = ["DEFAULT_SIZE_LIMIT", "DEFAULT_TILE", "is_large", "open_lazy", "squeeze"]

#: Files larger than this (bytes) are read lazily (TIFF); zarr always is.
DEFAULT_SIZE_LIMIT = 512 * 2**20
#: Default tile (elements per chunk) for TIFFs and for small inputs.
DEFAULT_TILE = 2**24


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def _is_zarr(path: Path) -> bool:
    return path.is_dir() and (
        _suffix(path) == ".zarr"
        or any((path / n).exists() for n in ("zarr.json", ".zarray", ".zgroup"))
    )


def is_large(path: str | os.PathLike, *, size_limit: int = DEFAULT_SIZE_LIMIT) -> bool:
    """Whether a mask file should be compared tile by tile.

    Parameters
    ----------
    path : str or path-like
        A mask file or zarr folder.
    size_limit : int
        TIFF files above this many bytes are large.

    Returns
    -------
    bool
        True for zarr folders and TIFFs over ``size_limit``.
    """
    p = Path(os.fspath(path))
    if _is_zarr(p):
        return True
    return (
        _suffix(p) in (".tif", ".tiff") and p.is_file() and p.stat().st_size > size_limit
    )


def _zarr_array(path: Path):
    import zarr

    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:
        raise io.MaskReadError(
            f"cannot read {str(path)!r}: not a readable zarr array or group ({err})"
        ) from None
    if isinstance(node, zarr.Array):
        return node
    attrs = dict(node.attrs)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:  # OME-Zarr: the first dataset is full resolution
        return node[multiscales[0]["datasets"][0]["path"]]
    keys = sorted(node.array_keys())
    if len(keys) == 1:
        return node[keys[0]]
    raise io.MaskReadError(
        f"{str(path)!r} is a zarr group with {len(keys)} arrays {keys}; "
        f"pass the array's own path, e.g. {str(path / keys[0]) if keys else str(path)!r}"
    )


class _TiffRegions:
    """Array-like over the first series of a TIFF; every read opens the file itself.

    Holding only the path, it pickles, so a graph built on it runs on any
    dask scheduler, processes and clusters included.
    """

    def __init__(self, path: Path) -> None:
        import tifffile

        self.path = str(path)
        with tifffile.TiffFile(self.path) as tif:
            series = tif.series[0]
            self.shape = tuple(int(s) for s in series.shape)
            self.dtype = np.dtype(series.dtype)
            rgb = int(series.pages[0].photometric) == int(tifffile.PHOTOMETRIC.RGB)
            # the colour-sample axis (last when contiguous, first when planar)
            self.channel_axis = series.axes.index("S") if rgb and "S" in series.axes else None
        self.ndim = len(self.shape)

    def __getitem__(self, key: Any) -> NDArray:
        import tifffile
        import zarr

        with tifffile.imread(self.path, aszarr=True) as store:
            z = zarr.open(store, mode="r")
            if not isinstance(z, zarr.Array):  # multi-resolution: level 0
                z = z[sorted(z.array_keys())[0]]
            return np.asarray(z[key])


def _tile_chunks(shape: tuple[int, ...], tile: int | None, itemsize: int) -> Any:
    if tile is None:
        edge = max(1, int(round(DEFAULT_TILE ** (1 / max(len(shape), 1)))))
        return tuple(min(s, edge) for s in shape)
    return tuple(min(s, int(tile)) for s in shape)


def _whole_numbers(block: NDArray, name: str) -> NDArray:
    if np.isnan(block).any():
        raise io.MaskReadError(
            f"{name!r} contains NaN, so it is not a label image; replace NaN first, "
            "e.g. np.nan_to_num(mask, nan=0), and save it again"
        )
    if not np.all(np.isfinite(block)) or np.any(block != np.round(block)):
        raise io.MaskReadError(
            f"{name!r} holds non-integer values, so it is not a label image "
            "(a probability map?); read it with read_image and threshold it"
        )
    return block.astype(np.int64)


def open_lazy(
    source: Any,
    *,
    tile_size: int | None = None,
    size_limit: int = DEFAULT_SIZE_LIMIT,
) -> da.Array:
    """Open a mask as a dask array without reading it.

    Parameters
    ----------
    source : str, path-like or dask.array.Array
        A ``.zarr`` folder, a TIFF, any file :func:`napari_maskclean.io.read_mask`
        reads, or a dask array (returned as it is, rechunked if ``tile_size``).
    tile_size : int, optional
        Chunk edge (pixels per axis). Default: the zarr chunks; for TIFFs and
        small files about 16 M pixels per chunk.
    size_limit : int
        TIFFs above this many bytes are read lazily, smaller ones whole.

    Returns
    -------
    dask.array.Array

    Raises
    ------
    FileNotFoundError
        If the path does not exist.
    napari_maskclean.io.MaskReadError
        If the file cannot be read as a mask (the message names it).
    ValueError
        If ``tile_size`` is not a positive integer.
    """
    if tile_size is not None and (
        isinstance(tile_size, bool) or not isinstance(tile_size, (int, np.integer))
        or tile_size < 1
    ):
        raise ValueError(f"tile_size must be a positive integer, got {tile_size!r}")
    if isinstance(source, da.Array):
        if tile_size is not None:
            return source.rechunk(_tile_chunks(source.shape, tile_size, source.dtype.itemsize))
        return source
    path = Path(os.fspath(source))
    if not path.exists():
        raise FileNotFoundError(f"{str(path)!r} does not exist; pass a mask file or zarr folder")
    if _is_zarr(path):
        z = _zarr_array(path)
        chunks = None if tile_size is None else _tile_chunks(z.shape, tile_size, 1)
        arr = da.from_zarr(z, chunks=chunks) if chunks else da.from_zarr(z)
    elif is_large(path, size_limit=size_limit):
        try:
            reader = _TiffRegions(path)
        except Exception as err:
            raise io.MaskReadError(f"cannot read {str(path)!r}: {err}") from None
        chunks = _tile_chunks(reader.shape, tile_size, reader.dtype.itemsize)
        ax = reader.channel_axis
        if ax is not None:
            chunks = tuple(reader.shape[ax] if d == ax else c for d, c in enumerate(chunks))
        arr = da.from_array(
            reader, chunks=chunks, lock=False, asarray=True,
            meta=np.empty((0,) * reader.ndim, dtype=reader.dtype),
        )
        if ax is not None:  # foreground = any non-zero colour channel, alpha ignored
            colour = tuple(slice(0, 3) if d == ax else slice(None) for d in range(arr.ndim))
            arr = arr[colour].any(axis=ax)
    else:
        if io.is_rgb_file(path):
            rgb = io.read_image(path)
            data = rgb[..., :3].any(axis=-1) if rgb.ndim == 3 else rgb
        else:
            data = io.read_mask(path)
        return da.from_array(data, chunks=_tile_chunks(data.shape, tile_size, data.itemsize))
    if arr.dtype.kind == "f":
        arr = arr.map_blocks(_whole_numbers, str(path), dtype=np.int64)
    elif arr.dtype.kind not in "biu":
        raise io.MaskReadError(
            f"{str(path)!r} has dtype {arr.dtype}, which is not a label image; "
            "labels must be integers or booleans"
        )
    return arr


def squeeze(arr: da.Array) -> da.Array:
    """Drop singleton axes of an array with more than two (as the report does)."""
    if arr.ndim <= 2 or 1 not in arr.shape:
        return arr
    return arr[tuple(0 if s == 1 else slice(None) for s in arr.shape)]
