"""Reproducible noisy copies of label images (the ``elastic_deform_labels`` op).

:func:`noisy_labels` is what a recipe step, ``maskclean run`` and the Label
noise dock call: :func:`~napari_maskclean.core.noise.elastic_deform_labels`
with a seed that is always given, optionally made different for every image
(:func:`image_seed`: the step's seed mixed with a checksum of the image's
label values), and with ``per_slice`` for stacks of any number of leading axes.
:func:`alpha_for_displacement` turns an intended displacement in pixels into
``alpha`` (presets of the noise-floor control).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from numpy.typing import NDArray

from .noise import Suppression, elastic_deform_labels

__all__ = ["alpha_for_displacement", "displacement_rms", "image_seed", "noisy_labels"]

#: Largest seed (seeds are 32-bit, as ``numpy.random.RandomState`` takes them).
MAX_SEED = 2**32 - 1


def _canonical_values(labels: np.ndarray) -> np.ndarray:
    """The label values in the smallest dtype of their range: a dtype-free byte image.

    A mask saved as PNG (uint8) and the same mask in an int32 layer give the same
    bytes, so a file and the layer it was opened in get the same seed.
    """
    a = np.ascontiguousarray(labels)
    if a.dtype == bool:
        return a.view(np.uint8)
    lo, hi = (int(a.min()), int(a.max())) if a.size else (0, 0)
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.uint64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            break
    else:
        dtype = np.int64
    out = a if a.dtype == dtype else a.astype(dtype)
    return np.ascontiguousarray(out.astype(np.dtype(dtype).newbyteorder("<"), copy=False))


def image_seed(labels: NDArray[np.integer], random_state: int) -> int:
    """The seed of one image: ``random_state`` mixed with a checksum of its labels.

    ``SeedSequence([random_state, crc32(values), shape...]).generate_state(1)[0]``,
    where the CRC-32 is taken over the label values in the smallest dtype of
    their range (little-endian), so it depends on the values and the shape,
    not on the file format, the array's dtype or the file's name: renaming or
    re-encoding a mask keeps its noise, editing one pixel gives another field.

    Parameters
    ----------
    labels : ndarray of int or bool
        The label image.
    random_state : int
        The step's seed, 0 to 2**32 - 1.

    Returns
    -------
    int
        A seed in 0 .. 2**32 - 1.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8), np.uint8); a[2:5, 2:5] = 1
    >>> image_seed(a, 0) == image_seed(a.astype(np.int64), 0)
    True
    >>> image_seed(a, 0) == image_seed(a, 1)
    False
    """
    a = np.asarray(labels)
    crc = zlib.crc32(memoryview(_canonical_values(a)).cast("B"))
    entropy = [int(random_state), crc, *map(int, a.shape)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0])


def noisy_labels(
    labels: NDArray[np.integer],
    *,
    alpha: float,
    sigma: float,
    area_threshold: int = 1000,
    ignore_index: int | None = None,
    suppression: Suppression = "seed",
    instance_safe: bool = False,
    random_state: int = 0,
    seed_per_image: bool = True,
    per_slice: bool = False,
    return_displacement: bool = False,
) -> NDArray[np.integer] | tuple[NDArray[np.integer], NDArray[np.float32]]:
    """A noisy copy of a label image, reproducible from its seed (the recipe op).

    Calls :func:`~napari_maskclean.core.noise.elastic_deform_labels` with a
    ``numpy.random.RandomState`` seeded by ``random_state`` or, with
    ``seed_per_image``, by :func:`image_seed` of the labels and
    ``random_state``, so that every image of a dataset gets its own field and
    the same image always gets the same one (in the GUI, in a recipe replay,
    in ``maskclean run``, whatever the file's name or format).

    Parameters
    ----------
    labels : ndarray of int or bool
        2D or 3D (or, with ``per_slice``, any number of leading axes).
    alpha, sigma, area_threshold, ignore_index, suppression, instance_safe
        As in :func:`~napari_maskclean.core.noise.elastic_deform_labels`.
    random_state : int, optional
        The seed, 0 to 2**32 - 1.
    seed_per_image : bool, optional
        Mix the seed with a checksum of the labels (see :func:`image_seed`).
        Off: every image of the same shape gets the same field.
    per_slice : bool, optional
        Deform every 2D slice (the last two axes) on its own, slice after
        slice in C order, from one generator; else one 2D or 3D field.
    return_displacement : bool, optional
        Also return the length of the applied displacement at each pixel.

    Returns
    -------
    ndarray
        The noisy labels (same shape and dtype), and with
        ``return_displacement`` the displacement lengths (float32).

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((64, 64), np.uint8); a[16:48, 16:48] = 1
    >>> b = noisy_labels(a, alpha=300, sigma=8, random_state=3)
    >>> np.array_equal(b, noisy_labels(a, alpha=300, sigma=8, random_state=3))
    True
    """
    a = np.asarray(labels)
    if isinstance(random_state, bool) or not isinstance(random_state, (int, np.integer)) \
            or not 0 <= int(random_state) <= MAX_SEED:
        raise ValueError(f"random_state must be an integer seed from 0 to {MAX_SEED}, got "
                         f"{random_state!r}; a recipe step needs a fixed seed to be replayed")
    if a.ndim < 2 or (a.ndim > 3 and not per_slice):
        raise ValueError(f"labels must be 2D or 3D, got shape {a.shape}; for stacks with more "
                         "axes set per_slice=True (every 2D slice on its own)")
    seed = image_seed(a, int(random_state)) if seed_per_image else int(random_state)
    rs = np.random.RandomState(seed)
    kw = dict(alpha=alpha, sigma=sigma, area_threshold=area_threshold,
              ignore_index=ignore_index, random_state=rs, suppression=suppression,
              instance_safe=instance_safe, return_displacement=return_displacement)
    if not per_slice or a.ndim == 2:
        return elastic_deform_labels(a, **kw)
    stack = a.reshape((-1, *a.shape[-2:]))
    out = elastic_deform_labels(stack, volume="slices", **kw)
    if return_displacement:
        return out[0].reshape(a.shape), out[1].reshape(a.shape)
    return out.reshape(a.shape)


def displacement_rms(alpha: float, sigma: float, ndim: int = 2) -> float:
    """Root-mean-square displacement along one axis, in pixels, away from suppression.

    The field is uniform in ``[-alpha, alpha]`` (variance ``alpha**2 / 3``)
    smoothed by a normalised Gaussian whose squared weights sum to
    ``(4 * pi * sigma**2) ** (-ndim / 2)``: the smoothed field has standard
    deviation ``alpha / sqrt(3) / (2 * sqrt(pi) * sigma) ** (ndim / 2)``
    (2D: ``alpha / (sqrt(12 * pi) * sigma)``). It does not depend on the image.

    Examples
    --------
    >>> round(displacement_rms(61.4, 10.0), 2)
    1.0
    """
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 pixels, got {sigma!r}")
    return float(alpha) / math.sqrt(3.0) / (2.0 * math.sqrt(math.pi) * sigma) ** (ndim / 2)


def alpha_for_displacement(rms: float, sigma: float, ndim: int = 2) -> float:
    """The ``alpha`` whose smoothed field has this RMS displacement per axis (pixels).

    The inverse of :func:`displacement_rms`.

    Examples
    --------
    >>> round(alpha_for_displacement(1.0, 10.0), 1)
    61.4
    """
    if not rms >= 0:
        raise ValueError(f"rms must be >= 0 pixels, got {rms!r}")
    return float(rms) / displacement_rms(1.0, sigma, ndim)
