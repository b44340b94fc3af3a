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
against a literal copy of the seed's code, and force step 4). The caller also
runs the float64 path when this one would be slower: a bound ``eps`` above
:data:`MAX_EPS` pixels (very large ``alpha * sigma``), or more unsure pixels
than recomputing them is worth (:data:`MAX_UNSURE_WORK`).

The bound assumes OpenCV blurs float32 images by a direct separable
convolution with the float32 rounding of its float64 kernel (true of the
builds we know, with or without IPP); a test measures the actual error against
the bound on the installed OpenCV, so a build that blurred another way would
fail there first.
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
    ``u = 2^-24``: ``alpha * u * (2n + 5)`` for two passes; ``2n + 8`` leaves
    room for ``gamma_n = n u / (1 - n u)`` > ``n u``, and the whole is doubled for
    the float64 blur's own error and the arithmetic of the bounds.
    """
    return 2.0 * alpha * _U32 * (2 * ksize + 8) + 1e-12


def float64_error_bound(alpha: float, ksize: int) -> float:
    """Bound on the difference of two float64 blurs summed in different orders."""
    return 4.0 * alpha * _U64 * (2 * ksize + 8) + 1e-12


#: Largest float32 error bound (pixels) worth trying: the unsure pixels grow with it,
#: and so does the window of labels checked for each (alpha * ksize <~ 4e5).
MAX_EPS = 0.05
#: The float64 recomputation of ``n`` unsure pixels costs ``n * ksize**2``, the float64
#: blurs ``2 * h * w * ksize``: give up above this fraction of the latter.
MAX_UNSURE_WORK = 0.5


class Undecided(Exception):
    """A pixel's source could not be certified: run the float64 path."""


class Field2D:
    """The seed's blurred 2D field in float32, and the certified remap by it.

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
    bound_scale : float
        Test hook: widen both error bounds to exercise steps 3 and 4.

    Attributes
    ----------
    field : list of two float32 arrays
        The displacement ``[dy, dx]``, within ``eps`` of the float64 one and
        zero where frozen (for display).
    """

    def __init__(self, labels, unit_field, *, alpha, sigma, mask, bound_scale=1.0):
        h, w = labels.shape
        self.labels, self.unit_field, self.alpha = labels, unit_field, float(alpha)
        self.ksize = gaussian_ksize(sigma)
        self.sigma = sigma
        # A zero field is exact in float32 (and its reach is exactly 1).
        self.eps = float32_error_bound(alpha, self.ksize) * bound_scale if alpha else 0.0
        self.delta = float64_error_bound(alpha, self.ksize) * bound_scale if alpha else 0.0
        if float32_error_bound(alpha, self.ksize) > MAX_EPS:
            raise Undecided  # too many pixels would be unsure: float64 is faster
        self.has_mask = mask is not None
        self.mask = mask if self.has_mask else np.zeros((1, 1), bool)
        self.frozen = None

        def blurred(k):
            d = np.empty((h, w), np.float32)
            run_chunked(_scale_field, h, unit_field[k], self.alpha, self.mask, self.has_mask, d,
                        work=h * w)
            return cv2.GaussianBlur(d, (0, 0), sigma)

        self.field = [blurred(0), blurred(1)]

    def reach(self) -> int:
        """``ceil(max |d|) + 1`` of the float64 field as frozen so far, or :class:`Undecided`."""
        top = max(float(np.abs(d).max()) for d in self.field)
        lo, hi = math.ceil(max(top - self.eps, 0.0)), math.ceil(top + self.eps)
        if lo != hi:
            raise Undecided
        return hi + 1

    def freeze(self, where: np.ndarray | None) -> None:
        """Set the displacement to exactly zero at ``where`` (after the blur)."""
        if where is None:
            return
        for d in self.field:
            d[where] = 0
        self.frozen = where if self.frozen is None else self.frozen | where

    def remap(self) -> np.ndarray:
        """The labels at the seed's nearest source pixels; :class:`Undecided` if unsure."""
        labels = self.labels
        h, w = labels.shape
        dy, dx = self.field
        has_frozen = self.frozen is not None
        frozen = self.frozen if has_frozen else np.zeros((1, 1), bool)
        out = np.empty_like(labels)
        unsure = np.zeros((h, w), bool)
        run_chunked(_remap_bounded, h, labels, dy, dx, self.eps, frozen, has_frozen, out,
                    unsure, work=h * w)
        ys, xs = np.nonzero(unsure)
        if len(ys) * self.ksize > 2 * MAX_UNSURE_WORK * h * w:
            raise Undecided  # recomputing them costs more than the float64 blurs
        if len(ys):
            kern = cv2.getGaussianKernel(self.ksize, self.sigma, cv2.CV_64F).ravel()
            undecided = np.zeros(len(ys), bool)
            run_chunked(_decide_unsure, len(ys), labels, dy, dx, self.eps, self.unit_field[0],
                        self.unit_field[1], self.alpha, self.mask, self.has_mask, kern,
                        self.delta, ys, xs, out, undecided, work=len(ys) * self.ksize**2)
            if undecided.any():
                raise Undecided
        return out
