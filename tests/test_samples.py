"""Tests for napari_maskclean.samples: deterministic, sensible demo data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage import data, filters, measure

from napari_maskclean import samples

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"

GENERATORS = {
    "coins": (samples.coins_sample, samples._coins_cached, ()),
    "blobs3d": (samples.blobs3d_sample, samples._blobs3d_cached, ()),
    "large": (samples.large_sample, samples._large_cached, (512,)),
    "rgb": (samples.rgb_mask_sample, samples._rgb_cached, ()),
}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            assert a[key] == b[key], key


# ----------------------------------------------------------------------------
# generic properties
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", GENERATORS)
def test_deterministic_when_regenerated(name):
    func, cached, args = GENERATORS[name]
    first = func(*args)
    cached.cache_clear()  # force a real second computation
    second = func(*args)
    _assert_same(first, second)


@pytest.mark.parametrize("name", GENERATORS)
def test_returns_independent_writable_copies(name):
    func, _, args = GENERATORS[name]
    first = func(*args)
    arrays = [k for k, v in first.items() if isinstance(v, np.ndarray)]
    assert arrays
    for key in arrays:
        assert first[key].flags.writeable
        first[key][...] = 0
    first["metadata"]["name"] = "changed"
    second = func(*args)
    assert any(second[k].any() for k in arrays)
    assert second["metadata"]["name"] != "changed"


@pytest.mark.parametrize("name", GENERATORS)
def test_scale_and_metadata_are_plain_values(name):
    import json

    func, _, args = GENERATORS[name]
    sample = func(*args)
    ndim = next(v for v in sample.values() if isinstance(v, np.ndarray)).ndim
    scale = sample["scale"]
    assert len(scale) in (ndim, ndim - 1)  # RGB images carry a channel axis
    assert all(isinstance(s, float) and s > 0 for s in scale)
    json.dumps(sample["metadata"])  # JSON-able


def test_no_napari_import():
    code = (
        "import sys; import napari_maskclean.samples, napari_maskclean.io; "
        "bad = [m for m in ('napari', 'qtpy', 'magicgui', 'dask') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        cwd=Path(__file__).resolve().parents[1],
    )


# ----------------------------------------------------------------------------
# coins
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def coins():
    return samples.coins_sample()


def test_coins_shapes_and_dtypes(coins):
    assert coins["image"].shape == coins["truth"].shape == coins["annotation"].shape == (303, 384)
    assert coins["image"].dtype == np.uint8
    assert coins["truth"].dtype == np.int32
    assert coins["annotation"].dtype == np.int32
    np.testing.assert_array_equal(coins["image"], data.coins())


def test_coins_truth_has_one_solid_label_per_coin(coins):
    truth = coins["truth"]
    labels = np.unique(truth[truth > 0])
    assert 22 <= len(labels) <= 26  # the photo shows 24 coins
    np.testing.assert_array_equal(labels, np.arange(1, len(labels) + 1))
    assert coins["metadata"]["n_objects"] == len(labels)
    # each label is one connected, hole-free, coin-sized, round region
    assert ndi.label(truth > 0)[1] == len(labels)
    np.testing.assert_array_equal(ndi.binary_fill_holes(truth > 0), truth > 0)
    for region in measure.regionprops(truth):
        assert 900 <= region.area <= 3500
        assert region.solidity > 0.97
        assert region.eccentricity < 0.7


def test_coins_truth_outlines_the_coins(coins):
    image, truth = coins["image"], coins["truth"]
    # coins are much brighter than the background ...
    assert image[truth > 0].mean() - image[truth == 0].mean() > 60
    # ... it agrees with an independent local-threshold segmentation ...
    smooth = filters.gaussian(image, sigma=2, preserve_range=True)
    local = smooth > filters.threshold_local(smooth, block_size=101, offset=-10)
    local = ndi.binary_opening(ndi.binary_fill_holes(local), iterations=3)
    fg = truth > 0
    assert (local & fg).sum() / (local | fg).sum() > 0.9
    # ... and its outline sits on the edge: the gradient along the boundary is
    # highest where it is, and drops when the outline is shifted by 1 or 2 px
    grad = filters.sobel(filters.gaussian(image, sigma=1, preserve_range=True))

    def boundary_gradient(mask):
        return grad[mask & ~ndi.binary_erosion(mask)].mean()

    here = boundary_gradient(fg)
    assert here > 10 * grad[~ndi.binary_dilation(fg, iterations=3)].mean()
    for shift in (-2, -1, 1, 2):
        for axis in (0, 1):
            assert boundary_gradient(np.roll(fg, shift, axis=axis)) < here


def test_coins_annotation_misses_three_coins(coins):
    truth, ann = coins["truth"], coins["annotation"]
    missing = set(np.unique(truth[truth > 0])) - set(np.unique(ann[ann > 0]))
    assert missing == set(coins["metadata"]["missing_labels"])
    assert len(missing) == 3
    for lab in missing:
        assert not ann[truth == lab].any()  # no speck lands on a missing coin
    assert set(np.unique(ann)) <= set(np.unique(truth))  # no new label ids


def test_coins_annotation_has_holes(coins):
    fg = coins["annotation"] > 0
    filled = ndi.binary_fill_holes(fg)
    holes = filled & ~fg
    n_holes = ndi.label(holes)[1]
    assert n_holes >= coins["metadata"]["n_holes"] >= 10
    assert holes.sum() > 150
    assert not (ndi.binary_fill_holes(coins["truth"] > 0) ^ (coins["truth"] > 0)).any()


def test_coins_annotation_has_background_specks(coins):
    truth, ann = coins["truth"], coins["annotation"]
    far_from_coins = ndi.distance_transform_edt(truth == 0) >= 6
    specks = (ann > 0) & far_from_coins
    components, n = ndi.label(specks)
    assert n >= 20
    sizes = np.bincount(components.ravel())[1:]
    assert sizes.max() <= 25
    # more connected pieces than labels
    assert ndi.label(ann > 0)[1] > len(np.unique(ann[ann > 0])) + 20


def test_coins_annotation_has_ragged_edges(coins):
    truth, ann = coins["truth"], coins["annotation"]
    kept = np.unique(ann[ann > 0])
    ious = []
    for lab in kept:
        t, a = truth == lab, ann == lab
        ious.append((t & a).sum() / (t | a).sum())
        # the ragged outline is longer than the clean one
        assert measure.perimeter(a) > measure.perimeter(t)
    assert 0.75 < min(ious) and max(ious) < 0.99
    assert np.median(ious) > 0.85


# ----------------------------------------------------------------------------
# blobs 3D
# ----------------------------------------------------------------------------


def test_blobs3d_default():
    sample = samples.blobs3d_sample()
    image, truth = sample["image"], sample["truth"]
    assert image.shape == truth.shape == (64, 128, 128)
    assert image.dtype == np.uint8 and truth.dtype == np.int32
    assert sample["scale"] == (2.0, 1.0, 1.0)
    n = sample["metadata"]["n_objects"]
    assert 30 <= n <= 50
    np.testing.assert_array_equal(np.unique(truth), np.arange(n + 1))
    # blobs do not touch: connected components == labels
    assert ndi.label(truth > 0, structure=np.ones((3, 3, 3)))[1] == n
    assert image[truth > 0].mean() - image[truth == 0].mean() > 60
    # noisy: the background is not flat
    assert image[truth == 0].std() > 8


def test_blobs3d_round_in_physical_space():
    sample = samples.blobs3d_sample()
    truth = sample["truth"]
    for region in measure.regionprops(truth, spacing=sample["scale"]):
        lo, hi = np.array(region.bbox[:3]), np.array(region.bbox[3:])
        extent = (hi - lo) * np.array(sample["scale"])
        # axis ratios within what the generator draws (0.75..1), in physical units
        assert extent.min() / extent.max() > 0.55


@pytest.mark.parametrize("shape", [(16, 32, 48), [8, 8, 8], (20, 64, 40)])
def test_blobs3d_custom_shape(shape):
    sample = samples.blobs3d_sample(shape)
    assert sample["image"].shape == tuple(shape)
    assert sample["truth"].max() >= 1


@pytest.mark.parametrize(
    ("shape", "error"),
    [
        ((64, 128), ValueError),
        ((4, 64, 64), ValueError),
        ((8.5, 64, 64), ValueError),
        (64, TypeError),
    ],
)
def test_blobs3d_bad_shape(shape, error):
    with pytest.raises(error, match="shape"):
        samples.blobs3d_sample(shape)


# ----------------------------------------------------------------------------
# large
# ----------------------------------------------------------------------------


def test_large_default_has_about_200_objects():
    sample = samples.large_sample()
    image, ann, truth = sample["image"], sample["annotation"], sample["truth"]
    assert image.shape == ann.shape == truth.shape == (2048, 2048)
    assert image.dtype == np.uint8 and ann.dtype == np.int32
    n_ann = int(ann.max())
    assert 170 <= n_ann <= 260
    assert 180 <= sample["metadata"]["n_objects"] <= 280
    # labels are sequential
    np.testing.assert_array_equal(np.unique(ann), np.arange(n_ann + 1))
    assert image[truth > 0].mean() > image[truth == 0].mean() + 50


def test_large_size_parameter():
    sample = samples.large_sample(300)
    assert sample["image"].shape == (300, 300)
    # the top-left corner is the upscaled coins photo plus bounded noise
    up = np.asarray(samples.coins_sample()["image"], dtype=int)
    corner = sample["image"][:100:2, :100:2].astype(int)
    assert np.abs(corner - up[:50, :50]).mean() < 15


@pytest.mark.parametrize(
    ("size", "error"), [(10, ValueError), (100.0, TypeError), ("2048", TypeError)]
)
def test_large_bad_size(size, error):
    with pytest.raises(error, match="size"):
        samples.large_sample(size)


# ----------------------------------------------------------------------------
# RGB mask
# ----------------------------------------------------------------------------


def _colours(rgb):
    return {tuple(c) for c in np.unique(rgb.reshape(-1, 3), axis=0)}


@pytest.fixture(scope="module")
def rgb():
    return samples.rgb_mask_sample()


def test_rgb_palette_contract(rgb):
    palette = rgb["palette"]
    assert palette.dtype == np.uint8 and palette.shape == (6, 3)
    assert tuple(palette[0]) == (0, 0, 0)
    assert len(_colours(palette[None])) == 6  # distinct
    np.testing.assert_array_equal(palette, samples.RGB_PALETTE)
    assert len(rgb["metadata"]["class_names"]) == len(palette)
    # distinct enough to tell apart after light noise
    d = np.linalg.norm(palette[:, None].astype(float) - palette[None].astype(float), axis=-1)
    assert d[~np.eye(6, dtype=bool)].min() > 60


def test_rgb_clean_has_exactly_the_palette_colours(rgb):
    clean = rgb["clean"]
    assert clean.shape == (240, 320, 3) and clean.dtype == np.uint8
    assert _colours(clean) == {tuple(c) for c in rgb["palette"]}
    np.testing.assert_array_equal(rgb["palette"][rgb["labels"]], clean)
    assert set(np.unique(rgb["labels"])) == set(range(6))


def test_rgb_noisy_damage(rgb):
    clean, noisy, labels = rgb["clean"], rgb["noisy"], rgb["labels"]
    assert noisy.shape == clean.shape and noisy.dtype == np.uint8
    palette_set = {tuple(c) for c in rgb["palette"]}
    assert len(_colours(noisy)) > 3 * len(palette_set)
    off = ~np.isin(
        noisy.reshape(-1, 3).view([("", np.uint8)] * 3),
        rgb["palette"].view([("", np.uint8)] * 3),
    ).reshape(labels.shape)
    # anti-aliasing: blended colours along class boundaries
    k = np.ones((3, 3))
    edge = ndi.maximum_filter(labels, footprint=k) != ndi.minimum_filter(labels, footprint=k)
    assert off[edge].mean() > 0.3
    # JPEG artefacts inside the patches, far more than outside
    patch = np.zeros(labels.shape, bool)
    for r, c, h, w in rgb["metadata"]["jpeg_patches"]:
        patch[r : r + h, c : c + w] = True
    assert off[patch & ~edge].mean() > 5 * off[~patch & ~edge].mean()
    # speckles: isolated off-palette pixels far from edges and patches
    assert (off & ~patch & ~ndi.binary_dilation(edge, iterations=2)).sum() >= 50
    # black holes inside coloured regions
    black = (noisy == 0).all(-1) & (ndi.binary_erosion(labels > 0, iterations=3))
    assert ndi.label(black)[1] >= 8
    # away from all damage, noisy equals clean
    calm = ~patch & ~ndi.binary_dilation(edge | off | black, iterations=4)
    np.testing.assert_array_equal(noisy[calm], clean[calm])


# ----------------------------------------------------------------------------
# the files in sample_data/
# ----------------------------------------------------------------------------


@pytest.mark.skipif(not (SAMPLE_DIR / "coins_truth.png").exists(), reason="run make_samples.py")
def test_sample_files_match_generators(coins, rgb):
    from napari_maskclean import io

    blobs = samples.blobs3d_sample()
    np.testing.assert_array_equal(io.read_image(SAMPLE_DIR / "coins_image.png"), coins["image"])
    np.testing.assert_array_equal(io.read_mask(SAMPLE_DIR / "coins_truth.png"), coins["truth"])
    np.testing.assert_array_equal(
        io.read_mask(SAMPLE_DIR / "coins_annotation.png"), coins["annotation"]
    )
    np.testing.assert_array_equal(io.read_image(SAMPLE_DIR / "rgb_mask_clean.png"), rgb["clean"])
    np.testing.assert_array_equal(io.read_image(SAMPLE_DIR / "rgb_mask_noisy.png"), rgb["noisy"])
    np.testing.assert_array_equal(io.load_palette(SAMPLE_DIR / "rgb_palette.json"), rgb["palette"])
    np.testing.assert_array_equal(io.read_image(SAMPLE_DIR / "blobs3d_image.tif"), blobs["image"])
    np.testing.assert_array_equal(io.read_mask(SAMPLE_DIR / "blobs3d_truth.tif"), blobs["truth"])
    total = sum(p.stat().st_size for p in SAMPLE_DIR.iterdir() if p.is_file())
    assert total < 2 * 1024 * 1024
