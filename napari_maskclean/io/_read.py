"""Reading: images, label masks and colour-coded RGB masks.

PNG/JPEG are decoded with OpenCV (Pillow reads indexed PNGs and counts colours
for :func:`is_rgb_mask_file`), TIFF through tifffile, ``.npy`` through NumPy
and zarr directories through zarr when it is installed. Every failure to read
a file (empty, truncated, damaged, not an image, a folder, no permission) is
one :class:`MaskReadError` naming the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._common import (
    IMAGE_EXTENSIONS,
    MASK_EXTENSIONS,
    RGB_MASK_EXTENSIONS,
    MaskReadError,
    PathLike,
    _check_extension,
    _damaged,
    _existing,
    _extension,
    _png_header,
)
from ._palette import _as_palette, load_palette

__all__ = ["is_rgb_file", "is_rgb_mask_file", "read_image", "read_mask", "read_rgb_mask"]

_MAX_MASK_COLORS = 256

def _decode(path: Path) -> NDArray[Any]:
    """Decode a PNG/JPEG with OpenCV, keeping bit depth; colour in RGB(A) order."""
    # np.fromfile + imdecode also works for non-ASCII paths on Windows.
    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise MaskReadError(
            f"cannot read {str(path)!r}: the file is damaged, truncated or not "
            f"really a {_extension(path).lstrip('.').upper()} image; export it again"
        )
    if data.ndim == 3 and data.shape[2] == 3:
        data = cv2.cvtColor(data, cv2.COLOR_BGR2RGB)
    elif data.ndim == 3 and data.shape[2] == 4:
        data = cv2.cvtColor(data, cv2.COLOR_BGRA2RGBA)
    header = _png_header(path) if _extension(path) == ".png" else None
    if header is not None and header[1] == 0 and header[0] < 8 and data.ndim == 2:
        # OpenCV scales 1/2/4-bit grey to 0..255 (a 0/1 mask reads as 0/255):
        # undo it, so that the values are the file's values.
        data = data // np.uint8(255 // (2 ** header[0] - 1))
    return data


def _read_png_indices(path: Path) -> NDArray[Any] | None:
    """Return the index array of an indexed (palette) PNG, else None."""
    header = _png_header(path)
    if header is None or header[1] != 3:
        return None
    from PIL import Image

    with Image.open(path) as im:
        if im.mode != "P":
            return None
        return np.asarray(im).copy()


def _read_zarr(path: Path) -> NDArray[Any]:
    try:
        import zarr
    except ImportError:
        raise MaskReadError(
            f"reading {str(path)!r} needs the zarr package: pip install zarr"
        ) from None
    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Array):
        return np.asarray(node[...])
    attrs = dict(node.attrs)
    multiscales = attrs.get("multiscales") or attrs.get("ome", {}).get("multiscales")
    if multiscales:
        # OME-Zarr: the first dataset is the full-resolution level.
        return np.asarray(node[multiscales[0]["datasets"][0]["path"]][...])
    keys = sorted(node.array_keys())
    if len(keys) == 1:
        return np.asarray(node[keys[0]][...])
    raise MaskReadError(
        f"{str(path)!r} is a zarr group with {len(keys)} arrays {keys}; "
        f"pass the array's own path, e.g. {str(path / keys[0]) if keys else str(path)!r}"
    )


def _read_array(path: Path, ext: str, *, indexed_as_labels: bool) -> NDArray[Any]:
    """Decode ``path``; any failure of a decoder is one MaskReadError naming the file."""
    try:
        return _decode_any(path, ext, indexed_as_labels=indexed_as_labels)
    except (MaskReadError, MemoryError):
        raise
    except Exception as err:  # cv2.error, TiffFileError, EOFError, OSError, zlib.error, ...
        raise _damaged(path, err) from None


def _decode_any(path: Path, ext: str, *, indexed_as_labels: bool) -> NDArray[Any]:
    if ext == ".zarr":
        return _read_zarr(path)
    if ext == ".npy":
        with open(path, "rb") as fh:
            if fh.read(6) != b"\x93NUMPY":
                raise MaskReadError(
                    f"cannot read {str(path)!r}: not a NumPy .npy file (no .npy header); "
                    "save arrays with np.save(path, array)"
                )
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as err:
            if "allow_pickle" not in str(err):
                raise  # truncated or damaged
            raise MaskReadError(
                f"{str(path)!r} holds Python objects, not a plain array; "
                "save it with np.save(path, array) from a numeric array"
            ) from None
    if ext in (".tif", ".tiff"):
        import tifffile

        return np.asarray(tifffile.imread(path))
    if ext == ".png" and indexed_as_labels:
        indices = _read_png_indices(path)
        if indices is not None:
            return indices
    return _decode(path)


def _is_rgb_tiff(path: Path) -> bool:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        return int(page.photometric) == int(tifffile.PHOTOMETRIC.RGB)


def is_rgb_file(path: PathLike) -> bool:
    """Whether a mask file stores colours (RGB/RGBA PNG or TIFF), not label values.

    Indexed (palette) PNGs are not: their indices are labels. The CLI and
    the GUI use this to read a file the same way: colour files with
    :func:`read_rgb_mask` or :func:`read_image`, others with :func:`read_mask`.

    Parameters
    ----------
    path : str or path-like
        A file that exists.

    Returns
    -------
    bool

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MaskReadError
        If the file cannot be read (empty, damaged, a folder, no permission).
    """
    p = _existing(path)
    ext = _extension(p)
    try:
        if ext == ".png":
            header = _png_header(p)
            return header is not None and header[1] in (2, 6)
        if ext in (".tif", ".tiff"):
            return _is_rgb_tiff(p)
    except Exception as err:
        raise _damaged(p, err) from None
    return False


# ----------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------


def read_image(path: PathLike) -> NDArray[Any]:
    """Read an image as stored: grey, RGB(A) (channels last, RGB order) or nD.

    Parameters
    ----------
    path : str or path-like
        A ``.png``, ``.jpg``/``.jpeg``, ``.tif``/``.tiff`` (first series, all
        pages), ``.npy`` file, or a ``.zarr`` directory (needs zarr; for an
        OME-Zarr group the full-resolution level is read).

    Returns
    -------
    image : ndarray
        The pixel data with its stored dtype (16-bit PNGs stay uint16).
        Indexed (palette) PNGs are expanded to RGB(A).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MaskReadError
        If the file type is not supported or the file cannot be read (empty,
        truncated, damaged, not an image, a folder, no permission). A
        subclass of ValueError; the message names the file.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import read_image
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npy")
    >>> np.save(path, np.eye(3, dtype=np.uint8))
    >>> read_image(path).shape
    (3, 3)
    """
    p = _existing(path)
    ext = _check_extension(p, IMAGE_EXTENSIONS, "read image", MaskReadError)
    return _read_array(p, ext, indexed_as_labels=False)


def read_mask(path: PathLike) -> NDArray[Any]:
    """Read a label image (or binary mask) with its values unchanged.

    Parameters
    ----------
    path : str or path-like
        A ``.png`` (8/16-bit grey; an indexed PNG gives its palette indices,
        the usual way of storing class labels), ``.tif``/``.tiff``, ``.npy``
        or ``.zarr``.

    Returns
    -------
    labels : ndarray
        Integer or boolean labels, any number of dimensions. Whole-number
        float data (as Fiji saves label images) is converted to int32, or
        int64 when the values need it.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MaskReadError
        If the file type is not supported, the file cannot be read (empty,
        truncated, damaged, not an image, a folder, no permission), it is a
        colour image (use :func:`read_rgb_mask`), or it holds non-integer
        values (a probability map: threshold it instead). A subclass of
        ValueError; the message names the file.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import read_mask, write_mask
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.png")
    >>> _ = write_mask(path, np.array([[0, 1], [2, 300]], dtype=np.int32))
    >>> read_mask(path).tolist()
    [[0, 1], [2, 300]]
    """
    p = _existing(path)
    ext = _check_extension(p, MASK_EXTENSIONS, "read mask", MaskReadError)
    if is_rgb_file(p):
        raise MaskReadError(
            f"{str(p)!r} is a colour image, not a label image; read colour-coded "
            "masks with read_rgb_mask(path, palette)"
        )
    data = _read_array(p, ext, indexed_as_labels=True)
    if ext == ".png" and data.ndim == 3:
        # Grey + alpha PNGs: keep the grey values.
        data = np.ascontiguousarray(data[..., 0])
    if data.dtype == bool or np.issubdtype(data.dtype, np.integer):
        return data
    if np.issubdtype(data.dtype, np.floating):
        if np.isnan(data).any():
            raise MaskReadError(
                f"{str(p)!r} contains NaN, so it is not a label image; replace NaN "
                "first, e.g. np.nan_to_num(mask, nan=0), and save it again"
            )
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
            raise MaskReadError(
                f"{str(p)!r} holds non-integer values, so it is not a label image "
                "(a probability map?); read it with read_image and threshold it"
            )
        lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
        info = np.iinfo(np.int32)
        dtype = np.int32 if info.min <= lo and hi <= info.max else np.int64
        return data.astype(dtype)
    raise MaskReadError(
        f"{str(p)!r} has dtype {data.dtype}, which is not a label image; "
        "labels must be integers or booleans"
    )


def read_rgb_mask(
    path: PathLike,
    palette: ArrayLike | PathLike | None = None,
    *,
    snap: float | None = None,
) -> tuple[NDArray[np.int32], NDArray[np.uint8]]:
    """Read a colour-coded RGB(A) mask and convert it to labels.

    Parameters
    ----------
    path : str or path-like
        An 8-bit RGB or RGBA ``.png``, ``.tif``/``.tiff``, ``.jpg``/``.jpeg``
        or ``.npy``. Indexed PNGs are expanded to their colours.
    palette : (n, 3) or (n, 4) array-like, str, path-like or None, optional
        Row ``k`` is the colour of label ``k``. A path is read with
        :func:`load_palette`. ``None`` builds the palette from the colours
        found (black first, as label 0).
    snap : float, optional
        Only with a ``palette``: off-palette pixels (anti-aliasing, JPEG noise)
        within this colour distance (0..255 units) of a palette colour get the
        label of the nearest one; see
        :func:`napari_maskclean.core.colors.rgb_to_labels`. ``None``
        (default): a distance chosen from the palette (3/4 of the smallest
        gap between two palette colours, see
        :func:`napari_maskclean.core.colors.auto_snap`), so JPEG and
        anti-aliased masks read right at the default; ``0``: exact colours
        only, the others are marked invalid (-1).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Label ``k`` where the pixel has palette colour ``k``, -1 where the
        colour is not in the palette (unless snapped).
    palette : (n, 3) or (n, 4) ndarray of uint8
        The palette used.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    MaskReadError
        If the file cannot be read (empty, truncated, damaged, not an image,
        a folder, no permission) or is not 8-bit RGB(A) (grey images: use
        :func:`read_mask`; 16-bit colour is not supported).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import read_rgb_mask, write_rgb_mask
    >>> palette = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], dtype=np.uint8)
    >>> path = os.path.join(tempfile.mkdtemp(), "mask.png")
    >>> _ = write_rgb_mask(path, np.array([[0, 1], [2, 1]]), palette)
    >>> labels, _ = read_rgb_mask(path, palette)
    >>> labels.tolist()
    [[0, 1], [2, 1]]
    """
    p = _existing(path)
    ext = _check_extension(p, RGB_MASK_EXTENSIONS, "read RGB mask", MaskReadError)
    rgb = _read_array(p, ext, indexed_as_labels=False)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise MaskReadError(
            f"{str(p)!r} has shape {rgb.shape}, not an (H, W, 3) or (H, W, 4) colour "
            "image; read label images with read_mask"
        )
    if rgb.dtype != np.uint8:
        bits = rgb.dtype.itemsize * 8
        raise MaskReadError(
            f"{str(p)!r} is a {bits}-bit {rgb.dtype} colour image; colour-coded masks "
            "must be 8-bit RGB: convert it, e.g. (rgb // 257).astype(np.uint8) for 16-bit"
        )
    if palette is not None and isinstance(palette, (str, os.PathLike)):
        palette = load_palette(palette)
    elif palette is not None:
        palette = _as_palette(palette)
    if rgb.shape[2] == 4 and (palette is None or palette.shape[1] == 3):
        if np.all(rgb[..., 3] == 255):
            rgb = np.ascontiguousarray(rgb[..., :3])
        elif palette is not None:
            raise MaskReadError(
                f"{str(p)!r} is RGBA with transparent pixels but the palette is RGB; "
                "give an (n, 4) RGBA palette"
            )
    from napari_maskclean.core.colors import rgb_to_labels

    return rgb_to_labels(rgb, palette, snap=snap)


def is_rgb_mask_file(path: PathLike) -> bool:
    """Tell cheaply whether a file looks like a colour-coded RGB mask.

    True for 8-bit RGB/RGBA PNG or TIFF files with at most 256 distinct
    colours. Indexed (palette) PNGs return False: their indices already are
    labels, read them with :func:`read_mask`. Never raises.

    Parameters
    ----------
    path : str or path-like
        File to check.

    Returns
    -------
    bool
        Whether a reader should treat the file as a colour-coded mask.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import is_rgb_mask_file, write_mask
    >>> path = os.path.join(tempfile.mkdtemp(), "labels.png")
    >>> _ = write_mask(path, np.zeros((4, 4), dtype=np.uint8))
    >>> is_rgb_mask_file(path)
    False
    """
    try:
        p = Path(os.fspath(path))
        if not p.is_file():
            return False
        ext = _extension(p)
        if ext == ".png":
            header = _png_header(p)
            if header is None or header[0] != 8 or header[1] not in (2, 6):
                return False
            from PIL import Image

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    with Image.open(p) as im:
                        return im.mode in ("RGB", "RGBA") and _has_few_colors(im, _MAX_MASK_COLORS)
            except Image.DecompressionBombError:  # very large: Pillow refuses, OpenCV not
                rgb = _decode(p)
                return rgb.dtype == np.uint8 and _has_few_colors(rgb, _MAX_MASK_COLORS)
        if ext in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(p) as tif:
                series = tif.series[0]
                if (
                    series.dtype != np.uint8
                    or len(series.shape) != 3
                    or series.shape[-1] not in (3, 4)
                ):
                    return False
                rgb = np.asarray(series.asarray())
            return _has_few_colors(rgb, _MAX_MASK_COLORS)
        return False
    except Exception:  # a cheap probe must never break a reader
        return False


def _has_few_colors(image: Any, limit: int) -> bool:
    """Whether a Pillow image or an RGB(A) uint8 array has at most ``limit`` colours."""
    from PIL import Image

    if isinstance(image, np.ndarray):
        image = Image.fromarray(np.ascontiguousarray(image))
    # getcolors gives up (None) as soon as it meets more than ``limit`` colours.
    return image.getcolors(limit) is not None
