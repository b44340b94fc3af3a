"""Hole filling and island clean-up of label images and colour-coded masks, in one call.

These functions chain the building blocks of :mod:`napari_maskclean.core.holes`
(exact nearest-label filling, small-island removal) and
:mod:`napari_maskclean.core.colors` (colour masks <-> labels with a palette)
into the operations that the *Fill holes* widget, recipes and scripts run:

* :func:`fill_labels` cleans a label image: fill invalid pixels (all of them,
  or holes up to a size) from the nearest valid label, then remove small
  islands.
* :func:`fill_rgb_mask` does the same for an RGB(A) colour-coded mask and
  returns labels plus the palette, so that the colours are kept exactly.
* :func:`estimate_palette` finds the colours of a noisy colour mask
  (in :mod:`.palette`, re-exported here).
* :func:`change_preview` and :func:`palette_color_dict` turn a result into
  what a viewer shows: the pixels that change, and the palette's colours
  (in :mod:`.preview` and :mod:`.palette`, re-exported here).

The input is never modified. nD stacks are cleaned as a whole (1 to 3 spatial
axes) or slice by slice (``per_slice=True``: each 2D plane of the last two axes
on its own, any number of leading axes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._fill_checks import (
    _check_colour,
    _check_labels,
    _check_nonneg_int,
    _check_rgb_mask,
    _check_snap,
    _plane_spacing,
)
from .colors import INVALID_LABEL, labels_to_rgb, rgb_to_labels
from .holes import _hole_components, fill_nearest, fill_nearest_from, remove_islands
from .palette import AUTO_MERGE as AUTO_MERGE
from .palette import (
    MAX_PALETTE_COLORS,
    _exact_palette,
    estimate_palette,
    looks_like_color_mask,
    palette_color_dict,
)
from .preview import ChangePreview, change_preview
from .slicing import plane_indices

__all__ = [
    "RGB_INVALID_MODES",
    "ChangePreview",
    "RGBFill",
    "change_preview",
    "estimate_palette",
    "fill_labels",
    "fill_rgb_mask",
    "looks_like_color_mask",
    "palette_color_dict",
]

#: What counts as invalid in a colour mask (the order is used by the widget).
RGB_INVALID_MODES = ("auto", "colour + off-palette", "colour", "off-palette")
RGBInvalidMode = Literal["auto", "colour + off-palette", "colour", "off-palette"]


_NOTHING = "nothing to fill from"


class RGBFill(NamedTuple):
    """Result of :func:`fill_rgb_mask`.

    Attributes
    ----------
    labels : ndarray of int32
        Cleaned labels, shape of the mask without the channel axis; label
        ``k`` has colour ``palette[k]``.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
        Row ``k`` is the colour of label ``k``.
    changed : ndarray of bool
        True where the cleaned colour (``palette[labels]``) differs from the
        input colour.
    invalid : str
        The mode applied: ``invalid`` as given, or what ``"auto"`` chose.
    colour_is_class : bool
        True when the invalid colour covers more pixels than any other colour
        (after snapping): it is then a class (the background?), not holes, and
        filling all of it would repaint the mask. ``"auto"`` then fills only
        off-palette pixels unless ``max_hole_size`` limits the holes.
    """

    labels: NDArray[np.int32]
    palette: NDArray[np.uint8]
    changed: NDArray[np.bool_]
    invalid: str = "colour + off-palette"
    colour_is_class: bool = False


def _per_plane(func, arrays: Sequence[NDArray], shape, per_slice: bool) -> list:
    """Run ``func`` on each plane; skip planes with nothing to fill from, unless all are."""
    planes = plane_indices(shape, per_slice)
    results: list = []
    errors: list[ValueError] = []
    for idx in planes:
        try:
            results.append((idx, func(*(a[idx] for a in arrays))))
        except ValueError as err:
            if len(planes) == 1 or _NOTHING not in str(err):
                raise
            errors.append(err)
            results.append((idx, None))  # left as it is
    if errors and len(errors) == len(planes):
        raise ValueError(f"{errors[0]} (in every slice)")
    return results


# ----------------------------------------------------------------------------
# label images
# ----------------------------------------------------------------------------


def fill_labels(
    labels: ArrayLike,
    *,
    invalid: int = 0,
    max_hole_size: int | None = None,
    max_distance: float | None = None,
    dilate_invalid: float = 0,
    min_island_size: int = 0,
    connectivity: int = 1,
    spacing: Sequence[float] | float | None = None,
    per_slice: bool = False,
) -> NDArray:
    """Fill invalid pixels from the nearest valid label, then remove small islands.

    Equivalent to :func:`~napari_maskclean.core.holes.fill_nearest` followed
    (when ``min_island_size`` > 0) by
    :func:`~napari_maskclean.core.holes.remove_islands`, optionally slice by
    slice.

    Parameters
    ----------
    labels : array_like of int
        Label image with 1 to 3 spatial axes (any number with ``per_slice``).
    invalid : int, optional
        The label of the pixels to fill (default 0).
    max_hole_size : int, optional
        Only fill connected invalid regions of at most this many pixels; None
        (default) fills every invalid pixel.
    max_distance : float, optional
        Leave invalid pixels farther than this (units of ``spacing``) from any
        valid pixel unchanged; None = no limit.
    dilate_invalid : float, optional
        First grow the pixels to fill by this distance, so that ragged edges
        around them are redrawn from farther inside (default 0).
    min_island_size : int, optional
        After filling, remove connected regions of equal label smaller than
        this many pixels, refilling them from the nearest remaining label
        (0, the default, keeps them).
    connectivity : int, optional
        Neighbourhood of the connected regions: 1 = face neighbours (default)
        up to the number of spatial axes = all neighbours.
    spacing : float or sequence of float, optional
        Pixel size along each axis of ``labels`` (e.g. a layer's scale), for
        anisotropic data. With ``per_slice``, the last two values are used.
    per_slice : bool, optional
        Clean each 2D plane (last two axes) on its own. Planes without any
        valid pixel are left as they are (an error only if every plane is).

    Returns
    -------
    ndarray
        A new label image of the shape and dtype of ``labels``.

    Raises
    ------
    ValueError
        "nothing to fill from" when there is no valid pixel, or for invalid
        options (e.g. ``max_hole_size`` 0); nothing is changed.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import fill_labels
    >>> labels = np.array([[1, 1, 0, 2, 2],
    ...                    [1, 1, 1, 2, 3]])
    >>> fill_labels(labels, max_hole_size=1, min_island_size=2).tolist()
    [[1, 1, 1, 2, 2], [1, 1, 1, 2, 2]]
    """
    arr = _check_labels(labels)
    min_island_size = _check_nonneg_int(min_island_size, "min_island_size", "0 = off")
    plane_spacing = _plane_spacing(spacing, arr.ndim, per_slice)

    def one(plane: NDArray) -> NDArray:
        out = fill_nearest(
            plane,
            invalid=invalid,
            max_hole_size=max_hole_size,
            max_distance=max_distance,
            dilate_invalid=dilate_invalid,
            connectivity=connectivity,
            spacing=plane_spacing,
        )
        if min_island_size:
            out = remove_islands(
                out, min_size=min_island_size, connectivity=connectivity, spacing=plane_spacing
            )
        return out

    results = _per_plane(one, [arr], arr.shape, per_slice)
    if len(results) == 1 and results[0][0] == ():
        return results[0][1]
    out = np.array(arr, copy=True)
    for idx, res in results:
        if res is not None:
            out[idx] = res
    return out


# ----------------------------------------------------------------------------
# colour masks
# ----------------------------------------------------------------------------


def fill_rgb_mask(
    rgb: ArrayLike,
    *,
    invalid: RGBInvalidMode = "auto",
    invalid_color: Sequence[int] = (0, 0, 0),
    palette: ArrayLike | None = None,
    snap: float | None = None,
    palette_min_count: int | None = None,
    palette_max_colors: int = MAX_PALETTE_COLORS,
    max_hole_size: int | None = None,
    max_distance: float | None = None,
    dilate_invalid: float = 0,
    min_island_size: int = 0,
    connectivity: int = 1,
    spacing: Sequence[float] | float | None = None,
    per_slice: bool = False,
) -> RGBFill:
    """Clean a colour-coded mask: labels from colours, fill invalid pixels, remove islands.

    1. The palette: with ``invalid="colour"``, exactly the colours of the mask
       (refused above 256 colours). Otherwise ``palette`` if given, else
       :func:`estimate_palette` (with ``merge=snap`` when ``snap`` > 0).
    2. Colours become labels (label ``k`` = ``palette[k]``). With an
       off-palette mode, colours snapped to a palette colour take its label
       (see ``snap``) and the others are *off-palette*.
    3. In one pass, every pixel to repair takes the colour of a nearest
       pixel that is not repaired (exactly nearest, in ``spacing`` units):
       all off-palette pixels (noise, never "holes": ``max_hole_size`` does
       not apply to them; ``max_distance`` does), and with a colour mode the
       pixels of ``invalid_color`` - all of them, or those in regions of up
       to ``max_hole_size`` pixels (bigger regions of that colour are kept
       and are sources like any other colour). Off-palette pixels left
       unfilled (beyond ``max_distance``) take the invalid colour (added to
       the palette if missing).
    4. Islands smaller than ``min_island_size`` are removed.

    Parameters
    ----------
    rgb : array_like of uint8, shape (..., 3) or (..., 4)
        Channel-last colour mask with 1 to 3 spatial axes (any with
        ``per_slice``).
    invalid : {"auto", "colour + off-palette", "colour", "off-palette"}, optional
        Which pixels are invalid: those of ``invalid_color``, those whose
        colour is not in the palette, or both. ``"auto"`` (default): both,
        unless the invalid colour is a class (it covers more pixels than any
        other colour, e.g. a black background) and ``max_hole_size`` is None:
        then only off-palette pixels, since filling every pixel of the
        largest class would repaint the whole mask. The mode applied is
        returned in ``RGBFill.invalid``.
    invalid_color : sequence of int, optional
        The invalid colour, default black. An RGB colour in an RGBA mask means
        that colour, opaque.
    palette : array_like, shape (n, 3) or (n, 4), optional
        Row ``k`` is the colour of label ``k`` (e.g. from
        :func:`~napari_maskclean.io.load_palette`). Only used by the
        off-palette modes; None estimates it.
    snap : float, optional
        Off-palette modes: colours within this Euclidean distance (0..255
        units) of a palette colour count as that colour; 0 = exact colours
        only. None (default) chooses from the palette, as
        :func:`~napari_maskclean.core.colors.rgb_to_labels` does: JPEG noise
        is snapped, edge blends are filled from their neighbours.
    palette_min_count : int, optional
        Estimating the palette: ignore colours covering fewer pixels (default
        0.01 % of the pixels).
    palette_max_colors : int, optional
        Estimating the palette: keep at most this many colours, the first
        taken (most interior pixels, then most pixels; see
        :func:`estimate_palette`), e.g. the number of classes; default 256.
    max_hole_size, max_distance, dilate_invalid, min_island_size, connectivity
        As in :func:`fill_labels`.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis.
    per_slice : bool, optional
        Clean each 2D plane (the two axes before the channels) on its own,
        with one palette for the whole stack.

    Returns
    -------
    RGBFill
        ``labels`` (int32), ``palette`` (uint8) and ``changed`` (bool, where
        the colour changes).

    Raises
    ------
    ValueError
        If the mask has too many colours for ``invalid="colour"``, there is no
        valid pixel to fill from, or an option is invalid. Nothing is changed.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import fill_rgb_mask
    >>> rgb = np.zeros((1, 5, 3), np.uint8)
    >>> rgb[0, :2] = [255, 0, 0]
    >>> rgb[0, 2] = [90, 90, 90]      # off-palette speck
    >>> rgb[0, 3:] = [0, 0, 255]
    >>> rgb[0, 4] = [0, 0, 0]         # a hole
    >>> res = fill_rgb_mask(rgb, palette=[[0, 0, 0], [255, 0, 0], [0, 0, 255]])
    >>> res.labels.tolist(), res.changed.tolist()
    ([[1, 1, 1, 2, 2]], [[False, False, True, False, True]])
    """
    img = _check_rgb_mask(rgb)
    if invalid not in RGB_INVALID_MODES:
        raise ValueError(f"invalid must be one of {RGB_INVALID_MODES}, got {invalid!r}")
    n_ch = img.shape[-1]
    colour = _check_colour(invalid_color, n_ch)
    if snap is not None:
        snap = _check_snap(snap)
    min_island_size = _check_nonneg_int(min_island_size, "min_island_size", "0 = off")
    spatial = img.shape[:-1]
    plane_spacing = _plane_spacing(spacing, len(spatial), per_slice)
    off_palette = invalid != "colour"

    # 1-2. palette and labels (one palette for the whole stack)
    if not off_palette:
        pal = _exact_palette(img)
        labels, pal = rgb_to_labels(img, pal)
    else:
        if palette is None:
            pal = estimate_palette(
                img, min_count=palette_min_count, max_colors=palette_max_colors,
                merge=snap if snap else None,
            )
        else:
            pal = np.asarray(palette)
        labels, pal = rgb_to_labels(img, pal, snap=snap)
    match = np.flatnonzero((pal == colour).all(axis=1))
    colour_label = int(match[0]) if match.size else None
    colour_is_class = False
    if colour_label is not None:
        counts = np.bincount(labels[labels >= 0].ravel(), minlength=pal.shape[0])
        others = np.delete(counts, colour_label)
        colour_is_class = bool(counts[colour_label] > others.max(initial=0))
    if invalid == "auto":
        invalid = ("off-palette" if colour_is_class and max_hole_size is None
                   else "colour + off-palette")
    if colour_label is None and (labels == INVALID_LABEL).any():
        # leftover off-palette pixels need a label: the invalid colour
        pal = np.vstack([pal, colour[None]])
        colour_label = pal.shape[0] - 1
    fill_colour = invalid != "off-palette" and colour_label is not None

    def one(plane: NDArray[np.int32]) -> NDArray[np.int32]:
        out = plane
        # 3-4. One pass, so that every repaired pixel takes the colour of a nearest
        # pixel that was valid from the start: off-palette noise (always filled, no
        # hole-size rule) and the pixels of the invalid colour (holes up to
        # max_hole_size, or all). Big regions of the invalid colour that are kept
        # stay valid: they are sources. (Filling the two kinds one after the other
        # would let the second copy colours that the first one had just made up.)
        targets = out == INVALID_LABEL
        if fill_colour:
            colour_px = out == colour_label
            if max_hole_size is not None:
                colour_px = _hole_components(colour_px, connectivity, int(max_hole_size))
            targets |= colour_px
        if targets.any():
            out = fill_nearest_from(
                out, targets, max_distance=max_distance, dilate_invalid=dilate_invalid,
                connectivity=connectivity, spacing=plane_spacing,
            )
            out[out == INVALID_LABEL] = colour_label  # beyond max_distance
        if min_island_size:  # 5. islands
            out = remove_islands(
                out, min_size=min_island_size, connectivity=connectivity, spacing=plane_spacing
            )
        return out

    if max_hole_size is not None:  # checked here too: step 4 may not run
        _check_nonneg_int(max_hole_size, "max_hole_size", "None = any size")
        if max_hole_size == 0:
            raise ValueError(
                "max_hole_size must be a positive number of pixels, got 0; "
                "pass None to fill invalid regions of any size"
            )
    results = _per_plane(one, [labels], labels.shape, per_slice)
    if len(results) == 1 and results[0][0] == ():
        out = results[0][1]
    else:
        out = labels.copy()
        for idx, res in results:
            if res is not None:
                out[idx] = res
        # planes with nothing to fill from: leftover off-palette pixels -> invalid colour
        out[out == INVALID_LABEL] = colour_label if colour_label is not None else 0
    out = out.astype(np.int32, copy=False)
    changed = (labels_to_rgb(out, pal) != img).any(axis=-1)
    return RGBFill(out, pal, changed, invalid, colour_is_class)


