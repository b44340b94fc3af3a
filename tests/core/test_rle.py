import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pycocotools import mask as mask_utils

from napari_maskclean.core.rle import rle_area, rle_decode, rle_encode, rle_to_bbox


def _ref(mask):
    return mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))


@st.composite
def masks(draw):
    h = draw(st.integers(1, 40))
    w = draw(st.integers(1, 40))
    kind = draw(st.sampled_from(["random", "empty", "full", "one", "blob"]))
    if kind == "empty":
        return np.zeros((h, w), bool)
    if kind == "full":
        return np.ones((h, w), bool)
    if kind == "one":
        m = np.zeros((h, w), bool)
        m[draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))] = True
        return m
    if kind == "blob":
        y0, x0 = draw(st.integers(0, h - 1)), draw(st.integers(0, w - 1))
        y1, x1 = draw(st.integers(y0, h)), draw(st.integers(x0, w))
        m = np.zeros((h, w), bool)
        m[y0:y1, x0:x1] = True
        return m
    return draw(hnp.arrays(bool, (h, w)))


@settings(max_examples=60, deadline=None)
@given(masks(), st.sampled_from(["C", "F", "T"]))
def test_matches_pycocotools(mask, order):
    if order == "F":
        mask = np.asfortranarray(mask)
    elif order == "T":  # a non-contiguous view
        mask = np.ascontiguousarray(mask.T).T
    ref = _ref(mask)
    rle = rle_encode(mask)
    assert rle["size"] == list(mask.shape)
    assert rle["counts"] == ref["counts"].decode()
    decoded = rle_decode(rle)
    assert decoded.dtype == bool
    np.testing.assert_array_equal(decoded, mask)
    np.testing.assert_array_equal(decoded, mask_utils.decode(ref).astype(bool))
    assert rle_area(rle) == mask_utils.area(ref) == mask.sum()
    np.testing.assert_array_equal(rle_to_bbox(rle), mask_utils.toBbox(ref))


@settings(max_examples=40, deadline=None)
@given(masks())
def test_decode_accepts_bytes_and_uncompressed(mask):
    ref = _ref(mask)
    np.testing.assert_array_equal(rle_decode(ref), mask)  # bytes counts
    # uncompressed counts (iscrowd style), computed the plain way
    counts, cur, run = [], 0, 0
    for v in mask.ravel(order="F"):
        if v != cur:
            counts.append(run)
            cur, run = v, 0
        run += 1
    counts.append(run)
    unc = {"size": list(mask.shape), "counts": counts}
    np.testing.assert_array_equal(rle_decode(unc), mask)
    comp = mask_utils.frPyObjects(unc, *mask.shape)
    assert rle_encode(mask)["counts"] == comp["counts"].decode()
    assert rle_area(unc) == mask.sum()
    np.testing.assert_array_equal(rle_to_bbox(unc), mask_utils.toBbox(comp))


def test_numeric_masks_and_doc_example():
    assert rle_encode(np.array([[0, 1], [1, 1]], np.uint8)) == {"size": [2, 2], "counts": "13"}
    assert rle_encode(np.array([[0.0, 1.0]]))["counts"] == _ref([[0, 1]])["counts"].decode()


def test_large_counts_roundtrip():
    # long runs produce multi-character counts and negative differences
    m = np.zeros((300, 500), bool)
    m[:, 100:400] = True
    m[5, 5] = True
    rle = rle_encode(m)
    assert rle["counts"] == _ref(m)["counts"].decode()
    np.testing.assert_array_equal(rle_decode(rle), m)


def test_counts_beyond_32_bits_are_exact():
    # pycocotools' 32-bit counts overflow here; ours are 64-bit
    h, w = 2**17, 2**16  # 2**33 pixels: decoding is not attempted, only the counts
    rle = {"size": [h, w], "counts": [2**32 + 5, h * w - 2**32 - 5]}
    assert rle_area(rle) == h * w - 2**32 - 5
    from napari_maskclean.core.rle import _counts_to_string, _parse

    cnts = np.array(rle["counts"], np.int64)
    s = _counts_to_string(cnts).tobytes().decode()
    assert rle_area({"size": [h, w], "counts": s}) == h * w - 2**32 - 5
    assert _parse({"size": [h, w], "counts": s})[2].tolist() == rle["counts"]


def test_non_binary_refused():
    with pytest.raises(ValueError, match="binary.*value 2"):
        rle_encode(np.array([[0, 2]]))
    with pytest.raises(ValueError, match="2D"):
        rle_encode(np.zeros((2, 2, 2), bool))
    with pytest.raises(TypeError, match="dtype"):
        rle_encode(np.array([["a"]]))


@pytest.mark.parametrize(
    ("rle", "match"),
    [
        ({"size": [2, 2], "counts": "11"}, "add up to 2 pixels but size \\[2, 2\\] has 4"),
        ({"size": [2, 2], "counts": "1 2"}, "outside '0'..'o'"),
        ({"size": [2, 2], "counts": "1\x7f"}, "outside '0'..'o'"),
        ({"size": [2, 2], "counts": "1p"}, "outside '0'..'o'"),
        ({"size": [2, 2], "counts": "1é"}, "non-ASCII"),
        ({"size": [2, 2], "counts": "1P"}, "ends inside a count"),
        ({"size": [2, 2], "counts": "O"}, "negative count"),
        ({"size": [2, 2], "counts": [1, -1, 4]}, "negative count -1"),
        ({"size": [2, 2], "counts": [1.5, 2.5]}, "integers"),
        ({"size": [2, 2], "counts": [[1, 3]]}, "flat list"),
        ({"size": [2, 2], "counts": "P" * 13 + "0"}, "longer than 12"),
        ({"size": [2, -2], "counts": ""}, "non-negative integers"),
        ({"size": [2], "counts": "4"}, "non-negative integers"),
        ({"size": "ab", "counts": "4"}, "non-negative integers"),
        ({"size": [2.5, 2], "counts": "4"}, "non-negative integers"),
        ({"counts": "4"}, "missing \\['size'\\]"),
    ],
)
def test_malformed_rle_refused(rle, match):
    for func in (rle_decode, rle_area, rle_to_bbox):
        with pytest.raises(ValueError, match=match):
            func(rle)


def test_not_a_dict():
    with pytest.raises(TypeError, match="dict"):
        rle_decode("abc")


def test_empty_and_zero_sized():
    assert rle_to_bbox(rle_encode(np.zeros((4, 5), bool))).tolist() == [0, 0, 0, 0]
    for shape in [(0, 3), (3, 0)]:
        rle = rle_encode(np.zeros(shape, bool))
        assert rle["counts"] == _ref(np.zeros(shape))["counts"].decode()
        assert rle_decode(rle).shape == shape
