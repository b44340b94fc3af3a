"""Writing label masks and colour-coded RGB masks, through :func:`atomic_write`."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._atomic import _checks, atomic_write
from ._common import MASK_WRITE_EXTENSIONS, PathLike, _check_extension
from ._palette import _as_palette

__all__ = ["write_mask", "write_rgb_mask"]

_PNG_MAX = 65535


def _write_bytes(payload: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(payload)

    return write

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


def _encode_png(image: NDArray[Any], path: Path) -> bytes:
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:  # pragma: no cover - OpenCV always ships a PNG encoder
        raise ValueError(f"OpenCV could not encode {str(path)!r} as PNG")
    return buf.tobytes()


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
    _checks(target, overwrite=overwrite)  # before any work
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
        atomic_write(target, _write_bytes(_encode_png(stored, target)), overwrite=overwrite)
    elif ext in (".tif", ".tiff"):
        import tifffile

        def _tiff(tmp: Path) -> None:
            tifffile.imwrite(
                tmp,
                np.ascontiguousarray(arr),
                photometric="minisblack",
                compression="zlib",
                bigtiff=arr.nbytes > 2**31,
            )

        atomic_write(target, _tiff, overwrite=overwrite)
    else:  # .npy

        def _npy(tmp: Path) -> None:
            with open(tmp, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)

        atomic_write(target, _npy, overwrite=overwrite)
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
    _checks(target, overwrite=overwrite)  # before any work
    from napari_maskclean.core.colors import labels_to_rgb

    rgb = np.asarray(labels_to_rgb(arr.astype(np.int32, copy=False), pal), dtype=np.uint8)
    atomic_write(target, _write_bytes(_encode_png(rgb, target)), overwrite=overwrite)
    return target
