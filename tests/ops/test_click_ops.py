"""The click_segment op (ops/click.py) and the click sequence it replays (core/grow_clicks.py)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from napari_maskclean.core.grow import grow_region, refine_region
from napari_maskclean.core.grow_clicks import ClickSession, segment_clicks
from napari_maskclean.ops import REGISTRY, GlobalHow
from napari_maskclean.recipe import Recipe, Step


def blobs(shape=(70, 100), centres=((20, 20), (20, 37), (50, 70)), r=9, seed=0):
    """Bright round nuclei with a dim rim on a noisy background; two of them touch."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    img = np.full(shape, 20.0)
    truth = np.zeros(shape, np.int32)
    for i, (cy, cx) in enumerate(centres, start=1):
        d2 = (yy - cy) ** 2 + (xx - cx) ** 2
        img = np.maximum(img, 200.0 * np.exp(-d2 / (2 * (r * 0.8) ** 2)))
        truth[d2 <= r * r] = i
    return img + rng.normal(0, 3, shape), truth


def test_choices_are_the_cores():
    from napari_maskclean.core.grow_clicks import ACTIONS
    from napari_maskclean.core.grow_rules import RULES

    spec = REGISTRY["click_segment"]
    assert spec.param("rule").choices == RULES
    assert spec.param("action").choices == ACTIONS


def test_registry_import_stays_light():
    code = ("import sys, napari_maskclean.ops as o; assert 'click_segment' in o.REGISTRY; "
            "print('skimage.segmentation' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_options_apply_per_rule_and_action():
    spec = REGISTRY["click_segment"]
    assert "level" not in spec.defaults and "k" not in spec.defaults
    assert spec.validate({"rule": "contrast"})["level"] == 0.45
    assert spec.validate({"rule": "adaptive", "k": 2})["k"] == 2.0
    assert set(spec.validate({"action": "erase"})) == {"action", "spacing"}
    with pytest.raises(ValueError, match="applies only when"):
        spec.validate({"rule": "edge", "level": 0.3})


def test_locality_is_untileable_with_a_reason():
    loc = REGISTRY["click_segment"].locality_for({})
    assert not loc.tileable and loc.how is GlobalHow.UNTILEABLE
    assert "in memory" in loc.message


def test_op_call_equals_the_core_and_the_click_by_click_session():
    img, _ = blobs()
    seeds, labs = [(20, 20), (20, 37), (50, 70), (22, 22)], [1, 2, 5, 1]
    out = REGISTRY["click_segment"].call(
        {"image": img, "seeds": seeds, "seed_labels": labs}, {})
    np.testing.assert_array_equal(out, segment_clicks(img, seeds, seed_labels=labs))
    session = ClickSession(img)
    for s, lab in zip(seeds, labs):
        session = session.copy()  # as the dock does: a new session per click
        session.click(s, lab)
    np.testing.assert_array_equal(session.labels, out)
    assert set(np.unique(out)) == {0, 1, 2, 5}
    # the first click grows exactly what one click grows
    np.testing.assert_array_equal(segment_clicks(img, [(50, 70)]) == 1,
                                  grow_region(img, (50, 70)).mask())


def test_touching_objects_clicked_separately_stay_apart_and_match_truth():
    img, truth = blobs()
    out = segment_clicks(img, [(20, 20), (20, 37), (50, 70)])
    for i in (1, 2, 3):
        a, b = out == i, truth == i
        assert (a & b).sum() / (a | b).sum() > 0.7
    assert out[20, 28] in (1, 2)  # the contact is split, not shared


def test_existing_labels_are_never_overwritten_and_not_modified():
    img, truth = blobs()
    existing = np.zeros(img.shape, np.int32)
    existing[truth == 1] = 7
    existing[10:30, 37:39] = 8  # a strip across the second nucleus
    before = existing.copy()
    out = segment_clicks(img, [(20, 37)], labels=existing)
    np.testing.assert_array_equal(existing, before)
    keep = before != 0
    np.testing.assert_array_equal(out[keep], before[keep])
    assert (out == 9).sum() > 100  # next free label after 8


def test_refine_regrows_an_object_from_its_extent():
    img, truth = blobs()
    rough = np.zeros(img.shape, np.int32)
    rough[14:27, 14:27] = 3  # a box over nucleus 1
    rough[48:53, 68:73] = 4  # a small part of nucleus 3
    out = segment_clicks(img, [(50, 70)], labels=rough, action="refine")
    np.testing.assert_array_equal(out == 3, rough == 3)  # the other label is untouched
    a, b = out == 4, truth == 3
    assert (a & b).sum() / (a | b).sum() > 0.7
    expected = refine_region(img, rough == 4, (50, 70), labels=np.where(rough == 4, 0, rough))
    np.testing.assert_array_equal(a, expected.mask())


def test_erase_removes_the_label_under_the_click():
    img, _ = blobs()
    labels = segment_clicks(img, [(20, 20), (50, 70)])
    out = segment_clicks(img, [(50, 70)], labels=labels, action="erase")
    assert not (out == 2).any()
    np.testing.assert_array_equal(out == 1, labels == 1)
    with pytest.raises(ValueError, match="not inside a label"):
        segment_clicks(img, [(0, 0)], labels=labels, action="erase")


def test_a_leak_is_not_written():
    img, _ = blobs()
    session = ClickSession(img, max_size=50)
    res = session.click((20, 20), 1)
    assert res.leaked and "max_size=50" in res.reason
    assert not session.labels.any()


def test_3d_clicks():
    zz, yy, xx = np.mgrid[:20, :30, :30]
    img = 10.0 + 150 * (((zz - 10) ** 2 + (yy - 10) ** 2 + (xx - 10) ** 2) < 25) \
        + 150 * (((zz - 10) ** 2 + (yy - 20) ** 2 + (xx - 20) ** 2) < 25)
    out = segment_clicks(img, [(10, 10, 10), (10, 20, 20)], spacing=[1, 1, 1])
    assert out[10, 10, 10] == 1 and out[10, 20, 20] == 2
    assert 300 < (out == 1).sum() < 700


def test_bad_input_is_refused():
    img, _ = blobs()
    with pytest.raises(ValueError, match="one label per seed"):
        segment_clicks(img, [(1, 1)], seed_labels=[1, 2])
    with pytest.raises(ValueError, match="action must be"):
        segment_clicks(img, [(1, 1)], action="paint")
    with pytest.raises(ValueError, match="positive integer"):
        segment_clicks(img, [(20, 20)], seed_labels=[0])
    with pytest.raises(ValueError, match="outside the image"):
        segment_clicks(img, [(200, 20)])


def test_recipe_step_replays_world_clicks_on_a_slice():
    img, truth = blobs()
    stack = np.stack([img[::-1], img])  # the clicks are on slice 1
    scale, translate = [2.0, 0.5, 0.5], [0.0, 10.0, -4.0]
    seeds = [[1, 20, 20], [1, 50, 70], [1, 20, 37]]
    world = (np.array(seeds) * scale + translate).tolist()
    barrier = np.zeros(stack.shape, np.int32)
    barrier[1][truth == 2] = 9  # an existing object, kept
    step = Step(op="click_segment", params={"rule": "edge"},
                inputs={"image": "img", "barrier": "labels"}, target="labels",
                scope="slice", slice_world=[2.0], scale=scale, translate=translate,
                seeds_world=world, seed_labels=[10, 11, 12])
    recipe = Recipe([step])
    out = recipe.apply({"img": stack, "labels": barrier})["labels"]
    expected = segment_clicks(img, [s[1:] for s in seeds], seed_labels=[10, 11, 12],
                              labels=barrier[1])
    np.testing.assert_array_equal(out[1], expected)
    np.testing.assert_array_equal(out[0], 0)
    again = Recipe.load(recipe.to_json()).apply({"img": stack, "labels": barrier})["labels"]
    np.testing.assert_array_equal(again, out)


def test_exported_script_replays_the_clicks():
    img, _ = blobs()
    step = Step(op="click_segment", params={"rule": "adaptive", "k": 2.0},
                inputs={"image": "img", "barrier": "labels"}, target="labels",
                new_target=True, scale=[1.0, 1.0], translate=[0.0, 0.0],
                seeds_world=[[20, 20], [50, 70], [21, 21]], seed_labels=[1, 2, 1])
    recipe = Recipe([step])
    namespace: dict = {}
    exec(compile(recipe.to_python(), "recipe.py", "exec"), namespace)
    out = namespace["run"]({"img": img})["labels"]
    np.testing.assert_array_equal(out, recipe.apply({"img": img})["labels"])
    assert set(np.unique(out)) == {0, 1, 2}


def test_a_copied_session_is_independent():
    img, truth = blobs()
    existing = np.where(truth == 1, 4, 0).astype(np.int32)
    first = ClickSession(img, labels=existing)
    first.click((50, 70), 5)
    before = first.labels.copy()
    second = first.copy()
    second.click((20, 37), 6)
    second.refine((20, 20))
    second.erase((20, 20))
    np.testing.assert_array_equal(first.labels, before)
    np.testing.assert_array_equal(first.existing, existing)
    assert (first.labels == 4).any() and not (second.labels == 4).any()
