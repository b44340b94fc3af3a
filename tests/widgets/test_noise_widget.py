"""The Label noise dock and the noise-floor control in a real viewer."""

from __future__ import annotations

import numpy as np
import pytest

from napari_maskclean._widgets.noise_widget import (
    LEVEL_SIGMA,
    LEVELS,
    NoiseFloorControl,
    NoiseWidget,
)
from napari_maskclean.core.noise_copy import alpha_for_displacement, noisy_labels
from napari_maskclean.core.noise_floor import noise_floor
from napari_maskclean.core.noise_metrics import noise_sweep
from napari_maskclean.recipe import Recipe, Scope
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui


def _labels(shape=(160, 160)):
    a = np.zeros(shape, np.uint8)
    a[20:120, 30:110] = 1
    a[50:90, 60:140] = 2
    a[130:150, 10:40] = 3
    return a


def dock(viewer):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Label noise")
    assert isinstance(widget, NoiseWidget)
    return widget


def _errors(monkeypatch):
    seen = []
    monkeypatch.setattr("napari_maskclean._widgets._engine.show_error", seen.append)
    monkeypatch.setattr("napari_maskclean._widgets.noise_widget.show_error", seen.append)
    return seen


def test_preview_never_touches_the_original(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    a = _labels()
    layer = viewer.add_labels(a.copy(), name="gt", scale=(2.0, 0.5))
    w = dock(viewer)
    assert w.labels.value is layer
    w.alpha.value = 300
    w.sigma.value = 5
    wait_for_result(qtbot, w)
    preview = w.preview_layer()
    assert preview is not None and preview is not layer
    expected = noisy_labels(a, alpha=300.0, sigma=5.0, area_threshold=50, random_state=0)
    np.testing.assert_array_equal(preview.data, expected)
    assert not np.array_equal(expected, a)
    np.testing.assert_array_equal(layer.data, a)  # the original is untouched
    assert len(layer._undo_history) == 0
    np.testing.assert_allclose(preview.scale, layer.scale)
    assert "Dice" in w.status.value and "pixels changed" in w.status.value
    assert viewer.layers.selection.active is layer
    # the displacement image is optional and goes away again
    assert w.displacement_layer() is None
    w.show_displacement.value = True
    wait_for_result(qtbot, w)
    disp = w.displacement_layer()
    _, expected_disp = noisy_labels(a, alpha=300.0, sigma=5.0, area_threshold=50,
                                    random_state=0, return_displacement=True)
    np.testing.assert_allclose(disp.data, expected_disp)
    w.set_hidden(True)  # a background tab hides both of its layers
    assert not disp.visible and not preview.visible
    w.set_hidden(False)
    assert disp.visible and preview.visible
    w.show_displacement.value = False
    wait_for_result(qtbot, w)
    assert w.displacement_layer() is None
    np.testing.assert_array_equal(layer.data, a)
    # every component frozen: the status says why nothing moved and what to change
    w.area_threshold.value = 100000
    wait_for_result(qtbot, w)
    assert "0 pixels changed" in w.status.value and "keep small" in w.status.value


def test_commit_makes_a_new_layer_with_undo_redo_and_a_replayable_step(make_napari_viewer,
                                                                        qtbot):
    viewer = make_napari_viewer()
    a = _labels()
    layer = viewer.add_labels(a.copy(), name="gt", translate=(5, 7))
    w = dock(viewer)
    w.alpha.value = 250
    w.seed.value = 12
    wait_for_result(qtbot, w)
    n_layers = len(viewer.layers)
    n = w.run_commit()
    new = viewer.layers["gt noisy"]
    assert len(viewer.layers) == n_layers + 1 and new is not layer
    expected = w.preview_layer().data
    assert n == np.count_nonzero(expected)
    np.testing.assert_array_equal(new.data, expected)
    assert new.data.dtype == a.dtype
    np.testing.assert_allclose(new.translate, layer.translate)
    np.testing.assert_array_equal(layer.data, a)  # never overwritten
    new.undo()
    assert not new.data.any()
    new.redo()
    np.testing.assert_array_equal(new.data, expected)
    # the recipe step replays to the committed pixels
    step = w.recipe_step(w.last_result)
    assert step.op == "elastic_deform_labels" and step.params["random_state"] == 12
    assert step.new_target and step.target == "gt noisy" and step.inputs == {"labels": "gt"}
    replay = Recipe(steps=[step]).apply({"gt": a})["gt noisy"]
    np.testing.assert_array_equal(replay, new.data)
    replay_json = Recipe.load(Recipe(steps=[step]).to_json()).apply(a)
    np.testing.assert_array_equal(replay_json, new.data)


def test_stack_scopes_and_4d_refusal(make_napari_viewer, qtbot, monkeypatch):
    errors = _errors(monkeypatch)
    viewer = make_napari_viewer()
    stack = np.stack([_labels((64, 64))] * 3)
    viewer.add_labels(stack.copy(), name="stack")
    w = dock(viewer)
    assert w.scope.value == "whole volume"
    w.alpha.value = 400
    w.sigma.value = 3
    wait_for_result(qtbot, w)  # whole volume: one 3D field
    np.testing.assert_array_equal(w.preview_layer().data, noisy_labels(
        stack, alpha=400.0, sigma=3.0, area_threshold=50))
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    w.run_commit()
    step = w.recipe_step(w.last_result)
    assert step.scope is Scope.EACH_SLICE or step.scope == "each_slice"
    np.testing.assert_array_equal(Recipe(steps=[step]).apply(stack),
                                  viewer.layers["stack noisy"].data)
    # current slice: the slider's slice only, and the step says which
    viewer.dims.set_current_step(0, 2)
    w.scope.value = "current slice"
    wait_for_result(qtbot, w)
    assert w.last_result.job.region == (2,)
    w.run_commit()
    step = w.recipe_step(w.last_result)
    assert step.scope == Scope.SLICE and step.region() == (2,)
    committed = viewer.layers["stack noisy [1]"].data
    np.testing.assert_array_equal(Recipe(steps=[step]).apply(stack), committed)
    # 4D: the whole volume is refused with the fix
    viewer.add_labels(np.zeros((2, 2, 32, 32), np.uint8), name="4d")
    w.labels.value = viewer.layers["4d"]
    w.scope.value = "whole volume"
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "each slice" in w.last_error and any("4d" in e for e in errors)


@pytest.mark.parametrize(("data", "words"), [
    (np.zeros((40, 40), np.uint8), "Convert to Labels"),
    (np.random.default_rng(0).random((40, 40)), "float64"),
])
def test_non_label_layers_get_a_clear_notification(make_napari_viewer, qtbot, monkeypatch,
                                                   data, words):
    errors = _errors(monkeypatch)
    viewer = make_napari_viewer()
    image = viewer.add_image(data, name="picture")
    w = dock(viewer)
    w.labels.value = image
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert words in w.last_error and errors and words in errors[-1]
    assert w.preview_layer() is None and not w.commit_button.enabled
    w.calibrate()  # the background tools refuse it too, with the same words
    assert words in w.calibration_note.value


def test_calibration_reaches_its_target(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_labels(_labels(), name="gt")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    w.sigma.value = 6
    w.target_kind.value = "Dice"
    w.target_value.value = 0.95
    w.calibrate()
    qtbot.waitUntil(lambda: w.calibration is not None and not w.busy, timeout=60000)
    cal = w.calibration
    assert cal.reached and abs(cal.achieved - 0.95) <= cal.tolerance
    assert w.alpha.value == pytest.approx(round(cal.alpha, 2))
    assert "reached" in w.calibration_note.value and "Dice" in w.calibration_note.value
    wait_for_result(qtbot, w)  # the preview follows the calibrated alpha
    assert w.last_result.job.params["alpha"] == pytest.approx(round(cal.alpha, 2))


def test_sweep_plots_in_the_dock_and_can_be_cancelled(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    viewer.add_labels(_labels((96, 96)), name="gt")
    w = dock(viewer)
    w.sigma.value = 5
    w.sweep_alphas.value = "0, 100, 300"
    w.sweep_repeats.value = 2
    w.sweep()
    assert w.busy
    qtbot.waitUntil(lambda: not w.busy, timeout=60000)
    rows = w.sweep_rows
    assert [r["alpha"] for r in rows] == [0.0, 100.0, 300.0]
    assert rows[0]["dice_mean"] == 1.0 and rows[2]["dice_mean"] < rows[1]["dice_mean"] < 1
    # one alpha at a time gives the core's sweep (the same seeds for every alpha)
    full = noise_sweep(_labels((96, 96)), [0.0, 100.0, 300.0], [5.0], repeats=2,
                       metrics=("dice", "boundary_f1", "mean_boundary_shift"),
                       area_threshold=50)
    assert rows == full
    fig = w.figure
    assert fig is not None and fig.axes
    data_line = fig.axes[0].containers[0].lines[0]  # the Dice errorbar's data line
    np.testing.assert_allclose(np.asarray(data_line.get_ydata(), float),
                               [r["dice_mean"] for r in rows])
    # cancel: a long sweep stops and leaves the last plot alone
    w.sweep_alphas.value = ", ".join(str(v) for v in range(0, 2000, 20))
    w.sweep()
    assert w.busy and w.cancel_button.enabled
    w.cancel_background()
    assert not w.busy and w.calibration_note.value == "cancelled"
    qtbot.wait(200)
    assert w.sweep_rows is rows  # the cancelled result never arrives
    w.sweep_alphas.value = "1, x"
    w.sweep()
    assert "numbers" in w.calibration_note.value


def test_noise_floor_control_presets_and_result(qtbot):
    control = NoiseFloorControl()
    assert control.alpha.value == pytest.approx(
        round(alpha_for_displacement(LEVELS["moderate (1 px)"], LEVEL_SIGMA), 1))
    control.level.value = "strong (2 px)"
    assert control.alpha.value == pytest.approx(round(alpha_for_displacement(2.0, 10.0), 1))
    control.alpha.value = 80
    assert control.level.value == "custom"
    control.repeats.value = 2
    truth = _labels()
    got = []
    control.computed.connect(got.append)
    control.truth_getter = lambda: (truth, {"positive": None})
    control.button.clicked.emit()
    qtbot.waitUntil(lambda: bool(got), timeout=30000)
    expected = noise_floor(truth, alpha=80.0, sigma=10.0, repeats=2, random_state=0)
    assert got[0]["f1"] == pytest.approx(expected["f1"])
    assert got[0]["per_class"]["labels"] == [0, 1, 2, 3]
    assert "Dice" in control.note.value
    assert control.compute(truth)["iou"] == pytest.approx(expected["iou"])


def test_instance_safe_keeps_every_instance_whole(make_napari_viewer, qtbot):
    from skimage.measure import label

    viewer = make_napari_viewer()
    rng = np.random.default_rng(3)
    inst = np.zeros((128, 128), np.int32)
    for k in range(1, 30):  # small instances that strong noise would break up
        y, x = rng.integers(4, 120, 2)
        inst[y:y + 6, x:x + 5] = k
    viewer.add_labels(inst, name="nuclei")
    w = dock(viewer)
    w.area_threshold.value = 0
    w.alpha.value = 2000
    w.sigma.value = 2
    w.instance_safe.value = True
    wait_for_result(qtbot, w)
    out = w.preview_layer().data
    for k in np.unique(inst)[1:]:
        pieces = label(out == k, connectivity=2).max()
        assert pieces == label(inst == k, connectivity=2).max() >= 1


def test_calibrate_and_sweep_measure_what_the_dock_previews(make_napari_viewer, qtbot,
                                                            monkeypatch):
    # The dock's instance-safe option reaches the calibration and the sweep.
    seen = []

    def spy(real):
        def wrapped(*args, **kwargs):
            seen.append(kwargs["instance_safe"])
            return real(*args, **kwargs)
        return wrapped

    mod = "napari_maskclean._widgets.noise_widget"
    from napari_maskclean._widgets import noise_widget

    monkeypatch.setattr(f"{mod}.calibrate_noise", spy(noise_widget.calibrate_noise))
    monkeypatch.setattr(f"{mod}.noise_sweep", spy(noise_widget.noise_sweep))
    viewer = make_napari_viewer()
    viewer.add_labels(_labels((96, 96)), name="gt")
    w = dock(viewer)
    w.instance_safe.value = True
    w.calibrate()
    qtbot.waitUntil(lambda: w.calibration is not None and not w.busy, timeout=60000)
    w.sweep_alphas.value = "0, 50"
    w.sweep()
    qtbot.waitUntil(lambda: not w.busy, timeout=60000)
    assert seen == [True, True, True]  # calibrate, then one sweep call per alpha
