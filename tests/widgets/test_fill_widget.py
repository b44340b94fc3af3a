"""The Fill holes dock widget in a real viewer: preview, commit, undo, RGB masks, nD, errors."""

from pathlib import Path

import numpy as np
import pytest

from napari_maskclean._widgets._live import InputError
from napari_maskclean._widgets.fill_widget import FillWidget
from napari_maskclean.core.fill import fill_labels, fill_rgb_mask
from napari_maskclean.core.holes import fill_nearest, remove_islands
from napari_maskclean.io import load_palette
from napari_maskclean.samples import rgb_mask_sample
from tests.conftest import wait_for_result

pytestmark = pytest.mark.gui

PALETTE_FILE = Path(__file__).parents[2] / "sample_data" / "rgb_palette.json"


def dock(viewer):
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-maskclean", "Fill holes")
    assert isinstance(widget, FillWidget)
    return widget


@pytest.fixture
def labels():
    lab = np.zeros((60, 80), dtype=np.int32)
    lab[10:30, 10:30] = 1
    lab[15:18, 15:18] = 0  # hole (9 px)
    lab[35:55, 40:70] = 2
    lab[40:50, 45:60] = 0  # big hole (150 px)
    lab[44, 50] = 2  # a speck inside the big hole
    lab[5, 75] = 3  # island in the background
    return lab


def assert_preview_shows_changes(widget, before, expected):
    data = widget.preview_layer().data
    changed = expected != before
    np.testing.assert_array_equal(data != 0, changed)
    to_zero = changed & (expected == 0)
    np.testing.assert_array_equal(data[changed & ~to_zero], expected[changed & ~to_zero])
    assert (data[to_zero] == widget.last_result.extra.zero_value).all()
    assert f"{int(changed.sum())} pixels will change" in widget.status.value


def test_labels_preview_commit_undo(make_napari_viewer, qtbot, labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(labels.copy(), name="labels")
    w = dock(viewer)
    w.highlight.value = False  # the changes in the colours of their labels
    w.max_hole_size.value = 20
    w.min_island.value = 2
    wait_for_result(qtbot, w)
    expected = remove_islands(fill_nearest(labels, max_hole_size=20), min_size=2)
    assert (expected[15:18, 15:18] == 1).all() and expected[5, 75] == 0  # it does something
    assert_preview_shows_changes(w, labels, expected)
    np.testing.assert_array_equal(layer.data, labels)  # nothing written yet
    assert w.preview_layer().colormap.map(1) == pytest.approx(layer.colormap.map(1))
    n = w.run_commit()
    assert n == np.count_nonzero(expected != labels)
    np.testing.assert_array_equal(layer.data, expected)
    layer.undo()
    np.testing.assert_array_equal(layer.data, labels)
    layer.redo()
    np.testing.assert_array_equal(layer.data, expected)


def test_all_pixels_distance_dilation_and_invalid_label(make_napari_viewer, qtbot, labels):
    lab = labels.copy()
    lab[lab == 0] = 7  # 7 marks the unlabelled pixels; 0 is a real label here
    lab[0:3, 0:3] = 0
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab.copy())
    w = dock(viewer)
    w.invalid_label.value = 7
    w.fill_mode.value = "all invalid pixels"
    w.max_distance.value = 4.0
    w.dilate.value = 1.0
    w.connectivity.value = "full"
    wait_for_result(qtbot, w)
    expected = fill_nearest(lab, invalid=7, max_distance=4.0, dilate_invalid=1.0)
    assert (expected == 7).any() and (expected != lab).sum() > 100
    assert_preview_shows_changes(w, lab, expected)
    assert w.last_result.job.params["connectivity"] == 2
    w.run_commit()
    np.testing.assert_array_equal(layer.data, expected)
    layer.undo()
    np.testing.assert_array_equal(layer.data, lab)


def test_highlight_recolours_without_recomputing(make_napari_viewer, qtbot, labels):
    viewer = make_napari_viewer()
    viewer.add_labels(labels.copy())
    w = dock(viewer)
    assert w.highlight.value  # magenta by default, as in Morphology
    wait_for_result(qtbot, w)
    result = w.last_result
    assert tuple(w.preview_layer().colormap.map(1)) == pytest.approx((1, 0, 1, 1))
    w.highlight.value = False
    assert w.last_result is result
    assert tuple(w.preview_layer().colormap.map(1)) != pytest.approx((1, 0, 1, 1))


def test_rgb_mask_goes_to_a_new_labels_layer(make_napari_viewer, qtbot):
    sample = rgb_mask_sample()
    noisy = sample["noisy"]
    viewer = make_napari_viewer()
    rgb_layer = viewer.add_image(noisy.copy(), name="RGB", rgb=True)
    w = dock(viewer)
    assert w.target.value is rgb_layer
    assert not w.rgb_invalid.native.isHidden() and w.invalid_label.native.isHidden()
    w.max_colors.value = 6
    w.min_island.value = 4
    wait_for_result(qtbot, w)
    expected = fill_rgb_mask(noisy, palette_max_colors=6, max_hole_size=64,
                             min_island_size=4, spacing=[1.0, 1.0])
    np.testing.assert_array_equal(w.preview_layer().data != 0, expected.changed)
    assert expected.changed.sum() > 10000
    assert "palette: 6 colours" in w.status.value
    w.run_commit()
    out = viewer.layers["RGB labels"]
    np.testing.assert_array_equal(out.data, expected.labels)
    np.testing.assert_array_equal(out.metadata["palette"], expected.palette)
    # the estimated palette is the sample's true palette (black first)
    assert {tuple(c) for c in expected.palette} == {tuple(c) for c in sample["palette"]}
    for k in range(1, len(expected.palette)):
        np.testing.assert_allclose(out.colormap.map(k), [*expected.palette[k] / 255, 1],
                                   atol=1e-6)
    assert out.colormap.map(0)[3] == 0  # black background shown transparent
    # the cleaned colours are the clean sample except a few hundred pixels
    cleaned = expected.palette[out.data]
    assert (cleaned != sample["clean"]).any(-1).sum() < 400
    np.testing.assert_array_equal(rgb_layer.data, noisy)  # the user's RGB is untouched
    out.undo()
    assert not out.data.any()
    np.testing.assert_array_equal(rgb_layer.data, noisy)


def test_rgb_palette_from_file_and_scale(make_napari_viewer, qtbot, tmp_path):
    sample = rgb_mask_sample()
    noisy = sample["noisy"][:120, :160]
    viewer = make_napari_viewer()
    viewer.add_image(noisy.copy(), name="RGB", rgb=True, scale=(2.0, 0.5),
                     translate=(10, 5))
    w = dock(viewer)
    w.palette_source.value = "load from file"
    assert not w.palette_file.native.isHidden()
    qtbot.wait(150)
    assert w.last_result is None and "palette file" in w.status.value
    w.palette_file.value = PALETTE_FILE
    w.fill_mode.value = "all invalid pixels"
    w.max_distance.value = 3.0
    wait_for_result(qtbot, w)
    palette = load_palette(PALETTE_FILE)
    expected = fill_rgb_mask(noisy, palette=palette, max_distance=3.0,
                             spacing=[2.0, 0.5])
    isotropic = fill_rgb_mask(noisy, palette=palette, max_distance=3.0)
    assert (expected.labels != isotropic.labels).any()  # the scale matters
    np.testing.assert_array_equal(w.preview_layer().data != 0, expected.changed)
    np.testing.assert_allclose(w.preview_layer().scale, (2.0, 0.5))
    np.testing.assert_allclose(w.preview_layer().translate, (10, 5))
    w.run_commit()
    out = viewer.layers["RGB labels"]
    np.testing.assert_array_equal(out.data, expected.labels)
    np.testing.assert_array_equal(out.metadata["palette"], palette)
    np.testing.assert_allclose(out.scale, (2.0, 0.5))
    # a bad palette file: a clear message, nothing new
    bad = tmp_path / "bad.json"
    bad.write_text("[[1, 2]]")
    w.palette_file.value = bad
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "palette" in w.last_error
    # nothing new, and no preview of the old palette beside the message
    assert [layer.name for layer in viewer.layers] == ["RGB", "RGB labels"]


def test_labels_scale_is_the_spacing(make_napari_viewer, qtbot, labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(labels.copy(), scale=(4.0, 1.0))
    w = dock(viewer)
    w.fill_mode.value = "all invalid pixels"
    w.max_distance.value = 6.0
    wait_for_result(qtbot, w)
    expected = fill_nearest(labels, max_distance=6.0, spacing=(4.0, 1.0))
    assert (expected != fill_nearest(labels, max_distance=6.0)).any()
    assert_preview_shows_changes(w, labels, expected)
    np.testing.assert_allclose(w.preview_layer().scale, (4.0, 1.0))
    w.run_commit()
    np.testing.assert_array_equal(layer.data, expected)


def test_3d_stack_scopes(make_napari_viewer, qtbot, labels):
    vol = np.stack([labels, np.roll(labels, 3, axis=1), labels])
    viewer = make_napari_viewer()
    layer = viewer.add_labels(vol.copy(), scale=(3.0, 1.0, 1.0))
    w = dock(viewer)
    w.highlight.value = False
    assert not w.scope.native.isHidden()
    viewer.dims.set_current_step(0, 1)
    w.max_hole_size.value = 20
    wait_for_result(qtbot, w)
    assert w.last_result.job.region == (1,)
    w.run_commit()
    np.testing.assert_array_equal(layer.data[1], fill_nearest(vol[1], max_hole_size=20))
    np.testing.assert_array_equal(layer.data[[0, 2]], vol[[0, 2]])
    layer.undo()
    np.testing.assert_array_equal(layer.data, vol)
    w.scope.value = "whole volume"
    wait_for_result(qtbot, w)
    expected = fill_labels(vol, max_hole_size=20, spacing=(3.0, 1.0, 1.0))
    assert_preview_shows_changes(w, vol, expected)
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    expected = fill_labels(vol, max_hole_size=20, per_slice=True)
    assert_preview_shows_changes(w, vol, expected)
    w.run_commit()
    np.testing.assert_array_equal(layer.data, expected)


def test_rgb_stack_current_slice(make_napari_viewer, qtbot):
    clean = rgb_mask_sample()["clean"][:60, :80]
    stack = np.stack([clean, clean, clean]).copy()
    stack[1, 30:33, 30:33] = 0
    stack[1, 10, 10] = [7, 77, 177]
    viewer = make_napari_viewer()
    viewer.add_image(stack.copy(), name="stack", rgb=True)
    w = dock(viewer)
    assert not w.scope.native.isHidden()
    w.rgb_invalid.value = "colour"
    viewer.dims.set_current_step(0, 1)
    wait_for_result(qtbot, w)
    assert w.last_result.job.region == (1,)
    expected = fill_rgb_mask(stack[1], invalid="colour", max_hole_size=64)
    assert w.preview_layer().data.shape == (3, 60, 80)
    np.testing.assert_array_equal(w.preview_layer().data[1] != 0, expected.changed)
    assert not w.preview_layer().data[[0, 2]].any()
    w.run_commit()
    out = viewer.layers["stack labels"]
    assert out.data.shape == (3, 60, 80)
    np.testing.assert_array_equal(out.data[1], expected.labels)
    np.testing.assert_array_equal(viewer.layers["stack"].data, stack)


def test_rgb_stack_slices_with_different_colours_share_one_labels_layer(
        make_napari_viewer, qtbot):
    """Each slice has its own palette; one layer takes both, a label is one colour."""
    stack = np.zeros((2, 40, 40, 3), np.uint8)
    stack[:, 5:20, 5:20] = [255, 0, 0]
    stack[0, 22:38, 22:38] = [0, 0, 255]  # blue only in slice 0
    stack[1, 22:38, 22:38] = [0, 255, 0]  # green only in slice 1
    stack[:, 10, 10] = [128, 0, 0]  # off-palette specks (a red-black blend)
    viewer = make_napari_viewer()
    viewer.add_image(stack.copy(), name="stack", rgb=True)
    w = dock(viewer)
    for z in (0, 1):
        viewer.dims.set_current_step(0, z)
        qtbot.waitUntil(lambda z=z: w.last_result is not None
                        and w.last_result.job.region == (z,) and w.is_current())
        assert w.run_commit() > 0
        assert "the new layer" in w.status.value if z == 0 else "the layer" in w.status.value
    out = [layer for layer in viewer.layers if layer.name.startswith("stack labels")]
    assert len(out) == 1
    palette = np.asarray(out[0].metadata["palette"])
    rgb = palette[out[0].data]  # the labels, seen in the layer's colours
    expected = stack.copy()
    expected[:, 10, 10] = [255, 0, 0]  # the specks take the surrounding red
    np.testing.assert_array_equal(rgb, expected)
    out[0].undo()  # the second commit only
    np.testing.assert_array_equal(palette[out[0].data[0]], expected[0])
    assert not out[0].data[1].any()


def test_rgb_status_says_nothing_was_committed(make_napari_viewer, qtbot):
    noisy = rgb_mask_sample()["noisy"]
    viewer = make_napari_viewer()
    viewer.add_image(noisy.copy(), name="RGB", rgb=True)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    assert w.run_commit() > 0
    assert "committed to the new layer 'RGB labels'" in w.status.value
    w.palette_source.value = "load from file"  # and no file chosen
    qtbot.wait(100)
    assert w.run_commit() == 0
    assert "committed" not in w.status.value


def test_no_valid_pixel_reports_and_changes_nothing(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(np.zeros((20, 30), dtype=np.uint8))
    w = dock(viewer)
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "nothing to fill from" in w.last_error
    assert w.run_commit() == 0
    assert not layer.data.any() and len(layer._undo_history) == 0
    assert w.preview_layer() is None


def test_thousands_of_colours_are_refused(make_napari_viewer, qtbot, rng):
    rgb = rng.integers(0, 256, size=(50, 60, 3), dtype=np.uint8)
    viewer = make_napari_viewer()
    viewer.add_image(rgb.copy(), name="photo", rgb=True)
    w = dock(viewer)
    w.rgb_invalid.value = "colour"
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "distinct colours" in w.last_error and "off-palette" in w.last_error
    assert w.run_commit() == 0
    assert [layer.name for layer in viewer.layers] == ["photo"]
    np.testing.assert_array_equal(viewer.layers["photo"].data, rgb)


def test_max_hole_size_zero_is_impossible(make_napari_viewer, qtbot, labels):
    viewer = make_napari_viewer()
    viewer.add_labels(labels.copy())
    w = dock(viewer)
    with pytest.raises(ValueError, match="outside of the allowed range"):
        w.max_hole_size.value = 0
    assert w.max_hole_size.value == 64
    w.max_hole_size.native.setValue(0)  # as typed in the GUI: Qt clamps to the minimum
    assert w.max_hole_size.value == 1
    wait_for_result(qtbot, w)
    assert w.last_result.job.params["max_hole_size"] == 1
    with pytest.raises(ValueError, match="max_hole_size"):
        fill_labels(labels, max_hole_size=0)  # and the core refuses it too


def test_target_removed(make_napari_viewer, qtbot, labels):
    viewer = make_napari_viewer()
    layer = viewer.add_labels(labels.copy(), name="gone")
    w = dock(viewer)
    wait_for_result(qtbot, w)
    stale = w.last_result
    viewer.layers.remove(layer)
    assert w.target.value is None
    assert w.run_commit() == 0
    assert "removed" in w.last_error
    with pytest.raises(InputError, match="removed"):
        w.commit(stale)  # a result whose layer is gone is refused by commit itself
    np.testing.assert_array_equal(layer.data, labels)
    assert len(layer._undo_history) == 0


def test_rgb_mask_without_black_commits_no_class_as_label_0(make_napari_viewer, qtbot):
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[:, :20] = [255, 0, 0]
    rgb[:, 20:] = [0, 0, 255]
    rgb[10, 10] = [128, 0, 127]  # a red-blue blend speck inside red
    viewer = make_napari_viewer()
    viewer.add_image(rgb.copy(), name="RGB", rgb=True)
    w = dock(viewer)
    w.rgb_invalid.value = "off-palette"
    wait_for_result(qtbot, w)
    assert w.run_commit() == 1
    out = viewer.layers["RGB labels"]
    palette = np.asarray(out.metadata["palette"])
    assert (out.data != 0).all() and (palette[0] == 0).all()
    expected = rgb.copy()
    expected[10, 10] = [255, 0, 0]
    np.testing.assert_array_equal(palette[out.data], expected)


def test_4d_stack_each_slice_works_and_whole_volume_is_explained(make_napari_viewer, qtbot):
    lab = np.zeros((2, 3, 30, 30), np.int32)
    lab[:, :, 5:20, 5:20] = 1
    lab[:, :, 10, 10] = 0  # a hole in each of the 6 slices
    viewer = make_napari_viewer()
    layer = viewer.add_labels(lab.copy(), name="l")
    w = dock(viewer)
    w.scope.value = "each slice"
    wait_for_result(qtbot, w)
    assert w.run_commit() == 6 and (layer.data[:, :, 10, 10] == 1).all()
    w.scope.value = "whole volume"
    qtbot.waitUntil(lambda: w.last_error is not None, timeout=5000)
    assert "each slice" in w.last_error and "channel_axis" not in w.last_error


def test_rgb_commit_twice_changes_nothing_the_second_time(make_napari_viewer, qtbot):
    """After an RGB commit the preview is cleared; committing the same preview again (or
    the same parameters recomputed) writes no new label values into the layer."""
    from napari_maskclean._synthetic import OKABE_ITO, blob_map, jpeg

    img = jpeg(OKABE_ITO[blob_map((128, 128), seed=3)])
    viewer = make_napari_viewer()
    viewer.add_image(img, name="RGB", rgb=True)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    assert w.run_commit() > 0
    out = viewer.layers["RGB labels"]
    first = out.data.copy()
    assert not w.preview_layer().data.any()  # nothing left to preview
    assert w.run_commit() == 0  # the same preview again
    np.testing.assert_array_equal(out.data, first)
    w.min_island.value = 1  # recompute with equivalent parameters
    w.min_island.value = 0
    wait_for_result(qtbot, w)
    w.run_commit()
    np.testing.assert_array_equal(out.data, first)
    assert set(np.unique(out.data)) <= set(range(len(out.metadata["palette"])))
    assert len(out.metadata["palette"]) == 6


def test_rgb_auto_mode_warns_and_keeps_a_black_background(make_napari_viewer, qtbot):
    """'all invalid pixels' on a mask whose black is the largest class: the default 'auto'
    fills only off-palette pixels and says so in the dock; forcing the colour warns."""
    from napari_maskclean._synthetic import OKABE_ITO, blob_map, jpeg

    lab = blob_map((128, 128), seed=4)
    img = jpeg(OKABE_ITO[lab])
    viewer = make_napari_viewer()
    viewer.add_image(img, name="RGB", rgb=True)
    w = dock(viewer)
    assert w.rgb_invalid.value == "auto"
    w.fill_mode.value = "all invalid pixels"
    result = wait_for_result(qtbot, w)
    assert result.value.invalid == "off-palette"
    assert "largest class" in w.status.value
    assert (result.value.labels == 0).sum() > 0.9 * (lab == 0).sum()  # background kept
    w.rgb_invalid.value = "colour + off-palette"
    result = wait_for_result(qtbot, w)
    assert "WARNING" in w.status.value and not (result.value.labels == 0).any()


def test_rgb_preview_cleared_by_a_commit_is_hidden(make_napari_viewer, qtbot):
    from napari_maskclean._synthetic import OKABE_ITO, blob_map, jpeg

    img = jpeg(OKABE_ITO[blob_map((96, 96), seed=4)])
    viewer = make_napari_viewer()
    viewer.add_image(img, name="RGB", rgb=True)
    w = dock(viewer)
    wait_for_result(qtbot, w)
    assert w.preview_layer().visible
    assert w.run_commit() > 0
    assert not w.preview_layer().data.any()
    assert not w.preview_layer().visible


def test_opening_the_dock_warms_up_its_kernels_off_the_gui_thread(
        make_napari_viewer, qtbot, monkeypatch):
    """The numba kernels compile (or load from the cache) when the dock opens, in the
    background, so that the first preview does not wait for them."""
    import threading

    import napari_maskclean._widgets.fill_widget as fw

    calls = []

    def record(func):
        def wrapper(*args, **kwargs):
            calls.append((func.__name__, threading.get_ident()))
            return func(*args, **kwargs)
        return wrapper

    for name in ("fill_rgb_mask", "fill_labels", "warm_up_label_display"):
        monkeypatch.setattr(fw, name, record(getattr(fw, name)))
    viewer = make_napari_viewer()  # no layer: no preview to compute
    w = dock(viewer)
    assert w.last_result is None
    qtbot.waitUntil(lambda: {"fill_rgb_mask", "fill_labels", "warm_up_label_display"}
                    <= {name for name, _ in calls}, timeout=30000)
    assert threading.get_ident() not in {ident for _, ident in calls}
