import numpy as np
import pytest
from pycocotools import mask as mask_utils

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


@pytest.mark.parametrize(("r", "max_loss"), [(15, 0.07), (40, 0.03)])
def test_round_trip_iou(r, max_loss):
    m = _disk(r)
    polys = mask_to_polygons(m)
    assert len(polys) == 1 and polys[0].holes == []
    back = polygons_to_mask(polys, m.shape)
    # same as rasterising the COCO list with pycocotools
    ref = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([polys[0].exterior], 100, 100)))
    np.testing.assert_array_equal(back, ref.astype(bool))
    iou = (back & m).sum() / (back | m).sum()
    assert iou >= 1 - max_loss
    assert simplification_loss(m, 0) == pytest.approx(1 - iou)


def test_holes_kept_and_subtracted():
    m = _disk(30, hole=8)
    polys = mask_to_polygons(m)
    assert len(polys) == 1 and len(polys[0].holes) == 1
    with_holes = polygons_to_mask(polys, m.shape)
    filled = polygons_to_mask(polys, m.shape, holes=False)
    assert not with_holes[50, 50] and filled[50, 50]
    assert (with_holes & m).sum() / (with_holes | m).sum() > 0.93


def test_tolerance_reduces_points_and_loss_grows():
    m = _disk(40)
    n0 = len(mask_to_polygons(m)[0].exterior)
    n2 = len(mask_to_polygons(m, tolerance=2)[0].exterior)
    assert n2 < n0
    loss = simplification_loss([m, _disk(10)], [0, 1, 3])
    assert loss.shape == (3, 2)
    assert np.all(loss[2] >= loss[0])
    assert np.all((loss >= 0) & (loss < 0.5))


def test_tiny_parts_are_exact_boxes_and_parts_are_separate():
    m = np.zeros((6, 9), bool)
    m[1, 1] = True
    m[3, 4:8] = True  # a one-pixel line
    polys = mask_to_polygons(m)
    assert len(polys) == 2
    np.testing.assert_array_equal(polygons_to_mask(polys, m.shape), m)
    assert mask_to_polygons(np.zeros((4, 4), bool)) == []


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
