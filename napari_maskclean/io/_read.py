"""Read and write images, label masks, colour-coded RGB masks and palettes.

napari-free: PNG/JPEG are decoded with OpenCV (Pillow reads indexed PNGs and
counts colours for :func:`is_rgb_mask_file`), TIFF through tifffile, ``.npy`` through NumPy and zarr
directories through zarr when it is installed.

Label images keep their values exactly: PNG stores ``bool``/``uint8`` labels
as 8-bit and any other integer labels as 16-bit (0..65535); TIFF and ``.npy``
store the array's own dtype, any shape. Colour-coded masks are 8-bit RGB(A)
images whose colours map to labels through a palette, an ``(n, 3)`` or
``(n, 4)`` uint8 array where row ``k`` is the colour of label ``k``
(see :mod:`napari_maskclean.core.colors`).
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "IMAGE_EXTENSIONS",
    "MASK_EXTENSIONS",
    "MASK_WRITE_EXTENSIONS",
    "RGB_MASK_EXTENSIONS",
    "read_image",
    "read_mask",
    "read_rgb_mask",
    "write_mask",
    "write_rgb_mask",
    "is_rgb_mask_file",
    "save_palette",
    "load_palette",
]

PathLike = str | os.PathLike[str]

#: Extensions :func:`read_image` understands (``.zarr`` needs zarr).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy", ".zarr")
#: Extensions :func:`read_mask` understands (no lossy JPEG).
MASK_EXTENSIONS = (".png", ".tif", ".tiff", ".npy", ".zarr")
#: Extensions :func:`write_mask` writes.
MASK_WRITE_EXTENSIONS = (".png", ".tif", ".tiff", ".npy")
#: Extensions :func:`read_rgb_mask` understands.
RGB_MASK_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX = 65535
_MAX_MASK_COLORS = 256


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------


def _extension(path: Path) -> str:
    return path.suffix.lower()


def _check_extension(path: Path, allowed: tuple[str, ...], what: str) -> str:
    ext = _extension(path)
    if path.is_dir() and ext != ".zarr" and ".zarr" in allowed and _looks_like_zarr(path):
        return ".zarr"
    if ext not in allowed:
        shown = ext or "no extension"
        raise ValueError(
            f"cannot {what} {str(path)!r}: unsupported file type ({shown}); "
            f"supported: {', '.join(allowed)}"
        )
    return ext


def _existing(path: PathLike) -> Path:
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(
            f"{str(p)!r} does not exist; check the path (relative paths are resolved "
            f"from {os.getcwd()!r})"
        )
    return p


def _looks_like_zarr(path: Path) -> bool:
    return any((path / name).exists() for name in ("zarr.json", ".zarray", ".zgroup"))


def _png_header(path: Path) -> tuple[int, int] | None:
    """Return (bit depth, colour type) of a PNG, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def _decode(path: Path) -> NDArray[Any]:
    """Decode a PNG/JPEG with OpenCV, keeping bit depth; colour in RGB(A) order."""
    # np.fromfile + imdecode also works for non-ASCII paths on Windows.
    data = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise ValueError(
            f"could not decode {str(path)!r}; the file is damaged or not really a "
            f"{_extension(path)} image"
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
        raise ValueError(
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
    raise ValueError(
        f"{str(path)!r} is a zarr group with {len(keys)} arrays {keys}; "
        f"pass the array's own path, e.g. {str(path / keys[0]) if keys else str(path)!r}"
    )


def _read_array(path: Path, ext: str, *, indexed_as_labels: bool) -> NDArray[Any]:
    if ext == ".zarr":
        return _read_zarr(path)
    if ext == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as err:
            raise ValueError(
                f"{str(path)!r} holds Python objects, not a plain array; "
                "save it with np.save(path, array) from a numeric array"
            ) from err
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


def _check_labels(labels: ArrayLike, name: str = "labels") -> NDArray[Any]:
    arr = np.asarray(labels)
    if arr.dtype != bool and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must be an integer or boolean array, got dtype {arr.dtype}; "
            f"convert it first, e.g. {name}.astype(np.int32) for whole-number floats"
        )
    if arr.ndim < 2:
        raise ValueError(f"{name} must be at least 2D, got shape {arr.shape}")
    return arr


def _target(path: PathLike, *, overwrite: bool) -> Path:
    p = Path(os.fspath(path))
    if p.exists() and not overwrite:
        raise FileExistsError(f"{str(p)!r} already exists; pass overwrite=True to replace it")
    if p.is_dir():
        raise IsADirectoryError(f"{str(p)!r} is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"folder {str(parent)!r} does not exist; create it first "
            "(e.g. Path(folder).mkdir(parents=True))"
        )
    return p


def _atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then move it into place."""
    # A plain new file (not mkstemp, which creates it 0600) so the usual
    # permissions apply; the random name avoids clashes between writers.
    tmp = str(path.parent / f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _write_bytes(payload: bytes) -> Callable[[str], None]:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)

    return write


def _encode_png(image: NDArray[Any], path: Path) -> bytes:
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV always ships a PNG encoder
        raise ValueError(f"OpenCV could not encode {str(path)!r} as PNG")
    return buf.tobytes()


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
    return arr.astype(np.uint8)


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
    ValueError
        If the file type is not supported or the file cannot be decoded.

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
    ext = _check_extension(p, IMAGE_EXTENSIONS, "read image")
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
    ValueError
        If the file type is not supported, the file is a colour image (use
        :func:`read_rgb_mask`), or it holds non-integer values (a probability
        map: threshold it instead).

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
    ext = _check_extension(p, MASK_EXTENSIONS, "read mask")
    colour = False
    if ext == ".png":
        header = _png_header(p)
        colour = header is not None and header[1] in (2, 6)
    elif ext in (".tif", ".tiff"):
        colour = _is_rgb_tiff(p)
    if colour:
        raise ValueError(
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
        if not np.all(np.isfinite(data)) or np.any(data != np.round(data)):
            raise ValueError(
                f"{str(p)!r} holds non-integer values, so it is not a label image "
                "(a probability map?); read it with read_image and threshold it"
            )
        lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
        info = np.iinfo(np.int32)
        dtype = np.int32 if info.min <= lo and hi <= info.max else np.int64
        return data.astype(dtype)
    raise ValueError(
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
        :func:`napari_maskclean.core.colors.rgb_to_labels`. ``None``: they
        are marked invalid (-1).

    Returns
    -------
    labels : (H, W) ndarray of int32
        Label ``k`` where the pixel has palette colour ``k``, -1 where the
        colour is not in the palette (unless snapped).
    palette : (n, 3) or (n, 4) ndarray of uint8
        The palette used.

    Raises
    ------
    ValueError
        If the image is not 8-bit RGB(A) (grey images: use :func:`read_mask`;
        16-bit colour is not supported).

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
    ext = _check_extension(p, RGB_MASK_EXTENSIONS, "read RGB mask")
    rgb = _read_array(p, ext, indexed_as_labels=False)
    if rgb.ndim != 3 or rgb.shape[2] not in (3, 4):
        raise ValueError(
            f"{str(p)!r} has shape {rgb.shape}, not an (H, W, 3) or (H, W, 4) colour "
            "image; read label images with read_mask"
        )
    if rgb.dtype != np.uint8:
        bits = rgb.dtype.itemsize * 8
        raise ValueError(
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
            raise ValueError(
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


# ----------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------


def write_mask(path: PathLike, labels: ArrayLike, *, overwrite: bool = False) -> Path:
    """Write a label image (or binary mask) losslessly.

    The format follows the extension. ``.png``: 2D only, labels 0..65535;
    ``bool``/``uint8`` labels are stored as 8-bit, any other integer dtype as
    16-bit. ``.tif``/``.tiff`` (zlib-compressed) and ``.npy`` keep the array's
    dtype and shape (3D and larger, negative labels, more than 65535 labels).

    Parameters
    ----------
    path : str or path-like
        Destination file; its folder must exist.
    labels : array-like of int or bool
        The labels to write.
    overwrite : bool, optional
        Replace ``path`` if it exists. Default False: refuse.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    TypeError
        If ``labels`` is not an integer or boolean array.
    ValueError
        If the extension is not supported or the labels do not fit in a PNG
        (not 2D, negative, or above 65535): save as ``.tif`` instead.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import read_mask, write_mask
    >>> path = os.path.join(tempfile.mkdtemp(), "volume.tif")
    >>> _ = write_mask(path, np.zeros((2, 3, 4), dtype=np.int32))
    >>> read_mask(path).shape
    (2, 3, 4)
    """
    target = Path(os.fspath(path))
    ext = _check_extension(target, MASK_WRITE_EXTENSIONS, "write mask")
    arr = _check_labels(labels)
    target = _target(target, overwrite=overwrite)
    if ext == ".png":
        if arr.ndim != 2:
            raise ValueError(
                f"PNG holds 2D label images only, got shape {arr.shape}; "
                "save 3D or multi-channel labels as .tif"
            )
        if arr.dtype == bool or arr.dtype == np.uint8:
            stored = arr.astype(np.uint8)
        else:
            lo = int(arr.min()) if arr.size else 0
            hi = int(arr.max()) if arr.size else 0
            if lo < 0:
                raise ValueError(
                    f"PNG cannot store negative labels (minimum {lo}); set invalid "
                    "pixels to 0 first, or save as .tif"
                )
            if hi > _PNG_MAX:
                raise ValueError(
                    f"label {hi} is too large for a 16-bit PNG (maximum {_PNG_MAX}); "
                    "save as .tif, or renumber with skimage.segmentation.relabel_sequential"
                )
            stored = arr.astype(np.uint16)
        _atomic_write(target, _write_bytes(_encode_png(stored, target)))
    elif ext in (".tif", ".tiff"):
        import tifffile

        def _tiff(tmp: str) -> None:
            tifffile.imwrite(
                tmp,
                np.ascontiguousarray(arr),
                photometric="minisblack",
                compression="zlib",
                bigtiff=arr.nbytes > 2**31,
            )

        _atomic_write(target, _tiff)
    else:  # .npy

        def _npy(tmp: str) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)

        _atomic_write(target, _npy)
    return target


def write_rgb_mask(
    path: PathLike,
    labels: ArrayLike,
    palette: ArrayLike,
    *,
    overwrite: bool = False,
) -> Path:
    """Write labels as a colour-coded RGB(A) PNG (lossless).

    Parameters
    ----------
    path : str or path-like
        Destination ``.png`` file; its folder must exist.
    labels : (H, W) array-like of int
        Labels 0..n-1.
    palette : (n, 3) or (n, 4) array-like of uint8
        Row ``k`` is the colour of label ``k``; an RGBA palette gives an
        RGBA PNG.
    overwrite : bool, optional
        Replace ``path`` if it exists. Default False: refuse.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    ValueError
        If ``path`` is not a ``.png``, ``labels`` is not 2D, a label has no
        palette row (including -1 for invalid pixels: fill them first), or the
        palette is not 8-bit.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from napari_maskclean.io import read_image, write_rgb_mask
    >>> palette = np.array([[0, 0, 0], [255, 0, 0]], dtype=np.uint8)
    >>> path = os.path.join(tempfile.mkdtemp(), "mask.png")
    >>> _ = write_rgb_mask(path, np.array([[0, 1]]), palette)
    >>> read_image(path).tolist()
    [[[0, 0, 0], [255, 0, 0]]]
    """
    target = Path(os.fspath(path))
    _check_extension(target, (".png",), "write RGB mask")
    arr = _check_labels(labels)
    if arr.ndim != 2:
        raise ValueError(f"labels must be a 2D image, got shape {arr.shape}")
    pal = _as_palette(palette)
    if arr.size:
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0:
            raise ValueError(
                f"labels contain {lo}, which has no colour; fill invalid (-1) pixels "
                "first with napari_maskclean.core.holes.fill_nearest(labels, invalid=-1), "
                "or set them to 0"
            )
        if hi >= len(pal):
            raise ValueError(
                f"label {hi} has no colour: the palette has {len(pal)} rows "
                f"(labels 0..{len(pal) - 1}); add rows to the palette"
            )
    target = _target(target, overwrite=overwrite)
    from napari_maskclean.core.colors import labels_to_rgb

    rgb = np.asarray(labels_to_rgb(arr.astype(np.int32, copy=False), pal), dtype=np.uint8)
    _atomic_write(target, _write_bytes(_encode_png(rgb, target)))
    return target


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
    target = _target(path, overwrite=overwrite)
    rows = ",\n".join("  " + json.dumps([int(v) for v in row]) for row in pal)
    _atomic_write(target, _write_bytes(f"[\n{rows}\n]\n".encode()))
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
    ValueError
        If the file is not valid JSON or not a list of equal-length rows of
        integers 0..255.

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
    try:
        rows = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{str(p)!r} is not valid JSON ({err}); expected [[r, g, b], ...]"
        ) from None
    if (
        not isinstance(rows, list)
        or not rows
        or not all(isinstance(row, list) for row in rows)
        or len({len(row) for row in rows}) != 1
        or not all(isinstance(v, int) and not isinstance(v, bool) for row in rows for v in row)
    ):
        raise ValueError(
            f"{str(p)!r} is not a palette: expected a JSON list of [r, g, b] "
            "(or [r, g, b, a]) rows of integers, one row per label, e.g. [[0, 0, 0], [255, 0, 0]]"
        )
    if any(not 0 <= v <= 255 for row in rows for v in row):
        raise ValueError(
            f"{str(p)!r} is not a palette: every colour value must be 8-bit, between 0 and 255"
        )
    return _as_palette(np.array(rows, dtype=np.int64))
