"""measure_noise crops each class to its box: the figures equal the whole-image ones."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.noise_copy import noisy_labels
from napari_maskclean.core.noise_metrics import _class_metrics, measure_noise


def _whole_image(a, b, tolerance=2.0):
    classes = np.union1d(np.unique(a), np.unique(b))
    return {int(c): _class_metrics(a == c, b == c, tolerance) for c in classes.tolist()}


def _same(x: dict, y: dict) -> None:
    assert x.keys() == y.keys()
    for c in x:
        for k in x[c]:
            if np.isnan(x[c][k]):
                assert np.isnan(y[c][k]), (c, k)
            else:  # float32 distance sums: equal up to the order of summation
                assert x[c][k] == pytest.approx(y[c][k], rel=1e-6, abs=1e-9), (c, k)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), ndim=st.sampled_from([2, 3]), n=st.integers(1, 12))
def test_cropped_classes_equal_the_whole_image(seed, ndim, n):
    rng = np.random.default_rng(seed)
    shape = (40, 36) if ndim == 2 else (10, 16, 14)
    a = np.zeros(shape, np.int32)
    for k in range(1, n + 1):  # boxes, some at the image edge, some overlapping
        lo = [int(rng.integers(0, s - 2)) for s in shape]
        hi = [int(min(s, lo_ + rng.integers(1, s // 2 + 2))) for lo_, s in zip(lo, shape)]
        a[tuple(slice(x, y) for x, y in zip(lo, hi))] = k
    b = noisy_labels(a, alpha=float(rng.uniform(0, 80)), sigma=2.0, area_threshold=0,
                     random_state=seed)
    if rng.random() < 0.3:  # a label only in the noisy copy
        b[0, 0] = n + 5
    _same(measure_noise(a, b).per_class, _whole_image(a, b))


def test_bool_masks_and_large_instance_masks():
    a = np.zeros((64, 64), bool)
    a[:20, 10:50] = True  # touches the top edge
    b = np.roll(a, 3, axis=0)
    _same(measure_noise(a, b).per_class, _whole_image(a, b))
    m = measure_noise(a, b)
    assert m.per_class[1]["dice"] == pytest.approx(2 * 17 * 40 / (2 * 20 * 40))
