"""The runtime over real ZeroMQ: a publisher here plays the bridge, a subscriber the client."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from helpers import Worker, collect

from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import Kind, encode_data, encode_eos, encode_info
from decoders.offline import run_chain
from decoders.onnx_module import OnnxModule, OnnxModuleConfig
from runtime.runner import Runtime, RuntimeOptions

INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)


def _pipeline(tmp: Path, ipc: Path, nodes: str) -> PipelineConfig:
    path = tmp / "p.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "t"
            [[inputs]]
            stream = "eeg"
            endpoint = "ipc://{ipc}/in"
            """
        )
        + textwrap.dedent(nodes)
        + f'\n[[outputs]]\nzmq = "ipc://{ipc}/out"\n'
    )
    return load_pipeline(path)


class FakeBridge:
    """An XPUB that sends the info to each subscriber, then the frames it is told to send."""

    def __init__(self, endpoint: str, info: StreamInfo = INFO) -> None:
        self.pub = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 2000)
        self.pub.bind(endpoint)
        self.info = info
        self.topic = f"data.{info.name}".encode()

    def wait_subscriber(self) -> None:
        self.pub.setsockopt(zmq.RCVTIMEO, 10_000)
        while True:
            msg = self.pub.recv()
            if msg[0] == 1 and msg[1:] == self.topic:
                break
        self.pub.send_multipart(
            encode_info(f"info.{self.info.name}".encode(), self.info, local_clock())
        )

    def send(self, parts: list[Any]) -> None:
        self.pub.send_multipart(parts)

    def close(self) -> None:
        self.pub.close()


def _client(endpoint: str, topic: bytes) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(endpoint)
    return sub


def _start(pipeline: PipelineConfig) -> tuple[Runtime, Worker]:
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=10)
    )
    worker = Worker(runtime.run)
    worker.start()
    return runtime, worker


def _signal(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((n, 3)).astype(np.float32) * 10
    stamps = 1000.0 + np.arange(n) / 250.0
    return data, stamps


BANDPASS = """
[[nodes]]
module = "bandpass"
params = { low = 8.0, high = 30.0 }
"""


def test_outputs_equal_the_offline_chain_and_carry_input_timestamps(
    tmp_path: Path, ipc_dir: Path
) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, BANDPASS)
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.bandpass")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    data, stamps = _signal(600)
    index = 0
    for seq, size in enumerate([1, 5, 17, 77, 500]):
        bridge.send(
            encode_data(
                bridge.topic,
                data[index : index + size],
                stamps[index : index + size],
                seq,
                index,
                local_clock(),
            )
        )
        index += size
    bridge.send(encode_eos(bridge.topic, 5, index, local_clock()))
    frames = collect(client, b"out.t.bandpass")
    summary = worker.finish()
    bridge.close()
    client.close()

    out = [f for f in frames if f.kind is Kind.DATA]
    got = np.concatenate([f.data for f in out])
    got_ts = np.concatenate([f.timestamps for f in out])
    expected, expected_ts, _ = run_chain(pipeline.nodes, INFO, data, stamps, chunk_size=600)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(got_ts, stamps)
    np.testing.assert_array_equal(got_ts, expected_ts)
    assert summary["samples_received"] == 600
    assert summary["samples_lost"] == 0
    assert summary["nodes"]["bandpass"]["calls"] == 5
    assert summary["outputs"][0]["sent"] == 600


def test_malformed_late_and_missing_frames_are_counted_not_fatal(
    tmp_path: Path, ipc_dir: Path
) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, BANDPASS)
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.bandpass")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    data, stamps = _signal(100)
    t = bridge.topic
    bridge.send(encode_data(t, data[:10], stamps[:10], 0, 0, 0.0))
    bridge.send([t, b"short header", b"", b""])  # malformed: header
    bridge.send(
        encode_data(t, data[:10, :2].copy(), stamps[:10], 1, 10, 0.0)
    )  # wrong channel count
    bridge.send([t, b"x"])  # wrong part count
    bridge.send(encode_data(t, data[30:40], stamps[30:40], 2, 30, 0.0))  # samples 10..29 never came
    bridge.send(encode_data(t, data[20:30], stamps[20:30], 3, 20, 0.0))  # late: refused
    bridge.send(encode_eos(t, 4, 100, 0.0))  # 40..99 announced but never sent
    frames = collect(client, b"out.t.bandpass")
    summary = worker.finish()
    bridge.close()
    client.close()

    (inp,) = summary["inputs"]
    assert inp["frames_malformed"] == 3
    assert inp["frames_late"] == 1
    assert inp["samples_received"] == 20
    assert inp["samples_lost"] == 80
    assert inp["samples_received"] + inp["samples_lost"] == 100
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 20
    assert any("channels" in reason for reason in inp["malformed_reasons"])


def test_a_module_that_raises_is_reported_by_name_and_the_rest_runs_on(
    tmp_path: Path, ipc_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "flaky_mod.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Config:
                budget_ms: float = 1.0

            class Flaky:
                Config = Config
                def __init__(self, config): self.n = 0
                def prepare(self, info): return info
                def step(self, chunk):
                    self.n += 1
                    if self.n % 2 == 0:
                        raise ValueError("even chunks are bad")
                    return chunk
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    nodes = """
    [[nodes]]
    name = "flaky"
    module = "flaky_mod:Flaky"
    input = "eeg"
    [[nodes]]
    name = "bandpass"
    module = "bandpass"
    input = "eeg"
    params = { low = 8.0, high = 30.0 }
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.bandpass")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    data, stamps = _signal(40)
    for seq in range(4):
        sl = slice(seq * 10, seq * 10 + 10)
        bridge.send(encode_data(bridge.topic, data[sl], stamps[sl], seq, seq * 10, 0.0))
    bridge.send(encode_eos(bridge.topic, 4, 40, 0.0))
    frames = collect(client, b"out.t.bandpass")
    summary = worker.finish()
    bridge.close()
    client.close()

    flaky = summary["nodes"]["flaky"]
    assert flaky["errors"] == 2
    assert flaky["calls"] == 2
    assert "flaky" in flaky["first_error"]
    assert "even chunks are bad" in flaky["first_error"]
    assert summary["nodes"]["bandpass"]["calls"] == 4
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 40


def test_a_module_that_refuses_its_input_fails_before_data_flows(
    tmp_path: Path, ipc_dir: Path
) -> None:
    nodes = """
    [[nodes]]
    module = "pick"
    params = { channels = ["C3", "O1"] }
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.pick")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    worker.join(20)
    bridge.close()
    client.close()
    assert isinstance(worker.error, ConfigError)
    message = str(worker.error)
    assert "p.toml" in message
    assert "pick" in message
    assert "O1" in message


def test_prewarm_runs_between_low_rate_steps_and_changes_no_output(
    tmp_path: Path, ipc_dir: Path
) -> None:
    """A decoder stepped every 30 ms is prewarmed before its steps; outputs as without."""
    model = Path(__file__).resolve().parents[2] / "decoders" / "demo" / "model.onnx"
    info = StreamInfo(name="eeg", channel_names=("a", "b", "c", "d"), sfreq=25.0)
    nodes = f"""
    [[nodes]]
    name = "classifier"
    module = "onnx"
    budget_ms = 50.0
    prewarm_ms = 5.0
    params = {{ model = "{model}" }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = FakeBridge(f"ipc://{ipc_dir}/in", info)
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.classifier")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    n = 20
    data = np.random.default_rng(5).standard_normal((n, 4)).astype(np.float32)
    stamps = 1000.0 + np.arange(n) / 25.0
    for i in range(n):
        bridge.send(encode_data(bridge.topic, data[i : i + 1], stamps[i : i + 1], i, i, 0.0))
        time.sleep(0.03)  # a low-rate decoder's pace (no timing is asserted)
    bridge.send(encode_eos(bridge.topic, n, n, local_clock()))
    frames = collect(client, b"out.t.classifier")
    summary = worker.finish()
    bridge.close()
    client.close()

    node = summary["nodes"]["classifier"]
    assert node["calls"] == n
    assert node["errors"] == 0
    # Steps 30 ms apart: a prewarm is due 5 ms before each step from the third on.
    assert 1 <= node["prewarms"] <= n
    # Prewarms are not steps: each step is cold or warm, and there are n of them.
    assert node["step_us_cold"]["count"] + node["step_us_warm"]["count"] == n
    got = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    offline = OnnxModule(OnnxModuleConfig(model=str(model)))
    offline.prepare(info)
    want = [offline.step(Chunk(data[i : i + 1], stamps[i : i + 1], i)) for i in range(n)]
    np.testing.assert_array_equal(got, np.concatenate([w.data for w in want if w is not None]))
