"""Ctrl-C ends `bci-bridge run` whatever its modules do: summary written, EOS sent, exit 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import zmq
from fake_bridge import FakeBridge

from bci_bridge.wire import Frame, Kind, decode

HANG = """
import signal
import threading
from dataclasses import dataclass

@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0
    block_sigint: bool = False

class Hang:
    Config = Config
    def __init__(self, config):
        self.config = config
    def prepare(self, info):
        return info
    def step(self, chunk):
        if chunk.data[0, 0] == 666.0:
            if self.config.block_sigint:  # the Python handler can never run then
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            threading.Event().wait()  # blocks in C (a lock), forever
        return chunk
"""


def _wait_line(lines: list[str], text: str, proc: subprocess.Popen[str], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not any(text in line for line in lines):
        assert proc.poll() is None, "".join(lines)
        assert time.monotonic() < end, f"no {text!r} in:\n" + "".join(lines)
        time.sleep(0.05)


@pytest.mark.parametrize("block_sigint", [False, True], ids=["handler-runs", "stuck-in-c"])
def test_ctrl_c_on_a_hung_inline_step_writes_the_summary_and_sends_eos(
    tmp_path: Path, ipc_dir: Path, block_sigint: bool
) -> None:
    (tmp_path / "hang_mod.py").write_text(HANG)
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        f'[pipeline]\nname = "t"\n[[inputs]]\nstream = "eeg"\nendpoint = "ipc://{ipc_dir}/in"\n'
        '[[nodes]]\nname = "hang"\nmodule = "hang_mod:Hang"\ninput = "eeg"\n'
        f"params = {{ block_sigint = {str(block_sigint).lower()} }}\n"
        '[[nodes]]\nname = "sibling"\nmodule = "hang_mod:Hang"\ninput = "eeg"\n'
        f'[[outputs]]\nnode = "hang"\nzmq = "ipc://{ipc_dir}/out"\n'
        f'[[outputs]]\nnode = "sibling"\nzmq = "ipc://{ipc_dir}/out"\n'
    )
    summary_path = tmp_path / "summary.json"
    bridge = FakeBridge(f"ipc://{ipc_dir}/in")
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.t.")
    client.connect(f"ipc://{ipc_dir}/out")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    cmd = [sys.executable, "-m", "bci_bridge", "run", str(pipeline), "--summary", str(summary_path)]
    cmd += ["--wait-subscribers", "1"]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr or []), daemon=True)
    reader.start()
    frames: list[Frame] = []
    try:
        bridge.wait_subscriber()
        bridge.send_chunks(3, 10, {1}, eos=False)  # chunk 1 hangs the first node for good
        _wait_line(lines, "has been in one step", proc, 60)  # the watchdog saw it stuck
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        client.setsockopt(zmq.RCVTIMEO, 5000)
        while sum(f.kind is Kind.EOS for f in frames) < 2:
            try:
                frames.append(decode(client.recv_multipart()))
            except zmq.Again:
                got = [(f.topic, f.kind.name) for f in frames]
                raise AssertionError(
                    f"no EOS on both outputs; got {got}\n{''.join(lines)}"
                ) from None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        bridge.close()
        client.close()
    reader.join(5)
    proc.stderr.close()

    assert code == 130, "".join(lines)
    summary = json.loads(summary_path.read_text())
    assert summary["aborted"] is True
    hang, sibling = summary["nodes"]["hang"], summary["nodes"]["sibling"]
    assert (hang["calls"], hang["outputs"], hang["stuck"]) == (1, 10, 1)
    # The sibling comes after the hung node: it saw at most the chunk before the hang (none
    # when both chunks reached the runtime in one batch, which runs node by node).
    assert sibling["calls"] in (0, 1)
    assert (sibling["outputs"], sibling["stuck"]) == (10 * sibling["calls"], 0)
    eos = {f.topic: f for f in frames if f.kind is Kind.EOS}
    assert set(eos) == {b"out.t.hang", b"out.t.sibling"}
    assert eos[b"out.t.hang"].sample_index == 10
    assert eos[b"out.t.sibling"].sample_index == sibling["outputs"]
    data = [f.topic for f in frames if f.kind is Kind.DATA]
    assert sorted(data) == [b"out.t.hang"] + [b"out.t.sibling"] * sibling["calls"]
