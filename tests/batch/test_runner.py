"""maskclean run on dask: many files, big inputs tiled to OME-Zarr, resume, clusters, errors."""

from __future__ import annotations

import json
import time

import cv2
import numpy as np
import pytest

zarr = pytest.importorskip("zarr")
distributed = pytest.importorskip("distributed")

from napari_maskclean import io  # noqa: E402
from napari_maskclean.batch import cli_run  # noqa: E402
from napari_maskclean.batch.cluster import ClusterError, client_for  # noqa: E402
from napari_maskclean.batch.runner import Interrupted, run_batch  # noqa: E402
from napari_maskclean.batch.zarr_out import ZarrOutput, regular_chunks  # noqa: E402
from napari_maskclean.recipe import Recipe, Step  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::DeprecationWarning")


def _image(seed=0, shape=(120, 150)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.normal(60, 15, shape).clip(0, 255).astype(np.uint8)
    img[20:70, 30:90] += 120
    img[80:110, 100:140] += 100
    img[rng.random(shape) < 0.01] = 250  # specks for remove_small_objects
    return img


RECIPE = Recipe(steps=[
    Step("threshold", {"method": "otsu", "prefilter": "median"}, {"image": "img"}, "m",
         new_target=True, label_value=1),
    Step("morphology", {"operation": "remove_small_objects", "min_size": 30},
         {"labels": "m"}, "m"),
    Step("morphology", {"operation": "close", "radius": 2}, {"labels": "m"}, "m"),
    Step("fill_labels", {"max_hole_size": None, "max_distance": 4.0}, {"labels": "m"}, "m"),
])


@pytest.fixture(scope="module")
def client():
    # threads: fast to start; a processes cluster is tested below
    with client_for(workers=2, processes=False) as c:
        yield c


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(3):
        cv2.imwrite(str(folder / f"img{k}.png"), _image(k))
    big = _image(7, (130, 170))
    z = zarr.open_array(str(folder / "big.zarr"), mode="w", shape=big.shape, chunks=(50, 60),
                        dtype=big.dtype)
    z[...] = big
    return folder


def test_many_files_and_a_big_input_equal_the_in_memory_recipe(tmp_path, inputs, client):
    out = tmp_path / "out"
    summary = run_batch(RECIPE, [inputs], out, client=client, tile=64)
    assert not summary.failed and summary.n_ok == 4
    for k in range(3):
        expected = RECIPE.apply(_image(k))
        np.testing.assert_array_equal(io.read_mask(out / f"img{k}.png"), expected)
        meta = json.loads((out / f"img{k}.png.recipe.json").read_text())
        assert meta["recipe"]["steps"] == RECIPE.to_dict()["steps"]
    group = zarr.open_group(str(out / "big.zarr"), mode="r")
    np.testing.assert_array_equal(group["0"][...], RECIPE.apply(_image(7, (130, 170))))
    attrs = dict(group.attrs)
    assert attrs["multiscales"][0]["datasets"][0]["path"] == "0"
    assert attrs["napari-maskclean"]["complete"] is True
    assert attrs["napari-maskclean"]["recipe"]["steps"] == RECIPE.to_dict()["steps"]
    assert group["0"].chunks == (64, 64)


def test_resume_skips_finished_outputs_and_refuses_without_it(tmp_path, inputs, client):
    out = tmp_path / "out"
    run_batch(RECIPE, [inputs], out, client=client, tile=64)
    stamp = (out / "img0.png").stat().st_mtime_ns
    again = run_batch(RECIPE, [inputs], out, client=client, tile=64, resume=True)
    assert not again.failed
    assert all(o.endswith("(already done)") for _, o in again.written)
    assert (out / "img0.png").stat().st_mtime_ns == stamp
    plain = run_batch(RECIPE, [inputs], out, client=client, tile=64)
    assert len(plain.failed) == 4 and all("exists" in r for _, r in plain.failed)
    # a changed input is not "done": its checksum differs
    cv2.imwrite(str(inputs / "img1.png"), _image(11))
    third = run_batch(RECIPE, [inputs], out, client=client, tile=64, resume=True)
    assert [s for s, r in third.failed] == [str(inputs / "img1.png")]


def test_a_crash_leaves_finished_chunks_and_resume_completes(tmp_path, inputs, client):
    import dask

    from napari_maskclean.batch.engine import run_tiled
    from napari_maskclean.batch.runner import _open_lazy

    src = inputs / "big.zarr"
    out = tmp_path / "out"
    out.mkdir()
    meta = {"input": str(src), "input_sha256": "x", "recipe": RECIPE.to_dict()}
    result = regular_chunks(run_tiled(RECIPE, {"img": _open_lazy(src, 64)})["m"], 64)
    target = ZarrOutput(out / "big.zarr", meta)
    tasks = target.prepare(result, overwrite=False, resume=False)
    dask.compute(*tasks[:3], scheduler="sync")  # then the process "dies"
    assert not target.is_complete()
    left = ZarrOutput(out / "big.zarr", meta).prepare(result, overwrite=False, resume=True)
    assert len(left) == len(tasks) - 3
    dask.compute(*left, scheduler="sync")
    target.finish(result.shape)
    np.testing.assert_array_equal(zarr.open_group(str(out / "big.zarr"))["0"][...],
                                  RECIPE.apply(_image(7, (130, 170))))


def test_unreadable_files_are_named_and_the_rest_is_processed(tmp_path, inputs, client):
    (inputs / "broken.png").write_bytes(b"\x89PNG not really")
    (inputs / "empty.tif").write_bytes(b"")
    summary = run_batch(RECIPE, [inputs], tmp_path / "out", client=client, tile=64)
    assert summary.n_ok == 4
    names = sorted(src.rsplit("/", 1)[-1] for src, _ in summary.failed)
    assert names == ["broken.png", "empty.tif"]
    for src, reason in summary.failed:  # each reason names its file
        assert src.rsplit("/", 1)[-1] in reason, reason
    assert not list((tmp_path / "out").glob(".*tmp*"))


def test_a_full_disk_leaves_no_half_written_file(tmp_path, inputs, client, monkeypatch):
    import errno

    from napari_maskclean.io import _write

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_write.cv2, "imencode", full)
    summary = run_batch(RECIPE, [inputs / "img0.png"], tmp_path / "out", client=client)
    assert summary.n_ok == 0
    assert "No space left" in summary.failed[0][1]
    assert list((tmp_path / "out").iterdir()) == []


def test_ctrl_c_cancels_and_reports_how_far_it_got(tmp_path, inputs, client, monkeypatch):
    import distributed as dist

    def interrupted(futures):
        raise KeyboardInterrupt

    monkeypatch.setattr(dist, "as_completed", interrupted)
    with pytest.raises(Interrupted) as info:
        run_batch(RECIPE, [inputs], tmp_path / "out", client=client, tile=64)
    assert info.value.total == 4


def test_cli_exit_codes_and_one_line_on_ctrl_c(tmp_path, inputs, monkeypatch, capsys):
    recipe = tmp_path / "r.json"
    RECIPE.save(recipe)
    assert cli_run.main([str(recipe), str(inputs / "img0.png"), "-o", str(tmp_path / "o"),
                         "--workers", "1", "--quiet"]) == 0
    assert cli_run.main(["missing.json", str(inputs), "-o", str(tmp_path / "o")]) == 2
    assert "does not exist" in capsys.readouterr().err

    def stop(*a, **k):
        raise Interrupted(1, 4)

    monkeypatch.setattr("napari_maskclean.batch.runner.run_batch", stop)
    code = cli_run.main([str(recipe), str(inputs), "-o", str(tmp_path / "o2"), "--workers",
                         "1", "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 130
    assert err == ["maskclean run: interrupted after 1 of 4 files; finished outputs kept, "
                   "nothing half-written (--resume does the rest)"]


def test_a_scheduler_that_does_not_answer_gives_a_message_quickly():
    import socket

    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(ClusterError, match="no dask scheduler answers"):
        with client_for(scheduler=f"tcp://127.0.0.1:{port}"):
            pass
    assert time.monotonic() - start < 15


@pytest.mark.slow
def test_scheduler_run_is_byte_identical_to_a_local_run(tmp_path, inputs):
    from distributed import LocalCluster

    recipe = tmp_path / "r.json"
    RECIPE.save(recipe)
    args = [str(recipe), str(inputs), "--tile-size", "64", "--quiet"]
    assert cli_run.main([*args, "-o", str(tmp_path / "local"), "--workers", "2"]) == 0
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        assert cli_run.main([*args, "-o", str(tmp_path / "remote"), "--scheduler",
                             cluster.scheduler_address]) == 0
    for name in ["img0.png", "img1.png", "img2.png"]:
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "remote" / name).read_bytes()
    local = zarr.open_group(str(tmp_path / "local" / "big.zarr"))["0"][...]
    remote = zarr.open_group(str(tmp_path / "remote" / "big.zarr"))["0"][...]
    np.testing.assert_array_equal(local, remote)


@pytest.mark.slow
def test_a_big_tiff_runs_tiled_on_worker_processes(tmp_path):
    import tifffile

    img = _image(5, (140, 160))
    src = tmp_path / "big.tif"
    tifffile.imwrite(src, img)
    with client_for(workers=2, processes=True) as c:
        summary = run_batch(RECIPE, [src], tmp_path / "out", client=c, tile=64,
                            big_pixels=1000)
    assert not summary.failed, summary.failed
    got = zarr.open_group(str(tmp_path / "out" / "big.zarr"))["0"][...]
    np.testing.assert_array_equal(got, RECIPE.apply(img))


def test_local_worker_processes_run_kernels_on_one_thread():
    from napari_maskclean.core import _parallel

    def probe():
        import cv2

        from napari_maskclean.core._parallel import usable_cpus

        return usable_cpus(), cv2.getNumThreads()

    with client_for(workers=1, processes=True) as c:
        (threads, cv_threads), = c.run(probe).values()
    assert threads == 1 and cv_threads == 1
    # this process is unaffected
    import os

    assert _parallel.usable_cpus() == min(_parallel.MAX_THREADS, len(os.sched_getaffinity(0)))


def test_a_folder_of_coco_files(tmp_path, client):
    # maskclean run on dask finds the COCO JSON files of a folder for an instance recipe
    from napari_maskclean.core.rle import rle_encode
    from napari_maskclean.io_coco import coco_to_dict, read_coco
    from napari_maskclean.ops.instances import merge_instances

    src = tmp_path / "in"
    src.mkdir()
    masks = [np.zeros((30, 40), bool) for _ in range(3)]
    masks[0][2:20, 2:20] = masks[1][2:20, 2:21] = masks[2][22:28, 25:35] = True
    data = {"images": [{"id": 1, "file_name": "a.png", "height": 30, "width": 40}],
            "categories": [{"id": 1, "name": "cell"}],
            "annotations": [{"id": k + 1, "image_id": 1, "category_id": 1, "iscrowd": 0,
                             "segmentation": rle_encode(m)} for k, m in enumerate(masks)]}
    (src / "a.json").write_text(json.dumps(data))
    recipe = Recipe(steps=[Step("merge_redundant", {"threshold": 0.8}, {"instances": "coco"},
                                "coco")])
    summary = run_batch(recipe, [src], tmp_path / "out", client=client)
    assert not summary.failed and summary.n_ok == 1
    got = json.loads((tmp_path / "out" / "a.json").read_text())
    assert got == coco_to_dict(merge_instances(read_coco(data), threshold=0.8))
