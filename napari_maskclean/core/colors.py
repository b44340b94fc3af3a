"""Colour-coded (RGB/RGBA) masks <-> label images with a palette.

Palette contract (shared with the rest of the package): a palette is an
``(n, 3)`` or ``(n, 4)`` ``uint8`` array whose row ``k`` is the colour of
label ``k``. Colours are compared exactly, by packing each pixel's channels
into one ``uint32`` (red most significant), so an image is mapped with one
``np.unique`` plus a compiled binary search, never per-pixel Python.

Colour masks are channel-last ``(..., 3)`` or ``(..., 4)`` arrays; move the
channel axis last first (``np.moveaxis``) if it is elsewhere.
"""

from __future__ import annotations

import math
import numbers

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["auto_snap", "labels_to_rgb", "palette_from_rgb", "rgb_to_labels"]

#: Label given to pixels whose colour is not in the palette (and not snapped).
INVALID_LABEL = -1

#: Automatic snapping (``snap=None``): a pixel takes the label of its nearest
#: palette colour when it is within this fraction of the smallest distance
#: between two palette colours, ...
AUTO_SNAP_FRACTION = 0.75
#: ... and clearly nearer to it than to any other: distance to the nearest
#: colour <= this ratio times the distance to the second nearest. Colours in
#: between (edge blends, strong JPEG ringing) stay off-palette, so that
#: :func:`~napari_maskclean.core.holes.fill_nearest` gives them the class of the
#: nearest confident pixel instead of a third class their blend happens to near.
AUTO_SNAP_RATIO = 0.75


@numba.njit(cache=True, error_model="numpy")
def _pack(rgb):  # pragma: no cover - compiled
    """(N, C) uint8 -> (N,) uint32, first channel most significant."""
    n, c = rgb.shape
    out = np.empty(n, np.uint32)
    for i in range(n):
        code = np.uint32(0)
        for k in range(c):
            code = (code << np.uint32(8)) | np.uint32(rgb[i, k])
        out[i] = code
    return out


@numba.njit(cache=True, error_model="numpy")
def _lookup(codes, keys, values, missing):  # pragma: no cover - compiled
    """values[position of code in sorted keys], or ``missing`` if absent."""
    n = codes.shape[0]
    m = keys.shape[0]
    out = np.empty(n, np.int32)
    last_code = np.uint32(0)
    last_val = np.int32(missing)
    have_last = False
    for i in range(n):
        c = codes[i]
        if have_last and c == last_code:
            out[i] = last_val
            continue
        lo = 0
        hi = m
        while lo < hi:
            mid = (lo + hi) >> 1
            if keys[mid] < c:
                lo = mid + 1
            else:
                hi = mid
        if lo < m and keys[lo] == c:
            val = np.int32(values[lo])
        else:
            val = np.int32(missing)
        out[i] = val
        last_code = c
        last_val = val
        have_last = True
    return out


@numba.njit(cache=True, error_model="numpy")
def _snap_pixels(codes, labels, palette, limit2, ratio2, missing):  # pragma: no cover
    """Give pixels labelled ``missing`` the label of the nearest palette colour.

    Only colours within squared distance ``limit2`` (an integer) and with
    ``d1 <= ratio2 * d2`` (squared distances to the nearest and the second
    nearest colour; ``ratio2 >= 1`` disables the test) are snapped; ties go to
    the lower label. Each distinct colour is resolved once and
    memoised in an open-addressing hash table, so the cost is one table probe
    per pixel plus one palette scan per distinct off-palette colour.
    """
    n_pal, n_ch = palette.shape
    cap = 1024
    keys = np.empty(cap, np.uint32)
    vals = np.empty(cap, np.int32)
    used = np.zeros(cap, np.bool_)
    count = 0
    chan = np.empty(n_ch, np.int64)
    for i in range(codes.shape[0]):
        if labels[i] != missing:
            continue
        c = codes[i]
        h = (np.uint64(c) * np.uint64(2654435761)) & np.uint64(cap - 1)
        while used[h] and keys[h] != c:
            h = (h + np.uint64(1)) & np.uint64(cap - 1)
        if used[h]:
            labels[i] = vals[h]
            continue
        for k in range(n_ch):
            chan[k] = (np.int64(c) >> (8 * (n_ch - 1 - k))) & 255
        best = missing
        best_d = np.int64(1) << 62
        second_d = np.int64(1) << 62
        for m in range(n_pal):
            d = np.int64(0)
            for k in range(n_ch):
                diff = chan[k] - np.int64(palette[m, k])
                d += diff * diff
            if d < best_d:
                second_d = best_d
                best_d = d
                best = m
            elif d < second_d:
                second_d = d
        if best_d > limit2 or (ratio2 < 1.0 and n_pal > 1 and best_d > ratio2 * second_d):
            best = missing
        keys[h] = c
        vals[h] = best
        used[h] = True
        labels[i] = best
        count += 1
        if 2 * count > cap:  # grow and rehash
            new_cap = cap * 2
            nk = np.empty(new_cap, np.uint32)
            nv = np.empty(new_cap, np.int32)
            nu = np.zeros(new_cap, np.bool_)
            for j in range(cap):
                if used[j]:
                    g = (np.uint64(keys[j]) * np.uint64(2654435761)) & np.uint64(new_cap - 1)
                    while nu[g]:
                        g = (g + np.uint64(1)) & np.uint64(new_cap - 1)
                    nk[g] = keys[j]
                    nv[g] = vals[j]
                    nu[g] = True
            keys, vals, used, cap = nk, nv, nu, new_cap


def _unpack(codes: NDArray[np.uint32], n_ch: int) -> NDArray[np.uint8]:
    shifts = np.arange(n_ch - 1, -1, -1, dtype=np.uint32) * 8
    return ((codes[:, None] >> shifts) & 0xFF).astype(np.uint8)


def _check_rgb(rgb: ArrayLike, name: str = "rgb") -> NDArray[np.uint8]:
    arr = np.asarray(rgb)
    if arr.ndim < 2 or arr.shape[-1] not in (3, 4):
        raise ValueError(
            f"{name} must be a channel-last colour mask of shape (..., 3) or (..., 4), got "
            f"shape {arr.shape}; move the channel axis last with np.moveaxis(rgb, axis, -1)"
        )
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(
            f"{name} must hold 8-bit colours (uint8), got dtype {arr.dtype}; for floats in "
            "[0, 1] use (rgb * 255).round().astype(np.uint8)"
        )
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise ValueError(
            f"{name} values must be in 0..255, got {arr.min()}..{arr.max()}; "
            "rescale to 8 bits first"
        )
    return arr.astype(np.uint8)


def _codes(rgb: NDArray[np.uint8]) -> NDArray[np.uint32]:
    return _pack(np.ascontiguousarray(rgb).reshape(-1, rgb.shape[-1]))


def _check_palette(palette: ArrayLike, n_ch: int | None = None) -> NDArray[np.uint8]:
    pal = np.asarray(palette)
    if pal.ndim != 2 or pal.shape[1] not in (3, 4) or pal.shape[0] == 0:
        raise ValueError(
            f"palette must be an (n, 3) or (n, 4) array with one colour per label (row k = "
            f"colour of label k), got shape {pal.shape}"
        )
    if pal.dtype != np.uint8:
        if pal.dtype == np.bool_ or not np.issubdtype(pal.dtype, np.integer):
            if not (np.issubdtype(pal.dtype, np.floating) and np.all(pal == np.round(pal))):
                raise TypeError(
                    f"palette must hold 8-bit integer colours, got dtype {pal.dtype} with "
                    "non-integer values; convert with np.asarray(palette).astype(np.uint8)"
                )
        if pal.min() < 0 or pal.max() > 255:
            raise ValueError(f"palette values must be in 0..255, got {pal.min()}..{pal.max()}")
        pal = pal.astype(np.uint8)
    if n_ch is not None and pal.shape[1] != n_ch:
        raise ValueError(
            f"palette has {pal.shape[1]} channels but the image has {n_ch}; pass a palette "
            f"with {n_ch} channels (e.g. add or drop the alpha column)"
        )
    return pal


def _check_max_colors(max_colors: int) -> None:
    if isinstance(max_colors, bool) or not isinstance(max_colors, numbers.Integral):
        raise TypeError(f"max_colors must be an integer, got {max_colors!r}")
    if max_colors < 1:
        raise ValueError(f"max_colors must be >= 1, got {max_colors}")


def _duplicate_rows(pal: NDArray[np.uint8]) -> None:
    """Refuse a palette in which two rows have the same colour."""
    codes = _codes(pal)
    order = np.argsort(codes, kind="stable")
    same = np.flatnonzero(codes[order][1:] == codes[order][:-1])
    if same.size:
        i, j = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise ValueError(
            f"palette has duplicate colours: rows {i} and {j} are both {pal[i].tolist()}, so "
            "a pixel of that colour has no single label; make every palette colour distinct "
            "(merge the two classes or change one colour)"
        )


def auto_snap(palette: ArrayLike) -> float:
    """The snap distance chosen when none is given: a fraction of the palette's spacing.

    Parameters
    ----------
    palette : array_like, shape (n, 3) or (n, 4)
        Distinct colours, row ``k`` = colour of label ``k``.

    Returns
    -------
    float
        ``AUTO_SNAP_FRACTION`` (0.75) times the smallest Euclidean distance
        between two palette colours; 0 (exact colours only) for a palette of
        one colour, which gives no scale.

    Examples
    --------
    >>> from napari_maskclean.core.colors import auto_snap
    >>> auto_snap([[0, 0, 0], [255, 0, 0], [0, 0, 40]])
    30.0
    """
    pal = _check_palette(palette)
    _duplicate_rows(pal)
    if pal.shape[0] < 2:
        return 0.0
    p = pal.astype(np.float64)
    d2 = ((p[:, None, :] - p[None, :, :]) ** 2).sum(axis=-1)
    d2[np.diag_indices_from(d2)] = np.inf
    return float(AUTO_SNAP_FRACTION * math.sqrt(d2.min()))


def rgb_to_labels(
    rgb: ArrayLike,
    palette: ArrayLike | None = None,
    *,
    snap: float | None = None,
    max_colors: int = 256,
) -> tuple[NDArray[np.int32], NDArray[np.uint8]]:
    """Convert a colour-coded mask to a label image and its palette.

    Parameters
    ----------
    rgb : array_like of uint8, shape (..., 3) or (..., 4)
        Channel-last colour mask (2-D, 3-D, ... plus the channel axis).
    palette : array_like, shape (n, 3) or (n, 4), optional
        Row ``k`` is the colour of label ``k``; colours must be distinct. When
        None, the palette is built from the colours of the image, sorted
        lexicographically (R, then G, then B[, then A]); so black (0, 0, 0) is
        label 0 when present (for RGBA, (0, 0, 0, 0) comes before
        (0, 0, 0, 255)). This is deterministic: the same set of colours always
        gives the same labels.
    snap : float, optional
        Only with a ``palette``: pixels whose colour is within this Euclidean
        distance (in 0..255 channel units, alpha included for RGBA) of a
        palette colour get the label of the nearest one (ties: the lower
        label). Other off-palette pixels get label -1. 0 keeps exact colours
        only. None (default) chooses automatically, so that JPEG-compressed
        and anti-aliased masks work as they are: a pixel takes its nearest
        palette colour when it is within :func:`auto_snap` (3/4 of the
        smallest distance between two palette colours) and at most 3/4 as
        far from it as from the second nearest; colours in between (edge
        blends) stay -1, to be filled from their neighbours.
    max_colors : int, optional
        When ``palette`` is None, refuse images with more distinct colours
        than this (default 256): they are not colour-coded masks (e.g.
        anti-aliased or JPEG-compressed). Ignored when a palette is given.

    Returns
    -------
    labels : ndarray of int32, shape ``rgb.shape[:-1]``
        Label of each pixel; -1 marks off-palette pixels (only possible with
        a given palette). Repair them with
        ``fill_nearest(labels, invalid=-1)``.
    palette : ndarray of uint8, shape (n, 3) or (n, 4)
        The palette used. ``labels_to_rgb(labels, palette)`` gives back
        ``rgb`` exactly when every colour is in the palette.

    Raises
    ------
    ValueError
        If the image has more than ``max_colors`` colours (pass a palette, or
        estimate one with :func:`palette_from_rgb`), if the palette has
        duplicate colours, or if ``snap`` is given without a palette.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.colors import rgb_to_labels, labels_to_rgb
    >>> rgb = np.array([[[255, 0, 0], [0, 0, 0]], [[0, 0, 255], [255, 0, 0]]], np.uint8)
    >>> labels, palette = rgb_to_labels(rgb)
    >>> labels.tolist()
    [[2, 0], [1, 2]]
    >>> palette.tolist()
    [[0, 0, 0], [0, 0, 255], [255, 0, 0]]
    >>> bool((labels_to_rgb(labels, palette) == rgb).all())
    True
    >>> noisy = rgb.copy(); noisy[0, 0] = [250, 3, 0]
    >>> rgb_to_labels(noisy, palette, snap=10)[0].tolist()
    [[2, 0], [1, 2]]
    >>> rgb_to_labels(noisy, palette)[0].tolist()  # automatic snap
    [[2, 0], [1, 2]]
    >>> rgb_to_labels(noisy, palette, snap=0)[0].tolist()  # exact colours only
    [[-1, 0], [1, 2]]
    """
    img = _check_rgb(rgb)
    n_ch = img.shape[-1]
    _check_max_colors(max_colors)
    if snap is not None:
        if isinstance(snap, bool) or not isinstance(snap, numbers.Real):
            raise TypeError(
                f"snap must be a colour distance (number), or None to choose it from the "
                f"palette, got {snap!r}"
            )
        if not (snap >= 0 and math.isfinite(snap)):
            raise ValueError(f"snap must be a finite colour distance >= 0, got {snap!r}")
        if palette is None and snap > 0:
            raise ValueError(
                "snap needs a palette to snap to; pass palette=..., e.g. "
                "palette_from_rgb(rgb, min_count=...)"
            )
    codes = _codes(img)
    if palette is None:
        uniq = np.unique(codes)
        if uniq.size > max_colors:
            raise ValueError(
                f"the image has {uniq.size} distinct colours, more than max_colors="
                f"{max_colors}, so it does not look like a colour-coded mask (anti-aliasing "
                "or JPEG noise?); pass its class colours (palette=...) or estimate them with "
                "napari_maskclean.core.fill.estimate_palette(rgb), or raise max_colors"
            )
        pal = _unpack(uniq, n_ch)
        labels = _lookup(codes, uniq, np.arange(uniq.size, dtype=np.int32), INVALID_LABEL)
        return labels.reshape(img.shape[:-1]), pal
    pal = _check_palette(palette, n_ch).copy()  # a new array, never the caller's
    _duplicate_rows(pal)
    pal_codes = _codes(pal)
    order = np.argsort(pal_codes, kind="stable")
    keys = pal_codes[order]
    labels = _lookup(codes, keys, order.astype(np.int32), INVALID_LABEL)
    ratio2 = 1.0
    if snap is None:
        snap = auto_snap(pal)
        ratio2 = AUTO_SNAP_RATIO**2
    if snap > 0 and (labels == INVALID_LABEL).any():
        # integer squared distances: d <= snap**2  <=>  d <= floor(snap**2)
        _snap_pixels(codes, labels, pal, int(math.floor(snap * snap)), ratio2, INVALID_LABEL)
    return labels.reshape(img.shape[:-1]), pal


def labels_to_rgb(labels: ArrayLike, palette: ArrayLike) -> NDArray[np.uint8]:
    """Colour a label image with a palette.

    Parameters
    ----------
    labels : array_like of int
        Label image; every label must be a row of ``palette``.
    palette : array_like, shape (n, 3) or (n, 4)
        Row ``k`` is the colour of label ``k``.

    Returns
    -------
    ndarray of uint8, shape ``labels.shape + (palette.shape[1],)``
        Channel-last colour mask.

    Raises
    ------
    ValueError
        If a label is negative (e.g. -1 for off-palette pixels: repair with
        ``fill_nearest(labels, invalid=-1)`` first) or has no palette row.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.colors import labels_to_rgb
    >>> palette = np.array([[0, 0, 0], [255, 0, 0]], np.uint8)
    >>> labels_to_rgb(np.array([[0, 1]]), palette).tolist()
    [[[0, 0, 0], [255, 0, 0]]]
    """
    lab = np.asarray(labels)
    if lab.dtype == np.bool_:
        lab = lab.astype(np.uint8)
    if not np.issubdtype(lab.dtype, np.integer):
        raise TypeError(
            f"labels must be an integer label image, got dtype {lab.dtype}; convert it with "
            "labels.astype(np.int32)"
        )
    pal = _check_palette(palette)
    if lab.size:
        lo, hi = int(lab.min()), int(lab.max())
        if lo < 0:
            raise ValueError(
                f"labels contain {lo} (e.g. -1 for off-palette pixels), which has no colour; "
                "repair them first with fill_nearest(labels, invalid=-1)"
            )
        if hi >= pal.shape[0]:
            raise ValueError(
                f"label {hi} has no colour: the palette has only {pal.shape[0]} rows "
                f"(labels 0..{pal.shape[0] - 1}); pass a palette with a row for every label"
            )
    return np.take(pal, lab, axis=0)


def palette_from_rgb(
    rgb: ArrayLike,
    *,
    max_colors: int = 256,
    min_count: int | None = None,
) -> NDArray[np.uint8]:
    """Estimate the palette of a noisy colour-coded mask: its most frequent colours.

    Parameters
    ----------
    rgb : array_like of uint8, shape (..., 3) or (..., 4)
        Channel-last colour mask, possibly with anti-aliasing or JPEG noise.
    max_colors : int, optional
        Keep at most this many colours (the most frequent; ties by colour).
    min_count : int, optional
        Drop colours covering fewer pixels than this. Default: 0.01 % of the
        pixels (at least 1), which drops isolated noise colours.

    Returns
    -------
    ndarray of uint8, shape (n, 3) or (n, 4)
        The colours, sorted lexicographically (black first), in the palette
        layout of :func:`rgb_to_labels`. Use it as
        ``rgb_to_labels(rgb, palette, snap=...)``.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.colors import palette_from_rgb
    >>> rgb = np.zeros((10, 10, 3), np.uint8)
    >>> rgb[:, 5:] = [255, 0, 0]
    >>> rgb[0, 0] = [3, 1, 0]  # a noise pixel
    >>> palette_from_rgb(rgb, min_count=2).tolist()
    [[0, 0, 0], [255, 0, 0]]
    """
    img = _check_rgb(rgb)
    _check_max_colors(max_colors)
    n_px = int(np.prod(img.shape[:-1]))
    if min_count is None:
        min_count = max(1, math.ceil(1e-4 * n_px))
    elif isinstance(min_count, bool) or not isinstance(min_count, numbers.Integral):
        raise TypeError(
            f"min_count must be a number of pixels (integer) or None, got {min_count!r}"
        )
    elif min_count < 1:
        raise ValueError(f"min_count must be >= 1 pixel, got {min_count}")
    if n_px == 0:
        raise ValueError("rgb has no pixels, so there is no colour to build a palette from")
    codes, counts = np.unique(_codes(img), return_counts=True)
    keep = counts >= min_count
    codes, counts = codes[keep], counts[keep]
    if codes.size == 0:
        raise ValueError(
            f"no colour covers min_count={min_count} pixels (the most frequent covers "
            f"{int(np.unique(_codes(img), return_counts=True)[1].max())}); lower min_count"
        )
    if codes.size > max_colors:
        top = np.lexsort((codes, -counts))[:max_colors]  # most frequent, ties by colour
        codes = np.sort(codes[top])
    return _unpack(codes, img.shape[-1])
