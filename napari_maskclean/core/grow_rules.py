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
    A seeded watershed on the gradient magnitude that decides only a band around
    the object's extent (the pixels clearly above the local background, 30 %
    of the contrast and the noise): deeper than ``band`` inside it is object, farther
    than ``band`` outside it is background, so a dim rim stays with its bright core
    while the boundary sits on the strongest edge. The click's marker runs down
    the (smoothed) gradient from the click into the object's flat core, so a
    click on the object's flank is not walled in by its neighbours' markers.
    Competing markers: the other objects' seeds and, for a lone click, the other
    blobs of the extent (peaks of its distance transform farther than one radius
    from the seed, and the parts beyond its necks) and, in a volume, its other
    bright peaks (nuclei stacked along the optical axis touch without a neck),
    so touching nuclei are cut at their contact even when only one of them is
    clicked.
"""

from __future__ import annotations

import math
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
    background_level: float = 0.25  # (kept for callers; no longer used by the edge rule)
    low_level: float = 0.3  # edge: pixels above this fraction (and the noise) may be object
    band: float = 3.0  # edge: half-width (physical units) of the band the watershed decides
    shape_h: float = 0.2  # edge: h of the shape peaks that split touching objects
    auto_competitors: float = 1.0  # edge: blobs farther than this many radii compete (0: off)
    peak_h: float = 0.05  # edge: a bright peak this fraction of the contrast high competes


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


def _start(win: NDArray, seed: tuple[int, ...],
           init: NDArray[np.bool_] | None) -> NDArray[np.bool_]:
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
    if refine and region[seed]:
        # Refine: the statistics come from the part of the extent that was clicked,
        # not from stray patches of background in it.
        region = seed_component(region, seed)
    start = region
    bg = float(np.percentile(win, opts.background_percentile))
    for _ in range(max(1, opts.iterations)):
        vals = win[region]
        mean = float(vals.mean())
        # A flat object has a tiny spread (float rounding would stop its growth): a
        # floor of a tenth of the contrast to the local background; real objects'
        # spreads are larger.
        spread = max(float(vals.std()), 0.1 * (mean - bg))
        lo = mean - opts.k * spread
        cand = win >= lo
        new = components_touching(cand, start) if refine else seed_component(cand, seed)
        if np.array_equal(new, region):
            break
        region = new
    # The smoothing blurs the object's edge: take in the blurred rim down to half-way
    # to the background, within two pixels of the region (a floor on the spread that
    # high would flood real objects' neighbours).
    mean = float(win[region].mean())
    rim = ndi.binary_dilation(region, iterations=2) & (win >= bg + 0.5 * (mean - bg))
    return region | rim


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
    refine = init is not None and init.any()
    grad = gradient_magnitude(win, spacing)
    # What may be object: clearly above the background (a fraction of the contrast, and
    # the noise). Its own dim rim belongs to it, so the watershed on the gradient only
    # decides a band around this extent: the background marker is what lies farther
    # than ``band`` outside it, the object marker what lies deeper than ``band`` inside.
    low = bg + max(opts.low_level * (top - bg), 3.0 * noise_sigma(win))
    cand = win > low
    obj = components_touching(cand, init) if refine else seed_component(cand, seed)
    markers = np.zeros(win.shape, dtype=np.int32)
    markers[ndi.distance_transform_edt(~obj, sampling=spacing) > opts.band] = 2
    nxt = 3
    # The depth of each pixel in the extent (used for its blobs, parts and markers).
    din = ndi.distance_transform_edt(obj, sampling=spacing)
    # The click's marker reaches down into the object's core: the watershed floods
    # from the markers in gradient order, and a click on the object's flank (steep
    # gradient) is reached late and walled in by a rival whose marker sits in a flat
    # core. The path descends the gradient from the click (never nearer to another
    # clicked seed than to the click).
    path = [seed]
    if not refine and obj[seed]:
        path = _descent(gradient_smoothed(grad, spacing), seed, obj, list(competitors),
                        spacing)
    # The rivals: the other clicked seeds and, for a lone click, the other objects of
    # the extent (its other blobs, and its other bright peaks), as if they had been
    # clicked.
    rivals = list(competitors)
    if not refine and opts.auto_competitors > 0 and obj.any():
        rivals += _other_peaks(win, seed, obj, din, spacing, opts.auto_competitors,
                               opts.peak_h * (top - bg))
    bright = win >= bg + 0.5 * (top - bg)

    def alone(region: NDArray[np.bool_]) -> bool:  # holds the seed and no rival
        return bool(region[seed]) and not any(region[c] for c in rivals)

    def rival_alone(region: NDArray[np.bool_], c: tuple[int, ...]) -> bool:
        return not region[seed] and sum(bool(region[o]) for o in rivals) == 1

    if obj.any():
        # Touching objects in the extent: split it at its shape's necks (h-maxima of
        # the distance transform); the other parts compete as if clicked. The object's
        # own parts (the seed's, or those of the confident core of the current extent
        # when refining) are its marker where deeper than ``band``: its dim rim is in.
        depth = float(din[seed]) if obj[seed] else float(din.max())
        parts = shape_parts(din, obj, max(1.0, opts.shape_h * depth))
        deep = din > min(opts.band, 0.5 * depth)
        if refine:
            core = init & (win >= bg + 0.5 * (top - bg))
            own_ids = set(np.unique(parts[core if core.any() else init]).tolist()) - {0}
        else:
            own_ids = {int(parts[seed])} - {0}
        for p in np.unique(parts[deep]):
            if p and p not in own_ids:
                markers[deep & (parts == p)] = nxt
                nxt += 1
        own = np.isin(parts, list(own_ids))
        if own_ids and not any(own[c] for c in rivals):
            markers[deep & own] = 1
    # Each seed's bright core (above half the contrast) is its marker, unless it
    # holds another seed: then the watershed on the gradient must split them.
    # Markers are small balls (a third of the object's radius), not single pixels: a
    # one-pixel marker on a noisy gradient is walled in by its neighbour's flood.
    rad = max(1.0, float(din[seed]) / 3) if obj.any() and not refine else 1.0
    for c in rivals:
        if bright[c]:
            core = seed_component(bright, c)
            if rival_alone(core, c):
                markers[core & (markers != 1)] = nxt
        markers[_ball(win.shape, c, rad, spacing) & obj & (markers != 1)] = nxt
        markers[c] = nxt
        nxt += 1
    if not refine and bright[seed]:
        core = seed_component(bright, seed)
        if alone(core):
            markers[core] = 1
    if not refine:
        markers[_ball(win.shape, seed, rad, spacing) & obj] = 1
        if len(path) > 1:
            markers[_tube(win.shape, path, rad, spacing) & obj] = 1
    if refine:
        # Refine: the confidently bright part of the current extent is the object.
        core = init & (win >= bg + 0.5 * (top - bg))
        markers[core if core.any() else init] = 1
    else:
        markers[_start(win, seed, None) & (win > low)] = 1
        markers[seed] = 1
    ws = watershed(grad, markers)
    return seed_component(ws == 1, seed) if not refine else ws == 1


def noise_sigma(win: NDArray[np.floating]) -> float:
    """A robust estimate of the noise's standard deviation (MAD of neighbour differences)."""
    diffs = [np.diff(win, axis=a).ravel() for a in range(win.ndim) if win.shape[a] > 1]
    if not diffs:
        return 0.0
    d = np.concatenate(diffs)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0))


def shape_parts(din: NDArray[np.floating], mask: NDArray[np.bool_], h: float) -> NDArray:
    """Label the parts of ``mask`` separated by necks: basins of its distance transform."""
    from skimage.morphology import h_maxima

    peaks, _ = ndi.label(h_maxima(din, h).astype(bool) & mask)
    return watershed(-din, peaks, mask=mask)


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


def _other_peaks(win: NDArray[np.floating], seed: tuple[int, ...], obj: NDArray[np.bool_],
                 din: NDArray[np.floating], spacing: tuple[float, ...], scale: float,
                 h: float) -> list[tuple[int, ...]]:
    """The centres of the other objects in ``obj`` (not the seed's own), to compete.

    The object's radius ``r`` is the depth of the seed in ``obj`` (``din``, the
    distance transform of ``obj``). Two kinds of peaks farther than ``scale * r`` from the seed are
    other objects: the peaks of the distance transform (each convex blob has
    one: touching nuclei without a dark valley) and, in a volume, the bright
    peaks (h-maxima of ``win`` higher than ``h``) other than the one whose basin
    holds the seed (nuclei stacked along the optical axis touch face to face,
    without a neck: only their brightness separates them).
    """
    from skimage.feature import peak_local_max

    fine = min(spacing)
    r = float(din[seed])
    peaks: list[tuple[int, ...]] = []
    if r >= 2 * fine:
        # Peaks of the (lightly smoothed) distance transform at least half a radius
        # apart: one per convex blob.
        land = ndi.gaussian_filter(din, 1.0)
        peaks += [tuple(int(v) for v in p) for p in peak_local_max(
            land, min_distance=max(1, int(round(0.5 * r / fine))),
            labels=obj.astype(np.int32), exclude_border=False)]
    if h > 0 and win.ndim == 3:
        # Only in volumes: nuclei stacked along the optical axis touch face to face
        # (the axial blur hides the gap), without the neck that separates touching
        # objects in a plane. In 2D the bright peaks of textured nuclei would cut them
        # (measured on the DSB image: median IoU 0.82 -> 0.81).
        peaks += _bright_peaks(win, seed, obj, h)
    # The seed's own object: the peaks within ``scale`` radii of the seed.
    sp = np.asarray(spacing)
    near = scale * r
    return [p for p in peaks
            if float(np.linalg.norm((np.asarray(p) - np.asarray(seed)) * sp)) > near]


def _bright_peaks(win: NDArray[np.floating], seed: tuple[int, ...], obj: NDArray[np.bool_],
                  h: float) -> list[tuple[int, ...]]:
    """The brightest pixel of each bright peak (h-maxima) of ``obj`` but the seed's.

    The seed's peak is the one whose basin (watershed of the inverted window in
    ``obj``) holds the seed.
    """
    from skimage.morphology import h_maxima

    land = np.where(obj, win, win[obj].min())
    peaks, n = ndi.label(h_maxima(land, h).astype(bool) & obj)
    if n < 2:
        return []
    # Climbing from the seed reaches its own peak (the watershed's basin, at a
    # fraction of the cost); a climb that stops on a lower maximum asks the watershed.
    top = _descent(-land, seed, obj, [], (1.0,) * win.ndim)[-1]
    own = int(peaks[top]) or int(watershed(-land, peaks, mask=obj)[seed])
    out = []
    for k, box in enumerate(ndi.find_objects(peaks), start=1):
        if k == own or box is None:
            continue
        at = np.unravel_index(int(np.argmax(np.where(peaks[box] == k, win[box], -np.inf))),
                              peaks[box].shape)
        out.append(tuple(int(i + b.start) for i, b in zip(at, box)))
    return out


def gradient_smoothed(grad: NDArray[np.floating], spacing: tuple[float, ...]) -> NDArray:
    """The gradient magnitude smoothed by one pixel of the finest axis (no noise pits)."""
    return ndi.gaussian_filter(grad, tuple(min(spacing) / s for s in spacing))


def _descent(land: NDArray[np.floating], seed: tuple[int, ...], obj: NDArray[np.bool_],
             rivals: list[tuple[int, ...]], spacing: tuple[float, ...]) -> list[tuple[int, ...]]:
    """The steepest-descent path of ``land`` from ``seed`` to its basin's bottom in ``obj``.

    The path stops before a step that would be as near to a rival as to the seed
    (the click's object is the one nearer to it than to the other clicks).
    """
    sp = np.asarray(spacing)
    riv = np.asarray(rivals, dtype=float).reshape(-1, len(seed)) * sp
    origin = np.asarray(seed) * sp
    path = [seed]
    p = seed
    for _ in range(obj.size):
        box = tuple(slice(max(0, c - 1), c + 2) for c in p)
        nb = np.where(obj[box], land[box], np.inf)
        at = np.unravel_index(int(np.argmin(nb)), nb.shape)
        q = tuple(int(b.start + i) for b, i in zip(box, at))
        if not land[q] < land[p]:
            break
        x = np.asarray(q) * sp
        if len(riv) and float(np.min(np.linalg.norm(riv - x, axis=1))) <= float(
                np.linalg.norm(x - origin)):
            break
        p = q
        path.append(p)
    return path


def _tube(shape: tuple[int, ...], path: list[tuple[int, ...]], radius: float,
          spacing: tuple[float, ...]) -> NDArray[np.bool_]:
    """The pixels within ``radius`` (physical units) of a path of pixels."""
    pts = np.asarray(path)
    reach = [math.ceil(radius / sp) + 1 for sp in spacing]
    box = tuple(slice(max(0, lo - m), min(n, hi + m + 1))
                for lo, hi, m, n in zip(pts.min(0), pts.max(0), reach, shape))
    along = np.ones(tuple(b.stop - b.start for b in box), dtype=bool)
    along[tuple((pts - [b.start for b in box]).T)] = False
    out = np.zeros(shape, dtype=bool)
    out[box] = ndi.distance_transform_edt(along, sampling=spacing) <= radius
    return out


def _ball(shape: tuple[int, ...], centre: tuple[int, ...], radius: float,
          spacing: tuple[float, ...]) -> NDArray[np.bool_]:
    """A ball of ``radius`` (physical units) around ``centre``."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) * sp) ** 2 for g, c, sp in zip(grids, centre, spacing)) <= radius ** 2
