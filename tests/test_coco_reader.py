"""The napari COCO reader/writer: which files it claims, depth layers, lossless round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean import _coco_reader as cr
from napari_maskclean.core.rle import rle_decode, rle_encode
from napari_maskclean.io_coco import coco_to_dict, read_coco

H, W = 30, 40


def _box(y0, x0, y1, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def dataset():
    """a and its duplicate b overlap (two depths); c alone (a polygon); d on image 2."""
    m = {"a": _box(2, 2, 12, 12), "b": _box(2, 3, 12, 13), "c": _box(20, 20, 28, 35),
         "d": _box(1, 1, 5, 5)}
    anns = [
        {"id": 10, "image_id": 1, "category_id": 1, "segmentation": rle_encode(m["a"]),
         "iscrowd": 0, "score": 0.9, "area": 100, "bbox": [2, 2, 10, 10], "note": "x"},
        {"id": 11, "image_id": 1, "category_id": 2, "segmentation": rle_encode(m["b"]),
         "iscrowd": 0, "score": 0.6},
        {"id": 12, "image_id": 1, "category_id": 1, "iscrowd": 0, "score": 0.5,
         "segmentation": [[20, 20, 35, 20, 35, 28, 20, 28]]},
        {"id": 13, "image_id": 2, "category_id": 1, "segmentation": rle_encode(m["d"]),
         "iscrowd": 0, "score": 0.3},
    ]
    return {"info": {"v": 1},
            "images": [{"id": 1, "file_name": "dir/one.png", "height": H, "width": W},
                       {"id": 2, "file_name": "two.png", "height": H, "width": W}],
            "categories": [{"id": 1, "name": "cell"}, {"id": 2, "name": "nucleus"}],
            "annotations": anns}, m


@pytest.fixture
def notes(monkeypatch):
    seen = []
    monkeypatch.setattr(cr, "_notify", seen.append)
    return seen


def _file(tmp_path, d, name="coco.json"):
    p = tmp_path / name
    p.write_text(json.dumps(d))
    return p


def test_claims_only_coco_json(tmp_path):
    d, m = dataset()
    assert cr.get_coco_reader(str(_file(tmp_path, d))) is not None
    results = [{"image_id": 1, "category_id": 1, "segmentation": rle_encode(m["a"]),
                "score": 0.5}]
    assert cr.get_coco_reader(str(_file(tmp_path, results, "r.json"))) is not None
    assert cr.get_coco_reader(str(_file(tmp_path, {"a": 1}, "other.json"))) is None
    assert cr.get_coco_reader(str(_file(tmp_path, [1, 2], "list.json"))) is None
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00")
    assert cr.get_coco_reader(str(tmp_path / "bin.json")) is None
    assert cr.get_coco_reader(str(tmp_path / "missing.json")) is None
    assert cr.get_coco_reader(str(tmp_path)) is None
    assert cr.get_coco_reader([str(_file(tmp_path, d)), "x.json"]) is None
    assert cr.get_coco_reader(str(_file(tmp_path, d, "coco.png"))) is None


def test_overlapping_instances_open_as_depth_layers(tmp_path, notes):
    d, m = dataset()
    layers = cr.get_coco_reader(str(_file(tmp_path, d)))(str(tmp_path / "coco.json"))
    assert [kw["name"] for _, kw, _ in layers] == ["one instances [depth 0]",
                                                    "one instances [depth 1]"]
    assert all(kind == "labels" for *_, kind in layers)
    d0, d1 = layers[0][0], layers[1][0]
    np.testing.assert_array_equal(d0 == 1, m["a"])
    np.testing.assert_array_equal(d1 == 2, m["b"])
    assert set(np.unique(d0)) == {0, 1, 3} and set(np.unique(d1)) == {0, 2}
    f0 = layers[0][1]["features"]
    assert f0["index"] == [1, 3] and f0["category"] == ["cell", "cell"]
    assert f0["score"] == [0.9, 0.5] and f0["annotation_id"] == [10, 12]
    assert layers[1][1]["features"]["category"] == ["nucleus"]
    assert "2 images" in notes[0]  # the other image is mentioned, not silently dropped


def test_non_overlapping_image_opens_as_one_layer(tmp_path, notes):
    d, _ = dataset()
    layers = cr.read_coco_layers(str(_file(tmp_path, d)), image="two.png")
    assert len(layers) == 1 and layers[0][1]["name"] == "two instances"


def test_round_trip_is_lossless(tmp_path, notes):
    d, _ = dataset()
    src = _file(tmp_path, d)
    layers = cr.read_coco_layers(str(src))
    out = tmp_path / "out.json"
    cr.write_coco_layers(str(out), layers)
    assert json.loads(out.read_text()) == coco_to_dict(read_coco(d))
    written = json.loads(out.read_text())
    assert written["annotations"][0] == d["annotations"][0]  # every key, verbatim
    assert written["annotations"][2]["segmentation"] == d["annotations"][2]["segmentation"]
    # the writer replaces (napari's Save dialog asked), atomically
    cr.write_coco_layers(str(out), layers)


def test_edits_are_written_back(tmp_path, notes):
    d, m = dataset()
    layers = cr.read_coco_layers(str(_file(tmp_path, d)))
    d0, d1 = layers[0][0].copy(), layers[1][0].copy()
    d0[(d1 == 2)] = 1  # merge b into a
    d1[d1 == 2] = 0
    d0[25:28, 1:4] = 7  # a new, hand-painted label
    edited = [(d0, layers[0][1], "labels"), (d1, layers[1][1], "labels")]
    with pytest.warns(UserWarning, match="not instances of the COCO file"):
        data = cr.layers_to_coco([(a, kw) for a, kw, _ in edited])
    one = data.image(1)
    assert one.ann_ids == [10, 12, None]
    np.testing.assert_array_equal(rle_decode(one.rles[0]), m["a"] | m["b"])
    assert one.extra[0] == {"note": "x"}  # stale area/bbox dropped: recomputed on write
    assert one.polygons[1] is not None  # untouched polygon kept
    out = coco_to_dict(data)
    a = next(x for x in out["annotations"] if x["id"] == 10)
    assert a["area"] == int((m["a"] | m["b"]).sum())
    assert [x["id"] for x in out["annotations"]] == [10, 12, 14, 13]


def test_all_depth_layers_are_needed(tmp_path, notes):
    d, _ = dataset()
    layers = cr.read_coco_layers(str(_file(tmp_path, d)))
    with pytest.raises(ValueError, match="select all its depth layers"):
        cr.write_coco_layers(str(tmp_path / "x.json"), layers[:1])
    assert not (tmp_path / "x.json").exists()


def test_plain_labels_layers_are_written_as_images(tmp_path):
    lab = np.zeros((H, W), np.uint16)
    lab[1:4, 1:4] = 5
    lab[10:20, 10:12] = 9
    out = tmp_path / "plain.json"
    cr.write_coco_layer(str(out), lab, {"name": "mine"})
    data = read_coco(out)
    assert [im.file_name for im in data.images] == ["mine"]
    np.testing.assert_array_equal(data.images[0].masks()[1], lab == 9)
    assert data.categories == {1: "object"}
    with pytest.raises(ValueError, match="2D"):
        cr.write_coco_layer(str(tmp_path / "v.json"), np.zeros((2, 3, 3), int), {"name": "v"})
    with pytest.raises(ValueError, match="select Labels layers"):
        cr.write_coco_layers(str(tmp_path / "i.json"), [(np.zeros((3, 3)), {}, "image")])


def test_detector_results_with_unknown_ids_are_kept_and_reported(tmp_path, notes):
    d, m = dataset()
    d["annotations"][3]["image_id"] = 42  # unknown image
    d["annotations"][1]["category_id"] = 7  # unknown category
    src = _file(tmp_path, d)
    layers = cr.read_coco_layers(str(src))
    assert any("unknown image id" in n and "42" in n for n in notes)
    assert any("unknown category" in n for n in notes)
    assert "unknown category 7" in layers[1][1]["features"]["category"]
    out = tmp_path / "out.json"
    cr.write_coco_layers(str(out), layers)
    assert d["annotations"][3] in json.loads(out.read_text())["annotations"]  # nothing lost


def test_results_list_without_dataset(tmp_path, notes):
    _, m = dataset()
    results = [{"image_id": "one.png", "category_id": 1, "segmentation": rle_encode(m[k]),
                "score": s} for k, s in (("a", 0.9), ("b", 0.8))]
    src = _file(tmp_path, results)
    layers = cr.read_coco_layers(str(src))
    assert len(layers) == 2
    out = tmp_path / "out.json"
    cr.write_coco_layers(str(out), layers)
    assert json.loads(out.read_text()) == results


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"segmentation": {"size": [H, W], "counts": "zz"}}, "annotation 10"),
        ({"segmentation": [[1, 1, 2, 2]]}, "2 points"),
        ({"segmentation": [[0, 0, 9, 9, 9, 0, 0, 9]]}, "intersects itself"),
        ({"segmentation": rle_encode(np.ones((3, 3), bool))}, "does not match image"),
    ],
)
def test_bad_annotations_raise_a_clear_error(tmp_path, change, match, notes):
    d, _ = dataset()
    d["annotations"][0].update(change)
    with pytest.raises(ValueError, match=match):
        cr.read_coco_layers(str(_file(tmp_path, d)))


def test_empty_mask_and_crowd_are_kept(tmp_path, notes):
    d, _ = dataset()
    d["annotations"][1]["segmentation"] = rle_encode(np.zeros((H, W), bool))
    d["annotations"][2]["iscrowd"] = 1
    layers = cr.read_coco_layers(str(_file(tmp_path, d)))
    assert any("empty mask" in n for n in notes)
    out = tmp_path / "out.json"
    cr.write_coco_layers(str(out), layers)
    ids = [a["id"] for a in json.loads(out.read_text())["annotations"]]
    assert ids == [10, 11, 12, 13]  # the empty mask and the crowd region kept
