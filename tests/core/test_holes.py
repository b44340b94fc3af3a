import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.measure import label as sk_label

from napari_maskclean.core.holes import (
    _components,
    _hole_components,
    fill_nearest,
    fill_nearest_from,
    invalid_mask,
    nearest_valid_indices,
    remove_islands,
)


def _blobs(shape, frac, rng, sigma=2.0):
    noise = ndi.gaussian_filter(rng.random(shape), sigma)
    return noise < np.quantile(noise, frac)


def _unique_labels(shape, rng):
    """Every pixel a distinct label, so a filled value names its source pixel."""
    return rng.permutation(int(np.prod(shape))).reshape(shape).astype(np.int64) + 1


def _check_nearest(values, filled, inv, spacing, *, sources=None):
    """Every filled pixel's source (named by its unique value) is a nearest source.

    Brute force with a KD-tree over the source pixels (default: all valid pixels).
    """
    spacing = np.asarray(spacing, float)
    sources = ~inv if sources is None else sources
    tree = cKDTree(np.argwhere(sources) * spacing)
    inv_idx = np.argwhere(inv)
    dmin, _ = tree.query(inv_idx * spacing)
    pos = np.empty(values.max() + 1, dtype=np.intp)  # position of each value
    pos[values.ravel()] = np.arange(values.size)
    src = np.stack(np.unravel_index(pos[filled[inv]], values.shape), axis=1)
    assert sources[tuple(src.T)].all()  # sources are valid pixels
    dsrc = np.sqrt((((src - inv_idx) * spacing) ** 2).sum(axis=1))
    np.testing.assert_allclose(dsrc, dmin, rtol=1e-12, atol=0)


# ---------------------------------------------------------------- feature transform


@pytest.mark.parametrize(
    "shape,spacing",
    [
        ((40, 50), None),
        ((40, 50), (1.0, 2.5)),
        ((1, 30), None),
        ((30, 1), (0.5, 1.0)),
        ((17,), None),
        ((12, 14, 16), None),
        ((12, 14, 16), (2.0, 0.5, 1.0)),
    ],
)
@pytest.mark.parametrize("frac", [0.3, 0.9, 0.995])
def test_distances_equal_scipy_exactly(shape, spacing, frac):
    rng = np.random.default_rng(len(shape) * 100 + int(frac * 1000))
    inv = rng.random(shape) < frac
    inv.flat[rng.integers(inv.size)] = False  # at least one valid pixel
    idx, d2 = nearest_valid_indices(inv, spacing=spacing)
    sampling = None if spacing is None else spacing
    ref = ndi.distance_transform_edt(inv, sampling=sampling)
    # dyadic spacings: every squared distance is exact, so equality is exact
    assert np.array_equal(np.sqrt(d2), ref)
    s = np.ones(len(shape)) if spacing is None else np.asarray(spacing)
    grid = np.indices(shape)
    from_idx = np.sqrt(sum(((idx[k] - grid[k]) * s[k]) ** 2 for k in range(len(shape))))
    assert np.array_equal(from_idx, ref)
    assert not inv[tuple(idx)].any()
    assert np.array_equal(idx[:, ~inv], grid[:, ~inv])  # valid pixels point to themselves


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.3, 1.7), (2.2, 0.45)])
def test_distances_match_kdtree_arbitrary_spacing(spacing):
    rng = np.random.default_rng(3)
    inv = rng.random((35, 29)) < 0.85
    inv[0, 0] = False
    _, d2 = nearest_valid_indices(inv, spacing=spacing)
    tree = cKDTree(np.argwhere(~inv) * spacing)
    dmin, _ = tree.query(np.argwhere(np.ones_like(inv)) * spacing)
    np.testing.assert_allclose(np.sqrt(d2).ravel(), dmin, rtol=1e-12, atol=0)


def test_sparse_specks_crop_is_exact():
    # few invalid pixels far from the borders -> the transform runs on a small crop
    rng = np.random.default_rng(7)
    inv = np.zeros((300, 400), bool)
    inv[140:160, 200:230] = rng.random((20, 30)) < 0.8
    inv[150, 215] = True
    idx, d2 = nearest_valid_indices(inv)
    assert np.array_equal(np.sqrt(d2), ndi.distance_transform_edt(inv))
    labels = _unique_labels(inv.shape, rng)
    out = fill_nearest_from(labels, inv)
    _check_nearest(labels, out, inv, (1.0, 1.0))


# ---------------------------------------------------------------- fill_nearest


@pytest.mark.parametrize(
    "shape,spacing",
    [
        ((30, 31), (1.0, 1.0)),
        ((30, 31), (1.0, 3.0)),
        ((9, 10, 11), (2.0, 1.0, 0.75)),
        ((50,), (1.0,)),
    ],
)
def test_fill_sources_are_nearest_kdtree(shape, spacing):
    rng = np.random.default_rng(11)
    inv = rng.random(shape) < 0.7
    inv.flat[0] = False
    values = _unique_labels(shape, rng)
    values[inv] = 0
    out = fill_nearest(values, spacing=spacing)
    assert np.array_equal(out[~inv], values[~inv])  # valid pixels untouched
    _check_nearest(values, out, inv, spacing)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.sampled_from([(7, 9), (1, 12), (12, 1), (5, 6, 4), (2, 3, 20)]),
    frac=st.floats(0.05, 0.98),
    aniso=st.sampled_from([1.0, 0.5, 2.0, 3.0]),
)
def test_fill_nearest_property(seed, shape, frac, aniso):
    rng = np.random.default_rng(seed)
    inv = rng.random(shape) < frac
    inv.flat[rng.integers(inv.size)] = False
    spacing = (aniso,) + (1.0,) * (len(shape) - 1)
    values = _unique_labels(shape, rng)
    values[inv] = 0
    before = values.copy()
    out = fill_nearest(values, spacing=spacing)
    assert np.array_equal(values, before)  # input not mutated
    assert out.dtype == values.dtype and out.shape == values.shape
    assert (out != 0).all()
    _check_nearest(values, out, inv, spacing)


def test_fill_small_literal():
    labels = np.array(
        [
            [1, 1, 0, 2, 2],
            [1, 0, 0, 0, 2],
            [1, 1, 0, 2, 2],
        ],
        dtype=np.uint8,
    )
    out = fill_nearest(labels)
    assert out.dtype == np.uint8
    assert out[0].tolist()[:2] == [1, 1] and out[0, 3:].tolist() == [2, 2]
    assert out[1, 1] == 1 and out[1, 3] == 2  # direct neighbours win
    assert set(np.unique(out)) == {1, 2}


@pytest.mark.parametrize("channel_axis", [-1, 0, 2])
def test_fill_rgb_only_existing_colours(channel_axis):
    rng = np.random.default_rng(5)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [10, 20, 30]], np.uint8)
    lab = rng.integers(1, 4, (20, 24))
    lab[_blobs(lab.shape, 0.3, rng, 1.5)] = 0
    rgb = palette[lab]
    filled_lab = fill_nearest(lab)
    rgb_in = np.moveaxis(rgb, -1, channel_axis)
    out = fill_nearest(rgb_in, invalid=[0, 0, 0], channel_axis=channel_axis)
    out_last = np.moveaxis(out, channel_axis, -1)
    assert out.shape == rgb_in.shape and out.dtype == np.uint8
    # same fill as the label image (deterministic, same kernel)
    assert np.array_equal(out_last, palette[filled_lab])
    colours = {tuple(c) for c in out_last.reshape(-1, 3)}
    assert colours <= {tuple(c) for c in palette[1:]}


def test_fill_rgb_scalar_invalid_and_rgba():
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[:, :2] = [200, 10, 10, 255]
    rgba[:, 4] = [5, 5, 5, 255]
    out = fill_nearest(rgba, invalid=0, channel_axis=-1)
    assert (out[:, 2] == [200, 10, 10, 255]).all()
    assert (out[:, 3] == [5, 5, 5, 255]).all()


def test_invalid_mask_nan_and_values():
    x = np.array([[1.5, np.nan], [0.0, 2.0]])
    assert invalid_mask(x).tolist() == [[False, True], [True, False]]
    assert invalid_mask(x, invalid=2.0).tolist() == [[False, True], [False, True]]
    out = fill_nearest(x, invalid=-1)  # only the NaN is invalid
    assert out[0, 1] in (1.5, 2.0) and out[1, 0] == 0.0
    assert not np.isnan(out).any()
    # NaN as the invalid value works too; -1 in a uint8 image matches nothing
    assert invalid_mask(x, invalid=np.nan).sum() == 1
    assert not invalid_mask(np.zeros(3, np.uint8), invalid=-1).any()


def test_fill_nothing_invalid_returns_copy():
    x = np.arange(1, 7).reshape(2, 3)
    out = fill_nearest(x)
    assert np.array_equal(out, x) and out is not x


# ---------------------------------------------------------------- options


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("max_hole_size", [1, 4, 30])
def test_max_hole_size(connectivity, max_hole_size):
    rng = np.random.default_rng(9)
    labels = _unique_labels((40, 40), rng)
    inv = _blobs(labels.shape, 0.25, rng, 1.0)
    labels[inv] = 0
    out = fill_nearest(labels, max_hole_size=max_hole_size, connectivity=connectivity)
    lab, n = ndi.label(inv, ndi.generate_binary_structure(2, connectivity))
    sizes = np.bincount(lab.ravel())
    small = inv & (sizes[lab] <= max_hole_size)
    big = inv & ~small
    assert small.any() and big.any()
    assert np.array_equal(out[~inv], labels[~inv])
    assert (out[big] == 0).all()
    # small holes take the nearest valid pixel (big regions are not sources)
    _check_nearest(labels, out, small, (1.0, 1.0), sources=~inv)


def test_max_hole_size_border_rule_and_3d():
    labels = np.ones((6, 8), int)
    labels[0, 0] = 0  # a 1-pixel region touching the border: filled (size-only rule)
    labels[2:4, 3:5] = 0  # 4-pixel enclosed hole: kept with max_hole_size=3
    out = fill_nearest(labels, max_hole_size=3)
    assert out[0, 0] == 1 and (out[2:4, 3:5] == 0).all()
    vol = np.ones((5, 6, 7), int)
    vol[2, 3, 3] = 0
    vol[0:2, 0:2, 0:2] = 0
    out3 = fill_nearest(vol, max_hole_size=2)
    assert out3[2, 3, 3] == 1 and (out3[0:2, 0:2, 0:2] == 0).all()


@pytest.mark.parametrize("connectivity", [1, 2])
def test_hole_components_opencv_equals_scipy(connectivity):
    rng = np.random.default_rng(2)
    inv = rng.random((64, 70)) < 0.45
    a = _hole_components(inv, connectivity, 5, backend="opencv")
    b = _hole_components(inv, connectivity, 5, backend="scipy")
    assert a.any() and np.array_equal(a, b)


@pytest.mark.parametrize("spacing", [None, (1.0, 2.0)])
def test_max_distance(spacing):
    rng = np.random.default_rng(4)
    labels = rng.integers(1, 9, (40, 45))
    inv = _blobs(labels.shape, 0.4, rng, 3.0)
    labels[inv] = 0
    md = 2.5
    out = fill_nearest(labels, max_distance=md, spacing=spacing)
    dist = ndi.distance_transform_edt(inv, sampling=spacing)
    near = inv & (dist <= md)
    assert (out[inv & ~near] == 0).all()
    assert (out[near] != 0).all()
    full = fill_nearest(labels, spacing=spacing)
    assert np.array_equal(out[near], full[near])  # same sources as without the limit
    # boundary: distance exactly max_distance is filled
    line = np.array([5, 0, 0, 0, 0, 0, 0])
    assert fill_nearest(line, max_distance=3).tolist() == [5, 5, 5, 5, 0, 0, 0]
    assert fill_nearest(line, max_distance=0).tolist() == line.tolist()


def test_max_distance_with_big_regions_left_alone():
    labels = np.full((30, 30), 3)
    labels[:, :12] = 0  # big invalid region, not filled
    labels[20, 20] = 0  # speck, filled
    out = fill_nearest(labels, max_hole_size=10, max_distance=5)
    assert out[20, 20] == 3 and (out[:, :12] == 0).all()


@pytest.mark.parametrize("r", [1, 2, 3.5])
def test_dilate_invalid_matches_reference(r):
    rng = np.random.default_rng(12)
    labels = _unique_labels((30, 32), rng)
    inv = _blobs(labels.shape, 0.15, rng, 1.5)
    labels[inv] = 0
    out = fill_nearest(labels, dilate_invalid=r)
    grown = ndi.distance_transform_edt(~inv) <= r
    assert np.array_equal(out[~grown], labels[~grown])  # only within r of a hole changes
    assert (out != 0).all()
    _check_nearest(labels, out, grown, (1.0, 1.0))
    assert not np.array_equal(out, fill_nearest(labels))


def test_dilate_invalid_redraws_ragged_edge():
    # a hole whose rim holds stray labels: dilation re-draws the rim from the body
    labels = np.full((9, 9), 1)
    labels[3:6, 3:6] = 0
    labels[2, 4] = 7  # ragged edge pixel next to the hole
    assert 7 in fill_nearest(labels)
    out = fill_nearest(labels, dilate_invalid=1)
    assert 7 not in out and (out == 1).all()


def test_progress_callback():
    calls = []
    labels = np.ones((20, 20), int)
    labels[5:9, 5:9] = 0
    fill_nearest(labels, dilate_invalid=1, progress=lambda d, t: calls.append((d, t)))
    assert calls[0][0] == 0 and calls[-1][0] == calls[-1][1]
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        ({"max_hole_size": 0}, ValueError, "max_hole_size must be a positive"),
        ({"max_hole_size": -3}, ValueError, "max_hole_size must be a positive"),
        ({"max_distance": -1.0}, ValueError, "max_distance must be >= 0"),
        ({"spacing": (1.0,)}, ValueError, "one value per spatial axis"),
        ({"spacing": (1.0, 0.0)}, ValueError, "must be finite and > 0"),
        ({"spacing": (1.0, -2.0)}, ValueError, "must be finite and > 0"),
        ({"channel_axis": 2}, ValueError, "out of range"),
        ({"channel_axis": 0}, ValueError, "needs 3 or 4 channels"),
        ({"invalid": [0, 0, 0]}, ValueError, "single label value"),
        ({"dilate_invalid": -1}, ValueError, "dilate_invalid must be"),
        ({"connectivity": 3}, ValueError, "connectivity must be"),
    ],
)
def test_bad_options(kwargs, exc, match):
    labels = np.zeros((5, 6), int)
    labels[0, 0] = 1
    with pytest.raises(exc, match=match):
        fill_nearest(labels, **kwargs)


def test_bad_rgb_inputs():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0] = 9
    with pytest.raises(ValueError, match="one value per channel"):
        fill_nearest(rgb, invalid=[0, 0], channel_axis=-1)
    with pytest.raises(ValueError, match="needs 3 or 4 channels"):
        fill_nearest(np.zeros((4, 4, 5), np.uint8), channel_axis=-1)


def test_nothing_to_fill_from():
    labels = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="nothing to fill from"):
        fill_nearest(labels)
    with pytest.raises(ValueError, match="nothing to fill from"):
        nearest_valid_indices(np.ones((3, 3), bool))
    rgb = np.zeros((3, 3, 3), np.uint8)
    with pytest.raises(ValueError, match="nothing to fill from"):
        fill_nearest(rgb, invalid=[0, 0, 0], channel_axis=-1)
    one = np.zeros((5, 5), int)
    one[2, 2] = 4
    with pytest.raises(ValueError, match="smaller dilate_invalid"):
        fill_nearest(one, dilate_invalid=2)
    with pytest.raises(ValueError, match="nothing to fill from"):
        fill_nearest(np.full((3, 3), np.nan))


def test_fill_nearest_from_checks_mask():
    x = np.arange(6).reshape(2, 3)
    with pytest.raises(TypeError, match="boolean"):
        fill_nearest_from(x, x.astype(float))
    with pytest.raises(ValueError, match="spatial shape"):
        fill_nearest_from(x, np.zeros((3, 2), bool))
    off_palette = x % 2 == 1
    out = fill_nearest_from(x, off_palette)
    assert set(out[off_palette].tolist()) <= set(x[~off_palette].tolist())


# ---------------------------------------------------------------- remove_islands


def _check_islands(labels, out, min_size, connectivity):
    comp, sizes = _components(labels.astype(np.int64), connectivity)
    comp2, sizes2 = _components(out.astype(np.int64), connectivity)
    assert (sizes2 >= min_size).all()  # no small component remains
    kept = (sizes >= min_size)[comp]
    assert np.array_equal(out[kept], labels[kept])  # only removed pixels change
    assert set(np.unique(out)) <= set(np.unique(labels))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.sampled_from([(12, 13), (1, 25), (6, 7, 5)]),
    n_labels=st.integers(2, 5),
    min_size=st.integers(1, 9),
    connectivity=st.integers(1, 3),
    aniso=st.sampled_from([1.0, 2.0, 0.4]),
)
def test_remove_islands_property(seed, shape, n_labels, min_size, connectivity, aniso):
    rng = np.random.default_rng(seed)
    connectivity = min(connectivity, len(shape))
    labels = rng.integers(0, n_labels, shape).astype(np.int16)
    if seed % 2:
        labels = ndi.median_filter(labels, 2)
    spacing = (aniso,) + (1.0,) * (len(shape) - 1)
    comp, sizes = _components(labels.astype(np.int64), connectivity)
    before = labels.copy()
    if (sizes < min_size).all():
        with pytest.raises(ValueError, match="nothing to fill from"):
            remove_islands(labels, min_size=min_size, connectivity=connectivity)
        return
    out = remove_islands(labels, min_size=min_size, connectivity=connectivity, spacing=spacing)
    assert np.array_equal(labels, before) and out.dtype == labels.dtype
    _check_islands(labels, out, min_size, connectivity)


def test_remove_islands_literal_background_and_objects():
    labels = np.array(
        [
            [1, 1, 1, 0, 0, 0],
            [1, 0, 1, 0, 3, 0],
            [1, 1, 1, 0, 0, 0],
            [0, 0, 0, 0, 0, 0],
        ]
    )
    out = remove_islands(labels, min_size=2)
    expected = labels.copy()
    expected[1, 1] = 1  # background speck inside an object: takes the object
    expected[1, 4] = 0  # one-pixel object in the background: becomes background
    assert out.tolist() == expected.tolist()


def test_remove_islands_sliver_split_between_neighbours():
    labels = np.zeros((6, 9), int)
    labels[:, :4] = 1
    labels[:, 5:] = 2
    labels[:, 4] = 9  # 6-pixel sliver between two objects
    out = remove_islands(labels, min_size=7)
    assert 9 not in out and 0 not in out
    _check_islands(labels, out, 7, 1)


def test_remove_islands_iterates_when_refill_creates_small_component():
    # a realistic noisy image where the nearest refill leaves a few small pieces
    rng = np.random.default_rng(1)
    labels = ndi.median_filter(rng.integers(0, 5, (160, 160)), 5)
    calls = []
    out = remove_islands(labels, min_size=50, progress=lambda d, t: calls.append((d, t)))
    _check_islands(labels, out, 50, 1)
    assert calls[-1][0] == calls[-1][1] > 0


def test_remove_islands_rgb_matches_labels():
    rng = np.random.default_rng(8)
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255], [1, 2, 3]], np.uint8)
    lab = ndi.median_filter(rng.integers(0, 4, (30, 30)), 3)
    out_lab = remove_islands(lab, min_size=6)
    out_rgb = remove_islands(palette[lab], min_size=6, channel_axis=-1)
    assert np.array_equal(out_rgb, palette[out_lab])
    out_rgb0 = remove_islands(np.moveaxis(palette[lab], -1, 0), min_size=6, channel_axis=0)
    assert np.array_equal(np.moveaxis(out_rgb0, 0, -1), palette[out_lab])


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_components_match_skimage(connectivity):
    rng = np.random.default_rng(connectivity)
    for shape in [(15, 17), (6, 7, 8)]:
        if connectivity > len(shape):
            continue
        x = rng.integers(0, 3, shape)
        comp, sizes = _components(x.astype(np.int64), connectivity)
        ref = sk_label(x + 1, background=0, connectivity=connectivity)
        pairs = set(zip(comp.ravel().tolist(), ref.ravel().tolist(), strict=True))
        assert len(pairs) == len(sizes) == ref.max()  # same partition
        assert sizes.sum() == x.size


def test_remove_islands_bad_input():
    labels = np.array([[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="nothing to fill from"):
        remove_islands(labels, min_size=2)
    with pytest.raises(ValueError, match="min_size must be >= 1"):
        remove_islands(labels, min_size=0)
    with pytest.raises(TypeError, match="integer or boolean"):
        remove_islands(labels.astype(float), min_size=1)
    with pytest.raises(ValueError, match="connectivity"):
        remove_islands(labels, min_size=1, connectivity=3)
    assert np.array_equal(remove_islands(labels, min_size=1), labels)


@pytest.mark.parametrize("region", ["slab", "box"])
def test_crop_3d_exact(region):
    # a z-slab spanning y and x (crop offset is a pure shift) or an inner box
    rng = np.random.default_rng(21)
    shape = (14, 12, 13)
    inv = np.zeros(shape, bool)
    if region == "slab":
        inv[5:9] = rng.random((4, 12, 13)) < 0.9
    else:
        inv[4:9, 3:8, 6:11] = rng.random((5, 5, 5)) < 0.9
    values = _unique_labels(shape, rng)
    out = fill_nearest_from(values, inv, spacing=(2.0, 1.0, 1.0))
    assert np.array_equal(out[~inv], values[~inv])
    _check_nearest(values, out, inv, (2.0, 1.0, 1.0))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int64, np.bool_])
def test_invalid_mask_compiled_and_numpy_paths_agree(dtype):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 2, (9, 11, 3)).astype(dtype)
    colour = np.array([1, 0, 1]).astype(dtype)
    ref = np.all(rgb == colour, axis=-1)
    fast = invalid_mask(rgb, invalid=colour.tolist(), channel_axis=-1)  # compiled path
    slow = invalid_mask(np.asfortranarray(rgb), invalid=colour.tolist(), channel_axis=-1)
    assert ref.any() and np.array_equal(fast, ref) and np.array_equal(slow, ref)
    # a colour that the dtype cannot hold matches nothing
    assert not invalid_mask(rgb, invalid=[-1, 0, 1], channel_axis=-1).any()
    assert not invalid_mask(rgb, invalid=[0.5, 0, 1], channel_axis=-1).any()


def test_non_contiguous_input_and_infinite_max_distance():
    rng = np.random.default_rng(6)
    base = rng.integers(0, 4, (21, 17))
    view = base.T[::2]  # a strided view
    out = fill_nearest(view, max_distance=float("inf"))
    assert np.array_equal(out, fill_nearest(np.ascontiguousarray(view)))
    assert (out != 0).all() and np.array_equal(out[view != 0], view[view != 0])


def test_empty_arrays_and_neighbour_fallback():
    from napari_maskclean.core.holes import _neighbour_sources

    assert fill_nearest(np.zeros((0, 5), int)).shape == (0, 5)
    idx, d2 = nearest_valid_indices(np.zeros((0, 3), bool))
    assert idx.shape == (2, 0, 3) and d2.shape == (0, 3)
    assert remove_islands(np.zeros((0, 4), int), min_size=3).shape == (0, 4)
    small = np.array([[False, True, True], [True, True, False]])
    tgt, src = _neighbour_sources(small)
    # each returned target is small and its source is a kept face neighbour
    assert set(tgt.tolist()) == {1, 2, 3, 4}
    for t, s in zip(tgt, src, strict=True):
        (ty, tx), (sy, sx) = np.unravel_index(t, small.shape), np.unravel_index(s, small.shape)
        assert small[ty, tx] and not small[sy, sx] and abs(ty - sy) + abs(tx - sx) == 1


@pytest.mark.parametrize(
    "shape,spacing,kwargs",
    [
        ((64, 70), (1.0, 1.0), {}),
        ((64, 70), (1.0, 2.5), {"max_distance": 3.0}),
        ((9, 10, 11), (2.0, 1.0, 0.75), {}),
        ((300,), (1.0,), {}),
    ],
)
def test_chunked_on_threads_equals_one_thread(shape, spacing, kwargs):
    """The kernels split rows/columns across threads: same result, still exact."""
    from unittest import mock

    import napari_maskclean.core._parallel as par

    rng = np.random.default_rng(5)
    inv = rng.random(shape) < 0.6
    inv.flat[0] = False
    values = _unique_labels(shape, rng)
    values[inv] = 0
    rgb = np.stack([values % 251, values // 251 % 251, np.full_like(values, 7)], -1).astype(
        np.uint8)
    rgb[inv] = 0
    with mock.patch.object(par, "MIN_PARALLEL_WORK", 10**12):
        one = fill_nearest(values, spacing=spacing, **kwargs)
        one_rgb = fill_nearest(rgb, channel_axis=-1, spacing=spacing, **kwargs)
    with (mock.patch.object(par, "MIN_PARALLEL_WORK", 0),
          mock.patch.object(par, "usable_cpus", lambda: 3)):
        many = fill_nearest(values, spacing=spacing, **kwargs)
        many_rgb = fill_nearest(rgb, channel_axis=-1, spacing=spacing, **kwargs)
    np.testing.assert_array_equal(many, one)
    np.testing.assert_array_equal(many_rgb, one_rgb)
    if not kwargs:
        _check_nearest(values, many, inv, spacing)


def test_dilation_does_not_depend_on_a_far_invalid_pixel():
    """The crop around the targets must reach the exact dilation distance despite rounding."""
    a = np.ones(60, np.int32)
    a[20:] = 2
    a[0] = 0  # the target
    a[27] = 3  # exactly dilate_invalid away (27 * 0.09)
    b = a.copy()
    b[59] = 0  # a far target that widens the crop
    kw = dict(spacing=0.09, dilate_invalid=27 * 0.09)
    np.testing.assert_array_equal(fill_nearest(a, **kw)[:31], fill_nearest(b, **kw)[:31])
