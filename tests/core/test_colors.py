import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.core.colors import labels_to_rgb, palette_from_rgb, rgb_to_labels
from napari_maskclean.core.holes import fill_nearest


def _random_mask(rng, shape, n_colours, n_ch=3):
    palette = np.unique(rng.integers(0, 256, (n_colours, n_ch)).astype(np.uint8), axis=0)
    lab = rng.integers(0, len(palette), shape)
    return palette[lab], palette


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shape=st.sampled_from([(1, 1), (5, 7), (3, 4, 5), (16, 2)]),
    n_colours=st.integers(1, 40),
    n_ch=st.sampled_from([3, 4]),
    low_range=st.booleans(),
)
def test_round_trip_exact(seed, shape, n_colours, n_ch, low_range):
    rng = np.random.default_rng(seed)
    high = 3 if low_range else 256  # many near-identical colours too
    palette = rng.integers(0, high, (n_colours, n_ch)).astype(np.uint8)
    rgb = palette[rng.integers(0, n_colours, shape)]
    labels, pal = rgb_to_labels(rgb)
    assert labels.dtype == np.int32 and labels.shape == shape
    assert np.array_equal(labels_to_rgb(labels, pal), rgb)
    ref = np.unique(rgb.reshape(-1, n_ch), axis=0)  # lexicographic reference
    assert np.array_equal(pal, ref)
    # the same palette given explicitly gives the same labels
    labels2, pal2 = rgb_to_labels(rgb, pal)
    assert np.array_equal(labels2, labels) and np.array_equal(pal2, pal)


def test_palette_order_black_first_and_deterministic():
    rgb = np.array(
        [[[255, 0, 0], [0, 0, 0], [0, 255, 0]], [[0, 0, 255], [0, 255, 0], [255, 0, 0]]],
        np.uint8,
    )
    labels, pal = rgb_to_labels(rgb)
    assert pal.tolist() == [[0, 0, 0], [0, 0, 255], [0, 255, 0], [255, 0, 0]]
    assert labels.tolist() == [[3, 0, 2], [1, 2, 3]]
    # pixel order does not change the palette
    perm = rgb.reshape(-1, 3)[::-1].reshape(rgb.shape)
    assert np.array_equal(rgb_to_labels(perm)[1], pal)
    # without black, colours are simply sorted
    assert rgb_to_labels(rgb[:, 2:])[1].tolist() == [[0, 255, 0], [255, 0, 0]]


def test_rgba_order_transparent_first():
    rgba = np.array([[[0, 0, 0, 255], [0, 0, 0, 0], [9, 9, 9, 255]]], np.uint8)
    labels, pal = rgb_to_labels(rgba)
    assert pal.tolist() == [[0, 0, 0, 0], [0, 0, 0, 255], [9, 9, 9, 255]]
    assert labels.tolist() == [[1, 0, 2]]


def test_given_palette_and_off_palette_pixels():
    palette = np.array([[0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    rgb = palette[np.array([[0, 1, 2], [2, 1, 0]])]
    rgb[0, 1] = [250, 4, 3]  # off-palette
    labels, pal = rgb_to_labels(rgb, palette, snap=0)  # exact colours only
    assert pal is not palette and np.array_equal(pal, palette)
    assert labels.tolist() == [[0, -1, 2], [2, 1, 0]]
    snapped, _ = rgb_to_labels(rgb, palette, snap=10)
    assert snapped.tolist() == [[0, 1, 2], [2, 1, 0]]
    assert rgb_to_labels(rgb, palette, snap=7)[0][0, 1] == -1  # sqrt(50) = 7.07 > 7
    assert rgb_to_labels(rgb, palette, snap=np.sqrt(50))[0][0, 1] == 1  # boundary included
    # a non-sorted palette keeps its own label order
    rev = palette[::-1]
    assert rgb_to_labels(palette[None], rev)[0].tolist() == [[2, 1, 0]]
    # None (the default) snaps automatically: (250, 4, 3) is red
    assert rgb_to_labels(rgb, palette)[0].tolist() == [[0, 1, 2], [2, 1, 0]]


@pytest.mark.parametrize("n_ch", [3, 4])
def test_snap_matches_brute_force(n_ch):
    rng = np.random.default_rng(n_ch)
    palette = np.unique(rng.integers(0, 256, (12, n_ch)).astype(np.uint8), axis=0)
    palette[1] = palette[0]
    palette[1, 0] ^= 2  # two colours 2 apart: ties are possible in between
    palette = np.unique(palette, axis=0)
    rgb = palette[rng.integers(0, len(palette), (40, 50))].astype(int)
    rgb = np.clip(rgb + rng.integers(-6, 7, rgb.shape), 0, 255).astype(np.uint8)
    snap = 7.5
    labels, _ = rgb_to_labels(rgb, palette, snap=snap)
    d2 = ((rgb.reshape(-1, 1, n_ch).astype(int) - palette[None].astype(int)) ** 2).sum(-1)
    best = d2.argmin(1)  # first minimum = lowest label on ties
    ref = np.where(d2.min(1) <= snap**2, best, -1).reshape(rgb.shape[:2])
    assert np.array_equal(labels, ref)
    assert (labels == -1).any() and (labels >= 0).any()


def test_snap_then_fill_repairs_off_palette_pixels():
    rng = np.random.default_rng(0)
    palette = np.array([[0, 0, 0], [200, 30, 30], [30, 200, 30]], np.uint8)
    lab = np.zeros((40, 40), int)
    lab[5:20, 5:30] = 1
    lab[22:35, 10:38] = 2
    rgb = palette[lab]
    noisy = rgb.copy()
    specks = rng.random(lab.shape) < 0.05
    noisy[specks] = rng.integers(0, 256, (specks.sum(), 3))
    labels, pal = rgb_to_labels(noisy, palette, snap=0)
    assert (labels[specks] == -1).mean() > 0.9
    repaired = labels_to_rgb(fill_nearest(labels, invalid=-1), pal)
    colours = {tuple(c) for c in repaired.reshape(-1, 3)}
    assert colours <= {tuple(c) for c in palette}
    assert (repaired == rgb).all(axis=-1).mean() > 0.97


def test_too_many_colours_refused_with_count():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (50, 60, 3)).astype(np.uint8)
    n = len(np.unique(rgb.reshape(-1, 3), axis=0))
    with pytest.raises(ValueError, match=f"{n} distinct colours.*estimate_palette"):
        rgb_to_labels(rgb)
    labels, pal = rgb_to_labels(rgb, max_colors=n)
    assert np.array_equal(labels_to_rgb(labels, pal), rgb)


def test_palette_from_rgb_most_frequent():
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[:, 10:] = [255, 0, 0]
    rgb[:5, :5] = [0, 255, 0]
    rgb[0, 0] = [1, 2, 3]  # noise: one pixel
    rgb[1, 1] = [4, 5, 6]
    assert palette_from_rgb(rgb, min_count=2).tolist() == [[0, 0, 0], [0, 255, 0], [255, 0, 0]]
    # max_colors keeps the most frequent, still sorted lexicographically
    assert palette_from_rgb(rgb, max_colors=2, min_count=1).tolist() == [[0, 0, 0], [255, 0, 0]]
    assert len(palette_from_rgb(rgb, min_count=1)) == 5
    assert len(palette_from_rgb(rgb)) == 5  # default: 0.01 % of 400 px -> min_count 1
    big = np.zeros((200, 200, 3), np.uint8)
    big[0, 0] = 7
    assert palette_from_rgb(big).tolist() == [[0, 0, 0]]  # default drops a lone speck
    with pytest.raises(ValueError, match="lower min_count"):
        palette_from_rgb(rgb, min_count=10_000)


def test_labels_to_rgb_errors():
    palette = np.array([[0, 0, 0], [9, 9, 9]], np.uint8)
    with pytest.raises(ValueError, match="fill_nearest"):
        labels_to_rgb(np.array([[0, -1]]), palette)
    with pytest.raises(ValueError, match="label 2 has no colour"):
        labels_to_rgb(np.array([[0, 2]]), palette)
    with pytest.raises(TypeError, match="integer label image"):
        labels_to_rgb(np.array([[0.0, 1.0]]), palette)
    assert labels_to_rgb(np.array([True, False]), palette).tolist() == [[9, 9, 9], [0, 0, 0]]


@pytest.mark.parametrize(
    "args,kwargs,exc,match",
    [
        ((np.zeros((4,), np.uint8),), {}, ValueError, r"\(\.\.\., 3\)"),
        ((np.zeros((4, 4, 5), np.uint8),), {}, ValueError, "np.moveaxis"),
        ((np.zeros((4, 4, 3), float),), {}, TypeError, "astype"),
        ((np.full((2, 2, 3), 300),), {}, ValueError, "0..255"),
        ((np.zeros((2, 2, 3), np.uint8),), {"snap": 3}, ValueError, "snap needs a palette"),
        ((np.zeros((2, 2, 3), np.uint8), [[0, 0, 0], [0, 0, 0]]), {}, ValueError, "duplicate"),
        ((np.zeros((2, 2, 3), np.uint8), [[0, 0, 0, 0]]), {}, ValueError, "4 channels"),
        ((np.zeros((2, 2, 3), np.uint8), [[0, 0, 0]]), {"snap": -1}, ValueError, "snap must"),
        ((np.zeros((2, 2, 3), np.uint8),), {"max_colors": 0}, ValueError, "max_colors"),
    ],
)
def test_rgb_to_labels_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rgb_to_labels(*args, **kwargs)


def test_integer_input_and_no_mutation():
    rgb = np.array([[[0, 0, 0], [255, 0, 0]]], dtype=np.int64)
    before = rgb.copy()
    labels, pal = rgb_to_labels(rgb)
    assert labels.tolist() == [[0, 1]] and pal.dtype == np.uint8
    assert np.array_equal(rgb, before)


def test_default_snap_restores_jpeg_and_anti_aliased_masks():
    """Palette given, snap left at its default: JPEG noise (quality 80) and anti-aliased
    edges come back to their true class (exact matching restored ~13 % of a JPEG)."""
    from napari_maskclean._synthetic import OKABE_ITO, antialiased_map, blob_map, jpeg

    truth = blob_map((256, 256), seed=5)
    aa_truth, aa = antialiased_map((256, 256), seed=5)
    for lab, img in [(truth, jpeg(OKABE_ITO[truth])), (aa_truth, aa)]:
        labels, _ = rgb_to_labels(img, OKABE_ITO)
        sure = labels >= 0
        assert sure.mean() > 0.9  # exact colours only: 0.13 on the JPEG
        assert (labels[sure] == lab[sure]).mean() > 0.995  # snapped pixels are right
        filled = fill_nearest(labels, invalid=-1)
        assert (filled == lab).mean() > 0.98
        assert (rgb_to_labels(img, OKABE_ITO, snap=0)[0] == lab).mean() < 0.96


def test_auto_snap_is_a_fraction_of_the_palette_spacing():
    from napari_maskclean.core.colors import auto_snap

    assert auto_snap([[0, 0, 0], [0, 0, 40], [255, 0, 0]]) == pytest.approx(30.0)
    assert auto_snap([[7, 7, 7]]) == 0.0
    # a blend halfway between two colours stays off-palette (ratio test), then is filled
    palette = np.array([[0, 0, 0], [200, 0, 0]], np.uint8)
    assert rgb_to_labels(np.array([[[100, 0, 0]]], np.uint8), palette)[0][0, 0] == -1
    assert rgb_to_labels(np.array([[[60, 0, 0]]], np.uint8), palette)[0][0, 0] == 0
    with pytest.raises(ValueError, match="rows 0 and 2 are both"):
        auto_snap([[1, 2, 3], [0, 0, 0], [1, 2, 3]])
