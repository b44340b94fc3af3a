"""napari_maskclean.core.fill: label and colour-mask cleaning, previews, palettes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.colors import labels_to_rgb
from napari_maskclean.core.fill import (
    change_preview,
    estimate_palette,
    fill_labels,
    fill_rgb_mask,
    palette_color_dict,
)
from napari_maskclean.core.holes import fill_nearest, remove_islands

# sorted lexicographically, as palettes built from images are
PALETTE = np.array([[0, 0, 0], [0, 0, 255], [0, 200, 0], [255, 0, 0]], np.uint8)


@pytest.fixture
def labels():
    lab = np.zeros((40, 50), np.int32)
    lab[5:25, 5:25] = 1
    lab[10:13, 10:13] = 0  # hole, 9 px
    lab[20:38, 30:48] = 2
    lab[25:35, 35:45] = 0  # big hole, 100 px
    lab[2, 45] = 3  # island
    return lab


@pytest.mark.parametrize("kwargs", [
    {},
    {"max_hole_size": 20},
    {"max_hole_size": 20, "min_island_size": 2},
    {"max_distance": 2.0, "dilate_invalid": 1.0},
    {"spacing": (3.0, 1.0), "min_island_size": 5},
])
def test_fill_labels_is_fill_nearest_then_remove_islands(labels, kwargs):
    kw = dict(kwargs)
    min_island = kw.pop("min_island_size", 0)
    expected = fill_nearest(labels, **kw)
    if min_island:
        expected = remove_islands(expected, min_size=min_island, spacing=kw.get("spacing"))
    out = fill_labels(labels, **kwargs)
    np.testing.assert_array_equal(out, expected)
    assert out.dtype == labels.dtype
    assert out is not labels


def test_fill_labels_holes_only_keeps_big_regions(labels):
    out = fill_labels(labels, max_hole_size=20)
    assert (out[10:13, 10:13] == 1).all()
    assert (out[25:35, 35:45] == 0).all()
    assert out[0, 0] == 0  # background untouched


def test_fill_labels_per_slice_skips_empty_planes(labels):
    stack = np.stack([labels, np.zeros_like(labels), labels])
    out = fill_labels(stack, per_slice=True, spacing=(5.0, 1.0, 1.0))
    np.testing.assert_array_equal(out[0], fill_nearest(labels))
    np.testing.assert_array_equal(out[1], 0)  # nothing to fill from: left as it is
    np.testing.assert_array_equal(out[2], out[0])


def test_fill_labels_whole_volume_uses_3d_spacing(labels):
    vol = np.stack([labels, labels * 0, labels])
    out = fill_labels(vol, spacing=(10.0, 1.0, 1.0))
    inside = labels > 0
    np.testing.assert_array_equal(out[1][inside], labels[inside])  # nearest across z
    np.testing.assert_array_equal(out, fill_nearest(vol, spacing=(10.0, 1.0, 1.0)))


@pytest.mark.parametrize("bad", [np.zeros((5, 5), np.int32), np.zeros((2, 5, 5), np.int32)])
def test_nothing_to_fill_from(bad):
    with pytest.raises(ValueError, match="nothing to fill from"):
        fill_labels(bad, per_slice=bad.ndim == 3)


def test_bad_options(labels):
    with pytest.raises(ValueError, match="max_hole_size"):
        fill_labels(labels, max_hole_size=0)
    with pytest.raises(ValueError, match="min_island_size"):
        fill_labels(labels, min_island_size=-1)
    with pytest.raises(TypeError, match="integer label image"):
        fill_labels(labels.astype(float))
    with pytest.raises(ValueError, match="spacing"):
        fill_labels(np.stack([labels] * 2), per_slice=True, spacing=(1.0, 1.0))


def _rgb(labels):
    return labels_to_rgb(labels, PALETTE)


def test_fill_rgb_colour_mode_matches_label_fill(labels):
    rgb = _rgb(labels)
    res = fill_rgb_mask(rgb, invalid="colour", max_hole_size=20)
    np.testing.assert_array_equal(res.palette, PALETTE)  # sorted: already in order
    np.testing.assert_array_equal(res.labels, fill_nearest(labels, max_hole_size=20))
    np.testing.assert_array_equal(res.changed, res.labels != labels)
    assert res.labels.dtype == np.int32


def test_fill_rgb_off_palette_pixels_are_always_filled(labels):
    rgb = _rgb(labels)
    noisy = rgb.copy()
    noisy[15, 15] = [3, 5, 250]  # near blue (label 1): snaps
    noisy[18, 18] = [120, 120, 120]  # far from everything: filled spatially
    res = fill_rgb_mask(noisy, palette=PALETTE, snap=20, max_hole_size=20)
    assert res.labels[15, 15] == 1 and res.labels[18, 18] == 1
    assert res.changed[15, 15] and res.changed[18, 18]
    assert (res.labels[25:35, 35:45] == 0).all()  # big black hole kept


def test_fill_rgb_estimated_palette_merges_noise(labels):
    rgb = _rgb(labels)
    noisy = rgb.copy()
    noisy[6:8, 6:20] = [0, 2, 253]  # 28 px of JPEG-like blue
    noisy[1:4, 44:47] = PALETTE[3]  # red with interior pixels: clusters need them
    assert len(estimate_palette(noisy, min_count=1, drop_blends=False)) == 5
    pal = estimate_palette(noisy, min_count=1, merge=10)
    np.testing.assert_array_equal(pal, PALETTE)
    res = fill_rgb_mask(noisy, snap=10, palette_min_count=1)
    np.testing.assert_array_equal(res.palette, PALETTE)
    assert (res.labels[6:8, 6:20] == 1).all()


def test_estimate_palette_ignores_anti_aliased_edges():
    """Blends along edges cover many pixels but no interior ones: they are not classes."""
    from napari_maskclean.samples import rgb_mask_sample

    sample = rgb_mask_sample()
    noisy = sample["noisy"]
    assert len(np.unique(noisy.reshape(-1, 3), axis=0)) > 1000
    pal = estimate_palette(noisy, merge=30)
    np.testing.assert_array_equal(pal, np.sort(sample["palette"].view("V3"), axis=0).view(
        np.uint8).reshape(-1, 3))
    by_frequency = estimate_palette(noisy, merge=0, drop_blends=False)
    assert len(by_frequency) > len(pal) + 20  # the edge blends pass a frequency rule


def test_estimate_palette_keeps_a_speck_class_that_is_no_blend():
    rgb = np.zeros((6, 6, 3), np.uint8)
    rgb[:, 3:] = [0, 0, 255]
    rgb[:, 3] = [0, 0, 127]  # edge blend of black and blue: dropped
    rgb[0, 0] = [255, 0, 0]  # one red pixel: no interior, but no blend either
    np.testing.assert_array_equal(estimate_palette(rgb, min_count=1),
                                  [[0, 0, 0], [0, 0, 255], [255, 0, 0]])
    with pytest.raises(ValueError, match="min_count"):
        estimate_palette(rgb, min_count=40)


def test_estimate_palette_max_colors_keeps_the_biggest_regions(labels):
    rgb = _rgb(labels)
    pal = estimate_palette(rgb, min_count=1, max_colors=2)
    np.testing.assert_array_equal(pal, PALETTE[:2])  # black and blue: most interior pixels


def test_too_many_colours_is_refused(rng):
    rgb = rng.integers(0, 256, size=(60, 60, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="distinct colours.*off-palette"):
        fill_rgb_mask(rgb, invalid="colour")


def test_leftover_off_palette_pixels_take_the_invalid_colour():
    rgb = np.zeros((1, 8, 3), np.uint8)
    rgb[0, :2] = [255, 0, 0]
    rgb[0, 6] = [9, 99, 9]  # off-palette, 4 px from red
    res = fill_rgb_mask(rgb, palette=[[255, 0, 0]], invalid="off-palette", max_distance=2)
    np.testing.assert_array_equal(res.palette, [[255, 0, 0], [0, 0, 0]])  # black appended
    # red is label 0; pixels farther than 2 from red stay invalid: the invalid colour
    assert res.labels[0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert res.changed[0].tolist() == [False] * 2 + [True] * 2 + [False] * 2 + [True, False]


def test_fill_rgb_rgba_and_stack(labels):
    rgba = np.concatenate([_rgb(labels), np.full(labels.shape + (1,), 255, np.uint8)], -1)
    stack = np.stack([rgba, rgba])
    res = fill_rgb_mask(stack, invalid="colour", per_slice=True)
    assert res.palette.shape[1] == 4
    np.testing.assert_array_equal(res.labels[1], fill_nearest(labels))


def test_fill_rgb_bad_input(labels):
    with pytest.raises(TypeError, match="uint8"):
        fill_rgb_mask(_rgb(labels).astype(float))
    with pytest.raises(ValueError, match="nothing to fill from"):
        fill_rgb_mask(np.zeros((5, 5, 3), np.uint8), invalid="colour")
    with pytest.raises(ValueError, match="max_hole_size"):
        fill_rgb_mask(_rgb(labels), invalid="off-palette", max_hole_size=0)
    with pytest.raises(ValueError, match="invalid"):
        fill_rgb_mask(_rgb(labels), invalid="everything")


def test_change_preview():
    before = np.array([[0, 1, 2, 3]], np.uint8)
    after = np.array([[1, 1, 0, 3]], np.uint8)
    p = change_preview(after, before=before)
    assert p.data.tolist() == [[1, 0, -1, 0]]
    assert (p.n_changed, p.n_zero, p.zero_value, p.values) == (2, 1, -1, (-1, 1))
    assert p.data.dtype == np.int32
    p2 = change_preview(np.array([-1, 0]), changed=np.array([True, True]))
    assert p2.zero_value == np.iinfo(np.int64).min and p2.data[0] == -1
    with pytest.raises(ValueError, match="exactly one"):
        change_preview(after)


def test_palette_color_dict():
    d = palette_color_dict(PALETTE)
    assert d[0] == (0.0, 0.0, 0.0, 0.0) and d[None] == (0.0, 0.0, 0.0, 0.0)
    np.testing.assert_allclose(d[2], (0, 200 / 255, 0, 1))
    assert palette_color_dict(PALETTE, transparent_black=False)[0] == (0.0, 0.0, 0.0, 1.0)
    assert palette_color_dict([[9, 0, 0]])[0][3] == 1.0


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), max_hole=st.sampled_from([None, 1, 3]))
def test_rgb_repairs_take_a_nearest_originally_valid_colour(seed, max_hole):
    """Off-palette and invalid-colour pixels are repaired in one pass: every repaired
    pixel's new colour is that of a nearest pixel that was valid from the start."""
    from scipy import ndimage as ndi

    from napari_maskclean.core.holes import _hole_components

    pal = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(3, 16, size=2))
    lab = rng.integers(0, 4, size=shape)
    rgb = pal[lab]
    off = rng.random(shape) < 0.3
    rgb[off] = [90, 90, 90]
    black = (lab == 0) & ~off
    kept = black & ~_hole_components(black, 1, max_hole) if max_hole else np.zeros_like(black)
    sources = (~off & ~black) | kept  # classes, and black regions too big to be holes
    if not sources.any():
        return
    out = fill_rgb_mask(rgb, palette=pal, max_hole_size=max_hole, snap=0,
                        invalid="colour + off-palette")
    new = out.palette[out.labels]
    np.testing.assert_array_equal(new[sources], rgb[sources])  # sources never change
    dmin = ndi.distance_transform_edt(~sources)
    colour_of = {tuple(c): k for k, c in enumerate(pal)}
    source_lab = np.where(sources, lab, -1)
    for idx in zip(*np.nonzero(~sources)):
        k = colour_of[tuple(new[idx])]
        dk = ndi.distance_transform_edt(source_lab != k)[idx]
        assert dk == dmin[idx], (idx, k, dk, dmin[idx])


@pytest.mark.parametrize("kind", ["jpeg", "anti-aliased"])
def test_estimated_palette_finds_the_classes_of_a_noisy_mask(kind):
    """JPEG / anti-aliased masks: 6 classes found (not ~90 colours), each within a few
    units of the true colour, and nearly every pixel restored to its class."""
    from napari_maskclean._synthetic import OKABE_ITO, antialiased_map, blob_map, jpeg

    if kind == "jpeg":
        truth = blob_map((256, 256), seed=7)
        img = jpeg(OKABE_ITO[truth])
    else:
        truth, img = antialiased_map((256, 256), seed=7)
    pal = estimate_palette(img)
    d = np.abs(pal.astype(int)[:, None] - OKABE_ITO[None].astype(int)).max(-1)
    assert len(pal) == 6 and d.min(1).max() <= 4, pal
    assert sorted(d.argmin(1).tolist()) == list(range(6))
    res = fill_rgb_mask(img)
    assert (d.argmin(1)[res.labels] == truth).mean() > 0.97


def test_estimate_palette_messages():
    with pytest.raises(ValueError, match="no pixels"):
        estimate_palette(np.zeros((0, 5, 3), np.uint8))
    uniform = np.full((30, 30, 3), 7, np.uint8)
    assert estimate_palette(uniform).tolist() == [[7, 7, 7]]
    noise = np.random.default_rng(0).integers(0, 256, (60, 60, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="no uniform regions"):
        estimate_palette(noise)


def test_auto_mode_keeps_a_black_class(labels):
    """Black covering most pixels is a class (background): 'auto' does not fill all of it,
    but still fills holes when max_hole_size bounds them."""
    rgb = _rgb(labels)
    rgb[0, 0] = [120, 120, 120]  # one off-palette pixel
    res = fill_rgb_mask(rgb, palette=PALETTE)
    assert res.colour_is_class and res.invalid == "off-palette"
    assert res.changed.sum() == 1 and (res.labels == 0).sum() == (labels == 0).sum()
    everything = fill_rgb_mask(rgb, palette=PALETTE, invalid="colour + off-palette")
    assert (everything.labels == 0).sum() == 0  # what 'auto' prevents
    holes = fill_rgb_mask(rgb, palette=PALETTE, max_hole_size=20)
    assert holes.invalid == "colour + off-palette" and (holes.labels[10:13, 10:13] == 1).all()
