"""Check a relay peer by hand: producer -> relay -> client over LSL, ages and CPU.

Run with the project's venv (the relay runs in its own venv)::

    .venv/bin/python benchmarks/peers/measure_relay.py ezmsg --rate 250 --duration 10
    .venv/bin/python benchmarks/peers/measure_relay.py timeflux --rate 1000 --json out.json

A producer thread pushes one stamped sample per period (64 channels of float32 by default,
absolute schedule); ``--stamps now`` stamps each sample with ``local_clock()`` just before the
push (as ``bci-bridge bench`` does), ``--stamps grid`` with ``t0 + k / rate`` exactly. The
peer's relay is started from :data:`bci_bridge.bench_extras.peers.PEERS` (peer ``floor`` runs the
hand-written floor relay of ``bci-bridge bench`` instead, to see what this machine gives right
now); a client thread pulls its output. After ``--warmup`` seconds, for ``--duration``
seconds, it records per output sample:

- the age at the client: ``local_clock()`` after the pull minus the output's LSL timestamp,
- the timestamp error: output timestamp minus the input timestamp of the same sample (the
  relays are one sample out per sample in, so outputs are matched to inputs in order),
- the age from the input timestamp (differs from the first only if the relay restamps),

and prints p50/p99/max of each, samples lost, and the relay's CPU in cores (its process and
all its descendants, with psutil).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("LSLAPICFG", str(REPO / "bci_bridge" / "lsl_api.cfg"))

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402
import psutil  # noqa: E402
import pylsl  # noqa: E402

from bci_bridge.bench_extras.peers import PEERS, available_peers  # noqa: E402


class Producer(threading.Thread):
    """Push one sample per period to an LSL outlet; keep every sample's timestamp."""

    def __init__(self, name: str, channels: int, rate: float, seconds: float, grid: bool) -> None:
        super().__init__(daemon=True)
        info = pylsl.StreamInfo(name, "EEG", channels, rate, pylsl.cf_float32, f"src-{name}")
        self.outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)
        self.rate = rate
        self.n = round(seconds * rate)
        self.grid = grid
        self.stamps = np.full(self.n, np.nan)
        self.sent = 0
        rng = np.random.default_rng(0)
        self.pool = (rng.standard_normal((int(rate), channels)) * 10.0).astype(np.float32)
        self.stop = threading.Event()

    def run(self) -> None:
        """Push ``n`` samples on an absolute schedule (sleep until each one is due)."""
        if not self.outlet.wait_for_consumers(60.0):
            return
        period = 1.0 / self.rate
        t0 = pylsl.local_clock() + 0.05
        for k in range(self.n):
            due = t0 + k * period
            wait = due - pylsl.local_clock()
            if wait > 0:
                time.sleep(wait)
            if self.stop.is_set():
                return
            stamp = due if self.grid else pylsl.local_clock()
            self.outlet.push_chunk(self.pool[k % self.pool.shape[0]][None, :], stamp)
            self.stamps[k] = stamp
            self.sent = k + 1


class Client(threading.Thread):
    """Pull every output sample of an LSL stream; keep its timestamp and arrival time."""

    def __init__(self, name: str, capacity: int) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.out_stamps = np.empty(capacity)
        self.arrivals = np.empty(capacity)
        self.n = 0
        self.dtype = ""
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        """Pull until stopped; keep any exception for the main thread."""
        try:
            self._run()
        except BaseException as exc:  # re-raised by the main thread
            self.error = exc
            self.ready.set()

    def _run(self) -> None:
        found = pylsl.resolve_byprop("name", self.name, 1, 60.0)
        if not found:
            raise RuntimeError(f"the relay made no LSL outlet {self.name!r} within 60 s")
        inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=False)
        info = inlet.info(timeout=10.0)
        inlet.open_stream(timeout=10.0)
        fmt = {pylsl.cf_float32: np.float32, pylsl.cf_double64: np.float64}[info.channel_format()]
        self.dtype = np.dtype(fmt).name
        buf = np.empty((1024, info.channel_count()), fmt)
        self.ready.set()
        while not self.stop.is_set():
            _, ts = inlet.pull_chunk(
                timeout=0.2, max_samples=1024, dest_obj=buf, min_samples=1, as_numpy=True
            )
            now = pylsl.local_clock()
            m = len(ts)
            if m and self.n + m <= self.out_stamps.shape[0]:
                self.out_stamps[self.n : self.n + m] = ts
                self.arrivals[self.n : self.n + m] = now
                self.n += m


def tree_cpu(proc: psutil.Process) -> float:
    """Return user + system CPU seconds of ``proc`` and all its live descendants."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def percentiles(x: npt.NDArray[np.float64]) -> dict[str, float]:
    """Return p50, p99 and max of ``x`` (ms), rounded to the microsecond."""
    if x.size == 0:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {
        "p50": round(float(np.percentile(x, 50)), 3),
        "p99": round(float(np.percentile(x, 99)), 3),
        "max": round(float(x.max()), 3),
    }


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Run producer, relay and client once; return the measurements."""
    if args.peer == "floor":  # the hand-written floor takes the same command line: a yardstick
        prefix: list[str] | None = [sys.executable, "-m", "bci_bridge.bench.floor", "relay"]
    else:
        available_peers("relay")  # imports the peer modules
        prefix = PEERS[args.peer]("relay")
    if prefix is None:
        raise SystemExit(f"peer {args.peer} is not installed: run benchmarks/peers/setup.sh")
    tag = uuid.uuid4().hex[:8]
    src, out = f"peer-src-{tag}", f"peer-out-{tag}"
    seconds = args.warmup + args.duration
    producer = Producer(src, args.channels, args.rate, seconds, args.stamps == "grid")
    client = Client(out, int(seconds * args.rate) + 1024)
    argv = [*prefix, "--in", src, "--out", out, "--channels", str(args.channels)]
    argv += ["--rate", repr(args.rate)]
    log = open(args.log, "w") if args.log else subprocess.DEVNULL  # noqa: SIM115
    relay = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    proc = psutil.Process(relay.pid)
    try:
        producer.start()
        client.start()
        if not client.ready.wait(90.0) or client.error is not None:
            raise RuntimeError(f"client not ready: {client.error!r}")
        deadline = time.monotonic() + 60.0
        while producer.sent < args.warmup * args.rate:
            if relay.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"relay exited ({relay.returncode}) or stalled in warm-up")
            time.sleep(0.01)
        first = producer.sent
        n_client0 = client.n
        cpu0, wall0 = tree_cpu(proc), time.monotonic()
        producer.join()
        cpu1, wall1 = tree_cpu(proc), time.monotonic()
        last = producer.sent
        time.sleep(0.5)  # let the last outputs arrive
        client.stop.set()
        client.join(5.0)
    finally:
        producer.stop.set()
        try:
            kids = proc.children(recursive=True)
        except psutil.NoSuchProcess:
            kids = []
        relay.terminate()
        try:
            relay.wait(15.0)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait()
        if not isinstance(log, int):
            log.close()
    _, alive = psutil.wait_procs(kids, timeout=5.0)
    for orphan in alive:  # a descendant that outlived the relay: ours to end
        orphan.kill()

    stamps = producer.stamps[:last]
    got_ts = client.out_stamps[: client.n]
    got_at = client.arrivals[: client.n]
    # Outputs in order are the inputs in order: the client's first output is the input whose
    # timestamp is nearest, and from there they advance one to one.
    k0 = int(np.argmin(np.abs(stamps - got_ts[0])))
    n = min(got_ts.shape[0], stamps.shape[0] - k0)
    in_ts = stamps[k0 : k0 + n]
    got_ts, got_at = got_ts[:n], got_at[:n]
    window = slice(max(0, first - k0), max(0, last - k0))
    ts_err_us = (got_ts - in_ts)[window] * 1e6
    return {
        "peer": args.peer,
        "channels": args.channels,
        "rate": args.rate,
        "stamps": args.stamps,
        "seconds": args.duration,
        "sent": last - first,
        "received": int(client.n - n_client0) if client.n >= n_client0 else 0,
        "lost": int((last - first) - (got_ts[window].shape[0])),
        "out_dtype": client.dtype,
        "age_ms": percentiles((got_at - got_ts)[window] * 1e3),
        "age_from_input_ms": percentiles((got_at - in_ts)[window] * 1e3),
        "timestamp_error_us": {
            "max_abs": round(float(np.abs(ts_err_us).max()), 3) if ts_err_us.size else None,
            "p99_abs": round(float(np.percentile(np.abs(ts_err_us), 99)), 3)
            if ts_err_us.size
            else None,
        },
        "cpu_cores": round((cpu1 - cpu0) / (wall1 - wall0), 3),
        "relay_processes": 1 + len(kids),
        "orphans_after_sigterm": len(alive),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, measure, print (and optionally save) the result."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", help="a key of bci_bridge.bench_extras.peers.PEERS, or floor")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--rate", type=float, default=250.0)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    p.add_argument("--stamps", choices=("now", "grid"), default="now")
    p.add_argument("--json", type=Path, help="also write the result here")
    p.add_argument("--log", type=Path, help="write the relay's output here")
    args = p.parse_args(argv)
    result = measure(args)
    print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
