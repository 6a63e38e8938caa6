"""The client process: receive a chain's outputs and record the age of each one.

Run as ``python -m bci_bridge.bench.client (--lsl NAME | --zmq ENDPOINT --format FMT) --out
PATH``. Age of an output = this process's ``local_clock()`` taken right after the receive
returned, minus the LSL timestamp of the newest input sample behind it: per sample for an LSL
output (each sample keeps its input's timestamp), per frame for a ZeroMQ output (the last
timestamp of the frame). For ZeroMQ it also records the output hop: receive time minus the
frame's ``sent_time``.

Protocol with the runner, on stdin/stdout (one line each): the client prints ``ready`` once it
can receive (LSL: inlet open; bci-bridge wire: the output's info arrived, so the runtime is
prepared); then once a second ``{"progress": n_outputs, "p50": ms}``; the runner writes ``end
N`` once the chain has emitted N samples, and the client stops when it has N (or an ``EOS``, or
after 2 s without data), saves the ages (``PATH``, float64 ms, ``.npz`` with ``age_ms`` and
``hop_ms``) and prints ``{"outputs": ..., "samples": ..., "eos": ..., "malformed": ...}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any

import numpy as np
import numpy.typing as npt
import pylsl
import zmq
from pylsl.util import LostError

from bci_bridge.bench.rawwire import RAW_HEADER
from bci_bridge.errors import WireError
from bci_bridge.wire import Kind, decode

__all__ = ["main"]

_IDLE_S = 2.0


class _Recorder:
    """Growable float64 arrays of ages and hops, in ms, plus the counters."""

    def __init__(self) -> None:
        self.age = np.empty(1 << 16)
        self.hop = np.empty(1 << 16)
        self.n_age = 0
        self.n_hop = 0
        self.samples = 0
        self.malformed = 0
        self.eos = False
        self.last_data = time.monotonic()
        self._printed = 0

    def ages(self, values: npt.NDArray[np.float64]) -> None:
        n = values.shape[0]
        if self.n_age + n > self.age.shape[0]:
            self.age = np.resize(self.age, 2 * (self.n_age + n))
        self.age[self.n_age : self.n_age + n] = values
        self.n_age += n

    def hop_ms(self, value: float) -> None:
        if self.n_hop == self.hop.shape[0]:
            self.hop = np.resize(self.hop, 2 * self.n_hop)
        self.hop[self.n_hop] = value
        self.n_hop += 1

    def progress(self) -> None:
        recent = self.age[self._printed : self.n_age]
        self._printed = self.n_age
        p50 = float(np.median(recent)) if recent.size else None
        print(json.dumps({"progress": self.n_age, "p50": p50}), flush=True)


class _Stdin(threading.Thread):
    """Read ``end N`` from the runner."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.expected: int | None = None
        self.since = 0.0

    def run(self) -> None:
        for line in sys.stdin:
            word, _, rest = line.strip().partition(" ")
            if word == "end":
                self.since = time.monotonic()
                self.expected = int(rest)
                return
        self.since = time.monotonic()
        self.expected = -1  # the runner went away: finish now


def _done(rec: _Recorder, ctl: _Stdin) -> bool:
    if ctl.expected is None:
        return False
    if rec.eos or (ctl.expected >= 0 and rec.samples >= ctl.expected):
        return True
    quiet = time.monotonic() - max(rec.last_data, ctl.since)
    return ctl.expected < 0 or quiet > _IDLE_S


_LSL_DTYPES: dict[int, type[np.generic]] = {
    pylsl.cf_float32: np.float32,
    pylsl.cf_double64: np.float64,
    pylsl.cf_int8: np.int8,
    pylsl.cf_int16: np.int16,
    pylsl.cf_int32: np.int32,
    pylsl.cf_int64: np.int64,
}


def _lsl_dtype(channel_format: int) -> type[np.generic]:
    """Return the numpy dtype of an LSL channel format (``pylsl.cf_*``)."""
    try:
        return _LSL_DTYPES[channel_format]
    except KeyError:
        raise SystemExit(
            f"client: LSL channel format {channel_format} is not numeric; cannot time it"
        ) from None


def _run_lsl(name: str, rec: _Recorder, ctl: _Stdin) -> None:
    found = pylsl.resolve_byprop("name", name, 1, 60.0)
    if not found:
        raise SystemExit(f"client: no LSL stream {name!r} within 60 s")
    inlet = pylsl.StreamInlet(found[0], max_buflen=360, max_chunklen=0, recover=False)
    info = inlet.info(timeout=10.0)
    inlet.open_stream(timeout=10.0)
    # The stream's own format (float32 from bci-bridge and the floor, float64 from Timeflux
    # and ezmsg): pylsl refuses a dest_obj of another dtype ("buffer too small") or misreads.
    buf = np.empty((4096, info.channel_count()), _lsl_dtype(info.channel_format()))
    clock = pylsl.local_clock
    print("ready", flush=True)
    next_progress = time.monotonic() + 1.0
    while not _done(rec, ctl):
        if rec.eos:  # the outlet is gone (the chain ended): nothing more can come
            time.sleep(0.05)
            continue
        try:
            _, ts = inlet.pull_chunk(
                timeout=0.1, max_samples=4096, dest_obj=buf, min_samples=1, as_numpy=True
            )
        except LostError:
            rec.eos = True
            continue
        now = clock()
        if len(ts):
            rec.ages((now - ts) * 1e3)
            rec.samples += len(ts)
            rec.last_data = time.monotonic()
        if time.monotonic() >= next_progress:
            next_progress += 1.0
            rec.progress()
    if not rec.eos:
        inlet.close_stream()


def _run_zmq(endpoint: str, fmt: str, rec: _Recorder, ctl: _Stdin) -> None:
    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1_000_000)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 100)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    clock = pylsl.local_clock
    wire = fmt == "wire"
    if not wire:
        print("ready", flush=True)
    ready = not wire
    next_progress = time.monotonic() + 1.0
    try:
        while not _done(rec, ctl):
            try:
                parts: list[Any] = sub.recv_multipart(copy=False)
            except zmq.Again:
                parts = []
            now = clock()
            if parts:
                if wire:
                    ready = _wire_frame(parts, now, rec, ready)
                else:
                    _raw_frame(parts, now, rec)
            if time.monotonic() >= next_progress:
                next_progress += 1.0
                rec.progress()
    finally:
        sub.close()


def _wire_frame(parts: list[Any], now: float, rec: _Recorder, ready: bool) -> bool:
    try:
        frame = decode(parts)
    except WireError:
        rec.malformed += 1
        return ready
    if frame.kind is Kind.INFO and not ready:
        print("ready", flush=True)
        return True
    if frame.kind is Kind.EOS:
        rec.eos = True
    elif frame.kind is Kind.DATA:
        rec.ages(np.array([(now - float(frame.timestamps[-1])) * 1e3]))
        rec.hop_ms((now - frame.sent_time) * 1e3)
        rec.samples += frame.data.shape[0]
        rec.last_data = time.monotonic()
    return ready


def _raw_frame(parts: list[Any], now: float, rec: _Recorder) -> None:
    if len(parts) != 3 or len(parts[0].buffer) != RAW_HEADER.size:
        rec.malformed += 1
        return
    n, _c, sent = RAW_HEADER.unpack(parts[0].buffer)
    ts = np.frombuffer(parts[2].buffer, np.float64)
    if ts.shape[0] != n:
        rec.malformed += 1
        return
    rec.ages(np.array([(now - float(ts[-1])) * 1e3]))
    rec.hop_ms((now - sent) * 1e3)
    rec.samples += n
    rec.last_data = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    """Run the client; return 0."""
    p = argparse.ArgumentParser(prog="python -m bci_bridge.bench.client")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--lsl", metavar="NAME")
    src.add_argument("--zmq", metavar="ENDPOINT")
    p.add_argument("--format", choices=("wire", "raw"), default="wire")
    p.add_argument("--out", required=True, help="where to save the ages (.npz)")
    args = p.parse_args(argv)
    rec = _Recorder()
    ctl = _Stdin()
    ctl.start()
    if args.lsl:
        _run_lsl(args.lsl, rec, ctl)
    else:
        _run_zmq(args.zmq, args.format, rec, ctl)
    np.savez(args.out, age_ms=rec.age[: rec.n_age], hop_ms=rec.hop[: rec.n_hop])
    print(
        json.dumps(
            {
                "outputs": rec.n_age,
                "samples": rec.samples,
                "eos": rec.eos,
                "malformed": rec.malformed,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
