"""npe2 reader: open label images and RGB colour-coded masks as Labels layers.

A thin contribution over :mod:`napari_maskclean.io`:

* an 8-bit RGB(A) PNG or TIFF with at most 256 colours
  (:func:`napari_maskclean.io.is_rgb_mask_file`) opens as a Labels layer whose
  colours are exactly the file's colours (label 0 = black, shown transparent;
  a file without black gets a black placeholder as label 0, so that no class
  is napari's background label), with the palette
  in ``layer.metadata["palette"]`` (row ``k`` = colour of label ``k``), so that
  the writer can save it back as the same colours;
* a noisy colour mask - a JPEG, or a PNG/TIFF with more colours (anti-aliased
  edges) - opens the same way when it clearly is a mask: a few dominant
  colours cover most pixels (:func:`napari_maskclean.core.fill.looks_like_color_mask`).
  Its class colours are estimated, JPEG noise snaps to them and edge blends
  take the class of their neighbours (:func:`~napari_maskclean.core.fill.fill_rgb_mask`,
  off-palette pixels only). Photographs fail the test and are left to napari's
  own reader;
* a single-channel integer PNG or TIFF (grey, 16-bit or indexed PNG; any
  number of TIFF pages) that looks like labels opens as a Labels layer with its
  values unchanged. "Looks like labels": at most two values, or mostly
  piecewise constant (at least half of the pixels equal their right-hand
  neighbour, on the first plane). Grey photographs and microscopy images are
  noisy and fail this test, so napari opens them with its own reader without
  asking which reader to use.

Anything else (photographs, grey images that are not piecewise constant,
float images, colour images without dominant colours, folders, several paths) is left
to other readers: :func:`get_reader` returns None for it and never raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .core.fill import fill_rgb_mask, looks_like_color_mask, palette_color_dict

#: Extensions this reader is registered for (see the manifest).
READER_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg")

LayerDataTuple = tuple[Any, dict[str, Any], str]


#: Fraction of pixels equal to their right-hand neighbour above which a grey
#: image counts as labels (label images: > 0.9; noisy photographs: < 0.3).
PIECEWISE_CONSTANT = 0.5


def _looks_like_labels(plane: np.ndarray) -> bool:
    """At most two values, or mostly piecewise constant along rows."""
    plane = np.asarray(plane)
    if plane.ndim < 2 or plane.size == 0:
        return plane.size > 0
    plane = plane.reshape(-1, plane.shape[-1])[:4096]  # enough rows to decide
    if plane.shape[-1] > 1 and np.mean(plane[:, 1:] == plane[:, :-1]) >= PIECEWISE_CONSTANT:
        return True
    values = np.unique(plane[:: max(1, plane.shape[0] // 64)])  # a binary mask, even noisy?
    return values.size <= 2 and bool(np.isin(plane, values).all())


def _is_label_png(path: Path) -> bool:
    """Grey (8/16-bit), grey+alpha or indexed PNG whose values look like labels."""
    header = io._png_header(path)  # (bit depth, colour type), None if not a PNG
    if header is None or header[1] not in (0, 3, 4):  # grey, palette, grey + alpha
        return False
    return _looks_like_labels(io.read_mask(path))


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
        if dtype == np.bool_:
            return True
        return np.issubdtype(dtype, np.integer) and _looks_like_labels(page.asarray())


def _has_alpha(path: Path) -> bool:
    """True for an RGBA PNG or TIFF (4 samples per pixel)."""
    if path.suffix.lower() == ".png":
        header = io._png_header(path)
        return header is not None and header[1] == 6  # colour type 6: RGBA
    if path.suffix.lower() not in (".tif", ".tiff"):
        return False  # JPEG: no alpha
    import tifffile

    with tifffile.TiffFile(path) as tif:
        return getattr(tif.pages.first, "samplesperpixel", 1) == 4


def get_reader(path: str | list[str]) -> Callable[[str], list[LayerDataTuple]] | None:
    """Return a reader for a label image or an RGB colour-coded mask, else None.

    Parameters
    ----------
    path : str or list of str
        What napari asks to open. Only a single ``.png``/``.tif``/``.tiff``/
        ``.jpg``/``.jpeg`` file is handled.

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
        if _is_noisy_rgb_mask(p):
            return read_noisy_rgb_mask_layer
        if p.suffix.lower() in (".jpg", ".jpeg"):
            return None
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
        with the file's colours, and ``metadata={"palette": palette}``. Label
        0 is black (transparent); when the file has no black, palette row 0 is
        a black placeholder and the file's colours are labels 1, 2, ...
    """
    if isinstance(path, (list, tuple)):
        path = path[0]
    labels, palette = io.read_rgb_mask(path, snap=0)
    return _rgb_layer(labels, palette, path)


def _read_rgb(path: Path) -> np.ndarray | None:
    """The 8-bit RGB(A) image of a file, or None if it is not one."""
    rgb = io.read_image(path)
    if rgb.ndim != 3 or rgb.shape[-1] not in (3, 4) or rgb.dtype != np.uint8:
        return None
    if rgb.shape[-1] == 4 and (rgb[..., 3] == 255).all():
        rgb = np.ascontiguousarray(rgb[..., :3])
    return rgb


def _is_noisy_rgb_mask(path: Path) -> bool:
    """An 8-bit colour image whose few dominant colours cover most pixels."""
    if path.suffix.lower() == ".png":
        header = io._png_header(path)
        if header is None or header[0] != 8 or header[1] not in (2, 6):
            return False
    rgb = _read_rgb(path)
    return rgb is not None and looks_like_color_mask(rgb)


def read_noisy_rgb_mask_layer(path: str | list[str]) -> list[LayerDataTuple]:
    """Read a JPEG or anti-aliased colour mask as labels with its estimated class colours.

    Parameters
    ----------
    path : str
        An 8-bit RGB(A) PNG, TIFF or JPEG that :func:`looks_like_color_mask`.

    Returns
    -------
    list of tuple
        As :func:`read_rgb_mask_layer`: int32 labels, one per estimated class
        colour (every pixel gets a class), and the palette in the metadata.
    """
    if isinstance(path, (list, tuple)):
        path = path[0]
    rgb = _read_rgb(Path(os.fspath(path)))
    if rgb is None:
        raise ValueError(f"{str(path)!r} is not an 8-bit RGB(A) colour mask")
    res = fill_rgb_mask(rgb, invalid="off-palette")
    return _rgb_layer(res.labels, res.palette, path)


def _rgb_layer(labels: np.ndarray, palette: np.ndarray, path) -> list[LayerDataTuple]:
    """A Labels layer tuple coloured by ``palette``, label 0 kept for black."""
    if palette.shape[1] == 3 and _has_alpha(Path(os.fspath(path))):
        # an opaque RGBA file: keep the alpha column, so it is saved back as RGBA
        palette = np.hstack([palette, np.full((len(palette), 1), 255, np.uint8)])
    if (palette[0, :3] != 0).any():
        # No black in the file: label 0 would be a real class, which napari treats
        # as background (the eraser paints it, 'preserve labels' ignores it). Keep 0
        # for "no colour" (transparent black; erased pixels are saved as black).
        placeholder = np.zeros((1, palette.shape[1]), np.uint8)
        palette = np.vstack([placeholder, palette])
        labels = labels + 1
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
