"""Tests of core/_noise_fast.py: the float32 deformation is the float64 one, bit for bit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_noise import blocky, seed_literal

from napari_maskclean.core import _noise_fast, noise
from napari_maskclean.core._noise_remap_kernels import _blur_at
from napari_maskclean.core.noise import elastic_deform_labels


@pytest.fixture
def fast_path_calls(monkeypatch):
    """Count the 2D float32 fields made, the float64 fallbacks and the unsure pixels."""
    calls = {"float32": 0, "fell back": 0, "unsure": 0}
    real_fast, real_slow = _noise_fast.Field2D.__init__, noise._Field64.__init__
    real_decide = _noise_fast._decide_unsure

    def fast(self, *args, **kwargs):
        calls["float32"] += 1
        real_fast(self, *args, **kwargs)

    def slow(self, *args, **kwargs):
        calls["fell back"] += 1
        real_slow(self, *args, **kwargs)

    def decide(*args):
        calls["unsure"] += args[-1] - args[-2]
        return real_decide(*args)

    # the tests widen the bounds, making many pixels unsure on purpose: recompute them all
    monkeypatch.setattr(_noise_fast, "MAX_UNSURE_WORK", np.inf)
    monkeypatch.setattr(_noise_fast.Field2D, "__init__", fast)
    monkeypatch.setattr(noise._Field64, "__init__", slow)
    monkeypatch.setattr(_noise_fast, "_decide_unsure", decide)
    return calls


@pytest.mark.parametrize("shape", [(257, 190), (5, 7), (1, 40)])
@pytest.mark.parametrize(("alpha", "sigma"), [(1, 3), (100, 10), (50, 0.7), (30, 25)])
def test_error_bounds_hold_with_margin(shape, alpha, sigma):
    # The certificate rests on these two bounds; a new OpenCV that blurred float
    # images another way (another kernel width, a float32 kernel for float64
    # data, an approximation) would fail here first.
    rs = np.random.RandomState(0)
    u = rs.rand(*shape)
    d64 = cv2.GaussianBlur((u * 2 - 1) * alpha, (0, 0), sigma)
    d32 = cv2.GaussianBlur(((u * 2 - 1) * alpha).astype(np.float32), (0, 0), sigma)
    ksize = _noise_fast.gaussian_ksize(sigma)
    assert np.abs(d32 - d64).max() <= 0.25 * _noise_fast.float32_error_bound(alpha, ksize)
    kern = cv2.getGaussianKernel(ksize, sigma, cv2.CV_64F).ravel()
    none = np.zeros((1, 1), bool)
    pts = [(0, 0), (shape[0] - 1, shape[1] - 1)]
    pts += [(rs.randint(shape[0]), rs.randint(shape[1])) for _ in range(100)]
    err = max(abs(_blur_at(u, float(alpha), none, False, kern, y, x) - d64[y, x]) for y, x in pts)
    assert err <= 0.25 * _noise_fast.float64_error_bound(alpha, ksize)


def test_fast_path_taken_and_unsure_pixels_decided(fast_path_calls):
    lab = blocky((256, 256), 6, 3, 0, np.int32)  # boundaries everywhere
    for seed in range(3):
        out = elastic_deform_labels(lab, alpha=100, sigma=10, area_threshold=5, random_state=seed)
        ref = seed_literal(lab, 100, 10, 5, None, np.random.RandomState(seed))
        np.testing.assert_array_equal(out, ref)
    assert fast_path_calls["float32"] == 3 and fast_path_calls["fell back"] == 0
    assert fast_path_calls["unsure"] > 0  # the float64 recomputation ran


@pytest.mark.parametrize(("scale", "fallbacks"), [(3e3, 0), (1e12, 3)])
def test_widened_bounds_still_equal_the_seed(monkeypatch, fast_path_calls, scale, fallbacks):
    # Wider bounds: many more unsure pixels (3e3), or undecidable ones (1e12),
    # which make the float64 path run. The output never changes.
    monkeypatch.setattr(noise, "_BOUND_SCALE", scale)
    lab = blocky((90, 70), 5, 6, 1, np.uint16, ignore=255)
    for seed in range(3):
        out = elastic_deform_labels(lab, alpha=30, sigma=5, area_threshold=40, ignore_index=255,
                                    random_state=seed)
        ref = seed_literal(lab, 30, 5, 40, 255, np.random.RandomState(seed))
        np.testing.assert_array_equal(out, ref)
    assert fast_path_calls["float32"] == 3 and fast_path_calls["fell back"] == fallbacks
    assert fast_path_calls["unsure"] > 1000


def _float64_path(monkeypatch, **kw):
    with monkeypatch.context() as m:
        m.setattr(noise, "_BOUND_SCALE", 1e300)  # nothing is ever decided in float32
        return elastic_deform_labels(**kw)


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 40),
    block=st.integers(1, 8),
    n_classes=st.integers(1, 5),
    alpha=st.floats(0, 200),
    sigma=st.floats(0.3, 15),
    area_threshold=st.integers(0, 30),
    suppression=st.sampled_from(noise.SUPPRESSIONS),
    instance_safe=st.booleans(),
    dtype=st.sampled_from([np.uint8, np.int16, np.uint32, np.int64, bool]),
    seed=st.integers(0, 2**31 - 1),
)
def test_float32_path_equals_float64_path(h, w, block, n_classes, alpha, sigma, area_threshold,
                                          suppression, instance_safe, dtype, seed):
    lab = blocky((h, w), n_classes, block, seed % 1000)
    lab = (lab % 2).astype(bool) if dtype is bool else lab.astype(dtype)
    kw = dict(labels=lab, alpha=alpha, sigma=sigma, area_threshold=area_threshold,
              suppression=suppression, instance_safe=instance_safe, random_state=seed,
              return_displacement=True)
    out, disp = elastic_deform_labels(**kw)
    with pytest.MonkeyPatch.context() as mp:
        ref, ref_disp = _float64_path(mp, **kw)
    np.testing.assert_array_equal(out, ref)
    assert out.dtype == lab.dtype
    # the displayed displacement is the float32 field: within its bound
    bound = _noise_fast.float32_error_bound(alpha, _noise_fast.gaussian_ksize(sigma))
    np.testing.assert_allclose(disp, ref_disp, atol=2 * bound + 1e-6)


def test_unsure_pixels_decided_in_float64(monkeypatch, fast_path_calls):
    # A float32 blur that is off by 0.4 px, inside bounds widened to ~1 px: every
    # pixel near a boundary is unsure, and only the float64 recomputation gets
    # them right.
    real_blur = cv2.GaussianBlur

    def off_by_04(d, ksize, sigma):
        out = real_blur(d, ksize, sigma)
        return out + np.float32(0.4) if d.dtype == np.float32 else out

    monkeypatch.setattr(_noise_fast.cv2, "GaussianBlur", off_by_04)
    monkeypatch.setattr(noise, "_BOUND_SCALE", 3e3)
    lab = blocky((90, 70), 5, 6, 2, np.int32)
    for seed in range(3):
        out = elastic_deform_labels(lab, alpha=30, sigma=5, area_threshold=0, random_state=seed)
        ref = seed_literal(lab, 30, 5, 0, None, np.random.RandomState(seed))
        np.testing.assert_array_equal(out, ref)
    assert fast_path_calls["fell back"] == 0 and fast_path_calls["unsure"] > 1000


def test_instance_safe_rounds_stay_in_float32(fast_path_calls):
    rng = np.random.default_rng(4)
    lab = np.zeros((128, 128), np.int32)
    for i in range(1, 60):  # small instances that a strong field breaks
        y, x = rng.integers(2, 122, 2)
        lab[y : y + 5, x : x + 5] = i
    out = elastic_deform_labels(lab, alpha=300, sigma=3, area_threshold=0, instance_safe=True,
                                random_state=0)
    plain = elastic_deform_labels(lab, alpha=300, sigma=3, area_threshold=0, random_state=0)
    assert not np.array_equal(out, plain)  # rounds of mending ran
    assert fast_path_calls["fell back"] == 0


def test_float64_when_float32_would_be_slower(monkeypatch, fast_path_calls):
    # Very large alpha * sigma: the bound is too wide to be worth it (this took
    # 30 s on 256² in float32 before the limit; float64 takes 0.1 s).
    lab = blocky((64, 48), 4, 5, 0, np.int32)
    out = elastic_deform_labels(lab, alpha=400, sigma=200, area_threshold=0, random_state=0)
    ref = seed_literal(lab, 400, 200, 0, None, np.random.RandomState(0))
    np.testing.assert_array_equal(out, ref)
    assert fast_path_calls["fell back"] == 1 and fast_path_calls["unsure"] == 0
    # Too many unsure pixels to recompute: float64 too
    monkeypatch.setattr(_noise_fast, "MAX_UNSURE_WORK", 0.0)
    monkeypatch.setattr(noise, "_BOUND_SCALE", 3e3)
    out = elastic_deform_labels(lab, alpha=30, sigma=3, area_threshold=0, random_state=1)
    np.testing.assert_array_equal(out, seed_literal(lab, 30, 3, 0, None,
                                                    np.random.RandomState(1)))
    assert fast_path_calls["fell back"] == 2 and fast_path_calls["unsure"] == 0


def test_alpha_zero_stays_in_float32(fast_path_calls):
    lab = blocky((40, 40), 3, 4, 0, np.uint8)  # 16 px blocks: all "small"
    for kw in (dict(suppression="exact"), dict(instance_safe=True)):
        out = elastic_deform_labels(lab, alpha=0, sigma=3, area_threshold=20, random_state=0,
                                    **kw)
        np.testing.assert_array_equal(out, lab)
    assert fast_path_calls["float32"] == 2 and fast_path_calls["fell back"] == 0


def test_big_endian_labels():
    lab = blocky((50, 40), 4, 5, 2, np.int32)
    for area in (0, 30):
        ref = elastic_deform_labels(lab, alpha=30, sigma=3, area_threshold=area, random_state=0)
        out = elastic_deform_labels(lab.astype(">i4"), alpha=30, sigma=3, area_threshold=area,
                                    random_state=0)
        np.testing.assert_array_equal(out, ref)
