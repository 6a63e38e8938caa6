"""``kill -9`` of a running bridge, then a restart: the runtime follows and counts the gap.

A real LSL outlet here streams a regular signal whose timestamps are the truth (sample k is
stamped ``t0 + k / rate``); ``bci-bridge bridge`` runs as a subprocess and is killed with
SIGKILL mid-stream, then started again; the runtime (a thread here) must follow the new
session at once (no blackout, no late frames) and count the samples it never got exactly,
from the timestamps.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pylsl
import zmq
from helpers import Worker, collect

from bci_bridge.config import load_pipeline
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind
from runtime.runner import Runtime, RuntimeOptions

SFREQ = 250.0
CHUNK = 5
BRIDGE = [sys.executable, "-m", "bci_bridge", "bridge", "--timeout", "30"]


class Source:
    """An LSL outlet pushing CHUNK samples every CHUNK / SFREQ s, regularly stamped."""

    def __init__(self, name: str) -> None:
        info = StreamInfo(name=name, channel_names=("C3", "C4"), sfreq=SFREQ)
        self.outlet = pylsl.StreamOutlet(to_lsl(info), chunk_size=CHUNK)
        self.t0 = pylsl.local_clock()
        self.pushed = 0
        self.skip = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if self.skip:  # a device that restarts: these samples are never sent
                self.pushed += self.skip
                self.skip = 0
            k = self.pushed
            rows = np.arange(k, k + CHUNK, dtype=np.float32)[:, None] * np.ones(2, np.float32)
            due = self.t0 + (k + CHUNK - 1) / SFREQ
            self.outlet.push_chunk(rows, due)
            self.pushed += CHUNK
            time.sleep(max(0.0, due - pylsl.local_clock()))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)


def _bridge(name: str, endpoint: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*BRIDGE, "--name", name, "--endpoint", endpoint, "--wait-subscribers", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )


def _wait(condition: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _pipeline(tmp_path: Path, ipc_dir: Path, stream_name: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "t"
            [[inputs]]
            name = "eeg"
            stream = "{stream_name}"
            endpoint = "ipc://{ipc_dir}/bridge"
            [[nodes]]
            module = "pick"
            params = {{ channels = ["C3"] }}
            [[outputs]]
            zmq = "ipc://{ipc_dir}/out"
            """
        )
    )
    return path


def _start(path: Path, ipc_dir: Path) -> tuple[zmq.Socket[bytes], Runtime, Worker]:
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.t.pick")
    client.connect(f"ipc://{ipc_dir}/out")
    options = RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=40)
    runtime = Runtime(load_pipeline(path), options)
    worker = Worker(runtime.run)
    worker.start()
    return client, runtime, worker


def _truth(frames: list[Any], t0: float) -> tuple[npt.NDArray[np.int64], int]:
    """The samples received (sample k carries the value k) and how many are missing."""
    got = np.concatenate([f.data[:, 0] for f in frames if f.kind is Kind.DATA]).astype(int)
    stamps = np.concatenate([f.timestamps for f in frames if f.kind is Kind.DATA])
    assert np.all(np.diff(got) > 0), "out of order or duplicated samples"
    np.testing.assert_allclose(stamps, t0 + got / SFREQ, atol=1e-6)
    return got, int(got[-1] - got[0] + 1) - len(got)


def test_kill_9_and_restart_of_the_bridge(stream_name: str, ipc_dir: Path, tmp_path: Path) -> None:
    source = Source(stream_name)
    client, runtime, worker = _start(_pipeline(tmp_path, ipc_dir, stream_name), ipc_dir)
    state = runtime.inputs["eeg"]
    first = second = None
    try:
        first = _bridge(stream_name, f"ipc://{ipc_dir}/bridge")
        _wait(lambda: state.samples_received >= 250, "the first bridge's samples")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(1.0)  # the source streams on; nobody takes these samples
        before = state.samples_received
        second = _bridge(stream_name, f"ipc://{ipc_dir}/bridge")
        _wait(lambda: state.samples_received >= before + 250, "the restarted bridge's samples")
        second.send_signal(signal.SIGINT)  # drains, then ends the stream with EOS
        frames = collect(client, b"out.t.pick", timeout_s=40)
        assert second.wait(20) == 0
        summary = worker.finish()
    finally:
        source.close()
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(5)
        client.close()

    got, missing = _truth(frames, source.t0)
    (inp,) = summary["inputs"]
    assert (inp["sessions"], inp["frames_late"], inp["frames_malformed"]) == (1, 0, 0)
    assert inp["samples_received"] == len(got)
    assert missing > 0.5 * SFREQ  # the second bridge started at least a second later
    # Counted from the timestamps, exactly (the source's timestamps are regular).
    assert inp["samples_lost"] + inp["samples_lost_upstream"] == missing
    assert inp["samples_lost_upstream"] == 0
    assert inp["ended"]


def test_a_device_restart_upstream_is_counted_apart(
    stream_name: str, ipc_dir: Path, tmp_path: Path
) -> None:
    source = Source(stream_name)
    client, runtime, worker = _start(_pipeline(tmp_path, ipc_dir, stream_name), ipc_dir)
    state = runtime.inputs["eeg"]
    bridge = None
    try:
        bridge = _bridge(stream_name, f"ipc://{ipc_dir}/bridge")
        _wait(lambda: state.samples_received >= 100, "the bridge's samples")
        source.skip = 321  # the bridge's index shows no gap: only the timestamps do
        before = state.samples_received
        _wait(lambda: state.samples_received >= before + 100, "samples after the gap")
        bridge.send_signal(signal.SIGINT)
        frames = collect(client, b"out.t.pick", timeout_s=40)
        assert bridge.wait(20) == 0
        summary = worker.finish()
    finally:
        source.close()
        if bridge is not None and bridge.poll() is None:
            bridge.kill()
            bridge.wait(5)
        client.close()

    got, missing = _truth(frames, source.t0)
    (inp,) = summary["inputs"]
    assert missing == 321
    assert (inp["samples_lost_upstream"], inp["samples_lost"]) == (321, 0)
    assert inp["samples_received"] == len(got)
