"""The producer process: an LSL outlet that pushes one stamped chunk per period.

Run as ``python -m bci_bridge.bench.producer --name N --channels C --rate R --chunk K
--duration S``. It creates the outlet, prints ``ready``, waits for ``go`` on stdin and for a
consumer, then pushes ``K`` samples every ``K / R`` seconds (on an absolute schedule, so it
never drifts) for ``S`` seconds. Each chunk is stamped with ``local_clock()`` taken just before
the push: the newest sample's LSL timestamp is its creation time, the others are spaced at the
nominal rate. Before ``go``, ``prime`` pushes one chunk, ``prime N`` N samples at the same
pace (neither counted in ``sent``), for a chain that opens its output outlet only on its
first output (a peer: after one sample, or once its 1 s window is full). At the end it prints
a JSON line ``{"sent": ..., "chunks": ...}`` and keeps the outlet open until stdin closes or
says ``exit``, so nothing in flight is cut off.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np
import pylsl

__all__ = ["main"]


def _stream(
    outlet: pylsl.StreamOutlet,
    chunks: list[np.ndarray],
    period: float,
    n_pushes: int,
    clock: Callable[[], float],
) -> int:
    """Push ``n_pushes`` chunks, one per ``period`` s on an absolute schedule.

    Returns
    -------
    int
        The pushes that were late by more than a period.
    """
    push = outlet.push_chunk
    start = time.perf_counter()
    late = 0
    for i in range(n_pushes):
        due = start + i * period
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -period:
            late += 1
        push(chunks[i % len(chunks)], clock())
    return late


def main(argv: list[str] | None = None) -> int:
    """Run the producer; return 0, or 1 if no consumer connected."""
    p = argparse.ArgumentParser(prog="python -m bci_bridge.bench.producer")
    p.add_argument("--name", required=True)
    p.add_argument("--channels", type=int, required=True)
    p.add_argument("--rate", type=float, required=True)
    p.add_argument("--chunk", type=int, default=1)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    info = pylsl.StreamInfo(
        args.name, "EEG", args.channels, args.rate, pylsl.cf_float32, f"bench-{args.name}"
    )
    outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)
    k = args.chunk
    # A pool of pre-made samples (microvolts), cycled: no allocation while streaming.
    rows = max(k, min(int(args.rate), 3000 // k * k or k))
    rows -= rows % k
    pool = (np.random.default_rng(args.seed).standard_normal((rows, args.channels)) * 10.0).astype(
        np.float32
    )
    chunks = [np.ascontiguousarray(pool[i : i + k]) for i in range(0, rows, k)]
    print("ready", flush=True)
    clock = pylsl.local_clock
    word = sys.stdin.readline().strip()
    if word.split()[:1] == ["prime"]:  # a chain that opens its outlet on its first output
        if not outlet.wait_for_consumers(30.0):
            print(json.dumps({"error": "no consumer connected within 30 s"}), flush=True)
            return 1
        n = int(word.split()[1]) if len(word.split()) > 1 else k
        # At the stream's pace, as the block will be: a chain that smooths its input's
        # timestamps (Timeflux's LSL inlet dejitters) must not see a burst first.
        _stream(outlet, chunks, k / args.rate, max(1, -(-n // k)), clock)
        word = sys.stdin.readline().strip()
    if word != "go":
        return 0
    if not outlet.wait_for_consumers(30.0):
        print(json.dumps({"error": "no consumer connected within 30 s"}), flush=True)
        return 1
    period = k / args.rate
    n_pushes = max(1, round(args.duration / period))
    start = time.perf_counter()
    late = _stream(outlet, chunks, period, n_pushes, clock)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {"sent": n_pushes * k, "chunks": n_pushes, "late_pushes": late, "elapsed_s": elapsed}
        ),
        flush=True,
    )
    for line in sys.stdin:
        if line.strip() == "exit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
