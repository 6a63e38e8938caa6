"""What CURVE costs a frame: one-way time of a bridge-sized frame over loopback TCP, plain vs keyed.

An XPUB (keyed like a bridge, with ``bci_bridge.curve.serve``) sends frames in the wire format
to a SUB in the same process (keyed like a runtime input, with ``dial``); each frame carries
its send time, and the receiver records now minus that, in microseconds, one frame at a time
(the next one is sent when the last arrived, so no queue builds up)::

    .venv/bin/python benchmarks/curve_cost.py --channels 64 --samples 32 --frames 2000

CURVE encrypts each message (XSalsa20-Poly1305) at both ends, so its cost grows with the frame
size. Machines are noisy: compare runs on one machine only.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

from bci_bridge.cli.keys_cmd import write_key_pair
from bci_bridge.curve import ClientKeys, ServerKeys, dial, serve
from bci_bridge.wire import decode, encode_data


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _run(keys: Path | None, channels: int, samples: int, frames: int) -> np.ndarray:
    """Return the one-way time of each frame, microseconds."""
    ctx = zmq.Context()
    pub, sub = ctx.socket(zmq.XPUB), ctx.socket(zmq.SUB)
    guard = None
    try:
        if keys is not None:
            guard = serve(
                pub, ServerKeys(secret_key=keys / "b.key_secret", client_keys=keys / "ok")
            )
            dial(
                sub, ClientKeys(server_public_key=keys / "b.key", client_key=keys / "r.key_secret")
            )
        endpoint = f"tcp://127.0.0.1:{_port()}"
        pub.bind(endpoint)
        sub.setsockopt(zmq.SUBSCRIBE, b"data.")
        sub.connect(endpoint)
        pub.recv()  # the subscription: the handshake is done
        data = np.random.default_rng(0).standard_normal((samples, channels)).astype(np.float32)
        stamps = np.arange(samples, dtype=np.float64)
        out = np.empty(frames)
        for i in range(frames):
            pub.send_multipart(
                encode_data(b"data.x", data, stamps, i, i * samples, time.perf_counter())
            )
            frame = decode(sub.recv_multipart(copy=False))
            out[i] = (time.perf_counter() - frame.sent_time) * 1e6
        return out
    finally:
        pub.close(linger=0)
        sub.close(linger=0)
        if guard is not None:
            guard.close()
        ctx.term()


def main() -> None:
    """Measure and print p50, p99 and max of both paths."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--channels", type=int, default=64)
    ap.add_argument("--samples", type=int, default=32, help="samples per frame")
    ap.add_argument("--frames", type=int, default=2000)
    args = ap.parse_args()
    keys = Path(tempfile.mkdtemp(prefix="bb-curve-cost-"))
    try:
        for name in ("b", "r"):
            write_key_pair(name, keys)
        (keys / "ok").mkdir()
        shutil.copy(keys / "r.key", keys / "ok" / "r.key")
        size = args.channels * args.samples * 4
        print(f"{args.frames} frames of {args.samples} x {args.channels} float32 ({size} B)")
        for label, folder in (("plain", None), ("curve", keys)):
            us = _run(folder, args.channels, args.samples, args.frames)
            p50, p99 = np.percentile(us, [50, 99])
            print(f"  {label:<6} one-way us: p50 {p50:7.1f}  p99 {p99:7.1f}  max {us.max():7.1f}")
    finally:
        shutil.rmtree(keys, ignore_errors=True)


if __name__ == "__main__":
    main()
