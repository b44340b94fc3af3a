"""Tests for napari_maskclean.core.morphology."""

import doctest
import importlib

import numpy as np
import pytest
import scipy.ndimage as ndi
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage import morphology as skm

from napari_maskclean.core.morphology import (
    FOOTPRINTS,
    OPERATIONS,
    _morphology,
    make_footprint,
    morphology,
)

SIZE_OPS = ("fill_holes", "remove_small_objects", "remove_small_holes")
FP_OPS = tuple(op for op in OPERATIONS if op not in SIZE_OPS)


# --------------------------------------------------------------------------
# independent references (scikit-image / SciPy, whole image, no crops)
# --------------------------------------------------------------------------


def ref_binary(m, op, fp, min_size=64, max_size=64):
    """Reference binary op built from scikit-image (mode='ignore') and SciPy."""
    if op == "erode":
        return skm.erosion(m, fp, mode="ignore")
    if op == "dilate":
        return skm.dilation(m, fp, mode="ignore")
    if op == "open":
        return skm.dilation(skm.erosion(m, fp, mode="ignore"), fp, mode="ignore")
    if op == "close":
        return skm.erosion(skm.dilation(m, fp, mode="ignore"), fp, mode="ignore")
    if op == "fill_holes":
        return ndi.binary_fill_holes(m)
    if op == "remove_small_objects":
        if min_size == 0:
            return m.copy()
        return skm.remove_small_objects(m, max_size=min_size - 1)
    if op == "remove_small_holes":
        holes = ndi.binary_fill_holes(m) & ~m
        lab, _ = ndi.label(holes)
        sizes = np.bincount(lab.ravel())
        small = sizes < max_size
        small[0] = False
        return m | small[lab]
    if op == "smooth":

        def vote(values):
            inside = values >= 0
            fg = (values == 1).sum()
            return 2 * fg > inside.sum()

        more = ndi.generic_filter(m.astype(float), vote, footprint=fp, mode="constant", cval=-1)
        tie = ndi.generic_filter(
            m.astype(float),
            lambda v: 2 * (v == 1).sum() == (v >= 0).sum(),
            footprint=fp,
            mode="constant",
            cval=-1,
        )
        return np.where(tie.astype(bool), m, more.astype(bool))
    raise AssertionError(op)


def ref_per_label(labels, op, fp, **kw):
    """Each label on the whole image; writes only to bg/own; lowest id wins."""
    out = labels.copy()
    claim = np.zeros(labels.shape, dtype=np.int64)
    for k in sorted(set(np.unique(labels)) - {0}):
        m = labels == k
        res = ref_binary(m, op, fp, **kw)
        out[m & ~res] = 0
        grab = res & (labels == 0) & (claim == 0)
        claim[grab] = k
    out[claim > 0] = claim[claim > 0]
    return out


def ref_mode(labels, fp):
    """Brute-force mode filter: keep on tie, else the lowest most-frequent value."""
    pad = [(s // 2, s // 2) for s in fp.shape]
    padded = np.pad(labels.astype(np.int64), pad, constant_values=-1)
    out = labels.copy()
    offs = np.argwhere(fp) - np.array([s // 2 for s in fp.shape])
    for idx in np.ndindex(labels.shape):
        vals = [padded[tuple(np.array(idx) + o + [p[0] for p in pad])] for o in offs]
        vals = np.array([v for v in vals if v >= 0])
        uniq, cnt = np.unique(vals, return_counts=True)
        best = cnt.max()
        own = cnt[uniq == labels[idx]]
        if own.size and own[0] == best:
            continue
        out[idx] = uniq[cnt == best].min()
    return out


def random_labels(rng, shape, n=5, density=0.5, dtype=np.int32):
    lab = rng.integers(1, n + 1, size=shape) * (rng.random(shape) < density)
    return lab.astype(dtype)


def blob_labels(rng, shape, n=6, dtype=np.int32):
    """Touching smooth blobs (more realistic than salt noise)."""
    field = ndi.gaussian_filter(rng.random(shape), 1.5)
    fg = field > np.quantile(field, 0.45)
    seeds = np.zeros(shape, dtype=np.int32)
    pts = tuple(rng.integers(0, s, n) for s in shape)
    seeds[pts] = np.arange(1, n + 1)
    _, idx = ndi.distance_transform_edt(seeds == 0, return_indices=True)
    lab = seeds[tuple(idx)] * fg
    return lab.astype(dtype)


# --------------------------------------------------------------------------
# small literal examples
# --------------------------------------------------------------------------


def test_erode_square_and_no_erosion_from_border():
    m = np.zeros((7, 7), bool)
    m[1:6, 1:6] = True
    out = morphology(m, "erode", radius=1, footprint="square")
    expected = np.zeros((7, 7), bool)
    expected[2:5, 2:5] = True
    np.testing.assert_array_equal(out, expected)
    full = np.ones((5, 6), bool)
    np.testing.assert_array_equal(morphology(full, "erode", radius=2), full)


def test_close_fills_gap_and_keeps_border_objects():
    m = np.zeros((7, 9), bool)
    m[2:5, 2:4] = m[2:5, 5:7] = True
    out = morphology(m, "close", radius=1, footprint="square")
    expected = np.zeros((7, 9), bool)
    expected[2:5, 2:7] = True
    np.testing.assert_array_equal(out, expected)
    # an object touching the border keeps its border pixels (SciPy's default
    # binary_closing would erode them away)
    b = np.zeros((8, 8), bool)
    b[:, :3] = True
    np.testing.assert_array_equal(morphology(b, "close", radius=2), b)
    assert not ndi.binary_closing(b, skm.disk(2))[:, 0].any()


def test_open_removes_spur():
    m = np.zeros((7, 9), bool)
    m[2:5, 1:4] = True
    m[3, 4:8] = True  # one-pixel spur
    out = morphology(m, "open", radius=1, footprint="square")
    expected = np.zeros((7, 9), bool)
    expected[2:5, 1:4] = True
    np.testing.assert_array_equal(out, expected)


def test_fill_holes_ignores_border_background():
    m = np.array(
        [
            [0, 0, 0, 0, 0, 0],
            [0, 1, 1, 1, 0, 0],
            [0, 1, 0, 1, 0, 1],
            [0, 1, 1, 1, 1, 0],
            [0, 0, 0, 0, 1, 0],
        ],
        bool,
    )
    out = morphology(m, "fill_holes")
    expected = m.copy()
    expected[2, 2] = True
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("size, kept", [(4, True), (3, False)])
def test_remove_small_objects_comparison(size, kept):
    m = np.zeros((3, 8), bool)
    m[1, 1 : 1 + size] = True
    m[0, 7] = True  # single pixel, always removed with min_size=4
    out = morphology(m, "remove_small_objects", min_size=4)
    assert out[1, 1] == kept
    assert not out[0, 7]
    # scikit-image 0.26 max_size removes sizes <= max_size: min_size=m <-> max_size=m-1
    np.testing.assert_array_equal(out, skm.remove_small_objects(m, max_size=3))


def test_remove_small_objects_uses_face_connectivity():
    m = np.array([[1, 0], [0, 1]], bool)
    assert not morphology(m, "remove_small_objects", min_size=2).any()


@pytest.mark.parametrize("hole, filled", [(3, True), (4, False)])
def test_remove_small_holes_comparison(hole, filled):
    m = np.ones((5, 8), bool)
    m[2, 2 : 2 + hole] = False
    out = morphology(m, "remove_small_holes", max_size=4)
    assert out[2, 2] == filled


def test_remove_small_holes_keeps_border_background_unlike_skimage():
    m = np.ones((6, 6), bool)
    m[0, 0] = False  # 1-pixel background touching the border: not a hole
    m[3, 3] = False  # enclosed 1-pixel hole
    out = morphology(m, "remove_small_holes", max_size=4)
    assert not out[0, 0] and out[3, 3]
    assert skm.remove_small_holes(m, max_size=3)[0, 0]  # skimage fills it


def test_smooth_majority():
    m = np.zeros((9, 9), bool)
    m[1:6, 1:6] = True
    m[3, 3] = False  # pinhole
    m[0, 8] = True  # isolated pixel in a corner: 1 of 4 in-image pixels
    out = morphology(m, "smooth", radius=1, footprint="square")
    assert out[3, 3]
    assert not out[0, 8]
    # a 3x3 window with exactly half foreground at the border keeps its value
    tie = np.array([[1, 0, 0, 0], [1, 0, 0, 0]], bool)  # (0, 0) sees 4 pixels, 2 set
    np.testing.assert_array_equal(morphology(tie, "smooth", radius=1, footprint="square"), tie)


def test_labels_dilate_lowest_id_wins_and_no_merge():
    lab = np.array([[3, 3, 0, 2, 2, 0, 0, 7]], np.uint16)
    out = morphology(lab, "dilate", radius=1, footprint="square")
    np.testing.assert_array_equal(out, [[3, 3, 2, 2, 2, 2, 7, 7]])
    swapped = np.where(lab == 3, 2, np.where(lab == 2, 3, lab)).astype(np.uint16)
    out2 = morphology(swapped, "dilate", radius=1, footprint="square")
    np.testing.assert_array_equal(out2, [[2, 2, 2, 3, 3, 3, 7, 7]])


def test_labels_close_never_merges_or_overwrites():
    lab = np.zeros((9, 12), np.int32)
    lab[2:7, 1:5] = 1
    lab[2:7, 6:10] = 2
    lab[4, 2] = 0  # a hole in label 1
    out = morphology(lab, "close", radius=2)
    assert out[4, 2] == 1
    np.testing.assert_array_equal(out[lab != 0], lab[lab != 0])
    assert out[4, 5] in (0, 1, 2)
    assert set(np.unique(out)) == {0, 1, 2}


def test_label_restricts_operation():
    lab = np.zeros((8, 8), np.uint8)
    lab[1:4, 1:4] = 1
    lab[5:8, 5:8] = 2
    out = morphology(lab, "dilate", radius=1, label=2, footprint="square")
    np.testing.assert_array_equal(out[lab == 1], 1)
    np.testing.assert_array_equal(out[:4], lab[:4])
    np.testing.assert_array_equal(out[:, :4], lab[:, :4])
    assert out[4, 4] == 2 and out[4, 7] == 2
    out = morphology(lab, "erode", radius=1, label=1, footprint="square")
    assert (out == 1).sum() == 1 and (out == 2).sum() == 9


def test_per_label_false_union_semantics():
    lab = np.zeros((5, 9), np.int32)
    lab[1:4, 1:4] = 1
    lab[1:4, 4:8] = 2
    # erosion of the union does not erode the shared 1|2 boundary
    out = morphology(lab, "erode", radius=1, footprint="square", per_label=False)
    assert out[2, 3] == 1 and out[2, 4] == 2
    per = morphology(lab, "erode", radius=1, footprint="square", per_label=True)
    assert per[2, 3] == 0 and per[2, 4] == 0
    # new pixels take the nearest label
    out = morphology(lab, "dilate", radius=1, footprint="square", per_label=False)
    assert out[0, 0] == 1 and out[0, 8] == 2 and out[4, 1] == 1 and out[4, 7] == 2


def test_mode_filter_labels_literal():
    lab = np.array(
        [
            [1, 1, 1, 2, 2],
            [1, 2, 1, 2, 2],
            [1, 1, 1, 2, 2],
        ],
        np.int32,
    )
    out = morphology(lab, "smooth", radius=1, footprint="square", per_label=False)
    assert out[1, 1] == 1  # lone 2 inside label 1 is voted out
    np.testing.assert_array_equal(out, ref_mode(lab, make_footprint("square", 1)))


@pytest.mark.parametrize("dtype", [bool, np.uint8, np.uint16, np.int32])
@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_dtype_shape_preserved_and_input_untouched(op, dtype, ndim):
    rng = np.random.default_rng(3)
    shape = (24, 26) if ndim == 2 else (8, 12, 13)
    x = (rng.random(shape) < 0.5) if dtype is bool else random_labels(rng, shape, dtype=dtype)
    before = x.copy()
    out = morphology(x, op, radius=1, min_size=4, max_size=4)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert out is not x
    np.testing.assert_array_equal(x, before)
    if dtype is not bool:
        assert set(np.unique(out)) <= set(np.unique(x))


def test_per_slice_matches_stacked_2d():
    rng = np.random.default_rng(4)
    vol = rng.random((4, 20, 21)) < 0.4
    out = morphology(vol, "close", radius=2, per_slice=True)
    for z in range(4):
        np.testing.assert_array_equal(out[z], morphology(vol[z], "close", radius=2))
    assert not np.array_equal(out, morphology(vol, "close", radius=2))
    lab = random_labels(rng, (3, 15, 16))
    out = morphology(lab, "dilate", radius=1, per_slice=True, label=2)
    for z in range(3):
        np.testing.assert_array_equal(out[z], morphology(lab[z], "dilate", radius=1, label=2))


def test_progress_reports():
    rng = np.random.default_rng(5)
    calls = []
    lab = random_labels(rng, (20, 20), n=4)
    morphology(lab, "close", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(i, 4) for i in range(1, 5)]
    calls.clear()
    morphology(
        rng.random((3, 10, 10)) < 0.5,
        "open",
        per_slice=True,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_footprint_names_map_between_dimensions():
    np.testing.assert_array_equal(make_footprint("disk", 2, 3), skm.ball(2).astype(bool))
    np.testing.assert_array_equal(make_footprint("ball", 2, 2), skm.disk(2).astype(bool))
    np.testing.assert_array_equal(make_footprint("cube", 1, 2), np.ones((3, 3), bool))
    np.testing.assert_array_equal(make_footprint("diamond", 2, 3), skm.octahedron(2).astype(bool))
    rng = np.random.default_rng(6)
    vol = rng.random((6, 9, 9)) < 0.5
    np.testing.assert_array_equal(
        morphology(vol, "dilate", footprint="disk"), morphology(vol, "dilate", footprint="ball")
    )
    img = vol[0]
    np.testing.assert_array_equal(
        morphology(img, "erode", footprint="octahedron"),
        morphology(img, "erode", footprint="diamond"),
    )
    fp = make_footprint("disk", 1)
    fp[1, 1] = False
    assert make_footprint("disk", 1)[1, 1]  # the cached footprint was not mutated
    assert set(FOOTPRINTS) == {"disk", "square", "diamond", "ball", "cube", "octahedron"}


def test_custom_footprint_list():
    rng = np.random.default_rng(7)
    m = rng.random((15, 15)) < 0.5
    cross = [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    np.testing.assert_array_equal(
        morphology(m, "dilate", footprint=cross), morphology(m, "dilate", footprint="diamond")
    )
    line = [[1, 1, 1, 1, 1]]
    np.testing.assert_array_equal(
        morphology(m, "erode", footprint=line), ref_binary(m, "erode", np.ones((1, 5), bool))
    )


def test_large_label_ids():
    rng = np.random.default_rng(8)
    small = blob_labels(rng, (30, 30), n=5)
    big = np.where(small > 0, small.astype(np.int64) * 10**9, 0)
    for op in ("close", "dilate", "smooth"):
        a = morphology(small, op, radius=2)
        b = morphology(big, op, radius=2)
        np.testing.assert_array_equal(np.where(a > 0, a.astype(np.int64) * 10**9, 0), b)


def test_empty_and_all_background():
    assert morphology(np.zeros((0, 5), bool), "close").shape == (0, 5)
    z = np.zeros((6, 6), np.int32)
    for op in OPERATIONS:
        np.testing.assert_array_equal(morphology(z, op), z)
        np.testing.assert_array_equal(morphology(z, op, per_label=False), z)


# --------------------------------------------------------------------------
# agreement with scikit-image / SciPy
# --------------------------------------------------------------------------


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("fp_name, radius", [("disk", 2), ("square", 1), ("diamond", 3)])
def test_binary_matches_reference_2d(op, fp_name, radius):
    rng = np.random.default_rng(10)
    m = ndi.gaussian_filter(rng.random((40, 37)), 1) > 0.5
    fp = make_footprint(fp_name, radius)
    out = morphology(m, op, radius=radius, footprint=fp_name, min_size=6, max_size=6)
    np.testing.assert_array_equal(out, ref_binary(m, op, fp, min_size=6, max_size=6))


@pytest.mark.parametrize("op", OPERATIONS)
def test_binary_matches_reference_3d(op):
    rng = np.random.default_rng(11)
    m = ndi.gaussian_filter(rng.random((10, 14, 15)), 1) > 0.5
    fp = make_footprint("ball", 1, 3)
    out = morphology(m, op, radius=1, footprint="ball", min_size=5, max_size=5)
    np.testing.assert_array_equal(out, ref_binary(m, op, fp, min_size=5, max_size=5))


@pytest.mark.parametrize("op", ["open", "close"])
def test_interior_matches_scipy_default(op):
    rng = np.random.default_rng(12)
    m = rng.random((60, 60)) < 0.5
    r = 3
    fp = skm.disk(r)
    ref = (ndi.binary_closing if op == "close" else ndi.binary_opening)(m, fp)
    out = morphology(m, op, radius=r)
    inner = (slice(2 * r, -2 * r),) * 2
    np.testing.assert_array_equal(out[inner], ref[inner])


def test_remove_small_holes_matches_skimage_when_border_is_foreground():
    rng = np.random.default_rng(13)
    m = rng.random((40, 40)) < 0.7
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = True
    np.testing.assert_array_equal(
        morphology(m, "remove_small_holes", max_size=5), skm.remove_small_holes(m, max_size=4)
    )


def test_label_remove_small_objects_matches_skimage():
    rng = np.random.default_rng(14)
    lab = np.zeros((40, 40), np.int32)
    for k in range(1, 9):
        y, x = rng.integers(0, 36, 2)
        h, w = rng.integers(1, 5, 2)
        lab[y : y + h, x : x + w][lab[y : y + h, x : x + w] == 0] = k
    # each label is a connected rectangle piece here only if not overlapped: keep connected ones
    lab = np.where(np.isin(lab, [k for k in range(1, 9) if ndi.label(lab == k)[1] == 1]), lab, 0)
    out = morphology(lab, "remove_small_objects", min_size=6)
    assert 0 < len(np.unique(out)) < len(np.unique(lab))
    np.testing.assert_array_equal(out, skm.remove_small_objects(lab, max_size=5))


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_per_label_matches_whole_image_reference(op, ndim):
    rng = np.random.default_rng(20 + ndim)
    shape = (30, 33) if ndim == 2 else (9, 13, 14)
    lab = blob_labels(rng, shape, n=6)
    lab[rng.random(shape) < 0.05] = 0  # pepper holes
    fp = make_footprint("disk", 1 if ndim == 3 else 2, ndim)
    r = 1 if ndim == 3 else 2
    out = morphology(lab, op, radius=r, min_size=5, max_size=5)
    np.testing.assert_array_equal(out, ref_per_label(lab, op, fp, min_size=5, max_size=5))


def test_mode_filter_matches_brute_force():
    rng = np.random.default_rng(30)
    lab = random_labels(rng, (14, 15), n=3, density=0.7)
    out = morphology(lab, "smooth", radius=1, per_label=False)
    np.testing.assert_array_equal(out, ref_mode(lab, make_footprint("disk", 1)))
    binary = (lab > 0).astype(np.uint8)
    np.testing.assert_array_equal(
        morphology(binary, "smooth", per_label=False),
        morphology(binary > 0, "smooth").astype(np.uint8),
    )


def test_union_new_pixels_take_nearest_label():
    rng = np.random.default_rng(31)
    lab = random_labels(rng, (25, 25), n=4, density=0.15)
    out = morphology(lab, "dilate", radius=2, per_label=False)
    new = (out > 0) & (lab == 0)
    dist = ndi.distance_transform_edt(lab == 0)
    assert new.any()
    for y, x in zip(*np.nonzero(new), strict=True):
        ys, xs = np.nonzero(lab == out[y, x])
        assert np.isclose(np.hypot(ys - y, xs - x).min(), dist[y, x])


# --------------------------------------------------------------------------
# results do not depend on the kernel
# --------------------------------------------------------------------------


KERNEL_CASES = [
    (op, ndim, radius, per_slice)
    for op in OPERATIONS
    for ndim, radius, per_slice in [(2, 1, False), (3, 2, False), (3, 2, True)]
] + [(op, 2, 15, False) for op in ("erode", "close", "smooth")]  # 31x31: OpenCV's DFT filter


@pytest.mark.parametrize("op, ndim, radius, per_slice", KERNEL_CASES)
@pytest.mark.parametrize("kind", ["bool", "labels", "union"])
def test_opencv_equals_scipy(op, ndim, radius, per_slice, kind):
    rng = np.random.default_rng(40)
    shape = (50, 61) if ndim == 2 else (10, 22, 23)
    if kind == "bool":
        x = rng.random(shape) < 0.5
    else:
        x = random_labels(rng, shape, n=5, density=0.6)
    kw = dict(
        radius=radius, per_label=kind == "labels", per_slice=per_slice, min_size=4, max_size=4
    )
    a = _morphology(x, op, backend="opencv", **kw)
    b = _morphology(x, op, backend="scipy", **kw)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

label_images = arrays(
    np.int32,
    st.tuples(st.integers(3, 14), st.integers(3, 14)),
    elements=st.integers(0, 4),
)
masks = arrays(bool, st.tuples(st.integers(3, 14), st.integers(3, 14)))
radii = st.integers(1, 3)
fp_names = st.sampled_from(["disk", "square", "diamond"])


@settings(max_examples=40, deadline=None)
@given(lab=label_images, radius=radii, fp=fp_names)
def test_prop_per_label_close_never_touches_other_labels(lab, radius, fp):
    if all(2 * radius + 1 > s for s in lab.shape):
        return
    out = morphology(lab, "close", radius=radius, footprint=fp)
    np.testing.assert_array_equal(out[lab != 0], lab[lab != 0])
    for k in range(1, 5):
        sel = (
            morphology(lab, "close", radius=radius, footprint=fp, label=k)
            if (lab == k).any()
            else lab
        )
        changed = sel != lab
        assert (lab[changed] == 0).all() and (sel[changed] == k).all()


@settings(max_examples=40, deadline=None)
@given(m=masks, radius=radii, fp=fp_names)
def test_prop_close_contains_open_contained(m, radius, fp):
    if all(2 * radius + 1 > s for s in m.shape):
        return
    assert (morphology(m, "close", radius=radius, footprint=fp) >= m).all()
    assert (morphology(m, "open", radius=radius, footprint=fp) <= m).all()
    assert (morphology(m, "erode", radius=radius, footprint=fp) <= m).all()
    assert (morphology(m, "fill_holes") >= m).all()


@settings(max_examples=30, deadline=None)
@given(
    lab=label_images,
    radius=radii,
    op=st.sampled_from(OPERATIONS),
    per_label=st.booleans(),
)
def test_prop_kernel_independent(lab, radius, op, per_label):
    if op in FP_OPS and all(2 * radius + 1 > s for s in lab.shape):
        return
    kw = dict(radius=radius, per_label=per_label, min_size=3, max_size=3)
    np.testing.assert_array_equal(
        _morphology(lab, op, backend="opencv", **kw), _morphology(lab, op, backend="scipy", **kw)
    )
    np.testing.assert_array_equal(
        _morphology(lab > 0, op, backend="opencv", **kw),
        _morphology(lab > 0, op, backend="scipy", **kw),
    )


# --------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(radius=0), "radius must be an integer >= 1"),
        (dict(radius=-2), "radius must be an integer >= 1"),
        (dict(radius=1.5), r"radius must be an integer >= 1, got 1.5 \(float\)"),
        (dict(radius=True), "radius must be an integer"),
        (dict(radius=40), r"larger than the image \(10, 12\) in every dimension; use radius <= 5"),
        (
            dict(radius=1, footprint=np.ones((13, 13))),
            "in every dimension; use a smaller footprint",
        ),
        (dict(footprint="circle"), "unknown footprint 'circle'; use one of disk, square"),
        (dict(footprint=np.ones((3, 3, 3))), "a 3D footprint cannot be used on 2D data"),
        (dict(footprint=[[1, 1]]), "odd size"),
        (dict(footprint=[[1, 1, 0]]), "point-symmetric"),
        (dict(footprint=[[2, 1, 2]]), "0 or 1"),
        (dict(min_size=-1), "min_size must be an integer >= 0"),
        (dict(max_size=2.5), "max_size must be an integer >= 0"),
        (dict(label=3), "label= selects one label of a label image"),
    ],
)
def test_bad_arguments(kwargs, match):
    m = np.zeros((10, 12), bool)
    m[4:6, 4:6] = True
    with pytest.raises(ValueError, match=match):
        morphology(m, "close", **kwargs)


def test_bad_operation_lists_names():
    with pytest.raises(ValueError, match="unknown operation 'closing'; use one of erode, dilate"):
        morphology(np.zeros((4, 4), bool), "closing")


def test_bad_labels():
    lab = np.zeros((6, 6), np.int32)
    lab[1, 1] = -1
    with pytest.raises(ValueError, match="negative labels, found -1"):
        morphology(lab, "close")
    with pytest.raises(ValueError, match=r"convert with mask.astype\(np.int32\)"):
        morphology(np.zeros((6, 6), np.float32), "close")
    with pytest.raises(TypeError, match="dtype complex"):
        morphology(np.zeros((6, 6), complex), "close")
    lab[1, 1] = 2
    with pytest.raises(ValueError, match="label 5 is not present"):
        morphology(lab, "dilate", label=5)
    with pytest.raises(ValueError, match="positive label id"):
        morphology(lab, "dilate", label=0)


@pytest.mark.parametrize("shape", [(10,), (2, 3, 4, 5)])
def test_bad_ndim(shape):
    with pytest.raises(ValueError, match="expected a 2D image or a 3D volume"):
        morphology(np.zeros(shape, bool), "dilate")


def test_bad_make_footprint_and_flags():
    with pytest.raises(ValueError, match="unknown footprint 'star'"):
        make_footprint("star", 1)
    with pytest.raises(ValueError, match="ndim must be 2 or 3"):
        make_footprint("disk", 1, ndim=4)
    with pytest.raises(TypeError, match="per_label must be True or False"):
        morphology(np.zeros((4, 4), np.uint8), "close", per_label="yes")


def test_footprint_exceeding_only_some_dimensions_is_fine():
    m = np.zeros((3, 40), bool)
    m[1, 5:30] = True
    out = morphology(m, "close", radius=5)
    np.testing.assert_array_equal(out, ref_binary(m, "close", skm.disk(5)))


def test_docstring_examples():
    # importlib: once core/__init__ re-exports the function `morphology`, the
    # attribute `napari_maskclean.core.morphology` is the function, not the module.
    module = importlib.import_module("napari_maskclean.core.morphology")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 5 and result.failed == 0
    # make_footprint (re-exported by morphology) lives in core.footprints.
    module = importlib.import_module("napari_maskclean.core.footprints")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 2 and result.failed == 0


@pytest.mark.parametrize("gap, filled", [(2, True), (3, False)])
def test_close_fills_border_gaps_up_to_radius(gap, filled):
    m = np.zeros((12, 12), bool)
    m[:, gap:8] = True
    out = morphology(m, "close", radius=2)
    np.testing.assert_array_equal(out[:, :gap], filled)


def test_per_slice_on_4d_processes_every_2d_slice():
    rng = np.random.default_rng(0)
    lab = (rng.random((2, 3, 20, 20)) < 0.3).astype(np.int32)
    got = morphology(lab, "close", radius=1, per_slice=True)
    for t in range(2):
        for z in range(3):
            np.testing.assert_array_equal(got[t, z], morphology(lab[t, z], "close", radius=1))
    with pytest.raises(ValueError, match="per_slice=True"):
        morphology(lab, "close", radius=1)


# --------------------------------------------------------------------------
# issue 9: distance-transform path for large disks / balls
# --------------------------------------------------------------------------

morph_mod = importlib.import_module("napari_maskclean.core.morphology")


@pytest.mark.parametrize("r", [*range(1, 41), 47, 60, 64])
def test_edt_disk_matches_opencv_kernel_every_radius(r):
    rng = np.random.default_rng(r)
    for p in (0.003, 0.08, 0.6, 0.98):
        m = rng.random((97, 131)) < p
        m[0, :7] = True  # objects on the border: outside pixels are ignored
        for op in ("erode", "dilate", "open", "close"):
            a = _morphology(m, op, radius=r, backend="opencv")
            b = _morphology(m, op, radius=r, backend="edt")
            np.testing.assert_array_equal(a, b, err_msg=f"{op} r={r} p={p}")


@settings(max_examples=40, deadline=None)
@given(
    m=arrays(bool, st.tuples(st.integers(1, 40), st.integers(1, 40))),
    r=st.integers(1, 19),
    op=st.sampled_from(["erode", "dilate", "open", "close"]),
)
def test_edt_disk_matches_opencv_hypothesis(m, r, op):
    if 2 * r + 1 > max(m.shape):
        r = max(1, (max(m.shape) - 1) // 2)
    if 2 * r + 1 > max(m.shape):
        return
    np.testing.assert_array_equal(
        _morphology(m, op, radius=r, backend="edt"), _morphology(m, op, radius=r, backend="opencv")
    )


@pytest.mark.parametrize("r", [1, 2, 3, 5, 8])
def test_edt_ball_matches_opencv_stack(r):
    rng = np.random.default_rng(r)
    for p in (0.01, 0.3, 0.9):
        m = rng.random((19, 23, 29)) < p
        for op in ("erode", "dilate", "open", "close"):
            np.testing.assert_array_equal(
                _morphology(m, op, radius=r, backend="opencv"),
                _morphology(m, op, radius=r, backend="edt"),
                err_msg=f"{op} r={r} p={p}",
            )


def test_edt_empty_and_full_masks():
    for m in (np.zeros((50, 60), bool), np.ones((50, 60), bool)):
        for op in ("erode", "dilate", "open", "close"):
            np.testing.assert_array_equal(
                _morphology(m, op, radius=25, backend="edt"),
                _morphology(m, op, radius=25, backend="opencv"),
            )


def test_auto_uses_edt_for_large_disks_only():
    m = np.zeros((200, 200), bool)
    r2 = morph_mod._EDT_MIN_RADIUS_2D
    fp = morph_mod._named_footprint("disk", r2, 2)
    assert morph_mod._pick(m, fp, "auto", edt_ok=True) == "edt"
    assert morph_mod._pick(m, morph_mod._named_footprint("disk", r2 - 1, 2), "auto", True) != "edt"
    square = morph_mod._named_footprint("square", r2, 2)
    assert morph_mod._pick(m, square, "auto", edt_ok=True) != "edt"
    assert morph_mod._pick(m, fp, "auto", edt_ok=False) != "edt"  # smooth counts pixels


def test_label_close_with_large_radius_uses_edt_and_matches():
    lab = np.zeros((120, 140), np.int32)
    lab[10:40, 10:40] = 1
    lab[60:100, 70:80] = 2
    lab[60:100, 90:100] = 2
    r = morph_mod._EDT_MIN_RADIUS_2D + 3
    for per_label in (True, False):
        np.testing.assert_array_equal(
            _morphology(lab, "close", radius=r, per_label=per_label, backend="auto"),
            _morphology(lab, "close", radius=r, per_label=per_label, backend="opencv"),
        )


def test_huge_radius_is_refused_before_building_the_footprint():
    m = np.zeros((20, 30), bool)
    with pytest.raises(ValueError, match=r"larger than the image \(20, 30\).*radius <= 14"):
        morphology(m, "close", radius=10**6)  # would allocate a 2e6^2 disk first
    with pytest.raises(ValueError, match=r"radius <= 14"):
        morphology(np.zeros((5, 20, 30), bool), "dilate", radius=10**5, per_slice=True)
