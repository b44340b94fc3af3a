"""Instance ops (merge_redundant, mask_nms): registry specs, COCO data, recipes, maskclean run."""

from __future__ import annotations

import json

import numpy as np
import pytest

from napari_maskclean.batch.cli_run import main as main_run
from napari_maskclean.core.instances import mask_nms, merge_redundant
from napari_maskclean.core.rle import rle_decode, rle_encode
from napari_maskclean.io_coco import coco_to_dict, read_coco, write_coco
from napari_maskclean.ops import REGISTRY, OutputKind, ParamError
from napari_maskclean.ops.instances import instance_groups, merge_instances, nms_instances
from napari_maskclean.recipe import Recipe, Step
from napari_maskclean.run import run_recipe

H, W = 40, 50


def _box(y0, x0, y1, x1):
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


def coco_with_duplicates(scores=True):
    """Image 1: a (0.9) duplicated by b (0.8), c alone, d crowd over a; image 2: e, f dup."""
    masks = {
        "a": _box(2, 2, 20, 20),
        "b": _box(2, 2, 20, 21),  # IoU with a 0.95, larger
        "c": _box(25, 30, 38, 45),
        "d": _box(0, 0, 22, 22),  # crowd: never merged
        "e": _box(5, 5, 15, 15),
        "f": _box(5, 5, 15, 16),
    }
    spec = [("a", 1, 1, 0.9, 0), ("b", 1, 1, 0.8, 0), ("c", 1, 2, 0.7, 0), ("d", 1, 1, 0.5, 1),
            ("e", 2, 1, 0.4, 0), ("f", 2, 1, 0.95, 0)]
    anns = []
    for k, (name, image, cat, score, crowd) in enumerate(spec):
        ann = {"id": k + 1, "image_id": image, "category_id": cat, "iscrowd": crowd,
               "segmentation": rle_encode(masks[name]), "note": name}
        if scores:
            ann["score"] = score
        anns.append(ann)
    anns[2]["segmentation"] = [[30, 25, 45, 25, 45, 38, 30, 38]]  # c as a polygon
    return {
        "images": [{"id": 1, "file_name": "one.png", "height": H, "width": W},
                   {"id": 2, "file_name": "two.png", "height": H, "width": W}],
        "categories": [{"id": 1, "name": "cell"}, {"id": 2, "name": "nucleus"}],
        "annotations": anns,
    }, masks


def test_specs_are_registered_and_validate():
    merge, nms = REGISTRY["merge_redundant"], REGISTRY["mask_nms"]
    assert merge.output is OutputKind.INSTANCES and merge.roles == ("instances",)
    assert merge.defaults == {"threshold": 0.8, "metric": "iou", "mode": "union",
                              "grouping": "connected", "per_category": False}
    assert nms.defaults["threshold"] == 0.5 and nms.defaults["per_category"] is True
    assert not merge.locality_for().tileable
    with pytest.raises(ParamError, match="'metric' must be one of"):
        merge.validate({"metric": "dice"})
    with pytest.raises(ParamError, match="threshold"):
        merge.validate({"threshold": 1.5})


def test_merge_union_keeps_annotations_of_the_keeper():
    d, m = coco_with_duplicates()
    data = read_coco(d)
    out = merge_instances(data, threshold=0.8)
    one, two = out.image(1), out.image(2)
    assert one.ann_ids == [1, 3, 4]  # b merged into a (keeper: best score), crowd d kept
    np.testing.assert_array_equal(rle_decode(one.rles[0]), m["a"] | m["b"])
    assert one.scores[0] == 0.9 and one.extra[0] == {"note": "a"}
    assert one.polygons[1] is not None  # c untouched: still a polygon
    assert two.ann_ids == [6] and two.scores == [0.95]  # f kept (best score), e into it
    np.testing.assert_array_equal(rle_decode(two.rles[0]), m["e"] | m["f"])
    # the input is not modified
    assert data.image(1).ann_ids == [1, 2, 3, 4]
    written = coco_to_dict(out)
    ann = next(a for a in written["annotations"] if a["id"] == 1)
    assert ann["area"] == int((m["a"] | m["b"]).sum())  # area of the merged mask


def test_merge_matches_the_core_on_plain_masks_and_per_category():
    d, m = coco_with_duplicates()
    stack = np.stack([m[k] for k in "abc"])
    np.testing.assert_array_equal(merge_instances(stack, threshold=0.8),
                                  merge_redundant(stack, threshold=0.8)[0])
    d["annotations"][1]["category_id"] = 2
    out = merge_instances(read_coco(d), threshold=0.8, per_category=True)
    assert out.image(1).ann_ids == [1, 2, 3, 4]
    out = merge_instances(read_coco(d), threshold=0.8, mode="largest")
    assert out.image(1).ann_ids == [2, 3, 4]  # b is larger than a
    assert out.image(1).rles[0] == read_coco(d).image(1).rles[1]  # verbatim


def test_groups_report_keeper_and_overlaps():
    d, m = coco_with_duplicates()
    groups = instance_groups(read_coco(d).image(1), threshold=0.8)
    assert len(groups) == 1
    g = groups[0]
    assert g.members.tolist() == [0, 1] and g.keeper == 0
    inter = (m["a"] & m["b"]).sum()
    assert g.overlap[1] == pytest.approx(inter / (m["a"] | m["b"]).sum())
    assert g.overlap[0] == 1


def test_nms_matches_the_core():
    d, m = coco_with_duplicates()
    out = nms_instances(read_coco(d), threshold=0.5, per_category=False)
    im = read_coco(d).image(1)
    non_crowd = [0, 1, 2]
    kept = mask_nms([im.rles[k] for k in non_crowd], [im.scores[k] for k in non_crowd],
                    threshold=0.5)
    assert out.image(1).ann_ids == sorted([im.ann_ids[non_crowd[k]] for k in kept]) + [4]
    assert out.image(2).ann_ids == [6]


@pytest.mark.parametrize("func", [nms_instances, lambda x: merge_instances(x, mode="best")])
def test_score_free_data_is_refused_with_the_fix(func):
    d, _ = coco_with_duplicates(scores=False)
    with pytest.raises(ValueError, match="no scores.*'union' or 'largest'"):
        func(read_coco(d))
    d, _ = coco_with_duplicates()
    del d["annotations"][0]["score"]
    with pytest.raises(ValueError, match="scores on some instances only"):
        func(read_coco(d))


def test_nms_of_plain_masks_points_to_the_core():
    with pytest.raises(TypeError, match="mask_nms"):
        nms_instances(np.zeros((2, 4, 4), bool))


def _recipe(*steps):
    return Recipe(steps=list(steps))


def test_recipe_replays_the_ops_on_coco_data():
    d, _ = coco_with_duplicates()
    recipe = _recipe(
        Step("mask_nms", {"threshold": 0.95}, {"instances": "coco"}, "coco"),
        Step("merge_redundant", {"threshold": 0.8}, {"instances": "coco"}, "coco"),
    )
    recipe = Recipe.load(recipe.to_json())  # through JSON
    data = read_coco(d)
    out = recipe.apply(data)
    expected = merge_instances(nms_instances(data, threshold=0.95), threshold=0.8)
    assert coco_to_dict(out) == coco_to_dict(expected)


def test_maskclean_run_on_a_folder_of_coco_files(tmp_path):
    d, m = coco_with_duplicates()
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.json").write_text(json.dumps(d))
    (src / "bad.json").write_text("{not json")
    (src / "image.png").write_bytes(b"")  # not read by an instance recipe
    recipe = _recipe(Step("merge_redundant", {"threshold": 0.8}, {"instances": "coco"}, "coco"))
    rpath = tmp_path / "r.json"
    recipe.save(rpath)
    out = tmp_path / "out"
    summary = run_recipe(recipe, [src], out)
    assert summary.n_ok == 1 and "not valid JSON" in dict(summary.failed)[str(src / "bad.json")]
    got = json.loads((out / "a.json").read_text())
    assert got == coco_to_dict(merge_instances(read_coco(d), threshold=0.8))
    assert (out / "a.json.recipe.json").exists()
    # a second run over the output folder skips the sidecars; never replaces without asking
    assert main_run([str(rpath), str(out), "-o", str(out), "--quiet"]) == 1
    assert run_recipe(recipe, [out], tmp_path / "out2").n_ok == 1


def test_run_keeps_annotations_of_unknown_images(tmp_path):
    d, _ = coco_with_duplicates()
    d["annotations"][2]["image_id"] = 99
    (tmp_path / "a.json").write_text(json.dumps(d))
    recipe = _recipe(Step("merge_redundant", {}, {"instances": "coco"}, "coco"))
    with pytest.warns(UserWarning, match="unknown image id"):
        summary = run_recipe(recipe, [tmp_path / "a.json"], tmp_path / "out")
    assert summary.n_ok == 1
    got = json.loads((tmp_path / "out" / "a.json").read_text())
    assert d["annotations"][2] in got["annotations"]


def test_write_coco_is_atomic_and_no_clobber(tmp_path):
    d, _ = coco_with_duplicates()
    p = tmp_path / "x.json"
    write_coco(p, read_coco(d))
    with pytest.raises(FileExistsError):
        write_coco(p, read_coco(d))


# ------------------------------------------------ instances held in label images (the dock)
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from napari_maskclean import _coco_reader  # noqa: E402
from napari_maskclean.ops.label_instances import (  # noqa: E402
    find_label_groups,
    instances_of_labels,
    merged_depths,
    nms_label_groups,
)


def test_instances_of_labels_and_bad_depths():
    d0 = np.zeros((4, 5), np.uint8)
    d1 = np.zeros((4, 5), np.uint8)
    d0[0, :2] = 3
    d1[1, :2] = 3  # label 3 in two depths: one instance
    d1[2:, 2:] = 7
    im, labels = instances_of_labels([d0, d1], scores={7: 0.5}, categories={3: 2})
    assert labels.tolist() == [3, 7] and im.scores == [None, 0.5]
    assert im.category_ids == [2, 1]
    np.testing.assert_array_equal(rle_decode(im.rles[0]), (d0 == 3) | (d1 == 3))
    with pytest.raises(ValueError, match="2D label images of one size"):
        instances_of_labels([d0, np.zeros((4, 6), np.uint8)])
    with pytest.raises(ValueError, match="no label image"):
        instances_of_labels([])


def test_merged_depths_moves_a_union_that_collides():
    d0 = np.zeros((6, 6), np.uint8)
    d1 = np.zeros((6, 6), np.uint8)
    d0[:3, :3] = 1  # keeper
    d0[3:, 3:] = 9  # another instance, where the union must not go
    d1[:4, :4] = 2  # member: its union with 1 hits 9 at (3, 3)
    new, conflicts = merged_depths([d0, d1], [(1, [1, 2])])
    assert conflicts == 0
    assert (new[0] == 9).sum() == 9 and not (new[0] == 1).any()  # moved to depth 1
    np.testing.assert_array_equal(new[1] == 1, (d0 == 1) | (d1 == 2))
    assert (d1 == 2).any()  # inputs unchanged
    # a union that collides in every depth stays home, minus the pixels of the others
    d0 = np.zeros((6, 6), np.uint8)
    d1 = np.zeros((6, 6), np.uint8)
    d0[:3, :3] = 1
    d0[3, 0] = 1
    d0[3, 3] = 9
    d1[:4, :4] = 2
    d1[3, 0] = 8
    new, conflicts = merged_depths([d0, d1], [(1, [1, 2])])
    assert conflicts == 1
    expected = np.zeros((6, 6), bool)
    expected[:4, :4] = True
    expected[3, 3] = False
    np.testing.assert_array_equal(new[0] == 1, expected)
    assert new[0][3, 3] == 9 and new[1][3, 0] == 8 and not (new[1] == 2).any()


def test_nms_label_groups():
    d0 = np.zeros((6, 6), np.uint8)
    d1 = np.zeros((6, 6), np.uint8)
    d0[:4, :4] = 1
    d1[:4, :3] = 2
    assert nms_label_groups([d0, d1], {"scores": {1: 0.2, 2: 0.9}}, threshold=0.5) == [1]
    with pytest.raises(ValueError, match="no scores"):
        nms_label_groups([d0, d1], {}, threshold=0.5)


boxes = st.lists(
    st.tuples(st.integers(0, 15), st.integers(0, 15), st.integers(2, 10), st.integers(2, 10),
              st.floats(0.01, 1.0)),
    min_size=1, max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(boxes, st.sampled_from(["iou", "ios"]), st.sampled_from([0.3, 0.6, 0.9]))
def test_dock_merge_equals_the_registered_op(spec, metric, threshold):
    """Reader layers -> groups -> merged depths -> writer == merge_instances on the file."""
    anns = []
    for k, (y, x, h, w, s) in enumerate(spec):
        m = np.zeros((24, 24), bool)
        m[y:y + h, x:x + w] = True
        anns.append({"id": k + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                     "score": s, "segmentation": rle_encode(m)})
    d = {"images": [{"id": 1, "file_name": "i.png", "height": 24, "width": 24}],
         "categories": [{"id": 1, "name": "x"}], "annotations": anns}
    data = read_coco(d)
    layers = _coco_reader.coco_layer_data(data, data.images[0])
    depths = [a for a, _, _ in layers]
    scores = {k + 1: a["score"] for k, a in enumerate(anns)}
    found = find_label_groups(depths, {"scores": scores}, threshold=threshold, metric=metric)
    new, conflicts = merged_depths(depths, found.label_groups())
    got = coco_to_dict(_coco_reader.layers_to_coco(
        [(a, kw) for a, (_, kw, _) in zip(new, layers)]))
    expected = coco_to_dict(merge_instances(data, threshold=threshold, metric=metric))
    if conflicts == 0:
        assert got == expected
    else:  # a union collided in every depth: the merge lost those pixels (reported)
        assert [a["id"] for a in got["annotations"]] == \
            [a["id"] for a in expected["annotations"]]


def test_exported_script_replays_instance_steps():
    d, _ = coco_with_duplicates()
    recipe = _recipe(
        Step("merge_redundant", {"threshold": 0.8}, {"instances": "coco"}, "coco"))
    namespace: dict = {}
    exec(compile(recipe.to_python(), "recipe_script", "exec"), namespace)
    out = namespace["run"]({"coco": read_coco(d)})["coco"]
    assert coco_to_dict(out) == coco_to_dict(recipe.apply(read_coco(d)))
