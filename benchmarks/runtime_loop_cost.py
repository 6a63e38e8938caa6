r"""Runtime CPU per frame: the loop, queue, policy and output check around one cheap node.

A publisher here plays the bridge and sends N one-sample frames of 8 float32 channels (a
wearable's stream) over ipc as fast as the runtime takes them; the runtime runs one band-pass
node with a ZeroMQ output in a thread, and the CPU time of that thread divided by N is the
runtime's cost per frame (decode, accounting, queue, step, check, send). Run it against two
checkouts to compare them::

    LSLAPICFG=bci_bridge/lsl_api.cfg .venv/bin/python benchmarks/runtime_loop_cost.py 20000
    LSLAPICFG=bci_bridge/lsl_api.cfg PYTHONPATH=/path/to/other/checkout \\
        .venv/bin/python benchmarks/runtime_loop_cost.py 20000

Frames go in bursts of 50 (then 1 ms for the runtime to catch up), so most turns of the
runtime's loop find several frames. A second argument sets the burst: ``1`` sends one frame
per 0.5 ms, so that each turn finds one frame, as at a real-time rate, and the cost per turn
of the loop counts in full::

    LSLAPICFG=bci_bridge/lsl_api.cfg .venv/bin/python benchmarks/runtime_loop_cost.py 5000 1
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import runtime_thread  # a sibling script module (this folder is on sys.path)
import zmq

from bci_bridge.config import load_pipeline
from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_eos, encode_info
from runtime.runner import Runtime, RuntimeOptions


def main(n: int, burst: int = 50) -> None:
    """Send ``n`` frames, ``burst`` at a time, through a one-node runtime; print CPU per frame."""
    d = Path(tempfile.mkdtemp(prefix="loop-", dir="/tmp"))
    try:
        _measure(n, d, burst)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _measure(n: int, d: Path, burst: int) -> None:
    info = StreamInfo(name="eeg", channel_names=tuple(f"c{i}" for i in range(8)), sfreq=250.0)
    path = d / "p.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "loop-cost"
            [[inputs]]
            stream = "eeg"
            endpoint = "ipc://{d}/in"
            [[nodes]]
            module = "bandpass"
            budget_ms = 100.0
            params = {{ low = 8.0, high = 30.0, order = 4 }}
            [[outputs]]
            zmq = "ipc://{d}/out"
            """
        )
    )
    pipeline = load_pipeline(path)
    if hasattr(pipeline, "metrics"):  # checkouts before [pipeline] metrics have no such field
        pipeline = dataclasses.replace(pipeline, metrics=f"ipc://{d}/metrics")
    pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.XPUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.bind(f"ipc://{d}/in")
    runtime = Runtime(pipeline, RuntimeOptions(exit_on_eos=True, info_timeout_s=10))
    thread, result = runtime_thread.start(runtime)
    while True:
        msg = pub.recv()
        if msg[0] == 1 and msg[1:] == b"data.eeg":
            break
    pub.send_multipart(encode_info(b"info.eeg", info, local_clock()))
    data = np.random.default_rng(0).standard_normal((n, 8)).astype(np.float32)
    stamps = local_clock() + np.arange(n) / 250.0
    for i in range(n):
        pub.send_multipart(encode_data(b"data.eeg", data[i : i + 1], stamps[i : i + 1], i, i, 0))
        if burst == 1:
            time.sleep(0.0005)  # one frame per turn of the runtime's loop
        elif i % burst == 0:
            time.sleep(0.001)  # a burst, then let the runtime catch up
    pub.send_multipart(encode_eos(b"data.eeg", n, n, 0.0))
    thread.join()
    pub.close()
    s = result["summary"]
    calls = s["nodes"]["bandpass"]["calls"]
    per_frame_us = result["cpu_s"] / n * 1e6
    print(
        f"frames {n} (bursts of {burst}), received {s['samples_received']}, calls {calls}, "
        f"{per_frame_us:.1f} us/frame"
    )


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 20000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 50,
    )
