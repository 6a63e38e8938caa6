"""A stalled runtime holds a byte-bounded receive queue, and counts what its sender dropped.

``bci-bridge run`` runs as a subprocess with ``max_queue_mb = 4``; its only module holds its
first step until the test opens a gate (a file), while a real ZeroMQ publisher sends 20,000
frames of 64 channels (about 180 MB). The runtime's socket may take only a byte-bounded
number of them (``RCVHWM`` from :func:`~bci_bridge.queue_bound.receive_hwm`), so its memory
stays flat and the publisher drops the rest, which the runtime counts lost from the gaps in
``sample_index`` once it reads again. Before, with ``RCVHWM`` at 100,000 messages, the runtime
took all 180 MB in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zmq

from bci_bridge.lsl import local_clock
from bci_bridge.queue_bound import FRAME_OVERHEAD, receive_hwm
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Frame, Kind, decode, encode_data, encode_eos, encode_info

N_CH = 64
SFREQ = 32_000.0
ROWS = 32  # 1 ms a frame: the size the bound is reckoned for
MAX_QUEUE_MB = 4
SNDHWM = 1000  # the publisher's own bound: where the frames the runtime cannot take are dropped
STALL_FRAMES = 20_000
#: What the runtime may grow by while stalled, MB: its socket's bound, its input queue's bound
#: (the socket is drained into it when the step returns) and 16 MB for the interpreter's churn.
GROWTH_BOUND_MB = 2 * MAX_QUEUE_MB + 16

GATED = """
import time
from dataclasses import dataclass
from pathlib import Path

@dataclass(frozen=True)
class Config:
    gate: str = ""
    budget_ms: float = 1.0

class Gated:
    '''Holds its first step until the file ``gate`` exists (``gate.started`` says it is held).'''
    Config = Config
    def __init__(self, config):
        self.gate = Path(config.gate)
        self.held = False
    def prepare(self, info):
        return info
    def step(self, chunk):
        if not self.held:
            self.held = True
            Path(f"{self.gate}.started").touch()
            end = time.monotonic() + 120
            while not self.gate.exists() and time.monotonic() < end:
                time.sleep(0.01)
        return chunk
"""


def _rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for process {pid}")


def _wait(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the runtime exited with {proc.returncode}"
        assert time.monotonic() < end, f"never: {path.name}"
        time.sleep(0.02)


class Sender:
    """A real XPUB sending the frames a bridge would: sample k of every channel holds k."""

    def __init__(self, endpoint: str) -> None:
        self.pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.SNDHWM, SNDHWM)
        self.pub.setsockopt(zmq.LINGER, 0)
        self.pub.bind(endpoint)
        self.info = StreamInfo(
            name="eeg", channel_names=tuple(f"E{i}" for i in range(N_CH)), sfreq=SFREQ
        )
        self.seq = 0

    def wait_subscriber(self) -> None:
        self.pub.setsockopt(zmq.RCVTIMEO, 60_000)
        while self.pub.recv() != b"\x01data.eeg":
            pass
        self.pub.send_multipart(encode_info(b"info.eeg", self.info, local_clock()))

    def send(self) -> None:
        """Send the next frame (the publisher drops it if its queue is full)."""
        start = self.seq * ROWS
        idx = np.arange(start, start + ROWS)
        data = np.repeat(idx.astype(np.float32)[:, None], N_CH, axis=1)
        frame = encode_data(b"data.eeg", data, idx / SFREQ, self.seq, start, local_clock())
        self.pub.send_multipart(frame, copy=False)
        self.seq += 1

    def eos(self) -> None:
        self.pub.send_multipart(encode_eos(b"data.eeg", self.seq, self.seq * ROWS, local_clock()))


def test_a_stalled_runtime_stays_within_its_byte_bound_and_counts_the_drops(
    tmp_path: Path, ipc_dir: Path
) -> None:
    (tmp_path / "gated_mod.py").write_text(GATED)
    gate = tmp_path / "gate"
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        f'[pipeline]\nname = "t"\nmax_queue_mb = {MAX_QUEUE_MB}\nmetrics = "ipc://{ipc_dir}/m"\n'
        f'[[inputs]]\nstream = "eeg"\nendpoint = "ipc://{ipc_dir}/in"\n'
        f'[[nodes]]\nname = "held"\nmodule = "gated_mod:Gated"\nparams = {{ gate = "{gate}" }}\n'
        f'[[outputs]]\nnode = "held"\nzmq = "ipc://{ipc_dir}/out"\n'
    )
    summary_path = tmp_path / "summary.json"
    sender = Sender(f"ipc://{ipc_dir}/in")
    client: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.RCVHWM, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.t.held")
    client.connect(f"ipc://{ipc_dir}/out")
    cmd = [sys.executable, "-m", "bci_bridge", "run", str(pipeline), "--exit-on-eos"]
    cmd += ["--wait-subscribers", "1", "--summary", str(summary_path)]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(tmp_path)})
    frames: list[Frame] = []
    try:
        sender.wait_subscriber()
        sender.send()  # the module holds its step on this first frame
        _wait(Path(f"{gate}.started"), proc)
        before_mb = _rss_mb(proc.pid)
        for _ in range(STALL_FRAMES):
            sender.send()
        time.sleep(2.0)  # let ZeroMQ move what it will into the stalled runtime's socket
        stalled_mb = _rss_mb(proc.pid)
        gate.touch()
        # Send on until a frame comes out: the backlog is worked off, EOS cannot be dropped.
        client.setsockopt(zmq.RCVTIMEO, 500)
        end = time.monotonic() + 120
        while not frames or round(frames[-1].timestamps[-1] * SFREQ) < (STALL_FRAMES + 1) * ROWS:
            assert time.monotonic() < end, "the runtime never came back"
            sender.send()
            try:
                while True:
                    frames.append(decode(client.recv_multipart()))
            except zmq.Again:
                pass
        sender.eos()
        client.setsockopt(zmq.RCVTIMEO, 30_000)
        while frames[-1].kind is not Kind.EOS:
            frames.append(decode(client.recv_multipart()))
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        sender.pub.close()
        client.close()

    # The socket's bound: 4 MB of 1 ms frames of 64 float32 channels (446 frames).
    hwm = receive_hwm(MAX_QUEUE_MB * 10**6, [sender.info])
    assert hwm == (MAX_QUEUE_MB * 10**6) // (FRAME_OVERHEAD + ROWS * (N_CH * 4 + 8))
    # Memory: flat while ~180 MB were sent at the stalled runtime (shown with pytest -s).
    assert stalled_mb - before_mb < GROWTH_BOUND_MB, (before_mb, stalled_mb)

    summary = json.loads(summary_path.read_text())
    (inp,) = summary["inputs"]
    sent = sender.seq * ROWS
    print(
        f"runtime RSS: {before_mb:.1f} MiB before the stall, {stalled_mb:.1f} MiB stalled; "
        f"{inp['samples_received']} of {sent} samples received, {inp['samples_lost']} lost"
    )
    # Every sample sent is received or counted lost; the drops are gaps the runtime saw.
    assert inp["samples_received"] + inp["samples_lost"] == sent
    assert inp["samples_lost"] > (STALL_FRAMES // 2) * ROWS
    # What got in of the stall's frames: the socket's HWM, the publisher's, and the kernel's
    # socket buffers (a few hundred kB: under 100 of these 9 kB frames), not 20,000 frames.
    after_stall = sender.seq - 1 - STALL_FRAMES
    assert inp["samples_received"] <= (1 + hwm + SNDHWM + 100 + after_stall) * ROWS
    assert (inp["frames_malformed"], inp["frames_late"], inp["samples_lost_upstream"]) == (0, 0, 0)
    held = summary["nodes"]["held"]
    assert (
        held["samples_in"] + inp["samples_dropped_queue"] + inp["samples_unprocessed"]
        == inp["samples_received"]
    )
    data = [f for f in frames if f.kind is Kind.DATA]
    out = np.concatenate([f.data for f in data])
    stamps = np.concatenate([f.timestamps for f in data])
    assert out.shape == (held["samples_in"], N_CH)
    # Each sample that came out is the one sent at its place in the stream, in order.
    index = np.round(stamps * SFREQ).astype(np.int64)
    assert np.all(np.diff(index) > 0)
    np.testing.assert_array_equal(out, np.repeat(index.astype(np.float32)[:, None], N_CH, 1))
    assert frames[-1].sample_index == len(out)
