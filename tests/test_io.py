"""Tests for napari_maskclean.io: lossless round trips, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from hypothesis import given, settings
from hypothesis.extra import numpy as hnp
from PIL import Image

from napari_maskclean import io
from napari_maskclean.io import (
    is_rgb_mask_file,
    load_palette,
    read_image,
    read_mask,
    read_rgb_mask,
    save_palette,
    write_mask,
    write_rgb_mask,
)

PALETTE = np.array([[0, 0, 0], [255, 0, 0], [0, 200, 0], [0, 0, 255]], dtype=np.uint8)


def _colors_module():
    return pytest.importorskip(
        "napari_maskclean.core.colors", reason="core/colors.py not written yet"
    )


def _labels(rng, shape=(17, 23), high=5, dtype=np.int32):
    return rng.integers(0, high, size=shape).astype(dtype)


# ----------------------------------------------------------------------------
# write_mask / read_mask round trips
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dtype", "high", "stored"),
    [
        (np.uint8, 256, np.uint8),
        (bool, 2, np.uint8),
        (np.uint16, 65536, np.uint16),
        (np.int32, 65536, np.uint16),
        (np.int64, 300, np.uint16),
        (np.uint32, 40000, np.uint16),
    ],
)
def test_png_round_trip_exact(tmp_path, rng, dtype, high, stored):
    labels = _labels(rng, high=high, dtype=dtype)
    labels.flat[0] = high - 1  # the largest value is representable
    path = write_mask(tmp_path / "m.png", labels)
    assert path == tmp_path / "m.png"
    back = read_mask(path)
    assert back.dtype == stored
    assert back.shape == labels.shape
    np.testing.assert_array_equal(back, labels.astype(np.int64))
    # an independent reader sees the same values
    np.testing.assert_array_equal(np.asarray(Image.open(path)), back)


@pytest.mark.parametrize("ext", [".tif", ".tiff", ".npy"])
@pytest.mark.parametrize(
    ("dtype", "shape", "low", "high"),
    [
        (np.int32, (13, 9), -5, 100),
        (np.uint32, (13, 9), 0, 2**32 - 1),
        (np.int64, (4, 13, 9), -(2**40), 2**40),
        (np.uint16, (3, 4, 13, 9), 0, 65535),
        (np.uint8, (6, 7, 3), 0, 255),  # a volume whose last axis happens to be 3
        (bool, (5, 6, 7), 0, 2),
    ],
)
def test_tiff_and_npy_round_trip_exact(tmp_path, rng, ext, dtype, shape, low, high):
    draw_dtype = np.uint64 if dtype == np.uint32 else np.int64
    labels = rng.integers(low, high, size=shape, dtype=draw_dtype)
    labels = labels.astype(dtype)
    path = write_mask(tmp_path / f"m{ext}", labels)
    back = read_mask(path)
    assert back.dtype == labels.dtype
    np.testing.assert_array_equal(back, labels)
    if ext != ".npy":
        np.testing.assert_array_equal(tifffile.imread(path), labels)


def test_3d_tiff_round_trip_of_sample(tmp_path):
    from napari_maskclean.samples import blobs3d_sample

    truth = blobs3d_sample((16, 32, 32))["truth"]
    back = read_mask(write_mask(tmp_path / "blobs.tif", truth))
    assert back.shape == (16, 32, 32)
    np.testing.assert_array_equal(back, truth)


@settings(max_examples=30, deadline=None)
@given(
    labels=hnp.arrays(
        dtype=np.uint16,
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    )
)
def test_png_round_trip_property(tmp_path_factory, labels):
    path = tmp_path_factory.mktemp("png") / "p.png"
    back = read_mask(write_mask(path, labels))
    np.testing.assert_array_equal(back, labels)


def test_write_does_not_mutate_input_and_leaves_no_temp_files(tmp_path, rng):
    labels = _labels(rng)
    before = labels.copy()
    write_mask(tmp_path / "a.png", labels)
    write_mask(tmp_path / "a.tif", labels)
    write_mask(tmp_path / "a.npy", labels)
    np.testing.assert_array_equal(labels, before)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "a.png", "a.tif"]


def test_write_accepts_lists_and_str_paths(tmp_path):
    path = write_mask(str(tmp_path / "l.png"), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(read_mask(str(path)), [[0, 1], [2, 3]])


# ----------------------------------------------------------------------------
# overwrite and errors
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", [".png", ".tif", ".npy"])
def test_overwrite_refused_unless_asked(tmp_path, ext):
    path = tmp_path / f"m{ext}"
    write_mask(path, np.ones((4, 4), np.uint8))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_mask(path, np.zeros((4, 4), np.uint8))
    np.testing.assert_array_equal(read_mask(path), 1)  # untouched
    write_mask(path, np.full((4, 4), 2, np.uint8), overwrite=True)
    np.testing.assert_array_equal(read_mask(path), 2)


def test_unknown_extension_lists_supported(tmp_path):
    with pytest.raises(ValueError, match=r"\.bmp.*supported: \.png, \.tif"):
        write_mask(tmp_path / "m.bmp", np.zeros((2, 2), np.uint8))
    (tmp_path / "x.bmp").write_bytes(b"BM")
    with pytest.raises(ValueError, match="supported"):
        read_image(tmp_path / "x.bmp")
    with pytest.raises(ValueError, match="no extension"):
        write_mask(tmp_path / "noext", np.zeros((2, 2), np.uint8))


def test_read_missing_file(tmp_path):
    for reader in (read_image, read_mask, read_rgb_mask, load_palette):
        with pytest.raises(FileNotFoundError, match="does not exist"):
            reader(tmp_path / "missing.png")


def test_write_into_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="create it first"):
        write_mask(tmp_path / "nope" / "m.png", np.zeros((2, 2), np.uint8))


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([[0, -1]], np.int32), "negative.*tif"),
        (np.array([[0, 65536]], np.int32), "65536.*65535.*tif"),
        (np.zeros((2, 3, 4), np.uint8), "2D.*tif"),
    ],
)
def test_png_limits(tmp_path, labels, match):
    with pytest.raises(ValueError, match=match):
        write_mask(tmp_path / "m.png", labels)
    assert not (tmp_path / "m.png").exists()


@pytest.mark.parametrize("bad", [np.zeros((3, 3), np.float32), np.array([["a"]])])
def test_write_non_integer_labels(tmp_path, bad):
    with pytest.raises(TypeError, match="integer or boolean"):
        write_mask(tmp_path / "m.tif", bad)


def test_write_1d_rejected(tmp_path):
    with pytest.raises(ValueError, match="at least 2D"):
        write_mask(tmp_path / "m.tif", np.arange(5))


# ----------------------------------------------------------------------------
# reading images and masks written by other tools
# ----------------------------------------------------------------------------


def test_read_image_colour_order_and_depth(tmp_path):
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[1, 1] = (0, 0, 255)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")  # Pillow writes RGB
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)
    rgba = np.dstack([rgb, np.full((3, 4), 128, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgba)
    grey16 = np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000
    cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    back = read_image(tmp_path / "g16.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, grey16)
    rgb16 = (rgb.astype(np.uint16) * 257)[..., ::-1]  # OpenCV writes BGR
    cv2.imwrite(str(tmp_path / "rgb16.png"), rgb16)
    back = read_image(tmp_path / "rgb16.png")
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, rgb.astype(np.uint16) * 257)


def test_read_image_jpeg_and_tiff_and_npy(tmp_path, rng):
    image = rng.integers(0, 256, size=(16, 16), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "a.jpg", quality=95)
    jpg = read_image(tmp_path / "a.jpg")
    assert jpg.shape == (16, 16) and jpg.dtype == np.uint8
    np.testing.assert_array_equal(jpg, np.asarray(Image.open(tmp_path / "a.jpg")))
    stack = rng.random((3, 8, 8)).astype(np.float32)
    tifffile.imwrite(tmp_path / "s.tif", stack, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "s.tif"), stack)
    np.save(tmp_path / "a.npy", stack)
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy"), stack)


def test_read_npy_refuses_pickles(tmp_path):
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="plain array"):
        read_image(tmp_path / "o.npy")


def test_read_mask_indexed_png_gives_indices(tmp_path):
    indices = np.array([[0, 1, 2], [2, 1, 255]], np.uint8)
    im = Image.fromarray(indices, mode="P")
    im.putpalette([0, 0, 0, 200, 10, 10, 10, 200, 10] + [255, 255, 255] * 253)
    im.save(tmp_path / "voc.png")
    np.testing.assert_array_equal(read_mask(tmp_path / "voc.png"), indices)
    # as an image it is expanded to its colours
    colours = read_image(tmp_path / "voc.png")
    assert colours.shape == (2, 3, 3)
    np.testing.assert_array_equal(colours[0, 1], [200, 10, 10])


def test_read_mask_refuses_colour_images(tmp_path):
    Image.fromarray(PALETTE[np.array([[0, 1], [2, 3]])]).save(tmp_path / "c.png")
    with pytest.raises(ValueError, match="read_rgb_mask"):
        read_mask(tmp_path / "c.png")
    tifffile.imwrite(tmp_path / "c.tif", PALETTE[np.array([[0, 1], [2, 3]])], photometric="rgb")
    with pytest.raises(ValueError, match="read_rgb_mask"):
        read_mask(tmp_path / "c.tif")
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "m.jpg")
    with pytest.raises(ValueError, match="supported"):
        read_mask(tmp_path / "m.jpg")


def test_read_mask_float_tiff(tmp_path):
    whole = np.array([[0, 1], [2, 70000]], np.float32)
    tifffile.imwrite(tmp_path / "f.tif", whole)
    back = read_mask(tmp_path / "f.tif")
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, [[0, 1], [2, 70000]])
    tifffile.imwrite(tmp_path / "p.tif", np.array([[0.2, 0.9]], np.float32))
    with pytest.raises(ValueError, match="probability map"):
        read_mask(tmp_path / "p.tif")


def test_read_mask_binary_png_from_other_tools(tmp_path):
    Image.fromarray(np.array([[True, False], [False, True]])).save(tmp_path / "b.png")
    back = read_mask(tmp_path / "b.png")
    np.testing.assert_array_equal(back > 0, [[True, False], [False, True]])


def test_read_damaged_png(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="cannot read.*damaged"):
        read_image(tmp_path / "bad.png")


# ----------------------------------------------------------------------------
# zarr
# ----------------------------------------------------------------------------


def test_read_zarr(tmp_path, rng):
    zarr = pytest.importorskip("zarr")
    labels = _labels(rng, shape=(6, 7), dtype=np.uint16)
    arr = zarr.open_array(
        str(tmp_path / "a.zarr"), mode="w", shape=labels.shape, dtype=labels.dtype
    )
    arr[:] = labels
    np.testing.assert_array_equal(read_mask(tmp_path / "a.zarr"), labels)
    np.testing.assert_array_equal(read_image(tmp_path / "a.zarr"), labels)

    group = zarr.open_group(str(tmp_path / "one.zarr"), mode="w")
    group.create_array("labels", shape=labels.shape, dtype=labels.dtype)[:] = labels
    np.testing.assert_array_equal(read_mask(tmp_path / "one.zarr"), labels)

    # OME-Zarr style: the first multiscale dataset is read
    ome = zarr.open_group(str(tmp_path / "ome.zarr"), mode="w")
    ome.create_array("0", shape=labels.shape, dtype=labels.dtype)[:] = labels
    ome.create_array("1", shape=(3, 3), dtype=labels.dtype)[:] = 9
    ome.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}]}]
    np.testing.assert_array_equal(read_mask(tmp_path / "ome.zarr"), labels)

    two = zarr.open_group(str(tmp_path / "two.zarr"), mode="w")
    two.create_array("a", shape=(2, 2), dtype="u1")
    two.create_array("b", shape=(2, 2), dtype="u1")
    with pytest.raises(ValueError, match="2 arrays"):
        read_mask(tmp_path / "two.zarr")


# ----------------------------------------------------------------------------
# is_rgb_mask_file
# ----------------------------------------------------------------------------


def test_is_rgb_mask_file(tmp_path, rng):
    labels = rng.integers(0, 4, size=(40, 50))
    Image.fromarray(PALETTE[labels]).save(tmp_path / "mask.png")
    assert is_rgb_mask_file(tmp_path / "mask.png")
    rgba = np.dstack([PALETTE[labels], np.full(labels.shape, 255, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "mask_rgba.png")
    assert is_rgb_mask_file(tmp_path / "mask_rgba.png")
    tifffile.imwrite(tmp_path / "mask.tif", PALETTE[labels], photometric="rgb")
    assert is_rgb_mask_file(tmp_path / "mask.tif")

    photo = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    assert not is_rgb_mask_file(tmp_path / "photo.png")
    tifffile.imwrite(tmp_path / "photo.tif", photo, photometric="rgb")
    assert not is_rgb_mask_file(tmp_path / "photo.tif")
    Image.fromarray(PALETTE[labels]).save(tmp_path / "mask.jpg")
    assert not is_rgb_mask_file(tmp_path / "mask.jpg")  # lossy: not handled
    write_mask(tmp_path / "labels.png", labels)
    assert not is_rgb_mask_file(tmp_path / "labels.png")  # grey labels
    cv2.imwrite(str(tmp_path / "rgb16.png"), PALETTE[labels].astype(np.uint16) * 257)
    assert not is_rgb_mask_file(tmp_path / "rgb16.png")
    Image.fromarray(labels.astype(np.uint8), mode="P").save(tmp_path / "indexed.png")
    assert not is_rgb_mask_file(tmp_path / "indexed.png")  # indices are labels
    (tmp_path / "fake.png").write_text("hello")
    assert not is_rgb_mask_file(tmp_path / "fake.png")
    assert not is_rgb_mask_file(tmp_path / "missing.png")
    assert not is_rgb_mask_file(tmp_path)


@pytest.mark.parametrize(("n_colours", "expected"), [(256, True), (257, False)])
def test_is_rgb_mask_file_colour_limit(tmp_path, rng, n_colours, expected):
    colours = rng.choice(2**24, size=n_colours, replace=False)
    rgb = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], -1).astype(np.uint8)
    # a big image where one colour appears in a single pixel only (missed by subsampling)
    idx = np.zeros(600 * 700, np.int64)
    idx[: n_colours - 1] = np.arange(n_colours - 1)
    idx[(n_colours - 1) :: 2] = rng.integers(0, n_colours - 1, size=idx[(n_colours - 1) :: 2].size)
    idx[-1] = n_colours - 1
    Image.fromarray(rgb[idx].reshape(600, 700, 3)).save(tmp_path / "m.png")
    assert is_rgb_mask_file(tmp_path / "m.png") is expected


def test_is_rgb_mask_file_on_sample(tmp_path):
    from napari_maskclean.samples import rgb_mask_sample

    sample = rgb_mask_sample()
    Image.fromarray(sample["clean"]).save(tmp_path / "clean.png")
    Image.fromarray(sample["noisy"]).save(tmp_path / "noisy.png")
    assert is_rgb_mask_file(tmp_path / "clean.png")
    assert not is_rgb_mask_file(tmp_path / "noisy.png")  # > 256 colours


@pytest.mark.parametrize("channels", [3, 4])
def test_has_few_colors_matches_numpy(rng, channels):
    rgb = rng.integers(0, 3, size=(300, 400, channels), dtype=np.uint8)
    n = len(np.unique(rgb.reshape(-1, channels), axis=0))
    assert io._has_few_colors(rgb, n)
    assert not io._has_few_colors(rgb, n - 1)


# ----------------------------------------------------------------------------
# palettes
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("palette", [PALETTE, np.array([[0, 0, 0, 0], [1, 2, 3, 255]], np.uint8)])
def test_palette_round_trip(tmp_path, palette):
    path = save_palette(tmp_path / "p.json", palette)
    rows = json.loads(path.read_text())
    assert rows == palette.tolist()
    back = load_palette(path)
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, palette)


def test_palette_overwrite_and_validation(tmp_path):
    path = save_palette(tmp_path / "p.json", [[0, 0, 0], [9, 9, 9]])
    with pytest.raises(FileExistsError, match="overwrite=True"):
        save_palette(path, PALETTE)
    save_palette(path, PALETTE, overwrite=True)
    np.testing.assert_array_equal(load_palette(path), PALETTE)
    with pytest.raises(ValueError, match="8-bit"):
        save_palette(tmp_path / "q.json", [[0, 0, 300]])
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        save_palette(tmp_path / "q.json", [0, 0, 0])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[0, 0, 0], [1, 2", "not valid JSON"),
        ('{"palette": 1}', "not a palette"),
        ("[[0, 0, 0], [1, 2]]", "not a palette"),
        ("[[0, 0, 0.5]]", "not a palette"),
        ("[[0, 0, 256]]", "8-bit"),
        ("[]", "not a palette"),
    ],
)
def test_load_palette_errors(tmp_path, text, match):
    (tmp_path / "p.json").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_palette(tmp_path / "p.json")


# ----------------------------------------------------------------------------
# RGB masks (checks that run before core.colors is used need no skip)
# ----------------------------------------------------------------------------


def test_read_rgb_mask_rejects_16_bit_and_grey(tmp_path):
    cv2.imwrite(str(tmp_path / "rgb16.png"), np.full((4, 4, 3), 1000, np.uint16))
    with pytest.raises(ValueError, match="16-bit.*8-bit"):
        read_rgb_mask(tmp_path / "rgb16.png")
    write_mask(tmp_path / "grey.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="read_mask"):
        read_rgb_mask(tmp_path / "grey.png")


@pytest.mark.parametrize(
    ("labels", "palette", "name", "error", "match"),
    [
        (np.array([[0, 4]]), PALETTE, "m.png", ValueError, "label 4 has no colour"),
        (np.array([[0, -1]]), PALETTE, "m.png", ValueError, "fill invalid"),
        (np.array([[0, 1]]), PALETTE, "m.jpg", ValueError, "supported: .png"),
        (np.zeros((2, 2, 2), int), PALETTE, "m.png", ValueError, "2D"),
        (np.array([[0, 1]]), PALETTE.astype(np.uint16) * 257, "m.png", ValueError, "16-bit"),
        (np.array([[0.0, 1.0]]), PALETTE, "m.png", TypeError, "integer"),
    ],
)
def test_write_rgb_mask_errors(tmp_path, labels, palette, name, error, match):
    with pytest.raises(error, match=match):
        write_rgb_mask(tmp_path / name, labels, palette)
    assert not (tmp_path / name).exists()


def test_rgb_mask_round_trip(tmp_path, rng):
    _colors_module()
    labels = rng.integers(0, len(PALETTE), size=(30, 40))
    path = write_rgb_mask(tmp_path / "m.png", labels, PALETTE)
    # the file is plain 8-bit RGB with the palette colours, readable anywhere
    np.testing.assert_array_equal(np.asarray(Image.open(path).convert("RGB")), PALETTE[labels])
    assert is_rgb_mask_file(path)
    back, palette = read_rgb_mask(path, PALETTE)
    assert back.dtype == np.int32
    np.testing.assert_array_equal(back, labels)
    np.testing.assert_array_equal(palette, PALETTE)
    # palette from a JSON file
    save_palette(tmp_path / "p.json", PALETTE)
    back, _ = read_rgb_mask(path, tmp_path / "p.json")
    np.testing.assert_array_equal(back, labels)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_rgb_mask(path, labels, PALETTE)


def test_rgb_mask_without_palette_is_consistent(tmp_path, rng):
    _colors_module()
    labels = rng.integers(0, len(PALETTE), size=(30, 40))
    path = write_rgb_mask(tmp_path / "m.png", labels, PALETTE)
    back, palette = read_rgb_mask(path)
    np.testing.assert_array_equal(palette[back], PALETTE[labels])
    assert tuple(palette[0]) == (0, 0, 0)


def test_rgb_mask_rgba_palette(tmp_path):
    _colors_module()
    palette = np.array([[0, 0, 0, 0], [255, 0, 0, 255], [0, 0, 255, 128]], np.uint8)
    labels = np.array([[0, 1, 2], [2, 1, 0]])
    path = write_rgb_mask(tmp_path / "m.png", labels, palette)
    np.testing.assert_array_equal(read_image(path), palette[labels])
    back, _ = read_rgb_mask(path, palette)
    np.testing.assert_array_equal(back, labels)


def test_read_rgb_mask_marks_off_palette(tmp_path):
    _colors_module()
    from napari_maskclean.samples import rgb_mask_sample

    sample = rgb_mask_sample()
    Image.fromarray(sample["noisy"]).save(tmp_path / "noisy.png")
    labels, _ = read_rgb_mask(tmp_path / "noisy.png", sample["palette"], snap=0)
    assert (labels == -1).any()
    ok = labels >= 0
    np.testing.assert_array_equal(sample["palette"][labels[ok]], sample["noisy"][ok])


def test_sample_files_are_readable_as_documented():
    folder = Path(__file__).resolve().parents[1] / "sample_data"
    if not (folder / "rgb_palette.json").exists():
        pytest.skip("run sample_data/make_samples.py")
    assert is_rgb_mask_file(folder / "rgb_mask_clean.png")
    assert not is_rgb_mask_file(folder / "coins_truth.png")
    palette = load_palette(folder / "rgb_palette.json")
    assert palette.shape == (6, 3)


def test_is_rgb_mask_file_very_large_png(tmp_path, rng, monkeypatch):
    # Pillow refuses images above 2 * MAX_IMAGE_PIXELS; the probe falls back to OpenCV
    labels = rng.integers(0, 4, size=(40, 50))
    Image.fromarray(PALETTE[labels]).save(tmp_path / "mask.png")
    photo = rng.integers(0, 256, size=(40, 50, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(Image.DecompressionBombError):
        Image.open(tmp_path / "mask.png")
    assert is_rgb_mask_file(tmp_path / "mask.png")
    assert not is_rgb_mask_file(tmp_path / "photo.png")


def test_read_rgb_mask_snap_is_passed_on(tmp_path):
    _colors_module()
    from napari_maskclean.samples import rgb_mask_sample

    sample = rgb_mask_sample()
    Image.fromarray(sample["noisy"]).save(tmp_path / "noisy.png")
    strict, _ = read_rgb_mask(tmp_path / "noisy.png", sample["palette"], snap=0)
    snapped, _ = read_rgb_mask(tmp_path / "noisy.png", sample["palette"], snap=40)
    auto, _ = read_rgb_mask(tmp_path / "noisy.png", sample["palette"])  # snap chosen from it
    assert (snapped == -1).sum() < (strict == -1).sum() / 2
    assert (auto == -1).sum() < (strict == -1).sum() / 2
    assert (auto == sample["labels"]).mean() > 0.9
    agree = snapped == sample["labels"]
    assert agree.mean() > 0.9
    with pytest.raises(ValueError, match="snap"):
        read_rgb_mask(tmp_path / "noisy.png", snap=40)  # snapping needs a palette


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_low_bit_grey_png_keeps_the_stored_values(tmp_path, bits):
    """OpenCV scales 1/2/4-bit grey PNGs to 0..255; a 0/1 mask must read as 0/1."""
    from PIL import Image

    top = 2**bits - 1
    lab = (np.arange(8 * 8).reshape(8, 8) % (top + 1)).astype(np.uint8)
    path = tmp_path / f"lab{bits}.png"
    if bits == 1:
        Image.fromarray(lab.astype(bool)).save(path)
    else:
        Image.fromarray(lab, mode="L").save(path, bits=bits)
    assert path.read_bytes()[24] == bits  # really a low-bit file
    np.testing.assert_array_equal(read_mask(path), lab)


def test_palette_values_out_of_range_are_a_message(tmp_path):
    path = tmp_path / "p.json"
    for rows in ([[0, 0, 10**30]], [[0, 0, 256]], [[-1, 0, 0]]):
        path.write_text(json.dumps(rows))
        with pytest.raises(ValueError, match="between 0 and 255"):
            load_palette(path)


# ----------------------------------------------------------------------------
# the one atomic, no-clobber writer
# ----------------------------------------------------------------------------


def _names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_atomic_write_temp_file_is_hidden_next_to_target(tmp_path):
    seen = []

    def write(tmp):
        seen.append(tmp)
        assert tmp.exists()  # created (empty) before write is called
        tmp.write_text("data")

    out = io.atomic_write(tmp_path / "r.csv", write)
    assert out == tmp_path / "r.csv" and out.read_text() == "data"
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp.name.startswith(".r.tmp-")
    assert _names(tmp_path) == ["r.csv"]


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_atomic_write_killed_mid_write_leaves_nothing(tmp_path, exc):
    def write(tmp):
        tmp.write_text("half a fi")
        raise exc

    with pytest.raises(type(exc)):
        io.atomic_write(tmp_path / "r.csv", write)
    assert _names(tmp_path) == []
    # with overwrite, the old file stays as it was
    (tmp_path / "r.csv").write_text("old")
    with pytest.raises(type(exc)):
        io.atomic_write(tmp_path / "r.csv", write, overwrite=True)
    assert _names(tmp_path) == ["r.csv"] and (tmp_path / "r.csv").read_text() == "old"


def test_atomic_write_never_clobbers_a_file_created_meanwhile(tmp_path):
    target = tmp_path / "r.csv"

    def write(tmp):
        tmp.write_text("ours")
        target.write_text("someone else's")  # appears while we write

    with pytest.raises(FileExistsError) as info:
        io.atomic_write(target, write)
    assert str(target) in str(info.value) and "--overwrite" in str(info.value)
    assert target.read_text() == "someone else's"
    assert _names(tmp_path) == ["r.csv"]  # no temporary file left


def test_atomic_write_without_hard_links_stays_no_clobber(tmp_path, monkeypatch):
    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")  # e.g. FAT, some FUSE mounts

    monkeypatch.setattr(io._atomic.os, "link", no_links)
    target = tmp_path / "r.txt"
    io.atomic_write(target, lambda tmp: tmp.write_text("a"))
    assert target.read_text() == "a"

    def write(tmp):
        tmp.write_text("b")
        target.write_text("theirs")

    target.unlink()
    with pytest.raises(FileExistsError, match="already exists"):
        io.atomic_write(target, write)
    assert target.read_text() == "theirs" and _names(tmp_path) == ["r.txt"]


def test_atomic_write_refuses_before_writing(tmp_path):
    calls = []
    (tmp_path / "d.csv").mkdir()
    with pytest.raises(IsADirectoryError, match="folder"):
        io.atomic_write(tmp_path / "d.csv", calls.append, overwrite=True)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.atomic_write(tmp_path / "no" / "r.csv", calls.append)
    (tmp_path / "r.csv").write_text("keep")
    with pytest.raises(FileExistsError, match="overwrite"):
        io.atomic_write(tmp_path / "r.csv", calls.append)
    assert calls == [] and (tmp_path / "r.csv").read_text() == "keep"


def test_atomic_write_errors_name_the_target_not_the_temp(tmp_path):
    def write(tmp):
        raise OSError(28, "No space left on device", str(tmp))

    with pytest.raises(OSError) as info:
        io.atomic_write(tmp_path / "r.csv", write)
    message = str(info.value)
    assert str(tmp_path / "r.csv") in message and "tmp-" not in message
    assert info.value.errno == 28 and _names(tmp_path) == []

    def write2(tmp):
        raise ValueError(f"cannot encode {tmp}")

    with pytest.raises(ValueError) as info:
        io.atomic_write(tmp_path / "r.csv", write2)
    assert "tmp-" not in str(info.value) and "r.csv" in str(info.value)


def test_check_writable_probes_the_folder(tmp_path):
    assert io.check_writable(tmp_path / "r.csv") == tmp_path / "r.csv"
    assert _names(tmp_path) == []  # the probe is removed
    if Path("/proc/self").exists():  # root can "write" /proc by os.access; the probe knows better
        with pytest.raises(OSError, match="not writable"):
            io.check_writable("/proc/r.csv")


def _writers(tmp_path):
    """Every product writer, as (target, call) pairs; the call writes without overwrite."""
    from napari_maskclean import _writer
    from napari_maskclean.report import Report

    report = Report(rows=[], skipped=[("a", "why")])
    lab = np.array([[0, 1], [2, 3]], np.uint8)
    return {
        "mask.png": lambda p: write_mask(p, lab),
        "mask.tif": lambda p: write_mask(p, lab),
        "mask.npy": lambda p: write_mask(p, lab),
        "rgb.png": lambda p: write_rgb_mask(p, lab, PALETTE),
        "palette.json": lambda p: save_palette(p, PALETTE),
        "report.csv": lambda p: report.write_csv(p),
        "report.json": lambda p: report.write_json(p),
        "report2.csv": lambda p: report.write(p),
        "plot.png": lambda p: report.plot(p),
        "layer.tif": lambda p: _writer.write_labels(str(p), lab, {}),
    }


@pytest.mark.parametrize(
    "name",
    ["mask.png", "mask.tif", "mask.npy", "rgb.png", "palette.json", "report.csv",
     "report.json", "report2.csv", "plot.png", "layer.tif"],
)
def test_every_writer_is_atomic(tmp_path, monkeypatch, name):
    pytest.importorskip("matplotlib")
    call = _writers(tmp_path)[name]
    real_commit = io._atomic._commit

    def killed(tmp, target, **kw):
        assert tmp.stat().st_size > 0  # the file was written completely first
        raise KeyboardInterrupt  # Ctrl-C just before the move

    monkeypatch.setattr(io._atomic, "_commit", killed)
    with pytest.raises(KeyboardInterrupt):
        call(tmp_path / name)
    assert _names(tmp_path) == []  # no partial file, no temporary file
    if name == "layer.tif":
        return  # napari's writer replaces (its Save dialog has asked)

    def raced(tmp, target, **kw):
        target.write_text("created meanwhile")
        return real_commit(tmp, target, **kw)

    monkeypatch.setattr(io._atomic, "_commit", raced)
    with pytest.raises(FileExistsError, match="already exists"):
        call(tmp_path / name)
    assert (tmp_path / name).read_text() == "created meanwhile"
    assert _names(tmp_path) == [name]


# ----------------------------------------------------------------------------
# unreadable files: one MaskReadError naming the file
# ----------------------------------------------------------------------------


def _bad_files(tmp_path):
    lab = (np.arange(64 * 64).reshape(64, 64) % 7).astype(np.uint8)
    write_mask(tmp_path / "good.png", lab)
    write_mask(tmp_path / "good.tif", lab)
    write_mask(tmp_path / "good.npy", lab)
    files = {}
    for ext in (".png", ".tif", ".npy"):
        data = (tmp_path / f"good{ext}").read_bytes()
        for kind, payload in (("empty", b""), ("truncated", data[: len(data) // 2]),
                              ("text", b"hello, I am not an image\n" * 10)):
            path = tmp_path / f"{kind}{ext}"
            path.write_bytes(payload)
            files[path.name] = path
    (tmp_path / "folder.png").mkdir()
    files["folder.png"] = tmp_path / "folder.png"
    return files


@pytest.mark.parametrize("reader", [read_mask, read_image, read_rgb_mask])
def test_unreadable_files_raise_one_clear_error(tmp_path, reader):
    for name, path in _bad_files(tmp_path).items():
        with pytest.raises(io.MaskReadError) as info:
            reader(path)
        message = str(info.value)
        assert name in message, message
        assert "\n" not in message and "tmp" not in message.replace(str(tmp_path), "")
    assert issubclass(io.MaskReadError, ValueError)


def test_permission_denied_is_a_read_error(tmp_path, monkeypatch):
    write_mask(tmp_path / "m.png", np.eye(4, dtype=np.uint8))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "m.png"))

    monkeypatch.setattr(io._read.np, "fromfile", denied)
    with pytest.raises(io.MaskReadError, match=r"m\.png.*permission denied"):
        read_mask(tmp_path / "m.png")
    monkeypatch.setattr(io._common.os, "access", lambda *a: False)
    with pytest.raises(io.MaskReadError, match=r"m\.png.*permission denied"):
        read_image(tmp_path / "m.png")


def test_napari_reader_gives_the_same_clear_error(tmp_path):
    from napari_maskclean import _reader

    files = _bad_files(tmp_path)
    for path in files.values():
        assert _reader.get_reader(str(path)) is None  # a probe never raises
    with pytest.raises(io.MaskReadError, match="truncated.png"):
        _reader.read_labels_layer(str(files["truncated.png"]))
    with pytest.raises(io.MaskReadError, match="empty.tif"):
        _reader.read_rgb_mask_layer(str(files["empty.tif"]))


# ----------------------------------------------------------------------------
# palettes with duplicate colours
# ----------------------------------------------------------------------------


def test_palette_duplicate_colours_are_refused(tmp_path):
    dup = [[0, 0, 0], [255, 0, 0], [0, 255, 0], [255, 0, 0]]
    with pytest.raises(ValueError, match=r"duplicate colour \[255, 0, 0\] for labels 1 and 3"):
        save_palette(tmp_path / "p.json", dup)
    assert _names(tmp_path) == []
    (tmp_path / "p.json").write_text(json.dumps(dup))
    with pytest.raises(io.MaskReadError, match=r"p\.json.*\[255, 0, 0\].*labels 1 and 3"):
        load_palette(tmp_path / "p.json")
    with pytest.raises(ValueError, match="duplicate colour"):
        write_rgb_mask(tmp_path / "m.png", np.zeros((2, 2), np.uint8), dup)
    # RGBA rows differing only in alpha are distinct colours
    save_palette(tmp_path / "q.json", [[0, 0, 0, 0], [0, 0, 0, 255]])


# ---- folder stores (.zarr) through the same atomic writer ---------------------------
def test_atomic_write_zarr_folder_store(tmp_path):
    zarr = pytest.importorskip("zarr")
    from napari_maskclean.io import atomic_write

    target = tmp_path / "out.zarr"

    def write(tmp):
        arr = zarr.open_array(str(tmp), mode="w", shape=(4, 5), dtype="u1")
        arr[...] = 7

    atomic_write(target, write)
    assert (zarr.open_array(str(target), mode="r")[...] == 7).all()
    # no clobbering without overwrite, and nothing left behind
    with pytest.raises(FileExistsError, match="out.zarr"):
        atomic_write(target, write)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]

    def write_other(tmp):
        arr = zarr.open_array(str(tmp), mode="w", shape=(2, 2), dtype="u1")
        arr[...] = 3

    atomic_write(target, write_other, overwrite=True)
    assert zarr.open_array(str(target), mode="r").shape == (2, 2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zarr"]


def test_atomic_write_zarr_failure_leaves_nothing(tmp_path):
    from napari_maskclean.io import atomic_write

    def broken(tmp):
        (tmp / "partial").write_text("x")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "v.zarr", broken)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_zarr_created_meanwhile_is_not_clobbered(tmp_path):
    from napari_maskclean.io import atomic_write

    target = tmp_path / "v.zarr"

    def write(tmp):
        (tmp / "data").write_text("new")
        target.mkdir()  # someone else creates the store while we write
        (target / "theirs").write_text("old")

    with pytest.raises(FileExistsError):
        atomic_write(target, write)
    assert sorted(p.name for p in target.iterdir()) == ["theirs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.zarr"]
