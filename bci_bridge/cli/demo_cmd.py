"""``bci-bridge demo``: the whole path, end to end, on real LSL, ZeroMQ and onnxruntime.

Three processes, started the way a user would start them: a synthetic electrode array as an
LSL outlet (``bci-bridge stream synthetic``), the bridge (``bci-bridge bridge``) and the runtime
(``bci-bridge run``) on the demo pipeline (band-pass, band power, ONNX classifier). This process
is the client: it subscribes to the decoder's output over ZeroMQ and to the array's cue markers
over LSL, and shows live what is decoded and how old each output is.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from bci_bridge.cli.common import write_json
from bci_bridge.errors import BciBridgeError

__all__ = ["run"]


@dataclass
class _Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    stopped: bool = False

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(f"    {line}" for line in text[-lines:])


@dataclass
class _Client:
    classes: list[str] = field(default_factory=list)
    ages: list[float] = field(default_factory=list)
    decoded: list[int] = field(default_factory=list)
    stamps: list[float] = field(default_factory=list)
    markers: list[tuple[float, str]] = field(default_factory=list)
    seq_gaps: int = 0
    next_index: int = 0
    ended: bool = False

    def cue_at(self, t: float) -> tuple[str, float]:
        label, since = "", -np.inf
        for stamp, name in self.markers:
            if stamp <= t:
                label, since = name, stamp
        return label, since


def run(args: argparse.Namespace) -> int:
    """Run the demo; return 0 when every sample is accounted for and outputs came back."""
    if args.channels < 2:
        raise BciBridgeError(
            "--channels: the demo decodes C3 against C4, so it needs >= 2 channels"
        )
    if args.duration <= 0 or args.rate <= 0 or args.chunk < 1:
        raise BciBridgeError("--duration and --rate must be > 0, --chunk >= 1")
    # The demo is local by nature: the shipped loopback config, unless the user set LSLAPICFG.
    from bci_bridge.lsl import use_local_config

    use_local_config()
    import pylsl
    import zmq

    from bci_bridge.lsl import local_clock
    from bci_bridge.wire import Kind, decode

    stream = args.name
    # The name is the user's, not unique per process: refuse to mix with a stream already there.
    # (The lookup outlasts liblsl's first query round, 0.5 s; see bci_bridge.bridge.)
    if pylsl.resolve_byprop("name", stream, 1, 1.0):
        raise BciBridgeError(
            f"an LSL stream named {stream!r} is already running (another demo?); "
            "give this one another name with --name"
        )
    tmp = Path(tempfile.mkdtemp(prefix="bci-bridge-demo-"))
    in_ep, out_ep = f"ipc://{tmp}/eeg", f"ipc://{tmp}/out"
    pipeline = Path(str(files("decoders") / "demo" / "pipeline.toml"))
    topic = b"out.demo.classifier"

    ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.RCVTIMEO, 100)
    sub.setsockopt(zmq.RCVHWM, 100_000)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.setsockopt(zmq.SUBSCRIBE, b"info." + topic)
    curve = _curve_keys(tmp / "keys") if args.curve else None
    if curve is not None:
        from bci_bridge.curve import dial

        dial(sub, curve.client)
    sub.connect(out_ep)

    py = [sys.executable, "-m", "bci_bridge", "-v"]
    commands = {
        "runtime": [
            *py,
            "run",
            str(pipeline),
            "--set",
            f"inputs[0].endpoint={in_ep}",
            "--set",
            f"inputs[0].stream={stream}",
            "--set",
            f"outputs[0].zmq={out_ep}",
            "--set",
            f"outputs[0].lsl={stream}-decoded",
            "--exit-on-eos",
            "--wait-subscribers",
            "1",
            "--summary",
            str(tmp / "runtime.json"),
        ],
        "bridge": [
            *py,
            "bridge",
            "--name",
            stream,
            "--endpoint",
            in_ep,
            "--wait-subscribers",
            "1",
            "--summary",
            str(tmp / "bridge.json"),
        ],
        "device": [
            *py,
            "stream",
            "synthetic",
            "--channels",
            str(args.channels),
            "--rate",
            f"{args.rate:g}",
            "--chunk",
            str(args.chunk),
            "--name",
            stream,
            "--duration",
            f"{args.duration:g}",
            "--wait-consumer",
            "30",
            "--summary",
            str(tmp / "device.json"),
        ],
    }
    if curve is not None:
        commands["bridge"] += curve.bridge_args
        commands["runtime"] += curve.runtime_args
    children: list[_Child] = []
    client = _Client()
    marker_inlet: Any = None
    markers_done = False
    # Looks for the cue stream in the background while the loop serves the decoder's output.
    marker_resolver = pylsl.ContinuousResolver(prop="name", value=f"{stream}-Markers")

    def say(line: str) -> None:
        if not args.quiet:
            print(line, flush=True)

    say(
        f"bci-bridge demo: synthetic {args.channels} ch at {args.rate:g} Hz -> LSL -> bridge -> "
        "ZeroMQ -> runtime (band-pass, band power, ONNX) -> ZeroMQ -> here, "
        f"for {args.duration:g} s"
    )
    say(f"  logs and summaries in {tmp}" + (f"; CURVE keys in {tmp / 'keys'}" if curve else ""))
    failed: str | None = None
    interrupted = False
    # Ctrl-C reaches the whole process group: a child may exit 130 before the interrupt is
    # raised here, and an interrupt that lands in a finaliser (__del__) is printed and lost.
    # Remember the signal itself, so the demo always ends as interrupted, never as failed.
    sigint = _SigintSeen()
    try:
        for name, cmd in commands.items():
            log = tmp / f"{name}.log"
            with log.open("wb") as fh:
                proc = subprocess.Popen(
                    cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
                )
            children.append(_Child(name, proc, log))
        by_name = {c.name: c for c in children}
        t_start = time.monotonic()
        deadline = t_start + args.duration + 60.0
        first_output = None
        next_line = t_start + 1.0
        while not client.ended:
            try:
                parts = sub.recv_multipart(copy=False)
            except zmq.Again:
                parts = None
            now_lsl = local_clock()
            if parts is not None:
                frame = decode(parts)
                if frame.kind is Kind.INFO:
                    client.classes = list(json.loads(frame.payload)["channel_names"])
                elif frame.kind is Kind.EOS:
                    client.ended = True
                elif frame.kind is Kind.DATA:
                    if frame.sample_index != client.next_index:
                        client.seq_gaps += 1
                    client.next_index = frame.sample_index + frame.data.shape[0]
                    ages = (now_lsl - frame.timestamps) * 1e3
                    client.ages.extend(ages.tolist())
                    client.decoded.extend(np.argmax(frame.data, axis=1).tolist())
                    client.stamps.extend(frame.timestamps.tolist())
                    first_output = first_output or time.monotonic()
            if marker_inlet is None and not markers_done and by_name["device"].proc.poll() is None:
                found = marker_resolver.results()
                if found:
                    marker_inlet = pylsl.StreamInlet(found[0], max_buflen=60)
                    marker_inlet.open_stream(1.0)
            if marker_inlet is not None:
                labels, stamps = marker_inlet.pull_chunk(timeout=0.0)
                client.markers.extend((t, row[0]) for t, row in zip(stamps, labels, strict=True))
                # Let go of the marker stream just before the array stops, so that liblsl
                # does not report the outlet's end as a broken connection.
                if client.markers and now_lsl > client.markers[0][0] + args.duration - 0.25:
                    marker_inlet.close_stream()
                    marker_inlet = None
                    markers_done = True
            now = time.monotonic()
            if now >= next_line:
                next_line = now + 1.0
                say(_live_line(client, now - t_start))
            for child in children:
                code = child.proc.poll()
                if code not in (None, 0):
                    failed = f"{child.name} exited with code {code}:\n{child.tail()}"
            if failed:
                break
            dev = by_name["device"]
            bridge = by_name["bridge"]
            if dev.proc.poll() == 0 and not bridge.stopped:
                bridge.proc.send_signal(signal.SIGINT)  # drain, then send end-of-stream
                bridge.stopped = True
            if now > deadline:
                failed = "timed out waiting for the end of the stream:\n" + "\n".join(
                    f"  {c.name}:\n{c.tail()}" for c in children
                )
                break
        # The runtime ended its outputs; let every process finish and write its summary.
        end = time.monotonic() + 15.0
        for child in children:
            try:
                child.proc.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                failed = (
                    failed
                    or f"{child.name} did not exit after the end of the stream:\n{child.tail()}"
                )
            if child.proc.returncode not in (None, 0):
                failed = (
                    failed
                    or f"{child.name} exited with code {child.proc.returncode}:\n{child.tail()}"
                )
    except KeyboardInterrupt:
        interrupted = True
    finally:
        _stop_all(children)
        sub.close()
        if marker_inlet is not None:
            marker_inlet.close_stream()
        sigint.restore()
    if interrupted or sigint.seen:
        print("bci-bridge demo: interrupted; every process stopped", file=sys.stderr)
        return 130
    if failed:
        print(f"bci-bridge demo: {failed}", file=sys.stderr)
        return 1
    summary = _summary(args, tmp, client)
    _print_summary(summary)
    if args.json:
        write_json(args.json, summary)
        print(f"summary written to {args.json}")
    problems = _check(summary)
    for problem in problems:
        print(f"bci-bridge demo: {problem}", file=sys.stderr)
    return 1 if problems else 0


@dataclass
class _Curve:
    """Throwaway keys that key the demo's two ZeroMQ hops (see ``demo --curve``)."""

    bridge_args: list[str]
    runtime_args: list[str]
    client: Any  # bci_bridge.curve.ClientKeys of this process, as the runtime's subscriber


def _curve_keys(folder: Path) -> _Curve:
    """Write key pairs for the bridge, the runtime and this client; say who admits whom."""
    from bci_bridge.cli.keys_cmd import write_key_pair
    from bci_bridge.curve import ClientKeys

    for name in ("bridge", "runtime", "demo"):
        write_key_pair(name, folder)
    for server, client in (("bridge", "runtime"), ("runtime", "demo")):
        allowed = folder / f"{server}-clients"
        allowed.mkdir()
        (allowed / f"{client}.key").write_bytes((folder / f"{client}.key").read_bytes())
    security = {
        "server_key": folder / "runtime.key_secret",
        "client_keys": folder / "runtime-clients",
        "client_key": folder / "runtime.key_secret",
        "server_public_key": folder / "bridge.key",
    }
    return _Curve(
        bridge_args=[
            "--server-key",
            str(folder / "bridge.key_secret"),
            "--client-keys",
            str(folder / "bridge-clients"),
        ],
        runtime_args=[a for k, v in security.items() for a in ("--set", f'security.{k}="{v}"')],
        client=ClientKeys(
            server_public_key=folder / "runtime.key", client_key=folder / "demo.key_secret"
        ),
    )


def _live_line(client: _Client, elapsed: float) -> str:
    if not client.decoded:
        return (
            f"  {elapsed:5.1f} s | waiting for the first output "
            "(processes starting, then a 1 s window fills)"
        )
    names = client.classes or [str(i) for i in range(max(client.decoded) + 1)]
    recent = np.array(client.ages[-50:])
    decoded = names[client.decoded[-1]]
    cue, _ = client.cue_at(client.stamps[-1])
    return (
        f"  {elapsed:5.1f} s | decoded {decoded:<6} | cue {cue or '?':<6} "
        f"| outputs {len(client.decoded):5d} | "
        f"age p50 {np.percentile(recent, 50):6.2f} ms  max {recent.max():6.2f} ms"
    )


def _summary(args: argparse.Namespace, tmp: Path, client: _Client) -> dict[str, Any]:
    device = json.loads((tmp / "device.json").read_text())
    runtime = json.loads((tmp / "runtime.json").read_text())
    bridge = json.loads((tmp / "bridge.json").read_text())
    ages = np.asarray(client.ages)
    latency = (
        {
            "p50": _r(np.percentile(ages, 50)),
            "p99": _r(np.percentile(ages, 99)),
            "max": _r(ages.max()),
        }
        if ages.size
        else {"p50": None, "p99": None, "max": None}
    )
    # Agreement with the cue, leaving out outputs whose 1 s window still holds the previous trial.
    hits = total = 0
    names = client.classes
    for stamp, k in zip(client.stamps, client.decoded, strict=False):
        cue, since = client.cue_at(stamp)
        if cue and stamp - since >= 1.0 and names:
            total += 1
            hits += names[k] == cue
    return {
        "duration_s": args.duration,
        "channels": args.channels,
        "rate_hz": args.rate,
        "chunk_size": args.chunk,
        "samples_sent": device["samples_sent"],
        "samples_bridged": bridge["samples"],
        "samples_received": runtime["samples_received"],
        "samples_lost": runtime["samples_lost"],
        "frames_malformed": runtime["frames_malformed"],
        "outputs": len(client.decoded),
        "outputs_sent": sum(o["sent"] for o in runtime["outputs"]),
        "output_gaps": client.seq_gaps,
        "latency_ms": latency,
        "runtime_age_ms": runtime["outputs"][0]["age_ms"] if runtime["outputs"] else {},
        "nodes": {
            name: {
                "call_ms": n["call_ms"],
                "overruns": n["overruns"],
                "errors": n["errors"],
                "budget_ms": n["budget_ms"],
            }
            for name, n in runtime["nodes"].items()
        },
        "classes": names,
        "markers": len(client.markers),
        "cue_agreement": round(hits / total, 3) if total else None,
    }


def _r(x: float) -> float:
    return round(float(x), 3)


def _print_summary(s: dict[str, Any]) -> None:
    lat = s["latency_ms"]
    print("\nsummary")
    print(
        f"  samples  sent {s['samples_sent']}  received {s['samples_received']}  "
        f"lost {s['samples_lost']}"
    )
    print(f"  outputs  {s['outputs']} decoder outputs received ({s['outputs_sent']} sent)")
    if lat["p50"] is not None:
        print(
            f"  age of each output at the client: p50 {lat['p50']:.2f} ms  "
            f"p99 {lat['p99']:.2f} ms  max {lat['max']:.2f} ms"
        )
    for name, n in s["nodes"].items():
        c = n["call_ms"]
        if c.get("count"):
            print(
                f"  node {name:<10} p50 {c['p50'] * 1e3:7.1f} us  p99 {c['p99'] * 1e3:7.1f} us  "
                f"(budget {n['budget_ms'] * 1e3:.0f} us, {n['overruns']} overruns, "
                f"{n['errors']} errors)"
            )
    if s["cue_agreement"] is not None:
        print(
            f"  decoded class agrees with the cue in {s['cue_agreement']:.0%} of outputs "
            "(from 1 s after each cue)"
        )


def _check(s: dict[str, Any]) -> list[str]:
    problems = []
    if s["samples_lost"] != s["samples_sent"] - s["samples_received"]:
        problems.append(
            f"sample accounting does not add up: sent {s['samples_sent']} - received "
            f"{s['samples_received']} != lost {s['samples_lost']}"
        )
    if s["outputs"] == 0:
        problems.append("no decoder output came back")
    return problems


class _SigintSeen:
    """Record SIGINT while still raising KeyboardInterrupt as Python's default handler does."""

    def __init__(self) -> None:
        self.seen = False
        self._previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum: int, frame: object) -> None:
        self.seen = True
        raise KeyboardInterrupt

    def restore(self) -> None:
        """Put back the handler that was installed before."""
        signal.signal(signal.SIGINT, self._previous)


def _stop_all(children: list[_Child]) -> None:
    """Stop every child: SIGINT, then SIGTERM, then SIGKILL; leave none behind."""
    for child in children:
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGINT)
    for sig_wait, then in ((5.0, signal.SIGTERM), (2.0, signal.SIGKILL)):
        end = time.monotonic() + sig_wait
        for child in children:
            try:
                child.proc.wait(timeout=max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.proc.send_signal(then)
    for child in children:
        child.proc.wait()
