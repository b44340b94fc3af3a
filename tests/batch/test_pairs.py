"""Sparse pair tables: every counting path and the merge equal a plain Counter."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_maskclean.batch._pairs import count_pairs, first_pixels, merge_first, merge_pairs

DTYPES = ["bool", "uint8", "int8", "int16", "uint32", "uint64", "float32"]


def _values(rng, dtype, n, spread):
    if dtype == "bool":
        return rng.random(n) < 0.5
    if dtype == "float32":
        return rng.integers(-spread, spread + 1, n).astype(np.float32) / 2
    info = np.iinfo(dtype)
    lo = max(int(info.min), -spread)
    hi = min(int(info.max), spread)
    out = rng.integers(lo, hi + 1, n).astype(dtype)
    if dtype == "uint64" and spread > 1000:
        out[out > 0] += np.uint64(2**63)  # ids beyond int64
    return out


def _as_counter(table):
    a, b, n = table
    assert (n > 0).all()
    pairs = list(zip(a.tolist(), b.tolist(), strict=True))
    assert len(set(pairs)) == len(pairs)  # distinct pairs
    return dict(zip(pairs, n.tolist(), strict=True))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), da_=st.sampled_from(DTYPES), db=st.sampled_from(DTYPES),
       n=st.integers(1, 300), spread=st.sampled_from([1, 3, 200, 5000, 10**6]),
       parts=st.integers(1, 4))
def test_count_and_merge_equal_counter(seed, da_, db, n, spread, parts):
    rng = np.random.default_rng(seed)
    a, b = _values(rng, da_, n, spread), _values(rng, db, n, spread)
    expected = Counter(zip(a.tolist(), b.tolist(), strict=True))
    table = count_pairs(a, b)
    assert _as_counter(table) == expected
    assert table[0].dtype == a.dtype and table[1].dtype == b.dtype
    cuts = np.array_split(np.arange(n), parts)
    merged = merge_pairs([count_pairs(a[c], b[c]) for c in cuts], force=True)
    assert _as_counter(merged) == expected


def test_first_pixels_any_numbering_and_merge_first():
    flat = np.array([0, 3, 3, 1, 0, 2, 1, 3], dtype=np.int32)
    assert first_pixels(flat, 3).tolist() == [3, 5, 1]
    ids, pos = merge_first([(np.array([5, 2, 5]), np.array([9, 4, 7])),
                            (np.array([2]), np.array([1]))])
    assert ids.tolist() == [2, 5] and pos.tolist() == [1, 7]
