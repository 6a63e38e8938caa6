"""How long Ctrl-C takes to end `bci-bridge run`, with and without a module hung in a step.

Starts the runtime on a 3-channel stream played by a ZeroMQ publisher here, with one node that
hangs forever on a marked chunk (in a lock, in C; optionally with SIGINT blocked so that the
Python handler never runs; or isolated in a worker process), sends SIGINT and prints the time
to exit and the exit status::

    .venv/bin/python benchmarks/ctrl_c_exit.py
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_info

HANG = """
import signal, threading
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
            if self.config.block_sigint:
                signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
            threading.Event().wait()
        return chunk
"""
INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)


def _once(folder: Path, hang: bool, block_sigint: bool, isolation: str) -> tuple[float, int]:
    (folder / "hang_mod.py").write_text(HANG)
    toml = folder / "p.toml"
    toml.write_text(
        f'[pipeline]\nname = "t"\n[[inputs]]\nstream = "eeg"\nendpoint = "ipc://{folder}/in"\n'
        f'[[nodes]]\nname = "hang"\nmodule = "hang_mod:Hang"\nisolation = "{isolation}"\n'
        + ("deadline_ms = 60000\n" if isolation == "process" else "")  # still hung at SIGINT
        + f"params = {{ block_sigint = {str(block_sigint).lower()} }}\n"
        + f'[[outputs]]\nnode = "hang"\nzmq = "ipc://{folder}/out"\n'
    )
    pub = zmq.Context.instance().socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 0)
    pub.bind(f"ipc://{folder}/in")
    cmd = [
        sys.executable,
        "-m",
        "bci_bridge",
        "run",
        str(toml),
        "--summary",
        str(folder / "s.json"),
    ]
    env = {**os.environ, "PYTHONPATH": str(folder)}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    try:
        while pub.recv() != b"\x01data.eeg":
            pass
        pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))
        for seq in range(3):
            data = np.zeros((10, 3), np.float32)
            data[0, 0] = 666.0 if hang and seq == 1 else 0.0
            stamps = np.arange(10) / 250.0 + seq
            pub.send_multipart(encode_data(b"data.eeg", data, stamps, seq, seq * 10, 0.0))
        time.sleep(1.5)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        code = proc.wait(30)
        return time.monotonic() - t0, code
    finally:
        if proc.poll() is None:
            proc.kill()
        pub.close()


def main() -> None:
    """Run the three cases and print one line each."""
    os.environ.setdefault(
        "LSLAPICFG", str(Path(__file__).resolve().parents[1] / "bci_bridge" / "lsl_api.cfg")
    )
    cases = [
        ("no hung module", False, False, "inline"),
        ("hung step, Python handler runs", True, False, "inline"),
        ("hung step, SIGINT blocked in C", True, True, "inline"),
        ("hung step in an isolated node", True, False, "process"),
    ]
    for label, hang, block, isolation in cases:
        folder = Path(tempfile.mkdtemp(prefix="bb-", dir="/tmp"))
        try:
            dt, code = _once(folder, hang, block, isolation)
            print(f"{label:32s} exit {code} after {dt:.2f} s from SIGINT")
        finally:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
