import doctest
import json
import subprocess
import sys
import typing

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage as ndi
from skimage import exposure, filters

import napari_maskclean.core._threshold_kernels as thr_kernels  # the OpenCV switch lives here
import napari_maskclean.core.threshold as thr
from napari_maskclean.core.threshold import (
    LOCAL_METHODS,
    PREFILTERS,
    THRESHOLD_METHODS,
    image_histogram,
    prefilter_image,
    threshold_mask,
    threshold_value,
)

DTYPES = ["uint8", "uint16", "int32", "float32", "float64", "bool"]
GLOBAL = ["otsu", "li", "yen", "triangle", "isodata", "mean", "minimum", "multiotsu"]

REFERENCE = {
    "otsu": filters.threshold_otsu,
    "li": filters.threshold_li,
    "yen": filters.threshold_yen,
    "triangle": filters.threshold_triangle,
    "isodata": filters.threshold_isodata,
    "mean": filters.threshold_mean,
    "minimum": filters.threshold_minimum,
    "multiotsu": lambda im: filters.threshold_multiotsu(im, classes=3),
}


def bimodal(dtype, shape=(37, 41), seed=0):
    """Dark background with bright blobs, in the units typical for the dtype."""
    rng = np.random.default_rng(seed)
    fg = ndi.gaussian_filter(rng.random(shape), 3) > 0.5
    base = np.where(fg, rng.normal(170, 20, shape), rng.normal(60, 15, shape))
    base = np.clip(base, 0, 255)
    if dtype == "bool":
        return fg
    if dtype == "uint8":
        return base.astype(np.uint8)
    if dtype == "uint16":
        return (base * 3 + 1000).astype(np.uint16)
    if dtype == "int32":
        return (base * 3 - 500).astype(np.int32)
    return (base / 255).astype(dtype)


def reference_prefilter(image, prefilter):
    image = image.astype(np.uint8) if image.dtype == bool else image
    if prefilter is None:
        return image
    if prefilter == "median":
        return ndi.median_filter(image, size=3, mode="nearest")
    if prefilter == "gaussian":
        out = filters.gaussian(image, sigma=1.0, preserve_range=True)
        return out if image.dtype.kind == "f" else np.rint(out).astype(image.dtype)
    if prefilter == "equalize":
        return exposure.equalize_hist(image)
    raise AssertionError(prefilter)


# ------------------------------------------------------------- exactness vs skimage


@pytest.mark.parametrize("prefilter", [None, "median", "gaussian", "equalize"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("method", GLOBAL)
def test_global_threshold_is_exactly_skimage(method, dtype, prefilter):
    image = bimodal(dtype)
    ref_image = reference_prefilter(image, prefilter)
    try:
        ref_t = REFERENCE[method](ref_image)
    except (RuntimeError, ValueError):
        with pytest.raises(ValueError):
            threshold_mask(image, method=method, prefilter=prefilter)
        return
    t = threshold_value(image, method=method, prefilter=prefilter)
    mask = threshold_mask(image, method=method, prefilter=prefilter)
    if method == "multiotsu":
        np.testing.assert_array_equal(t, np.asarray(ref_t, dtype=np.float64))
        ref_mask = ref_image > ref_t[0]
    else:
        assert t == float(ref_t)
        ref_mask = ref_image > ref_t
    assert mask.dtype == bool and mask.shape == image.shape
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(
        threshold_mask(image, method=method, prefilter=prefilter, invert=True), ~ref_mask
    )


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "float64"])
def test_clahe_prefilter_is_skimage(dtype):
    image = bimodal(dtype)
    ref = exposure.equalize_adapthist(image, clip_limit=0.02)
    np.testing.assert_array_equal(prefilter_image(image, prefilter="clahe", clip_limit=0.02), ref)
    np.testing.assert_array_equal(
        threshold_mask(image, prefilter="clahe", clip_limit=0.02),
        ref > filters.threshold_otsu(ref),
    )


@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_clahe_rescales_images_outside_skimage_range(dtype):
    image = bimodal("uint8").astype(dtype) * 40 - 3000  # int32 / float outside [0, 1]
    unit = (image.astype(np.float64) - image.min()) / (image.max() - image.min())
    ref = exposure.equalize_adapthist(unit)
    out = prefilter_image(image, prefilter="clahe")
    np.testing.assert_array_equal(out, ref)
    assert 0.0 <= out.min() and out.max() == 1.0


@pytest.mark.parametrize("method", ["local", "sauvola", "niblack"])
@pytest.mark.parametrize("dtype", ["uint8", "uint16", "float32", "bool"])
def test_local_threshold_is_exactly_skimage(method, dtype):
    image = bimodal(dtype)
    ref_image = image.astype(np.uint8) if image.dtype == bool else image
    if method == "local":
        ref_t = filters.threshold_local(ref_image, 11, method="mean", offset=-2.0)
        opts = dict(local_method="mean", offset=-2.0)
    elif method == "sauvola":
        ref_t = filters.threshold_sauvola(ref_image, window_size=11, k=0.3)
        opts = dict(k=0.3)
    else:
        ref_t = filters.threshold_niblack(ref_image, window_size=11, k=-0.1)
        opts = dict(k=-0.1)
    t = threshold_value(image, method=method, block_size=11, **opts)
    np.testing.assert_array_equal(t, ref_t)
    mask = threshold_mask(image, method=method, block_size=11, **opts)
    np.testing.assert_array_equal(mask, ref_image > ref_t)


@pytest.mark.parametrize("local_method", ["gaussian", "mean", "median"])
def test_local_methods_on_a_volume_use_nd_windows(local_method):
    vol = np.stack([bimodal("float32", seed=s) for s in range(4)])
    ref_t = filters.threshold_local(vol, 5, method=local_method)
    mask = threshold_mask(vol, method="local", block_size=5, local_method=local_method)
    np.testing.assert_array_equal(mask, vol > ref_t)


def test_multiotsu_class_index_chooses_the_boundary():
    image = np.repeat(np.array([[10, 100, 200]], dtype=np.uint8), 4, axis=0)
    t = threshold_value(image, method="multiotsu", classes=3)
    np.testing.assert_array_equal(t, [10.0, 100.0])
    low = threshold_mask(image, method="multiotsu", classes=3, class_index=0)
    high = threshold_mask(image, method="multiotsu", classes=3, class_index=1)
    np.testing.assert_array_equal(low[0], [False, True, True])
    np.testing.assert_array_equal(high[0], [False, False, True])


# ------------------------------------------------------------- fast kernels


@pytest.mark.parametrize(
    "image",
    [
        np.array([[0, 255], [255, 255]], dtype=np.uint8),
        np.array([[7, 7, 9]], dtype=np.uint8),
        np.array([[0, 65535], [3, 3]], dtype=np.uint16),
        np.array([[40000, 40002, 40002]], dtype=np.uint16),
    ],
)
def test_fast_histogram_matches_skimage(image):
    counts, centers = thr_kernels._skimage_hist(image)
    ref_counts, ref_centers = exposure.histogram(image.reshape(-1), source_range="image")
    np.testing.assert_array_equal(counts, ref_counts)
    np.testing.assert_array_equal(centers, ref_centers)
    assert centers.dtype == ref_centers.dtype


def test_calchist_chunks_keep_counts_exact(monkeypatch):
    image = np.random.default_rng(3).integers(0, 256, (301, 97), dtype=np.uint8)
    monkeypatch.setattr(thr_kernels, "_CALCHIST_CHUNK", 1000)  # many chunks, some ragged
    expected = np.bincount(image.ravel(), minlength=256)
    np.testing.assert_array_equal(thr_kernels._full_counts(image), expected)


@pytest.mark.parametrize("method", GLOBAL + ["sauvola"])
@pytest.mark.parametrize(
    ("dtype", "size"),
    [("uint8", 3), ("uint8", 5), ("uint8", 9), ("uint16", 3), ("uint16", 5), ("float32", 5)],
)
def test_opencv_and_scipy_kernels_agree(monkeypatch, method, dtype, size):
    image = bimodal(dtype, shape=(64, 53), seed=5)
    opts = dict(method=method, prefilter="median", prefilter_size=size, block_size=15)
    fast_pre = prefilter_image(image, prefilter="median", prefilter_size=size)
    try:
        fast = threshold_mask(image, **opts)
    except ValueError:
        fast = None
    monkeypatch.setattr(thr_kernels, "_USE_OPENCV", False)
    np.testing.assert_array_equal(
        prefilter_image(image, prefilter="median", prefilter_size=size), fast_pre
    )
    if fast is None:
        with pytest.raises(ValueError):
            threshold_mask(image, **opts)
    else:
        np.testing.assert_array_equal(threshold_mask(image, **opts), fast)


@settings(max_examples=50, deadline=None)
@given(
    h=st.integers(1, 12),
    w=st.integers(1, 12),
    size=st.sampled_from([3, 5, 7]),
    dtype=st.sampled_from(["uint8", "uint16", "float32"]),
    seed=st.integers(0, 2**16),
)
def test_median_opencv_equals_scipy_nearest(h, w, size, dtype, seed):
    image = np.random.default_rng(seed).integers(0, 256, (h, w)).astype(dtype)
    fast = thr_kernels._median(image, size)
    old = thr_kernels._USE_OPENCV
    thr_kernels._USE_OPENCV = False
    try:
        slow = thr_kernels._median(image, size)
    finally:
        thr_kernels._USE_OPENCV = old
    assert fast.dtype == slow.dtype == image.dtype
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, ndi.median_filter(image, size=size, mode="nearest"))


@settings(max_examples=50, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "uint16", "int32", "float64"]),
    level=st.floats(-70000, 70000, allow_nan=False),
    seed=st.integers(0, 2**16),
)
def test_manual_level_compares_exactly(dtype, level, seed):
    rng = np.random.default_rng(seed)
    if dtype == "float64":
        image = rng.normal(0, 300, (9, 7))
    else:
        info = np.iinfo(dtype)
        image = rng.integers(max(info.min, -66000), min(info.max, 66000), (9, 7), endpoint=True)
        image = image.astype(dtype)
    level = float(np.round(level, 1))
    np.testing.assert_array_equal(
        threshold_mask(image, method="manual", level=level), image > level
    )
    np.testing.assert_array_equal(
        threshold_mask(image, method="manual", level=level, invert=True), image <= level
    )


@pytest.mark.parametrize("level", [-5, 0, 254.5, 255, 300])
def test_manual_level_outside_uint8_range(level):
    image = np.array([[0, 128, 255]], dtype=np.uint8)
    mask = threshold_mask(image, method="manual", level=level)
    np.testing.assert_array_equal(mask, image > level)
    assert threshold_value(image, method="manual", level=level) == float(level)


# ------------------------------------------------------------- nD and per-slice


def test_global_method_on_volume_uses_whole_volume():
    vol = np.stack([bimodal("uint8", seed=s) // (s + 1) for s in range(3)])
    t = threshold_value(vol)
    assert t == float(filters.threshold_otsu(vol))
    np.testing.assert_array_equal(threshold_mask(vol), vol > filters.threshold_otsu(vol))


def test_median_prefilter_on_volume_is_3d():
    vol = np.stack([bimodal("uint8", seed=s) for s in range(3)])
    np.testing.assert_array_equal(
        prefilter_image(vol, prefilter="median"), ndi.median_filter(vol, size=3, mode="nearest")
    )


@pytest.mark.parametrize(
    ("method", "prefilter"),
    [
        ("otsu", "median"),
        ("li", "gaussian"),
        ("sauvola", None),
        ("multiotsu", "equalize"),
        ("manual", None),
    ],
)
def test_per_slice_equals_thresholding_each_slice(method, prefilter):
    vol = np.stack([bimodal("uint8", seed=s) // (s + 1) for s in range(4)]).reshape(2, 2, 37, 41)
    opts = dict(method=method, prefilter=prefilter, block_size=9, level=40)
    calls = []
    mask = threshold_mask(vol, per_slice=True, progress=lambda d, n: calls.append((d, n)), **opts)
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    values = threshold_value(vol, per_slice=True, **opts)
    for i in range(2):
        for j in range(2):
            np.testing.assert_array_equal(mask[i, j], threshold_mask(vol[i, j], **opts))
            np.testing.assert_array_equal(values[i, j], threshold_value(vol[i, j], **opts))
    expected = {"sauvola": vol.shape, "multiotsu": (2, 2, 2)}.get(method, (2, 2))
    assert values.shape == expected
    if method == "otsu":  # slices have different contrast: the thresholds differ
        assert len(np.unique(values)) > 1


def test_per_slice_on_2d_is_the_2d_case():
    image = bimodal("uint16")
    calls = []
    mask = threshold_mask(
        image, per_slice=True, prefilter="median", progress=lambda d, n: calls.append((d, n))
    )
    np.testing.assert_array_equal(mask, threshold_mask(image, prefilter="median"))
    assert calls == [(1, 1)]


def test_per_slice_constant_slice_names_the_slice():
    vol = np.stack([bimodal("uint8"), np.zeros((37, 41), np.uint8)])
    with pytest.raises(ValueError, match=r"slice \(1,\).*constant.*manual"):
        threshold_mask(vol, per_slice=True)
    assert threshold_mask(vol).shape == vol.shape  # whole volume is not constant


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("image", "kwargs", "exc", "match"),
    [
        (np.ones((4, 4), complex), {}, TypeError, "complex.*np.abs"),
        (np.array([["a", "b"]]), {}, TypeError, "numeric"),
        (np.array([[0.0, np.nan]]), {}, ValueError, "NaN or inf.*nan_to_num"),
        (np.array([[0.0, np.inf]]), {}, ValueError, "NaN or inf.*nan_to_num"),
        (np.zeros((0, 5)), {}, ValueError, "empty"),
        (np.arange(5), {}, ValueError, "at least 2 dimensions.*newaxis"),
        (np.full((3, 3), 7, np.uint8), {}, ValueError, "constant.*undefined.*manual"),
        (np.full((3, 3), 0.5), {"method": "li"}, ValueError, "constant.*manual"),
        (np.ones((3, 3), bool), {"method": "mean"}, ValueError, "constant"),
        (np.eye(3), {"method": "manual"}, ValueError, "level="),
        (np.eye(3), {"method": "ostu"}, ValueError, "unknown method.*'otsu'.*'niblack'"),
        (np.eye(3), {"prefilter": "blur"}, ValueError, "unknown prefilter.*'median'"),
        (np.eye(3), {"method": "sauvola", "block_size": 4}, ValueError, "odd.*>= 3.*use 5"),
        (np.eye(3), {"method": "local", "block_size": 1}, ValueError, "odd integer >= 3"),
        (np.eye(3), {"method": "local", "local_method": "max"}, ValueError, "local_method"),
        (np.eye(3), {"prefilter": "median", "prefilter_size": 2}, ValueError, "prefilter_size"),
        (np.eye(3), {"prefilter": "gaussian", "sigma": 0}, ValueError, "sigma must be > 0"),
        (np.eye(3), {"prefilter": "clahe", "clip_limit": 2}, ValueError, "clip_limit"),
        (np.eye(3), {"method": "multiotsu", "class_index": 2}, ValueError, "class_index.*0 and"),
        (np.eye(3), {"method": "multiotsu", "classes": 1}, ValueError, "classes must be >= 2"),
        (np.eye(3), {"method": "multiotsu", "classes": 4}, ValueError, "only 2 distinct.*classes"),
        (np.eye(3), {"method": "manual", "level": "5"}, TypeError, "level must be a number"),
        (np.eye(3), {"method": "manual", "level": np.nan}, ValueError, "finite"),
        (np.eye(3), {"method": "local", "block_size": 5.0}, TypeError, "integer"),
        (np.eye(3), {"progress": 3}, TypeError, "progress"),
        (
            np.arange(9000, dtype=np.uint16).reshape(90, 100),
            {"method": "multiotsu"},
            ValueError,
            "astype",
        ),
        (np.array([[0, 2**31 - 1]], np.int32), {"method": "triangle"}, ValueError, "astype"),
    ],
)
def test_bad_input_raises_helpful_error(image, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        threshold_mask(image, **kwargs)
    with pytest.raises(exc, match=match):
        threshold_value(image, **kwargs)


def test_minimum_without_two_peaks_is_a_valueerror():
    image = np.arange(100, dtype=np.uint8).reshape(10, 10)  # flat histogram
    with pytest.raises(ValueError, match="two clear peaks.*otsu"):
        threshold_mask(image, method="minimum")


def test_manual_and_local_methods_accept_constant_images():
    image = np.full((5, 5), 3, np.uint8)
    assert threshold_mask(image, method="manual", level=2).all()
    # Sauvola on a flat image: T = m * (1 - k) = 2.4 < 3, so everything is foreground
    assert threshold_mask(image, method="sauvola", block_size=3).all()
    assert not threshold_mask(image, method="niblack", block_size=3).any()  # T = m = 3


def test_bool_image_is_uint8():
    image = np.zeros((6, 6), bool)
    image[2:4, 2:5] = True
    np.testing.assert_array_equal(threshold_mask(image), image)
    assert threshold_value(image) == 0.0
    out = prefilter_image(image)
    assert out.dtype == np.uint8 and out.sum() == 6


# ------------------------------------------------------------- API contract


@pytest.mark.parametrize("method", THRESHOLD_METHODS)
@pytest.mark.parametrize("prefilter", PREFILTERS)
def test_input_untouched_and_params_json_replayable(method, prefilter):
    image = bimodal("uint8", shape=(24, 30), seed=2)
    before = image.copy()
    level = float(np.median(prefilter_image(image, prefilter=prefilter)))  # prefiltered units
    params = {"method": method, "prefilter": prefilter, "level": level, "block_size": 7}
    mask = threshold_mask(image, **params)
    np.testing.assert_array_equal(image, before)
    replay = json.loads(json.dumps({"op": "threshold_mask", "params": params}))["params"]
    np.testing.assert_array_equal(threshold_mask(image, **replay), mask)
    assert mask.dtype == bool and mask.shape == image.shape
    assert 0 < mask.sum() < mask.size


def test_name_tuples_match_type_hints():
    assert THRESHOLD_METHODS == typing.get_args(thr.ThresholdMethod)
    assert PREFILTERS == typing.get_args(thr.PrefilterName)
    assert set(LOCAL_METHODS) < set(THRESHOLD_METHODS)
    assert threshold_mask(np.eye(3), prefilter=None).sum() == 3  # None means "none"


def test_gaussian_prefilter_keeps_integer_dtype():
    image = bimodal("uint16")
    out = prefilter_image(image, prefilter="gaussian", sigma=1.5)
    ref = filters.gaussian(image, sigma=1.5, preserve_range=True)
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, np.rint(ref).astype(np.uint16))
    assert prefilter_image(image.astype(np.float32), prefilter="gaussian").dtype == np.float32


def test_prefilter_returns_new_array():
    image = bimodal("float32")
    out = prefilter_image(image)
    assert out is not image and not np.shares_memory(out, image)
    np.testing.assert_array_equal(out, image)


def test_prefilter_per_slice_differs_from_nd():
    vol = np.stack([bimodal("float64", seed=s) for s in range(3)])
    per = prefilter_image(vol, prefilter="gaussian", sigma=2.0, per_slice=True)
    np.testing.assert_array_equal(per[1], filters.gaussian(vol[1], sigma=2.0, preserve_range=True))
    whole = prefilter_image(vol, prefilter="gaussian", sigma=2.0)
    np.testing.assert_array_equal(whole, filters.gaussian(vol, sigma=2.0, preserve_range=True))
    assert not np.array_equal(per, whole)


def test_docstring_examples_run():
    # image_histogram (re-exported by threshold) lives in core.histogram.
    from napari_maskclean.core import histogram

    result = doctest.testmod(thr, extraglobs={"np": np})
    assert result.attempted >= 5 and result.failed == 0
    result = doctest.testmod(histogram, extraglobs={"np": np})
    assert result.attempted >= 1 and result.failed == 0


def test_module_does_not_import_gui_libraries():
    code = (
        "import sys, napari_maskclean.core.threshold; "
        "bad = [m for m in ('napari', 'qtpy', 'magicgui', 'dask') if m in sys.modules]; "
        "sys.exit(len(bad))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


# ------------------------------------------------------------- histogram for the GUI


@settings(max_examples=50, deadline=None)
@given(
    dtype=st.sampled_from(["uint8", "uint16", "int16", "int32", "float32", "bool"]),
    span=st.sampled_from([1, 2, 7, 300, 5000, 60000]),
    nbins=st.integers(1, 300),
    seed=st.integers(0, 2**16),
)
def test_image_histogram_matches_numpy(dtype, span, nbins, seed):
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, span, (13, 11), endpoint=True)
    if dtype == "bool":
        image = raw % 2 == 1
    elif dtype == "int16":
        image = (raw % 30000 - 15000).astype(np.int16)
    elif dtype == "float32":
        image = (raw / 7).astype(np.float32)
    else:
        image = np.minimum(raw, np.iinfo(dtype).max).astype(dtype)
    counts, edges = image_histogram(image, nbins=nbins)
    assert counts.dtype == np.int64 and edges.dtype == np.float64
    assert len(edges) == len(counts) + 1 and len(counts) <= nbins
    assert np.all(np.diff(edges) > 0)
    numeric = image.astype(np.uint8) if image.dtype == bool else image
    np.testing.assert_array_equal(counts, np.histogram(numeric, bins=edges)[0])
    assert counts.sum() == image.size


def test_image_histogram_uint8_has_one_bin_per_value():
    image = np.array([[3, 3, 10]], dtype=np.uint8)
    counts, edges = image_histogram(image)
    assert len(counts) == 8 and counts[0] == 2 and counts[-1] == 1
    assert edges[0] == 2.5 and edges[-1] == 10.5


def test_image_histogram_rejects_bad_nbins():
    with pytest.raises(ValueError, match="nbins must be between 1 and"):
        image_histogram(np.eye(3), nbins=0)


def test_li_on_int8_is_computed_without_overflow():
    """scikit-image's Li returns NaN on int8 (its arithmetic overflows); ours is Li's level."""
    rng = np.random.default_rng(0)
    image = (rng.random((40, 50)) * 200 - 100).astype(np.int8)
    level = threshold_value(image, method="li")
    assert level == filters.threshold_li(image.astype(np.float64))
    np.testing.assert_array_equal(threshold_mask(image, method="li"), image > level)


# --------------------------------------------------------------------------- issue 9: colour input


from napari_maskclean.core._median3d import median3x3x3, median_network  # noqa: E402
from napari_maskclean.core.convert import to_grey  # noqa: E402


def _rgb(channels=3, side=16):
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (side, side + 4, channels), dtype=np.uint8)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize(
    "call",
    [
        lambda im: threshold_mask(im),
        lambda im: threshold_value(im),
        lambda im: prefilter_image(im, prefilter="median"),
        lambda im: image_histogram(im),
    ],
    ids=["threshold_mask", "threshold_value", "prefilter_image", "image_histogram"],
)
def test_rgb_looking_image_is_refused_with_the_fix(call, channels):
    image = _rgb(channels)
    kind = "RGB" if channels == 3 else "RGBA"
    shape = rf"\(shape \(16, 20, {channels}\)"
    with pytest.raises(ValueError, match=rf"looks like an {kind} image {shape}"):
        call(image)
    with pytest.raises(ValueError, match=r"channel_axis=-1 or convert with to_grey"):
        call(image)


def test_channel_axis_converts_with_to_grey_rules():
    image = _rgb()
    grey = to_grey(image)
    np.testing.assert_array_equal(threshold_mask(image, channel_axis=-1), threshold_mask(grey))
    assert threshold_value(image, channel_axis=-1) == threshold_value(grey)
    green = image[..., 1]
    np.testing.assert_array_equal(
        threshold_mask(image, channel_axis=-1, channel="green"), threshold_mask(green)
    )
    # channels first, and prefilter/histogram take the same options
    first = np.moveaxis(image, -1, 0)
    np.testing.assert_array_equal(
        threshold_mask(first, channel_axis=0, channel="red"), threshold_mask(image[..., 0])
    )
    np.testing.assert_array_equal(
        prefilter_image(image, prefilter="median", channel_axis=-1, channel="blue"),
        prefilter_image(image[..., 2], prefilter="median"),
    )
    counts, _ = image_histogram(image, channel_axis=-1, channel="red")
    np.testing.assert_array_equal(counts, image_histogram(image[..., 0])[0])
    assert threshold_mask(image, channel_axis=-1).shape == image.shape[:2]


def test_channel_axis_bad_values():
    image = _rgb()
    with pytest.raises(ValueError, match="out of range"):
        threshold_mask(image, channel_axis=3)
    with pytest.raises(TypeError, match="channel_axis must be an integer"):
        threshold_mask(image, channel_axis="last")
    with pytest.raises(ValueError, match="unknown channel"):
        threshold_mask(image, channel_axis=-1, channel="alpha")
    with pytest.raises(ValueError, match="only RGB"):
        threshold_mask(np.zeros((16, 16, 5), np.uint8), channel_axis=-1)


@pytest.mark.parametrize(
    "image",
    [
        np.arange(3 * 16 * 16, dtype=np.uint8).reshape(3, 16, 16),  # 3 slices first
        np.arange(16 * 16 * 3, dtype=np.uint16).reshape(16, 16, 3),  # not uint8
        np.arange(4 * 4 * 3, dtype=np.uint8).reshape(4, 4, 3),  # too small for a picture
    ],
)
def test_volumes_that_do_not_look_like_colour_still_work(image):
    assert threshold_mask(image, method="mean").shape == image.shape


# --------------------------------------------------------------------------- issue 9: bounded sizes


def test_huge_median_size_is_refused_not_hung():
    image = np.random.default_rng(0).integers(0, 255, (20, 30), dtype=np.uint8)
    with pytest.raises(ValueError, match=r"prefilter_size=1000001 .*at most 255"):
        threshold_mask(image, prefilter="median", prefilter_size=10**6 + 1)
    big = np.zeros((300, 200), np.uint8)
    big[::7] = 200
    with pytest.raises(ValueError, match=r"at most 599 \(twice its longest axis 300"):
        threshold_mask(big, prefilter="median", prefilter_size=1001)
    # within the bound: works (OpenCV's O(1) median for uint8 has no size limit)
    assert threshold_mask(big, prefilter="median", prefilter_size=599, method="mean").shape


def test_scipy_median_work_is_bounded():
    """Float/uint16 medians run in SciPy (cost ~ size**ndim per pixel): refuse hours of work."""
    image = np.random.default_rng(0).random((400, 400)).astype(np.float64)
    msg = r"prefilter_size=301 is too large .*use prefilter_size <= 163"
    with pytest.raises(ValueError, match=msg):
        prefilter_image(image, prefilter="median", prefilter_size=301)
    vol = np.zeros((64, 64, 64), np.uint8)
    with pytest.raises(ValueError, match=r"too large .*3D windows"):
        prefilter_image(vol, prefilter="median", prefilter_size=101)
    with pytest.raises(ValueError, match=r"block_size=301 is too large for a local median"):
        threshold_mask(image, method="local", local_method="median", block_size=301)


def test_block_size_sigma_and_nbins_are_bounded_by_the_image():
    image = np.random.default_rng(0).integers(0, 255, (300, 200), dtype=np.uint8)
    for method in ("local", "sauvola", "niblack"):
        with pytest.raises(ValueError, match=r"block_size=1001 is larger than this image allows"):
            threshold_mask(image, method=method, block_size=1001)
    msg = r"sigma=1000.0 is larger than this image allows: at most 75"
    with pytest.raises(ValueError, match=msg):
        threshold_mask(image, prefilter="gaussian", sigma=1000)
    with pytest.raises(ValueError, match="nbins must be between 1 and"):
        image_histogram(image, nbins=10**9)
    # the defaults still work on tiny images
    tiny = np.arange(25, dtype=np.uint8).reshape(5, 5)
    assert threshold_mask(tiny, method="local").shape == (5, 5)
    assert threshold_mask(tiny, prefilter="gaussian", sigma=3).shape == (5, 5)


def test_per_slice_bounds_use_the_slice():
    vol = np.zeros((3, 40, 50), np.uint8)
    vol[:, ::3] = 9
    with pytest.raises(ValueError, match="longest axis 50"):
        threshold_mask(vol, method="sauvola", block_size=301, per_slice=True)


# --------------------------------------------------------------------------- issue 9: 3D median


def test_median_network_selects_the_middle_of_27():
    net = median_network()
    rng = np.random.default_rng(0)
    values = rng.integers(0, 4, (27, 5000))
    work = values.copy()
    for a, b in net:
        lo, hi = np.minimum(work[a], work[b]), np.maximum(work[a], work[b])
        work[a], work[b] = lo, hi
    np.testing.assert_array_equal(work[13], np.sort(values, axis=0)[13])


_MEDIAN_DTYPES = [
    np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64,
    np.float32, np.float64, np.bool_,
]


@settings(max_examples=40, deadline=None)
@given(
    dtype=st.sampled_from(_MEDIAN_DTYPES),
    shape=st.tuples(*[st.integers(1, 9)] * 3),
    seed=st.integers(0, 2**32 - 1),
)
def test_median3x3x3_equals_scipy(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    if dt.kind == "b":
        vol = rng.random(shape) < 0.5
    elif dt.kind == "f":
        vol = (rng.standard_normal(shape) * 100).astype(dt)
    else:
        # SciPy's median of 64-bit integers goes through float64 (off by up to
        # 1024 above 2**53; ours is exact): compare where SciPy is exact.
        info = np.iinfo(dt)
        lo, hi = max(info.min, -(2**53)), min(info.max, 2**53)
        vol = rng.integers(lo, hi, shape, dtype=dt, endpoint=True)
    expected = ndi.median_filter(vol, size=3, mode="nearest")
    result = median3x3x3(vol)
    assert result.dtype == vol.dtype
    np.testing.assert_array_equal(result, expected)


def test_median3x3x3_uint64_is_exact():
    big = np.array([[[2**63 + 1, 2**63 + 3, 2**63 + 5]]], dtype=np.uint64)
    np.testing.assert_array_equal(median3x3x3(big), [[[2**63 + 1, 2**63 + 3, 2**63 + 5]]])


def test_3d_median_prefilter_matches_scipy_and_reports_progress():
    rng = np.random.default_rng(1)
    vol = rng.integers(0, 256, (70, 33, 41), dtype=np.uint8)  # several slabs
    calls = []
    out = prefilter_image(vol, prefilter="median", progress=lambda d, t: calls.append((d, t)))
    np.testing.assert_array_equal(out, ndi.median_filter(vol, size=3, mode="nearest"))
    assert len(calls) >= 2 and calls[-1] == (70, 70)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    mask = threshold_mask(
        vol, prefilter="median", method="manual", level=127,
        progress=lambda d, t: calls.append((d, t)),
    )
    np.testing.assert_array_equal(mask, ndi.median_filter(vol, size=3, mode="nearest") > 127)
    assert len(calls) >= 3 and calls[-1] == (1, 1)
    assert all(d < t for d, t in calls[:-1])


@pytest.mark.parametrize("options", [
    {}, {"method": "li", "invert": True}, {"method": "manual", "level": 90.0},
    {"method": "multiotsu", "classes": 4, "class_index": 2},
    {"method": "sauvola", "block_size": 15},
    {"method": "otsu", "prefilter": "median", "prefilter_size": 5},
    {"method": "yen", "prefilter": "clahe"},
    {"method": "otsu", "per_slice": True},
])
def test_threshold_with_histogram_is_threshold_mask_plus_its_histogram(options):
    from skimage import data as skdata

    from napari_maskclean.core.threshold import (
        image_histogram,
        prefilter_image,
        threshold_value,
        threshold_with_histogram,
    )

    coins = skdata.coins()[:120, :150]
    image = np.stack([coins, coins[::-1]]) if options.get("per_slice") else coins
    got = threshold_with_histogram(image, **options)
    np.testing.assert_array_equal(got.mask, threshold_mask(image, **options))
    pre = {k: options[k] for k in ("prefilter", "prefilter_size") if k in options}
    filtered = prefilter_image(image, **pre) if pre else image
    counts, edges = image_histogram(filtered)
    np.testing.assert_array_equal(got.counts, counts)
    np.testing.assert_array_equal(got.edges, edges)
    if options.get("method") in ("sauvola",) or options.get("per_slice"):
        assert got.levels is None
    else:
        np.testing.assert_allclose(got.levels, threshold_value(image, **options))
