"""Seeded region growing: flood fill with a tolerance, nD, one or many seeds.

Two public operations:

* :func:`flood_mask` -- the union of the regions grown from a list of seeds
  (a boolean mask), pixel-for-pixel the same as
  :func:`skimage.segmentation.flood` run once per seed.
* :func:`region_grow` -- one label per seed (or per group of seeds), with a
  documented rule where regions meet and existing labels acting as a barrier.

Two kernels compute the same thing and are chosen automatically:
``cv2.floodFill`` for 2D single-channel ``uint8`` images in :func:`flood_mask`,
and a compiled (numba) scan-line flood for every other case (any dtype, any
number of dimensions, colour distance) and for :func:`region_grow`, where it
also applies the nearest-seed rule in the same pass. Results do not depend on
the kernel; the tests check OpenCV == numba == scikit-image. The numba kernels
are compiled on first use per image dtype (a few seconds) and cached on disk
(``cache=True``), so later sessions start at once.

Slightly over the house's ~500 lines: the two public functions and
:class:`RegionGrower` share one contract (seeds, tolerance, the nearest-seed
rule), documented here; kernels, checks and the flood driver are in the
private modules named below.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._parallel import run_in_threads
from ._region_checks import (
    _INT32_MAX,
    _barrier_array,
    _check_seed_labels,
    _check_seeds,
    _check_spatial,
    _check_threads,
    _prepare,
)
from ._region_flood import _check_not_nan, _flood_numba, _flood_one, _merge_boxes, _SharedIterator

# The pieces live in private modules: _region_checks (validation, preparation),
# _region_flood (one flood, kernel choice, merging threaded claims) and
# _region_kernels (the compiled numba kernels).

__all__ = ["RegionGrower", "flood_mask", "region_grow"]

#: Below this many pixels, growing seeds on several threads costs more than it saves.
_PARALLEL_MIN_PIXELS = 256 * 256


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def flood_mask(
    image: ArrayLike,
    seeds: Sequence[Sequence[int]],
    *,
    tolerance: float,
    connectivity: int = 1,
    relative: bool = False,
    smooth_sigma: float = 0.0,
    channel_axis: int | None = None,
    mask: ArrayLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.bool_]:
    """Grow regions from seeds: the pixels connected to a seed within a tolerance.

    For each seed, the region is the set of pixels connected to the seed
    (through pixels of the region) whose value lies within ``tolerance`` of the
    seed's value, bounds included. The result is the union over all seeds. Per
    seed this is the same as ``skimage.segmentation.flood(image, seed,
    tolerance=tolerance, connectivity=connectivity)``.

    Parameters
    ----------
    image : ndarray
        The image to grow on, any number of dimensions, integer, float or bool
        dtype. A colour (multichannel) image needs ``channel_axis`` (growth
        then uses the Euclidean colour distance); without it a uint8
        ``(M, N, 3)`` or ``(M, N, 4)`` array (M, N >= 8) is refused as
        ambiguous, any other array is grey (e.g. a 3D volume).
    seeds : list of list of int
        Seed positions in data (pixel index) coordinates, one index per spatial
        axis, e.g. ``[[10, 20], [30, 5]]``. Whole-number floats such as ``3.0``
        are accepted; fractional or negative coordinates raise. An empty list
        gives an all-False mask.
    tolerance : float
        Largest difference to the seed's value (or, for a multichannel image,
        the largest Euclidean distance to the seed's colour) that still joins the
        region. Must be >= 0; 0 grows over pixels equal to the seed.
    connectivity : int, optional
        Which neighbours touch: 1 = pixels sharing a face (4-neighbourhood in
        2D, 6 in 3D), up to ``ndim`` = all neighbours including diagonals (8 in
        2D, 26 in 3D). Note that scikit-image's ``flood`` defaults to full
        connectivity; this function defaults to 1.
    relative : bool, optional
        If True, ``tolerance`` is a fraction of the image's value range
        ``max - min`` (over all channels, NaN ignored, taken before smoothing):
        ``tolerance=0.1`` on an 8-bit image spanning 0..255 means 25.5.
    smooth_sigma : float, optional
        If > 0, grow on a copy smoothed by a Gaussian of this standard deviation
        (pixels; spatial axes only; border mode ``"nearest"``). Seed values are
        then read from the smoothed copy. NaN pixels spread under smoothing. At
        most a quarter of the longest spatial axis (or 16).
    channel_axis : int or None, optional
        The axis holding the channels of a multichannel image (e.g. ``-1`` for
        RGB), or None for a single-channel image.
    mask : ndarray of bool, optional
        A barrier with the image's spatial shape (e.g. existing labels): growth
        never enters a True pixel. A seed on a True pixel grows nothing.
    progress : callable, optional
        Called as ``progress(done, total)`` after each seed.

    Returns
    -------
    ndarray of bool
        The union of the grown regions, with the image's spatial shape.

    Raises
    ------
    ValueError
        If a seed is outside the image, has the wrong number of coordinates or a
        fractional coordinate, lies on a NaN pixel; if ``tolerance`` is negative;
        if ``mask`` has the wrong shape or ``connectivity`` is out of range.
    TypeError
        If the image dtype is not numeric.

    See Also
    --------
    region_grow : one label per seed instead of one mask.
    skimage.segmentation.flood : the single-seed reference.

    Notes
    -----
    Bounds are computed as scikit-image does: ``seed - tolerance`` and
    ``seed + tolerance`` clipped to the dtype's range and then converted to the
    image dtype. For an integer image and a fractional tolerance this conversion
    truncates towards zero (``10 - 2.5`` becomes 7, ``10 + 2.5`` becomes 12).
    A seed pixel always belongs to its own region (unless it lies in ``mask``).
    NaN pixels never belong to a region. ``bool`` images are flooded as 0/1 and
    ``float16`` images as ``float32``.

    2D single-channel ``uint8`` images use ``cv2.floodFill``; everything else a
    compiled scan-line flood (numba), which touches only the region and its
    border. Both give identical results.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 9, 5],
    ...                   [1, 0, 9, 5],
    ...                   [9, 9, 9, 5]], dtype=np.uint8)
    >>> flood_mask(image, [[0, 0]], tolerance=1).astype(int)
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 0, 0]])
    >>> flood_mask(image, [[0, 0], [0, 3]], tolerance=0).astype(int)
    array([[1, 1, 0, 1],
           [0, 1, 0, 1],
           [0, 0, 0, 1]])
    >>> flood_mask(image, [], tolerance=1).any()
    np.False_
    """
    work = _prepare(
        image,
        tolerance=tolerance,
        connectivity=connectivity,
        relative=relative,
        smooth_sigma=smooth_sigma,
        channel_axis=channel_axis,
    )
    seed_list = _check_seeds(seeds, work.spatial_shape, work.colour)
    barrier = None if mask is None else _barrier_array(mask, work.spatial_shape, "mask")
    total = len(seed_list)
    if total == 1:
        region, _ = _flood_one(work, seed_list[0], barrier)
        if progress is not None:
            progress(1, 1)
        return region
    result = np.zeros(work.spatial_shape, dtype=bool)
    for i, seed in enumerate(seed_list):
        region, box = _flood_one(work, seed, barrier)
        result[box] |= region[box]
        if progress is not None:
            progress(i + 1, total)
    return result


def region_grow(
    image: ArrayLike,
    seeds: Sequence[Sequence[int]],
    *,
    tolerance: float,
    labels: ArrayLike | None = None,
    seed_labels: Sequence[int] | None = None,
    overwrite: bool = False,
    connectivity: int = 1,
    relative: bool = False,
    smooth_sigma: float = 0.0,
    channel_axis: int | None = None,
    threads: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> NDArray[np.int32]:
    """Grow one labelled region per seed; return only the new regions.

    Each seed grows exactly the region :func:`flood_mask` would grow from it
    alone. Regions that overlap are split by the **nearest-seed rule**: a pixel
    claimed by several seeds goes to the seed closest to it (Euclidean distance
    in pixel indices); on a tie, to the seed listed first.

    Parameters
    ----------
    image : ndarray
        The image to grow on (see :func:`flood_mask`).
    seeds : list of list of int
        Seed positions in data (pixel index) coordinates, one index per spatial
        axis. An empty list gives an all-zero result.
    tolerance : float
        Largest difference to the seed's value (Euclidean colour distance for a
        multichannel image) that still joins the region; >= 0.
    labels : ndarray of int, optional
        Existing label image with the image's spatial shape. Unless
        ``overwrite`` is True, its non-zero pixels are a barrier that new regions
        never enter, and a seed on an existing label grows nothing. New labels
        are numbered from ``labels.max() + 1`` when ``seed_labels`` is None.
    seed_labels : list of int, optional
        The label of each seed (positive integers < 2**31). Several seeds may
        share a label: their regions are united. Default: ``1, 2, 3, ...`` (or
        ``labels.max() + 1, ...`` when ``labels`` is given).
    overwrite : bool, optional
        If True, existing labels are no barrier: new regions may cover them.
    connectivity : int, optional
        1 = face neighbours (default) up to ``ndim`` = all neighbours.
    relative : bool, optional
        ``tolerance`` as a fraction of the image's value range (see
        :func:`flood_mask`).
    smooth_sigma : float, optional
        Grow on a Gaussian-smoothed copy when > 0.
    channel_axis : int or None, optional
        The channel axis of a multichannel image, or None.
    threads : int, optional
        Threads to grow seeds on (each grows a share of the seeds; the result is
        the same for any number). Default: the usable CPUs, at most 4.
    progress : callable, optional
        Called as ``progress(done, total)`` after each seed (from any thread).

    Returns
    -------
    ndarray of int32
        The new regions only, 0 elsewhere, with the image's spatial shape. To
        write them into ``labels``: ``np.where(new != 0, new, labels)``; with
        ``overwrite=False`` the new regions never cover existing labels.

    Raises
    ------
    ValueError
        For bad seeds, tolerance, shapes or ``seed_labels`` (see
        :func:`flood_mask`).
    TypeError
        If ``labels`` is not an integer (or bool) array.

    See Also
    --------
    flood_mask : the union of the regions as one boolean mask.

    Notes
    -----
    Only the seeds whose own region holds a pixel compete for it, so every
    pixel labelled for a seed lies in that seed's own flood, and the union of
    the labelled pixels equals :func:`flood_mask` with the same arguments (and
    ``mask=labels != 0`` unless ``overwrite``). Where a nearer seed's region cuts
    through, a seed's labelled pixels may be disconnected. The work is one flood
    per seed (the compiled kernel, applying the rule in the same pass), so the
    time grows with the summed size of the regions; on images of 256² pixels
    or more the seeds are shared among ``threads`` threads.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 0, 0, 0],
    ...                   [0, 0, 0, 0, 0],
    ...                   [9, 9, 5, 5, 5]], dtype=np.uint8)
    >>> region_grow(image, [[0, 0], [0, 4], [2, 3]], tolerance=0)
    array([[1, 1, 1, 2, 2],
           [1, 1, 1, 2, 2],
           [0, 0, 3, 3, 3]], dtype=int32)

    Existing labels are a barrier; new labels continue after the largest one:

    >>> existing = np.zeros((3, 5), dtype=np.int32); existing[:, 2] = 7
    >>> region_grow(image, [[0, 0]], tolerance=0, labels=existing)
    array([[8, 8, 0, 0, 0],
           [8, 8, 0, 0, 0],
           [0, 0, 0, 0, 0]], dtype=int32)
    """
    grower = RegionGrower(
        image,
        tolerance=tolerance,
        labels=labels,
        overwrite=overwrite,
        connectivity=connectivity,
        relative=relative,
        smooth_sigma=smooth_sigma,
        channel_axis=channel_axis,
        threads=threads,
    )
    return grower.add_seeds(seeds, progress=progress).labels(seed_labels)


class RegionGrower:
    """Seeded region growing that can add seeds without re-growing the others.

    :func:`region_grow` grows the seeds one after the other, each claiming the
    pixels of its own flood that are strictly nearer to it than to their
    current owner. So growing seeds ``A`` and then adding ``B`` gives exactly
    ``region_grow(A + B)``: a click adds one flood, not ``n``. A grower is never
    modified: :meth:`add_seeds` returns a new one (safe to use from several
    threads, and the old one stays valid).

    Parameters
    ----------
    image, tolerance, labels, overwrite, connectivity, relative, smooth_sigma, channel_axis, threads
        As in :func:`region_grow`; checked (and the image smoothed) once.

    Examples
    --------
    >>> import numpy as np
    >>> image = np.array([[0, 0, 0, 0, 0],
    ...                   [0, 0, 0, 0, 0],
    ...                   [9, 9, 5, 5, 5]], dtype=np.uint8)
    >>> first = RegionGrower(image, tolerance=0).add_seeds([[0, 0]])
    >>> both = first.add_seeds([[0, 4]])
    >>> both.labels()
    array([[1, 1, 1, 2, 2],
           [1, 1, 1, 2, 2],
           [0, 0, 0, 0, 0]], dtype=int32)
    >>> np.array_equal(both.labels(), region_grow(image, [[0, 0], [0, 4]], tolerance=0))
    True
    """

    def __init__(
        self,
        image: ArrayLike,
        *,
        tolerance: float,
        labels: ArrayLike | None = None,
        overwrite: bool = False,
        connectivity: int = 1,
        relative: bool = False,
        smooth_sigma: float = 0.0,
        channel_axis: int | None = None,
        threads: int | None = None,
    ) -> None:
        self._threads = _check_threads(threads)
        self._work = _prepare(
            image,
            tolerance=tolerance,
            connectivity=connectivity,
            relative=relative,
            smooth_sigma=smooth_sigma,
            channel_axis=channel_axis,
        )
        shape = self._work.spatial_shape
        self._barrier: NDArray[np.uint8] | None = None
        self._first_label = 1
        if labels is not None:
            lab = _check_spatial(labels, "labels", shape)
            if not (np.issubdtype(lab.dtype, np.integer) or lab.dtype == np.bool_):
                raise TypeError(
                    f"labels must be an integer label image, got dtype {lab.dtype}; "
                    "convert it with labels.astype(np.int32)"
                )
            if not overwrite:
                self._barrier = (lab != 0).view(np.uint8)
            if lab.size:
                self._first_label = max(1, int(lab.max()) + 1)
        self.seeds: list[tuple[int, ...]] = []
        self._owner: NDArray[np.int32] | None = None  # 1 + index of the owning seed

    @property
    def shape(self) -> tuple[int, ...]:
        """The spatial shape of the image."""
        return self._work.spatial_shape

    def add_seeds(
        self,
        seeds: Sequence[Sequence[int]],
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> RegionGrower:
        """Return a new grower with ``seeds`` grown after the seeds grown so far.

        Parameters
        ----------
        seeds : list of list of int
            More seed positions (pixel indices, one per spatial axis).
        progress : callable, optional
            Called as ``progress(done, total)`` after each new seed.

        Returns
        -------
        RegionGrower
            The grower with all seeds; ``self`` is unchanged.
        """
        new = _check_seeds(seeds, self.shape, self._work.colour)
        out = object.__new__(RegionGrower)
        out.__dict__.update(self.__dict__)
        out.seeds = self.seeds + new
        if not new:
            return out
        seed_coords = np.array(out.seeds, dtype=np.int64)
        start = len(self.seeds)
        indices = list(range(start, len(out.seeds)))
        done = [0]
        lock = threading.Lock()

        def tick() -> None:
            if progress is not None:
                with lock:
                    done[0] += 1
                    progress(done[0], len(new))

        # Seeds are independent floods, so the new ones can be grown on several
        # threads (the kernel releases the GIL), each claiming into its own owner
        # array; the claims are then merged by the same (distance, index) rule.
        # Threads take the next seed when done (flood sizes vary a lot), so each
        # still grows its seeds in index order, as the tie rule needs.
        n_threads = min(self._threads, len(new))
        if n_threads < 2 or math.prod(self.shape) < _PARALLEL_MIN_PIXELS:
            owner = self._copy_owner()
            self._grow_seeds(iter(indices), owner, seed_coords, tick)
            out._owner = owner
            return out
        queue = _SharedIterator(indices)
        results = run_in_threads(
            lambda k: self._grow_seeds(queue, self._copy_owner() if k == 0 else None,
                                       seed_coords, tick),
            n_threads,
        )
        owner = results[0][0]
        for claims, boxes in results[1:]:
            _merge_boxes(owner, claims, seed_coords, boxes)
        out._owner = owner
        return out

    def _copy_owner(self) -> NDArray[np.int32]:
        if self._owner is None:
            return np.zeros(self.shape, dtype=np.int32)
        return self._owner.copy()

    def _grow_seeds(
        self,
        indices: Iterator[int],
        owner: NDArray[np.int32] | None,
        seed_coords: NDArray[np.int64],
        tick: Callable[[], None],
    ) -> tuple[NDArray[np.int32], list[tuple[slice, ...]]]:
        """Flood the seeds ``indices`` in order, claiming into ``owner`` (new if None).

        Returns the owner array and the bounding box of each flood.
        """
        if owner is None:
            owner = np.zeros(self.shape, dtype=np.int32)
        barrier = self._barrier
        # One work array for all seeds of the chunk, reset inside each region's
        # bounding box (cheaper than a fresh array per seed).
        scratch = (np.zeros(self.shape, dtype=np.uint8) if barrier is None
                   else barrier * np.uint8(2))
        scratch2 = scratch.reshape(-1, self.shape[-1])
        boxes = []
        for i in indices:
            seed = tuple(int(c) for c in seed_coords[i])
            if barrier is None or not barrier[seed]:
                _check_not_nan(self._work, seed)
                _, box = _flood_numba(self._work, seed, barrier, owner, seed_coords, i,
                                      scratch2)
                if barrier is None:
                    scratch[box] = 0
                else:
                    scratch[box] = barrier[box] * np.uint8(2)
                boxes.append(box)
            tick()
        return owner, boxes

    def labels(self, seed_labels: Sequence[int] | None = None) -> NDArray[np.int32]:
        """Return the grown regions as labels (see :func:`region_grow`).

        Parameters
        ----------
        seed_labels : list of int, optional
            The label of each seed; default consecutive labels from 1 (or from
            the largest existing label + 1).

        Returns
        -------
        ndarray of int32
            The new regions, 0 elsewhere.
        """
        n = len(self.seeds)
        if seed_labels is None:
            values = list(range(self._first_label, self._first_label + n))
            if values and values[-1] > _INT32_MAX:
                raise ValueError(
                    f"new labels would exceed the int32 range (largest existing label "
                    f"{self._first_label - 1}); relabel the existing labels or pass seed_labels"
                )
        else:
            values = _check_seed_labels(seed_labels, n)
        if n == 0 or self._owner is None:
            return np.zeros(self.shape, dtype=np.int32)
        owner = self._owner
        if values == list(range(values[0], values[0] + n)):  # consecutive: no look-up
            out = owner.copy()
            if values[0] != 1:
                np.add(out, values[0] - 1, out=out, where=out != 0)
            return out
        lut = np.zeros(n + 1, dtype=np.int32)
        lut[1:] = values
        return lut[owner]


