"""core.slicing: the one per-slice loop of threshold, morphology and fill."""

from __future__ import annotations

import numpy as np

from napari_maskclean.core import fill_labels, morphology, threshold_mask
from napari_maskclean.core.slicing import each_plane, plane_indices


def test_plane_indices():
    assert plane_indices((5, 6), True) == [()]
    assert plane_indices((3, 5, 6), False) == [()]
    assert plane_indices((2, 3, 5, 6), True) == list(np.ndindex(2, 3))


def test_each_plane_reports_progress_after_each_plane():
    seen, calls = [], []
    for idx in each_plane((2, 2, 4, 4), progress=lambda d, n: calls.append((d, n))):
        seen.append((idx, len(calls)))
    assert seen == [((0, 0), 0), ((0, 1), 1), ((1, 0), 2), ((1, 1), 3)]
    assert calls[-1] == (4, 4)


def test_per_slice_equals_a_loop_over_planes(rng):
    """Every core per_slice mode is the 2D result stacked, plane by plane."""
    image = (rng.random((2, 3, 32, 40)) * 255).astype(np.uint8)
    labels = (image > 128).astype(np.int32)
    labels[..., ::7, ::5] = 0
    for func, arr, kw in ((threshold_mask, image, {}),
                          (morphology, labels, {"operation": "close", "radius": 1}),
                          (fill_labels, labels, {"max_hole_size": 3})):
        stacked = func(arr, per_slice=True, **kw)
        loop = np.stack([func(arr[i], **kw) for i in np.ndindex(arr.shape[:-2])])
        np.testing.assert_array_equal(stacked, loop.reshape(stacked.shape), err_msg=str(func))
