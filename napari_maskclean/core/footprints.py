"""Footprints (structuring elements) of :func:`~napari_maskclean.core.morphology.morphology`.

Named footprints (disk, square, diamond and their 3D counterparts), built
once per (name, radius, ndim), and the check of an explicit footprint. Every
public name is also importable from :mod:`.morphology`.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Literal, get_args

import numpy as np
from numpy.typing import NDArray
from skimage import morphology as skmorph

__all__ = ["FOOTPRINTS", "Footprint", "FootprintName", "make_footprint"]


FootprintName = Literal["disk", "square", "diamond", "ball", "cube", "octahedron"]


#: A footprint name or an explicit footprint (nested lists of 0/1 are JSON-able).
Footprint = FootprintName | Sequence | NDArray


#: Valid ``footprint`` names; 2D names work on 3D data and vice versa.
FOOTPRINTS: tuple[str, ...] = get_args(FootprintName)


_TO_3D = {"disk": "ball", "square": "cube", "diamond": "octahedron"}


_TO_2D = {v: k for k, v in _TO_3D.items()}


def _check_radius(radius: object) -> int:
    if isinstance(radius, bool) or not isinstance(radius, int | np.integer):
        raise ValueError(
            f"radius must be an integer >= 1, got {radius!r} "
            f"({type(radius).__name__}); pass a whole number such as radius=2"
        )
    if radius < 1:
        raise ValueError(
            f"radius must be an integer >= 1, got {radius}; use radius=1 for the smallest footprint"
        )
    return int(radius)


@lru_cache(maxsize=64)
def _named_footprint(name: str, radius: int, ndim: int) -> NDArray[np.bool_]:
    if ndim == 3:
        name = _TO_3D.get(name, name)
    else:
        name = _TO_2D.get(name, name)
    if name == "disk":
        fp = skmorph.disk(radius)
    elif name == "diamond":
        fp = skmorph.diamond(radius)
    elif name == "ball":
        fp = skmorph.ball(radius)
    elif name == "octahedron":
        fp = skmorph.octahedron(radius)
    else:  # square / cube
        fp = skmorph.footprint_rectangle((2 * radius + 1,) * ndim)
    fp = np.ascontiguousarray(fp, dtype=bool)
    fp.setflags(write=False)
    return fp


def make_footprint(name: FootprintName, radius: int, ndim: int = 2) -> NDArray[np.bool_]:
    """Build a named footprint with scikit-image.

    Parameters
    ----------
    name : {"disk", "square", "diamond", "ball", "cube", "octahedron"}
        Footprint shape. Names are mapped to the requested dimensionality:
        ``disk <-> ball``, ``square <-> cube``, ``diamond <-> octahedron``.
    radius : int
        Radius in pixels (>= 1); the footprint has ``2 * radius + 1`` pixels
        along each axis.
    ndim : {2, 3}, optional
        Dimensionality of the footprint.

    Returns
    -------
    footprint : ndarray of bool
        A new array of shape ``(2 * radius + 1,) * ndim``.

    Raises
    ------
    ValueError
        For an unknown name, a radius that is not an integer >= 1, or an
        ``ndim`` other than 2 or 3.

    Examples
    --------
    >>> make_footprint("disk", 1).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    >>> make_footprint("disk", 2, ndim=3).shape  # a ball
    (5, 5, 5)
    """
    if not isinstance(name, str) or name not in FOOTPRINTS:
        raise ValueError(f"unknown footprint {name!r}; use one of {', '.join(FOOTPRINTS)}")
    radius = _check_radius(radius)
    if isinstance(ndim, bool) or ndim not in (2, 3):
        raise ValueError(f"ndim must be 2 or 3, got {ndim!r}")
    return _named_footprint(name, radius, int(ndim)).copy()


def _resolve_footprint(footprint: object, radius: int, ndim: int) -> NDArray[np.bool_]:
    """Return a validated, read-only bool footprint of dimensionality ``ndim``."""
    if isinstance(footprint, str):
        if footprint not in FOOTPRINTS:
            raise ValueError(
                f"unknown footprint {footprint!r}; use one of "
                f"{', '.join(FOOTPRINTS)} or an array of 0/1"
            )
        return _named_footprint(footprint, radius, ndim)
    try:
        arr = np.asarray(footprint)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "footprint must be a name from FOOTPRINTS or an array (nested list) "
            f"of 0/1, got {type(footprint).__name__}"
        ) from exc
    if arr.dtype == object or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
        raise TypeError(
            "footprint must be a name from FOOTPRINTS or an array (nested list) "
            f"of 0/1, got an array of dtype {arr.dtype}"
        )
    if arr.ndim != ndim:
        raise ValueError(
            f"a {arr.ndim}D footprint cannot be used on {ndim}D data; give a {ndim}D "
            f"footprint, or a name such as 'disk' that adapts to the data"
        )
    if any(s % 2 == 0 for s in arr.shape):
        raise ValueError(
            f"footprint must have an odd size along every axis, got shape {arr.shape}; "
            "pad it with zeros to make it centred"
        )
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("footprint values must be 0 or 1 (or bool)")
    fp = np.ascontiguousarray(arr, dtype=bool)
    if not fp[tuple(s // 2 for s in fp.shape)]:
        raise ValueError("footprint centre must be 1")
    if not np.array_equal(fp, fp[(slice(None, None, -1),) * ndim]):
        raise ValueError(
            "footprint must be point-symmetric (equal to itself rotated by 180 "
            "degrees) so that erosion and dilation are well defined; "
            "use footprint | footprint[::-1, ::-1]"
        )
    fp.setflags(write=False)
    return fp
