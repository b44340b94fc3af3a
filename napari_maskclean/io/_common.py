"""Shared pieces of :mod:`napari_maskclean.io`: extensions, the read error, path checks."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "IMAGE_EXTENSIONS",
    "MASK_EXTENSIONS",
    "MASK_WRITE_EXTENSIONS",
    "RGB_MASK_EXTENSIONS",
    "MaskReadError",
    "PathLike",
]

PathLike = str | os.PathLike[str]

#: Extensions :func:`read_image` understands (``.zarr`` needs zarr).
IMAGE_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy", ".zarr")
#: Extensions :func:`read_mask` understands (no lossy JPEG). The one list of
#: mask file types: ``maskclean compare`` (:mod:`napari_maskclean.report`)
#: pairs exactly these files.
MASK_EXTENSIONS = (".png", ".tif", ".tiff", ".npy", ".zarr")
#: Extensions :func:`write_mask` writes.
MASK_WRITE_EXTENSIONS = (".png", ".tif", ".tiff", ".npy")
#: Extensions :func:`read_rgb_mask` understands.
RGB_MASK_EXTENSIONS = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".npy")

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class MaskReadError(ValueError):
    """A file cannot be read, with a message naming it and saying what to do.

    Raised for empty, damaged or truncated files, files that are not images,
    folders, files without read permission, and files that do not hold the
    kind of data the function reads (a colour image given to ``read_mask``).
    A file that does not exist raises :class:`FileNotFoundError` instead.
    """


def _extension(path: Path) -> str:
    return path.suffix.lower()


def _looks_like_zarr(path: Path) -> bool:
    return any((path / name).exists() for name in ("zarr.json", ".zarray", ".zgroup"))


def _check_extension(
    path: Path, allowed: tuple[str, ...], what: str, error: type[ValueError] = ValueError
) -> str:
    ext = _extension(path)
    if path.is_dir() and ext != ".zarr" and ".zarr" in allowed and _looks_like_zarr(path):
        return ".zarr"
    if ext not in allowed:
        shown = ext or "no extension"
        raise error(
            f"cannot {what} {str(path)!r}: unsupported file type ({shown}); "
            f"supported: {', '.join(allowed)}"
        )
    return ext


def _existing(path: PathLike) -> Path:
    """The path of a file to read; FileNotFoundError / MaskReadError if it cannot be one."""
    p = Path(os.fspath(path))
    if not p.exists():
        raise FileNotFoundError(
            f"{str(p)!r} does not exist; check the path (relative paths are resolved "
            f"from {os.getcwd()!r})"
        )
    if p.is_dir() and not (_extension(p) == ".zarr" or _looks_like_zarr(p)):
        raise MaskReadError(f"{str(p)!r} is a folder, not an image file; give a file name")
    if p.is_file():
        if p.stat().st_size == 0:
            raise MaskReadError(
                f"{str(p)!r} is empty (0 bytes): an interrupted copy or save? "
                "Copy or export the file again"
            )
        if not os.access(p, os.R_OK):
            raise MaskReadError(
                f"cannot read {str(p)!r}: permission denied; check the file's permissions"
            )
    return p


def _damaged(path: Path, err: BaseException) -> MaskReadError:
    """The one message for a file that a decoder choked on."""
    if isinstance(err, PermissionError):
        return MaskReadError(
            f"cannot read {str(path)!r}: permission denied; check the file's permissions"
        )
    if isinstance(err, IsADirectoryError):
        return MaskReadError(f"{str(path)!r} is a folder, not an image file; give a file name")
    detail = " ".join(str(err).split())  # one line; decoder messages can be multi-line
    if len(detail) > 160:
        detail = detail[:157] + "..."
    kind = _extension(path).lstrip(".").upper() or "image"
    return MaskReadError(
        f"cannot read {str(path)!r}: the file is damaged, truncated or not really a "
        f"{kind} file ({type(err).__name__}: {detail}); export it again"
    )


def _png_header(path: Path) -> tuple[int, int] | None:
    """Return (bit depth, colour type) of a PNG, or None if it is not a PNG."""
    with open(path, "rb") as fh:
        head = fh.read(26)
    if len(head) < 26 or head[:8] != _PNG_SIGNATURE or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]
