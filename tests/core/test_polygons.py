import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pycocotools import mask as mask_utils
from scipy import ndimage as ndi

import napari_maskclean.core.polygons as polygons_module
from napari_maskclean.core.polygons import (
    Polygon,
    check_ring,
    mask_to_polygons,
    polygons_to_mask,
    simplification_loss,
)


def _disk(r, n=100, hole=0):
    yy, xx = np.mgrid[:n, :n]
    d = (yy - n / 2) ** 2 + (xx - n / 2) ** 2
    return (d <= r * r) & (d >= hole * hole)


def test_pixel_edge_convention_matches_pycocotools():
    # a 3x3 square of pixels rows/cols 2..4 is the polygon (2, 2)-(5, 5)
    m = polygons_to_mask([[2, 2, 5, 2, 5, 5, 2, 5]], (8, 8))
    ref = mask_utils.decode(mask_utils.frPyObjects([[2, 2, 5, 2, 5, 5, 2, 5]], 8, 8))[..., 0]
    np.testing.assert_array_equal(m, ref.astype(bool))
    assert m.sum() == 9 and m[2:5, 2:5].all()


def _coco_fill(ring, shape):
    """Pixels pycocotools fills for one flat ring."""
    return mask_utils.decode(mask_utils.frPyObjects([list(ring)], *shape))[..., 0] > 0


def _coco_back(polys, shape):
    """The mask pycocotools gives back: each part's ring minus its own holes, united."""
    out = np.zeros(shape, bool)
    for p in polys:
        part = _coco_fill(p.exterior, shape)
        for hole in p.holes:
            part &= ~_coco_fill(hole, shape)
        out |= part
    return out


def _signed_area(ring):
    xy = np.asarray(ring, float).reshape(-1, 2)
    x, y = xy[:, 0], xy[:, 1]
    return (x @ np.roll(y, -1) - np.roll(x, -1) @ y) / 2


def _check_outline(ring, *, simple):
    """Vertices at pixel corners, axis-aligned edges, every vertex a turn."""
    xy = np.asarray(ring, float).reshape(-1, 2)
    assert len(xy) >= 4 and np.array_equal(xy, np.round(xy))
    step = np.roll(xy, -1, axis=0) - xy
    assert np.all((step[:, 0] == 0) != (step[:, 1] == 0))  # axis-aligned, no zero step
    turn = (
        step[:, 0] * np.roll(step, -1, axis=0)[:, 1] - step[:, 1] * np.roll(step, -1, axis=0)[:, 0]
    )
    assert np.all(turn != 0)  # collinear points merged
    if simple:
        assert len({tuple(v) for v in xy.tolist()}) == len(xy)  # no vertex passed twice
    check_ring(ring)  # no crossing


@pytest.mark.parametrize("r", [5, 15, 30, 40.5])
def test_round_trip_through_pycocotools_is_exact(r):
    m = _disk(r)
    polys = mask_to_polygons(m)
    assert len(polys) == 1 and polys[0].holes == []
    # what a COCO reader gets from the segmentation list [exterior]
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([polys[0].exterior], 100, 100)))
    np.testing.assert_array_equal(ref.astype(bool), m)
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    assert simplification_loss(m, 0) == 0
    _check_outline(polys[0].exterior, simple=True)


masks = hnp.arrays(
    bool,
    st.tuples(st.integers(1, 24), st.integers(1, 24)),
    elements=st.booleans(),
) | st.builds(
    lambda seed, h, w, p: np.random.default_rng(seed).random((h, w)) < p,
    st.integers(0, 2**32 - 1),
    st.integers(1, 40),
    st.integers(1, 40),
    st.floats(0.2, 0.8),
)


@settings(max_examples=60, deadline=None)
@given(m=masks, simple=st.booleans())
def test_random_masks_round_trip_exactly(m, simple):
    polys = mask_to_polygons(m, simple=simple)
    np.testing.assert_array_equal(_coco_back(polys, m.shape), m)
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    # one polygon per 4-connected part, each exactly that part; which
    # background is a hole of it: the 4-connected pieces it cuts off (simple
    # rings), or only the 8-connected background it encloses (simple=False,
    # the rest is in the ring: what COCO writers want)
    structure = None if simple else np.ones((3, 3), bool)
    lab, n = ndi.label(m)
    assert len(polys) == n
    for p in polys:
        outer = _coco_fill(p.exterior, m.shape)
        part = outer.copy()
        for hole in p.holes:
            part &= ~_coco_fill(hole, m.shape)
        label = lab[part][0]
        np.testing.assert_array_equal(part, lab == label)
        np.testing.assert_array_equal(outer, ndi.binary_fill_holes(lab == label, structure))
        assert _signed_area(p.exterior) > 0 and all(_signed_area(h) < 0 for h in p.holes)
        for ring in (p.exterior, *p.holes):
            _check_outline(ring, simple=simple)
    # parts in raster order of their first pixel
    firsts = [np.flatnonzero(polygons_to_mask([p], m.shape) & m)[0] for p in polys]
    assert firsts == sorted(firsts)
    if not simple and not any(p.holes for p in polys) and polys:
        coco = mask_utils.merge(mask_utils.frPyObjects([p.exterior for p in polys], *m.shape))
        np.testing.assert_array_equal(mask_utils.decode(coco).astype(bool), m)


@settings(max_examples=30, deadline=None)
@given(m=masks)
def test_holes_found_by_labelling_too(m):
    # the fallback used when there are very many (hole, part) pairs
    old = polygons_module._MAX_PAIRS
    polygons_module._MAX_PAIRS = 0
    try:
        fallback = mask_to_polygons(m)
    finally:
        polygons_module._MAX_PAIRS = old
    assert fallback == mask_to_polygons(m)


def test_corner_contacts():
    # two pixels touching at a corner: two unit squares touching at (2, 2)
    m = np.zeros((4, 4), bool)
    m[1, 1] = m[2, 2] = True
    polys = mask_to_polygons(m)
    assert [p.exterior for p in polys] == [[1, 1, 2, 1, 2, 2, 1, 2], [2, 2, 3, 2, 3, 3, 2, 3]]
    np.testing.assert_array_equal(_coco_back(polys, m.shape), m)
    # a diamond of four pixels around a background pixel: four squares, no hole
    d = np.zeros((5, 5), bool)
    d[1, 2] = d[2, 1] = d[2, 3] = d[3, 2] = True
    polys = mask_to_polygons(d)
    assert len(polys) == 4 and not any(p.holes for p in polys)
    np.testing.assert_array_equal(_coco_back(polys, d.shape), d)
    # a notch closed by a diagonal contact: a hole touching the outer ring at
    # (2, 1) (valid for shapely), or one ring through (2, 1) twice (simple=False)
    u = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 1]], bool)
    (p,) = mask_to_polygons(u)
    assert p.exterior == [0, 0, 2, 0, 2, 1, 3, 1, 3, 3, 0, 3]
    assert p.holes == [[2, 1, 1, 1, 1, 2, 2, 2]]
    (q,) = mask_to_polygons(u, simple=False)
    assert q.holes == [] and q.exterior == [
        0,
        0,
        2,
        0,
        2,
        1,
        1,
        1,
        1,
        2,
        2,
        2,
        2,
        1,
        3,
        1,
        3,
        3,
        0,
        3,
    ]
    for polys in ([p], [q]):
        np.testing.assert_array_equal(_coco_back(polys, u.shape), u)
        np.testing.assert_array_equal(polygons_to_mask(polys, u.shape), u)


def test_nested_parts_keep_their_own_holes():
    m = np.zeros((12, 12), bool)
    m[1:11, 1:11] = True
    m[3:9, 3:9] = False  # a hole
    m[4:8, 4:8] = True  # an island in it
    m[5:7, 5:7] = False  # with its own hole
    polys = mask_to_polygons(m)
    assert len(polys) == 2 and [len(p.holes) for p in polys] == [1, 1]
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    # polygons_to_mask subtracts each part's holes from that part only (the
    # island lies in the outer part's hole and must stay)
    outer = Polygon([0, 0, 6, 0, 6, 6, 0, 6], [[1, 1, 1, 5, 5, 5, 5, 1]])
    island = Polygon([2, 2, 4, 2, 4, 4, 2, 4], [])
    back = polygons_to_mask([outer, island], (6, 6))
    assert back[2:4, 2:4].all() and not back[1, 1] and back.sum() == 36 - 16 + 4


def test_holes_kept_and_subtracted():
    m = _disk(30, hole=8)
    polys = mask_to_polygons(m)
    assert len(polys) == 1 and len(polys[0].holes) == 1
    with_holes = polygons_to_mask(polys, m.shape)
    filled = polygons_to_mask(polys, m.shape, holes=False)
    assert not with_holes[50, 50] and filled[50, 50]
    np.testing.assert_array_equal(with_holes, m)
    np.testing.assert_array_equal(filled, ndi.binary_fill_holes(m))


def _distance_to_ring(points, ring):
    """Distance of each point to the closed polyline ``ring``."""
    a = np.asarray(ring, float).reshape(-1, 2)
    b = np.roll(a, -1, axis=0)
    ab = b - a
    t = np.clip(((points[:, None] - a) * ab).sum(-1) / (ab * ab).sum(-1), 0, 1)
    return np.linalg.norm(points[:, None] - (a + t[..., None] * ab), axis=-1).min(1)


@pytest.mark.parametrize("tol", [0.5, 1, 2, 3.5])
def test_simplification_is_bounded(tol):
    m = _disk(40, hole=12)
    exact = mask_to_polygons(m)
    simple = mask_to_polygons(m, tolerance=tol)
    assert len(simple) == len(exact) == 1 and len(simple[0].holes) == 1
    for ring, ring_s in zip(
        (exact[0].exterior, *exact[0].holes), (simple[0].exterior, *simple[0].holes)
    ):
        assert 3 <= len(ring_s) // 2 < len(ring) // 2
        # Douglas-Peucker: every dropped corner within tol of the simplified ring
        d = _distance_to_ring(np.asarray(ring, float).reshape(-1, 2), ring_s)
        assert d.max() <= tol + 1e-9
        check_ring(ring_s)
    loss = simplification_loss(m, tol)
    assert 0 <= loss < 0.05


def test_tolerance_reduces_points_and_loss_grows():
    m = _disk(40)
    n0 = len(mask_to_polygons(m)[0].exterior)
    n2 = len(mask_to_polygons(m, tolerance=2)[0].exterior)
    assert n2 < n0
    loss = simplification_loss([m, _disk(10, n=30)], [0, 1, 3])  # masks of any shapes
    assert loss.shape == (3, 2)
    assert np.all(loss[0] == 0)  # exact without simplification
    assert np.all(loss[2] >= loss[1]) and np.all(loss[1] > 0)
    assert np.all(loss < 0.5)
    # a ring simplified below 3 points is kept whole
    px = np.zeros((3, 3), bool)
    px[1, 1] = True
    assert mask_to_polygons(px, tolerance=5)[0].exterior == [1, 1, 2, 1, 2, 2, 1, 2]


def test_single_pixels_and_lines_are_exact():
    m = np.zeros((9, 12), bool)
    m[1, 1] = True
    m[3, 4:8] = True  # a horizontal one-pixel line
    m[2:8, 10] = True  # a vertical one
    m[[5, 6, 7], [2, 3, 4]] = True  # a diagonal one: three squares touching at corners
    polys = mask_to_polygons(m)
    exteriors = [p.exterior for p in polys]
    assert [1, 1, 2, 1, 2, 2, 1, 2] in exteriors
    assert [4, 3, 8, 3, 8, 4, 4, 4] in exteriors
    assert [10, 2, 11, 2, 11, 8, 10, 8] in exteriors
    assert len(polys) == 6
    np.testing.assert_array_equal(_coco_back(polys, m.shape), m)
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    assert mask_to_polygons(np.zeros((4, 4), bool)) == []
    assert mask_to_polygons(np.zeros((0, 3), bool)) == []
    # the whole image, edges on the image border
    full = mask_to_polygons(np.ones((3, 5), bool))
    assert full == [Polygon([0, 0, 5, 0, 5, 3, 0, 3], [])]
    np.testing.assert_array_equal(_coco_back(full, (3, 5)), np.ones((3, 5), bool))


def test_check_ring_errors():
    with pytest.raises(ValueError, match="2 points; a polygon needs at least 3"):
        check_ring([0, 0, 1, 1])
    with pytest.raises(ValueError, match="even number"):
        check_ring([0, 0, 1, 1, 2])
    with pytest.raises(ValueError, match="intersects itself"):
        check_ring([0, 0, 2, 2, 2, 0, 0, 2])  # a bow tie
    with pytest.raises(ValueError, match="non-finite"):
        check_ring([0, 0, 1, np.nan, 2, 0])
    # touching (a contour around a one-pixel-wide neck) is allowed
    check_ring([0, 0, 2, 0, 2, 2, 1, 1, 2, 2, 0, 2])
    with pytest.raises(ValueError, match="polygon 0 has 2 points"):
        polygons_to_mask([[0, 0, 1, 1]], (4, 4))
    with pytest.raises(ValueError, match="hole 0"):
        polygons_to_mask([Polygon([0, 0, 3, 0, 3, 3], [[1, 1, 2, 2]])], (4, 4))


def test_bad_masks():
    with pytest.raises(ValueError, match="binary"):
        mask_to_polygons(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2D"):
        mask_to_polygons(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="tolerance"):
        mask_to_polygons(np.zeros((2, 2)), tolerance=-1)
