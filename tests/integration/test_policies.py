"""Budgets with teeth: misbehaving modules drive every overrun policy over real ZeroMQ.

The modules here sleep (always, or on their first calls), hold their first step until the test
has queued input behind it, or return broken chunks. The assertions are on counts: every
input sample is stepped on, skipped, stood in for or counted while disabled; nothing is
asserted about how long anything took.
"""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import zmq
from helpers import Worker, collect, fresh_module

from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, decode, encode_data, encode_eos, encode_info
from runtime.runner import Runtime, RuntimeOptions

INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)
N = 200

MISBEHAVE = """
import math
import threading
import time
from dataclasses import dataclass

import numpy as np

from bci_bridge.stream import Chunk

STARTED = threading.Event()
GATE = threading.Event()


@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0
    sleep_ms: float = 0.0  # each step sleeps this long...
    slow_calls: int = -1  # ...on its first slow_calls calls (-1: always)
    gate: bool = False  # the first step waits for GATE
    bad: str = ""  # even calls return a broken chunk: empty, dtype, channels or nan_ts


class Misbehave:
    Config = Config

    def __init__(self, config):
        self.config = config
        self.n = 0

    def prepare(self, info):
        return info

    def step(self, chunk):
        self.n += 1
        c = self.config
        if c.gate and self.n == 1:
            STARTED.set()
            GATE.wait(30)
        if c.sleep_ms and (c.slow_calls < 0 or self.n <= c.slow_calls):
            time.sleep(c.sleep_ms / 1000)
        if c.bad and self.n % 2 == 0:
            data, ts = chunk.data, chunk.timestamps.copy()
            if c.bad == "empty":
                data, ts = data[:0], ts[:0]
            elif c.bad == "dtype":
                data = data.astype(np.float64)
            elif c.bad == "channels":
                data = np.ascontiguousarray(data[:, :1])
            elif c.bad == "nan_ts":
                ts[-1] = math.nan
            return Chunk(data, ts, chunk.seq)
        return chunk
"""


@pytest.fixture
def misbehave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh module of misbehaving plugins (its own events), importable by name."""
    mod = fresh_module(MISBEHAVE, "misbehave", tmp_path, monkeypatch)
    yield mod
    mod.GATE.set()


def _pipeline(tmp: Path, ipc: Path, nodes: str, *, outputs: bool = True) -> PipelineConfig:
    text = textwrap.dedent(
        f"""
        [pipeline]
        name = "p"
        metrics = "ipc://{ipc}/metrics"
        # These modules overrun on purpose, and some hold their first step: no load check
        # (it would refuse them, and step a throwaway instance of each at prepare).
        max_load = 0
        [[inputs]]
        stream = "eeg"
        endpoint = "ipc://{ipc}/in"
        """
    ) + textwrap.dedent(nodes)
    if outputs:
        text += f'\n[[outputs]]\nzmq = "ipc://{ipc}/out"\n'
    path = tmp / "p.toml"
    path.write_text(text)
    return load_pipeline(path)


class Bridge:
    """An XPUB playing `bci-bridge bridge`: info to the subscriber, then 1-sample frames."""

    def __init__(self, endpoint: str) -> None:
        self.pub = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 2000)
        self.pub.setsockopt(zmq.SNDHWM, 0)
        self.pub.bind(endpoint)
        self.topic = b"data.eeg"
        rng = np.random.default_rng(0)
        self.data = rng.standard_normal((N, 3)).astype(np.float32)
        self.stamps = 1000.0 + np.arange(N) / 250.0

    def wait_subscriber(self) -> None:
        self.pub.setsockopt(zmq.RCVTIMEO, 10_000)
        while True:
            msg = self.pub.recv()
            if msg[0] == 1 and msg[1:] == self.topic:
                break
        self.pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))

    def send(self, start: int, stop: int) -> None:
        for i in range(start, stop):
            sl = slice(i, i + 1)
            self.pub.send_multipart(
                encode_data(self.topic, self.data[sl], self.stamps[sl], i, i, 0.0)
            )

    def eos(self, total: int = N) -> None:
        self.pub.send_multipart(encode_eos(self.topic, total, total, 0.0))

    def close(self) -> None:
        self.pub.close()


def _client(endpoint: str, topic: bytes) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(endpoint)
    return sub


def _start(pipeline: PipelineConfig, *, wait_subscribers: int = 1) -> tuple[Runtime, Worker]:
    options = RuntimeOptions(exit_on_eos=True, wait_subscribers=wait_subscribers, info_timeout_s=10)
    runtime = Runtime(pipeline, options)
    worker = Worker(runtime.run)
    worker.start()
    return runtime, worker


def _queue_behind_a_held_step(bridge: Bridge, mod: ModuleType) -> None:
    """Send one sample; while the module holds its first step, queue the rest and EOS."""
    bridge.send(0, 1)
    assert mod.STARTED.wait(10)
    bridge.send(1, N)
    bridge.eos()
    time.sleep(0.3)  # let the frames reach the runtime's socket (nothing is timed)
    mod.GATE.set()


def _accounted(node: dict[str, Any]) -> int:
    acts = node["policy_actions"]
    return int(
        node["samples_processed"]
        + acts["skipped_samples"]
        + acts["fallback_samples"]
        + acts["disabled_samples"]
    )


def test_skip_steps_on_the_newest_and_counts_what_it_skipped(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    budget_ms = 1.0
    on_overrun = "skip"
    params = {{ sleep_ms = 3.0, gate = true }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.slow")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    _queue_behind_a_held_step(bridge, misbehave)
    frames = collect(client, b"out.p.slow")
    summary = worker.finish()
    bridge.close()
    client.close()

    slow = summary["nodes"]["slow"]
    acts = slow["policy_actions"]
    assert summary["samples_received"] == N
    assert slow["samples_in"] == N
    # calls + skipped samples account for every input sample (1 sample a chunk).
    assert slow["calls"] + acts["skipped_samples"] == N
    assert acts["skip"] >= 1
    assert acts["skipped_samples"] > 0
    assert slow["overruns"] == slow["calls"]  # every step sleeps past the budget
    data = [f for f in frames if f.kind is Kind.DATA]
    assert len(data) == slow["calls"]
    # The newest sample was stepped on; what was skipped never came out.
    assert data[-1].timestamps[-1] == bridge.stamps[-1]
    assert not any(f.stale for f in data)


def test_fallback_stands_in_with_the_last_good_output_marked_stale(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    budget_ms = 1.0
    on_overrun = "fallback"
    params = {{ sleep_ms = 3.0, gate = true }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.slow")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    _queue_behind_a_held_step(bridge, misbehave)
    frames = collect(client, b"out.p.slow")
    summary = worker.finish()
    bridge.close()
    client.close()

    slow = summary["nodes"]["slow"]
    acts = slow["policy_actions"]
    assert _accounted(slow) == slow["samples_in"] == N
    assert acts["fallback"] > 0
    assert acts["fallback"] == acts["fallback_samples"]  # one stand-in per 1-sample chunk
    data = [f for f in frames if f.kind is Kind.DATA]
    stale = [f for f in data if f.stale]
    fresh = [f for f in data if not f.stale]
    assert len(stale) == acts["fallback"]
    assert len(fresh) == slow["calls"]
    assert summary["outputs"][0]["stale"] == len(stale)
    # Each stand-in repeats the last good output before it, stamped with the input it stands
    # for; stamps never go back.
    last_good = None
    for f in data:
        if f.stale:
            assert last_good is not None
            np.testing.assert_array_equal(f.data, last_good.data[-1:])
            assert f.timestamps[-1] in set(bridge.stamps.tolist())
        else:
            last_good = f
    stamps = np.concatenate([f.timestamps for f in data])
    assert np.all(np.diff(stamps) >= 0)


def test_disable_after_max_overruns_in_a_row_and_reenable(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    budget_ms = 5.0
    on_overrun = "disable"
    max_overruns = 2
    reenable_s = 0.2
    params = {{ sleep_ms = 20.0, slow_calls = 2 }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.slow")
    runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    bridge.send(0, 100)
    node = runtime.nodes["slow"]
    for _ in range(1000):
        if node.disabled:
            break
        time.sleep(0.01)
    assert node.disabled
    time.sleep(0.3)  # longer than reenable_s
    bridge.send(100, N)
    bridge.eos()
    frames = collect(client, b"out.p.slow")
    summary = worker.finish()
    bridge.close()
    client.close()

    slow = summary["nodes"]["slow"]
    acts = slow["policy_actions"]
    assert acts["disable"] == 1
    assert acts["reenable"] == 1
    assert acts["disabled_samples"] > 0
    assert _accounted(slow) == slow["samples_in"] == N
    assert slow["calls"] > 2  # it ran again after reenable_s
    assert not slow["disabled"]
    assert sum(1 for f in frames if f.kind is Kind.DATA) == slow["calls"]


def test_warn_counts_every_overrun_and_drops_nothing(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    budget_ms = 0.5
    params = {{ sleep_ms = 1.0 }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.slow")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    bridge.send(0, 50)
    bridge.eos(50)
    frames = collect(client, b"out.p.slow")
    summary = worker.finish()
    bridge.close()
    client.close()

    slow = summary["nodes"]["slow"]
    assert slow["calls"] == slow["overruns"] == slow["policy_actions"]["warn"] == 50
    assert sum(1 for f in frames if f.kind is Kind.DATA) == 50


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("empty", "0-row chunk"),
        ("dtype", "dtype is float64"),
        ("channels", "1 channels"),
        ("nan_ts", "non-finite timestamp"),
    ],
)
def test_a_bad_output_is_an_error_of_its_node_never_fatal(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType, bad: str, reason: str
) -> None:
    nodes = f"""
    [[nodes]]
    name = "broken"
    module = "{misbehave.__name__}:Misbehave"
    input = "eeg"
    params = {{ bad = "{bad}" }}
    [[nodes]]
    name = "bandpass"
    module = "bandpass"
    input = "eeg"
    params = {{ low = 8.0, high = 30.0 }}
    """
    text_out = f'\n[[outputs]]\nnode = "broken"\nzmq = "ipc://{ipc_dir}/broken"\n'
    pipeline = _pipeline(tmp_path, ipc_dir, nodes + text_out)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.bandpass")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    bridge.send(0, 20)
    bridge.eos(20)
    frames = collect(client, b"out.p.bandpass")
    summary = worker.finish()
    bridge.close()
    client.close()

    broken = summary["nodes"]["broken"]
    assert broken["calls"] == 20
    assert broken["errors"] == broken["bad_outputs"] == 10
    assert broken["outputs"] == 10
    assert "'broken'" in broken["first_error"]
    assert reason in broken["first_error"]
    sent = {o["node"]: o["sent"] for o in summary["outputs"]}
    assert sent == {"bandpass": 20, "broken": 10}
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 20


def test_a_stop_leaves_a_backlog_counted_as_unprocessed(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    budget_ms = 1.0
    params = {{ sleep_ms = 20.0, gate = true }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes, outputs=False)
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    runtime = Runtime(pipeline, RuntimeOptions(info_timeout_s=10))
    worker = Worker(runtime.run)
    worker.start()
    bridge.wait_subscriber()
    bridge.send(0, 1)
    assert misbehave.STARTED.wait(10)
    bridge.send(1, N)
    time.sleep(0.3)  # let the frames reach the runtime's socket
    worker.stop.set()  # stop while 199 samples wait behind a 20 ms step
    misbehave.GATE.set()
    summary = worker.finish()
    bridge.close()

    slow = summary["nodes"]["slow"]
    (inp,) = summary["inputs"]
    assert inp["samples_unprocessed"] > 0
    assert summary["samples_unprocessed"] == inp["samples_unprocessed"]
    # Everything received was stepped on, dropped from the queue or left unprocessed.
    assert summary["samples_received"] == (
        slow["samples_in"] + inp["samples_dropped_queue"] + inp["samples_unprocessed"]
    )
    assert slow["samples_in"] == slow["samples_processed"]


def test_a_full_queue_drops_the_oldest_and_counts_it(
    tmp_path: Path, ipc_dir: Path, misbehave: ModuleType
) -> None:
    nodes = f"""
    [[nodes]]
    name = "slow"
    module = "{misbehave.__name__}:Misbehave"
    params = {{ gate = true }}
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes)
    raw = pipeline.source
    text = Path(raw).read_text().replace('name = "p"', 'name = "p"\nmax_queue_mb = 0.01')
    Path(raw).write_text(text)
    pipeline = load_pipeline(raw)  # 10 kB: about 35 one-sample chunks
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.p.slow")
    _runtime, worker = _start(pipeline)
    bridge.wait_subscriber()
    _queue_behind_a_held_step(bridge, misbehave)
    frames = collect(client, b"out.p.slow")
    summary = worker.finish()
    bridge.close()
    client.close()

    (inp,) = summary["inputs"]
    slow = summary["nodes"]["slow"]
    assert inp["samples_dropped_queue"] > 0
    assert inp["samples_received"] == N
    assert slow["samples_in"] + inp["samples_dropped_queue"] == N
    assert summary["samples_lost"] == 0  # all received: the drops are the runtime's own
    assert summary["samples_dropped_queue"] == inp["samples_dropped_queue"]
    out = np.concatenate([f.timestamps for f in frames if f.kind is Kind.DATA])
    # The oldest were dropped: what came out is the first sample (the held step's), then
    # samples in order ending with the newest, the newest ones whole. (How many older ones
    # also came out depends on how fast the sender's backlog reaches the runtime's socket,
    # itself bounded in bytes: the queue drops the oldest of what it holds at each moment.)
    stamps = np.asarray(bridge.stamps)
    assert out[0] == stamps[0]
    assert np.all(np.diff(out) > 0)
    assert np.isin(out, stamps).all()
    assert len(out) + inp["samples_dropped_queue"] == N
    kept = np.searchsorted(stamps, out)
    newest_run = len(out) - 1 - int(np.flatnonzero(np.diff(kept) > 1)[-1])
    assert out[-1] == stamps[-1]
    assert newest_run >= 10  # the queue holds ~35 such chunks


def test_metrics_are_published_without_any_zeromq_output(tmp_path: Path, ipc_dir: Path) -> None:
    nodes = """
    [[nodes]]
    module = "bandpass"
    params = { low = 8.0, high = 30.0 }
    """
    pipeline = _pipeline(tmp_path, ipc_dir, nodes, outputs=False)
    metrics = _client(pipeline.metrics, b"metrics.p")
    bridge = Bridge(f"ipc://{ipc_dir}/in")
    runtime = Runtime(pipeline, RuntimeOptions(info_timeout_s=10, metrics_every_s=0.1))
    worker = Worker(runtime.run)
    worker.start()
    bridge.wait_subscriber()
    bridge.send(0, N)
    metrics.setsockopt(zmq.RCVTIMEO, 10_000)
    seen = 0
    got: dict[str, Any] = {}
    while seen < N:  # until a snapshot shows every sample
        frame = decode(metrics.recv_multipart())
        assert frame.kind is Kind.JSON
        assert frame.topic == b"metrics.p"
        got = json.loads(frame.payload)
        seen = got["samples_received"]
    worker.finish()
    bridge.close()
    metrics.close()
    assert got["pipeline"] == "p"
    assert got["metrics_endpoint"] == pipeline.metrics
    assert got["nodes"]["bandpass"]["calls"] == N
    assert got["outputs"] == []
