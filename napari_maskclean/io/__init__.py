"""Read and write images, label masks, colour-coded RGB masks and palettes.

napari-free. Label images keep their values exactly: PNG stores
``bool``/``uint8`` labels as 8-bit and any other integer labels as 16-bit
(0..65535); TIFF and ``.npy`` store the array's own dtype, any shape.
Colour-coded masks are 8-bit RGB(A) images whose colours map to labels
through a palette, an ``(n, 3)`` or ``(n, 4)`` uint8 array where row ``k`` is
the colour of label ``k`` (see :mod:`napari_maskclean.core.colors`).

Every file is written through :func:`atomic_write` (complete or not at all,
never replacing a file that appeared meanwhile unless asked to); every file
that cannot be read raises :class:`MaskReadError` naming it.
"""

from ._atomic import atomic_write, check_writable
from ._common import (
    IMAGE_EXTENSIONS,
    MASK_EXTENSIONS,
    MASK_WRITE_EXTENSIONS,
    RGB_MASK_EXTENSIONS,
    MaskReadError,
    _png_header,
)
from ._palette import _as_palette, load_palette, save_palette
from ._read import (
    _decode,
    _has_few_colors,
    is_rgb_file,
    is_rgb_mask_file,
    read_image,
    read_mask,
    read_rgb_mask,
)
from ._report import json_text, report_rows, write_report
from ._write import write_mask, write_rgb_mask

__all__ = [
    "IMAGE_EXTENSIONS",
    "MASK_EXTENSIONS",
    "MASK_WRITE_EXTENSIONS",
    "RGB_MASK_EXTENSIONS",
    "MaskReadError",
    "atomic_write",
    "check_writable",
    "is_rgb_file",
    "is_rgb_mask_file",
    "json_text",
    "load_palette",
    "read_image",
    "read_mask",
    "read_rgb_mask",
    "report_rows",
    "save_palette",
    "write_mask",
    "write_report",
    "write_rgb_mask",
]
# private helpers other modules of the package use
_PRIVATE = (_as_palette, _decode, _has_few_colors, _png_header)
