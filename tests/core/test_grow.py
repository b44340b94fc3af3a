"""Tests of click-to-segment (core/grow.py, core/grow_rules.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.grow import (
    ClickSegmenter,
    grow_objects,
    grow_region,
    refine_region,
)

RULES = ["contrast", "adaptive", "edge"]


def disk(shape, centre, radius):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius**2


def core_rim_disk(shape=(80, 80), centre=(40, 40), rim=80.0):
    """A nucleus with a bright core (200) and a dim rim (80: 37 % of the contrast) on 10."""
    img = np.full(shape, 10.0)
    img[disk(shape, centre, 14)] = rim
    img[disk(shape, centre, 6)] = 200
    return img, disk(shape, centre, 14)


def iou(a, b):
    return (a & b).sum() / (a | b).sum()


@pytest.mark.parametrize("rule", ["contrast", "edge"])
def test_bright_core_and_dim_rim_are_one_object(rule):
    # The contrast rule keeps a rim brighter than its level (0.45 of the way from
    # background to core); the edge rule keeps a rim that stands out from the
    # background by more than 30 % of the core's contrast (here 37 %), even
    # though the core's edge is the stronger one.
    img, truth = core_rim_disk(rim=140.0 if rule == "contrast" else 80.0)
    res = grow_region(img, (40, 40), rule=rule)
    assert not res.leaked
    assert iou(res.mask(), truth) > 0.9


def test_adaptive_grows_over_a_smooth_object():
    img, truth = core_rim_disk()
    img = np.where(truth, 100.0, 10.0)
    res = grow_region(img, (40, 40), rule="adaptive")
    assert iou(res.mask(), truth) > 0.9


def test_the_flood_it_replaces_stops_at_the_core():
    # The reason for the new rules: a 10 % relative tolerance flood keeps only the core.
    from napari_maskclean.core.region import flood_mask

    img, truth = core_rim_disk()
    flood = flood_mask(img, [(40, 40)], tolerance=0.1, relative=True)
    assert iou(flood, truth) < 0.3


def two_touching_blobs():
    shape = (60, 90)
    yy, xx = np.mgrid[:60, :90]
    img = 200 * np.exp(-((yy - 30) ** 2 + (xx - 30) ** 2) / 200.0)
    img = np.maximum(img, 200 * np.exp(-((yy - 30) ** 2 + (xx - 56) ** 2) / 200.0))
    return img + 5, shape


@pytest.mark.parametrize("rule", RULES)
def test_touching_blobs_clicked_separately_never_merge(rule):
    img, _ = two_touching_blobs()
    labels, results = grow_objects(img, [(30, 30), (30, 56)], rule=rule)
    assert labels[30, 30] == 1 and labels[30, 56] == 2
    a, b = labels == 1, labels == 2
    assert a.sum() > 100 and b.sum() > 100
    assert not (a & b).any()
    # The split is at the valley between the blobs (x = 43), give or take 2 pixels.
    assert a[30, :41].all() or rule == "adaptive" or a[30, 25:41].all()
    assert not a[30, 46:].any() and not b[30, :41].any()


def test_edge_rule_with_clicks_in_order_keeps_first_object():
    img, _ = two_touching_blobs()
    seg = ClickSegmenter(img, rule="contrast")
    first = seg.add_object((30, 30))
    assert first.object_id == 1
    seg.add_object((30, 56))
    # The second click took back its own blob from the first object.
    assert seg.labels[30, 56] == 2 and seg.labels[30, 30] == 1
    assert not (seg.labels[30, 50:] == 1).any()


def test_leak_is_stopped_and_reported():
    # A seed on a faint ridge joined to a huge bright plateau: the region exceeds max_size.
    img = np.zeros((200, 200))
    img[:, 100:] = 100.0  # half the image is "object"
    res = grow_region(img, (100, 150), rule="contrast", max_size=2000)
    assert res.leaked
    assert "max_size" in res.reason or "window" in res.reason
    # It was stopped, not flooded over the image.
    assert res.mask().sum() < 200 * 100


def test_leaked_region_is_not_written():
    img = np.zeros((200, 200))
    img[:, 100:] = 100.0
    seg = ClickSegmenter(img, rule="contrast", max_size=2000)
    res = seg.add_object((100, 150))
    assert res.leaked and not seg.labels.any()


@pytest.mark.parametrize("rule", RULES)
def test_3d_blob(rule):
    shape = (30, 40, 40)
    truth = disk(shape, (15, 20, 20), 7)
    rng = np.random.default_rng(0)
    img = np.where(truth, 120.0, 20.0) + rng.normal(0, 3, shape)
    res = grow_region(img, (15, 20, 20), rule=rule)
    assert not res.leaked
    assert iou(res.mask(), truth) > 0.85


def test_anisotropic_spacing_is_accepted():
    shape = (10, 40, 40)
    truth = np.zeros(shape, bool)
    truth[3:7] = disk((40, 40), (20, 20), 8)
    img = np.where(truth, 100.0, 10.0)
    res = grow_region(img, (5, 20, 20), spacing=(4, 1, 1))
    assert iou(res.mask(), truth) > 0.85


def test_refine_adds_what_belongs_and_removes_what_does_not():
    img, truth = core_rim_disk()
    rough = disk(truth.shape, (40, 40), 9)  # too small: the rim is missing
    rough[5:9, 5:9] = True  # and a stray patch in the background
    res = refine_region(img, rough, (40, 40))  # the default rule keeps the dim rim
    new = res.mask()
    assert iou(new, truth) > 0.9
    assert not new[5:9, 5:9].any()


def test_refine_respects_other_labels():
    img, truth = core_rim_disk()
    others = np.zeros(truth.shape, np.int32)
    others[40:, :] = 7
    res = refine_region(img, disk(truth.shape, (35, 40), 5), (35, 40), labels=others)
    assert not res.mask()[40:].any()


def test_add_seed_unions_into_the_same_object():
    img = np.full((50, 100), 5.0)
    img[disk(img.shape, (25, 20), 8)] = 100
    img[disk(img.shape, (25, 75), 8)] = 100
    seg = ClickSegmenter(img)
    seg.add_object((25, 20))
    seg.add_seed(1, (25, 75))
    assert set(np.unique(seg.labels)) == {0, 1}
    assert seg.labels[25, 20] == 1 and seg.labels[25, 75] == 1


def test_input_not_mutated_and_errors_are_clear():
    img, _ = core_rim_disk()
    before = img.copy()
    grow_region(img, (40, 40))
    np.testing.assert_array_equal(img, before)
    with pytest.raises(ValueError, match="outside the image"):
        grow_region(img, (400, 40))
    with pytest.raises(ValueError, match="rule must be one of"):
        grow_region(img, (40, 40), rule="magic")
    with pytest.raises(ValueError, match="level must be"):
        grow_region(img, (40, 40), level=1.5)
    with pytest.raises(ValueError, match="2D or 3D"):
        grow_region(np.zeros((4, 4, 4, 4)), (1, 1, 1, 1))
    with pytest.raises(TypeError, match="grey"):
        grow_region(np.zeros((4, 4), complex), (1, 1))


def test_dark_objects_with_auto_polarity():
    img, truth = core_rim_disk()
    res = grow_region(255 - img, (40, 40))
    assert iou(res.mask(), truth) > 0.9


# ------------------------------------------------------------ properties
blob_params = st.tuples(st.integers(8, 40), st.integers(8, 40), st.integers(3, 7),
                        st.integers(0, 10_000))


def random_blobs(seed):
    rng = np.random.default_rng(seed)
    img = rng.normal(20, 5, (48, 48))
    centres = [tuple(rng.integers(8, 40, 2)) for _ in range(3)]
    for c in centres:
        img[disk(img.shape, c, int(rng.integers(3, 8)))] += rng.uniform(40, 150)
    return img, centres


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(RULES))
def test_region_contains_the_seed(seed, rule):
    img, centres = random_blobs(seed)
    res = grow_region(img, centres[0], rule=rule)
    assert res.mask()[centres[0]]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(RULES))
def test_objects_are_disjoint_and_keep_their_seed(seed, rule):
    img, centres = random_blobs(seed)
    centres = list(dict.fromkeys(centres))
    labels, results = grow_objects(img, centres, rule=rule)
    for k, (c, r) in enumerate(zip(centres, results), start=1):
        if not r.leaked:
            # Each object is where the labels say (one value per pixel: disjoint by
            # construction); an object's own seed is never given to another object.
            assert labels[c] in (0, k)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.01, 1000.0), st.floats(-500, 500))
def test_contrast_rule_independent_of_intensity_scaling(seed, scale, offset):
    img, centres = random_blobs(seed)
    a = grow_region(img, centres[0], rule="contrast").mask()
    b = grow_region(img * scale + offset, centres[0], rule="contrast").mask()
    # Affine rescaling leaves every level at the same place (float rounding aside).
    assert (a ^ b).sum() <= max(2, 0.01 * a.sum())


def test_uint8_and_float_give_the_same_region():
    img, _ = core_rim_disk()
    a = grow_region(img.astype(np.uint8), (40, 40)).mask()
    b = grow_region(img.astype(np.float64) / 255, (40, 40)).mask()
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------ real data
def _stardist_2d():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("stardist")
    if spec is None:
        pytest.skip("the stardist package (bundled DSB nuclei) is not installed")
    tifffile = pytest.importorskip("tifffile")
    root = Path(next(iter(spec.submodule_search_locations))) / "data" / "images"
    return tifffile.imread(root / "img2d.tif"), tifffile.imread(root / "mask2d.tif")


def test_real_nuclei_one_click_each():
    from scipy import ndimage as ndi

    img, gt = _stardist_2d()
    ids, seeds = [], []
    for i, box in enumerate(ndi.find_objects(gt), start=1):
        if box is None:
            continue
        d = ndi.distance_transform_edt(np.pad(gt[box] == i, 1))
        p = np.unravel_index(int(np.argmax(d)), d.shape)
        ids.append(i)
        seeds.append(tuple(int(c - 1 + b.start) for c, b in zip(p, box)))
    labels, _ = grow_objects(img, seeds)
    ious = np.array([iou(labels == k, gt == i) for k, i in enumerate(ids, start=1)])
    # The targets (>= 80 %, median >= 0.8); the tolerance flood: 65 %, 0.59.
    assert (ious >= 0.5).mean() >= 0.8
    assert np.median(ious) >= 0.8
    # Each object clicked alone (its touching neighbours unclicked): measured 92 %, 0.84.
    alone = np.array([iou(grow_region(img, s).mask(), gt == i) for s, i in zip(seeds, ids)])
    assert (alone >= 0.5).mean() >= 0.8
    assert np.median(alone) >= 0.8


def test_lone_click_does_not_swallow_a_touching_neighbour():
    # Two equally bright nuclei overlapping along a wide, shallow neck (no dark
    # valley, the distance transform dips by only 18 %): a lone click must still
    # stop near the contact line (the neighbour's distance-transform peak competes),
    # as real touching nuclei need.
    img = np.full((80, 110), 10.0)
    a, b = disk(img.shape, (40, 35), 16), disk(img.shape, (40, 53), 16)
    img[a | b] = 150.0
    img += np.random.default_rng(1).normal(0, 3, img.shape)
    own = (a | b) & (np.arange(110) < 44)  # the half on the click's side of the contact
    res = grow_region(img, (40, 35))
    m = res.mask()
    assert not res.leaked
    assert iou(m, own) > 0.8
    assert (m & b & ~a).sum() < 0.1 * (b & ~a).sum()


def test_auto_sigma_smooths_more_where_the_image_is_noisier():
    rng = np.random.default_rng(0)
    img = np.full((100, 100), 20.0)
    img[disk(img.shape, (50, 50), 12)] = 120.0
    clean = ClickSegmenter(img + rng.normal(0, 2, img.shape))
    clean.add_object((50, 50))
    noisy = ClickSegmenter(img + rng.normal(0, 20, img.shape))
    noisy.add_object((50, 50))
    assert clean.sigma == 1.0
    assert noisy.sigma > 1.5
    fixed = ClickSegmenter(img, sigma=0.5)
    fixed.add_object((50, 50))
    assert fixed.sigma == 0.5


@pytest.mark.parametrize("rule", RULES)
def test_only_the_ratio_of_the_pixel_sizes_matters(rule):
    # A layer's scale in microns must not change what a click grows (the edge
    # rule's band was in physical units: at 0.5 um/px it became 6 px wide).
    img, _ = two_touching_blobs()
    ref, _ = grow_objects(img, [(30, 30), (30, 56)], rule=rule)
    for spacing in ((0.5, 0.5), (3.0, 3.0)):
        out, _ = grow_objects(img, [(30, 30), (30, 56)], rule=rule, spacing=spacing)
        np.testing.assert_array_equal(out, ref)


# ------------------------------------------------------------ 3D: flank clicks, stacks
def ellipsoid(shape, centre, radii):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1


def flat_nuclei_in_a_row():
    """Three flat nuclei (4 x 10 x 12 radii) touching in a row, blurred more along z."""
    from scipy import ndimage as ndi

    shape = (16, 40, 90)
    objs = [ellipsoid(shape, (8, 20, x), (4, 10, 12)) for x in (20, 44, 68)]
    img = np.full(shape, 20.0)
    for o in objs:
        img[o] = 200.0
    img = ndi.gaussian_filter(img, (1.5, 1, 1))
    return img + np.random.default_rng(0).normal(0, 3, shape), objs


@pytest.mark.parametrize("click", [(8, 13, 44), (8, 12, 40), (6, 13, 44), (8, 20, 36)])
def test_3d_click_on_the_flank_of_a_flat_nucleus(click):
    # A click 2-3 voxels inside the rim of a flat nucleus, among touching neighbours
    # (as the benchmark's innermost voxel of a nucleus cut by the volume's border):
    # the click's marker sat on the steep flank and the neighbours' markers, in flat
    # cores, flooded the nucleus first (IoU 0.00-0.02 before; 0.85 at the centre).
    img, objs = flat_nuclei_in_a_row()
    res = grow_region(img, click)
    assert not res.leaked
    assert iou(res.mask(), objs[1]) > 0.8
    # Clicked after its neighbours (as in the dock), it is the same object.
    labels, _ = grow_objects(img, [(8, 20, 20), (8, 20, 68), click])
    assert iou(labels == 3, objs[1]) > 0.8


@pytest.mark.parametrize("upper", [200.0, 170.0])
def test_3d_nuclei_stacked_along_z_are_separated(upper):
    # Two flat nuclei stacked along the optical axis, one voxel apart: the axial blur
    # leaves a shallow dip and no neck, so only their brightness separates them. A
    # lone click on the lower one took 87-89 % of the upper one before.
    from scipy import ndimage as ndi

    shape = (26, 40, 40)
    lower = ellipsoid(shape, (7, 20, 20), (4.5, 11, 11))
    upper_obj = ellipsoid(shape, (17, 20, 20), (4.5, 11, 11))
    img = np.full(shape, 20.0)
    img[lower] = 200.0
    img[upper_obj] = upper
    img = ndi.gaussian_filter(img, (2.0, 1.0, 1.0))
    img += np.random.default_rng(0).normal(0, 3, shape)
    m = grow_region(img, (7, 20, 20)).mask()
    assert (m & upper_obj).sum() < 0.1 * upper_obj.sum()
    assert iou(m, lower) > 0.65


def test_2d_textured_nucleus_is_not_cut_at_its_bright_spots():
    # Bright peaks compete only in volumes: in a plane, two bright lobes inside one
    # nucleus are texture, not two nuclei (touching nuclei in a plane show a neck).
    from scipy import ndimage as ndi

    shape = (80, 80)
    nucleus = ellipsoid(shape, (40, 40), (10, 28))
    yy, xx = np.mgrid[:80, :80]
    bumps = sum(60 * np.exp(-((yy - 40) ** 2 + (xx - x) ** 2) / 72.0) for x in (22, 58))
    img = np.where(nucleus, 150.0 + bumps, 20.0)
    img = ndi.gaussian_filter(img, 1.0) + np.random.default_rng(0).normal(0, 3, shape)
    assert iou(grow_region(img, (40, 40)).mask(), nucleus) > 0.85


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 3))
def test_click_marker_descends_and_stays_nearer_the_click(seed, ndim):
    # The path that extends the click's marker goes strictly downhill on the
    # landscape, inside the extent, and never nearer to another click than to its own.
    from napari_maskclean.core.grow_rules import _descent

    rng = np.random.default_rng(seed)
    shape = (12,) * ndim
    land = rng.random(shape)
    obj = rng.random(shape) < 0.8
    start = tuple(int(v) for v in rng.integers(0, 12, ndim))
    obj[start] = True
    rivals = [tuple(int(v) for v in rng.integers(0, 12, ndim)) for _ in range(2)]
    spacing = (2.0,) + (1.0,) * (ndim - 1)
    path = _descent(land, start, obj, rivals, spacing)
    assert path[0] == start
    sp = np.asarray(spacing)
    for a, b in zip(path, path[1:]):
        assert land[b] < land[a] and obj[b]
        assert max(abs(x - y) for x, y in zip(a, b)) == 1
    for p in path[1:]:
        own = np.linalg.norm((np.asarray(p) - start) * sp)
        assert all(np.linalg.norm((np.asarray(p) - r) * sp) > own for r in rivals)
