"""A client of a runtime's ZeroMQ output, run as its own process by the fault and soak tests.

Usage: ``python subscriber_proc.py ENDPOINT TOPIC OUT.npz [--keep]``. Receives frames on
``TOPIC`` until its ``EOS`` (or SIGINT/SIGTERM), checks that each frame continues the one
before (``sample_index``, in order, no gap), and writes ``OUT.npz``: ``counts`` (frames,
samples, gaps, the first sample_index received), and with ``--keep`` every sample and
timestamp (``data`` of shape (n_samples, n_channels), ``timestamps`` in seconds). Written
atomically at the end, so a killed subscriber leaves no file. Writes ``OUT.npz.ready`` once
subscribed and receiving.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from bci_bridge.wire import Kind, decode


def main(argv: list[str]) -> int:
    endpoint, topic, out = argv[0], argv[1].encode(), Path(argv[2])
    keep = "--keep" in argv[3:]
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    sub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 100)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(endpoint)
    frames = samples = gaps = 0
    first = next_index = -1
    data: list[Any] = []
    stamps: list[Any] = []
    while not stop.is_set():
        try:
            frame = decode(sub.recv_multipart(copy=False))
        except zmq.Again:
            continue
        if frame.topic != topic:
            continue
        if frame.kind is Kind.EOS:
            break
        if frame.kind is not Kind.DATA:
            continue
        if first < 0:
            first = frame.sample_index
            Path(f"{out}.ready").touch()
        elif frame.sample_index != next_index:
            gaps += 1
        next_index = frame.sample_index + frame.data.shape[0]
        frames += 1
        samples += frame.data.shape[0]
        if keep:
            data.append(frame.data.copy())
            stamps.append(frame.timestamps.copy())
    sub.close()
    arrays: dict[str, Any] = {"counts": np.array([frames, samples, gaps, first], np.int64)}
    if keep and data:
        arrays["data"] = np.concatenate(data)
        arrays["timestamps"] = np.concatenate(stamps)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
