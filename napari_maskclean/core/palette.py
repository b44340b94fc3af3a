"""The palette of a colour-coded mask: estimating it, recognising such masks, showing it.

* :func:`estimate_palette` finds the class colours of a noisy (JPEG, resized)
  colour mask; :func:`looks_like_color_mask` tells a colour mask from a photo.
* :func:`palette_color_dict` turns a palette into a label colormap.

Used by :func:`~napari_maskclean.core.fill.fill_rgb_mask`; every public name is
also importable from :mod:`.fill`, where it used to live.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._fill_checks import _check_nonneg_int, _check_rgb_mask, _check_snap
from .colors import INVALID_LABEL, _codes, _unpack, palette_from_rgb, rgb_to_labels

__all__ = [
    "AUTO_MERGE",
    "MAX_PALETTE_COLORS",
    "estimate_palette",
    "looks_like_color_mask",
    "palette_color_dict",
]


#: Most colours a colour-coded mask may have when its palette is taken as is.
MAX_PALETTE_COLORS = 256


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
