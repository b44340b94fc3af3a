"""Label-only elastic deformation (NSegment+) of label images.

:func:`elastic_deform_labels` deforms a label image (never an image) with a
smooth random displacement field, the augmentation of Kim et al., "Unlocking
Robust Semantic Segmentation Performance via Label-only Elastic Deformations
against Implicit Label Noise" (arXiv 2508.10383): a field uniform in
``[-1, 1]`` per pixel and axis, scaled by ``alpha``, set to zero in the padded
bounding boxes of small connected components, smoothed by a Gaussian of width
``sigma`` and applied by nearest-neighbour remapping, so that every output
label is an input label. :class:`LabelNoise` is the random training transform
(a random ``(alpha, sigma)`` pair with probability ``prob``) for arrays,
MMSegmentation result dicts and albumentations-style pipelines.

The metrics of the noise (:func:`measure_noise`), the calibration of ``alpha``
to a target Dice or boundary shift (:func:`calibrate_noise`) and sweeps
(:func:`noise_sweep`) live in :mod:`napari_maskclean.core.noise_metrics`; they
can be imported from here as well.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import cv2
import numpy as np
import scipy.ndimage as ndi
from numpy.typing import NDArray
from skimage.measure import label as _sk_label

from . import _noise_fast
from ._noise_kernels import _box_mask_2d, _cc_stats_2d
from ._parallel import run_in_threads

__all__ = [
    "SUPPRESSIONS",
    "LabelNoise",
    "elastic_deform_labels",
]

Suppression = Literal["seed", "exact"]
SUPPRESSIONS: tuple[str, ...] = ("seed", "exact")
"""Suppression modes of :func:`elastic_deform_labels`."""

VolumeMode = Literal["field", "slices"]

# Default (alpha, sigma) pairs of the seed (the paper's Omega).
_SEED_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (a, s) for a in (1, 15, 30, 50, 100) for s in (3, 5, 10)
)
# dtypes cv2.remap copies directly (OpenCV 4 and 5); others go through an index image.
_CV_REMAP_DTYPES = frozenset(map(np.dtype, (np.uint8, np.int8, np.uint16, np.int16, np.int32)))
# cv2.remap stores nearest coordinates as 16-bit integers.
_CV_MAX_SIDE = 32767
# Test hook: widen the error bounds of the float32 path (1.0 in use).
_BOUND_SCALE = 1.0


def _check_random_state(random_state: Any) -> np.random.RandomState | np.random.Generator:
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.RandomState(random_state)
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    raise TypeError(
        "random_state must be None, an int seed, a numpy RandomState or Generator, "
        f"got {type(random_state).__name__}"
    )


def _uniform(rs: np.random.RandomState | np.random.Generator, shape: tuple[int, ...]) -> NDArray:
    # RandomState.rand is what the seed draws; a Generator gives another stream.
    return rs.rand(*shape) if isinstance(rs, np.random.RandomState) else rs.random(shape)


def _check_labels(labels: Any) -> np.ndarray:
    a = np.asarray(labels)
    if a.dtype == bool:
        return a
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(
            f"labels must be an integer (or boolean) label image, got dtype {a.dtype}; "
            "round or cast it first, e.g. labels.astype(np.int32)"
        )
    if a.ndim not in (2, 3):
        raise ValueError(f"labels must be 2D or 3D, got shape {a.shape}")
    if not a.dtype.isnative:  # e.g. big-endian from a file: the kernels need native order
        a = a.astype(a.dtype.newbyteorder("="))
    if min(a.shape) == 0:
        raise ValueError(f"labels must not be empty, got shape {a.shape}")
    return a


def _check_params(alpha: float, sigma: float, area_threshold: int) -> None:
    if not (np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0 (pixels), got {alpha!r}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (pixels), got {sigma!r}")
    if area_threshold < 0:
        raise ValueError(f"area_threshold must be >= 0 (pixels), got {area_threshold!r}")


def _components(labels: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """Components of equal label (8-/26-connected) in one pass; ignore_index pixels are 0."""
    a = labels.view(np.uint8) if labels.dtype == bool else labels
    if ignore_index is not None:
        bg = ignore_index
    else:  # a value absent from the image, so that every label gets components
        lo, hi = a.min(), a.max()
        info = np.iinfo(a.dtype)
        if lo > info.min:
            bg = int(lo) - 1
        elif hi < info.max:
            bg = int(hi) + 1
        else:  # the dtype's full range is present: widen
            a, bg = a.astype(np.int64), int(info.min) - 1
    try:
        bg = a.dtype.type(bg)
    except OverflowError:  # ignore_index outside the dtype: nothing is ignored
        return _components(labels, None)
    return _sk_label(a, background=bg, connectivity=a.ndim)


def _boxes(labels: np.ndarray, ignore_index: int | None):
    """Components of equal label, their areas and boxes, from one labelling.

    Returns the component image (0 for ``ignore_index``), the areas indexed by
    component and the boxes as rows ``start_0, stop_0, start_1, stop_1, ...``.
    """
    a = labels.view(np.uint8) if labels.dtype == bool else labels
    if a.ndim == 2:
        try:
            ign = a.dtype.type(0 if ignore_index is None else ignore_index)
        except OverflowError:  # ignore_index outside the dtype: nothing to ignore
            ign, ignore_index = a.dtype.type(0), None
        return _cc_stats_2d(np.ascontiguousarray(a), ignore_index is not None, ign)
    cc = _components(a, ignore_index)
    areas = np.bincount(cc.ravel())
    boxes = np.zeros((len(areas), 2 * a.ndim), np.int64)
    for i, box in enumerate(ndi.find_objects(cc), start=1):
        boxes[i] = [v for s in box for v in (s.start, s.stop)]
    return cc, areas, boxes


def _box_mask(shape: tuple[int, ...], boxes: np.ndarray, pad: int) -> np.ndarray | None:
    """Union of the boxes, each padded by ``pad`` and clipped to the image."""
    if len(boxes) == 0:
        return None
    if len(shape) == 2:
        return _box_mask_2d(shape[0], shape[1], boxes, pad)
    mask = np.zeros(shape, dtype=bool)
    for box in boxes:
        mask[tuple(slice(max(box[2 * k] - pad, 0), min(box[2 * k + 1] + pad, n))
                   for k, n in enumerate(shape))] = True
    return mask


def _blur(d: np.ndarray, sigma: float) -> np.ndarray:
    if d.ndim == 2:
        return cv2.GaussianBlur(d, (0, 0), sigma)
    # BORDER_REFLECT_101 is scipy's "mirror"; OpenCV's float kernel spans 4 sigma.
    return ndi.gaussian_filter(d, sigma, mode="mirror", truncate=4.0)


def _remap_nearest(labels: np.ndarray, field: list[np.ndarray]) -> np.ndarray:
    """Labels at the rounded, clipped positions ``index + field`` (the seed's Step 4)."""
    shape = labels.shape
    maps = []
    for axis, d in enumerate(field):  # field is in axis order (z), y, x
        grid = np.arange(shape[axis], dtype=np.float64).reshape(
            [-1 if k == axis else 1 for k in range(labels.ndim)]
        )
        m = d + grid  # the seed: meshgrid (int64) + d, clipped, cast to float32
        np.clip(m, 0, shape[axis] - 1, out=m)
        maps.append(m.astype(np.float32))
    if labels.ndim == 2 and max(shape) <= _CV_MAX_SIDE:
        my, mx = maps
        if labels.dtype == bool:
            return cv2.remap(labels.view(np.uint8), mx, my, cv2.INTER_NEAREST).view(bool)
        if labels.dtype in _CV_REMAP_DTYPES:
            return cv2.remap(np.ascontiguousarray(labels), mx, my, cv2.INTER_NEAREST)
        if labels.size < 2**31:  # remap indices, not values: exact for any label value
            idx = np.arange(labels.size, dtype=np.int32).reshape(shape)
            return labels.ravel()[cv2.remap(idx, mx, my, cv2.INTER_NEAREST)]
    # OpenCV rounds nearest coordinates half to even, as np.rint does.
    idx = tuple(np.rint(m).astype(np.intp) for m in maps)
    return labels[idx]


def _piece_counts(labels: np.ndarray, cc: np.ndarray) -> dict:
    """Number of connected pieces of each label value (given its components)."""
    rep = np.zeros(int(cc.max()) + 1, dtype=labels.dtype)
    rep[cc.ravel()] = labels.ravel()
    vals, counts = np.unique(rep[1:], return_counts=True)
    return dict(zip(vals.tolist(), counts.tolist()))


def _make_instance_safe(labels, field, out, cc, boxes, ignore_index, max_rounds=50):
    """Zero the field around instances that vanish or split, until none does.

    An instance whose bounding box, padded by the largest displacement plus one,
    has a zero field is copied exactly (no pixel outside that box can reach it),
    and stays so as later rounds only zero more of the field; so each round
    mends at least one instance for good and the loop ends.
    """
    skip = {0} if ignore_index is None else {0, ignore_index}
    rep = np.zeros(len(boxes), dtype=labels.dtype)
    rep[cc.ravel()] = labels.ravel()
    before = _piece_counts(labels, cc)
    for _ in range(max_rounds):
        after = _piece_counts(out, _boxes(out, ignore_index)[0])
        bad = [v for v, n in before.items() if v not in skip and not 0 < after.get(v, 0) <= n]
        if not bad:
            return out
        ids = np.flatnonzero(np.isin(rep, bad))
        field.freeze(_box_mask(labels.shape, boxes[ids[ids > 0]], field.reach()))
        out = field.remap()
    field.freeze(np.ones(labels.shape, bool))  # the identity keeps every instance whole
    return labels.copy()


class _Field64:
    """The seed's blurred field in float64 (3D, and the fallback of the 2D float32 path).

    Scales ``unit_field`` in place. The same methods as :class:`._noise_fast.Field2D`.
    """

    def __init__(self, labels, unit_field, *, alpha, sigma, mask):
        self.labels = labels
        field = unit_field
        for d in field:  # dx = alpha * (2 * rand - 1), in place, bit for bit
            d *= 2
            d -= 1
            d *= alpha
        if mask is not None:
            for d in field:
                d[mask] = 0
        self.field = run_in_threads(lambda k: _blur(field[k], sigma), len(field))

    def reach(self) -> int:
        return int(math.ceil(max(float(np.abs(d).max()) for d in self.field))) + 1

    def freeze(self, where: np.ndarray | None) -> None:
        if where is not None:
            for d in self.field:
                d[where] = 0

    def remap(self) -> np.ndarray:
        return _remap_nearest(self.labels, self.field)


def _deform(labels, draw, *, alpha, sigma, area_threshold, ignore_index, suppression,
            instance_safe, return_displacement=False):
    """The seed's Steps 2-4 on the field ``draw()`` returns (Step 1: uniform in [0, 1)).

    The components are found on another thread while the field is drawn. 2D
    fields are blurred in float32, certified equal to float64 pixel for pixel
    (:mod:`._noise_fast`); where that cannot be certified, and in 3D, float64.
    """
    cc = boxes = small = None
    if area_threshold > 0 or instance_safe:
        unit_field, (cc, areas, boxes) = run_in_threads(
            lambda k: _boxes(labels, ignore_index) if k else draw(), 2)
        # The seed suppresses components with area <= threshold ("if area > thresh: continue").
        small = boxes[1:][areas[1:] <= area_threshold] if area_threshold > 0 else None
    else:
        unit_field = draw()
    pad = int(alpha // 2)  # the seed's pad; int() as slicing by a float fails
    mask = _box_mask(labels.shape, small, pad) if small is not None else None
    lab = labels.view(np.uint8) if labels.dtype == bool else labels

    def steps(field):
        if suppression == "exact" and mask is not None:
            # Zero after the blur too, over boxes wide enough that nothing can reach in.
            field.freeze(_box_mask(labels.shape, small, max(pad, field.reach())))
        out = field.remap()
        if instance_safe:
            out = _make_instance_safe(lab, field, out, cc, boxes, ignore_index)
        return out, field

    kw = dict(alpha=alpha, sigma=sigma, mask=mask)
    if labels.ndim == 2:
        try:
            out, field = steps(_noise_fast.Field2D(lab, unit_field, bound_scale=_BOUND_SCALE,
                                                   **kw))
        except _noise_fast.Undecided:
            out, field = steps(_Field64(lab, unit_field, **kw))
    else:
        out, field = steps(_Field64(lab, unit_field, **kw))
    out = out.view(bool) if labels.dtype == bool else out
    if return_displacement:  # the field as applied (suppressed, instance-safe zeroing)
        return out, _magnitude(field.field)
    return out


def _magnitude(field: list[np.ndarray]) -> np.ndarray:
    """Length of the displacement vector at each pixel (float32)."""
    acc = np.zeros(field[0].shape, np.float64)
    for d in field:
        acc += d * d
    return np.sqrt(acc).astype(np.float32)


def elastic_deform_labels(
    labels: NDArray[np.integer],
    *,
    alpha: float,
    sigma: float,
    area_threshold: int = 1000,
    ignore_index: int | None = None,
    random_state: int | np.random.RandomState | np.random.Generator | None = None,
    suppression: Suppression = "seed",
    instance_safe: bool = False,
    volume: VolumeMode = "field",
    return_displacement: bool = False,
) -> NDArray[np.integer] | tuple[NDArray[np.integer], NDArray[np.float32]]:
    """Deform a label image with a smooth random field (NSegment+, label-only).

    The steps, in the seed's order: (1) draw ``dx`` then ``dy`` uniform in
    ``[-1, 1)`` per pixel (``2 * random_state.rand(*shape) - 1``), (2) scale
    them by ``alpha``, (3) set them to zero in the bounding box, padded by
    ``alpha // 2`` pixels, of every connected component (8-connected, 26 in
    3D) of one label with at most ``area_threshold`` pixels, then smooth them
    with ``cv2.GaussianBlur(d, (0, 0), sigma)``, (4) read the label at the
    nearest pixel of ``(y + dy, x + dx)`` clipped to the image
    (``cv2.remap(..., INTER_NEAREST)``). With ``suppression="seed"`` and a
    ``numpy.random.RandomState`` the output equals the seed's code, pixel for
    pixel, with its defects mended:

    * the seed reads an undefined ``area_thresh`` (a ``NameError`` on the first
      component); here it is ``area_threshold``;
    * the seed skips the ignore label ``-1``, which never occurs in the
      unsigned maps MMSegmentation uses (its ignore label is 255); here the
      ignored label is ``ignore_index`` (None: none), whose components are
      never suppressed;
    * the seed pads boxes by ``alpha // 2``, a float for a float ``alpha``, and
      slicing by it raises; here the pad is ``int(alpha // 2)``;
    * the seed zeroes the field *before* the blur, which carries displacement
      back into the "suppressed" boxes from their surroundings, so small
      components still move when ``4 * sigma`` exceeds the pad.
      ``suppression="exact"`` zeroes it after the blur as well, in boxes padded
      by ``max(alpha // 2, max |d| + 1)``, so small components (and their boxes)
      are left exactly as they are;
    * the seed runs one full-image pass per connected component (minutes on an
      instance mask); here all components and their boxes come from a single
      labelling;
    * the seed blurs in float64; here 2D images are blurred in float32 and the
      few pixels whose nearest source pixel that could change are recomputed
      in float64 (:mod:`._noise_fast`), so the output is still the seed's,
      two to three times faster (about 0.1 s for a 2048² mask at the seed's
      parameters; very large ``alpha * sigma`` stay in float64).

    Parameters
    ----------
    labels : (M, N) or (P, M, N) ndarray of int or bool
        Label image (any integer dtype). Not modified.
    alpha : float
        Amplitude of the displacement before smoothing, in pixels (>= 0). The
        smoothed field is much smaller: its standard deviation is about
        ``alpha / (sqrt(12 * pi) * sigma)`` in 2D.
    sigma : float
        Width of the Gaussian smoothing in pixels (> 0).
    area_threshold : int, optional
        Components with at most this many pixels are not deformed (0: none).
    ignore_index : int or None, optional
        Label whose components are never suppressed (and, with
        ``instance_safe``, never checked), e.g. 255 for MMSegmentation.
    random_state : int, RandomState, Generator or None, optional
        Seed or generator. A ``RandomState`` (or an int, which makes one) draws
        the seed's stream; a ``Generator`` draws its own.
    suppression : {"seed", "exact"}, optional
        Where the field is zeroed: before the blur only (the seed) or before
        and after (small components untouched).
    instance_safe : bool, optional
        For instance masks: no label other than 0 and ``ignore_index`` may
        vanish or fall into more connected pieces than it had. The field is set
        to zero around each instance that would, and the image remapped, until
        none does (an instance with a zero field around it is copied as is).
    volume : {"field", "slices"}, optional
        For 3D input: one 3D field (``dx``, ``dy``, ``dz`` drawn in that order,
        smoothed in 3D, 26-connected components) or an independent 2D
        deformation of each slice along the first axis, drawn slice after slice
        (each slice equals the 2D call on it with the generator in that state).
    return_displacement : bool, optional
        Also return the length of the displacement applied at each pixel (after
        suppression), in pixels, as float32 (for display; in 2D from the float32
        blur, within about ``1e-5 * alpha`` of the float64 one).

    Returns
    -------
    ndarray
        The deformed labels, same shape and dtype (in native byte order); every
        value is an input value.
    displacement : ndarray of float32
        Only with ``return_displacement``: same shape as ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((64, 64), np.uint8)
    >>> labels[16:48, 16:48] = 1
    >>> noisy = elastic_deform_labels(labels, alpha=30, sigma=3, random_state=0)
    >>> noisy.shape, noisy.dtype, set(np.unique(noisy)) <= {0, 1}
    ((64, 64), dtype('uint8'), True)
    """
    a = _check_labels(labels)
    _check_params(alpha, sigma, area_threshold)
    if suppression not in SUPPRESSIONS:
        raise ValueError(f"suppression must be one of {SUPPRESSIONS}, got {suppression!r}")
    if volume not in ("field", "slices"):
        raise ValueError(f"volume must be 'field' or 'slices', got {volume!r}")
    rs = _check_random_state(random_state)
    kw = dict(alpha=alpha, sigma=sigma, area_threshold=int(area_threshold),
              ignore_index=ignore_index, suppression=suppression, instance_safe=instance_safe,
              return_displacement=return_displacement)
    if a.ndim == 3 and volume == "slices":
        parts = [_deform(s, lambda s=s: _draw_field(rs, s.shape), **kw) for s in a]
        if return_displacement:
            return np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts])
        return np.stack(parts)
    return _deform(a, lambda: _draw_field(rs, a.shape), **kw)


def _draw_field(rs, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Uniform [0, 1) field in axis order; drawn x first, then y (then z), as the seed."""
    drawn = [_uniform(rs, shape) for _ in shape]
    return drawn[::-1]


class LabelNoise:
    """Random label-only elastic deformation for training pipelines (NSegment+).

    With probability ``prob``, deforms the labels with :func:`elastic_deform_labels`
    using an ``(alpha, sigma)`` pair drawn uniformly from ``alpha_sigma_list``;
    otherwise returns them unchanged. The draws follow the seed's
    ``NoisySegmentPlus`` with one generator: the coin (``rand() > prob``
    skips), the field, then the pair (``randint``).

    Parameters
    ----------
    alpha_sigma_list : sequence of (float, float), optional
        The pairs; default the seed's: alpha in {1, 15, 30, 50, 100} x sigma in
        {3, 5, 10}.
    prob : float, optional
        Probability of deforming (0 to 1).
    area_threshold, ignore_index, suppression, instance_safe, volume
        As in :func:`elastic_deform_labels`.
    random_state : int or None, optional
        Seed of the transform's own ``RandomState``. In data-loader workers
        call :meth:`reseed` with a per-worker seed, or every worker draws the
        same sequence.

    Examples
    --------
    >>> import numpy as np
    >>> t = LabelNoise(prob=1.0, random_state=0)
    >>> out = t({"gt_seg_map": np.zeros((32, 32), np.uint8)})
    >>> out["gt_seg_map"].shape
    (32, 32)
    """

    def __init__(
        self,
        alpha_sigma_list: list[tuple[float, float]] | None = None,
        prob: float = 0.5,
        area_threshold: int = 1000,
        *,
        ignore_index: int | None = None,
        suppression: Suppression = "seed",
        instance_safe: bool = False,
        volume: VolumeMode = "field",
        random_state: int | None = None,
    ) -> None:
        pairs = [tuple(p) for p in (alpha_sigma_list or _SEED_PAIRS)]
        for p in pairs:
            if len(p) != 2:
                raise ValueError(f"alpha_sigma_list must hold (alpha, sigma) pairs, got {p!r}")
            _check_params(p[0], p[1], area_threshold)
        if not 0 <= prob <= 1:
            raise ValueError(f"prob must be between 0 and 1, got {prob!r}")
        if suppression not in SUPPRESSIONS:
            raise ValueError(f"suppression must be one of {SUPPRESSIONS}, got {suppression!r}")
        self.alpha_sigma_list = pairs
        self.prob = float(prob)
        self.area_threshold = int(area_threshold)
        self.ignore_index = ignore_index
        self.suppression = suppression
        self.instance_safe = bool(instance_safe)
        self.volume = volume
        self.random_state = random_state
        self.reseed(random_state)

    def reseed(self, random_state: int | None) -> None:
        """Restart the transform's generator from ``random_state``."""
        self._rs = np.random.RandomState(random_state)

    def transform(self, labels: NDArray[np.integer]) -> NDArray[np.integer]:
        """Deform ``labels`` once (no coin): the field, then the pair, as the seed."""
        a = _check_labels(labels)
        shapes = [a.shape] if a.ndim == 2 or self.volume == "field" else [a.shape[1:]] * len(a)
        out = []
        for k, shape in enumerate(shapes):
            field = _draw_field(self._rs, shape)
            alpha, sigma = self.alpha_sigma_list[self._rs.randint(0, len(self.alpha_sigma_list))]
            out.append(_deform(a if len(shapes) == 1 else a[k], lambda f=field: f,
                               alpha=alpha, sigma=sigma, area_threshold=self.area_threshold,
                               ignore_index=self.ignore_index,
                               suppression=self.suppression, instance_safe=self.instance_safe))
        return out[0] if len(shapes) == 1 else np.stack(out)

    def __call__(self, data: Any) -> Any:
        """Deform an array, or a dict's ``gt_seg_map`` (returns a new dict), with prob ``prob``."""
        if isinstance(data, dict):
            if "gt_seg_map" not in data:
                raise KeyError("LabelNoise needs the labels under 'gt_seg_map' (MMSegmentation)")
            out = dict(data)
            out["gt_seg_map"] = self(data["gt_seg_map"])
            return out
        if self._rs.rand() > self.prob:
            return np.array(data, copy=True)
        return self.transform(data)

    def apply_to_mask(self, mask: NDArray[np.integer], **params: Any) -> NDArray[np.integer]:
        """Albumentations-style hook: the mask only (images are never deformed)."""
        return self(mask)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able parameters (a recipe step or a config entry)."""
        return {
            "alpha_sigma_list": [list(p) for p in self.alpha_sigma_list],
            "prob": self.prob,
            "area_threshold": self.area_threshold,
            "ignore_index": self.ignore_index,
            "suppression": self.suppression,
            "instance_safe": self.instance_safe,
            "volume": self.volume,
            "random_state": self.random_state,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"LabelNoise({args})"


def __getattr__(name: str) -> Any:
    # Lazy re-export (PEP 562): noise_metrics imports this module.
    if name in ("measure_noise", "calibrate_noise", "noise_sweep", "NoiseMetrics"):
        from . import noise_metrics

        return getattr(noise_metrics, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
