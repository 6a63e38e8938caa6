"""Does a slow branch hold back its sibling? Output age of a fast branch beside a slow node.

Streams a 3-channel 250 Hz signal in real time (10-sample chunks) into a runtime with two
branches on the same input: ``fast`` (the built-in ``pick``) and ``slow`` (a module that sleeps
``--sleep-ms`` per step, more than the chunk period, so it cannot keep up). Prints the fast
branch's output age (p50, p99: LSL clock at sending minus its newest input sample's timestamp)
with no slow node, with the slow node inline, and with it isolated::

    .venv/bin/python benchmarks/sibling_age.py --seconds 4 --sleep-ms 50
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from bci_bridge.config import load_pipeline
from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_eos, encode_info
from runtime.runner import Runtime, RuntimeOptions

SLOW = """
import time
from dataclasses import dataclass

@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0
    sleep_ms: float = 50.0

class Slow:
    Config = Config
    def __init__(self, config):
        self.s = config.sleep_ms / 1000
    def prepare(self, info):
        return info
    def step(self, chunk):
        time.sleep(self.s)
        return chunk
"""
INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)


def _pipeline(folder: Path, slow: str | None, sleep_ms: float) -> Path:
    text = (
        f'[pipeline]\nname = "b"\n[[inputs]]\nstream = "eeg"\nendpoint = "ipc://{folder}/in"\n'
        '[[nodes]]\nname = "fast"\nmodule = "pick"\ninput = "eeg"\n'
        'params = { channels = ["C3"] }\n'
    )
    if slow is not None:
        text += (
            '[[nodes]]\nname = "slow"\nmodule = "slow_mod:Slow"\ninput = "eeg"\n'
            f'isolation = "{slow}"\nparams = {{ sleep_ms = {sleep_ms} }}\n'
        )
    text += f'[[outputs]]\nnode = "fast"\nzmq = "ipc://{folder}/out"\n'
    path = folder / "p.toml"
    path.write_text(text)
    return path


def _once(folder: Path, slow: str | None, seconds: float, sleep_ms: float) -> dict[str, Any]:
    pub = zmq.Context.instance().socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.bind(f"ipc://{folder}/in")
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"info.out.")
    client.connect(f"ipc://{folder}/out")
    runtime = Runtime(
        load_pipeline(_pipeline(folder, slow, sleep_ms)),
        RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=60),
    )
    stop = threading.Event()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(runtime.run(stop)))
    thread.start()
    try:
        while pub.recv() != b"\x01data.eeg":
            pass
        pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))
        client.recv_multipart()  # the runtime is prepared (its workers started): stream now
        n, size, fs = int(seconds * 25), 10, 250.0
        data = np.zeros((size, 3), np.float32)
        t_next = time.monotonic()
        for seq in range(n):
            t_next += size / fs
            time.sleep(max(0.0, t_next - time.monotonic()))
            now = local_clock()
            stamps = now - np.arange(size - 1, -1, -1) / fs
            pub.send_multipart(encode_data(b"data.eeg", data, stamps, seq, seq * size, now))
        pub.send_multipart(encode_eos(b"data.eeg", n, n * size, local_clock()))
        thread.join(120)
    finally:
        stop.set()
        thread.join(30)
        pub.close()
        client.close()
    return result


def main() -> None:
    """Run the three cases and print the fast branch's output age."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--sleep-ms", type=float, default=50.0)
    args = ap.parse_args()
    os.environ.setdefault(
        "LSLAPICFG", str(Path(__file__).resolve().parents[1] / "bci_bridge" / "lsl_api.cfg")
    )
    for slow in (None, "inline", "process"):
        folder = Path(tempfile.mkdtemp(prefix="bb-", dir="/tmp"))
        (folder / "slow_mod.py").write_text(SLOW)
        sys.path.insert(0, str(folder))
        try:
            summary = _once(folder, slow, args.seconds, args.sleep_ms)
        finally:
            sys.path.remove(str(folder))
            sys.modules.pop("slow_mod", None)
            shutil.rmtree(folder, ignore_errors=True)
        age = summary["outputs"][0]["age_ms"]
        label = "no slow node" if slow is None else f"slow node {slow}"
        sent = summary["outputs"][0]["sent"]
        print(
            f"{label:22s} fast branch age p50 {age['p50']:8.2f} ms  p99 {age['p99']:8.2f} ms"
            f"  ({sent} samples)"
        )


if __name__ == "__main__":
    main()
