"""The floor: the same work as each scenario, hand-written on pylsl, pyzmq, scipy, onnxruntime.

Three roles, each a process (``python -m bci_bridge.bench.floor ROLE ...``):

``relay --in NAME --out NAME --channels N --rate HZ``
    One process: pull from LSL into numpy, 8th-order 8-30 Hz Butterworth band-pass with state
    (scipy's compiled ``sosfilt`` loop), push to an LSL outlet with the same timestamps. The
    same command line as a relay peer (see :mod:`bci_bridge.bench_extras.peers`).
``bridge --in NAME --endpoint EP``
    LSL in, ZeroMQ out (:mod:`bci_bridge.bench.rawwire` framing), once a subscriber is there.
``worker --work WORK --in EP --out EP --channels N --rate HZ [--model PATH]``
    ZeroMQ in, the scenario's work, ZeroMQ out. ``WORK``: ``decode``: band-pass, then the model on
    the latest 1 s window at every sample once the window is full (one onnxruntime thread).
    ``wide``: common average reference. ``wearable``: band-pass, then log band power (8-13
    and 13-30 Hz, 1 s window) every 0.1 s once the window is full. ``spikes``: common
    average, 250-5000 Hz band-pass, threshold crossings at -4.5 x a running RMS, counts per
    1 ms bin. With ``--lsl-in``,
    ``--in`` names an LSL stream that the worker pulls itself: one process, no bridge (the
    wearable scenario).

Each role prints ``ready`` once set up and connected; it stops on SIGINT or SIGTERM and prints
``{"received": n_in, "emitted": n_out}`` (samples) so the runner can account for every sample.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import numpy as np
import numpy.typing as npt
import pylsl
import zmq

from bci_bridge.bench.rawwire import RAW_HEADER

__all__ = ["main"]

_F64 = npt.NDArray[np.float64]
_F32 = npt.NDArray[np.float32]
BAND = (8.0, 30.0)
ORDER = 4  # per edge: an 8th-order band-pass


def _kernel() -> Callable[[_F64, _F64, _F64], None]:
    """Return the compiled loop behind ``sosfilt`` (what a hand-tuned chain calls)."""
    try:
        from scipy.signal._sosfilt import _sosfilt

        return _sosfilt  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - a scipy that moved its private kernel
        from scipy.signal import sosfilt

        def public(sos: _F64, x: _F64, zi: _F64) -> None:
            y, zf = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 1, 0))
            x[...] = y
            zi[...] = np.moveaxis(zf, 0, 1)

        return public


class _Filter:
    """Band-pass with state over (n_channels, n) float64 blocks, primed on the first sample."""

    def __init__(self, n_channels: int, rate: float) -> None:
        from scipy.signal import butter, sosfilt_zi  # here: the bridge role needs no scipy

        self.kernel = _kernel()
        self.sos = np.ascontiguousarray(
            butter(ORDER, BAND, btype="bandpass", fs=rate, output="sos")
        )
        self.zi_unit = np.ascontiguousarray(sosfilt_zi(self.sos))
        self.state = np.zeros((n_channels, self.sos.shape[0], 2))
        self.n_channels = n_channels
        self.flat = np.empty(n_channels * 4096)
        self.primed = False

    def __call__(self, data: npt.NDArray[Any]) -> _F64:
        """Filter ``data`` (n, n_channels); return a (n_channels, n) float64 view (reused)."""
        n = data.shape[0]
        size = self.n_channels * n
        if size > self.flat.size:
            self.flat = np.empty(size)
        x = self.flat[:size].reshape(self.n_channels, n)
        x[...] = data.T
        if not self.primed:
            np.multiply(self.zi_unit, x[:, 0, None, None], out=self.state)
            self.primed = True
        self.kernel(self.sos, x, self.state)
        return x


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return stop


def _inlet(name: str) -> pylsl.StreamInlet:
    found = pylsl.resolve_byprop("name", name, 1, 60.0)
    if not found:
        raise SystemExit(f"floor: no LSL stream {name!r} within 60 s")
    return pylsl.StreamInlet(found[0], max_buflen=360, max_chunklen=0, recover=False)


def relay(args: argparse.Namespace, stop: threading.Event) -> tuple[int, int]:
    """LSL in, band-pass, LSL out; return (samples received, samples pushed)."""
    inlet = _inlet(args.in_)
    inlet.open_stream(timeout=10.0)
    out_info = pylsl.StreamInfo(
        args.out, "EEG", args.channels, args.rate, pylsl.cf_float32, f"floor-{args.out}"
    )
    outlet = pylsl.StreamOutlet(out_info, chunk_size=0, max_buffered=360)
    filt = _Filter(args.channels, args.rate)
    buf = np.empty((4096, args.channels), np.float32)
    received = 0
    print("ready", flush=True)
    pull, push = inlet.pull_chunk, outlet.push_chunk
    while not stop.is_set():
        _, ts = pull(timeout=0.05, max_samples=4096, dest_obj=buf, min_samples=1, as_numpy=True)
        n = len(ts)
        if not n:
            continue
        y = filt(buf[:n]).T.astype(np.float32)
        push(y, float(ts[0]) if n == 1 else ts.tolist())
        received += n
    inlet.close_stream()
    return received, received


def _xpub(ctx: zmq.Context[Any], endpoint: str, stop: threading.Event) -> zmq.Socket[Any] | None:
    """Bind an XPUB at ``endpoint`` and wait for its first subscriber."""
    pub: zmq.Socket[Any] = ctx.socket(zmq.XPUB)
    pub.setsockopt(zmq.SNDHWM, 1_000_000)
    pub.setsockopt(zmq.LINGER, 1000)
    pub.bind(endpoint)
    while not stop.is_set():
        if pub.poll(100) and pub.recv()[:1] == b"\x01":
            return pub
    pub.close()
    return None


def bridge(args: argparse.Namespace, stop: threading.Event) -> tuple[int, int]:
    """LSL in, ZeroMQ out; return (samples received, samples sent)."""
    ctx: zmq.Context[Any] = zmq.Context.instance()
    pub = _xpub(ctx, args.endpoint, stop)
    if pub is None:
        return 0, 0
    inlet = _inlet(args.in_)
    inlet.open_stream(timeout=10.0)
    n_sent = 0
    print("ready", flush=True)
    send, pull, clock, pack = (
        pub.send_multipart,
        inlet.pull_chunk,
        pylsl.local_clock,
        RAW_HEADER.pack,
    )
    while not stop.is_set():
        data, ts = pull(timeout=0.05, max_samples=4096, min_samples=1, as_numpy=True)
        n = len(ts)
        if n:
            send([pack(n, data.shape[1], clock()), data, ts], copy=False)
            n_sent += n
    inlet.close_stream()
    pub.close()
    return n_sent, n_sent


def _decode_step(args: argparse.Namespace) -> Callable[[npt.NDArray[Any]], _F32 | None]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    run = session.run
    c, t = args.channels, round(args.rate)
    filt = _Filter(c, args.rate)
    # A sliding window with no copy per step: the (c, t) window is the run buf[p : p + c*t]
    # read as rows of t. Sliding by one sample is p += 1 after writing the new sample of
    # channel ch at p + (ch + 1) * t (the cell that held channel ch + 1's oldest sample): one
    # strided write of c values. The window moves back to the start once per c*t samples.
    size = c * t
    buf = np.zeros(2 * size + t, np.float32)
    p = filled = 0
    for _ in range(3):
        run(None, {feed: buf[:size].reshape(1, c, t)})

    def step(data: npt.NDArray[Any]) -> _F32 | None:
        nonlocal p, filled
        y = filt(data).astype(np.float32)
        n = y.shape[1]
        out = np.empty((n, 2), np.float32)
        k = 0
        for i in range(n):  # the model runs at every sample: one call each
            if p + 1 + size > buf.size:
                buf[:size] = buf[p : p + size]
                p = 0
            buf[p + t : p + t + size : t] = y[:, i]
            p += 1
            filled += 1
            if filled >= t:  # like the onnx module: once the window is full, every sample
                out[k] = run(None, {feed: buf[p : p + size].reshape(1, c, t)})[0][0]
                k += 1
        return out[:k] if k else None

    return step


def _wide_step(args: argparse.Namespace) -> Callable[[npt.NDArray[Any]], _F32]:
    def step(data: npt.NDArray[Any]) -> _F32:
        out: _F32 = data - data.mean(axis=1, keepdims=True, dtype=np.float32)
        return out

    return step


def _wearable_step(args: argparse.Namespace) -> Callable[[npt.NDArray[Any]], _F32 | None]:
    c, t = args.channels, round(args.rate)
    hop = max(1, round(0.1 * args.rate))
    filt = _Filter(c, args.rate)
    ring = np.zeros((c, 2 * t))
    freqs = np.fft.rfftfreq(t, 1.0 / args.rate)
    bands = [(freqs >= lo) & (freqs <= hi) for lo, hi in ((8.0, 13.0), (13.0, 30.0))]
    window = np.hanning(t)
    scale = 2.0 / (args.rate * float(np.sum(window**2)))
    # Like the bandpower module: a row once the window is full, then one every hop.
    state = {"pos": 0, "until": t}
    steps = np.arange(4096)

    def step(data: npt.NDArray[Any]) -> _F32 | None:
        y = filt(data)
        n = y.shape[1]
        cols = steps[:n] + state["pos"]
        cols %= t
        ring[:, cols] = y  # each sample twice, so the window is one slice
        ring[:, cols + t] = y
        state["pos"] = (state["pos"] + n) % t
        until = state["until"]
        if n < until:
            state["until"] = until - n
            return None
        state["until"] = hop - (n - until) % hop
        pos = state["pos"]
        psd = np.abs(np.fft.rfft(ring[:, pos : pos + t] * window, axis=1)) ** 2 * scale
        power = np.stack([psd[:, m].mean(axis=1) for m in bands], axis=1)
        out: _F32 = np.log10(np.maximum(power, 1e-30)).reshape(1, -1).astype(np.float32)
        return out

    return step


def _spikes_step(args: argparse.Namespace) -> Callable[[npt.NDArray[Any]], _F32 | None]:
    """Return the spikes work: common average, band-pass, -4.5 x RMS crossings, 1 ms counts.

    The same work as ``reref`` then ``spikes`` (see :mod:`decoders.spikes`), written by hand:
    one float64 scratch block, the compiled SOS loop, whole bins vectorised, a carry of the
    samples of an unfinished bin; the RMS is updated once per bin from the bin's mean square.
    """
    from scipy.signal import butter, sosfilt_zi

    c, rate = args.channels, args.rate
    b = max(1, round(0.001 * rate))
    alpha = min(1.0, b / rate)  # 1 s time constant
    kernel = _kernel()
    sos = np.ascontiguousarray(butter(2, (250.0, 5000.0), btype="bandpass", fs=rate, output="sos"))
    zi_unit = np.ascontiguousarray(sosfilt_zi(sos))
    state = np.zeros((c, sos.shape[0], 2))
    x = np.empty((c, 4096 + b))
    scratch = np.empty(c * 4096)
    ms = np.full(c, np.nan)
    prev = np.zeros(c, bool)
    carry = {"n": 0, "primed": 0}

    def step(data: npt.NDArray[Any]) -> _F32 | None:
        n, held = data.shape[0], carry["n"]
        total = held + n
        y = scratch[: c * n].reshape(c, n)  # C-contiguous, as the compiled loop needs
        np.subtract(data.T, data.mean(axis=1, dtype=np.float64), out=y)
        if not carry["primed"]:
            np.multiply(zi_unit, y[:, 0, None, None], out=state)
            carry["primed"] = 1
        kernel(sos, y, state)
        x[:, held:total] = y
        k = total // b
        out = np.zeros((k, c), np.float32)
        for j in range(k):
            seg = x[:, j * b : (j + 1) * b]
            if not np.isnan(ms[0]):
                below = seg < -4.5 * np.sqrt(ms)[:, None]
                starts = np.flatnonzero(below[:, 1:] > below[:, :-1]) // max(1, b - 1)
                out[j] = (below[:, 0] & ~prev) + np.bincount(starts, minlength=c)
                prev[:] = below[:, -1]
            mean_sq = np.einsum("ij,ij->i", seg, seg) / b
            ms[:] = mean_sq if np.isnan(ms[0]) else ms + alpha * (mean_sq - ms)
        rest = total - k * b
        if rest:
            x[:, :rest] = x[:, k * b : total]
        carry["n"] = rest
        return out if k else None

    return step


def worker(args: argparse.Namespace, stop: threading.Event) -> tuple[int, int]:
    """ZeroMQ in, the work, ZeroMQ out; return (samples received, samples emitted)."""
    steps: dict[str, Callable[[argparse.Namespace], Callable[[Any], Any]]] = {
        "decode": _decode_step,
        "wide": _wide_step,
        "wearable": _wearable_step,
        "spikes": _spikes_step,
    }
    step = steps[args.work](args)
    ctx: zmq.Context[Any] = zmq.Context.instance()
    pub = _xpub(ctx, args.out, stop)
    if pub is None:
        return 0, 0
    source = _lsl_source(args.in_, args.channels) if args.lsl_in else _zmq_source(ctx, args.in_)
    received = emitted = 0
    print("ready", flush=True)
    send, clock, pack = pub.send_multipart, pylsl.local_clock, RAW_HEADER.pack
    for data, ts in source(stop):
        received += ts.shape[0]
        out = step(data)
        if out is None:
            continue
        stamps = ts[-out.shape[0] :].tobytes()
        send([pack(out.shape[0], out.shape[1], clock()), out, stamps], copy=False)
        emitted += out.shape[0]
    pub.close()
    return received, emitted


_Source = Callable[[threading.Event], Iterator[tuple[npt.NDArray[Any], _F64]]]


def _zmq_source(ctx: zmq.Context[Any], endpoint: str) -> _Source:
    """Return a source of ((n, n_channels) float32, (n,) float64) frames from the floor bridge."""
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 1_000_000)
    sub.setsockopt(zmq.RCVTIMEO, 50)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)

    def frames(stop: threading.Event) -> Iterator[tuple[npt.NDArray[Any], _F64]]:
        recv, unpack = sub.recv_multipart, RAW_HEADER.unpack
        try:
            while not stop.is_set():
                try:
                    parts = recv(copy=False)
                except zmq.Again:
                    continue
                n, c, _ = unpack(parts[0].buffer)
                data = np.frombuffer(parts[1].buffer, np.float32).reshape(n, c)
                yield data, np.frombuffer(parts[2].buffer, np.float64)
        finally:
            sub.close()

    return frames


def _lsl_source(name: str, n_channels: int) -> _Source:
    """Return a source of chunks pulled from the LSL stream ``name`` into a reused buffer."""
    inlet = _inlet(name)
    inlet.open_stream(timeout=10.0)
    buf = np.empty((4096, n_channels), np.float32)

    def chunks(stop: threading.Event) -> Iterator[tuple[npt.NDArray[Any], _F64]]:
        pull = inlet.pull_chunk
        try:
            while not stop.is_set():
                _, ts = pull(
                    timeout=0.05, max_samples=4096, dest_obj=buf, min_samples=1, as_numpy=True
                )
                if len(ts):
                    yield buf[: len(ts)], ts
        finally:
            inlet.close_stream()

    return chunks


def main(argv: list[str] | None = None) -> int:
    """Run one floor role until SIGINT/SIGTERM; print the sample counts as JSON."""
    p = argparse.ArgumentParser(prog="python -m bci_bridge.bench.floor")
    sub = p.add_subparsers(dest="role", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--in", dest="in_", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--channels", type=int, required=True)
    r.add_argument("--rate", type=float, required=True)
    b = sub.add_parser("bridge")
    b.add_argument("--in", dest="in_", required=True)
    b.add_argument("--endpoint", required=True)
    w = sub.add_parser("worker")
    w.add_argument("--work", choices=("decode", "wide", "wearable", "spikes"), required=True)
    w.add_argument("--in", dest="in_", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--channels", type=int, required=True)
    w.add_argument("--rate", type=float, required=True)
    w.add_argument("--model", default="")
    w.add_argument("--lsl-in", action="store_true", help="--in is an LSL stream name")
    args = p.parse_args(argv)
    stop = _stop_event()
    roles = {"relay": relay, "bridge": bridge, "worker": worker}
    received, emitted = roles[args.role](args, stop)
    print(json.dumps({"received": received, "emitted": emitted}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
