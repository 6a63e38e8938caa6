"""The per-input non-finite policy: counted always; hold, zero, drop or pass."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.stream import StreamInfo
from runtime.nonfinite import NonFiniteFilter

INFO = StreamInfo(name="eeg", channel_names=("a", "b", "c"), sfreq=250.0)
NAN = np.nan


def _ts(n: int, start: float = 0.0) -> np.ndarray:
    return start + np.arange(n) / 250.0


def test_finite_chunks_pass_through_as_the_same_arrays():
    f = NonFiniteFilter("hold", INFO)
    data = np.ones((4, 3), np.float32)
    ts = _ts(4)
    got = f(data, ts)
    assert got is not None
    assert got[0] is data
    assert got[1] is ts
    assert (f.samples, f.values) == (0, 0)


def test_hold_repeats_the_last_finite_value_per_channel_across_chunks():
    f = NonFiniteFilter("hold", INFO)
    f(np.array([[1, 2, 3]], np.float32), _ts(1))
    data = np.array([[NAN, 5, 6], [7, NAN, np.inf], [NAN, NAN, 9]], np.float32)
    got = f(data, _ts(3))
    assert got is not None
    np.testing.assert_array_equal(got[0], [[1, 5, 6], [7, 5, 6], [7, 5, 9]])
    assert got[0].dtype == np.float32
    assert np.isnan(data[0, 0])  # the received buffer is not written to
    assert (f.samples, f.values) == (3, 5)
    # The next chunk starts from the values held at the end of this one.
    got = f(np.array([[NAN, 1, 1]], np.float32), _ts(1))
    assert got is not None
    np.testing.assert_array_equal(got[0], [[7, 1, 1]])


def test_hold_before_any_finite_value_gives_zero():
    f = NonFiniteFilter("hold", INFO)
    got = f(np.full((2, 3), NAN), _ts(2))
    assert got is not None
    np.testing.assert_array_equal(got[0], np.zeros((2, 3)))


def test_zero_replaces_with_zero():
    f = NonFiniteFilter("zero", INFO)
    got = f(np.array([[1, NAN, 3], [-np.inf, 2, 2]], np.float32), _ts(2))
    assert got is not None
    np.testing.assert_array_equal(got[0], [[1, 0, 3], [0, 2, 2]])
    assert f.samples == 2


def test_drop_removes_rows_with_their_timestamps():
    f = NonFiniteFilter("drop", INFO)
    ts = _ts(3)
    got = f(np.array([[1, 1, 1], [NAN, 2, 2], [3, 3, 3]], np.float32), ts)
    assert got is not None
    np.testing.assert_array_equal(got[0], [[1, 1, 1], [3, 3, 3]])
    np.testing.assert_array_equal(got[1], ts[[0, 2]])
    assert f(np.full((2, 3), NAN, np.float32), _ts(2)) is None
    assert f.samples == 3


def test_pass_delivers_unchanged_and_counts():
    f = NonFiniteFilter("pass", INFO)
    data = np.array([[NAN, 1, 1]], np.float32)
    got = f(data, _ts(1))
    assert got is not None
    assert got[0] is data
    assert f.samples == 1


def test_huge_finite_values_are_not_counted():
    f = NonFiniteFilter("hold", INFO)
    big = np.full((4, 3), 3e38, np.float32)
    got = f(big, _ts(4))
    assert got is not None
    assert got[0] is big
    assert f.samples == 0


def test_integer_streams_pass_untouched():
    info = StreamInfo(name="x", channel_names=("a",), sfreq=10.0, dtype="int16")
    f = NonFiniteFilter("hold", info)
    data = np.ones((2, 1), np.int16)
    got = f(data, _ts(2))
    assert got is not None
    assert got[0] is data


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="on_nonfinite"):
        NonFiniteFilter("ignore", INFO)


def test_a_strided_chunk_is_checked_too():
    f = NonFiniteFilter("zero", INFO)
    base = np.ones((4, 6), np.float32)
    base[1, 2] = NAN
    got = f(base[:, ::2], _ts(4))  # not C-contiguous
    assert got is not None
    np.testing.assert_array_equal(got[0], [[1, 1, 1], [1, 0, 1], [1, 1, 1], [1, 1, 1]])
    clean = np.ones((4, 6), np.float32)[:, ::2]
    got = f(clean, _ts(4))
    assert got is not None
    assert got[0] is clean


def test_chunks_bigger_than_a_second_are_checked():
    f = NonFiniteFilter("hold", INFO)
    data = np.ones((1000, 3), np.float32)
    data[999, 0] = np.inf
    got = f(data, _ts(1000))
    assert got is not None
    assert got[0][999, 0] == 1
    assert f.samples == 1
