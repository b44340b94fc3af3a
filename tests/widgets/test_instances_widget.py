"""The Instances dock in a real viewer: COCO duplicates, groups, merge, undo, NMS, export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean import _coco_reader
from napari_maskclean._widgets.instances_widget import InstancesWidget
from napari_maskclean.core.rle import rle_decode, rle_encode
from napari_maskclean.io_coco import coco_to_dict, read_coco
from napari_maskclean.ops.instances import merge_instances, nms_instances
from napari_maskclean.recipe import Recipe
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui

H, W = 60, 80


def _box(y0, x0, y1, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


MASKS = {
    "a": _box(5, 5, 25, 25),
    "a2": _box(5, 6, 25, 26),  # duplicate of a (IoU 0.905)
    "a3": _box(6, 5, 25, 25),  # duplicate of a (IoU 0.95)
    "b": _box(30, 40, 50, 70),
    "b2": _box(31, 40, 50, 71),  # duplicate of b
    "c": _box(20, 20, 35, 35),  # overlaps a and b a little: not redundant
}
SCORES = {"a": 0.9, "a2": 0.5, "a3": 0.7, "b": 0.6, "b2": 0.95, "c": 0.8}


def coco_file(tmp_path, scores=True):
    anns = []
    for k, name in enumerate(MASKS):
        ann = {"id": 100 + k, "image_id": 1, "category_id": 1, "iscrowd": 0,
               "segmentation": rle_encode(MASKS[name])}
        if scores:
            ann["score"] = SCORES[name]
        anns.append(ann)
    d = {"images": [{"id": 1, "file_name": "img.png", "height": H, "width": W}],
         "categories": [{"id": 1, "name": "cell"}], "annotations": anns}
    path = tmp_path / "dets.json"
    path.write_text(json.dumps(d))
    return path, d


def open_coco(viewer, path):
    layers = viewer.open(str(path), plugin="napari-maskclean")
    assert layers and all(lay.metadata.get("coco") for lay in layers)
    return layers


def dock(viewer):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Instances")
    assert isinstance(widget, InstancesWidget)
    return widget


def snapshot(layers):
    return [np.array(lay.data, copy=True) for lay in layers]


def test_open_see_groups_merge_as_one_undo(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    layers = open_coco(viewer, path)
    assert len(layers) == 4  # a, a2, a3 overlap each other, c overlaps all three
    w = dock(viewer)
    w.instances.value = layers[1]  # any depth layer takes the whole image
    assert w.instance_layers() == layers
    res = wait_for_result(qtbot, w, timeout=30000)  # the first run may compile kernels
    groups = res.value.label_groups()
    assert groups == [(1, [1, 2, 3]), (5, [4, 5])]  # keepers: best scores (a, b2)
    assert w.table.rowCount() == 2
    assert w.table.item(0, 1).text() == "1, 2, 3"
    assert w.table.item(0, 4).text() == "0.900, 0.500, 0.700"
    preview = w.preview_layer().data
    np.testing.assert_array_equal(preview == 1, MASKS["a"] | MASKS["a2"] | MASKS["a3"])
    # clicking a row centres the view on the group
    w.go_to_group(1)
    centre = viewer.scene.camera.center[-2:]
    assert centre == pytest.approx((40, 55), abs=1)

    before = snapshot(layers)
    n = w.merge_all()
    assert n > 0
    merged = read_coco(coco_to_dict(_coco_reader.layers_to_coco(
        [(lay.data, {"name": lay.name, "metadata": lay.metadata}) for lay in layers])))
    expected = merge_instances(read_coco(d), threshold=0.8)
    assert coco_to_dict(merged) == coco_to_dict(expected)
    # the merge was recorded as a replayable step (when the recorder exists)
    try:
        from napari_maskclean._widgets._recording import recorder_for
    except ImportError:
        step = w.recipe_step(w.last_result)
    else:
        step = recorder_for(viewer).steps[-1]
    assert step.op == "merge_redundant" and step.inputs == {"instances": "dets"}
    assert Recipe(steps=[step]).apply(read_coco(d)).images[0].ann_ids == \
        expected.images[0].ann_ids

    # one Ctrl-Z in any of the layers undoes the whole merge, exactly
    layers[2].undo()
    w.check_history()
    for lay, old in zip(layers, before):
        np.testing.assert_array_equal(lay.data, old)
    layers[0].redo()
    w.check_history()
    after = [lay.data for lay in layers]
    assert not (after[1] == 2).any() and (after[0] == 1).sum() == \
        (MASKS["a"] | MASKS["a2"] | MASKS["a3"]).sum()


def test_merge_selected_group_only(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    path, _ = coco_file(tmp_path)
    layers = open_coco(viewer, path)
    w = dock(viewer)
    w.instances.value = layers[0]
    wait_for_result(qtbot, w)
    assert w.merge_selected() == 0  # nothing selected: nothing happens
    w.table.selectRow(1)
    assert w.merge_selected() > 0
    labels = set(np.unique(np.stack([lay.data for lay in layers])))
    assert labels == {0, 1, 2, 3, 5, 6}  # b merged into b2 (label 5); a's group untouched
    assert w.recipe_step(w.last_result) is not None  # a full merge would be recorded


def test_nms_and_export_reread(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    layers = open_coco(viewer, path)
    w = dock(viewer)
    w.instances.value = layers[0]
    wait_for_result(qtbot, w)
    w.threshold.value = 0.5
    before = snapshot(layers)
    assert w.run_nms() > 0
    out = w.export(tmp_path / "clean.json")
    expected = nms_instances(read_coco(d), threshold=0.5)
    assert json.loads(open(out).read()) == coco_to_dict(expected)
    assert w.export(tmp_path / "clean.json") is None  # never replaces without asking
    assert "already exists" in w.status.value
    reread = viewer.open(out, plugin="napari-maskclean")
    assert sum(len(np.unique(lay.data)) - 1 for lay in reread) == len(expected.images[0].rles)
    layers[0].undo()
    w.check_history()
    for lay, old in zip(layers, before):
        np.testing.assert_array_equal(lay.data, old)


def test_stack_layer_merges_in_one_undo_step(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    stack = np.zeros((2, H, W), np.uint8)
    stack[0][MASKS["a"]] = 1
    stack[1][MASKS["a2"]] = 2
    layer = viewer.add_labels(stack.copy(), name="stack")
    w = dock(viewer)
    w.instances.value = layer
    res = wait_for_result(qtbot, w)
    assert res.value.label_groups() == [(1, [1, 2])]  # no scores: the largest keeps (tie: 1)
    assert w.preview_layer().data.shape == stack.shape
    assert w.merge_all() > 0
    np.testing.assert_array_equal(layer.data[0] == 1, MASKS["a"] | MASKS["a2"])
    assert not layer.data[1].any()
    layer.undo()
    np.testing.assert_array_equal(layer.data, stack)


def test_bad_input_is_reported(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    path, _ = coco_file(tmp_path, scores=False)
    layers = open_coco(viewer, path)
    w = dock(viewer)
    w.instances.value = layers[0]
    wait_for_result(qtbot, w)
    w.mode.value = "best"
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "no scores" in w.last_error
    w.mode.value = "union"
    qtbot.waitUntil(lambda: w.last_error is None and w.is_current(), timeout=5000)
    assert w.run_nms() == 0 and "NMS needs scores" in w.status.value
    # a plain 2D label image: no overlaps, said so
    lab = np.zeros((H, W), np.int32)
    lab[MASKS["a"]] = 1
    plain = viewer.add_labels(lab, name="plain")
    w.instances.value = plain
    qtbot.waitUntil(lambda: w.last_error is None and w.is_current(), timeout=5000)
    assert "holds no overlapping instances" in w.status.value
    # 4D data
    w.instances.value = viewer.add_labels(np.zeros((2, 2, 4, 4), np.int32), name="4d")
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "2D label image or a (depth, y, x) stack" in w.last_error


def test_reader_notifies_unknown_ids_without_crashing(make_napari_viewer, tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(_coco_reader, "_notify", seen.append)
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    d["annotations"][0]["image_id"] = 77
    path.write_text(json.dumps(d))
    layers = open_coco(viewer, path)
    assert any("unknown image id" in s for s in seen)
    out = tmp_path / "back.json"
    viewer.layers.selection = set(layers)
    viewer.layers.save(str(out), selected=True, plugin="napari-maskclean")
    back = json.loads(out.read_text())
    assert d["annotations"][0] in back["annotations"]
    a2 = next(a for a in back["annotations"] if a["id"] == 101)
    assert a2["segmentation"] == d["annotations"][1]["segmentation"]  # verbatim
    np.testing.assert_array_equal(rle_decode(a2["segmentation"]), MASKS["a2"])


def test_open_another_image_of_the_file(make_napari_viewer, qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(_coco_reader, "_notify", lambda msg: None)
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    d["images"].append({"id": 2, "file_name": "other.png", "height": H, "width": W})
    d["annotations"].append({"id": 900, "image_id": 2, "category_id": 1, "iscrowd": 0,
                             "score": 0.5, "segmentation": rle_encode(MASKS["c"])})
    path.write_text(json.dumps(d))
    layers = open_coco(viewer, path)
    w = dock(viewer)
    w.instances.value = layers[0]
    assert not w.coco_image.native.isHidden() and len(w.coco_image.choices) == 2
    opened = w.open_image(2)
    assert [lay.name for lay in opened] == ["other instances"]
    assert w.instances.value.name == opened[0].name  # (the dock sees a proxy of the viewer)
    assert not layers[0].visible, [(lay.name, lay.visible) for lay in viewer.layers]
    assert [lay.name for lay in w.open_image(2)] == ["other instances"]
    assert len(viewer.layers) == len(layers) + 1  # not opened twice
    wait_for_result(qtbot, w)
    # the file is written back whole from the layers of both images
    out = tmp_path / "both.json"
    viewer.layers.selection = set(layers) | set(opened)
    viewer.layers.save(str(out), selected=True, plugin="napari-maskclean")
    assert json.loads(out.read_text()) == coco_to_dict(read_coco(d))


def test_export_formats_and_crowd_regions(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    d["annotations"][1]["iscrowd"] = 1  # a2: a crowd region is never merged
    path.write_text(json.dumps(d))
    layers = open_coco(viewer, path)
    w = dock(viewer)
    w.instances.value = layers[0]
    res = wait_for_result(qtbot, w)
    assert res.value.label_groups()[0] == (1, [1, 3])
    w.export_format.value = "polygons"
    out = json.loads(open(w.export(tmp_path / "poly.json")).read())
    assert all(isinstance(a["segmentation"], list) for a in out["annotations"])
    w.export_format.value = "RLE"
    out = json.loads(open(w.export(tmp_path / "rle.json")).read())
    assert out == coco_to_dict(read_coco(d), segmentation="rle")


def test_malformed_file_gives_a_clear_error(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    path, d = coco_file(tmp_path)
    d["annotations"][2]["segmentation"] = [[1, 1, 5, 5]]
    path.write_text(json.dumps(d))
    with pytest.raises(Exception, match="annotation 102: polygon 0 has 2 points"):
        viewer.open(str(path), plugin="napari-maskclean")
    assert len(viewer.layers) == 0
