import json

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from napari_maskclean.core.rle import rle_decode, rle_encode
from napari_maskclean.io_coco import coco_to_dict, read_coco, write_coco


def _dataset():
    a = np.zeros((20, 30), bool)
    a[2:8, 3:12] = True
    b = np.zeros((20, 30), bool)
    b[10:18, 5:25] = True
    b[13:15, 10:12] = False  # a hole
    return (
        {
            "info": {"description": "test"},
            "images": [
                {"id": 7, "file_name": "dir/img7.png", "height": 20, "width": 30},
                {"id": 9, "file_name": "img9.png", "height": 20, "width": 30},
            ],
            "categories": [{"id": 1, "name": "cell"}, {"id": 2, "name": "nucleus"}],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 7,
                    "category_id": 1,
                    "segmentation": rle_encode(a),
                    "iscrowd": 0,
                    "area": int(a.sum()),
                    "attributes": {"x": 1},
                },
                {
                    "id": 2,
                    "image_id": 7,
                    "category_id": 2,
                    "segmentation": [[20, 2, 28, 2, 28, 9, 20, 9]],
                    "iscrowd": 0,
                },
                {
                    "id": 3,
                    "image_id": 9,
                    "category_id": 1,
                    "iscrowd": 1,
                    "segmentation": {"size": [20, 30], "counts": _uncompressed(b)},
                },
            ],
        },
        a,
        b,
    )


def _uncompressed(m):
    counts, cur, run = [], 0, 0
    for v in m.ravel(order="F"):
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    return [*counts, run]


def test_read_dataset():
    d, a, b = _dataset()
    data = read_coco(d)
    assert data.categories == {1: "cell", 2: "nucleus"}
    im7, im9 = data.image(7), data.image("img9.png")
    assert data.image("img7.png") is im7  # by file name
    assert im7.category_ids == [1, 2] and im7.ann_ids == [1, 2]
    np.testing.assert_array_equal(im7.masks()[0], a)
    assert im7.masks()[1][2:9, 20:28].all() and im7.masks()[1].sum() == 56
    assert im9.iscrowd == [True]
    np.testing.assert_array_equal(rle_decode(im9.rles[0]), b)
    assert im7.extra[0] == {"area": int(a.sum()), "attributes": {"x": 1}}


def test_round_trip_is_lossless(tmp_path):
    d, a, b = _dataset()
    path = write_coco(tmp_path / "out.json", read_coco(d))
    back = json.loads(path.read_text())
    anns = {x["id"]: x for x in back["annotations"]}
    assert anns[1]["segmentation"] == d["annotations"][0]["segmentation"]  # RLE verbatim
    assert anns[2]["segmentation"] == d["annotations"][1]["segmentation"]  # polygons kept
    assert anns[1]["attributes"] == {"x": 1}
    assert rle_decode(anns[3]["segmentation"]).sum() == b.sum()
    assert back["categories"] == d["categories"] and back["info"] == d["info"]
    again = read_coco(path)
    for im, im2 in zip(read_coco(d).images, again.images):
        assert im.rles == im2.rles
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_coco(path, again)
    write_coco(path, again, overwrite=True)


def test_results_with_scores_and_file_names():
    d, a, _ = _dataset()
    results = [
        {"image_id": "img9.png", "category_id": 2, "segmentation": rle_encode(a), "score": 0.7},
        {"image_id": 7, "category_id": 1, "segmentation": rle_encode(~a), "score": 0.2},
    ]
    data = read_coco(results, images=d)
    assert data.is_results
    assert data.image(9).scores == [0.7] and data.image(7).scores == [0.2]
    out = coco_to_dict(data)
    assert isinstance(out, list) and {r["image_id"] for r in out} == {7, 9}
    assert all("id" not in r for r in out)
    poly = [{"image_id": 7, "category_id": 1, "segmentation": [[1, 1, 5, 1, 5, 5]], "score": 1}]
    with pytest.raises(ValueError, match="pass images="):
        read_coco(poly)


def test_results_of_rles_read_without_their_dataset():
    _, a, _ = _dataset()
    results = [
        {"image_id": "img9.png", "category_id": 2, "segmentation": rle_encode(a), "score": 0.7},
        {"image_id": 7, "category_id": 1, "segmentation": rle_encode(~a), "score": 0.2},
        {"image_id": 7, "category_id": 1, "segmentation": rle_encode(a), "score": 0.9},
    ]
    data = read_coco(results)
    assert [(im.file_name, im.height, im.width) for im in data.images] == [
        ("img9.png", 20, 30),
        ("7", 20, 30),
    ]
    assert data.image("img9.png").scores == [0.7] and data.image(7).scores == [0.2, 0.9]
    assert coco_to_dict(data) == results  # the string image id is written back as it was
    bad = [dict(results[0], segmentation=rle_encode(np.zeros((5, 5), bool))), results[0]]
    with pytest.raises(ValueError, match="two sizes"):
        read_coco(bad)


def test_unknown_ids_kept_with_a_warning():
    d = _with({"image_id": 99})
    d["annotations"][1]["category_id"] = 5
    with pytest.warns(UserWarning, match="unknown image id.*99.*unknown category id.*5"):
        data = read_coco(d, unknown="keep")
    assert data.unresolved == [d["annotations"][0]]
    assert data.categories[5] == "unknown category 5"
    assert data.image(7).category_ids == [5]
    out = coco_to_dict(data)
    assert sorted(a["id"] for a in out["annotations"]) == [1, 2, 3]  # nothing lost
    assert next(a for a in out["annotations"] if a["id"] == 1) == d["annotations"][0]
    assert read_coco(out, unknown="keep").unresolved == [d["annotations"][0]]


def test_holes_written_as_rle_or_polygons_with_warning():
    d, _, b = _dataset()
    data = read_coco(d)
    out = coco_to_dict(data, segmentation="polygons")
    seg = {x["id"]: x["segmentation"] for x in out["annotations"]}
    assert isinstance(seg[3], dict)  # b has a hole: RLE
    assert isinstance(seg[1], list)
    with pytest.warns(UserWarning, match="holes"):
        out = coco_to_dict(data, segmentation="polygons", holes="polygons")
    assert isinstance(out["annotations"][2]["segmentation"], list)


def _with(ann_change=None, **top):
    d, _, _ = _dataset()
    if ann_change:
        d["annotations"][0].update(ann_change)
    d.update(top)
    return d


@pytest.mark.parametrize(
    ("d", "match"),
    [
        (_with({"image_id": 99}), "unknown image id.*99"),
        (_with({"image_id": "nope.png"}), "unknown image id.*nope.png"),
        (_with({"category_id": 5}), "unknown category id.*5.*cell"),
        (_with({"segmentation": {"size": [20, 30], "counts": "3"}}), "annotation 1.*add up"),
        (_with({"segmentation": {"size": [20, 31], "counts": "0"}}), "annotation 1.*add up"),
        (_with({"segmentation": rle_encode(np.zeros((5, 5), bool))}), "does not match image"),
        (_with({"segmentation": [[0, 0, 1, 1]]}), "annotation 1: polygon 0 has 2 points"),
        (_with({"segmentation": [[0, 0, 5, 5, 5, 0, 0, 5]]}), "intersects itself"),
        (_with({"segmentation": "abc"}), "RLE dict or a non-empty list"),
        (_with({"segmentation": {"size": [20, 30], "counts": "a\x01"}}), "outside"),
        (_with(images=[{"id": 7}]), "needs integer 'id', 'height' and 'width'"),
    ],
)
def test_bad_input(d, match):
    with pytest.raises(ValueError, match=match):
        read_coco(d)


def test_empty_mask_warns_and_is_kept():
    d = _with({"segmentation": rle_encode(np.zeros((20, 30), bool))})
    with pytest.warns(UserWarning, match="empty mask"):
        data = read_coco(d)
    assert len(data.image(7).rles) == 2


def test_not_coco(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{bad")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_coco(p)
    with pytest.raises(ValueError, match="not a COCO file"):
        read_coco({"foo": 1})
    with pytest.raises(FileNotFoundError):
        read_coco(tmp_path / "missing.json")


def test_masks_written_as_polygons_read_back_exactly():
    yy, xx = np.mgrid[:40, :50]
    disc = (yy - 20.3) ** 2 + (xx - 24.6) ** 2 <= 15.2**2
    notch = np.zeros((40, 50), bool)  # a notch closed by a diagonal contact at (x, y) = (7, 6)
    notch[5:9, 5:9] = True
    notch[6, 6] = False
    notch[5, 7] = False
    pinched = np.zeros((40, 50), bool)  # two squares touching at a corner
    pinched[30:33, 40:43] = True
    pinched[33:36, 43:46] = True
    ring = np.zeros((40, 50), bool)  # encloses background: a true hole
    ring[30:36, 2:8] = True
    ring[32:34, 4:6] = False
    masks = [disc, notch, pinched, ring]
    d = {
        "images": [{"id": 1, "file_name": "a.png", "height": 40, "width": 50}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {"id": k + 1, "image_id": 1, "category_id": 1, "segmentation": rle_encode(m)}
            for k, m in enumerate(masks)
        ],
    }
    out = coco_to_dict(read_coco(d), segmentation="polygons")
    segs = [a["segmentation"] for a in out["annotations"]]
    # only the object enclosing background needs RLE; the notch is one ring
    # through its contact point, the pinched object two polygons
    assert [type(s) for s in segs] == [list, list, list, dict]
    assert len(segs[1]) == 1 and len(segs[2]) == 2
    for seg, m in zip(segs[:3], masks):  # pycocotools fills them exactly
        back = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, 40, 50)))
        np.testing.assert_array_equal(back.astype(bool), m)
    again = read_coco(out)
    for m, rle in zip(masks, again.images[0].rles):
        np.testing.assert_array_equal(rle_decode(rle), m)
    # simplified rings are cut at contact points (approxPolyDP could cross them)
    simplified = coco_to_dict(read_coco(d), segmentation="polygons", tolerance=1)
    assert isinstance(simplified["annotations"][1]["segmentation"], dict)  # a touching hole
    read_coco(simplified)  # valid
