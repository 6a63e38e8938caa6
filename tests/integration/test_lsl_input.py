"""Inputs read straight from LSL by the runtime (no bridge): data, markers, end of stream."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pylsl
import zmq
from helpers import Worker, collect

from bci_bridge.config import PipelineConfig, parse_pipeline
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import MARKER_DTYPE, StreamInfo
from bci_bridge.wire import Kind
from decoders.offline import run_chain
from runtime.runner import Runtime, RuntimeOptions


def _start(pipeline: PipelineConfig, out_ep: str) -> tuple[zmq.Socket[bytes], Runtime, Worker]:
    """Subscribe to the pipeline's outputs at ``out_ep``, then run it until its inputs end."""
    client: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, f"out.{pipeline.name}.".encode())
    client.connect(out_ep)
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
    )
    worker = Worker(runtime.run)
    worker.start()
    return client, runtime, worker


def test_runtime_reads_lsl_directly_and_ends_when_the_source_goes(
    stream_name: str, ipc_dir: Path
) -> None:
    info = StreamInfo(name=stream_name, channel_names=("C3", "C4"), sfreq=100.0)
    cues = StreamInfo(
        name=f"{stream_name}-cues",
        type="Markers",
        channel_names=("label",),
        sfreq=0.0,
        dtype=MARKER_DTYPE,
    )
    outlet = pylsl.StreamOutlet(to_lsl(info))
    cue_outlet = pylsl.StreamOutlet(to_lsl(cues))
    out_ep = f"ipc://{ipc_dir}/out"
    pipeline = parse_pipeline(
        {
            "pipeline": {"name": "direct"},
            "inputs": [{"name": "eeg", "lsl": stream_name}, {"name": "cues", "lsl": cues.name}],
            "nodes": [
                {
                    "name": "filter",
                    "module": "bandpass",
                    "input": "eeg",
                    "params": {"low": 5.0, "high": 20.0},
                },
                {
                    "name": "epoch",
                    "module": "epoch",
                    "input": "eeg",
                    "markers": "cues",
                    "params": {"tmax": 0.2},
                },
            ],
            "outputs": [{"node": "filter", "zmq": out_ep}, {"node": "epoch", "zmq": out_ep}],
        }
    )
    client, runtime, worker = _start(pipeline, out_ep)
    assert outlet.wait_for_consumers(20)
    assert cue_outlet.wait_for_consumers(20)

    rng = np.random.default_rng(1)
    data = rng.standard_normal((300, 2)).astype(np.float32)
    stamps = 100.0 + np.arange(300) / 100.0
    cue_outlet.push_sample(["go"], float(stamps[50]))
    cue_outlet.push_sample(["go"], float(stamps[200]))
    for k in range(0, 300, 3):
        outlet.push_chunk(data[k : k + 3], float(stamps[k + 2]))
    deadline = time.monotonic() + 20
    while runtime.inputs["eeg"].samples_received < 300 and time.monotonic() < deadline:
        time.sleep(0.05)
    del outlet, cue_outlet  # the sources go away: with exit_on_eos, that ends the run
    frames = collect(client, b"out.direct.epoch")
    summary = worker.finish()
    client.close()

    assert summary["samples_received"] == 302  # 300 samples and 2 markers
    assert summary["samples_lost"] == 0
    by_topic: dict[bytes, list[np.ndarray]] = {}
    for f in frames:
        if f.kind is Kind.DATA:
            by_topic.setdefault(f.topic, []).append(f.data)
    expected, _, _ = run_chain(pipeline.nodes[:1], info, data, stamps, chunk_size=300)
    np.testing.assert_allclose(np.concatenate(by_topic[b"out.direct.filter"]), expected, atol=1e-5)
    epochs = np.concatenate(by_topic[b"out.direct.epoch"]).reshape(2, 20, 2)
    np.testing.assert_array_equal(epochs, np.stack([data[50:70], data[200:220]]))


def test_lsl_output_carries_every_sample_with_its_own_timestamp(stream_name: str) -> None:
    from bci_bridge.stream import Chunk
    from runtime.outputs import LslOutput

    info = StreamInfo(name="x", channel_names=("p0", "p1", "p2"), sfreq=0.0)
    output = LslOutput(stream_name, info, source_id="test")
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", stream_name, 1, 10)[0])
    inlet.open_stream(10)
    assert output.outlet.wait_for_consumers(10)
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((7, 3))  # float64 in: converted to the stream's float32
    stamps = np.array([5.0, 5.01, 5.5, 6.0, 6.25, 7.0, 9.0])
    output(Chunk(rows[:1], stamps[:1]))
    output(Chunk(rows[1:5], stamps[1:5]))
    output(Chunk(rows[5:], stamps[5:]))
    got = np.empty((0, 3), np.float32)
    got_ts = np.empty(0)
    deadline = time.monotonic() + 10
    while got.shape[0] < 7 and time.monotonic() < deadline:
        data, ts = inlet.pull_chunk(timeout=0.5, as_numpy=True)
        got, got_ts = np.vstack([got, data]), np.concatenate([got_ts, ts])
    output.close()
    np.testing.assert_array_equal(got, rows.astype(np.float32))
    np.testing.assert_array_equal(got_ts, stamps)
    assert output.index == 7


def test_lsl_output_stages_small_chunks_and_pushes_big_and_strided_ones(stream_name: str) -> None:
    """Chunks through the staging buffers, past them, and strided: each sample, in order."""
    from bci_bridge.stream import Chunk
    from runtime.outputs import STAGE_BYTES, LslOutput

    info = StreamInfo(name="x", channel_names=("p0", "p1"), sfreq=0.0)
    output = LslOutput(stream_name, info, source_id="test")
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", stream_name, 1, 10)[0], max_buflen=60)
    inlet.open_stream(10)
    assert output.outlet.wait_for_consumers(10)
    big = STAGE_BYTES // (2 * 4) + 10  # rows of 2 float32: past the staging buffers
    n = 3 + big + 5
    rows = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    stamps = 100.0 + np.arange(n) / 1000.0
    output(Chunk(rows[:3], stamps[:3]))  # staged
    output(Chunk(rows[3 : 3 + big], stamps[3 : 3 + big]))  # pushed from its own buffers
    wide = np.repeat(rows[3 + big :], 2, axis=1)[:, ::2]  # strided, staged
    output(Chunk(wide, stamps[3 + big :].copy()))
    got, got_ts = [], []
    deadline = time.monotonic() + 10
    while sum(len(t) for t in got_ts) < n and time.monotonic() < deadline:
        data, ts = inlet.pull_chunk(timeout=0.5, max_samples=4096, as_numpy=True)
        got.append(data)
        got_ts.append(np.asarray(ts))
    output.close()
    np.testing.assert_array_equal(np.concatenate(got), rows)
    np.testing.assert_array_equal(np.concatenate(got_ts), stamps)
    assert output.index == n


def test_runtime_takes_a_burst_larger_than_its_pull_bound_whole_and_in_order(
    stream_name: str, ipc_dir: Path
) -> None:
    """Three pull bounds and a bit at once: full pulls, then the drain; nothing lost or moved."""
    info = StreamInfo(name=stream_name, channel_names=("C3", "C4", "Cz"), sfreq=1000.0)
    outlet = pylsl.StreamOutlet(to_lsl(info), chunk_size=0, max_buffered=60)
    out_ep = f"ipc://{ipc_dir}/burst"
    pipeline = parse_pipeline(
        {
            "pipeline": {"name": "burst"},
            "inputs": [{"name": "eeg", "lsl": stream_name}],
            "nodes": [{"name": "filter", "module": "highpass", "params": {"cutoff": 1.0}}],
            "outputs": [{"node": "filter", "zmq": out_ep}],
        }
    )
    client, runtime, worker = _start(pipeline, out_ep)
    assert outlet.wait_for_consumers(20)
    n = 3 * 4096 + 5
    data = np.random.default_rng(2).standard_normal((n, 3)).astype(np.float32)
    stamps = 50.0 + np.arange(n) / 1000.0
    outlet.push_chunk(data, stamps.tolist())
    deadline = time.monotonic() + 20
    while runtime.inputs["eeg"].samples_received < n and time.monotonic() < deadline:
        time.sleep(0.05)
    del outlet
    frames = collect(client, b"out.burst.filter")
    summary = worker.finish()
    client.close()

    assert summary["samples_received"] == n
    assert summary["samples_lost"] == 0
    got = [f for f in frames if f.kind is Kind.DATA]
    np.testing.assert_array_equal(
        np.concatenate([f.timestamps for f in got]), stamps
    )  # every sample once, in order
    expected, _, _ = run_chain(pipeline.nodes, info, data, stamps, chunk_size=n)
    np.testing.assert_allclose(np.concatenate([f.data for f in got]), expected, atol=1e-4)
