r"""Cold steps of a low-rate decoder, and what a pre-warm before each step does about them.

The demo's classifier (``decoders/demo/model.onnx``: 4 band powers in, 3 classes out, run by
the ``onnx`` module) is stepped on one row at a time in five ways, each ``--steps`` times:

``warm``
    back to back;
``cold``
    every ``--period-ms`` (40 ms: the demo's band power hop), idle in between (sleeping, as the
    runtime waits for its next frame);
``prewarm``
    as ``cold``, with the module's ``prewarm()`` (one run of the model on its bound buffers,
    output discarded) ``--lead-ms`` before each step: what the runtime's ``prewarm_ms`` does;
``spin``
    as ``cold``, with the CPU kept busy for ``--lead-ms`` before each step;
``prewarm+spin``
    both: a prewarm, then busy until the step.

Each step is timed as the runtime times it (``perf_counter_ns`` around ``step``); the script
prints p50, p99 and max per way, in microseconds::

    nice -n 10 .venv/bin/python benchmarks/prewarm.py --steps 300 --lead-ms 1

With ``--runtime SECONDS`` it runs the whole demo pipeline (pick, band-pass, band power,
classifier) in the runtime instead, fed 250 one-sample frames a second over ipc, once without
and once with ``prewarm_ms = --lead-ms`` on the classifier, and prints the classifier's
``step_us``, ``step_us_cold``, ``step_us_warm`` and ``prewarms`` from the runtime's report::

    LSLAPICFG=bci_bridge/lsl_api.cfg nice -n 10 .venv/bin/python benchmarks/prewarm.py \
        --runtime 20 --lead-ms 1
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from bci_bridge.config import parse_pipeline
from bci_bridge.lsl import local_clock
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import encode_data, encode_eos, encode_info
from decoders.onnx_module import OnnxModule, OnnxModuleConfig
from devices.signals import channel_names
from runtime.runner import Runtime, RuntimeOptions

DEMO = Path(__file__).resolve().parents[1] / "decoders" / "demo"
MODEL = DEMO / "model.onnx"
INFO = StreamInfo(
    name="bandpower", channel_names=("C3_mu", "C3_beta", "C4_mu", "C4_beta"), sfreq=25.0
)


def _spin_until(t_ns: int) -> None:
    perf = time.perf_counter_ns
    while perf() < t_ns:
        pass


def _sleep_until(t_ns: int) -> None:
    left = t_ns - time.perf_counter_ns()
    if left > 0:
        time.sleep(left / 1e9)


def measure(way: str, steps: int, period_ns: int, lead_ns: int) -> np.ndarray:
    """Step the classifier ``steps`` times the given way; return each step's time, us."""
    module = OnnxModule(OnnxModuleConfig(model=str(MODEL)))
    module.prepare(INFO)
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((steps, 1, 4)).astype(np.float32)
    step: Callable[[Chunk], Chunk | None] = module.step
    perf = time.perf_counter_ns
    out = np.empty(steps)
    due = perf() + period_ns
    for i in range(steps):
        chunk = Chunk(rows[i], np.array([i * 0.04]), i)
        if way != "warm":
            if way in ("prewarm", "prewarm+spin"):
                _sleep_until(due - lead_ns)
                module.prewarm()
                if way == "prewarm+spin":
                    _spin_until(due)
                else:
                    _sleep_until(due)
            elif way == "spin":
                _sleep_until(due - lead_ns)
                _spin_until(due)
            else:
                _sleep_until(due)
            due += period_ns
        t0 = perf()
        step(chunk)
        out[i] = (perf() - t0) / 1e3
    return out


def run_demo(seconds: float, prewarm_ms: float, d: Path) -> dict[str, Any]:
    """Run the demo pipeline in the runtime for ``seconds``; return the classifier's summary."""
    raw = tomllib.loads((DEMO / "pipeline.toml").read_text())
    raw["pipeline"]["metrics"] = f"ipc://{d}/metrics"
    raw["inputs"][0]["endpoint"] = f"ipc://{d}/in"
    raw["outputs"] = [{"node": "classifier", "zmq": f"ipc://{d}/out"}]
    if prewarm_ms > 0:
        raw["nodes"][3]["prewarm_ms"] = prewarm_ms
    pipeline = parse_pipeline(raw, base_dir=DEMO, source="demo pipeline")
    stream = raw["inputs"][0]["stream"]
    info = StreamInfo(name=stream, channel_names=channel_names(8), sfreq=250.0)
    pub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.bind(f"ipc://{d}/in")
    runtime = Runtime(pipeline, RuntimeOptions(exit_on_eos=True, info_timeout_s=10))
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(runtime.run(threading.Event())))
    thread.start()
    while True:
        msg = pub.recv()
        if msg[0] == 1 and msg[1:] == f"data.{stream}".encode():
            break
    topic = f"data.{stream}".encode()
    pub.send_multipart(encode_info(f"info.{stream}".encode(), info, local_clock()))
    n = int(seconds * 250)
    data = (np.random.default_rng(0).standard_normal((n, 8)) * 10.0).astype(np.float32)
    start = time.perf_counter()
    for i in range(n):  # one sample every 4 ms, in real time
        left = start + i / 250.0 - time.perf_counter()
        if left > 0:
            time.sleep(left)
        pub.send_multipart(
            encode_data(topic, data[i : i + 1], np.array([local_clock()]), i, i, local_clock())
        )
    pub.send_multipart(encode_eos(topic, n, n, local_clock()))
    thread.join()
    pub.close()
    node: dict[str, Any] = result["nodes"]["classifier"]
    return node


def _runtime(seconds: float, lead_ms: float) -> None:
    d = Path(tempfile.mkdtemp(prefix="prewarm-", dir="/tmp"))
    try:
        for prewarm_ms in (0.0, lead_ms):
            node = run_demo(seconds, prewarm_ms, d)
            print(
                f"demo pipeline, {seconds:g} s at 250 Hz, classifier prewarm_ms = {prewarm_ms:g}:"
            )
            for key in ("step_us", "step_us_cold", "step_us_warm"):
                print(f"  {key:>12}: {node[key]}")
            print(f"  {'prewarms':>12}: {node['prewarms']}, calls {node['calls']}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main() -> None:
    """Measure each way; print p50, p99 and max in microseconds."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--period-ms", type=float, default=40.0)
    p.add_argument("--lead-ms", type=float, default=1.0)
    p.add_argument("--ways", nargs="+", default=["warm", "cold", "prewarm", "spin", "prewarm+spin"])
    p.add_argument("--runtime", type=float, default=0.0, metavar="SECONDS")
    args = p.parse_args()
    if args.runtime > 0:
        _runtime(args.runtime, args.lead_ms)
        return
    period, lead = int(args.period_ms * 1e6), int(args.lead_ms * 1e6)
    print(
        f"demo classifier, {args.steps} steps each, every {args.period_ms:g} ms, "
        f"lead {args.lead_ms:g} ms"
    )
    for way in args.ways:
        us = measure(way, args.steps, period, lead)
        p50, p99 = np.percentile(us, [50, 99])
        print(f"{way:>13}: p50 {p50:7.1f} us  p99 {p99:7.1f} us  max {us.max():7.1f} us")


if __name__ == "__main__":
    main()
