"""npe2 writer: save a Labels layer as a label image or as its RGB colours.

A thin contribution over :mod:`napari_maskclean.io`:

* ``.png`` with a palette in the layer's metadata (``metadata["palette"]``,
  row ``k`` = colour of label ``k``, as set by this plugin's reader and by the
  *Fill holes* widget for RGB masks): an RGB(A) PNG with exactly those
  colours (:func:`napari_maskclean.io.write_rgb_mask`), lossless, so a
  colour-coded mask opened and cleaned in napari is saved back in its own
  colours;
* otherwise ``.png`` (2D, labels 0..65535; 8-bit for uint8/bool labels, else
  16-bit) or ``.tif``/``.tiff`` (any shape and integer dtype, zlib-compressed)
  with the label values (:func:`napari_maskclean.io.write_mask`). TIFF files
  always hold label values, also for layers with a palette.

Overwriting: napari calls a writer only after its own *Save* dialog has
confirmed replacing an existing file, so an existing ``path`` is replaced
(atomically, through :func:`napari_maskclean.io.atomic_write`: a temporary
file is written, then moved into place, so a failed or interrupted save never
leaves a half-written file). Scripts that call ``layer.save(path)``
or these functions directly replace existing files too; check
``os.path.exists(path)`` first if that matters. Errors (3D data to PNG,
negative labels, a label without a palette colour) raise with a message that
says what to do, and nothing is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import io

#: Extensions this writer is registered for (see the manifest).
WRITER_EXTENSIONS = (".png", ".tif", ".tiff")


def _palette(meta: dict[str, Any]) -> np.ndarray | None:
    metadata = meta.get("metadata") or {}
    palette = metadata.get("palette")
    return None if palette is None else np.asarray(palette)


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Write one Labels layer to ``path`` (npe2 single-layer writer).

    Parameters
    ----------
    path : str
        Destination ``.png``, ``.tif`` or ``.tiff`` file; an existing file is
        replaced (napari's Save dialog has asked).
    data : array-like
        The layer's labels.
    meta : dict
        The layer's attributes; ``meta["metadata"]["palette"]`` selects the
        colour output for ``.png``.

    Returns
    -------
    list of str
        The path written.

    Raises
    ------
    ValueError
        If the extension is not supported or the labels do not fit the format.
    IsADirectoryError, OSError
        If ``path`` is a folder or its folder is missing or not writable (the
        message names ``path``).
    """
    target = Path(os.fspath(path))
    ext = target.suffix.lower()
    if ext not in WRITER_EXTENSIONS:
        raise ValueError(
            f"cannot save labels as {ext or 'a file without extension'}: "
            f"use one of {', '.join(WRITER_EXTENSIONS)}"
        )
    labels = np.asarray(data)
    palette = _palette(meta)
    if ext == ".png" and palette is not None:
        written = io.write_rgb_mask(target, labels, palette, overwrite=True)
    else:
        written = io.write_mask(target, labels, overwrite=True)
    return [str(written)]
