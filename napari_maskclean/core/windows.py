"""The compared window: the part of two layers that is compared, and boxes in it.

napari-free. A *window* is a key into a layer's full array: per axis an
integer (a fixed slice of a stack; the axis is dropped) or a
``slice(start, stop)`` (the overlapping region of two layers of different
shapes). Edits arrive as boxes of the full array and are counted in window
coordinates; corrections are written back through the inverse mapping.

* :func:`common_shape` -- the shape two arrays are compared on (or why not).
* :func:`merge_boxes` -- bound the number of boxes re-counted after an edit.
* :func:`local_box`, :func:`full_box` -- map boxes between the full array and the window.
* :func:`component_region` -- a component's box grown by a margin, with its mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Box",
    "Key",
    "common_shape",
    "component_region",
    "full_box",
    "local_box",
    "merge_boxes",
]

Box = tuple[slice, ...]
Key = tuple[Any, ...]  # integers and slices, one per axis of a layer's array


def _fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def common_shape(
    shape_a: Sequence[int],
    shape_b: Sequence[int],
    *,
    names: tuple[str, str] = ("prediction", "ground truth"),
    crop: bool = False,
) -> tuple[int, ...]:
    """Return the shape both arrays are compared on, or explain why they cannot be.

    Parameters
    ----------
    shape_a, shape_b : sequence of int
        Shapes of the two arrays.
    names : (str, str)
        How the two arrays are called in the error messages.
    crop : bool, default False
        Compare only the overlapping region (the top-left corner common to
        both arrays) when the shapes differ.

    Returns
    -------
    tuple of int
        The shape compared: the common shape, or the overlap with ``crop``.

    Raises
    ------
    ValueError
        If the numbers of dimensions differ (both are named), or if the shapes
        differ and ``crop`` is False (both shapes and the overlap are named).

    Examples
    --------
    >>> common_shape((4, 5), (4, 5))
    (4, 5)
    >>> common_shape((4, 5), (3, 6), crop=True)
    (3, 5)
    """
    a = tuple(int(s) for s in shape_a)
    b = tuple(int(s) for s in shape_b)
    if len(a) != len(b):
        raise ValueError(
            f"{names[0]} is {len(a)}D {_fmt_shape(a)} but {names[1]} is {len(b)}D "
            f"{_fmt_shape(b)}; choose two layers with the same number of dimensions "
            "(e.g. the matching 2D slice, or a 3D ground truth for a 3D prediction)"
        )
    overlap = tuple(min(x, y) for x, y in zip(a, b))
    if a != b and not crop:
        raise ValueError(
            f"{names[0]} has shape {_fmt_shape(a)} but {names[1]} has shape "
            f"{_fmt_shape(b)}; compare only their overlapping region {_fmt_shape(overlap)} "
            "('compare overlapping region', crop=True) or choose layers of the same shape"
        )
    if any(s == 0 for s in overlap):
        raise ValueError(
            f"{names[0]} {_fmt_shape(a)} and {names[1]} {_fmt_shape(b)} do not overlap "
            "(a zero-length axis); choose non-empty layers"
        )
    return overlap


def merge_boxes(boxes: Sequence[Box], max_boxes: int = 16) -> list[Box]:
    """Return ``boxes``, or their union when there are more than ``max_boxes``.

    Re-counting overlapping boxes one by one is correct (each re-reads the
    current values); the union only bounds the number of calls.

    Examples
    --------
    >>> merge_boxes([(slice(0, 2), slice(5, 6)), (slice(4, 5), slice(1, 3))], max_boxes=1)
    [(slice(0, 5, None), slice(1, 6, None))]
    """
    boxes = list(boxes)
    if len(boxes) <= max_boxes:
        return boxes
    ndim = len(boxes[0])
    return [
        tuple(
            slice(min(b[d].start for b in boxes), max(b[d].stop for b in boxes))
            for d in range(ndim)
        )
    ]


def local_box(box: Sequence[slice], key: Key) -> Box | None:
    """Map a box in a layer's full array into the compared window.

    Parameters
    ----------
    box : tuple of slice
        A box in full-array coordinates (one slice per axis, no steps).
    key : tuple
        The window: per axis an integer (a fixed slice of a stack: that axis is
        dropped) or a ``slice(start, stop)``.

    Returns
    -------
    tuple of slice or None
        The part of ``box`` inside the window, in window coordinates; None if
        they do not intersect.

    Examples
    --------
    >>> local_box((slice(2, 3), slice(5, 20), slice(0, 4)), (2, slice(0, 10), slice(0, 10)))
    (slice(5, 10, None), slice(0, 4, None))
    >>> local_box((slice(0, 2), slice(0, 4), slice(0, 4)), (2, slice(0, 10), slice(0, 10))) is None
    True
    """
    out = []
    for b, k in zip(box, key):
        if isinstance(k, slice):
            k0, k1 = int(k.start or 0), int(k.stop)
            lo, hi = max(int(b.start), k0), min(int(b.stop), k1)
            if lo >= hi:
                return None
            out.append(slice(lo - k0, hi - k0))
        elif not int(b.start) <= int(k) < int(b.stop):
            return None
    return tuple(out)


def full_box(local: Sequence[slice], key: Key, *, margin: int = 0) -> Key:
    """Map a box of the compared window back to a layer's full array.

    Parameters
    ----------
    local : tuple of slice
        Box in window coordinates.
    key : tuple
        The window (see :func:`local_box`).
    margin : int, default 0
        Grow the box by this many pixels on each side (clipped to the window).

    Returns
    -------
    tuple
        Integers for the fixed axes and slices elsewhere: index a layer's data
        with it, or pass it as ``region`` to a write.

    Examples
    --------
    >>> full_box((slice(5, 10), slice(0, 4)), (2, slice(0, 10), slice(0, 10)))
    (2, slice(5, 10, None), slice(0, 4, None))
    """
    it = iter(local)
    out: list[Any] = []
    for k in key:
        if isinstance(k, slice):
            s = next(it)
            k0, k1 = int(k.start or 0), int(k.stop)
            out.append(slice(max(k0, k0 + int(s.start) - margin),
                             min(k1, k0 + int(s.stop) + margin)))
        else:
            out.append(int(k))
    return tuple(out)


def component_region(
    box: Sequence[slice], mask: npt.ArrayLike, shape: Sequence[int], *, margin: int = 1
) -> tuple[Box, np.ndarray]:
    """Grow a component's box by ``margin`` pixels (clipped) and pad its mask to match.

    Examples
    --------
    >>> big, m = component_region((slice(0, 1), slice(2, 3)), np.ones((1, 1), bool), (4, 4))
    >>> big, m.astype(int).tolist()
    ((slice(0, 2, None), slice(1, 4, None)), [[0, 1, 0], [0, 0, 0]])
    """
    big = tuple(
        slice(max(0, int(b.start) - margin), min(int(n), int(b.stop) + margin))
        for b, n in zip(box, shape)
    )
    out = np.zeros(tuple(b.stop - b.start for b in big), dtype=bool)
    inner = tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, big))
    out[inner] = np.asarray(mask, dtype=bool)
    return big, out
