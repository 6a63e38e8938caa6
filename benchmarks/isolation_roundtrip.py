"""How much a process boundary costs: one chunk's round trip through an isolated node vs inline.

Runs a built-in module both ways on the same chunks and prints the time from ``push`` to the
output reaching the node's sink (inline: the step itself), in microseconds::

    .venv/bin/python benchmarks/isolation_roundtrip.py --module bandpass --chunks 2000

The isolated path waits for the worker's answer with ``select`` on its control pipe, as the
runtime's loop does with ``zmq_poll``. Machines are noisy: compare runs on one machine only.
"""

from __future__ import annotations

import argparse
import select
import time

import numpy as np

from bci_bridge.config import parse_pipeline
from bci_bridge.stream import Chunk, StreamInfo
from runtime.isolated import IsolatedNode
from runtime.node import Node

PARAMS = {"bandpass": {"low": 8.0, "high": 30.0}, "pick": {"channels": ["ch0", "ch1"]}}


def _node(module: str, isolation: str) -> Node:
    raw = {
        "pipeline": {"name": "bench"},
        "inputs": [{"stream": "eeg", "endpoint": "ipc:///tmp/unused"}],
        "nodes": [{"module": module, "isolation": isolation, "params": PARAMS.get(module, {})}],
    }
    config = parse_pipeline(raw).nodes[0]
    return IsolatedNode(config) if isolation == "process" else Node(config)


def main() -> None:
    """Measure and print p50, p99 and max of both paths."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--module", default="bandpass", choices=sorted(PARAMS))
    ap.add_argument("--chunks", type=int, default=2000)
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--samples", type=int, default=16, help="samples per chunk")
    args = ap.parse_args()
    names = tuple(f"ch{i}" for i in range(args.channels))
    info = StreamInfo(name="eeg", channel_names=names, sfreq=250.0)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((args.samples, args.channels)).astype(np.float32)
    chunk = Chunk(data, np.arange(args.samples, dtype=np.float64), 0)
    for isolation in ("inline", "process"):
        node = _node(args.module, isolation)
        node.prepare(info)
        got: list[int] = []
        node.sinks.append(lambda out, got=got: got.append(out.n_samples))
        times = np.empty(args.chunks)
        try:
            for i in range(args.chunks + 100):  # the first 100 warm up
                n = len(got)
                t0 = time.perf_counter_ns()
                node.push(chunk)
                while len(got) == n:
                    assert isinstance(node, IsolatedNode)
                    select.select([node.fileno], [], [], 1.0)
                    node.poll()
                if i >= 100:
                    times[i - 100] = (time.perf_counter_ns() - t0) / 1e3
        finally:
            if isinstance(node, IsolatedNode):
                node.close()
        p50, p99 = np.percentile(times, [50, 99])
        print(
            f"{args.module} {isolation:7s} {args.samples} x {args.channels}: "
            f"p50 {p50:7.1f} us  p99 {p99:7.1f} us  max {times.max():8.1f} us"
        )


if __name__ == "__main__":
    main()
