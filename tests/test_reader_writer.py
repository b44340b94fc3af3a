"""npe2 reader and writer: label images and RGB colour masks, through napari and directly."""

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_maskclean import _reader, _writer
from napari_maskclean.core.colors import rgb_to_labels
from napari_maskclean.io import read_image, read_mask, write_mask, write_rgb_mask
from napari_maskclean.samples import rgb_mask_sample


@pytest.fixture
def plugin():
    """The installed manifest, with its reader and writer contributions."""
    from npe2 import PluginManager

    pm = PluginManager.instance()
    pm.discover(include_npe1=False)
    manifest = pm.get_manifest("napari-maskclean")
    # the label-image reader/writer come first; the COCO JSON ones follow
    assert [r.command for r in manifest.contributions.readers][0] == "napari-maskclean.get_reader"
    assert [w.command for w in manifest.contributions.writers][0] == \
        "napari-maskclean.write_labels"
    return manifest


@pytest.fixture
def sample():
    return rgb_mask_sample()


def _colours_of(layer, palette):
    for k in range(1, len(palette)):
        np.testing.assert_allclose(layer.colormap.map(k), [*palette[k] / 255, 1], atol=1e-6)


@pytest.mark.gui
def test_rgb_mask_round_trip_in_napari(make_napari_viewer, plugin, sample, tmp_path):
    src = write_rgb_mask(tmp_path / "mask.png", sample["labels"], sample["palette"])
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(src), plugin="napari-maskclean")
    assert layer._type_string == "labels" and layer.name == "mask"
    palette = layer.metadata["palette"]
    assert {tuple(c) for c in palette} == {tuple(c) for c in sample["palette"]}
    np.testing.assert_array_equal(palette[layer.data], sample["clean"])  # colours exact
    _colours_of(layer, palette)
    assert layer.colormap.map(0)[3] == 0  # black background transparent
    # save through napari's writer machinery, then compare the files' pixels
    out = tmp_path / "saved.png"
    layer.save(str(out), plugin="napari-maskclean")
    np.testing.assert_array_equal(read_image(out), sample["clean"])
    # as TIFF: label values
    layer.save(str(tmp_path / "saved.tif"), plugin="napari-maskclean")
    np.testing.assert_array_equal(read_mask(tmp_path / "saved.tif"), layer.data)


@pytest.mark.gui
def test_label_png_and_tiff_open_as_labels(make_napari_viewer, plugin, tmp_path, rng):
    lab16 = np.repeat(rng.integers(0, 1000, size=(20, 6)), 5, axis=1).astype(np.int32)
    vol = np.repeat(rng.integers(0, 5, size=(4, 20, 10)), 3, axis=2).astype(np.uint16)
    png = write_mask(tmp_path / "lab16.png", lab16)
    tif = write_mask(tmp_path / "vol.tif", vol)
    viewer = make_napari_viewer()
    [a] = viewer.open(str(png), plugin="napari-maskclean")
    [b] = viewer.open(str(tif), plugin="napari-maskclean")
    assert a._type_string == b._type_string == "labels"
    np.testing.assert_array_equal(a.data, lab16)
    np.testing.assert_array_equal(b.data, vol)
    assert "palette" not in b.metadata
    b.save(str(tmp_path / "vol2.tiff"), plugin="napari-maskclean")
    np.testing.assert_array_equal(read_mask(tmp_path / "vol2.tiff"), vol)


def test_reader_declines_what_it_does_not_handle(tmp_path, rng):
    photo = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    import cv2

    cv2.imwrite(str(tmp_path / "photo.png"), photo)
    tifffile.imwrite(tmp_path / "float.tif", rng.random((5, 5)).astype(np.float32))
    tifffile.imwrite(tmp_path / "rgb.tif", photo, photometric="rgb")
    (tmp_path / "broken.png").write_bytes(b"not a png")
    (tmp_path / "dir.png").mkdir()
    np.save(tmp_path / "a.npy", np.zeros((3, 3), np.int32))
    mask = write_mask(tmp_path / "ok.png", np.zeros((3, 3), np.uint8))
    grey = rng.integers(0, 256, size=(40, 40), dtype=np.uint8)  # a noisy grey photograph
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    tifffile.imwrite(tmp_path / "grey16.tif", (grey.astype(np.uint16) * 200)[None].repeat(3, 0),
                     photometric="minisblack")
    for path in ["photo.png", "float.tif", "rgb.tif", "broken.png", "dir.png", "a.npy",
                 "missing.png", "grey.png", "grey16.tif"]:
        assert _reader.get_reader(str(tmp_path / path)) is None, path
    assert _reader.get_reader([str(mask), str(mask)]) is None
    assert _reader.get_reader(None) is None
    assert _reader.get_reader(str(mask)) is _reader.read_labels_layer
    assert _reader.get_reader([str(mask)]) is _reader.read_labels_layer
    # binary masks count as labels even when they are all specks
    specks = write_mask(tmp_path / "specks.tif", (grey > 127).astype(np.uint8) * 255)
    assert _reader.get_reader(str(specks)) is _reader.read_labels_layer


def test_reader_rgb_tiff_and_rgba_png(tmp_path, sample):
    tifffile.imwrite(tmp_path / "mask.tif", sample["clean"], photometric="rgb")
    assert _reader.get_reader(str(tmp_path / "mask.tif")) is _reader.read_rgb_mask_layer
    [(labels, kwargs, kind)] = _reader.read_rgb_mask_layer(str(tmp_path / "mask.tif"))
    assert kind == "labels"
    np.testing.assert_array_equal(kwargs["metadata"]["palette"][labels], sample["clean"])
    rgba_palette = np.array([[0, 0, 0, 0], [255, 0, 0, 128], [0, 0, 255, 255]], np.uint8)
    lab = np.array([[0, 1], [2, 1]])
    write_rgb_mask(tmp_path / "rgba.png", lab, rgba_palette)
    [(labels, kwargs, _)] = _reader.get_reader(str(tmp_path / "rgba.png"))(
        str(tmp_path / "rgba.png"))
    np.testing.assert_array_equal(kwargs["metadata"]["palette"][labels], rgba_palette[lab])
    red = int(np.flatnonzero((kwargs["metadata"]["palette"] == [255, 0, 0, 128]).all(1))[0])
    assert kwargs["colormap"][red] == pytest.approx((1, 0, 0, 128 / 255))


def test_writer_direct(tmp_path, sample):
    palette = sample["palette"]
    meta = {"metadata": {"palette": palette}}
    [png] = _writer.write_labels(str(tmp_path / "a.png"), sample["labels"], meta)
    np.testing.assert_array_equal(read_image(png), sample["clean"])
    # without a palette: label values; an existing file is replaced (napari asked first)
    [png] = _writer.write_labels(str(tmp_path / "a.png"), sample["labels"], {})
    np.testing.assert_array_equal(read_mask(png), sample["labels"])
    with pytest.raises(ValueError, match="tif"):
        _writer.write_labels(str(tmp_path / "v.png"), np.zeros((2, 3, 3), np.int32), {})
    with pytest.raises(ValueError, match=r"\.jpg"):
        _writer.write_labels(str(tmp_path / "v.jpg"), sample["labels"], {})
    bad = sample["labels"].copy()
    bad[0, 0] = len(palette)  # a label without a colour
    with pytest.raises(ValueError, match="no colour"):
        _writer.write_labels(str(tmp_path / "b.png"), bad, meta)
    assert not (tmp_path / "b.png").exists() and not (tmp_path / "v.png").exists()
    # the failed write left the earlier file intact
    np.testing.assert_array_equal(read_mask(tmp_path / "a.png"), sample["labels"])


def test_rgb_mask_without_black_keeps_label_0_free(tmp_path):
    """No class may become label 0 (napari's background: eraser, preserve labels)."""
    rgb = np.zeros((10, 12, 3), np.uint8)
    rgb[:, :6] = [255, 0, 0]
    rgb[:, 6:] = [0, 0, 255]  # the smallest colour: it would have been label 0
    path = tmp_path / "no_black.png"
    write_rgb_mask(path, *rgb_to_labels(rgb))
    [(labels, kwargs, _)] = _reader.get_reader(str(path))(str(path))
    assert labels.min() == 1 and (labels != 0).all()
    palette = np.asarray(kwargs["metadata"]["palette"])
    np.testing.assert_array_equal(palette[labels], rgb)  # still exactly the file's colours
    _writer.write_labels(str(tmp_path / "back.png"), labels, {"metadata": kwargs["metadata"]})
    np.testing.assert_array_equal(read_image(tmp_path / "back.png"), rgb)  # lossless


def test_opaque_rgba_mask_is_saved_back_as_rgba(tmp_path):
    rgba = np.full((6, 8, 4), 255, np.uint8)
    rgba[..., :3] = 0
    rgba[:, 4:, :3] = [255, 0, 0]
    path = tmp_path / "opaque.png"
    Image.fromarray(rgba, mode="RGBA").save(path)
    [(labels, kwargs, _)] = _reader.get_reader(str(path))(str(path))
    [out] = _writer.write_labels(str(tmp_path / "back.png"), labels, kwargs)
    back = read_image(out)
    assert back.shape == rgba.shape
    np.testing.assert_array_equal(back, rgba)


def _jpeg_file(path, rgb, quality=80):
    import cv2

    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]),
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    path.write_bytes(buf.tobytes())
    return path


def test_reader_opens_jpeg_and_anti_aliased_masks(tmp_path):
    """A JPEG (quality 80) or anti-aliased colour mask is claimed and opens with its 6
    classes, nearly every pixel in its true class."""
    from napari_maskclean._synthetic import OKABE_ITO, antialiased_map, blob_map

    truth = blob_map((256, 256), seed=2)
    jpg = _jpeg_file(tmp_path / "mask.jpg", OKABE_ITO[truth])
    aa_truth, aa = antialiased_map((256, 256), seed=2)
    Image.fromarray(aa).save(tmp_path / "aa.png")
    assert len(np.unique(aa.reshape(-1, 3), axis=0)) > 256  # not an exact mask
    for path, lab in [(jpg, truth), (tmp_path / "aa.png", aa_truth)]:
        reader = _reader.get_reader(str(path))
        assert reader is _reader.read_noisy_rgb_mask_layer, path
        [(labels, kwargs, kind)] = reader(str(path))
        palette = kwargs["metadata"]["palette"]
        assert kind == "labels" and len(palette) == 6, palette
        d = np.abs(palette.astype(int)[:, None] - OKABE_ITO[None].astype(int)).max(-1)
        assert d.min(1).max() <= 4  # each estimated colour within 4 units of a true one
        right = (d.argmin(1)[labels] == lab).mean()  # pixels in their true class
        assert right > 0.97, (path, right)


@pytest.mark.parametrize("name", ["astronaut", "coffee"])
@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_reader_leaves_photographs_to_napari(tmp_path, name, suffix):
    import skimage.data

    photo = getattr(skimage.data, name)()
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".jpg":
        _jpeg_file(path, photo)
    else:
        Image.fromarray(photo).save(path)
    assert _reader.get_reader(str(path)) is None


@pytest.mark.gui
def test_jpeg_mask_opens_in_napari(make_napari_viewer, plugin, tmp_path):
    from napari_maskclean._synthetic import OKABE_ITO, blob_map

    jpg = _jpeg_file(tmp_path / "mask.jpeg", OKABE_ITO[blob_map((256, 192), seed=1)])
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(jpg), plugin="napari-maskclean")
    assert layer._type_string == "labels" and layer.name == "mask"
    assert len(layer.metadata["palette"]) == 6 and set(np.unique(layer.data)) <= set(range(6))
