"""Tests for napari_maskclean.core.region (seeded region growing)."""

from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage.segmentation import flood

from napari_maskclean.core import _region_flood as flood_mod
from napari_maskclean.core import region as region_mod
from napari_maskclean.core.region import RegionGrower, flood_mask, region_grow

# The dtypes the kernels are compiled for in these tests (numba compiles one
# specialisation per dtype, ~2-3 s each on a cold cache: keep this list short).
DTYPES = [np.uint8, np.uint16, np.int32, np.float32, np.float64]


def _work(image, tolerance, connectivity=1, channel_axis=None):
    return region_mod._prepare(
        image,
        tolerance=tolerance,
        connectivity=connectivity,
        relative=False,
        smooth_sigma=0.0,
        channel_axis=channel_axis,
    )


def _kernels(image):
    """Kernels able to flood this (single-channel) image."""
    image = np.asarray(image)
    if image.ndim == 2 and image.dtype == np.uint8:
        return ["numba", "opencv"]
    return ["numba"]


def _flood_kernel(image, seed, tolerance, connectivity, kernel, mask=None):
    work = _work(image, tolerance, connectivity)
    barrier = None if mask is None else np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    region, box = region_mod._flood_one(work, tuple(seed), barrier, kernel)
    assert region.dtype == bool and region.shape == np.asarray(image).shape
    assert region.view(np.uint8).max() <= 1  # valid bools (0/1 bytes) only
    # The bounding box is tight.
    assert region[box].sum() == region.sum()
    if region.any():
        for axis, sl in enumerate(box):
            profile = region.any(axis=tuple(a for a in range(region.ndim) if a != axis))
            idx = np.flatnonzero(profile)
            assert (sl.start, sl.stop) == (idx[0], idx[-1] + 1)
    return region


def _random_image(rng, shape, dtype, levels=6):
    """Few distinct values, so that regions have interesting shapes."""
    if np.issubdtype(dtype, np.floating):
        return (rng.integers(0, levels, shape) * 0.7 + rng.random(shape) * 0.2).astype(dtype)
    base = rng.integers(0, levels, shape)
    if np.issubdtype(dtype, np.signedinteger):
        base = base - levels // 2
    return base.astype(dtype)


# ---------------------------------------------------------------------------
# Small literal examples
# ---------------------------------------------------------------------------

IMAGE = np.array(
    [
        [0, 0, 0, 0, 0, 0, 0],
        [0, 1, 1, 0, 2, 2, 0],
        [0, 1, 1, 0, 2, 2, 0],
        [1, 0, 0, 0, 0, 0, 3],
    ],
    dtype=np.uint8,
)


@pytest.mark.parametrize("dtype", DTYPES)
def test_literal_connectivity(dtype):
    image = IMAGE.astype(dtype)
    face = flood_mask(image, [[1, 1]], tolerance=0)
    assert face.dtype == bool and face.shape == image.shape
    expected = np.zeros_like(face)
    expected[1:3, 1:3] = True
    np.testing.assert_array_equal(face, expected)
    full = flood_mask(image, [[1, 1]], tolerance=0, connectivity=2)
    expected[3, 0] = True  # diagonal neighbour of (2, 1)
    np.testing.assert_array_equal(full, expected)


def test_literal_tolerance_and_union():
    within_one = flood_mask(IMAGE, [[0, 0]], tolerance=1)
    np.testing.assert_array_equal(within_one, IMAGE <= 1)  # the 0s and 1s all connect
    union = flood_mask(IMAGE, [[1, 4], [3, 6]], tolerance=0)
    np.testing.assert_array_equal(union, (IMAGE == 2) | (IMAGE == 3))


def test_empty_seed_list_gives_all_false_and_reports_no_progress():
    calls = []
    out = flood_mask(IMAGE, [], tolerance=3, progress=lambda d, t: calls.append((d, t)))
    assert out.shape == IMAGE.shape and out.dtype == bool and not out.any()
    assert calls == []
    grown = region_grow(IMAGE, [], tolerance=3)
    assert grown.dtype == np.int32 and not grown.any()
    assert not flood_mask(IMAGE, np.empty((0, 2), dtype=int), tolerance=3).any()


def test_progress_is_called_per_seed():
    calls = []
    flood_mask(
        IMAGE, [[0, 0], [1, 4], [3, 6]], tolerance=0, progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]
    calls.clear()
    region_grow(IMAGE, [[0, 0], [1, 4]], tolerance=0, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 2), (2, 2)]


def test_one_dimensional_image():
    image = np.array([5, 5, 6, 9, 5, 5], dtype=np.float64)
    np.testing.assert_array_equal(
        flood_mask(image, [[0]], tolerance=1), [True, True, True, False, False, False]
    )
    np.testing.assert_array_equal(
        flood_mask(image, [[0]], tolerance=1), flood(image, 0, tolerance=1)
    )


def test_bool_and_float16_images():
    image = IMAGE > 0
    np.testing.assert_array_equal(
        flood_mask(image, [[1, 1]], tolerance=0), flood(IMAGE > 0, (1, 1), connectivity=1)
    )
    half = IMAGE.astype(np.float16)
    np.testing.assert_array_equal(
        flood_mask(half, [[0, 0]], tolerance=1),
        flood(IMAGE.astype(np.float32), (0, 0), tolerance=1, connectivity=1),
    )


# ---------------------------------------------------------------------------
# Equality with scikit-image, every kernel
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(31, 47), (9, 11, 13)])
def test_matches_skimage_random(dtype, shape):
    rng = np.random.default_rng(abs(hash((np.dtype(dtype).name, shape))) % 2**32)
    image = _random_image(rng, shape, dtype)
    for trial in range(6):
        seed = tuple(int(rng.integers(0, s)) for s in shape)
        tolerance = [0, 1, 2.5, 3][trial % 4]
        for connectivity in range(1, len(shape) + 1):
            expected = flood(image, seed, tolerance=tolerance, connectivity=connectivity)
            got = flood_mask(image, [list(seed)], tolerance=tolerance, connectivity=connectivity)
            np.testing.assert_array_equal(got, expected)
            for kernel in _kernels(image):
                np.testing.assert_array_equal(
                    _flood_kernel(image, seed, tolerance, connectivity, kernel), expected
                )


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    dtype=st.sampled_from(DTYPES),
    ndim=st.sampled_from([2, 2, 3]),
    tolerance=st.one_of(st.integers(0, 4), st.floats(0, 4, allow_nan=False, allow_infinity=False)),
)
def test_matches_skimage_hypothesis(data, dtype, ndim, tolerance):
    shape = tuple(data.draw(st.integers(1, 12 if ndim == 2 else 6)) for _ in range(ndim))
    seed_rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    image = _random_image(seed_rng, shape, dtype, levels=data.draw(st.integers(1, 7)))
    seed = tuple(data.draw(st.integers(0, s - 1)) for s in shape)
    connectivity = data.draw(st.integers(1, ndim))
    expected = flood(image, seed, tolerance=tolerance, connectivity=connectivity)
    for kernel in _kernels(image):
        got = _flood_kernel(image, seed, tolerance, connectivity, kernel)
        np.testing.assert_array_equal(got, expected)


def test_opencv_and_numba_agree_on_large_uint8_with_barrier():
    rng = np.random.default_rng(3)
    image = ndi.gaussian_filter(rng.random((300, 400)), 3)
    image = ((image - image.min()) / np.ptp(image) * 255).astype(np.uint8)
    barrier = rng.random(image.shape) < 0.05
    for seed in rng.integers(0, 300, (5, 2)):
        seed = (int(seed[0]), int(seed[1]))
        for connectivity in (1, 2):
            for mask in (None, barrier):
                a = _flood_kernel(image, seed, 20, connectivity, "numba", mask)
                b = _flood_kernel(image, seed, 20, connectivity, "opencv", mask)
                np.testing.assert_array_equal(a, b)
                if mask is None:
                    ref = flood(image, seed, tolerance=20, connectivity=connectivity)
                    np.testing.assert_array_equal(a, ref)


def test_fractional_tolerance_on_integers_truncates_like_skimage():
    image = np.array([[7, 8, 10, 12, 13]], dtype=np.uint8)
    # skimage: bounds int(10 - 2.5) = 7 and int(10 + 2.5) = 12
    expected = np.array([[True, True, True, True, False]])
    for kernel in ("numba", "opencv"):
        np.testing.assert_array_equal(_flood_kernel(image, (0, 2), 2.5, 1, kernel), expected)
    np.testing.assert_array_equal(flood(image, (0, 2), tolerance=2.5, connectivity=1), expected)
    negative = np.array([[-13, -12, -10, -8, -7]], dtype=np.int32)
    np.testing.assert_array_equal(
        flood_mask(negative, [[0, 2]], tolerance=2.5),
        flood(negative, (0, 2), tolerance=2.5, connectivity=1),
    )


def test_bounds_clip_at_dtype_limits():
    image = np.array([[250, 255, 0, 3]], dtype=np.uint8)
    np.testing.assert_array_equal(flood_mask(image, [[0, 0]], tolerance=300), [[True] * 4])
    np.testing.assert_array_equal(
        flood_mask(image, [[0, 3]], tolerance=5), [[False, False, True, True]]
    )


def test_float32_bounds_round_like_skimage():
    one = np.float32(1.0)
    below = np.nextafter(one, np.float32(0))
    above = np.nextafter(one, np.float32(2))
    image = np.array([[one, below, above, np.float32(1.5)]], dtype=np.float32)
    for tolerance in (0.0, 1e-9, 6e-8, 1.2e-7, 0.5):
        np.testing.assert_array_equal(
            flood_mask(image, [[0, 0]], tolerance=tolerance),
            flood(image, (0, 0), tolerance=tolerance, connectivity=1),
        )


def test_union_of_seeds_matches_or_of_skimage_floods():
    rng = np.random.default_rng(5)
    image = _random_image(rng, (40, 50), np.uint16)
    seeds = rng.integers(0, 40, (6, 2)).tolist()
    expected = np.zeros(image.shape, dtype=bool)
    for s in seeds:
        expected |= flood(image, tuple(s), tolerance=1, connectivity=1)
    np.testing.assert_array_equal(flood_mask(image, seeds, tolerance=1), expected)
    np.testing.assert_array_equal(flood_mask(image, np.array(seeds), tolerance=1), expected)


def test_stack_growth(monkeypatch):
    # A percolating random maze makes many runs: force the stack to grow.
    # The scan-line driver lives in _region_flood: patch it there, where it runs.
    monkeypatch.setattr(flood_mod, "_STACK_START", 0)
    calls = []
    kernel = flood_mod._scanline_run

    def counting(*args):
        calls.append(1)
        return kernel(*args)

    monkeypatch.setattr(flood_mod, "_scanline_run", counting)
    rng = np.random.default_rng(11)
    image = (rng.random((200, 120)) < 0.62).astype(np.uint8)
    image[0, 0] = 1
    expected = flood(image, (0, 0), tolerance=0, connectivity=1)
    assert expected.sum() > 5000
    np.testing.assert_array_equal(_flood_kernel(image, (0, 0), 0, 1, "numba"), expected)
    assert len(calls) >= 2  # the kernel stopped for a bigger stack at least once
    volume = (rng.random((20, 30, 30)) < 0.35).astype(np.float32)
    volume[0, 0, 0] = 1
    expected = flood(volume, (0, 0, 0), tolerance=0, connectivity=1)
    np.testing.assert_array_equal(flood_mask(volume, [[0, 0, 0]], tolerance=0), expected)


# ---------------------------------------------------------------------------
# Options: barrier, relative tolerance, smoothing, multichannel, NaN
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_barrier_equals_flood_on_image_with_barrier_cut_out(dtype):
    rng = np.random.default_rng(7)
    image = _random_image(rng, (30, 30), dtype, levels=3)
    barrier = np.zeros(image.shape, dtype=bool)
    barrier[:, 12] = True
    barrier[5, :] = True
    barrier[5, 20] = False  # a gap
    seed = (20, 3)
    got = flood_mask(image, [list(seed)], tolerance=1, mask=barrier)
    assert not (got & barrier).any()
    # Reference: NaN pixels never join, so NaN-out the barrier for skimage.
    cut = image.astype(np.float64)
    cut[barrier] = np.nan
    np.testing.assert_array_equal(got, flood(cut, seed, tolerance=1, connectivity=1))


def test_seed_on_barrier_grows_nothing():
    barrier = np.zeros(IMAGE.shape, dtype=bool)
    barrier[0, 0] = True
    assert not flood_mask(IMAGE, [[0, 0]], tolerance=5, mask=barrier).any()
    both = flood_mask(IMAGE, [[0, 0], [1, 4]], tolerance=0, mask=barrier)
    np.testing.assert_array_equal(both, IMAGE == 2)


def test_relative_tolerance_is_fraction_of_value_range():
    rng = np.random.default_rng(2)
    image = rng.integers(100, 201, (40, 40)).astype(np.uint16)
    image[0, 0], image[0, 1] = 100, 200  # range exactly 100
    seeds = [[10, 10], [30, 5]]
    np.testing.assert_array_equal(
        flood_mask(image, seeds, tolerance=0.3, relative=True),
        flood_mask(image, seeds, tolerance=30.0),
    )
    floats = image.astype(np.float64)
    floats[5, 5] = np.nan  # NaN is ignored in the range
    np.testing.assert_array_equal(
        flood_mask(floats, seeds, tolerance=0.3, relative=True),
        flood_mask(floats, seeds, tolerance=30.0),
    )


def test_smoothing_grows_on_gaussian_filtered_copy():
    rng = np.random.default_rng(4)
    image = rng.integers(0, 255, (50, 60)).astype(np.uint8)
    smooth = ndi.gaussian_filter(image.astype(np.float32), 2.0, mode="nearest")
    seed = (25, 30)
    got = flood_mask(image, [list(seed)], tolerance=8, smooth_sigma=2.0)
    np.testing.assert_array_equal(got, flood(smooth, seed, tolerance=8, connectivity=1))
    assert got.sum() > flood_mask(image, [list(seed)], tolerance=8).sum()


def _colour_reference(image, seed, tolerance, connectivity):
    d2 = ((image.astype(np.float64) - image[seed].astype(np.float64)) ** 2).sum(axis=-1)
    inside = d2 <= tolerance**2
    structure = ndi.generate_binary_structure(inside.ndim, connectivity)
    lab, _ = ndi.label(inside, structure)
    return lab == lab[seed]


@pytest.mark.parametrize("connectivity", [1, 2])
def test_multichannel_euclidean_colour_distance(connectivity):
    rng = np.random.default_rng(9)
    palette = np.array([[200, 30, 30], [205, 34, 27], [30, 200, 30], [0, 0, 0]], dtype=np.uint8)
    rgb = palette[rng.integers(0, 4, (40, 50))]
    for seed in [(3, 4), (20, 20), (39, 49)]:
        for tolerance in (0, 5.0, np.sqrt(50), 300):
            expected = _colour_reference(rgb, seed, tolerance, connectivity)
            got = flood_mask(
                rgb, [list(seed)], tolerance=tolerance, connectivity=connectivity, channel_axis=-1
            )
            np.testing.assert_array_equal(got, expected)
            moved = np.moveaxis(rgb, -1, 0)
            np.testing.assert_array_equal(
                flood_mask(
                    moved,
                    [list(seed)],
                    tolerance=tolerance,
                    connectivity=connectivity,
                    channel_axis=0,
                ),
                expected,
            )
    # |(205,34,27) - (200,30,30)| = sqrt(50): inclusive bound
    a = _colour_reference(rgb, (20, 20), np.sqrt(50), 1)
    b = _colour_reference(rgb, (20, 20), 7.0, 1)
    assert (a == b).all()


def test_multichannel_3d_and_one_channel_equals_scalar():
    rng = np.random.default_rng(10)
    volume = _random_image(rng, (6, 7, 8), np.float32)
    seed = (3, 3, 3)
    got = flood_mask(volume[..., None], [list(seed)], tolerance=1.0, channel_axis=-1)
    np.testing.assert_array_equal(got, flood(volume, seed, tolerance=1.0, connectivity=1))
    colour = rng.random((6, 7, 8, 2))
    np.testing.assert_array_equal(
        flood_mask(colour, [list(seed)], tolerance=0.5, channel_axis=3, connectivity=3),
        _colour_reference(colour, seed, 0.5, 3),
    )


def test_nan_pixels_never_join_and_nan_seed_raises():
    image = np.array([[1.0, np.nan, 1.0], [1.0, 1.0, np.nan]], dtype=np.float32)
    got = flood_mask(image, [[0, 0]], tolerance=np.inf, connectivity=2)
    np.testing.assert_array_equal(got, ~np.isnan(image))
    got = flood_mask(image, [[0, 0]], tolerance=np.inf)  # (0, 2) is cut off by NaNs
    np.testing.assert_array_equal(got, ~np.isnan(image) & (np.arange(3) < 2))
    with pytest.raises(ValueError, match="NaN"):
        flood_mask(image, [[0, 1]], tolerance=1)
    with pytest.raises(ValueError, match="NaN"):
        region_grow(image, [[1, 2]], tolerance=1)
    rgb = np.zeros((2, 2, 3))
    rgb[1, 1, 2] = np.nan
    assert flood_mask(rgb, [[0, 0]], tolerance=1, channel_axis=-1).sum() == 3


def test_input_is_not_mutated_and_read_only_input_works():
    rng = np.random.default_rng(1)
    image = _random_image(rng, (20, 20), np.uint8)
    mask = rng.random(image.shape) < 0.1
    labels = (rng.random(image.shape) < 0.1).astype(np.int32)
    copies = image.copy(), mask.copy(), labels.copy()
    for arr in (image, mask, labels):
        arr.setflags(write=False)
    flood_mask(image, [[0, 0], [5, 5]], tolerance=1, mask=mask)
    flood_mask(image, [[0, 0]], tolerance=1, smooth_sigma=1.0, relative=True)
    region_grow(image, [[0, 0], [5, 5]], tolerance=1, labels=labels)
    for arr, copy in zip((image, mask, labels), copies, strict=True):
        np.testing.assert_array_equal(arr, copy)
    f_order = np.asfortranarray(rng.random((15, 16)))
    np.testing.assert_array_equal(
        flood_mask(f_order, [[2, 3]], tolerance=0.3),
        flood(np.ascontiguousarray(f_order), (2, 3), tolerance=0.3, connectivity=1),
    )


def test_big_endian_image_and_numeric_mask():
    rng = np.random.default_rng(8)
    image = _random_image(rng, (20, 30), np.float64)
    swapped = image.astype(image.dtype.newbyteorder(">"))
    np.testing.assert_array_equal(
        flood_mask(swapped, [[3, 4]], tolerance=1.0),
        flood(image, (3, 4), tolerance=1.0, connectivity=1),
    )
    barrier = rng.random(image.shape) < 0.2
    barrier[3, 4] = False
    np.testing.assert_array_equal(
        flood_mask(image, [[3, 4]], tolerance=1.0, mask=barrier.astype(np.uint16) * 3),
        flood_mask(image, [[3, 4]], tolerance=1.0, mask=barrier),
    )


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seeds", "kwargs", "match"),
    [
        ([[0, 7]], {}, r"seed 0 at \(0, 7\) is outside the image of shape \(4, 7\)"),
        ([[0, 0], [-1, 2]], {}, r"seed 1 at \(-1, 2\) is outside"),
        ([[1, 2, 3]], {}, r"seed 0 has 3 coordinate\(s\) but the image has 2 spatial"),
        ([[1.5, 2]], {}, r"non-integer coordinate 1.5.*round"),
        ([1, 2], {}, "flat list"),
        ([[1, 2]], {"tolerance": -1}, "non-negative"),
        ([[1, 2]], {"tolerance": float("nan")}, "non-negative"),
        ([[1, 2]], {"connectivity": 3}, "connectivity must be between 1"),
        ([[1, 2]], {"connectivity": 0}, "connectivity must be between 1"),
        (
            [[1, 2]],
            {"mask": np.zeros((4, 6), bool)},
            r"mask must have the image's spatial shape \(4, 7\)",
        ),
        ([[1, 2]], {"smooth_sigma": -1}, "smooth_sigma"),
        ([[1, 2]], {"channel_axis": 2}, "channel_axis=2 is out of range"),
    ],
)
def test_bad_input_raises_value_error(seeds, kwargs, match):
    kwargs = {"tolerance": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        flood_mask(IMAGE, seeds, **kwargs)


def test_bad_input_messages_for_volumes_and_channels():
    with pytest.raises(
        ValueError, match=r"seed 0 has 2 coordinate\(s\) but the image has 3 spatial"
    ):
        flood_mask(np.zeros((3, 4, 5)), [[1, 2]], tolerance=1)
    with pytest.raises(ValueError, match="channel axis is not part of a seed"):
        flood_mask(np.zeros((4, 5, 3)), [[1, 2, 0]], tolerance=1, channel_axis=-1)


def test_bad_types_raise_type_error():
    with pytest.raises(TypeError, match="real numeric dtype"):
        flood_mask(IMAGE.astype(complex), [[0, 0]], tolerance=1)
    with pytest.raises(TypeError, match="tolerance must be a number"):
        flood_mask(IMAGE, [[0, 0]], tolerance="1")
    with pytest.raises(TypeError, match="seeds must be a list"):
        flood_mask(IMAGE, "0,0", tolerance=1)
    with pytest.raises(TypeError, match="labels must be an integer label image"):
        region_grow(IMAGE, [[0, 0]], tolerance=1, labels=np.zeros(IMAGE.shape))


def test_whole_number_float_seeds_are_accepted():
    np.testing.assert_array_equal(
        flood_mask(IMAGE, [[1.0, 1.0]], tolerance=0), flood_mask(IMAGE, [[1, 1]], tolerance=0)
    )
    np.testing.assert_array_equal(
        flood_mask(IMAGE, [(np.int64(1), np.int32(1))], tolerance=0),
        flood_mask(IMAGE, [[1, 1]], tolerance=0),
    )


# ---------------------------------------------------------------------------
# region_grow
# ---------------------------------------------------------------------------


def _region_grow_reference(image, seeds, tolerance, values, barrier=None, connectivity=1):
    """Per-seed skimage flood + brute-force nearest-seed rule (ties: first seed)."""
    shape = image.shape
    best = np.full(shape, np.inf)
    owner = np.zeros(shape, dtype=np.int64)
    grid = np.indices(shape)
    for i, seed in enumerate(seeds):
        seed = tuple(seed)
        if barrier is not None and barrier[seed]:
            continue
        work = image
        if barrier is not None:  # NaN pixels never join: NaN-out the barrier
            work = image.astype(np.float64)
            work[barrier] = np.nan
        region = flood(work, seed, tolerance=tolerance, connectivity=connectivity)
        d = sum((g - s) ** 2 for g, s in zip(grid, seed, strict=True))
        take = region & (d < best)
        best[take] = d[take]
        owner[take] = i + 1
    lut = np.array([0, *values], dtype=np.int64)
    return lut[owner]


def test_region_grow_literal_and_dtype():
    image = np.array([[0, 0, 0, 0, 0], [0, 0, 0, 0, 0], [9, 9, 5, 5, 5]], dtype=np.uint8)
    got = region_grow(image, [[0, 0], [0, 4], [2, 3]], tolerance=0)
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, [[1, 1, 1, 2, 2], [1, 1, 1, 2, 2], [0, 0, 3, 3, 3]])


def test_region_grow_nearest_seed_rule_and_ties_to_first_seed():
    image = np.zeros((1, 7), dtype=np.uint8)
    # seeds at x=1 and x=5: x=3 is equidistant -> the first seed
    np.testing.assert_array_equal(
        region_grow(image, [[0, 1], [0, 5]], tolerance=0), [[1, 1, 1, 1, 2, 2, 2]]
    )
    np.testing.assert_array_equal(
        region_grow(image, [[0, 5], [0, 1]], tolerance=0), [[2, 2, 2, 1, 1, 1, 1]]
    )
    # Only seeds whose own region holds a pixel compete for it.
    image = np.array([[0, 0, 0, 0, 9, 9, 9, 9]], dtype=np.uint8)
    got = region_grow(image, [[0, 0], [0, 7]], tolerance=0)
    np.testing.assert_array_equal(got, [[1, 1, 1, 1, 2, 2, 2, 2]])
    got = region_grow(image, [[0, 0], [0, 7]], tolerance=9)
    np.testing.assert_array_equal(got, [[1, 1, 1, 1, 2, 2, 2, 2]])
    got = region_grow(image, [[0, 0], [0, 6]], tolerance=9)
    np.testing.assert_array_equal(got, [[1, 1, 1, 1, 2, 2, 2, 2]])


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
@pytest.mark.parametrize("shape", [(40, 37), (8, 9, 10)])
def test_region_grow_matches_reference(dtype, shape):
    rng = np.random.default_rng(21)
    image = _random_image(rng, shape, dtype, levels=4)
    seeds = [[int(rng.integers(0, s)) for s in shape] for _ in range(7)]
    for tolerance in (0, 1, 3):
        got = region_grow(image, seeds, tolerance=tolerance)
        values = list(range(1, len(seeds) + 1))
        np.testing.assert_array_equal(got, _region_grow_reference(image, seeds, tolerance, values))
        np.testing.assert_array_equal(got > 0, flood_mask(image, seeds, tolerance=tolerance))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_region_grow_hypothesis(data):
    shape = (data.draw(st.integers(1, 10)), data.draw(st.integers(1, 10)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    image = _random_image(rng, shape, np.float64, levels=data.draw(st.integers(1, 4)))
    n = data.draw(st.integers(1, 5))
    seeds = [[data.draw(st.integers(0, s - 1)) for s in shape] for _ in range(n)]
    values = data.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    tolerance = data.draw(st.floats(0, 3))
    barrier = rng.random(shape) < 0.15
    labels = barrier.astype(np.int32) * 7
    got = region_grow(image, seeds, tolerance=tolerance, seed_labels=values, labels=labels)
    np.testing.assert_array_equal(
        got, _region_grow_reference(image, seeds, tolerance, values, barrier)
    )
    assert not got[barrier].any()
    union = flood_mask(image, seeds, tolerance=tolerance, mask=barrier)
    np.testing.assert_array_equal(got > 0, union)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_adding_seeds_to_a_grower_equals_growing_all_at_once(data):
    """Click by click (the widget's path) gives exactly region_grow of all seeds."""
    ndim = data.draw(st.integers(2, 3))
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    image = _random_image(rng, shape, np.uint8, levels=data.draw(st.integers(1, 4)))
    n = data.draw(st.integers(1, 6))
    seeds = [[data.draw(st.integers(0, s - 1)) for s in shape] for _ in range(n)]
    values = data.draw(st.lists(st.integers(1, 4), min_size=n, max_size=n))
    labels = (rng.random(shape) < 0.1).astype(np.int32) * 3
    kwargs = dict(tolerance=data.draw(st.integers(0, 2)), labels=labels,
                  connectivity=data.draw(st.integers(1, ndim)))
    split = data.draw(st.integers(0, n))
    first = RegionGrower(image, **kwargs).add_seeds(seeds[:split])
    both = first.add_seeds(seeds[split:])
    np.testing.assert_array_equal(both.labels(values),
                                  region_grow(image, seeds, seed_labels=values, **kwargs))
    # the first grower is unchanged (jobs may overlap in the widget)
    np.testing.assert_array_equal(first.labels(values[:split]),
                                  region_grow(image, seeds[:split], seed_labels=values[:split],
                                              **kwargs))


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_growing_on_several_threads_equals_one_thread(data):
    """Seeds split across threads and merged give exactly the one-thread result."""
    import napari_maskclean.core.region as region_module

    with mock.patch.object(region_module, "_PARALLEL_MIN_PIXELS", 0):  # small images too
        _check_threads_equal_one_thread(data)


def _check_threads_equal_one_thread(data):
    ndim = data.draw(st.integers(2, 3))
    shape = tuple(data.draw(st.integers(1, 9)) for _ in range(ndim))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    image = _random_image(rng, shape, np.uint8, levels=data.draw(st.integers(1, 3)))
    n = data.draw(st.integers(2, 9))
    seeds = [[data.draw(st.integers(0, s - 1)) for s in shape] for _ in range(n)]
    labels = (rng.random(shape) < 0.1).astype(np.int32) * 3
    kwargs = dict(tolerance=data.draw(st.integers(0, 2)), labels=labels,
                  connectivity=data.draw(st.integers(1, ndim)))
    split = data.draw(st.integers(0, n - 2))  # some seeds grown before, on one thread
    one = RegionGrower(image, threads=1, **kwargs).add_seeds(seeds[:split]).add_seeds(seeds[split:])
    calls = []
    many = RegionGrower(image, threads=data.draw(st.integers(2, 4)), **kwargs)
    many = many.add_seeds(seeds[:split]).add_seeds(
        seeds[split:], progress=lambda done, total: calls.append((done, total)))
    np.testing.assert_array_equal(many.labels(), one.labels())
    first_label = 4 if labels.any() else 1
    np.testing.assert_array_equal(many.labels(), _region_grow_reference(
        image, seeds, kwargs["tolerance"], list(range(first_label, first_label + n)),
        labels != 0, connectivity=kwargs["connectivity"]))
    assert sorted(calls) == [(k, n - split) for k in range(1, n - split + 1)]


def test_threads_must_be_a_positive_integer():
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            region_grow(IMAGE, [[0, 0]], tolerance=0, threads=bad)


def test_region_grow_shared_labels_unite_regions():
    image = IMAGE
    got = region_grow(image, [[1, 1], [1, 4], [3, 6]], tolerance=0, seed_labels=[4, 4, 9])
    expected = np.zeros(image.shape, dtype=np.int32)
    expected[(image == 1) & flood(image, (1, 1), connectivity=1)] = 4
    expected[image == 2] = 4
    expected[3, 6] = 9
    np.testing.assert_array_equal(got, expected)


def test_region_grow_existing_labels_are_a_barrier_unless_overwrite():
    image = np.zeros((4, 6), dtype=np.uint8)
    labels = np.zeros((4, 6), dtype=np.uint16)
    labels[:, 3] = 5
    got = region_grow(image, [[0, 0]], tolerance=0, labels=labels)
    expected = np.zeros((4, 6), dtype=np.int32)
    expected[:, :3] = 6  # numbered after the largest existing label
    np.testing.assert_array_equal(got, expected)
    # A seed on an existing label grows nothing.
    assert not region_grow(image, [[0, 3]], tolerance=0, labels=labels).any()
    # overwrite=True: no barrier, only the new region is returned.
    got = region_grow(image, [[0, 0]], tolerance=0, labels=labels, overwrite=True, seed_labels=[2])
    np.testing.assert_array_equal(got, np.full((4, 6), 2, dtype=np.int32))
    merged = np.where(got != 0, got, labels)
    assert (merged == 2).all()


def test_region_grow_multichannel_and_options():
    rng = np.random.default_rng(12)
    palette = np.array([[0, 0, 0], [250, 0, 0], [0, 250, 0]], dtype=np.uint8)
    rgb = palette[rng.integers(0, 3, (20, 25))]
    seeds = [[0, 0], [10, 10], [19, 24]]
    got = region_grow(rgb, seeds, tolerance=10, channel_axis=-1, connectivity=2)
    union = flood_mask(rgb, seeds, tolerance=10, channel_axis=-1, connectivity=2)
    np.testing.assert_array_equal(got > 0, union)
    assert set(np.unique(got)) <= {0, 1, 2, 3}
    rel = region_grow(rgb[..., 0], seeds, tolerance=0.5, relative=True)
    np.testing.assert_array_equal(rel, region_grow(rgb[..., 0], seeds, tolerance=125.0))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed_labels": [1]}, "one label per seed: got 1 labels for 2 seeds"),
        ({"seed_labels": [1, 0]}, r"seed_labels\[1\] must be between 1 and"),
        ({"seed_labels": [1, 2.5]}, "whole number"),
        ({"labels": np.zeros((3, 3), np.int32)}, "labels must have the image's spatial shape"),
        ({"labels": np.full((4, 7), 2**31 - 2, np.int64)}, "int32 range"),
    ],
)
def test_region_grow_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        region_grow(IMAGE, [[0, 0], [1, 1]], tolerance=0, **kwargs)


def test_core_module_does_not_import_gui_packages():
    import subprocess
    import sys

    code = (
        "import sys, napari_maskclean.core.region; "
        "bad = [m for m in ('napari', 'qtpy', 'magicgui', 'dask') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------ issue 9: colour and bounds


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("func", [flood_mask, region_grow])
def test_rgb_looking_image_needs_channel_axis(func, channels):
    rgb = np.zeros((16, 20, channels), np.uint8)
    rgb[:, 10:] = 200
    msg = r"looks like an RGB.*pass channel_axis=-1 to grow by colour"
    with pytest.raises(ValueError, match=msg):
        func(rgb, [[1, 1, 0]], tolerance=5)
    out = func(rgb, [[1, 1]], tolerance=5, channel_axis=-1)
    assert out.shape == (16, 20)
    assert out[:, :10].all() and not out[:, 10:].any()


def test_grey_volumes_with_three_columns_are_not_refused():
    vol = np.zeros((3, 16, 16), np.uint8)  # 3 slices first: a volume
    assert flood_mask(vol, [[0, 0, 0]], tolerance=0).all()
    odd = np.zeros((16, 16, 3), np.uint16)  # not uint8: grey volume as before
    assert flood_mask(odd, [[0, 0, 0]], tolerance=0).all()


def test_smooth_sigma_is_bounded_by_the_image():
    image = np.zeros((100, 120), np.uint8)
    with pytest.raises(ValueError, match=r"smooth_sigma=1000000.0 .*at most 30"):
        flood_mask(image, [[0, 0]], tolerance=1, smooth_sigma=1e6)
    assert flood_mask(image, [[0, 0]], tolerance=1, smooth_sigma=2).all()
