"""The runtime's direct liblsl pull against real outlets: values, stamps, bounds, loss."""

from __future__ import annotations

import time

import numpy as np
import pylsl
import pytest
from pylsl.util import LostError

from bci_bridge.lsl_pull import NumericPull


def _open(name: str, fmt: str, n_channels: int) -> tuple[pylsl.StreamOutlet, pylsl.StreamInlet]:
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(name, "EEG", n_channels, 100.0, fmt, name))
    found = pylsl.resolve_byprop("name", name, 1, 10.0)
    assert found, f"no stream {name}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=360, max_chunklen=0, recover=False)
    inlet.open_stream(timeout=10.0)
    assert outlet.wait_for_consumers(10.0)
    return outlet, inlet


def _wait_for(inlet: pylsl.StreamInlet, n: int) -> None:
    deadline = time.monotonic() + 10.0
    while inlet.samples_available() < n and time.monotonic() < deadline:
        time.sleep(0.005)
    assert inlet.samples_available() >= n


@pytest.mark.parametrize(
    ("fmt", "dtype"),
    [("float32", np.float32), ("double64", np.float64), ("int16", np.int16), ("int32", np.int32)],
)
def test_pulls_every_sample_once_with_its_stamp_in_fresh_arrays(
    stream_name: str, fmt: str, dtype: type
) -> None:
    outlet, inlet = _open(stream_name, fmt, 3)
    pull = NumericPull(inlet, max_samples=8)
    data: np.ndarray = (np.arange(60).reshape(20, 3) * 7 - 100).astype(dtype)
    stamps = 50.0 + np.arange(20) / 100.0
    outlet.push_chunk(data, stamps.tolist())
    _wait_for(inlet, 20)

    got = [pull(0.5) for _ in range(3)]  # 8 + 8 + 4: at most max_samples per pull
    assert [g[0].shape[0] for g in got if g is not None] == [8, 8, 4]
    assert pull(0.0) is None  # nothing left: no wait, nothing returned
    rows = np.concatenate([g[0] for g in got if g is not None])
    ts = np.concatenate([g[1] for g in got if g is not None])
    assert rows.dtype == dtype
    assert ts.dtype == np.float64
    np.testing.assert_array_equal(rows, data)
    np.testing.assert_allclose(ts, stamps, atol=1e-9)
    first = got[0]
    assert first is not None
    assert first[0].base is None
    assert first[1].base is None


def test_waits_for_the_first_sample_then_returns_it(stream_name: str) -> None:
    outlet, inlet = _open(stream_name, "float32", 2)
    pull = NumericPull(inlet, max_samples=16)
    assert pull(0.05) is None  # waited the timeout; nothing came
    outlet.push_sample([1.0, 2.0], 7.0)
    got = pull(5.0)
    assert got is not None
    np.testing.assert_array_equal(got[0], [[1.0, 2.0]])
    np.testing.assert_allclose(got[1], [7.0])


def test_a_lost_source_raises_lost_error(stream_name: str) -> None:
    outlet, inlet = _open(stream_name, "float32", 2)
    pull = NumericPull(inlet, max_samples=4)
    outlet.push_sample([1.0, 2.0], 1.0)
    _wait_for(inlet, 1)
    got = pull(0.5)
    assert got is not None
    assert got[0].shape == (1, 2)
    del outlet
    deadline = time.monotonic() + 20.0
    lost = None
    while lost is None and time.monotonic() < deadline:
        try:
            assert pull(0.1) is None  # nothing more was sent: only the loss can come
        except LostError as e:
            lost = e
    assert isinstance(lost, LostError)


def test_refuses_string_streams_and_a_bound_below_one_and_pulls_one_at_a_time(
    stream_name: str,
) -> None:
    outlet = pylsl.StreamOutlet(
        pylsl.StreamInfo(stream_name, "Markers", 1, 0.0, "string", stream_name)
    )
    found = pylsl.resolve_byprop("name", stream_name, 1, 10.0)
    inlet = pylsl.StreamInlet(found[0])
    with pytest.raises(ValueError, match="numeric streams only"):
        NumericPull(inlet, max_samples=8)
    del outlet
    out2, inlet2 = _open(f"{stream_name}-n", "float32", 1)
    with pytest.raises(ValueError, match="max_samples must be >= 1"):
        NumericPull(inlet2, max_samples=0)
    one = NumericPull(inlet2, max_samples=1)
    out2.push_chunk([[1.0], [2.0]], [1.0, 2.0])
    _wait_for(inlet2, 2)
    got = [one(0.5), one(0.5)]
    assert [g[0].tolist() for g in got if g is not None] == [[[1.0]], [[2.0]]]
    del out2
