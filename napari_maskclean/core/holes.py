"""Nearest-label filling of invalid pixels and removal of small islands.

Every function here rests on one exact Euclidean feature transform: for each
pixel, the flat index of a nearest *source* pixel and the squared distance to
it (optionally with anisotropic ``spacing``). It is the separable lower-envelope
algorithm of Felzenszwalb & Huttenlocher (2012), carrying the index of the
feature through the passes, compiled with :func:`numba.njit`. It is exact:
the distance to the chosen source equals the minimum over all sources (the
arithmetic is exact for integer spacings; for other spacings up to float64
rounding). When several sources are equally near, any one of them is chosen
(deterministically, but not necessarily the one SciPy would pick).

Work is restricted to the bounding box of the pixels to fill plus what can
reach them, so cleaning a few specks in a large image is cheap. Each pass is
split into independent chunks of lines run on several threads
(:mod:`._parallel`); the result does not depend on the number of threads.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numba
import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._parallel import run_chunked

__all__ = [
    "fill_nearest",
    "fill_nearest_from",
    "invalid_mask",
    "nearest_valid_indices",
    "remove_islands",
]

ProgressCallback = Callable[[int, int], None]


# ---------------------------------------------------------------------------
# numba kernels
# ---------------------------------------------------------------------------


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _scan_first_axis(src, w0, dist, feat, j0, j1):  # pragma: no cover - compiled
    """Nearest source along axis 0 of a (n0, m) array, for non-source pixels.

    Writes the squared distance (``inf`` if the column has no source) and the
    flat index of that source (-1 if none) at non-source pixels only, in the
    columns ``j0 <= j < j1``; entries at source pixels are left untouched and
    never read.
    """
    n0, m = src.shape
    last = np.full(m, -1, np.int64)
    for i in range(n0):
        for j in range(j0, j1):
            if src[i, j]:
                last[j] = i
            else:
                feat[i, j] = last[j]
    nxt = np.full(m, -1, np.int64)
    for i in range(n0 - 1, -1, -1):
        for j in range(j0, j1):
            if src[i, j]:
                nxt[j] = i
                continue
            a = np.int64(feat[i, j])
            b = nxt[j]
            if a < 0:
                s = b
            elif b < 0:
                s = a
            elif i - a <= b - i:
                s = a
            else:
                s = b
            if s < 0:
                dist[i, j] = np.inf
                feat[i, j] = -1
            else:
                d = i - s
                dist[i, j] = w0 * d * d
                feat[i, j] = s * m + j


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _envelope_axis(src, dist, feat, w, o0, o1):  # pragma: no cover - compiled
    """Lower envelope of parabolas along axis 1 of a (outer, n, inner) array.

    Only the outer indices ``o0 <= o < o1`` are processed.

    At non-source pixels, ``dist``/``feat`` hold the squared distance to, and
    flat index of, the nearest source found by the previous passes
    (``inf``/-1 if none); both are updated in place. A source pixel is a
    parabola of height 0 at its own position and a barrier: no parabola from
    beyond it can win on its other side (the source is nearer along the line
    and lower). So only runs of non-source pixels are processed, each with the
    sources that bound it, and the work is proportional to their number.
    """
    n_out, n, n_in = dist.shape
    v = np.empty(n, np.int64)
    z = np.empty(n + 1, np.float64)
    h = np.empty(n, np.float64)
    g = np.empty(n, np.float64)
    f = np.empty(n, np.int64)
    inv_w = 1.0 / w
    for o in range(o0, o1):
        for ii in range(n_in):
            q = 0
            while q < n:
                if src[o, q, ii]:
                    q += 1
                    continue
                a = q
                while q < n and not src[o, q, ii]:
                    q += 1
                b = q  # run of non-sources [a, b)
                lo = a - 1 if a > 0 else a
                hi = b if b < n else b - 1
                k = -1
                for p in range(lo, hi + 1):
                    if p < a or p >= b:  # bounding source
                        gp = 0.0
                        f[p] = (o * n + p) * n_in + ii
                    else:
                        gp = dist[o, p, ii]
                        if gp == np.inf:
                            continue
                        f[p] = feat[o, p, ii]
                    g[p] = gp
                    hp = gp * inv_w + p * p
                    h[p] = hp
                    if k < 0:
                        k = 0
                        v[0] = p
                        z[0] = -np.inf
                        z[1] = np.inf
                        continue
                    r = v[k]
                    s = (hp - h[r]) / (2.0 * (p - r))
                    while s <= z[k]:
                        k -= 1
                        r = v[k]
                        s = (hp - h[r]) / (2.0 * (p - r))
                    k += 1
                    v[k] = p
                    z[k] = s
                    z[k + 1] = np.inf
                if k < 0:
                    continue  # no source reachable on this line yet
                k = 0
                for t in range(a, b):
                    while z[k + 1] < t:
                        k += 1
                    r = v[k]
                    d = t - r
                    dist[o, t, ii] = w * d * d + g[r]
                    feat[o, t, ii] = f[r]


@numba.njit(cache=True, error_model="numpy", nogil=True)
def _gather_targets(targets, feat, dist, max_dist, lo, full, out, r0, r1):  # pragma: no cover
    """``out[t] = out[nearest source of t]`` for the targets of a crop.

    ``targets``/``feat``/``dist`` are (a, b, c) arrays over the crop (feature
    indices flat in the crop), ``lo`` the crop offset in the full image of
    shape ``full`` (both length 3) and ``out`` the full image as
    (pixels, channels). Only the rows ``r0 <= r < r1`` of the crop seen as
    (a * b, c) are done. Targets without a source, or farther than
    ``max_dist``, are left alone. Sources are never targets, so reading from
    ``out`` reads original values (and chunks of rows can run in parallel).
    """
    nb, nc = targets.shape[1:]
    fb = full[1]
    fc = full[2]
    n_ch = out.shape[1]
    check = max_dist < np.inf
    # crop flat index -> full flat index: a constant shift when the crop spans
    # the two trailing axes (always for 2-D full-width crops); else unravel
    shift_only = nb == fb and nc == fc
    shift = (lo[0] * fb + lo[1]) * fc + lo[2]
    for xy in range(r0, r1):
        x = xy // nb
        y = xy - x * nb
        row_t = ((x + lo[0]) * fb + y + lo[1]) * fc + lo[2]
        for zz in range(nc):
            if not targets[x, y, zz]:
                continue
            s = np.int64(feat[x, y, zz])
            if s < 0:
                continue
            if check and math.sqrt(dist[x, y, zz]) > max_dist:
                continue
            if shift_only:
                full_s = s + shift
            else:
                sz = s % nc
                r = s // nc
                sy = r % nb
                sx = r // nb
                full_s = ((sx + lo[0]) * fb + sy + lo[1]) * fc + sz + lo[2]
            full_t = row_t + zz
            for ch in range(n_ch):
                out[full_t, ch] = out[full_s, ch]


@numba.njit(cache=True, error_model="numpy")
def _rows_equal(words, colour):  # pragma: no cover - compiled
    """Flag the (pixels, channels) rows that equal ``colour`` word for word."""
    n, c = words.shape
    out = np.empty(n, np.bool_)
    for i in range(n):
        same = True
        for k in range(c):
            same &= words[i, k] == colour[k]
        out[i] = same
    return out


@numba.njit(cache=True, error_model="numpy")
def _find(parent, x):  # pragma: no cover - compiled
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@numba.njit(cache=True, error_model="numpy")
def _equal_value_components(codes, offsets):  # pragma: no cover - compiled
    """Label the connected components of equal-valued pixels (union-find).

    ``codes`` is a C-contiguous (a, b, c) int64 array, ``offsets`` an (k, 3)
    array of the *backward* half of the neighbourhood. Returns component ids
    (0..n-1, numbered in raster order of their first pixel) and the size of
    each component. A root is always the smallest index of its tree.
    """
    na, nb, nc = codes.shape
    size = na * nb * nc
    flat = codes.ravel()
    parent = np.empty(size, np.int64)
    n_off = offsets.shape[0]
    for a in range(na):
        for b in range(nb):
            for c in range(nc):
                p = (a * nb + b) * nc + c
                parent[p] = p
                val = flat[p]
                for t in range(n_off):
                    qa = a + offsets[t, 0]
                    qb = b + offsets[t, 1]
                    qc = c + offsets[t, 2]
                    if qa < 0 or qb < 0 or qc < 0 or qb >= nb or qc >= nc:
                        continue
                    q = (qa * nb + qb) * nc + qc
                    if flat[q] != val:
                        continue
                    rq = _find(parent, q)
                    rp = _find(parent, p)
                    if rp < rq:
                        parent[rq] = rp
                    elif rq < rp:
                        parent[rp] = rq
    out = np.empty(size, np.int64)
    counts = np.zeros(size, np.int64)
    n_comp = 0
    for p in range(size):
        r = parent[p]
        if r == p:
            out[p] = n_comp
            n_comp += 1
        else:
            out[p] = out[r]  # r < p: already numbered, same component
        counts[out[p]] += 1
    return out.reshape(codes.shape), counts[:n_comp].copy()


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _check_spacing(spacing: Sequence[float] | float | None, ndim: int) -> tuple[float, ...]:
    if spacing is None:
        return (1.0,) * ndim
    if isinstance(spacing, numbers.Real) and not isinstance(spacing, bool):
        values = [float(spacing)] * ndim
    else:
        try:
            values = [float(s) for s in spacing]  # type: ignore[union-attr]
        except TypeError as exc:
            raise TypeError(
                f"spacing must be a number or a sequence of {ndim} numbers (one per "
                f"spatial axis), got {spacing!r}"
            ) from exc
        if len(values) != ndim:
            raise ValueError(
                f"spacing must have one value per spatial axis ({ndim}), got "
                f"{len(values)}: {list(spacing)!r}"  # type: ignore[arg-type]
            )
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(
            f"spacing values must be finite and > 0 (pixel size along each axis), got {values!r}"
        )
    return tuple(values)


def _check_channel_axis(shape: tuple[int, ...], channel_axis: int | None) -> int | None:
    if channel_axis is None:
        return None
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
        raise TypeError(f"channel_axis must be an integer or None, got {channel_axis!r}")
    ndim = len(shape)
    if not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for an array of shape {shape}; "
            "pass the axis that holds the colour channels (usually -1), or None for a label image"
        )
    axis = int(channel_axis) % ndim
    if shape[axis] not in (3, 4):
        raise ValueError(
            f"channel_axis={channel_axis} has length {shape[axis]} in shape {shape}, but an "
            "RGB/RGBA mask needs 3 or 4 channels there; pass the right axis, or "
            "channel_axis=None for a label image"
        )
    if ndim - 1 not in (1, 2, 3):
        raise ValueError(
            f"an RGB mask of shape {shape} has {ndim - 1} spatial axes; 1 to 3 are supported"
        )
    return axis


def _check_connectivity(connectivity: int, ndim: int) -> int:
    if (
        isinstance(connectivity, bool)
        or not isinstance(connectivity, numbers.Integral)
        or not 1 <= connectivity <= ndim
    ):
        raise ValueError(
            f"connectivity must be an integer from 1 (face neighbours) to {ndim} "
            f"(all neighbours) for {ndim}-D data, got {connectivity!r}"
        )
    return int(connectivity)


def _report(progress: ProgressCallback | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, total)


# ---------------------------------------------------------------------------
# feature transform
# ---------------------------------------------------------------------------


def _feature_transform(
    sources: NDArray[np.bool_],
    weights: tuple[float, ...],
    step: Callable[[], None] | None = None,
) -> tuple[NDArray[np.integer], NDArray[np.float64]]:
    """Exact Euclidean feature transform of ``sources`` (C-contiguous bool).

    Returns flat indices (into ``sources``) of a nearest source, -1 where there
    is none, and the squared distances (``inf`` where there is none), both
    defined at non-source pixels only (entries at sources are uninitialised).
    ``weights`` are the squared spacings.
    """
    shape = sources.shape
    size = sources.size
    idx_dtype = np.int32 if size < 2**31 - 1 else np.int64
    dist = np.empty(shape, np.float64)
    feat = np.empty(shape, idx_dtype)
    n0 = shape[0]
    rest = size // n0 if n0 else 0
    src = sources.view(np.uint8)
    run_chunked(
        _scan_first_axis,
        rest,
        src.reshape(n0, rest),
        weights[0],
        dist.reshape(n0, rest),
        feat.reshape(n0, rest),
        work=size,
    )
    if step is not None:
        step()
    for axis in range(1, len(shape)):
        outer = int(np.prod(shape[:axis]))
        inner = int(np.prod(shape[axis + 1 :]))
        run_chunked(
            _envelope_axis,
            outer,
            src.reshape(outer, shape[axis], inner),
            dist.reshape(outer, shape[axis], inner),
            feat.reshape(outer, shape[axis], inner),
            weights[axis],
            work=size,
        )
        if step is not None:
            step()
    return feat, dist


def _bbox(mask: NDArray[np.bool_]) -> tuple[tuple[int, int], ...] | None:
    """Per-axis (start, stop) of the True pixels, or None if there are none."""
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hit = np.flatnonzero(mask.any(axis=other)) if other else np.flatnonzero(mask)
        if hit.size == 0:
            return None
        box.append((int(hit[0]), int(hit[-1]) + 1))
    return tuple(box)


def _crop_transform(
    sources: NDArray[np.bool_],
    box_of: NDArray[np.bool_],
    weights: tuple[float, ...],
    *,
    grow: tuple[int, ...] | None,
    step: Callable[[], None] | None = None,
) -> tuple[tuple[int, ...], tuple[slice, ...], NDArray[np.integer], NDArray[np.float64]]:
    """Feature transform restricted to a crop around ``box_of``.

    The crop is the bounding box of ``box_of`` grown by ``grow`` pixels per
    axis, or the whole image when ``grow`` is None. Growing the box of the
    targets by 1 is exact when every pixel outside the box is a source: for
    any source outside the grown box, the pixel of the 1-pixel shell on its
    straight projection is a source at least as near. Returns the crop
    offset, the crop slices and the transform of the crop (indices flat in
    the crop).
    """
    shape = sources.shape
    box = _bbox(box_of)
    assert box is not None
    if grow is None:
        lo = (0,) * len(shape)
        hi = shape
    else:
        lo = tuple(max(0, b[0] - g) for b, g in zip(box, grow, strict=True))
        hi = tuple(min(n, b[1] + g) for b, n, g in zip(box, shape, grow, strict=True))
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    feat, dist = _feature_transform(np.ascontiguousarray(sources[crop]), weights, step)
    return lo, crop, feat, dist


def _nearest_sources(
    sources: NDArray[np.bool_],
    targets: NDArray[np.bool_],
    weights: tuple[float, ...],
    *,
    grow: tuple[int, ...] | None,
    box_of: NDArray[np.bool_] | None = None,
    step: Callable[[], None] | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Nearest source of every target pixel (targets must not be sources).

    Returns (flat target indices, flat source indices, squared distances),
    over the targets inside the crop (see :func:`_crop_transform`; the crop is
    around ``box_of``, default the targets). A source index of -1 marks a
    target with no source inside the crop.
    """
    shape = sources.shape
    lo, crop, feat, dist = _crop_transform(
        sources, targets if box_of is None else box_of, weights, grow=grow, step=step
    )
    crop_shape = feat.shape
    tgt_local = np.flatnonzero(targets[crop])
    src_local = feat.reshape(-1)[tgt_local].astype(np.intp)
    sqd = dist.reshape(-1)[tgt_local]
    if crop_shape == shape:
        return tgt_local, src_local, sqd
    tgt = np.ravel_multi_index(
        tuple(c + o for c, o in zip(np.unravel_index(tgt_local, crop_shape), lo, strict=True)),
        shape,
    )
    found = src_local >= 0
    src = np.full_like(src_local, -1)
    src[found] = np.ravel_multi_index(
        tuple(
            c + o for c, o in zip(np.unravel_index(src_local[found], crop_shape), lo, strict=True)
        ),
        shape,
    )
    return tgt, src, sqd


def nearest_valid_indices(
    invalid: ArrayLike,
    *,
    spacing: Sequence[float] | float | None = None,
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Exact Euclidean feature transform: the nearest valid pixel of every pixel.

    Parameters
    ----------
    invalid : array_like of bool
        True where a pixel is invalid (needs a source), False where it is valid.
        Any number of dimensions.
    spacing : float or sequence of float, optional
        Pixel size along each axis (default 1). Distances are measured in these
        units.

    Returns
    -------
    indices : ndarray of intp, shape ``(invalid.ndim,) + invalid.shape``
        Coordinates of a nearest valid pixel, in the layout of
        ``scipy.ndimage.distance_transform_edt(..., return_indices=True)``:
        ``values[tuple(indices)]`` gathers the nearest valid value. Valid
        pixels point to themselves.
    sq_distances : ndarray of float64, shape ``invalid.shape``
        Squared Euclidean distance to that pixel (0 at valid pixels).

    Raises
    ------
    ValueError
        If there is no valid pixel at all.

    Notes
    -----
    The distance is exactly the minimum over all valid pixels. Among equally
    near valid pixels, one is chosen deterministically; it may differ from the
    one SciPy chooses.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import nearest_valid_indices
    >>> invalid = np.array([[False, True, True, True]])
    >>> idx, d2 = nearest_valid_indices(invalid)
    >>> idx[1].tolist(), d2.tolist()
    ([[0, 0, 0, 0]], [[0.0, 1.0, 4.0, 9.0]])
    """
    inv = np.asarray(invalid)
    if inv.dtype != np.bool_:
        raise TypeError(
            f"invalid must be a boolean array (True = invalid), got dtype {inv.dtype}; "
            "build one with invalid_mask(...) or a comparison such as labels == 0"
        )
    if inv.ndim == 0:
        raise ValueError("invalid must have at least one dimension, got a 0-d array")
    weights = tuple(s * s for s in _check_spacing(spacing, inv.ndim))
    if inv.size == 0:
        return np.zeros((inv.ndim,) + inv.shape, np.intp), np.zeros(inv.shape, np.float64)
    if inv.all():
        raise ValueError(
            "nothing to fill from: every pixel is invalid, so no pixel has a valid "
            "neighbour; nothing was changed"
        )
    flat_self = np.arange(inv.size, dtype=np.intp)
    sq = np.zeros(inv.size, np.float64)
    if inv.any():
        tgt, src, sqd = _nearest_sources(~inv, inv, weights, grow=(1,) * inv.ndim)
        flat_self[tgt] = src
        sq[tgt] = sqd
    indices = np.stack(np.unravel_index(flat_self, inv.shape)).reshape((inv.ndim,) + inv.shape)
    return indices.astype(np.intp, copy=False), sq.reshape(inv.shape)


# ---------------------------------------------------------------------------
# invalid masks and filling
# ---------------------------------------------------------------------------


def invalid_mask(
    mask: ArrayLike,
    *,
    invalid: float | Sequence[float] = 0,
    channel_axis: int | None = None,
) -> NDArray[np.bool_]:
    """Boolean mask of the pixels equal to the ``invalid`` value (or colour).

    Parameters
    ----------
    mask : array_like
        Label image (any number of dimensions) or colour mask.
    invalid : number or sequence of numbers, optional
        For a label image, the label that marks invalid pixels (default 0).
        For a colour mask, the invalid colour, one value per channel (e.g.
        ``[0, 0, 0]``); a single number means that value in every channel.
    channel_axis : int, optional
        Axis of the colour channels (length 3 or 4), or None for a label image.

    Returns
    -------
    ndarray of bool
        True at invalid pixels; the shape of ``mask`` without the channel axis.
        In floating-point label images NaN is always invalid (in addition to
        the ``invalid`` value); in colour masks a pixel with a NaN channel is
        invalid.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import invalid_mask
    >>> invalid_mask(np.array([[1, 0], [0, 2]])).tolist()
    [[False, True], [True, False]]
    >>> rgb = np.array([[[0, 0, 0], [255, 0, 0]]], dtype=np.uint8)
    >>> invalid_mask(rgb, invalid=[0, 0, 0], channel_axis=-1).tolist()
    [[True, False]]
    """
    arr = np.asarray(mask)
    axis = _check_channel_axis(arr.shape, channel_axis)
    is_float = np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.complexfloating)
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(
            f"mask must be a numeric or boolean array, got dtype {arr.dtype}; convert it "
            "with np.asarray(mask, dtype=...)"
        )
    if axis is None:
        if isinstance(invalid, (str, bytes)) or np.ndim(invalid) != 0:
            raise ValueError(
                f"invalid must be a single label value for a label image, got {invalid!r}; "
                "for an RGB mask pass channel_axis=-1 (or the axis of the channels)"
            )
        out = arr == invalid
        if is_float:
            out |= np.isnan(arr)
        return np.asarray(out, dtype=bool)
    n_ch = arr.shape[axis]
    if isinstance(invalid, (str, bytes)):
        raise TypeError(
            f"invalid must be a number or a colour (sequence of numbers), got {invalid!r}"
        )
    colour = np.asarray(invalid)
    if colour.ndim == 0:
        colour = np.repeat(colour, n_ch)
    if colour.ndim != 1 or colour.shape[0] != n_ch:
        raise ValueError(
            f"invalid colour must have one value per channel ({n_ch}), got {invalid!r}; "
            f"pass e.g. {[0] * n_ch} or a single number for all channels"
        )
    moved = np.moveaxis(arr, axis, -1)
    if (
        moved.flags.c_contiguous
        and moved.dtype.kind in "biu"
        and (colour.dtype.kind in "biu" or (colour.dtype.kind == "f" and np.isfinite(colour).all()))
    ):
        with np.errstate(all="ignore"):
            cast = colour.astype(moved.dtype)
        if np.array_equal(cast, colour):
            # integers: equal values <=> equal bytes; one compiled pass
            words = _as_words(moved.reshape(-1, n_ch))
            target = _as_words(cast.reshape(1, n_ch))[0]
            return _rows_equal(words, target).reshape(moved.shape[:-1])
    out = np.ones(moved.shape[:-1], dtype=bool)
    for c in range(n_ch):
        out &= moved[..., c] == colour[c]
    if is_float:
        out |= np.isnan(moved).any(axis=-1)
    return out


def _hole_components(
    invalid: NDArray[np.bool_], connectivity: int, max_size: int, *, backend: str = "auto"
) -> NDArray[np.bool_]:
    """Invalid pixels whose connected component has at most ``max_size`` pixels."""
    if backend == "auto":
        backend = "opencv" if invalid.ndim == 2 and invalid.size < 2**31 else "scipy"
    if backend == "opencv":
        import cv2

        n, lab, stats, _ = cv2.connectedComponentsWithStats(
            np.ascontiguousarray(invalid).view(np.uint8),
            connectivity=4 if connectivity == 1 else 8,
            ltype=cv2.CV_32S,
        )
        area = stats[:, cv2.CC_STAT_AREA].astype(np.int64)
    else:
        from scipy import ndimage as ndi

        structure = ndi.generate_binary_structure(invalid.ndim, connectivity)
        lab, n = ndi.label(invalid, structure=structure)
        area = np.bincount(lab.ravel(), minlength=n + 1)
    keep = area <= max_size
    keep[0] = False  # OpenCV/SciPy label 0 = the non-invalid pixels
    return keep[lab]


def _as_words(flat: NDArray) -> NDArray:
    """View a C-contiguous (pixels, channels) array as unsigned words for copying."""
    size = flat.dtype.itemsize
    if size in (1, 2, 4, 8) and flat.dtype != np.bool_:
        return flat.view(f"u{size}")
    return flat.view(np.uint8)


def _validate_fill_options(
    max_distance: float | None,
    max_hole_size: int | None,
    dilate_invalid: float,
) -> None:
    if max_distance is not None:
        if not isinstance(max_distance, numbers.Real) or isinstance(max_distance, bool):
            raise TypeError(f"max_distance must be a number or None, got {max_distance!r}")
        if not max_distance >= 0:
            raise ValueError(
                f"max_distance must be >= 0 (in units of spacing), got {max_distance!r}; "
                "pass None to fill every invalid pixel"
            )
    if max_hole_size is not None:
        if not isinstance(max_hole_size, numbers.Integral) or isinstance(max_hole_size, bool):
            raise TypeError(
                f"max_hole_size must be an integer number of pixels or None, got {max_hole_size!r}"
            )
        if max_hole_size <= 0:
            raise ValueError(
                f"max_hole_size must be a positive number of pixels, got {max_hole_size}; "
                "pass None to fill invalid regions of any size"
            )
    if not isinstance(dilate_invalid, numbers.Real) or isinstance(dilate_invalid, bool):
        raise TypeError(f"dilate_invalid must be a number >= 0, got {dilate_invalid!r}")
    if not (math.isfinite(dilate_invalid) and dilate_invalid >= 0):
        raise ValueError(
            f"dilate_invalid must be a finite distance >= 0, got {dilate_invalid!r}; "
            "pass 0 to keep the valid pixels as they are"
        )


def fill_nearest_from(
    values: ArrayLike,
    invalid: ArrayLike,
    *,
    channel_axis: int | None = None,
    max_distance: float | None = None,
    max_hole_size: int | None = None,
    connectivity: int = 1,
    dilate_invalid: float = 0,
    spacing: Sequence[float] | float | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Give every pixel flagged in ``invalid`` the value of a nearest valid pixel.

    Like :func:`fill_nearest`, but the pixels to replace are given as a
    boolean mask, e.g. off-palette pixels or pixels selected by hand.

    Parameters
    ----------
    values : array_like
        Label image (any number of dimensions) or colour mask.
    invalid : array_like of bool
        True at the pixels to replace; the shape of ``values`` without the
        channel axis.
    channel_axis : int, optional
        Axis of the colour channels of ``values`` (length 3 or 4), or None.
    max_distance : float, optional
        Leave pixels whose nearest valid pixel is farther than this (in units
        of ``spacing``) unchanged.
    max_hole_size : int, optional
        Only fill connected invalid regions of at most this many pixels
        (holes); larger invalid regions are left unchanged and are not used
        as sources either. The rule is size only: a small region touching the
        image border is filled like any other (so a result does not depend
        on where an image is cropped).
    connectivity : int, optional
        Neighbourhood defining connected invalid regions for
        ``max_hole_size``: 1 = face neighbours (default) up to ``ndim`` = all.
    dilate_invalid : float, optional
        Grow the pixels to fill by this distance (units of ``spacing``) before
        filling, so that ragged edges around them are re-drawn from farther
        inside: every pixel within Euclidean distance ``dilate_invalid`` of a
        pixel to fill is discarded and filled too. Default 0. Only with this
        option do valid pixels change.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis (default 1).
    progress : callable, optional
        Called as ``progress(done, total)`` as the work advances.

    Returns
    -------
    ndarray
        A new array of the dtype and shape of ``values``.

    Raises
    ------
    ValueError
        If there is no valid pixel to fill from ("nothing to fill from"):
        the input is left unchanged and nothing is returned.

    See Also
    --------
    fill_nearest, invalid_mask, nearest_valid_indices

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import fill_nearest_from
    >>> labels = np.array([[1, 1, 7, 2, 2]])
    >>> fill_nearest_from(labels, labels == 7).tolist() in ([[1, 1, 1, 2, 2]], [[1, 1, 2, 2, 2]])
    True
    """
    vals = np.asarray(values)
    inv = np.asarray(invalid)
    if inv.dtype != np.bool_:
        raise TypeError(
            f"invalid must be a boolean array (True = pixel to fill), got dtype {inv.dtype}; "
            "build one with invalid_mask(...) or a comparison such as labels == 0"
        )
    axis = _check_channel_axis(vals.shape, channel_axis)
    spatial = vals.shape if axis is None else vals.shape[:axis] + vals.shape[axis + 1 :]
    if inv.shape != spatial:
        raise ValueError(
            f"invalid must have the spatial shape of values, got {inv.shape} and {spatial}"
            + ("" if axis is None else f" (values without channel_axis={channel_axis})")
        )
    ndim = len(spatial)
    if not 1 <= ndim <= 3:
        raise ValueError(
            f"values must have 1 to 3 spatial dimensions, got shape {vals.shape}"
            + ("" if axis is not None else "; for a colour mask pass channel_axis")
            + "; for a time series, fill each frame separately"
        )
    weights = tuple(s * s for s in _check_spacing(spacing, ndim))
    connectivity = _check_connectivity(connectivity, ndim)
    _validate_fill_options(max_distance, max_hole_size, dilate_invalid)
    if max_distance is not None and math.isinf(max_distance):
        max_distance = None

    if axis is None:
        moved = vals
    else:
        moved = np.moveaxis(vals, axis, -1)
    out = np.array(moved, order="C", copy=True)

    def finish(result: NDArray) -> NDArray:
        return result if axis is None else np.moveaxis(result, -1, axis)

    n_invalid = int(np.count_nonzero(inv))
    if inv.size == 0:
        return finish(out)
    if n_invalid == inv.size:
        raise ValueError(
            "nothing to fill from: every pixel is invalid, so there is no valid pixel to "
            "copy a value from; nothing was changed"
        )
    if n_invalid == 0:
        return finish(out)

    total = (ndim if dilate_invalid > 0 else 0) + ndim + 2
    done = 0

    def step() -> None:
        nonlocal done
        done += 1
        _report(progress, done, total)

    _report(progress, 0, total)
    # 1. which invalid pixels to fill
    if max_hole_size is not None:
        targets = _hole_components(inv, connectivity, int(max_hole_size))
        untouched = inv & ~targets  # big regions: neither filled nor sources
        if not targets.any():
            _report(progress, total, total)
            return finish(out)
    else:
        targets = inv
        untouched = None
    step()
    # 2. optional dilation of the pixels to fill
    if dilate_invalid > 0:
        # + 1: float rounding must never make the crop one pixel short of the exact
        # distance test below (which alone decides)
        reach = tuple(int(math.floor(dilate_invalid / math.sqrt(w))) + 1 for w in weights)
        near = ~targets if untouched is None else ~(targets | untouched)
        # distance from every candidate pixel to the nearest target
        cand_tgt, cand_src, cand_d = _nearest_sources(
            targets, near, weights, grow=reach, box_of=targets, step=step
        )
        grown = cand_tgt[(cand_src >= 0) & (np.sqrt(cand_d) <= dilate_invalid)]
        targets = targets.copy()
        targets.reshape(-1)[grown] = True
    sources = ~targets if untouched is None else ~(targets | untouched)
    if not sources.any():
        raise ValueError(
            "nothing to fill from: no valid pixel is left to copy a value from"
            + (
                f" after growing the invalid pixels by dilate_invalid={dilate_invalid}; "
                "use a smaller dilate_invalid"
                if dilate_invalid > 0
                else ""
            )
            + "; nothing was changed"
        )
    # 3. nearest sources of the targets
    reach = None
    if max_distance is not None:
        reach = tuple(int(math.floor(max_distance / math.sqrt(w))) + 1 for w in weights)
    if untouched is None or not untouched.any():
        grow = (1,) * ndim  # every pixel outside the targets is a source
    else:
        grow = reach
    lo, crop, feat, dist = _crop_transform(sources, targets, weights, grow=grow, step=step)
    # 4. gather: out[t] = out[source of t] (sources never change)
    pad = 3 - ndim
    crop3 = (1,) * pad + feat.shape
    run_chunked(
        _gather_targets,
        crop3[0] * crop3[1],
        np.ascontiguousarray(targets[crop]).view(np.uint8).reshape(crop3),
        feat.reshape((1,) * pad + feat.shape),
        dist.reshape((1,) * pad + feat.shape),
        np.inf if max_distance is None else float(max_distance),
        np.array((0,) * pad + tuple(lo), dtype=np.int64),
        np.array((1,) * pad + spatial, dtype=np.int64),
        _as_words(out.reshape(inv.size, -1)),
        work=feat.size,
    )
    step()
    return finish(out)


def fill_nearest(
    mask: ArrayLike,
    *,
    invalid: float | Sequence[float] = 0,
    channel_axis: int | None = None,
    max_distance: float | None = None,
    max_hole_size: int | None = None,
    connectivity: int = 1,
    dilate_invalid: float = 0,
    spacing: Sequence[float] | float | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Replace invalid pixels by the value of a nearest valid pixel.

    Every invalid pixel takes the value (label or colour) of a valid pixel at
    the minimal Euclidean distance (anisotropic with ``spacing``). Among
    equally near valid pixels any one may be chosen. Valid pixels never change
    (unless ``dilate_invalid`` > 0), and the result contains only values that
    already occur among the valid pixels.

    Parameters
    ----------
    mask : array_like
        Label image (1-D to n-D) or colour mask with a channel axis.
    invalid : number or sequence of numbers, optional
        The invalid label (default 0), or for a colour mask the invalid colour
        (e.g. ``[0, 0, 0]``; a single number means that value in every
        channel). In floating-point images NaN always counts as invalid.
    channel_axis : int, optional
        Axis of the colour channels (length 3 or 4), e.g. -1 for an RGB mask;
        None (default) for a label image.
    max_distance : float, optional
        Leave invalid pixels farther than this from any valid pixel (in units
        of ``spacing``) unchanged.
    max_hole_size : int, optional
        Only fill connected invalid regions ("holes") of at most this many
        pixels, e.g. to fill specks but keep the background. The rule is size
        only: small regions touching the image border are filled too (so the
        result does not depend on where the image was cropped). Larger invalid
        regions are left as they are and are not used as sources.
    connectivity : int, optional
        Neighbourhood defining connected invalid regions for
        ``max_hole_size``: 1 = face neighbours (default) up to ``ndim`` = all.
    dilate_invalid : float, optional
        First grow the pixels to fill by this distance (units of ``spacing``;
        e.g. 2 = two pixels), discarding the valid pixels near them so that
        ragged edges are re-drawn from farther inside. Default 0.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis, for anisotropic data.
    progress : callable, optional
        Called as ``progress(done, total)`` as the work advances.

    Returns
    -------
    ndarray
        A new array with the dtype and shape of ``mask``.

    Raises
    ------
    ValueError
        If no valid pixel exists ("nothing to fill from"; nothing is changed),
        or for inconsistent options (each message says how to fix it).

    See Also
    --------
    fill_nearest_from : fill pixels flagged by an arbitrary boolean mask.
    remove_islands : remove small connected components and refill them.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import fill_nearest
    >>> labels = np.array([[1, 1, 0, 0, 0, 2, 2]])
    >>> fill_nearest(labels).tolist()[0][:2], fill_nearest(labels).tolist()[0][5:]
    ([1, 1], [2, 2])
    >>> fill_nearest(labels).tolist()[0][2], fill_nearest(labels).tolist()[0][4]
    (1, 2)
    >>> rgb = np.zeros((1, 3, 3), np.uint8)
    >>> rgb[0, 0] = [255, 0, 0]
    >>> fill_nearest(rgb, invalid=[0, 0, 0], channel_axis=-1)[0].tolist()
    [[255, 0, 0], [255, 0, 0], [255, 0, 0]]
    """
    inv = invalid_mask(mask, invalid=invalid, channel_axis=channel_axis)
    return fill_nearest_from(
        mask,
        inv,
        channel_axis=channel_axis,
        max_distance=max_distance,
        max_hole_size=max_hole_size,
        connectivity=connectivity,
        dilate_invalid=dilate_invalid,
        spacing=spacing,
        progress=progress,
    )


# ---------------------------------------------------------------------------
# islands
# ---------------------------------------------------------------------------


def _backward_offsets(ndim: int, connectivity: int) -> NDArray[np.int64]:
    """Neighbour offsets (as 3-D) that precede a pixel in raster order."""
    offs = []
    for off in np.ndindex(*(3,) * ndim):
        d = tuple(o - 1 for o in off)
        if d == (0,) * ndim or sum(abs(x) for x in d) > connectivity:
            continue
        if d < (0,) * ndim:  # lexicographically before: already visited
            offs.append((0,) * (3 - ndim) + d)
    return np.array(offs, dtype=np.int64).reshape(-1, 3)


def _components(codes: NDArray[np.int64], connectivity: int) -> tuple[NDArray, NDArray]:
    """Label the connected components of equal-valued pixels (1-D to 3-D)."""
    shape3 = (1,) * (3 - codes.ndim) + codes.shape
    comp, sizes = _equal_value_components(
        np.ascontiguousarray(codes).reshape(shape3),
        _backward_offsets(codes.ndim, connectivity),
    )
    return comp.reshape(codes.shape), sizes


def _codes(arr: NDArray, axis: int | None) -> NDArray[np.int64]:
    """One int64 per pixel that is equal exactly when the pixel values are equal."""
    if axis is None:
        if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.integer):
            return arr.astype(np.int64)  # injective, also for uint64 (wraps)
        raise TypeError(
            f"labels must be an integer or boolean label image, got dtype {arr.dtype}; "
            "convert it first, e.g. labels.astype(np.int32)"
        )
    moved = np.moveaxis(arr, axis, -1)
    if moved.dtype == np.uint8:
        code = np.zeros(moved.shape[:-1], np.int64)
        for c in range(moved.shape[-1]):
            code = (code << 8) | moved[..., c]
        return code
    flat = moved.reshape(-1, moved.shape[-1])
    _, inverse = np.unique(flat, axis=0, return_inverse=True)
    return inverse.reshape(moved.shape[:-1]).astype(np.int64)


def remove_islands(
    labels: ArrayLike,
    *,
    min_size: int,
    connectivity: int = 1,
    spacing: Sequence[float] | float | None = None,
    channel_axis: int | None = None,
    progress: ProgressCallback | None = None,
) -> NDArray:
    """Remove connected components smaller than ``min_size`` and refill them.

    Every connected region of equal label (including the background, 0) with
    fewer than ``min_size`` pixels is removed, and each of its pixels takes
    the label of a nearest pixel of the remaining regions (exact Euclidean
    nearest, as in :func:`fill_nearest`). So a background speck inside an
    object takes the object's label, a small object in the background becomes
    background, and a sliver between two objects is split between them.
    Removed pixels are never blanked to 0 (unlike
    ``skimage.morphology.remove_small_objects``): a pixel becomes background
    only if its nearest remaining pixel is background.

    Guarantee: no connected component smaller than ``min_size`` remains. A
    refill can create one (the pixels nearest to some kept region may be cut
    off from it, e.g. a thin wedge between two other regions); then the
    refill is repeated for the remaining small regions with the grown large
    regions as sources, and if a round makes no progress (possible only with
    anisotropic spacing) small regions take the label of a face-neighbouring
    large region instead. Kept regions never shrink and each round strictly
    shrinks the set of small-region pixels, so this terminates (usually after
    one or two rounds). Only pixels of removed regions change.

    Parameters
    ----------
    labels : array_like
        Integer or boolean label image (1-D to 3-D), or a colour mask with
        ``channel_axis`` (colours are compared as a whole).
    min_size : int
        Smallest allowed component size, in pixels (components with
        ``size < min_size`` are removed).
    connectivity : int, optional
        1 = face neighbours (default) up to ``ndim`` = all neighbours.
    spacing : float or sequence of float, optional
        Pixel size along each spatial axis, for the nearest rule.
    channel_axis : int, optional
        Axis of the colour channels of an RGB(A) mask, or None.
    progress : callable, optional
        Called as ``progress(done, total)`` with the number of small-region
        pixels resolved so far.

    Returns
    -------
    ndarray
        A new array with the dtype and shape of ``labels``.

    Raises
    ------
    ValueError
        If every component is smaller than ``min_size`` (nothing to fill
        from), or for invalid options.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_maskclean.core.holes import remove_islands
    >>> labels = np.array([[1, 1, 1, 0, 0],
    ...                    [1, 0, 1, 0, 3],
    ...                    [1, 1, 1, 0, 0]])
    >>> remove_islands(labels, min_size=2).tolist()
    [[1, 1, 1, 0, 0], [1, 1, 1, 0, 0], [1, 1, 1, 0, 0]]
    """
    arr = np.asarray(labels)
    axis = _check_channel_axis(arr.shape, channel_axis)
    if isinstance(min_size, bool) or not isinstance(min_size, numbers.Integral):
        raise TypeError(f"min_size must be an integer number of pixels, got {min_size!r}")
    if min_size < 1:
        raise ValueError(f"min_size must be >= 1 pixel, got {min_size}")
    codes = _codes(arr, axis)
    ndim = codes.ndim
    if not 1 <= ndim <= 3:
        raise ValueError(
            f"labels must have 1 to 3 spatial dimensions, got shape {arr.shape}; "
            "for a colour mask pass channel_axis"
        )
    connectivity = _check_connectivity(connectivity, ndim)
    weights = tuple(s * s for s in _check_spacing(spacing, ndim))

    comp, sizes = _components(codes, connectivity)
    small = (sizes < min_size)[comp]
    n_small = int(small.sum())
    out = np.array(arr if axis is None else np.moveaxis(arr, axis, -1), order="C", copy=True)
    finish = (lambda r: r) if axis is None else (lambda r: np.moveaxis(r, -1, axis))
    if n_small == 0:
        return finish(out)
    if n_small == codes.size:
        raise ValueError(
            f"nothing to fill from: every connected component is smaller than "
            f"min_size={min_size} (largest has {int(sizes.max())} pixels); use a smaller "
            "min_size; nothing was changed"
        )
    # index map: out pixel p gets the value of input pixel source[p]
    source = np.arange(codes.size, dtype=np.intp)
    cur = codes.reshape(-1).copy()
    total = n_small
    _report(progress, 0, total)
    prev = n_small + 1
    while n_small:
        if n_small < prev:
            tgt, src, _ = _nearest_sources(~small, small, weights, grow=(1,) * ndim)
        else:  # no progress: take the label of a face neighbour that is kept
            tgt, src = _neighbour_sources(small)
        source[tgt] = source[src]
        cur[tgt] = cur[src]
        prev = n_small
        comp, sizes = _components(cur.reshape(codes.shape), connectivity)
        small = (sizes < min_size)[comp]
        n_small = int(small.sum())
        _report(progress, total - n_small, total)
    if axis is None:
        res = out.reshape(-1)[source].reshape(out.shape)
    else:
        flat = out.reshape(-1, out.shape[-1])
        res = flat[source].reshape(out.shape)
    return finish(res)


def _neighbour_sources(small: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Small pixels with a kept face neighbour, and that neighbour (flat indices)."""
    shape = small.shape
    flat_idx = np.arange(small.size, dtype=np.intp).reshape(shape)
    src = np.full(small.size, -1, dtype=np.intp)
    for ax in range(small.ndim):
        for shift in (1, -1):
            a = [slice(None)] * small.ndim
            b = [slice(None)] * small.ndim
            if shift == 1:
                a[ax], b[ax] = slice(1, None), slice(None, -1)
            else:
                a[ax], b[ax] = slice(None, -1), slice(1, None)
            here, there = tuple(a), tuple(b)
            ok = small[here] & ~small[there]
            dst = flat_idx[here][ok]
            fresh = src[dst] < 0
            src[dst[fresh]] = flat_idx[there][ok][fresh]
    tgt = np.flatnonzero(src >= 0)
    return tgt, src[tgt]
