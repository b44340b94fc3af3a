"""Big inputs opened lazily: the same values as napari_maskclean.io reads, chunk by chunk."""

from __future__ import annotations

import pickle

import dask
import dask.array as da
import numpy as np
import pytest

from napari_maskclean import io
from napari_maskclean.batch.lazy_io import is_large, open_lazy, squeeze

zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

SYNC = {"scheduler": "synchronous"}


@pytest.fixture
def labels():
    return np.random.default_rng(0).integers(0, 7, (5, 33, 41)).astype(np.uint16)


def _zarr(path, arr, chunks):
    z = zarr.create_array(str(path), shape=arr.shape, chunks=chunks, dtype=arr.dtype)
    z[...] = arr
    return path


def test_zarr_array_keeps_its_chunks(tmp_path, labels):
    path = _zarr(tmp_path / "a.zarr", labels, (2, 10, 16))
    arr = open_lazy(path)
    assert isinstance(arr, da.Array) and arr.chunks[1] == (10, 10, 10, 3)
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), io.read_mask(path))
    arr = open_lazy(path, tile_size=7)
    assert arr.chunks[2] == (7,) * 5 + (6,)
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), labels)
    assert is_large(path)


def test_ome_zarr_level_0_and_single_array_group(tmp_path, labels):
    g = zarr.open_group(str(tmp_path / "ome.zarr"), mode="w")
    g.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}]}]
    g.create_array("0", shape=labels.shape, dtype=labels.dtype, chunks=(1, 16, 16))[...] = labels
    g.create_array("1", shape=(5, 17, 21), dtype=labels.dtype)
    np.testing.assert_array_equal(open_lazy(tmp_path / "ome.zarr").compute(), labels)
    one = zarr.open_group(str(tmp_path / "one.zarr"), mode="w")
    one.create_array("x", shape=labels.shape, dtype=labels.dtype)[...] = labels
    np.testing.assert_array_equal(open_lazy(tmp_path / "one.zarr").compute(), labels)
    one.create_array("y", shape=(2, 2), dtype="u1")
    with pytest.raises(io.MaskReadError, match="2 arrays"):
        open_lazy(tmp_path / "one.zarr")


def test_large_tiff_read_region_by_region(tmp_path, labels):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, labels, tile=(16, 16), photometric="minisblack")
    assert not is_large(path) and is_large(path, size_limit=100)
    arr = open_lazy(path, size_limit=100, tile_size=12)
    assert arr.chunks[1] == (12, 12, 9)
    pickle.dumps(arr.__dask_graph__())  # the reader holds a path, not an open file
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), io.read_mask(path))
    # a small TIFF is read whole by io.read_mask, then wrapped
    small = open_lazy(path)
    np.testing.assert_array_equal(small.compute(), labels)


def test_large_tiff_on_processes(tmp_path, labels):
    path = tmp_path / "a.tif"
    tifffile.imwrite(path, labels, photometric="minisblack")
    arr = open_lazy(path, size_limit=1, tile_size=20)
    with dask.config.set(scheduler="processes", num_workers=2):
        np.testing.assert_array_equal(arr.compute(), labels)


def test_float_tiff_whole_numbers_become_integers(tmp_path, labels):
    path = tmp_path / "f.tif"
    tifffile.imwrite(path, labels.astype(np.float32), photometric="minisblack")
    arr = open_lazy(path, size_limit=1)
    assert arr.dtype.kind == "i"
    np.testing.assert_array_equal(arr.compute(), io.read_mask(path))
    bad = labels.astype(np.float32)
    bad[4, 30, 40] = 0.5
    tifffile.imwrite(tmp_path / "g.tif", bad, photometric="minisblack")
    with dask.config.set(SYNC), pytest.raises(io.MaskReadError, match="non-integer"):
        open_lazy(tmp_path / "g.tif", size_limit=1, tile_size=8).compute()
    bad[4, 30, 40] = np.nan
    tifffile.imwrite(tmp_path / "n.tif", bad, photometric="minisblack")
    with dask.config.set(SYNC), pytest.raises(io.MaskReadError, match="NaN"):
        open_lazy(tmp_path / "n.tif", size_limit=1).compute()


@pytest.mark.parametrize("planar", [False, True])
def test_rgb_tiff_foreground_is_any_colour(tmp_path, planar):
    rgb = np.zeros((30, 20, 3), np.uint8)
    rgb[3:9, 2:5, 1] = 200
    rgb[20:22, 10:15, 0] = 1
    data = np.moveaxis(rgb, -1, 0) if planar else rgb
    path = tmp_path / "rgb.tif"
    tifffile.imwrite(path, data, photometric="rgb",
                     planarconfig="separate" if planar else "contig")
    arr = open_lazy(path, size_limit=1, tile_size=7)
    assert arr.shape == (30, 20) and arr.dtype == bool
    np.testing.assert_array_equal(arr.compute(), rgb.any(axis=-1))


def test_small_files_and_dask_passthrough(tmp_path):
    a = np.arange(12, dtype=np.uint8).reshape(3, 4)
    io.write_mask(tmp_path / "a.png", a)
    np.testing.assert_array_equal(open_lazy(tmp_path / "a.png").compute(), a)
    x = da.from_array(a, chunks=2)
    assert open_lazy(x) is x
    assert open_lazy(x, tile_size=3).chunks == ((3,), (3, 1))


def test_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        open_lazy(tmp_path / "missing.zarr")
    with pytest.raises(ValueError, match="tile_size"):
        open_lazy(da.zeros(4), tile_size=0)
    (tmp_path / "bad.tif").write_bytes(b"not a tiff at all")
    with pytest.raises(io.MaskReadError, match="bad.tif"):
        open_lazy(tmp_path / "bad.tif", size_limit=1)


def test_squeeze_like_the_report():
    x = da.zeros((1, 5, 1, 4), chunks=2)
    assert squeeze(x).shape == np.squeeze(np.zeros((1, 5, 1, 4))).shape == (5, 4)
    assert squeeze(da.zeros((1, 5))).shape == (1, 5)
