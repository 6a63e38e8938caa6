"""A source that goes away: the bridge waits for it (saying so once) or, with a timeout, ends."""

from __future__ import annotations

import gc
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, decode

INFO_CHANNELS = ("A", "B", "C")


def _outlet(name: str) -> pylsl.StreamOutlet:
    info = StreamInfo(name=name, channel_names=INFO_CHANNELS, sfreq=200.0)
    return pylsl.StreamOutlet(to_lsl(info))


def _push(outlet: pylsl.StreamOutlet, data: np.ndarray) -> None:
    for start in range(0, len(data), 10):
        outlet.push_chunk(data[start : start + 10])


def _subscriber(endpoint: str, stream: str) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, f"data.{stream}".encode())
    sub.connect(endpoint)
    return sub


def _wait(condition: object, what: str, limit_s: float = 20.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)


def _received(frames: list) -> np.ndarray:  # type: ignore[type-arg]
    return np.concatenate([f.data for f in frames if f.kind is Kind.DATA])


def test_cli_bridge_ends_the_stream_and_exits_0_when_the_source_is_gone(
    stream_name: str, ipc_dir: Path, tmp_path: Path
) -> None:
    endpoint = f"ipc://{ipc_dir}/eeg"
    summary = tmp_path / "bridge.json"
    sub = _subscriber(endpoint, stream_name)
    outlet = _outlet(stream_name)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "bci_bridge", "bridge"),
            *("--name", stream_name, "--endpoint", endpoint, "--wait-subscribers", "1"),
            *("--source-timeout", "1", "--summary", str(summary)),
        ],
        env=os.environ.copy(),  # conftest's loopback LSLAPICFG
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert outlet.wait_for_consumers(20.0), "bridge never opened its inlet"
        data = np.arange(300 * 3, dtype=np.float32).reshape(300, 3)
        _push(outlet, data)
        frames = []
        sub.setsockopt(zmq.RCVTIMEO, 20_000)

        while sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) < 300:
            frames.append(decode(sub.recv_multipart()))
        del outlet  # the source goes away
        gc.collect()
        frames += collect(sub, f"data.{stream_name}".encode())
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        sub.close()
    assert proc.returncode == 0, stderr
    np.testing.assert_array_equal(_received(frames), data)
    assert frames[-1].kind is Kind.EOS
    assert frames[-1].sample_index == 300
    totals = json.loads(summary.read_text())
    assert totals["samples"] == 300
    assert totals["source_lost"] == 1
    assert stderr.count("is gone") == 1


def test_without_a_timeout_the_bridge_waits_says_so_once_and_resumes(
    stream_name: str, ipc_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bci_bridge.bridge")
    endpoint = f"ipc://{ipc_dir}/eeg"
    sub = _subscriber(endpoint, stream_name)
    bridge = Bridge(BridgeConfig(name=stream_name, endpoint=endpoint, wait_subscribers=1))
    worker = Worker(bridge.run)
    first = _outlet(stream_name)
    worker.start()
    assert first.wait_for_consumers(20.0)
    data = np.arange(500 * 3, dtype=np.float32).reshape(500, 3)
    _push(first, data[:200])
    _wait(lambda: bridge.stats.samples == 200, "the first 200 samples bridged")
    del first
    gc.collect()
    _wait(lambda: bridge.stats.source_lost == 1, "the bridge noticed the loss")
    time.sleep(2.5)  # longer than one lookup round: the wait goes on, and is logged only once
    assert worker.is_alive()
    second = _outlet(stream_name)
    assert second.wait_for_consumers(20.0), "the bridge never came back to the source"
    _push(second, data[200:])
    _wait(lambda: bridge.stats.samples == 500, "all 500 samples bridged")
    stats = worker.finish()
    frames = collect(sub, f"data.{stream_name}".encode())
    sub.close()
    np.testing.assert_array_equal(_received(frames), data)
    seqs = [f.seq for f in frames if f.kind is Kind.DATA]
    assert seqs == list(range(len(seqs)))  # one unbroken stream for the receivers
    assert frames[-1].kind is Kind.EOS
    assert frames[-1].sample_index == stats.samples == 500
    gone = [r for r in caplog.records if "is gone" in r.getMessage()]
    assert len(gone) == 1
    assert "waiting for it to come back" in gone[0].getMessage()


def test_source_timeout_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="source_timeout"):
        BridgeConfig(name="x", source_timeout_s=0.0)
