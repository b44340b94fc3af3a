"""Palettes (row ``k`` = colour of label ``k``) and their JSON files."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._atomic import _checks, atomic_write
from ._common import MaskReadError, PathLike, _existing

__all__ = ["load_palette", "save_palette"]


def _write_bytes(payload: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)

    return write


def _check_distinct(pal: NDArray[np.uint8]) -> None:
    """Refuse two labels with one colour: a pixel of that colour would have no single label."""
    _, first, inverse = np.unique(pal, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    dup = np.flatnonzero(first[inverse] != np.arange(len(pal)))
    if dup.size:
        k = int(dup[0])
        labels = np.flatnonzero(inverse == inverse[k]).tolist()
        shown = " and ".join(str(i) for i in labels)
        raise ValueError(
            f"palette has duplicate colour {pal[k].tolist()} for labels {shown}, so a "
            "pixel of that colour would have no single label; make the palette colours "
            "distinct (each row a different colour)"
        )


def _as_palette(palette: ArrayLike) -> NDArray[np.uint8]:
    arr = np.asarray(palette)
    if arr.ndim != 2 or arr.shape[1] not in (3, 4) or arr.shape[0] == 0:
        raise ValueError(
            "palette must be an (n, 3) RGB or (n, 4) RGBA array with one row per "
            f"label, got shape {arr.shape}"
        )
    if arr.dtype == bool or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"palette must hold integers 0..255, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError("palette must hold whole numbers 0..255 (8-bit colours)")
    if arr.min() < 0 or arr.max() > 255:
        raise ValueError(
            f"palette values must be 8-bit (0..255), got {arr.min()}..{arr.max()}; "
            "16-bit colours are not supported: divide them by 257 first"
        )
    pal = arr.astype(np.uint8)
    _check_distinct(pal)
    return pal


# ----------------------------------------------------------------------------
# palettes
# ----------------------------------------------------------------------------


def save_palette(path: PathLike, palette: ArrayLike, *, overwrite: bool = False) -> Path:
    """Save a palette as JSON: a list of ``[r, g, b]`` (or ``[r, g, b, a]``) rows.

    Parameters
    ----------
    path : str or path-like
        Destination file (conventionally ``.json``).
    palette : (n, 3) or (n, 4) array-like
        Row ``k`` is the colour of label ``k``, values 0..255.
    overwrite : bool, optional
        Replace ``path`` if it exists. Default False: refuse.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, os
    >>> from napari_maskclean.io import load_palette, save_palette
    >>> path = os.path.join(tempfile.mkdtemp(), "palette.json")
    >>> _ = save_palette(path, [[0, 0, 0], [255, 0, 0]])
    >>> load_palette(path).tolist()
    [[0, 0, 0], [255, 0, 0]]
    """
    pal = _as_palette(palette)
    target = Path(os.fspath(path))
    _checks(target, overwrite=overwrite)
    rows = ",\n".join("  " + json.dumps([int(v) for v in row]) for row in pal)
    atomic_write(target, _write_bytes(f"[\n{rows}\n]\n".encode()), overwrite=overwrite)
    return target


def load_palette(path: PathLike) -> NDArray[np.uint8]:
    """Load a palette saved by :func:`save_palette`.

    Parameters
    ----------
    path : str or path-like
        A JSON file holding a list of ``[r, g, b]`` or ``[r, g, b, a]`` rows.

    Returns
    -------
    palette : (n, 3) or (n, 4) ndarray of uint8
        Row ``k`` is the colour of label ``k``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MaskReadError
        If the file is not valid JSON, not a list of equal-length rows of
        integers 0..255, or two rows have the same colour (a ValueError).

    Examples
    --------
    >>> import tempfile, os
    >>> from napari_maskclean.io import load_palette
    >>> path = os.path.join(tempfile.mkdtemp(), "palette.json")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("[[0, 0, 0], [0, 255, 0]]")
    >>> load_palette(path).shape
    (2, 3)
    """
    p = _existing(path)
    if p.is_dir():
        raise MaskReadError(f"{str(p)!r} is a folder, not a palette file; give a .json file")
    try:
        rows = json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MaskReadError(
            f"{str(p)!r} is not valid JSON ({err}); expected [[r, g, b], ...]"
        ) from None
    except OSError as err:
        raise MaskReadError(f"cannot read {str(p)!r}: {err.strerror or err}") from None
    if (
        not isinstance(rows, list)
        or not rows
        or not all(isinstance(row, list) for row in rows)
        or len({len(row) for row in rows}) != 1
        or not all(isinstance(v, int) and not isinstance(v, bool) for row in rows for v in row)
    ):
        raise MaskReadError(
            f"{str(p)!r} is not a palette: expected a JSON list of [r, g, b] "
            "(or [r, g, b, a]) rows of integers, one row per label, e.g. [[0, 0, 0], [255, 0, 0]]"
        )
    if any(not 0 <= v <= 255 for row in rows for v in row):
        raise MaskReadError(
            f"{str(p)!r} is not a palette: every colour value must be 8-bit, between 0 and 255"
        )
    try:
        return _as_palette(np.array(rows, dtype=np.int64))
    except ValueError as err:
        raise MaskReadError(f"{str(p)!r} is not a usable palette: {err}") from None
