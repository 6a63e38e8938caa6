"""Fan-in over real streams: two LSL outlets, aligned by timestamp into one node, row by row."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pylsl
import pytest
import zmq
from helpers import Worker, collect

from bci_bridge.cli.top_view import render
from bci_bridge.config import parse_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import Kind
from runtime.fan_in import FanIn
from runtime.node import Node
from runtime.runner import Runtime, RuntimeOptions

FS = 100.0
N = 400
GAP = range(150, 162)  # samples the EMG source never sends


def _rows(index: npt.NDArray[np.int64], n_channels: int, base: float) -> npt.NDArray[np.float32]:
    """Sample ``i``, channel ``c`` holds ``base + 10 * i + c``: each row says where it is from."""
    return (base + 10.0 * index[:, None] + np.arange(n_channels)[None, :]).astype(np.float32)


def _pipeline(
    eeg: str,
    emg: str,
    out: str,
    names: tuple[str, ...] = ("C3", "Cz", "C4", "flexor", "extensor"),
    isolation: str = "inline",
) -> dict[str, object]:
    return {
        "pipeline": {"name": "fused", "metrics": f"{out}-metrics"},
        "inputs": [{"name": "eeg", "lsl": eeg}, {"name": "emg", "lsl": emg}],
        "nodes": [
            {
                "name": "both",
                "module": "rename",  # passes its input through: the fan-in copies it out
                "inputs": ["eeg", "emg"],
                "params": {"names": list(names)},
                "isolation": isolation,
            }
        ],
        "outputs": [{"node": "both", "zmq": out}],
    }


@pytest.mark.parametrize("isolation", ["inline", "process"])
def test_two_lsl_streams_are_aligned_by_timestamp_row_by_row(
    stream_name: str, ipc_dir: Path, isolation: str
) -> None:
    eeg_info = StreamInfo(name=f"{stream_name}-eeg", channel_names=("C3", "Cz", "C4"), sfreq=FS)
    emg_info = StreamInfo(
        name=f"{stream_name}-emg", type="EMG", channel_names=("flexor", "extensor"), sfreq=FS
    )
    eeg_outlet = pylsl.StreamOutlet(to_lsl(eeg_info))
    emg_outlet = pylsl.StreamOutlet(to_lsl(emg_info))
    out = f"ipc://{ipc_dir}/out"
    pipeline = parse_pipeline(_pipeline(eeg_info.name, emg_info.name, out, isolation=isolation))
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.fused.both")
    client.connect(out)
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
    )
    worker = Worker(runtime.run)
    worker.start()
    assert eeg_outlet.wait_for_consumers(20)
    assert emg_outlet.wait_for_consumers(20)

    # One timestamp grid for both sources (as two amplifiers on one clock); the EMG source
    # skips GAP, and the two arrive in chunks of different sizes, EMG 30 ms behind.
    idx = np.arange(N)
    stamps = 500.0 + idx / FS
    emg_idx = np.array([i for i in idx if i not in GAP])
    eeg, emg = _rows(idx, 3, 0.0), _rows(emg_idx, 2, 100_000.0)
    e = m = 0
    while e < N or m < len(emg_idx):
        if e < N:
            eeg_outlet.push_chunk(eeg[e : e + 5], float(stamps[e : e + 5][-1]))
            e += 5
        while m < len(emg_idx) and (e >= N or emg_idx[m] < e - 3):
            # One sample a push: a chunk's stamps are back-dated at the nominal rate, so a
            # chunk must not straddle the gap.
            emg_outlet.push_sample(emg[m], float(stamps[emg_idx[m]]))
            m += 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (
        runtime.inputs["eeg"].samples_received < N
        or runtime.inputs["emg"].samples_received < len(emg_idx)
    ):
        time.sleep(0.05)
    del eeg_outlet, emg_outlet  # the sources go: with exit_on_eos, that ends the run
    frames = collect(client, b"out.fused.both")
    summary = worker.finish()
    client.close()

    data = [f for f in frames if f.kind is Kind.DATA]
    rows = np.concatenate([f.data for f in data])
    ts = np.concatenate([f.timestamps for f in data])
    eeg_i = (rows[:, 0] - 0.0) / 10.0
    emg_i = (rows[:, 3] - 100_000.0) / 10.0
    np.testing.assert_array_equal(eeg_i, emg_i)  # every row: both parts of the same instant
    np.testing.assert_array_equal(eeg_i.astype(np.int64), emg_idx)  # in order, none twice
    np.testing.assert_array_equal(rows[:, :3], eeg[emg_idx])
    np.testing.assert_array_equal(rows[:, 3:], emg)
    np.testing.assert_allclose(ts, stamps[emg_idx], rtol=0, atol=1e-6)

    assert summary["samples_lost"] == 0
    fan = summary["nodes"]["both"]["fan_in"]
    assert fan["inputs"] == ["eeg", "emg"]
    assert fan["tolerance_ms"] == pytest.approx(5.0)  # half of 10 ms
    assert (fan["aligned"], fan["misaligned"], fan["dropped"]) == (len(emg_idx), len(GAP), 0)
    assert fan["per_input"]["eeg"] == {
        "received": N,
        "misaligned": len(GAP),
        "dropped": 0,
        "waiting": 0,
    }
    assert summary["nodes"]["both"]["samples_processed"] == len(emg_idx)
    screen = render(summary)
    line = next(x for x in screen if x.startswith("both ") and "eeg, emg" in x)
    assert line.split()[1:4] == [str(len(emg_idx)), str(len(GAP)), "0"]


def test_rates_that_differ_are_refused_naming_the_file_and_key(
    stream_name: str, ipc_dir: Path
) -> None:
    a = pylsl.StreamOutlet(
        to_lsl(StreamInfo(name=f"{stream_name}-a", channel_names=("x",), sfreq=FS))
    )
    b = pylsl.StreamOutlet(
        to_lsl(StreamInfo(name=f"{stream_name}-b", channel_names=("y",), sfreq=2 * FS))
    )
    raw = _pipeline(f"{stream_name}-a", f"{stream_name}-b", f"ipc://{ipc_dir}/out", ("x", "y"))
    pipeline = parse_pipeline(raw, source="fused.toml")
    with pytest.raises(ConfigError) as info:
        Runtime(pipeline, RuntimeOptions(info_timeout_s=20)).run(threading.Event())
    del a, b
    assert info.value.file == "fused.toml"
    assert info.value.key == "nodes[0].inputs"
    assert "eeg 100 Hz, emg 200 Hz" in info.value.message


def test_an_output_built_on_the_aligned_rows_leaves_the_node_as_a_copy() -> None:
    pipeline = parse_pipeline(_pipeline("a", "b", "ipc:///tmp/unused"))
    node = Node(pipeline.nodes[0])
    fan = FanIn(node, "nodes[0]")
    infos = {
        "eeg": StreamInfo(name="a", channel_names=("C3", "Cz", "C4"), sfreq=FS),
        "emg": StreamInfo(name="b", channel_names=("f", "e"), sfreq=FS),
    }
    node.prepare(fan.prepare(infos))
    got: list[Chunk] = []
    node.sinks.append(got.append)
    idx = np.arange(20)
    stamps = 1.0 + idx / FS
    for i in range(0, 20, 4):
        fan.ports[0].run([Chunk(_rows(idx[i : i + 4], 3, 0.0), stamps[i : i + 4])])
        fan.ports[1].run([Chunk(_rows(idx[i : i + 4], 2, 9.0), stamps[i : i + 4])])
    assert fan.aligner is not None
    assert [c.n_samples for c in got] == [4] * 5
    for chunk in got:
        assert not fan.aligner.owns(chunk.data)
        assert not fan.aligner.owns(chunk.timestamps)
    rows = np.concatenate([c.data for c in got])  # still intact after the buffer was reused
    np.testing.assert_array_equal(rows[:, :3], _rows(idx, 3, 0.0))
    np.testing.assert_array_equal(rows[:, 3:], _rows(idx, 2, 9.0))
    np.testing.assert_array_equal(np.concatenate([c.timestamps for c in got]), stamps)
