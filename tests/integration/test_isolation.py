"""Process-isolated nodes over real ZeroMQ: hangs and segfaults cost their own calls only.

The misbehaving modules are written here and loaded by ``module = "faulty_mod:Faulty"``; a chunk
whose first sample is 666 (``fake_bridge.SENTINEL``) makes them misbehave.
"""

from __future__ import annotations

import logging
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from fake_bridge import FakeBridge
from helpers import Worker

from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.wire import Frame, Kind, decode
from runtime.runner import Runtime, RuntimeOptions

FAULTY = """
import ctypes
import threading
import time
from dataclasses import dataclass

@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0
    fault: str = "none"          # hang | segv | raise | misfit | sleep | stall | refuse
    sleep_s: float = 0.0
    flag: str = ""               # a file created when the fault begins

class Faulty:
    Config = Config
    def __init__(self, config):
        self.config = config
    def prepare(self, info):
        if self.config.fault == "refuse":
            raise ValueError("this module wants 64 channels")
        return info
    def step(self, chunk):
        c = self.config
        if c.fault == "sleep":
            time.sleep(c.sleep_s)
        if chunk.data[0, 0] == 666.0:
            if c.flag:
                open(c.flag, "w").close()
            if c.fault == "hang":
                threading.Event().wait()
            if c.fault == "segv":
                ctypes.string_at(0)
            if c.fault == "raise":
                raise RuntimeError("a sentinel chunk")
            if c.fault == "misfit":
                return type(chunk)(chunk.data[:, :2], chunk.timestamps, chunk.seq)
            if c.fault == "stall":
                time.sleep(c.sleep_s)
        return chunk
"""


@pytest.fixture
def faulty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "faulty_mod.py").write_text(FAULTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def _pipeline(tmp: Path, ipc: Path, nodes: str, outputs: list[str]) -> PipelineConfig:
    path = tmp / "p.toml"
    text = f'[pipeline]\nname = "t"\n[[inputs]]\nstream = "eeg"\nendpoint = "ipc://{ipc}/in"\n'
    text += textwrap.dedent(nodes)
    for node in outputs:
        text += f'\n[[outputs]]\nnode = "{node}"\nzmq = "ipc://{ipc}/out"\n'
    path.write_text(text)
    return load_pipeline(path)


def _client(endpoint: str) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"out.t.")
    sub.connect(endpoint)
    return sub


def _until_eos(sub: zmq.Socket[bytes], topics: set[bytes]) -> dict[bytes, list[Frame]]:
    got: dict[bytes, list[Frame]] = {t: [] for t in topics}
    ended: set[bytes] = set()
    sub.setsockopt(zmq.RCVTIMEO, 60_000)
    while ended != topics:
        try:
            frame = decode(sub.recv_multipart(copy=False))
        except zmq.Again:
            raise AssertionError(f"no EOS on {topics - ended} within 60 s") from None
        if frame.topic in topics:
            got[frame.topic].append(frame)
            if frame.kind is Kind.EOS:
                ended.add(frame.topic)
    return got


def _run(
    pipeline: PipelineConfig, ipc: Path, n_chunks: int, bad: set[int]
) -> tuple[dict[str, Any], dict[bytes, list[Frame]], np.ndarray]:
    bridge = FakeBridge(f"ipc://{ipc}/in")
    topics = {f"out.t.{o.node}".encode() for o in pipeline.outputs}
    client = _client(f"ipc://{ipc}/out")
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=60)
    )
    worker = Worker(runtime.run)
    worker.start()
    try:
        bridge.wait_subscriber()
        data = bridge.send_chunks(n_chunks, 10, bad)
        frames = _until_eos(client, topics)
        summary = worker.finish(60)
    finally:
        worker.stop.set()
        bridge.close()
        client.close()
    return summary, frames, data


def _data(frames: list[Frame]) -> np.ndarray:
    return np.concatenate([f.data for f in frames if f.kind is Kind.DATA])


NODES = """
[[nodes]]
name = "hang"
module = "faulty_mod:Faulty"
input = "eeg"
isolation = "process"
deadline_ms = 1000
params = { fault = "hang" }

[[nodes]]
name = "segv"
module = "faulty_mod:Faulty"
input = "eeg"
isolation = "process"
params = { fault = "segv" }

[[nodes]]
name = "raiser"
module = "faulty_mod:Faulty"
input = "eeg"
isolation = "process"
params = { fault = "raise" }

[[nodes]]
name = "misfit"
module = "faulty_mod:Faulty"
input = "eeg"
isolation = "process"
params = { fault = "misfit" }

[[nodes]]
name = "sibling"
module = "faulty_mod:Faulty"
input = "eeg"
"""


def test_a_hang_and_a_segfault_cost_one_call_each_and_the_sibling_loses_nothing(
    faulty: Path, ipc_dir: Path
) -> None:
    pipeline = _pipeline(faulty, ipc_dir, NODES, ["hang", "segv", "sibling"])
    summary, frames, data = _run(pipeline, ipc_dir, n_chunks=8, bad={3})

    good = np.concatenate([data[i * 10 : i * 10 + 10] for i in range(8) if i != 3])
    for name in ("hang", "segv"):
        node = summary["nodes"][name]
        assert node["restarts"] == 1, name
        assert node["missed"] == 1, name
        assert node["calls"] == 7, name
        assert node["outputs"] == 70, name
        assert node["errors"] == 0, name
        # Every other chunk came back, in order and exact.
        np.testing.assert_array_equal(_data(frames[f"out.t.{name}".encode()]), good)
    assert summary["nodes"]["hang"]["stuck"] == 1  # killed at its deadline
    assert summary["nodes"]["segv"]["stuck"] == 0  # died on its own
    # An exception in an isolated step is an error of the node, reported by name, as inline.
    raiser = summary["nodes"]["raiser"]
    assert (raiser["calls"], raiser["errors"], raiser["restarts"], raiser["missed"]) == (7, 1, 0, 0)
    assert "'raiser'" in raiser["first_error"]
    assert "a sentinel chunk" in raiser["first_error"]
    misfit = summary["nodes"]["misfit"]
    assert (misfit["calls"], misfit["errors"], misfit["restarts"], misfit["missed"]) == (7, 1, 0, 0)
    assert "output refused" in misfit["first_error"]
    sibling = summary["nodes"]["sibling"]
    assert sibling["calls"] == 8
    # Isolated or not, each step is told cold or warm (the worker times it, the runtime tells).
    for name in ("hang", "segv", "raiser", "misfit", "sibling"):
        node = summary["nodes"][name]
        steps = node["step_us_cold"]["count"] + node["step_us_warm"]["count"]
        assert steps == node["step_us"]["count"] == node["calls"], name
        assert node["step_us_cold"]["count"] >= 1, name
    assert sibling["restarts"] == 0  # in process: never restarted
    np.testing.assert_array_equal(_data(frames[b"out.t.sibling"]), data)
    # The isolated node's summary has an inline node's keys, plus missed.
    assert set(summary["nodes"]["hang"]) == set(sibling) | {"missed"}


def test_a_slow_isolated_node_does_not_hold_back_its_sibling(faulty: Path, ipc_dir: Path) -> None:
    nodes = """
    [[nodes]]
    name = "slow"
    module = "faulty_mod:Faulty"
    input = "eeg"
    isolation = "process"
    params = { fault = "sleep", sleep_s = 0.05 }

    [[nodes]]
    name = "sibling"
    module = "faulty_mod:Faulty"
    input = "eeg"
    """
    pipeline = _pipeline(faulty, ipc_dir, nodes, ["slow", "sibling"])
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out")
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=60)
    )
    worker = Worker(runtime.run)
    worker.start()
    order: list[bytes] = []
    try:
        bridge.wait_subscriber()
        data = bridge.send_chunks(10, 10, set())
        client.setsockopt(zmq.RCVTIMEO, 60_000)
        while order.count(b"EOS") < 2:
            frame = decode(client.recv_multipart(copy=False))
            order.append(b"EOS" if frame.kind is Kind.EOS else frame.topic)
        summary = worker.finish(60)
    finally:
        worker.stop.set()
        bridge.close()
        client.close()

    assert order.count(b"out.t.sibling") == order.count(b"out.t.slow") == 10
    # The sibling's last output went out before the slow node's last one: it did not wait.
    last_sibling = max(i for i, t in enumerate(order) if t == b"out.t.sibling")
    last_slow = max(i for i, t in enumerate(order) if t == b"out.t.slow")
    assert last_sibling < last_slow
    slow = summary["nodes"]["slow"]
    assert (slow["calls"], slow["outputs"], slow["missed"], slow["restarts"]) == (10, 100, 0, 0)
    assert data.shape == (100, 3)


def test_isolation_keys_are_validated(tmp_path: Path, ipc_dir: Path) -> None:
    base = '[[nodes]]\nmodule = "pick"\nparams = { channels = ["C3"] }\n'
    with pytest.raises(ConfigError, match=r"nodes\[0\]\.isolation.*'inline' or 'process'"):
        _pipeline(tmp_path, ipc_dir, base + 'isolation = "thread"\n', [])
    with pytest.raises(ConfigError, match=r"nodes\[0\]\.deadline_ms.*only with isolation"):
        _pipeline(tmp_path, ipc_dir, base + "deadline_ms = 10\n", [])
    with pytest.raises(ConfigError, match=r"nodes\[0\]\.deadline_ms.*positive"):
        _pipeline(tmp_path, ipc_dir, base + 'isolation = "process"\ndeadline_ms = -1\n', [])
    ok = _pipeline(tmp_path, ipc_dir, base + 'isolation = "process"\ndeadline_ms = 20\n', [])
    assert (ok.nodes[0].isolation, ok.nodes[0].deadline_ms) == ("process", 20.0)


def test_an_isolated_module_that_refuses_its_input_fails_before_data_flows(
    faulty: Path, ipc_dir: Path
) -> None:
    nodes = """
    [[nodes]]
    name = "picky"
    module = "faulty_mod:Faulty"
    isolation = "process"
    params = { fault = "refuse" }
    """
    pipeline = _pipeline(faulty, ipc_dir, nodes, ["picky"])
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out")
    worker = Worker(Runtime(pipeline, RuntimeOptions(wait_subscribers=1, info_timeout_s=60)).run)
    worker.start()
    try:
        bridge.wait_subscriber()
        worker.join(60)
    finally:
        worker.stop.set()
        bridge.close()
        client.close()
    assert isinstance(worker.error, ConfigError)
    message = str(worker.error)
    assert "p.toml" in message
    assert "picky" in message
    assert "wants 64 channels" in message


def test_an_inline_step_stuck_for_long_is_reported_once_and_the_run_goes_on(
    faulty: Path, ipc_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nodes = """
    [[nodes]]
    name = "stall"
    module = "faulty_mod:Faulty"
    params = { fault = "stall", sleep_s = 2.5 }
    """
    pipeline = _pipeline(faulty, ipc_dir, nodes, ["stall"])
    with caplog.at_level(logging.WARNING, logger="runtime.watchdog"):
        summary, frames, data = _run(pipeline, ipc_dir, n_chunks=4, bad={1})
    stall = summary["nodes"]["stall"]
    assert (stall["calls"], stall["outputs"], stall["stuck"]) == (4, 40, 1)
    np.testing.assert_array_equal(_data(frames[b"out.t.stall"]), data)
    lines = [r.getMessage() for r in caplog.records if r.name == "runtime.watchdog"]
    assert len(lines) == 1
    assert "'stall' has been in one step" in lines[0]


def test_an_isolated_builtin_gives_exactly_what_it_gives_inline(
    tmp_path: Path, ipc_dir: Path
) -> None:
    nodes = """
    [[nodes]]
    name = "inline"
    module = "bandpass"
    input = "eeg"
    params = { low = 8.0, high = 30.0 }

    [[nodes]]
    name = "isolated"
    module = "bandpass"
    input = "eeg"
    isolation = "process"
    params = { low = 8.0, high = 30.0 }
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes, ["inline", "isolated"])
    summary, frames, _data_sent = _run(pipeline, ipc_dir, n_chunks=20, bad=set())
    inline = [f for f in frames[b"out.t.inline"] if f.kind is Kind.DATA]
    isolated = [f for f in frames[b"out.t.isolated"] if f.kind is Kind.DATA]
    assert len(inline) == len(isolated) == 20
    np.testing.assert_array_equal(_data(isolated), _data(inline))
    np.testing.assert_array_equal(
        np.concatenate([f.timestamps for f in isolated]),
        np.concatenate([f.timestamps for f in inline]),
    )
    assert summary["nodes"]["isolated"]["outputs"] == 200
