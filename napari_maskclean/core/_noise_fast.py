"""The seed's 2D deformation in float32, certified equal to its float64 result.

The seed blurs two float64 fields with an 81-tap Gaussian at ``sigma=10``,
most of the time of a 2048² deformation. Its output only needs, at each pixel,
the *nearest* source pixel ``rint(float32(clip(p + d)))``, and that index is
the same for every ``d`` in a small interval unless ``p + d`` lies near a
rounding boundary. So:

1. blur the fields in float32 (about 3x faster in OpenCV), which is within
   a proven bound ``eps`` of the float64 blur (:func:`float32_error_bound`);
2. remap every pixel whose source index, or whose label, is the same for
   every displacement within ``eps`` (all but a fraction of a percent);
3. recompute the float64 displacement of the remaining pixels one by one
   (within ``delta`` of OpenCV's float64 blur: same kernel, other summation
   order) and decide them the same way;
4. if a pixel is still undecided (its float64 displacement within ``delta``
   of a rounding boundary, practically never), give up: the caller runs the
   float64 path.

The output is therefore the seed's, pixel for pixel (the tests hold it
against a literal copy of the seed's code, and force step 4).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ._noise_remap_kernels import _decide_unsure, _remap_bounded, _scale_field
from ._parallel import run_chunked

_U32 = 2.0**-24  # unit roundoff of float32
_U64 = 2.0**-53


def gaussian_ksize(sigma: float) -> int:
    """The kernel width ``cv2.GaussianBlur(d, (0, 0), sigma)`` uses on float images."""
    return int(np.rint(sigma * 4 * 2 + 1)) | 1


def float32_error_bound(alpha: float, ksize: int) -> float:
    """Bound on ``|float32 blur - float64 blur|`` of a field bounded by ``alpha``.

    Per separable pass of ``n = ksize`` taps with a kernel summing to 1 on
    values bounded by ``alpha``: the rounded kernel (``u * alpha``), the
    ``n``-term sum (``gamma_n * alpha``, any summation order, with or without
    FMA) and the rounded result (``u * alpha``); plus the rounded input. With
    ``u = 2^-24``: ``alpha * u * (2n + 5)`` for two passes. Doubled for the
    float64 blur's own error and the arithmetic of the bounds.
    """
    return 2.0 * alpha * _U32 * (2 * ksize + 8) + 1e-12


def float64_error_bound(alpha: float, ksize: int) -> float:
    """Bound on the difference of two float64 blurs summed in different orders."""
    return 4.0 * alpha * _U64 * (2 * ksize + 8) + 1e-12


class Undecided(Exception):
    """A pixel's source could not be certified: run the float64 path."""


def deform_2d(labels, unit_field, *, alpha, sigma, mask, frozen_for=None, bound_scale=1.0):
    """The seed's Steps 2-4 on a 2D image, from its unscaled uniform field.

    Parameters
    ----------
    labels : (M, N) ndarray
        Labels of a dtype numba compares (bool viewed as uint8).
    unit_field : list of two (M, N) float64 arrays
        The uniform draws in axis order (y, x); not modified.
    alpha, sigma : float
        As in :func:`.noise.elastic_deform_labels`.
    mask : (M, N) bool ndarray or None
        Pixels zeroed before the blur (the seed's suppression).
    frozen_for : callable or None
        ``suppression="exact"``: called with ``ceil(max |d|) + 1`` of the
        float64 field, returns the pixels zeroed after the blur (or None).
    bound_scale : float
        Test hook: widen both error bounds to exercise steps 3 and 4.

    Returns
    -------
    out : ndarray
        The deformed labels.
    field32 : list of two float32 arrays
        The displacement ``[dy, dx]`` (within ``eps`` of the seed's; zero on
        frozen pixels), for display.

    Raises
    ------
    Undecided
        Step 4: the caller must run the float64 path.
    """
    h, w = labels.shape
    ksize = gaussian_ksize(sigma)
    eps = float32_error_bound(alpha, ksize) * bound_scale
    has_mask = mask is not None
    mask_arr = mask if has_mask else np.zeros((1, 1), bool)

    def blurred(k):
        d = np.empty((h, w), np.float32)
        run_chunked(_scale_field, h, unit_field[k], float(alpha), mask_arr, has_mask, d,
                    work=h * w)
        return cv2.GaussianBlur(d, (0, 0), sigma)

    field32 = [blurred(0), blurred(1)]
    frozen = None
    if frozen_for is not None:
        frozen = frozen_for(_reach(field32, eps))
        if frozen is not None:
            for d in field32:
                d[frozen] = 0
    has_frozen = frozen is not None
    frozen_arr = frozen if has_frozen else np.zeros((1, 1), bool)

    out = np.empty_like(labels)
    unsure = np.zeros((h, w), bool)
    run_chunked(_remap_bounded, h, labels, field32[0], field32[1], eps, frozen_arr, has_frozen,
                out, unsure, work=h * w)
    ys, xs = np.nonzero(unsure)
    if len(ys):
        kern = cv2.getGaussianKernel(ksize, sigma, cv2.CV_64F).ravel()
        delta = float64_error_bound(alpha, ksize) * bound_scale
        undecided = np.zeros(len(ys), bool)
        run_chunked(_decide_unsure, len(ys), labels, field32[0], field32[1], eps,
                    unit_field[0], unit_field[1], float(alpha), mask_arr, has_mask, kern, delta,
                    ys, xs, out, undecided, work=len(ys) * ksize * ksize)
        if undecided.any():
            raise Undecided
    return out, field32


def _reach(field32: list[np.ndarray], eps: float) -> int:
    """``ceil(max |d|) + 1`` of the float64 field, or :class:`Undecided`."""
    top = max(float(np.abs(d).max()) for d in field32)
    lo, hi = math.ceil(max(top - eps, 0.0)), math.ceil(top + eps)
    if lo != hi:
        raise Undecided
    return hi + 1
