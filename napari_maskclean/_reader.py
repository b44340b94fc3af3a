"""npe2 reader: open label images and RGB colour-coded masks as Labels layers.

A thin contribution over :mod:`napari_maskclean.io`:

* an 8-bit RGB(A) PNG or TIFF with at most 256 colours
  (:func:`napari_maskclean.io.is_rgb_mask_file`) opens as a Labels layer whose
  colours are exactly the file's colours (label 0 = the first colour in
  lexicographic order, black if present, shown transparent), with the palette
  in ``layer.metadata["palette"]`` (row ``k`` = colour of label ``k``), so that
  the writer can save it back as the same colours;
* a single-channel integer PNG or TIFF (grey, 16-bit or indexed PNG; any
  number of TIFF pages) opens as a Labels layer with its values unchanged.

Anything else (photographs, float images, colour images with more colours,
folders, several paths) is left to other readers: :func:`get_reader` returns
None for it and never raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .core.fill import palette_color_dict

#: Extensions this reader is registered for (see the manifest).
READER_EXTENSIONS = (".png", ".tif", ".tiff")

LayerDataTuple = tuple[Any, dict[str, Any], str]


def _is_label_png(path: Path) -> bool:
    """Grey (8/16-bit), grey+alpha or indexed PNG: values are labels."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return False
    return head[25] in (0, 3, 4)  # colour types: grey, palette, grey + alpha


def _is_label_tiff(path: Path) -> bool:
    """Integer TIFF without colour channels."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        if int(page.photometric) in (int(tifffile.PHOTOMETRIC.RGB),
                                     int(tifffile.PHOTOMETRIC.YCBCR)):
            return False
        if getattr(page, "samplesperpixel", 1) != 1:
            return False
        dtype = np.dtype(tif.series[0].dtype)
    return dtype == np.bool_ or np.issubdtype(dtype, np.integer)


def get_reader(path: str | list[str]) -> Callable[[str], list[LayerDataTuple]] | None:
    """Return a reader for a label image or an RGB colour-coded mask, else None.

    Parameters
    ----------
    path : str or list of str
        What napari asks to open. Only a single ``.png``/``.tif``/``.tiff`` file
        is handled.

    Returns
    -------
    callable or None
        ``reader(path) -> [(data, kwargs, "labels")]``, or None when this plugin
        does not handle ``path`` (never raises).
    """
    try:
        if isinstance(path, (list, tuple)):
            if len(path) != 1:
                return None
            path = path[0]
        p = Path(os.fspath(path))
        if p.suffix.lower() not in READER_EXTENSIONS or not p.is_file():
            return None
        if io.is_rgb_mask_file(p):
            return read_rgb_mask_layer
        if p.suffix.lower() == ".png":
            return read_labels_layer if _is_label_png(p) else None
        return read_labels_layer if _is_label_tiff(p) else None
    except Exception:  # a probe must never break napari's open
        return None


def _name(path: str | list[str]) -> str:
    if isinstance(path, (list, tuple)):
        path = path[0]
    return Path(os.fspath(path)).stem


def read_rgb_mask_layer(path: str | list[str]) -> list[LayerDataTuple]:
    """Read an RGB colour-coded mask as labels coloured exactly like the file.

    Parameters
    ----------
    path : str
        An RGB(A) PNG or TIFF with at most 256 colours.

    Returns
    -------
    list of tuple
        One ``(labels, kwargs, "labels")``: int32 labels, a direct colormap
        with the file's colours, and ``metadata={"palette": palette}``.
    """
    if isinstance(path, (list, tuple)):
        path = path[0]
    labels, palette = io.read_rgb_mask(path)
    kwargs = {
        "name": _name(path),
        "colormap": palette_color_dict(palette),
        "metadata": {"palette": palette, "source": str(path)},
        "opacity": 1.0,
    }
    return [(labels, kwargs, "labels")]


def read_labels_layer(path: str | list[str]) -> list[LayerDataTuple]:
    """Read a label image (PNG or TIFF) with its values unchanged.

    Parameters
    ----------
    path : str
        A single-channel integer PNG or TIFF.

    Returns
    -------
    list of tuple
        One ``(labels, {"name": ...}, "labels")``.
    """
    if isinstance(path, (list, tuple)):
        path = path[0]
    labels = io.read_mask(path)
    return [(labels, {"name": _name(path), "metadata": {"source": str(path)}}, "labels")]
