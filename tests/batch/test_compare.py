"""Tiled comparison == in-memory comparison (binary_metrics, confusion_matrix, match_objects)."""

from __future__ import annotations

import csv
import pickle

import dask
import dask.array as da
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage.measure import label as sk_label

from napari_maskclean.batch import compare as bc
from napari_maskclean.batch.compare import compare_tiled
from napari_maskclean.cli import main
from napari_maskclean.core import compare as core
from napari_maskclean.core.compare import binary_metrics, confusion_matrix, match_objects

SYNC = {"scheduler": "synchronous"}


def _blobs(rng: np.random.Generator, shape, fraction: float) -> np.ndarray:
    """Smooth random blobs: objects of many sizes, many crossing tile borders."""
    sigma = float(rng.uniform(0.8, 2.5))
    field = ndi.gaussian_filter(rng.random(shape), sigma)
    return field > np.quantile(field, 1 - fraction)


def _chunks(draw, shape) -> tuple[tuple[int, ...], ...]:
    """Irregular chunk sizes per axis (not multiples of anything)."""
    out = []
    for n in shape:
        cuts = draw(st.lists(st.integers(1, n - 1), min_size=1, max_size=5, unique=True)
                    ) if n > 1 else []
        edges = [0, *sorted(cuts), n]
        out.append(tuple(b - a for a, b in zip(edges[:-1], edges[1:], strict=True)))
    return tuple(out)


@st.composite
def cases(draw):
    ndim = draw(st.sampled_from([2, 3]))
    if ndim == 2:
        shape = (draw(st.integers(2, 40)), draw(st.integers(2, 40)))
    else:
        shape = (draw(st.integers(1, 9)), draw(st.integers(2, 14)), draw(st.integers(2, 14)))
    return (draw(st.integers(0, 2**31 - 1)), shape, _chunks(draw, shape),
            _chunks(draw, shape))


def _pair(seed, shape, kind):
    rng = np.random.default_rng(seed)
    t = _blobs(rng, shape, rng.uniform(0.05, 0.6))
    # a prediction that overlaps the truth: shifted, eroded/dilated, plus noise
    p = np.roll(t, int(rng.integers(-2, 3)), axis=-1)
    p = ndi.binary_dilation(p) if rng.random() < 0.5 else ndi.binary_erosion(p)
    p ^= rng.random(shape) < 0.05
    if kind == "bool":
        return t, p
    if kind == "labels":
        # global ids, not consecutive, one of them large (sparse pair table)
        lt = sk_label(t).astype(np.int32)
        lp = sk_label(p).astype(np.int32)
        lt[lt > 0] = lt[lt > 0] * 3 + 100_000 * (lt[lt > 0] % 2)
        lp[lp > 0] += 7
        return lt, lp
    # classes (semantic segmentation): 0..3, uint8 truth, int16 prediction
    ct = (t.astype(np.uint8) + (rng.random(shape) < 0.3) * 2).astype(np.uint8)
    cp = (p.astype(np.int16) + (rng.random(shape) < 0.3) * 2 + (rng.random(shape) < 0.05))
    return ct, cp.astype(np.int16)


def _check(t, p, r):
    assert r.metrics == binary_metrics(t, p)
    cm, values = confusion_matrix(t, p, return_labels=True)
    cm2, values2 = r.confusion_matrix(return_labels=True)
    np.testing.assert_array_equal(cm2, cm)
    np.testing.assert_array_equal(values2, values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), kind=st.sampled_from(["bool", "labels", "classes"]),
       connectivity=st.sampled_from([1, None]))
def test_tiled_equals_in_memory(case, kind, connectivity):
    seed, shape, ct, cp = case
    t, p = _pair(seed, shape, kind)
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=ct), da.from_array(p, chunks=cp),
                          connectivity=connectivity)
    _check(t, p, r)
    if kind == "bool":
        c = connectivity or t.ndim
        expected = match_objects(sk_label(t, connectivity=c), sk_label(p, connectivity=c))
    else:
        expected = match_objects(t, p)
    assert r.objects == expected


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases(), positive=st.sampled_from([1, 2, 3]),
       threshold=st.sampled_from([0.1, 0.5, 0.75]))
def test_positive_and_threshold(case, positive, threshold):
    seed, shape, ct, cp = case
    t, p = _pair(seed, shape, "classes")
    with dask.config.set(scheduler="threads"):
        r = compare_tiled(da.from_array(t, chunks=ct), da.from_array(p, chunks=cp),
                          positive=positive, instances="components", iou_threshold=threshold)
    assert r.metrics == binary_metrics(t, p, positive=positive)
    # components of the positive class, numbered as skimage.measure.label numbers them
    expected = match_objects(sk_label(t == positive), sk_label(p == positive),
                             iou_threshold=threshold)
    assert r.objects == expected


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_mixed_sides_labels_and_components(case):
    """Truth instance labels against a binary prediction (its components)."""
    seed, shape, ct, cp = case
    lt, _ = _pair(seed, shape, "labels")
    t, p = _pair(seed, shape, "bool")
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(lt, chunks=ct), da.from_array(p, chunks=cp))
    assert r.objects == match_objects(lt, sk_label(p))
    # a boolean side as a label image is one object (id 1), as in match_objects
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(lt, chunks=ct), da.from_array(p, chunks=cp),
                          instances="labels")
    assert r.objects == match_objects(lt, p)


def test_object_across_every_tile_counted_once():
    t = np.zeros((30, 31), dtype=bool)
    t[2:28, 3:29] = True  # one object over 5 x 5 tiles
    t[10:12, 10:12] = False
    p = np.zeros_like(t)
    p[2:28, 3:20] = True
    p[2:28, 21:29] = True  # two objects
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=7), da.from_array(p, chunks=(5, 6)))
    assert r.objects.n_truth == 1 and r.objects.n_pred == 2
    assert r.objects == match_objects(sk_label(t), sk_label(p))
    assert r.objects.matches[0][:2] == (1, 1)


def test_component_ids_in_raster_order_not_chunk_order():
    """Ids are skimage.measure.label's: the object met first in raster order is 1."""
    t = np.zeros((10, 10), bool)
    t[6, 1] = t[2, 7] = True  # chunk (1, 0) comes after chunk (0, 1), raster order before
    p = t.copy()
    p[2, 7] = False
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=5), da.from_array(p, chunks=5))
    assert r.objects.matches == [(2, 1, 1.0)] and r.objects.unmatched_truth == [1]
    assert r.objects == match_objects(sk_label(t), sk_label(p))


def test_sparse_paths_equal_dense(monkeypatch):
    """The sort-based pair counting (large value ranges) gives the same tables."""
    rng = np.random.default_rng(3)
    t, p = _pair(5, (33, 29), "labels")
    f = rng.random((33, 29)).astype(np.float32).round(1)  # floats: the np.unique path
    with dask.config.set(SYNC):
        dense = compare_tiled(da.from_array(t, chunks=8), da.from_array(p, chunks=11))
        monkeypatch.setattr(core, "_DENSE_MAX_BINS", 4)
        sparse = compare_tiled(da.from_array(t, chunks=8), da.from_array(p, chunks=11))
        fl = compare_tiled(da.from_array(f, chunks=8), da.from_array(f[::-1], chunks=9),
                           objects=False)
    assert sparse.objects == dense.objects == match_objects(t, p)
    assert sparse.metrics == dense.metrics
    assert fl.metrics == binary_metrics(f, f[::-1])
    np.testing.assert_array_equal(fl.confusion_matrix(), confusion_matrix(f, f[::-1]))


@pytest.mark.parametrize(("dt", "dp"), [("uint8", "uint8"), ("int8", "bool"), ("bool", "uint8"),
                                       ("uint8", "int16")])
def test_binary_one_byte_masks(dt, dp):
    """0/1 masks in 1-byte dtypes (the vectorised counting path) == core."""
    t, p = _pair(13, (31, 30), "bool")
    t, p = t.astype(dt), p.astype(dp)
    for tt, pp in ((t, p), (np.zeros_like(t), p), (t, np.ones_like(p))):
        with dask.config.set(SYNC):
            r = compare_tiled(da.from_array(tt, chunks=(7, 9)),
                              da.from_array(pp, chunks=(10, 6)), instances="components")
        _check(tt, pp, r)
        assert r.objects == match_objects(sk_label(tt), sk_label(pp))


def test_huge_uint64_ids():
    t, p = _pair(6, (21, 22), "labels")
    t, p = t.astype(np.uint64), p.astype(np.uint64)
    t[t > 0] += np.uint64(2**63)  # beyond int64: compacted by sorting
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=5), da.from_array(p, chunks=7),
                          objects=False)
    _check(t, p, r)


def test_confusion_matrix_labels_and_ignore_index():
    t, p = _pair(11, (25, 26), "classes")
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=6), da.from_array(p, chunks=7),
                          objects=False, labels=[3, 1, 7])
    np.testing.assert_array_equal(r.confusion_matrix(), confusion_matrix(t, p, labels=[3, 1, 7]))
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(t, chunks=6), da.from_array(p, chunks=7), objects=False)
    for labels in (None, [2, 0, 1]):
        np.testing.assert_array_equal(
            r.confusion_matrix(labels=labels, ignore_index=1),
            confusion_matrix(t, p, labels=labels, ignore_index=1))
    assert r.objects is None
    big = np.arange(5000, dtype=np.int32).reshape(50, 100)
    with dask.config.set(SYNC):
        r = compare_tiled(da.from_array(big, chunks=30), da.from_array(big, chunks=30),
                          objects=False)
    with pytest.raises(ValueError, match="pass labels="):
        r.confusion_matrix()
    assert r.confusion_matrix(labels=[4, 5]).tolist() == [[1, 0], [0, 1]]


def test_numpy_inputs_and_as_dict():
    t, p = _pair(2, (20, 21), "bool")
    r = compare_tiled(t, p)
    assert r.metrics == binary_metrics(t, p)
    d = r.as_dict()
    assert d["shape"] == [20, 21] and d["objects"]["n_truth"] == r.objects.n_truth


@pytest.mark.parametrize(
    ("truth", "pred", "kwargs", "error", "match"),
    [
        (np.zeros((4, 5)), np.zeros((5, 4)), {}, ValueError, r"same shape.*\(4, 5\).*\(5, 4\)"),
        (np.zeros((0, 4)), np.zeros((0, 4)), {}, ValueError, "no pixels"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), {"positive": 2}, ValueError,
         "never equals"),
        (np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8), {"positive": 300},
         ValueError, "outside"),
        (np.zeros((4, 4), np.float32), np.zeros((4, 4)), {}, TypeError, "integer label"),
        (np.full((4, 4), -1), np.zeros((4, 4), int), {}, ValueError, "negative labels"),
        (np.zeros((4, 4), int), np.zeros((4, 4), int), {"iou_threshold": 2}, ValueError,
         "iou_threshold"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), {"connectivity": 3}, ValueError,
         "connectivity"),
        (np.zeros((4, 4), bool), np.zeros((4, 4), bool), {"instances": "blobs"}, ValueError,
         "instances"),
        (np.array([["a"]]), np.array([["a"]]), {}, TypeError, "boolean, integer or float"),
    ],
)
def test_bad_input(truth, pred, kwargs, error, match):
    with dask.config.set(SYNC), pytest.raises(error, match=match):
        compare_tiled(da.from_array(truth, chunks=2), da.from_array(pred, chunks=3), **kwargs)


def test_nan_refused_like_core():
    t = np.zeros((6, 6), np.float32)
    t[5, 5] = np.nan
    with dask.config.set(SYNC), pytest.raises(ValueError, match="contains NaN") as err:
        compare_tiled(da.from_array(t, chunks=4), np.zeros((6, 6)), objects=False)
    with pytest.raises(ValueError) as ref:
        binary_metrics(t, np.zeros((6, 6)))
    assert str(err.value) == str(ref.value)
    with dask.config.set(SYNC), pytest.raises(ValueError, match="pred contains NaN"):
        compare_tiled(np.zeros((6, 6)), da.from_array(t, chunks=4), instances="components")


@pytest.mark.slow
def test_graph_pickles_and_runs_on_processes():
    """Tasks hold chunks and small tables only, so any scheduler can run them."""
    t, p = _pair(9, (6, 30, 31), "bool")
    tt, pp = da.from_array(t, chunks=(4, 11, 9)), da.from_array(p, chunks=(3, 13, 10))
    pickle.dumps(bc._Side("components", None, 3, np.arange(4)))
    with dask.config.set(scheduler="processes", num_workers=2):
        r = compare_tiled(tt, pp)
    assert r.objects == match_objects(sk_label(t), sk_label(p))
    assert r.metrics == binary_metrics(t, p)


@pytest.mark.slow
def test_distributed_local_cluster():
    """The same result on a dask.distributed LocalCluster (processes, loopback)."""
    distributed = pytest.importorskip("distributed")
    t, p = _pair(10, (5, 26, 33), "bool")
    lt, lp = sk_label(t).astype(np.uint32), sk_label(p).astype(np.uint32)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        r = compare_tiled(da.from_array(t, chunks=(2, 9, 10)), da.from_array(p, chunks=7))
        rl = compare_tiled(da.from_array(lt, chunks=(3, 8, 11)), da.from_array(lp, chunks=9))
    assert r.objects == match_objects(sk_label(t), sk_label(p))
    assert r.metrics == binary_metrics(t, p)
    assert rl.objects == match_objects(lt, lp)


def test_adapter_matches_core_match_objects():
    """The private matching-from-overlaps equals match_objects on the same histogram."""
    t, p = _pair(4, (30, 30), "labels")
    try:  # core.compare's helper may move to a core.matching module
        from napari_maskclean.core.matching import _instance_overlaps
    except ImportError:
        _instance_overlaps = core._instance_overlaps
    tid, pid, at, ap, ti, pi, inter = _instance_overlaps(t, p)
    for thr in (0.0, 0.3, 0.5, 1.0):
        m = bc._match_from_overlaps(tid, pid, at, ap, tid[ti], pid[pi], inter,
                                    iou_threshold=thr)
        assert m == match_objects(t, p, iou_threshold=thr)


# --------------------------------------------------------------------------- CLI


def _rows(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return [{k: v for k, v in r.items() if k not in ("truth", "pred")}
                for r in csv.DictReader(fh)]


@pytest.mark.parametrize("kind", ["bool", "classes"])
def test_cli_zarr_rows_equal_tiff_rows(tmp_path, kind):
    zarr = pytest.importorskip("zarr")
    tifffile = pytest.importorskip("tifffile")
    for d in ("gz", "pz", "gt", "pt"):
        (tmp_path / d).mkdir()
    for name, seed, shape in (("vol", 1, (9, 40, 37)), ("img", 2, (45, 38))):
        t, p = _pair(seed, shape, kind)
        for folder, arr in (("g", t), ("p", p)):
            z = zarr.create_array(tmp_path / f"{folder}z" / f"{name}.zarr", shape=arr.shape,
                                  chunks=(4, 13, 11)[-arr.ndim:], dtype=arr.dtype)
            z[...] = arr
            tifffile.imwrite(tmp_path / f"{folder}t" / f"{name}.tif", arr,
                             photometric="minisblack")
    args = ["-q", "--positive", "1"] if kind == "classes" else ["-q"]
    assert main(["compare", str(tmp_path / "gz"), str(tmp_path / "pz"), *args,
                 "-o", str(tmp_path / "z.csv"), "--tile-size", "10"]) == 0
    assert main(["compare", str(tmp_path / "gt"), str(tmp_path / "pt"), *args,
                 "-o", str(tmp_path / "t.csv")]) == 0
    zr, tr = _rows(tmp_path / "z.csv"), _rows(tmp_path / "t.csv")
    assert zr == tr and len(zr) == 4  # two files, TOTAL and MEAN
    # one zarr volume against another, given directly (a zarr folder is one mask)
    assert main(["compare", str(tmp_path / "gz" / "vol.zarr"), str(tmp_path / "pz" / "vol.zarr"),
                 *args, "-o", str(tmp_path / "z1.csv")]) == 0
    assert main(["compare", str(tmp_path / "gt" / "vol.tif"), str(tmp_path / "pt" / "vol.tif"),
                 *args, "-o", str(tmp_path / "t1.csv")]) == 0
    z1, t1 = _rows(tmp_path / "z1.csv"), _rows(tmp_path / "t1.csv")
    assert z1 == t1 and len(z1) == 3 and z1[0] == [r for r in zr if r["name"] == "vol"][0]


def test_report_large_tiff_tiled_equals_in_memory(tmp_path):
    from napari_maskclean.report import compare_paths

    tifffile = pytest.importorskip("tifffile")
    t, p = _pair(7, (50, 47), "labels")
    tifffile.imwrite(tmp_path / "t.tif", t)
    tifffile.imwrite(tmp_path / "p.tif", p[:, :46])
    tifffile.imwrite(tmp_path / "q.tif", p)
    whole = compare_paths(tmp_path / "t.tif", tmp_path / "q.tif")
    tiled = compare_paths(tmp_path / "t.tif", tmp_path / "q.tif", size_limit=1, tile_size=9)
    assert tiled.rows == whole.rows
    mism = compare_paths(tmp_path / "t.tif", tmp_path / "p.tif", size_limit=1)
    ref = compare_paths(tmp_path / "t.tif", tmp_path / "p.tif")
    assert mism.skipped == ref.skipped and "shape mismatch" in mism.skipped[0][1]
    with pytest.raises(ValueError, match="tile size"):
        compare_paths(tmp_path / "t.tif", tmp_path / "q.tif", tile_size=0)


def test_report_small_file_against_zarr(tmp_path):
    """A file read whole against a big (zarr) partner: tiled, same row as in memory."""
    from napari_maskclean.report import compare_paths

    zarr = pytest.importorskip("zarr")
    t, p = _pair(8, (6, 30, 29), "classes")
    np.save(tmp_path / "t.npy", t)
    np.save(tmp_path / "p.npy", p)
    z = zarr.create_array(tmp_path / "p.zarr", shape=p.shape, chunks=(4, 7, 11), dtype=p.dtype)
    z[...] = p
    whole = compare_paths(tmp_path / "t.npy", tmp_path / "p.npy", positive=2)
    tiled = compare_paths(tmp_path / "t.npy", tmp_path / "p.zarr", positive=2)
    strip = ("truth", "pred")
    assert [{k: v for k, v in r.items() if k not in strip} for r in tiled.rows] == [
        {k: v for k, v in r.items() if k not in strip} for r in whole.rows]
    assert tiled.totals == whole.totals
