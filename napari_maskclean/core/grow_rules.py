"""The growing rules of click-to-segment, each on one window of the image.

Private helpers of :mod:`napari_maskclean.core.grow`. Every rule gets a
window of the image already smoothed and turned so that the object is
*brighter* than its surroundings (a dark object is negated first), the seed's
position in that window, and returns the candidate region (a boolean array of
the window's shape, connected to the seed). Growing the window until the region
no longer touches it, the maximum size, hole filling, smoothing and the split
between objects are done by the caller, the same for every rule.

The rules
---------
``contrast``
    The pixels brighter than a level set between the local background (a low
    percentile of the window, which grows with the object) and the object's
    bright value (a high percentile of the region, re-estimated twice), so a
    bright core and its dim rim are one object.
``adaptive``
    Confidence connected (as ITK's ``ConfidenceConnectedImageFilter``): the
    region's mean and spread are re-estimated as it grows, and it grows over
    pixels no darker than ``mean - k * spread``.
``edge``
    A seeded watershed on the gradient magnitude, with the seed, the other
    objects' seeds and the local background as competing markers: the region
    stops at the strongest edge between the seed and the background.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage as ndi
from skimage.segmentation import watershed

Rule = Literal["contrast", "adaptive", "edge"]
RULES: tuple[str, ...] = ("contrast", "adaptive", "edge")


@dataclass(frozen=True)
class RuleOptions:
    """The options of all rules (validated by the caller)."""

    level: float = 0.45  # contrast: fraction of the way from background to object
    background_percentile: float = 10.0  # contrast, edge: the local background
    object_percentile: float = 95.0  # contrast, edge: the object's bright value
    k: float = 2.5  # adaptive: spreads below the mean that still belong
    iterations: int = 4  # adaptive: re-estimates of mean and spread
    background_level: float = 0.25  # edge: below this fraction -> background marker
    auto_competitors: float = 0.0  # edge: peaks standing out by this fraction compete


def seed_component(cand: NDArray[np.bool_], seed: tuple[int, ...]) -> NDArray[np.bool_]:
    """The connected component (face connectivity) of ``cand`` containing ``seed``."""
    if not cand[seed]:
        out = np.zeros_like(cand)
        out[seed] = True
        return out
    lab, _ = ndi.label(cand)
    return lab == lab[seed]


def components_touching(cand: NDArray[np.bool_], marker: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The components of ``cand`` that overlap ``marker``."""
    lab, _ = ndi.label(cand)
    ids = np.unique(lab[marker & cand])
    ids = ids[ids != 0]
    return np.isin(lab, ids) if ids.size else np.zeros_like(cand)


def _start(win: NDArray, seed: tuple[int, ...], init: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
    """The starting region: ``init`` (refine) or a 3-pixel ball around the seed."""
    if init is not None and init.any():
        return init
    start = np.zeros(win.shape, dtype=bool)
    start[tuple(slice(max(0, c - 1), c + 2) for c in seed)] = True
    return start


def contrast_region(
    win: NDArray[np.floating],
    seed: tuple[int, ...],
    opts: RuleOptions,
    init: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.bool_], float, float]:
    """The ``contrast`` rule; returns the region, the background and the object value."""
    bg = float(np.percentile(win, opts.background_percentile))
    region = _start(win, seed, init)
    top = float(np.percentile(win[region], opts.object_percentile))
    for _ in range(3):  # the object's value from the region, which it changes
        if top <= bg:
            return seed_only(win.shape, seed), bg, top
        level = bg + opts.level * (top - bg)
        cand = win >= level
        region = (components_touching(cand, init) if init is not None and init.any()
                  else seed_component(cand, seed))
        new_top = float(np.percentile(win[region], opts.object_percentile))
        if abs(new_top - top) <= 1e-3 * (abs(top - bg) + 1e-12):
            break
        top = new_top
    return region, bg, top


def adaptive_region(
    win: NDArray[np.floating],
    seed: tuple[int, ...],
    opts: RuleOptions,
    init: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """The ``adaptive`` (confidence connected) rule."""
    region = _start(win, seed, init)
    refine = init is not None and init.any()
    # A floor on the spread: on a flat object (std 0) float rounding would stop growth.
    lo_pct, hi_pct = np.percentile(win, (1, 99))
    floor = 0.02 * float(hi_pct - lo_pct)
    for _ in range(max(1, opts.iterations)):
        vals = win[region]
        lo = float(vals.mean()) - opts.k * max(float(vals.std()), floor)
        cand = win >= lo
        new = components_touching(cand, init) if refine else seed_component(cand, seed)
        if np.array_equal(new, region):
            break
        region = new
    return region


def edge_region(
    win: NDArray[np.floating],
    seed: tuple[int, ...],
    opts: RuleOptions,
    spacing: tuple[float, ...],
    competitors: list[tuple[int, ...]],
    init: NDArray[np.bool_] | None = None,
) -> NDArray[np.bool_]:
    """The ``edge`` rule: a seeded watershed on the gradient magnitude."""
    _, bg, top = contrast_region(win, seed, opts, init)
    if top <= bg:
        return seed_only(win.shape, seed)
    grad = gradient_magnitude(win, spacing)
    markers = np.zeros(win.shape, dtype=np.int32)
    markers[win <= bg + opts.background_level * (top - bg)] = 2
    for k, c in enumerate(competitors):
        markers[c] = 3 + k
    if opts.auto_competitors > 0 and init is None:
        # Bright peaks of other objects in the window compete as if clicked: a lone
        # click does not swallow its touching neighbours.
        nxt = 3 + len(competitors)
        for peak in _other_peaks(win, seed, bg + opts.level * (top - bg),
                                 opts.auto_competitors * (top - bg)):
            if markers[peak] == 0:
                markers[peak] = nxt
                nxt += 1
    if init is not None and init.any():
        # Refine: the confidently bright part of the current extent is the object.
        core = init & (win >= bg + 0.5 * (top - bg))
        markers[core if core.any() else init] = 1
    else:
        markers[_start(win, seed, None) & (win > bg + opts.background_level * (top - bg))] = 1
        markers[seed] = 1
    ws = watershed(grad, markers)
    return seed_component(ws == 1, seed) if init is None else ws == 1


def gradient_magnitude(win: NDArray[np.floating], spacing: tuple[float, ...]) -> NDArray:
    """Central-difference gradient magnitude in physical units (the window is smoothed)."""
    acc = np.zeros(win.shape, dtype=np.float32)
    for axis, sp in enumerate(spacing):
        if win.shape[axis] < 2:
            continue
        d = np.gradient(win, axis=axis) / sp
        acc += d * d
    return np.sqrt(acc)


def seed_only(shape: tuple[int, ...], seed: tuple[int, ...]) -> NDArray[np.bool_]:
    """A region of the seed pixel alone (no contrast to grow on)."""
    out = np.zeros(shape, dtype=bool)
    out[seed] = True
    return out


def split_touching(
    region: NDArray[np.bool_],
    seed: tuple[int, ...],
    spacing: tuple[float, ...],
    win: NDArray[np.floating] | None = None,
    h: float = 0.2,
) -> NDArray[np.bool_]:
    """The seed's part of a region that holds several touching objects.

    Objects are the basins of the region's distance transform (``win`` None:
    by shape) or of its intensity (``win``: by brightness) whose peaks stand
    out by more than ``h`` of the highest peak (h-maxima); the seed keeps its
    basin (seeded watershed). A region with one peak is returned unchanged.
    """
    from skimage.morphology import h_maxima

    if not region.any():
        return region
    if win is None:
        land = ndi.distance_transform_edt(region, sampling=spacing)
    else:
        land = np.where(region, win - win[region].min(), 0.0)
    top = float(land.max())
    if top <= 0:
        return region
    peaks = h_maxima(land, h * top).astype(bool) & region
    markers, n = ndi.label(peaks)
    if n < 2:
        return region
    ws = watershed(-land, markers, mask=region)
    own = ws[seed]
    return seed_component(ws == own, seed) if own else region


def _other_peaks(win: NDArray[np.floating], seed: tuple[int, ...], floor: float,
                 h: float) -> list[tuple[int, ...]]:
    """Regional peaks (h-maxima above ``floor``) other than the one the seed climbs to."""
    from skimage.morphology import h_maxima

    if h <= 0:
        return []
    peaks = h_maxima(win, h).astype(bool) & (win >= floor)
    lab, n = ndi.label(peaks)
    if n < 2:
        return []
    basins = watershed(-win, lab, mask=win >= floor)
    own = basins[seed]
    cents = ndi.center_of_mass(peaks, lab, range(1, n + 1))
    out = []
    for i, c in enumerate(cents, start=1):
        if i == own:
            continue
        p = tuple(int(round(v)) for v in c)
        if lab[p] != i:  # a curved plateau: take one of its pixels instead
            p = tuple(int(v[0]) for v in np.nonzero(lab == i))
        out.append(p)
    return out
