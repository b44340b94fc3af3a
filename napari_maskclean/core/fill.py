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
* :func:`estimate_palette` finds the colours of a noisy colour mask.
* :func:`change_preview` and :func:`palette_color_dict` turn a result into
  what a viewer shows: the pixels that change, and the palette's colours.

The input is never modified. nD stacks are cleaned as a whole (1 to 3 spatial
axes) or slice by slice (``per_slice=True``: each 2D plane of the last two axes
on its own, any number of leading axes).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .colors import (
    INVALID_LABEL,
    _codes,
    _unpack,
    labels_to_rgb,
    palette_from_rgb,
    rgb_to_labels,
)
from .holes import _hole_components, fill_nearest, fill_nearest_from, remove_islands
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

#: Most colours a colour-coded mask may have when its palette is taken as is.
MAX_PALETTE_COLORS = 256

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


class ChangePreview(NamedTuple):
    """Result of :func:`change_preview`.

    Attributes
    ----------
    data : ndarray of signed int
        The new value on changed pixels, 0 on unchanged ones, and
        ``zero_value`` on pixels whose new value is 0 (so they stay visible).
    n_changed : int
        Number of changed pixels.
    n_zero : int
        Number of changed pixels whose new value is 0.
    zero_value : int
        The value standing for "becomes 0" in ``data``.
    values : tuple of int
        The distinct new values of changed pixels (``zero_value`` for 0).
    """

    data: NDArray[np.signedinteger]
    n_changed: int
    n_zero: int
    zero_value: int
    values: tuple[int, ...]


# ----------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------


def _check_nonneg_int(value: int, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer number of pixels ({what}), got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0 ({what}), got {value}")
    return int(value)


def _check_labels(labels: ArrayLike) -> NDArray:
    arr = np.asarray(labels)
    if arr.dtype != np.bool_ and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"labels must be an integer label image, got dtype {arr.dtype}; convert it "
            "first, e.g. labels.astype(np.int32)"
        )
    if arr.ndim < 1:
        raise ValueError("labels must have at least one dimension, got a 0-d array")
    return arr


def _plane_spacing(spacing, ndim: int, per_slice: bool):
    """Spacing of the arrays actually processed (the last two axes per slice)."""
    if spacing is None or isinstance(spacing, numbers.Real) or not per_slice or ndim <= 2:
        return spacing
    values = list(spacing)
    if len(values) != ndim:
        raise ValueError(
            f"spacing must have one value per spatial axis ({ndim}), got {len(values)}: "
            f"{values!r}"
        )
    return values[-2:]


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


def _check_rgb_mask(rgb: ArrayLike) -> NDArray[np.uint8]:
    arr = np.asarray(rgb)
    if arr.ndim < 2 or arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"a colour mask must be channel-last RGB or RGBA, shape (..., 3) or (..., 4), got "
            f"shape {arr.shape}"
        )
    if arr.dtype != np.uint8:
        raise TypeError(
            f"a colour mask must hold 8-bit colours (uint8), got dtype {arr.dtype}; convert it, "
            "e.g. (rgb * 255).round().astype(np.uint8) for floats in [0, 1]"
        )
    return arr


def _check_colour(colour: Sequence[int], n_ch: int) -> NDArray[np.uint8]:
    col = np.asarray(colour)
    if col.ndim != 1 or col.shape[0] not in (3, 4) or not np.issubdtype(col.dtype, np.integer):
        raise ValueError(f"invalid_color must be 3 or 4 integers 0..255, got {colour!r}")
    if col.min() < 0 or col.max() > 255:
        raise ValueError(f"invalid_color values must be in 0..255, got {colour!r}")
    if col.shape[0] == 3 and n_ch == 4:
        col = np.append(col, 255)  # an RGB colour in an RGBA mask means opaque
    if col.shape[0] != n_ch:
        raise ValueError(
            f"invalid_color has {col.shape[0]} values but the mask has {n_ch} channels"
        )
    return col.astype(np.uint8)


def _check_snap(snap: float) -> float:
    if isinstance(snap, bool) or not isinstance(snap, numbers.Real):
        raise TypeError(f"snap must be a colour distance (number), got {snap!r}")
    if not (math.isfinite(snap) and snap >= 0):
        raise ValueError(f"snap must be a finite colour distance >= 0, got {snap!r}")
    return float(snap)


#: Default ``merge`` of :func:`estimate_palette`: colours closer than this
#: (Euclidean, 0..255 units) are one class. JPEG (quality 80) moves the colour
#: of a flat region by a few units, and ringing near edges by up to ~30;
#: distinct class colours of real palettes are much farther apart.
AUTO_MERGE = 24.0


def estimate_palette(
    rgb: ArrayLike,
    *,
    min_count: int | None = None,
    max_colors: int = MAX_PALETTE_COLORS,
    merge: float | None = None,
    drop_blends: bool = True,
) -> NDArray[np.uint8]:
    """Estimate the class colours of a noisy colour mask (JPEG, anti-aliasing).

    1. *Interior* pixels are those whose face neighbours (along every axis)
       differ from them by at most ``merge / 6`` (4 units by default) in
       every channel: the flat inside of regions, even with JPEG noise, but
       neither the blends along edges nor the JPEG ringing next to them.
    2. The distinct colours of interior pixels are clustered greedily, most
       frequent first: each cluster takes the colours within ``merge`` of its
       seed. Clusters with fewer than ``min_count`` interior pixels are noise.
    3. A cluster's colour is its centre (the per-channel median of its
       interior pixels, which is not biased where a channel saturates at 0 or
       255), rounded.
    4. Edge blends (``drop_blends``): a cluster lying within ``merge`` of the
       segment between two clusters each more than 20 times its size is
       dropped (anti-aliased or blurred edges between those two).

    Parameters
    ----------
    rgb : array_like of uint8, shape (..., 3) or (..., 4)
        Channel-last colour mask.
    min_count : int, optional
        A class must have at least this many interior pixels. Default: 0.01 %
        of the pixels (at least 1).
    max_colors : int, optional
        Keep at most this many colours (the largest classes), default 256;
        e.g. the number of classes, when known.
    merge : float, optional
        Colours closer than this are one class. 0 keeps every distinct colour
        with at least ``min_count`` pixels (an exact mask). None (default):
        0 for a mask of at most 256 distinct colours (exact colours, whose
        classes may be close), else ``AUTO_MERGE`` (24 units).
    drop_blends : bool, optional
        Drop edge blends as described above (default True). A real class
        whose colour lies between two much larger ones (grey between black
        and white) and that is drawn only as specks or thin lines may be
        dropped too: pass False, or give the palette explicitly.

    Returns
    -------
    ndarray of uint8, shape (n, 3) or (n, 4)
        The palette, sorted lexicographically (black first), as
        :func:`~napari_maskclean.core.colors.rgb_to_labels` expects.

    Raises
    ------
    ValueError
        If the mask has no pixels, or no colour has ``min_count`` interior
        pixels (the message says how many the largest one has).

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import estimate_palette
    >>> rgb = np.zeros((10, 10, 3), np.uint8)
    >>> rgb[:, 5:] = [255, 0, 0]
    >>> rgb[:, 5] = [128, 0, 0]  # an anti-aliased edge, 10 pixels
    >>> rgb[4:7, 7:10] = [250, 3, 0]  # JPEG-like noise, 9 pixels
    >>> estimate_palette(rgb, merge=24).tolist()
    [[0, 0, 0], [255, 0, 0]]
    >>> estimate_palette(rgb).tolist()  # 4 colours: taken as exact, blend dropped
    [[0, 0, 0], [250, 3, 0], [255, 0, 0]]
    >>> estimate_palette(rgb, drop_blends=False).tolist()
    [[0, 0, 0], [128, 0, 0], [250, 3, 0], [255, 0, 0]]
    """
    if isinstance(max_colors, bool) or not isinstance(max_colors, numbers.Integral):
        raise TypeError(f"max_colors must be an integer, got {max_colors!r}")
    if max_colors < 1:
        raise ValueError(f"max_colors must be >= 1, got {max_colors}")
    img = _check_rgb_mask(rgb)
    n_px = int(np.prod(img.shape[:-1]))
    if n_px == 0:
        raise ValueError(
            f"the mask has no pixels (shape {img.shape}), so it has no colours to estimate a "
            "palette from; pass a non-empty mask"
        )
    if min_count is None:
        min_count = max(1, math.ceil(1e-4 * n_px))
    min_count = _check_nonneg_int(min_count, "min_count", "pixels a colour must cover")
    if merge is None:
        # A mask of few exact colours is taken as it is (two classes may be close
        # colours); only noisy masks (JPEG, anti-aliasing: thousands of colours)
        # are clustered.
        n_colours = np.unique(_codes(img)).size
        merge = 0.0 if n_colours <= MAX_PALETTE_COLORS else AUTO_MERGE
    else:
        merge = _check_snap(merge)
    if merge == 0:
        return _exact_colours(img, min_count, max_colors, drop_blends)
    inside = _smooth_interior(img, merge / 6)
    colours, weights = np.unique(_codes(img)[inside.ravel()], return_counts=True)
    colours = _unpack(colours, img.shape[-1]).astype(np.float64)
    centres, sizes = _cluster(colours, weights, merge, min_count)
    if not sizes:
        raise ValueError(
            f"no colour has {min_count} interior pixels (pixels whose neighbours have "
            f"nearly the same colour); the largest has {int(weights.max(initial=0))}: "
            "the mask has no uniform regions (is it a colour mask?); pass a smaller "
            "min_count, or give the palette"
        )
    order = np.argsort(-np.asarray(sizes), kind="stable")
    centres, sizes = np.asarray(centres)[order], np.asarray(sizes)[order]
    kept: list[int] = []
    for k in range(len(sizes)):
        if kept and _distance(centres[k], centres[kept]).min() <= merge:
            continue  # the medians of two clusters can end up this close
        if drop_blends:
            big = [j for j in kept if sizes[j] > 20 * sizes[k]]
            if _near_a_segment(centres[k], centres[big], merge):
                continue
        kept.append(k)
        if len(kept) == max_colors:
            break
    palette = centres[kept].astype(np.uint8)
    return palette[np.lexsort(palette.T[::-1])]  # lexicographic: black first


def looks_like_color_mask(
    rgb: ArrayLike, *, max_classes: int = 64, min_coverage: float = 0.9
) -> bool:
    """Tell a colour-coded mask (possibly JPEG or anti-aliased) from a photograph.

    A mask has a few dominant colours that cover most of its pixels: the
    palette from :func:`estimate_palette` has at most ``max_classes`` colours
    and at least ``min_coverage`` of the pixels snap to one of them (automatic
    snap of :func:`~napari_maskclean.core.colors.rgb_to_labels`). Large images
    are judged on a subsample of about 512 x 512 pixels.

    Parameters
    ----------
    rgb : array_like of uint8, shape (H, W, 3) or (H, W, 4)
        A 2D colour image.
    max_classes : int, optional
        Most class colours a mask may have (default 64).
    min_coverage : float, optional
        Least fraction of pixels that must snap to a class colour (default 0.9).

    Returns
    -------
    bool

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import looks_like_color_mask
    >>> mask = np.zeros((64, 64, 3), np.uint8); mask[:, 32:] = [255, 0, 0]
    >>> looks_like_color_mask(mask)
    True
    >>> noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    >>> looks_like_color_mask(noise)
    False
    """
    img = _check_rgb_mask(rgb)
    if img.ndim != 3 or img.size == 0:
        return False
    step = max(1, int(math.ceil(max(img.shape[:2]) / 512)))
    img = img[::step, ::step]  # strided: still a mask (blocky), still a photo
    try:
        pal = estimate_palette(img, max_colors=max_classes + 1)
    except ValueError:  # no uniform region at all
        return False
    if len(pal) > max_classes:
        return False
    labels, _ = rgb_to_labels(img, pal)
    return bool((labels != INVALID_LABEL).mean() >= min_coverage)


def _exact_colours(
    img: NDArray[np.uint8], min_count: int, max_colors: int, drop_blends: bool
) -> NDArray[np.uint8]:
    """``merge=0``: the distinct colours with ``min_count`` pixels, without edge blends."""
    codes = _codes(img).reshape(img.shape[:-1])
    values, counts = np.unique(codes, return_counts=True)
    if not (counts >= min_count).any():
        raise ValueError(
            f"no colour covers min_count={min_count} pixels (the most frequent covers "
            f"{int(counts.max(initial=0))}); pass a smaller min_count"
        )
    inner_values, inner_counts = np.unique(codes[_interior(codes)], return_counts=True)
    interior = np.zeros_like(counts)
    interior[np.searchsorted(values, inner_values)] = inner_counts
    order = np.lexsort((values, -counts, -interior))  # regions first, then frequency
    order = order[counts[order] >= min_count]
    colours = _unpack(values[order], img.shape[-1]).astype(np.float64)
    is_region = interior[order] >= min_count
    kept: list[int] = []
    for k in range(colours.shape[0]):
        if drop_blends and not is_region[k] and _near_a_segment(colours[k], colours[kept], 2.0):
            continue
        kept.append(k)
        if len(kept) == max_colors:
            break
    palette = colours[kept].astype(np.uint8)
    return palette[np.lexsort(palette.T[::-1])]


def _smooth_interior(img: NDArray[np.uint8], tol: float) -> NDArray[np.bool_]:
    """True where every face neighbour differs by at most ``tol`` in every channel."""
    spatial = img.ndim - 1
    inside = np.ones(img.shape[:-1], dtype=bool)
    for axis in range(spatial):
        n = img.shape[axis]
        lo = [slice(None)] * spatial
        hi = [slice(None)] * spatial
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        step = np.abs(img[tuple(lo)].astype(np.int16) - img[tuple(hi)]).max(axis=-1)
        near = step <= tol
        inside[tuple(lo)] &= near
        inside[tuple(hi)] &= near
    return inside


def _cluster(
    colours: NDArray[np.float64], weights: NDArray, radius: float, min_count: int
) -> tuple[list[NDArray], list[int]]:
    """Greedy clustering, heaviest colour first; centres (weighted medians) of big clusters.

    Each round takes the heaviest colour not yet assigned as a seed and assigns
    every unassigned colour within ``radius`` of it, so the cost is one
    distance pass per cluster. Clusters lighter than ``min_count`` are noise.
    """
    order = np.argsort(-weights, kind="stable")
    colours, weights = colours[order], weights[order]
    free = np.arange(len(weights))
    centres: list[NDArray] = []
    sizes: list[int] = []
    r2 = radius * radius
    while free.size and weights[free].sum() >= min_count and len(centres) < 4096:
        seed = colours[free[0]]
        near = ((colours[free] - seed) ** 2).sum(axis=1) <= r2
        members = free[near]
        free = free[~near]
        size = int(weights[members].sum())
        if size >= min_count:
            centres.append(_weighted_median(colours[members], weights[members]))
            sizes.append(size)
    return centres, sizes


def _weighted_median(values: NDArray[np.float64], weights: NDArray) -> NDArray[np.float64]:
    """Per-channel weighted median (the lower one on a tie), as whole numbers."""
    out = np.empty(values.shape[1])
    half = weights.sum() / 2
    for c in range(values.shape[1]):
        order = np.argsort(values[:, c], kind="stable")
        cum = np.cumsum(weights[order])
        out[c] = values[order[np.searchsorted(cum, half)], c]
    return out


def _distance(colour: NDArray, others: NDArray) -> NDArray:
    return np.sqrt(((others - colour) ** 2).sum(axis=1))


def _near_a_segment(colour: NDArray, taken: NDArray, tol: float) -> bool:
    """True if ``colour`` lies within ``tol`` of a segment between two ``taken`` colours."""
    n = taken.shape[0]
    if n < 2:
        return False
    i, j = np.triu_indices(n, k=1)
    a, ab = taken[i], taken[j] - taken[i]
    t = np.clip(((colour - a) * ab).sum(axis=1) / np.maximum((ab * ab).sum(axis=1), 1e-12),
                0.0, 1.0)
    nearest = a + t[:, None] * ab
    return bool((np.sqrt(((nearest - colour) ** 2).sum(axis=1)) <= tol).any())


def _interior(codes: NDArray[np.uint32]) -> NDArray[np.bool_]:
    """True where every face neighbour (along each axis) has the same colour code."""
    inside = np.ones(codes.shape, dtype=bool)
    for axis in range(codes.ndim):
        n = codes.shape[axis]
        lo = [slice(None)] * codes.ndim
        hi = [slice(None)] * codes.ndim
        lo[axis], hi[axis] = slice(0, n - 1), slice(1, n)
        same = codes[tuple(lo)] == codes[tuple(hi)]
        inside[tuple(lo)] &= same
        inside[tuple(hi)] &= same
    return inside


def _exact_palette(img: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """The colours of ``img`` as a palette; refuse images that are not colour-coded."""
    palette = palette_from_rgb(img, min_count=1, max_colors=MAX_PALETTE_COLORS + 1)
    if palette.shape[0] > MAX_PALETTE_COLORS:
        n = int(np.unique(img.reshape(-1, img.shape[-1]), axis=0).shape[0])
        raise ValueError(
            f"the mask has {n} distinct colours, too many to take them all as its palette "
            f"(at most {MAX_PALETTE_COLORS}): anti-aliasing or JPEG noise? Treat off-palette "
            "pixels as invalid instead, with a palette estimated from the most frequent "
            "colours or loaded from a palette file; nothing was changed"
        )
    return palette


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


# ----------------------------------------------------------------------------
# what a viewer shows
# ----------------------------------------------------------------------------


def _signed_dtype(dtype: np.dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype == np.bool_ or dtype.kind == "i" and dtype.itemsize < 4:
        return np.dtype(np.int32)
    if dtype.kind == "i":
        return dtype
    if dtype.kind == "u":
        return np.dtype(np.int32 if dtype.itemsize < 4 else np.int64)
    raise TypeError(f"labels must be an integer label image, got dtype {dtype}")


def change_preview(
    after: ArrayLike,
    *,
    before: ArrayLike | None = None,
    changed: ArrayLike | None = None,
    zero_value: int = -1,
) -> ChangePreview:
    """Show which pixels change, and to what: the new value on changed pixels, 0 elsewhere.

    A changed pixel whose new value is 0 (the background of a label image)
    gets ``zero_value`` instead, so that it remains visible.

    Parameters
    ----------
    after : array_like of int
        The new labels.
    before : array_like of int, optional
        The old labels (same shape); ``changed`` is ``before != after``.
    changed : array_like of bool, optional
        Which pixels change, when there are no old labels to compare (e.g. a
        colour mask). Exactly one of ``before`` and ``changed`` is required.
    zero_value : int, optional
        Stands for "becomes 0" (default -1). If -1 is itself a new value, the
        smallest value of the preview dtype is used.

    Returns
    -------
    ChangePreview
        ``data`` (int32, or int64 for wide labels), ``n_changed``, ``n_zero``,
        ``zero_value`` and ``values``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.fill import change_preview
    >>> p = change_preview(np.array([[1, 1, 0]]), before=np.array([[0, 1, 2]]))
    >>> p.data.tolist(), p.n_changed, p.n_zero
    ([[1, 0, -1]], 2, 1)
    """
    new = np.asarray(after)
    if (before is None) == (changed is None):
        raise ValueError("pass exactly one of before= (old labels) and changed= (bool mask)")
    if before is not None:
        old = np.asarray(before)
        if old.shape != new.shape:
            raise ValueError(
                f"before and after must have the same shape, got {old.shape} and {new.shape}"
            )
        mask = old != new
    else:
        mask = np.asarray(changed, dtype=bool)
        if mask.shape != new.shape:
            raise ValueError(
                f"changed must have the shape of after, got {mask.shape} and {new.shape}"
            )
    dtype = _signed_dtype(new.dtype)
    data = np.zeros(new.shape, dtype=dtype)
    vals = new[mask].astype(dtype)
    values = np.unique(vals)
    if zero_value in values:
        zero_value = int(np.iinfo(dtype).min)
    zero = vals == 0
    vals[zero] = zero_value
    data[mask] = vals
    n_zero = int(zero.sum())
    shown = [int(v) for v in values if v != 0] + ([zero_value] if n_zero else [])
    return ChangePreview(data, int(mask.sum()), n_zero, int(zero_value), tuple(sorted(shown)))


def palette_color_dict(
    palette: ArrayLike, *, transparent_black: bool = True
) -> dict[int | None, tuple[float, ...]]:
    """Map each label to its palette colour as RGBA floats in 0..1 (a label colormap).

    Parameters
    ----------
    palette : array_like, shape (n, 3) or (n, 4)
        Row ``k`` is the 8-bit colour of label ``k``.
    transparent_black : bool, optional
        Make label 0 transparent when its colour is black (the usual
        background), so that the labels can be overlaid on an image. Default True.

    Returns
    -------
    dict
        ``{None: transparent, 0: ..., k: (r, g, b, a)}``: ``None`` is the
        colour of labels outside the palette. Suitable for napari's
        ``DirectLabelColormap(color_dict=...)``.

    Examples
    --------
    >>> from napari_maskclean.core.fill import palette_color_dict
    >>> palette_color_dict([[0, 0, 0], [255, 0, 0]])
    {None: (0.0, 0.0, 0.0, 0.0), 0: (0.0, 0.0, 0.0, 0.0), 1: (1.0, 0.0, 0.0, 1.0)}
    """
    pal = np.asarray(palette)
    if pal.ndim != 2 or pal.shape[1] not in (3, 4) or pal.shape[0] == 0:
        raise ValueError(f"palette must be an (n, 3) or (n, 4) array, got shape {pal.shape}")
    rgba = np.ones((pal.shape[0], 4))
    rgba[:, : pal.shape[1]] = pal / 255.0
    out: dict[int | None, tuple[float, ...]] = {None: (0.0, 0.0, 0.0, 0.0)}
    for k, row in enumerate(rgba):
        out[k] = tuple(float(v) for v in row)
    if transparent_black and not pal[0, :3].any():
        out[0] = (0.0, 0.0, 0.0, 0.0)
    return out
