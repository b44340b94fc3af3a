"""noisy_labels / image_seed / displacement_rms, and elastic_deform_labels' displacement output."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.noise import elastic_deform_labels
from napari_maskclean.core.noise_copy import (
    alpha_for_displacement,
    displacement_rms,
    image_seed,
    noisy_labels,
)


def _square(n=128):
    a = np.zeros((n, n), np.int32)
    a[n // 4: 3 * n // 4, n // 4: 3 * n // 4] = 3
    return a


@pytest.mark.parametrize("volume", ["field", "slices"])
def test_displacement_is_returned_without_changing_the_labels(volume):
    a = np.stack([_square(64)] * 3) if volume == "slices" else _square()
    plain = elastic_deform_labels(a, alpha=200, sigma=4, random_state=1, volume=volume)
    out, disp = elastic_deform_labels(a, alpha=200, sigma=4, random_state=1, volume=volume,
                                      return_displacement=True)
    np.testing.assert_array_equal(out, plain)
    assert disp.shape == a.shape and disp.dtype == np.float32
    assert disp.max() > 0 and disp.min() >= 0
    assert disp.max() <= 200 * np.sqrt(2)  # a Gaussian average stays within [-alpha, alpha]


def test_displacement_is_zero_where_suppressed_exactly():
    a = _square()
    a[5:8, 5:8] = 1  # a small component, frozen with its padded box
    out, disp = elastic_deform_labels(a, alpha=20, sigma=3, area_threshold=20,
                                      suppression="exact", random_state=0,
                                      return_displacement=True)
    assert (disp[:18, :18] == 0).all()
    np.testing.assert_array_equal(out[:18, :18], a[:18, :18])


@pytest.mark.parametrize("sigma", [3.0, 6.0, 12.0])
def test_displacement_rms_matches_the_field(sigma):
    a = np.zeros((512, 512), np.uint8)
    alpha = alpha_for_displacement(1.5, sigma)
    _, disp = noisy_labels(a, alpha=alpha, sigma=sigma, area_threshold=0, random_state=2,
                           return_displacement=True)
    core = disp[64:-64, 64:-64]
    rms_per_axis = float(np.sqrt((core.astype(float) ** 2).mean() / 2))
    assert rms_per_axis == pytest.approx(1.5, rel=0.08)
    assert displacement_rms(alpha, sigma) == pytest.approx(1.5)


def test_displacement_rms_3d():
    a = np.zeros((96, 96, 96), np.uint8)
    alpha = alpha_for_displacement(1.0, 4.0, ndim=3)
    _, disp = noisy_labels(a, alpha=alpha, sigma=4.0, area_threshold=0, random_state=0,
                           return_displacement=True)
    core = disp[20:-20, 20:-20, 20:-20].astype(float)
    assert np.sqrt((core ** 2).mean() / 3) == pytest.approx(1.0, rel=0.1)


def test_seed_per_image_is_stable_and_content_driven():
    a = _square()
    b = noisy_labels(a, alpha=300, sigma=5, area_threshold=0, random_state=4)
    np.testing.assert_array_equal(b, noisy_labels(a.astype(np.uint8), alpha=300, sigma=5,
                                                  area_threshold=0, random_state=4))
    np.testing.assert_array_equal(b, elastic_deform_labels(
        a, alpha=300, sigma=5, area_threshold=0,
        random_state=np.random.RandomState(image_seed(a, 4))))
    assert b.dtype == a.dtype and set(np.unique(b)) <= set(np.unique(a))


def test_image_seed_of_bool_and_wide_labels():
    m = _square() > 0
    assert image_seed(m, 0) == image_seed(m.astype(np.uint8), 0)
    wide = _square().astype(np.int64) * 2**40
    assert 0 <= image_seed(wide, 0) < 2**32
    assert image_seed(wide, 0) != image_seed(_square(), 0)


def test_bad_sigma_and_rms():
    with pytest.raises(ValueError, match="sigma"):
        displacement_rms(10, 0)
    with pytest.raises(ValueError, match="rms"):
        alpha_for_displacement(-1, 3)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), data=st.data())
def test_same_values_same_noise_whatever_the_dtype(seed, data):
    n_labels = data.draw(st.integers(1, 6))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    a = rng.integers(0, n_labels, (24, 20)).astype(np.uint8)
    a = np.kron(a, np.ones((2, 2), np.uint8))  # blocks, not noise
    dtype = data.draw(st.sampled_from([np.int16, np.uint16, np.int32, np.int64, np.uint32]))
    kw = dict(alpha=data.draw(st.floats(0, 300)), sigma=data.draw(st.floats(1, 8)),
              area_threshold=data.draw(st.integers(0, 20)), random_state=seed)
    out = noisy_labels(a, **kw)
    wide = noisy_labels(a.astype(dtype), **kw)
    assert wide.dtype == dtype and out.dtype == np.uint8
    np.testing.assert_array_equal(out, wide)
    assert set(np.unique(out)) <= set(np.unique(a))
