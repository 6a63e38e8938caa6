"""The fan-in aligner: which samples are paired, in which order, and how every sample is counted."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.stream import MARKER_DTYPE, Chunk, StreamInfo
from runtime.aligner import Aligner
from runtime.fan_in import combined_info

FS = 250.0
PERIOD = 1.0 / FS


def _info(name: str, n_channels: int, sfreq: float = FS, dtype: str = "float32") -> StreamInfo:
    return StreamInfo(
        name=name,
        channel_names=tuple(f"{name}{c}" for c in range(n_channels)),
        sfreq=sfreq,
        dtype=dtype,
    )


def _stream(index: npt.NDArray[np.int64], n_channels: int, source: int) -> npt.NDArray[np.float32]:
    """Samples that say where they come from: ``source * 1e6 + index * 10 + channel``."""
    return (source * 1_000_000 + index[:, None] * 10 + np.arange(n_channels)[None, :]).astype(
        np.float32
    )


@dataclass
class _Run:
    rows: npt.NDArray[np.float32]
    stamps: npt.NDArray[np.float64]
    aligner: Aligner


def _feed(
    aligner: Aligner,
    pushes: list[tuple[int, npt.NDArray[np.float32], npt.NDArray[np.float64]]],
) -> _Run:
    rows: list[npt.NDArray[np.float32]] = []
    stamps: list[npt.NDArray[np.float64]] = []

    def keep(chunk: Chunk) -> None:
        rows.append(chunk.data.copy())
        stamps.append(chunk.timestamps.copy())

    for source, data, ts in pushes:
        aligner.push_all(source, data, ts, keep)
    n_cols = aligner._out.shape[1]
    return _Run(
        np.concatenate(rows) if rows else np.empty((0, n_cols), np.float32),
        np.concatenate(stamps) if stamps else np.empty(0),
        aligner,
    )


def _interleave(
    streams: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]],
    chunk_sizes: list[int],
) -> list[tuple[int, npt.NDArray[np.float32], npt.NDArray[np.float64]]]:
    """Push each stream in chunks of its own size, taking turns (as two sources would arrive)."""
    pushes = []
    pos = [0] * len(streams)
    while any(p < len(s[1]) for p, s in zip(pos, streams, strict=True)):
        for k, ((data, ts), size) in enumerate(zip(streams, chunk_sizes, strict=True)):
            if pos[k] < len(ts):
                pushes.append((k, data[pos[k] : pos[k] + size], ts[pos[k] : pos[k] + size]))
                pos[k] += size
    return pushes


def _aligner(*channels: int, tolerance_s: float = PERIOD / 2, max_bytes: int = 1 << 20) -> Aligner:
    infos = [_info(f"s{k}", c) for k, c in enumerate(channels)]
    return Aligner(infos, tolerance_s=tolerance_s, max_bytes=max_bytes, dtype=np.dtype("float32"))


def _indices(rows: npt.NDArray[np.float32], source: int, first_col: int) -> npt.NDArray[np.int64]:
    """Recover the sample index of each row's part from ``source`` (see :func:`_stream`)."""
    return np.round((rows[:, first_col] - source * 1_000_000) / 10).astype(np.int64)


def test_streams_on_one_grid_are_paired_sample_by_sample_whatever_the_chunking() -> None:
    n = 1000
    idx = np.arange(n)
    ts = 100.0 + idx * PERIOD
    eeg, emg = _stream(idx, 3, 0), _stream(idx, 2, 1)
    run = _feed(_aligner(3, 2), _interleave([(eeg, ts), (emg, ts)], [7, 32]))

    assert run.rows.shape == (n, 5)
    np.testing.assert_array_equal(run.rows[:, :3], eeg)  # channels in the order listed
    np.testing.assert_array_equal(run.rows[:, 3:], emg)
    np.testing.assert_array_equal(run.stamps, ts)
    assert run.aligner.aligned == n
    assert run.aligner.counters() == [
        {"received": n, "misaligned": 0, "dropped": 0, "waiting": 0},
        {"received": n, "misaligned": 0, "dropped": 0, "waiting": 0},
    ]


def test_a_constant_offset_within_tolerance_pairs_every_sample_on_the_reference_clock() -> None:
    n = 500
    idx = np.arange(n)
    ts = 10.0 + idx * PERIOD
    late = ts + 0.4 * PERIOD  # the second source's clock runs 1.6 ms behind: within 2 ms
    run = _feed(
        _aligner(2, 2), _interleave([(_stream(idx, 2, 0), ts), (_stream(idx, 2, 1), late)], [5, 5])
    )

    assert run.aligner.aligned == n
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), idx)
    np.testing.assert_array_equal(_indices(run.rows, 1, 2), idx)
    np.testing.assert_array_equal(run.stamps, ts)  # rows carry the reference's timestamps


def test_an_offset_beyond_tolerance_pairs_the_nearest_samples_and_counts_the_orphan() -> None:
    n = 300
    idx = np.arange(n)
    ts = 10.0 + idx * PERIOD
    other = ts + 0.7 * PERIOD  # sample i of source 1 is nearest to sample i + 1 of source 0
    run = _feed(
        _aligner(1, 1), _interleave([(_stream(idx, 1, 0), ts), (_stream(idx, 1, 1), other)], [4, 4])
    )

    # Sample 0 of the reference has no partner within 2 ms; the last of source 1 waits for one.
    assert run.aligner.aligned == n - 1
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), idx[1:])
    np.testing.assert_array_equal(_indices(run.rows, 1, 1), idx[:-1])
    counters = run.aligner.counters()
    assert [c["misaligned"] for c in counters] == [1, 0]
    assert [c["waiting"] for c in counters] == [0, 1]


def test_a_gap_in_one_stream_costs_the_other_its_samples_over_the_gap_counted() -> None:
    n = 1000
    idx = np.arange(n)
    ts = 50.0 + idx * PERIOD
    kept = np.r_[0:400, 430:n]  # source 1 lost 30 samples (dropped by the network, say)
    run = _feed(
        _aligner(2, 3),
        _interleave([(_stream(idx, 2, 0), ts), (_stream(kept, 3, 1), ts[kept])], [10, 16]),
    )

    assert run.aligner.aligned == n - 30
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), kept)
    np.testing.assert_array_equal(_indices(run.rows, 1, 2), kept)  # same sample on every row
    assert np.all(np.diff(run.stamps) > 0)
    assert [c["misaligned"] for c in run.aligner.counters()] == [30, 0]


def test_a_gap_in_the_reference_costs_the_other_stream_its_samples() -> None:
    n = 600
    idx = np.arange(n)
    ts = 50.0 + idx * PERIOD
    kept = np.r_[0:100, 150:n]
    run = _feed(
        _aligner(1, 1),
        _interleave([(_stream(kept, 1, 0), ts[kept]), (_stream(idx, 1, 1), ts)], [8, 8]),
    )
    assert run.aligner.aligned == n - 50
    np.testing.assert_array_equal(_indices(run.rows, 1, 1), kept)
    assert [c["misaligned"] for c in run.aligner.counters()] == [0, 50]


def test_jitter_within_tolerance_is_absorbed() -> None:
    n = 2000
    idx = np.arange(n)
    grid = 7.0 + idx * PERIOD
    rng = np.random.default_rng(3)
    ts0 = grid + rng.uniform(-0.2, 0.2, n) * PERIOD  # each clock jitters +-0.8 ms
    ts1 = grid + rng.uniform(-0.2, 0.2, n) * PERIOD
    run = _feed(
        _aligner(2, 1),
        _interleave([(_stream(idx, 2, 0), ts0), (_stream(idx, 1, 1), ts1)], [1, 12]),
    )
    assert run.aligner.aligned == n
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), _indices(run.rows, 1, 2))
    np.testing.assert_array_equal(run.stamps, ts0)


def test_three_sources_each_within_tolerance_of_the_reference() -> None:
    n = 400
    idx = np.arange(n)
    ts = 3.0 + idx * PERIOD
    kept2 = np.r_[0:200, 205:n]
    streams = [
        (_stream(idx, 1, 0), ts),
        (_stream(idx, 2, 1), ts - 0.3 * PERIOD),
        (_stream(kept2, 1, 2), ts[kept2] + 0.3 * PERIOD),
    ]
    run = _feed(_aligner(1, 2, 1), _interleave(streams, [3, 9, 20]))
    assert run.aligner.aligned == n - 5
    for source, col in ((0, 0), (1, 1), (2, 3)):
        np.testing.assert_array_equal(_indices(run.rows, source, col), kept2)
    assert [c["misaligned"] for c in run.aligner.counters()] == [5, 5, 0]


def test_a_source_that_runs_ahead_waits_within_its_bound_and_the_oldest_are_dropped() -> None:
    row_bytes = 4 * 4 + 8  # 4 float32 channels and a float64 timestamp
    aligner = _aligner(4, 1, max_bytes=100 * row_bytes)  # 100 samples may wait per source
    n = 350
    idx = np.arange(n)
    ts = 1.0 + idx * PERIOD
    # Source 0 comes alone for a while (source 1 stalled), then source 1 catches up.
    run = _feed(
        aligner,
        [(0, _stream(idx[i : i + 25], 4, 0), ts[i : i + 25]) for i in range(0, n, 25)]
        + [(1, _stream(idx, 1, 1), ts)],
    )
    counters = aligner.counters()
    assert counters[0]["dropped"] == n - 100  # only the newest 100 waited
    assert aligner.aligned == 100
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), idx[-100:])
    np.testing.assert_array_equal(_indices(run.rows, 1, 4), idx[-100:])
    # The first 250 samples of source 1 found their partners dropped: misaligned, in order.
    assert counters[1]["misaligned"] == n - 100
    for c in counters:
        assert c["received"] == aligner.aligned + c["misaligned"] + c["dropped"] + c["waiting"]


def test_a_push_larger_than_the_bound_is_taken_in_parts() -> None:
    aligner = _aligner(1, 1, max_bytes=64 * 12)  # 64 samples per source
    n = 1000
    idx = np.arange(n)
    ts = 2.0 + idx * PERIOD
    run = _feed(aligner, [(1, _stream(idx, 1, 1), ts), (0, _stream(idx, 1, 0), ts)])
    # Source 1's 1000 samples left only the newest 64 waiting; source 0 then pairs with those.
    assert aligner.aligned == 64
    np.testing.assert_array_equal(_indices(run.rows, 0, 0), idx[-64:])
    assert [c["dropped"] for c in aligner.counters()] == [0, n - 64]
    assert [c["misaligned"] for c in aligner.counters()] == [n - 64, 0]


def _reference_align(
    ts: list[npt.NDArray[np.float64]], tol: float
) -> tuple[list[tuple[int, ...]], list[int]]:
    """The pairing rule, one sample at a time: rows (indices per source) and orphans per source."""
    heads = [0] * len(ts)
    rows: list[tuple[int, ...]] = []
    orphans = [0] * len(ts)
    while all(h < len(t) for h, t in zip(heads, ts, strict=True)):
        t0 = ts[0][heads[0]]
        early = [j for j in range(1, len(ts)) if ts[j][heads[j]] < t0 - tol]
        if early:
            for j in early:
                heads[j] += 1
                orphans[j] += 1
            continue
        if any(ts[j][heads[j]] > t0 + tol for j in range(1, len(ts))):
            heads[0] += 1
            orphans[0] += 1
            continue
        rows.append(tuple(heads))
        heads = [h + 1 for h in heads]
    return rows, orphans


@pytest.mark.parametrize("seed", range(6))
def test_the_vectorised_aligner_pairs_as_the_one_sample_rule_does(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_sources = 2 + seed % 2
    n = 1500
    grid = 20.0 + np.arange(n) * PERIOD
    streams = []
    kept_all = []
    for k in range(n_sources):
        keep = rng.random(n) > 0.03  # ~3% lost, scattered, plus a burst
        start = int(rng.integers(0, n - 60))
        keep[start : start + int(rng.integers(1, 50))] = False
        kept = np.flatnonzero(keep)
        offset = rng.uniform(-0.3, 0.3) * PERIOD if k else 0.0
        ts = grid[kept] + offset + rng.uniform(-0.15, 0.15, kept.size) * PERIOD
        streams.append((_stream(kept, 1, k), ts))
        kept_all.append(kept)
    sizes = [int(x) for x in rng.integers(1, 40, n_sources)]
    run = _feed(_aligner(*([1] * n_sources)), _interleave(streams, sizes))

    expected_rows, orphans = _reference_align([s[1] for s in streams], PERIOD / 2)
    assert run.aligner.aligned == len(expected_rows)
    for k in range(n_sources):
        want = kept_all[k][[r[k] for r in expected_rows]]
        np.testing.assert_array_equal(_indices(run.rows, k, k), want)
    assert [c["misaligned"] for c in run.aligner.counters()] == orphans


def test_steady_state_allocates_nothing_in_the_aligner() -> None:
    aligner = _aligner(8, 4)
    n_chunks, size = 400, 8
    idx = np.arange(n_chunks * size)
    ts = 5.0 + idx * PERIOD
    streams = [(_stream(idx, 8, 0), ts), (_stream(idx, 4, 1), ts + 0.1 * PERIOD)]
    chunks = [
        (k, streams[k][0][i : i + size], streams[k][1][i : i + size])
        for i in range(0, len(idx), size)
        for k in (0, 1)
    ]
    total = 0

    def count(chunk: Chunk) -> None:
        nonlocal total
        total += chunk.n_samples

    for k, d, t in chunks[:100]:  # warm up
        aligner.push_all(k, d, t, count)
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        tracemalloc.reset_peak()
        for k, d, t in chunks[100:]:
            aligner.push_all(k, d, t, count)
        _, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert total == len(idx)
    assert grown < 2048, f"{grown} bytes kept over {len(chunks) - 100} pushes"
    assert peak < 8192, f"peak of {peak} bytes traced during the pushes (no array temporaries)"


def test_combined_info_keeps_unique_names_and_puts_the_channels_in_the_order_listed() -> None:
    eeg = StreamInfo(name="E", channel_names=("C3", "C4"), sfreq=FS, channel_units=("uV",) * 2)
    emg = StreamInfo(name="M", type="EMG", channel_names=("FDS",), sfreq=FS, dtype="int16")
    info = combined_info("fused", ["eeg", "emg"], [eeg, emg])
    assert info.channel_names == ("C3", "C4", "FDS")
    assert info.channel_types == ("eeg", "eeg", "emg")
    assert info.channel_units == ("uV", "uV", "")
    assert (info.name, info.type, info.sfreq, info.dtype) == ("fused", "EEG+EMG", FS, "float32")


def test_combined_info_prefixes_every_channel_with_its_source_when_names_clash() -> None:
    a = _info("x", 2)
    b = StreamInfo(name="y", channel_names=("x0", "z"), sfreq=FS, dtype="float64")
    info = combined_info("n", ["left", "right"], [a, b])
    assert info.channel_names == ("left:x0", "left:x1", "right:x0", "right:z")
    assert info.dtype == "float64"


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (_info("b", 1, sfreq=500.0), "one rate for all its sources, got a 250 Hz, b 500 Hz"),
        (_info("b", 1, sfreq=0.0), "'b' is an irregular stream"),
        (
            StreamInfo(
                name="m", channel_names=("label",), sfreq=0.0, dtype=MARKER_DTYPE, type="Markers"
            ),
            "'b' is a marker stream",
        ),
    ],
)
def test_combined_info_refuses_what_cannot_be_aligned(other: StreamInfo, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        combined_info("n", ["a", "b"], [_info("a", 1), other])
    assert info.value.key == "inputs"
