"""Run scenarios block by block, alternating bci-bridge, the floor (and peers), in processes.

One block: start the producer, the chain and the client; wait until the client can receive
(so the chain is prepared); tell the producer to go; stream for the block's duration while
printing progress; stop the chain the way it stops cleanly (bci-bridge: the bridge drains and
sends end-of-stream, the runtime exits on it); tell the client how many samples the chain
emitted; account for every sample.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.bench.children import BenchError, Child, CpuMeter
from bci_bridge.bench.pipelines import output_node, pipeline_toml
from bci_bridge.bench.report import STEP_KEYS, Block, summarise
from bci_bridge.bench.scenarios import Scenario
from bci_bridge.errors import ConfigError

__all__ = ["PEER_WORKS", "BenchOptions", "run_scenario"]

#: The works that ``--peers`` runs through the peers too (``bench_extras.peers.WORKS``; a test
#: keeps them equal, so that this module does not import the peers).
PEER_WORKS = ("relay", "decode", "wearable")

#: Outputs of the first WARMUP_S seconds of a block are not counted in its latencies.
WARMUP_S = 0.2
#: Pause between "everything is ready" and "go", so start-up work does not count as CPU.
SETTLE_S = 0.1
#: One-process chains: wait this long after the last push before the source goes away.
DRAIN_S = 0.25
_PY = [sys.executable, "-m"]


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchOptions:
    """How to run.

    Parameters
    ----------
    quick : bool
        Short blocks, one per chain.
    block_s : float or None
        Seconds per block (default: the scenario's).
    blocks : int or None
        Blocks per chain (default: the scenario's).
    peers : bool
        Also run the peers that are installed (relay, decode and wearable scenarios).
    cache_dir : Path or None
        Where the ONNX model is cached (default: see
        :func:`bci_bridge.bench_extras.eegnet.eegnet_path`).
    cpus : int or None
        Pin the chain's processes to this many cores (``os.sched_setaffinity``; their children
        inherit it); the producer and the client stay free.
    ages_dir : Path or None
        Also write each block's output ages, warm-up included, to
        ``ages_dir / "{scenario}-{chain}-{NN}.npz"`` (see :func:`save_block_ages`).
    """

    quick: bool = False
    block_s: float | None = None
    blocks: int | None = None
    peers: bool = False
    cache_dir: Path | None = None
    cpus: int | None = None
    ages_dir: Path | None = None


@dataclass(slots=True)
class _Names:
    stream: str
    dir: Path
    in_ep: str
    out: str  # LSL name (relay) or ZeroMQ endpoint


def _chain_bci(s: Scenario, n: _Names, opts: BenchOptions) -> list[tuple[str, list[str]]]:
    toml = n.dir / "pipeline.toml"
    in_ep = None if s.one_process else n.in_ep
    toml.write_text(
        pipeline_toml(s, stream=n.stream, in_endpoint=in_ep, out=n.out, cache_dir=opts.cache_dir)
    )
    run = [*_PY, "bci_bridge", "run", str(toml), "--exit-on-eos", "--info-timeout", "60"]
    run += ["--summary", str(n.dir / "runtime.json")]
    if s.output == "zmq":
        run += ["--wait-subscribers", "1"]
    if s.one_process:  # the runtime owns the LSL inlet: no bridge
        return [("runtime", run)]
    bridge = [*_PY, "bci_bridge", "bridge", "--name", n.stream, "--endpoint", n.in_ep]
    bridge += [
        "--wait-subscribers",
        "1",
        "--timeout",
        "60",
        "--summary",
        str(n.dir / "bridge.json"),
    ]
    return [("bridge", bridge), ("runtime", run)]


def _chain_floor(s: Scenario, n: _Names, opts: BenchOptions) -> list[tuple[str, list[str]]]:
    shape = ["--channels", str(s.channels), "--rate", f"{s.rate:g}"]
    floor = [*_PY, "bci_bridge.bench.floor"]
    if s.work == "relay":
        return [("floor-relay", [*floor, "relay", "--in", n.stream, "--out", n.out, *shape])]
    if s.one_process:
        argv = [*floor, "worker", "--work", s.work, "--lsl-in", "--in", n.stream, "--out", n.out]
        return [("floor-worker", [*argv, *shape])]
    worker = [*floor, "worker", "--work", s.work, "--in", n.in_ep, "--out", n.out, *shape]
    if s.work == "decode":
        worker += ["--model", str(_model(s, opts))]
    return [
        ("floor-bridge", [*floor, "bridge", "--in", n.stream, "--endpoint", n.in_ep]),
        ("floor-worker", worker),
    ]


def _model(s: Scenario, opts: BenchOptions) -> Path:
    """Return the decode scenario's ONNX model file (built on first use, then cached)."""
    from bci_bridge.bench_extras.eegnet import eegnet_path  # onnx's builder: only for decode

    return eegnet_path(s.channels, round(s.rate), s.rate, opts.cache_dir)


def _chain_peer(prefix: list[str]) -> Callable[[Scenario, _Names, BenchOptions], Any]:
    def chain(s: Scenario, n: _Names, opts: BenchOptions) -> list[tuple[str, list[str]]]:
        argv = [*prefix, "--in", n.stream, "--out", n.out]
        argv += ["--channels", str(s.channels), "--rate", f"{s.rate:g}"]
        if s.work == "decode":
            argv += ["--model", str(_model(s, opts))]
        return [("peer", argv)]

    return chain


def _is_peer(chain: str) -> bool:
    """Whether ``chain`` is a peer (peers always write an LSL outlet, see bench_extras.peers)."""
    return chain not in ("bci-bridge", "floor")


def _floor_expected(s: Scenario, sent: int) -> int:
    """Return how many samples the floor emits for ``sent`` inputs."""
    if s.work == "wearable":  # a row once the 1 s window is full, then one per 0.1 s hop
        t = round(s.rate)
        return 0 if sent < t else 1 + (sent - t) // max(1, round(0.1 * s.rate))
    if s.work == "decode":  # one output per sample once the 1 s window is full
        return max(0, sent - round(s.rate) + 1)
    if s.work == "spikes":  # one row per 1 ms bin
        return sent // max(1, round(0.001 * s.rate))
    return sent


def _prime_samples(s: Scenario) -> int:
    """Return how many samples prime a peer: one chunk, or a full 1 s window."""
    return round(s.rate) if s.work in ("decode", "wearable") else s.chunk_size


def _peer_expected(s: Scenario, sent: int) -> int:
    """Return how many samples a peer emits for ``sent`` inputs after its prime.

    The prime filled the 1 s window and gave its first output: then decode emits at every
    sample and the wearable work at every 0.1 s hop.
    """
    if s.work == "wearable":
        return sent // max(1, round(0.1 * s.rate))
    return sent


class _Progress:
    def __init__(self, say: Callable[[str], None], label: str) -> None:
        self.say = say
        self.label = label
        self.outputs = 0
        self.p50: float | None = None

    def line(self, elapsed: float) -> None:
        p50 = "-" if self.p50 is None else f"{self.p50:.3f}"
        self.say(f"  {self.label}  {elapsed:5.1f} s  outputs {self.outputs:7d}  p50 {p50} ms")


def save_block_ages(
    path: Path,
    ages_ms: npt.NDArray[np.float64],
    hops_ms: npt.NDArray[np.float64],
    warmup_outputs: int,
    warmup_hops: int,
) -> None:
    """Write one block's raw ages to ``path`` (``.npz``), for looking at latency over a block.

    Parameters
    ----------
    path : Path
        The file to write.
    ages_ms : ndarray of float, shape (n_outputs,)
        Age of every output the client received, in arrival order, warm-up included (ms).
    hops_ms : ndarray of float, shape (n_hops,)
        The output hop of every ZeroMQ frame (ms; empty for LSL outputs).
    warmup_outputs, warmup_hops : int
        How many leading entries of each the block's statistics left out (``WARMUP_S``).
    """
    np.savez(
        path,
        age_ms=ages_ms,
        hop_ms=hops_ms,
        warmup_outputs=np.int64(warmup_outputs),
        warmup_hops=np.int64(warmup_hops),
    )


def _block(
    s: Scenario,
    chain: str,
    make: Callable[[Scenario, _Names, BenchOptions], list[tuple[str, list[str]]]],
    number: int,
    label: str,
    block_s: float,
    work: Path,
    opts: BenchOptions,
    say: Callable[[str], None],
) -> Block:
    """Run one block of one chain; return what it measured."""
    d = Path(tempfile.mkdtemp(prefix="b", dir=work))
    stream = f"bench-{d.name}-{s.name}"
    lsl_out = s.output == "lsl" or _is_peer(chain)
    out = f"{stream}-out" if lsl_out else f"ipc://{d}/out"
    names = _Names(stream=stream, dir=d, in_ep=f"ipc://{d}/in", out=out)
    specs = make(s, names, opts)
    children: list[Child] = []
    try:
        producer = Child(
            "producer",
            [
                *_PY,
                "bci_bridge.bench.producer",
                "--name",
                stream,
                "--channels",
                str(s.channels),
                "--rate",
                f"{s.rate:g}",
                "--chunk",
                str(s.chunk_size),
                "--duration",
                f"{block_s:g}",
            ],
            d / "producer.log",
        )
        children.append(producer)
        spawned = time.monotonic()
        chain_procs = [Child(name, argv, d / f"{name}.log") for name, argv in specs]
        children += chain_procs
        if opts.cpus is not None:
            for c in chain_procs:
                os.sched_setaffinity(c.pid, set(range(opts.cpus)))
        if lsl_out:
            src = ["--lsl", out]
        else:
            src = ["--zmq", out, "--format", "wire" if chain == "bci-bridge" else "raw"]
        client = Child(
            "client",
            [*_PY, "bci_bridge.bench.client", *src, "--out", str(d / "ages.npz")],
            d / "client.log",
        )
        children.append(client)
        watch = (producer, *chain_procs)
        producer.expect("ready", 60.0, watch=(client, *chain_procs))
        if _is_peer(chain):
            # Peers open their output outlet on their first output: the client can find it
            # only after one (uncounted) chunk went through, or for windowed work a full 1 s
            # window (uncounted; the block's outputs then start with its first sample).
            producer.send(f"prime {_prime_samples(s)}")
        client.expect("ready", 90.0, watch=watch)
        for c in chain_procs:
            if c.name.startswith("floor"):
                c.expect("ready", 60.0, watch=(producer, client, *chain_procs))
        # Start-up: from spawning the chain to its output being up (prepared, model loaded).
        startup_s = time.monotonic() - spawned
        time.sleep(SETTLE_S)
        meter = CpuMeter(chain_procs, main=chain_procs[-1])
        meter.start()
        producer.send("go")
        sent_info = _stream(producer, client, chain_procs, meter, _Progress(say, label), block_s)
        cpu, wall = meter.cores()
        sent = int(sent_info["sent"])
        stages: dict[str, Any] = {}
        steps: dict[str, Any] = {}
        if chain == "bci-bridge":
            lost_in, emitted = _stop_bci(s, chain_procs, producer, d, stages)
            lost_in += sent - stages.pop("_received")
            steps = stages.pop("_steps")
        else:
            emitted = _peer_expected(s, sent) if _is_peer(chain) else _floor_expected(s, sent)
            lost_in = 0
        client.send(f"end {emitted}")
        result = client.expect_json("outputs", 60.0)
        if chain != "bci-bridge":
            counts = _stop_floor(chain_procs)
            if counts:
                lost_in = sent - counts[0]["received"]
                emitted = counts[-1]["emitted"]
        lost = max(0, lost_in) + max(0, emitted - int(result["samples"]))
        producer.send("exit")
        producer.stop(signal.SIGTERM, 5.0)
        with np.load(d / "ages.npz") as z:
            ages, hops = z["age_ms"], z["hop_ms"]
        # Windowed work (decode, band power) starts emitting once its 1 s window is full
        # (a peer's was filled by the prime).
        fills = s.work in ("decode", "wearable") and not _is_peer(chain)
        emitting_s = max(0.1, wall - (1.0 if fills else 0.0))
        skip = int(WARMUP_S * ages.size / emitting_s)
        skip_hops = int(WARMUP_S * hops.size / emitting_s)
        if opts.ages_dir is not None:
            stem = f"{s.name}-{chain}-{number:02d}"
            save_block_ages(opts.ages_dir / f"{stem}.npz", ages, hops, skip, skip_hops)
        block = Block(
            chain=chain,
            ages_ms=ages[skip:],
            hops_ms=hops[skip_hops:],
            cpu_cores=cpu,
            wall_s=wall,
            rss_mb=meter.main_rss_peak_mb,
            chain_rss_mb=meter.rss_peak_mb,
            startup_s=startup_s,
            samples_sent=sent,
            samples_lost=lost,
            outputs=int(result["outputs"]),
            stages=stages,
            steps=steps,
        )
        e = block.ages_ms
        say(
            f"  {label}  done: {block.outputs} outputs, p50 {np.median(e) if e.size else 0:.3f} "
            f"ms, p99 {np.percentile(e, 99) if e.size else 0:.3f} ms, {cpu:.3f} cores, "
            f"{meter.rss_peak_mb:.0f} MB, lost {lost}"
        )
        shutil.rmtree(d, ignore_errors=True)
        return block
    finally:
        for c in reversed(children):
            c.close()


def _stream(
    producer: Child,
    client: Child,
    chain: list[Child],
    meter: CpuMeter,
    progress: _Progress,
    block_s: float,
) -> dict[str, Any]:
    """Wait for the producer's totals, printing progress; return them."""
    t0 = time.monotonic()
    deadline = t0 + block_s + 60.0
    next_line = t0 + 1.0
    while True:
        try:
            line = producer.lines.get(timeout=0.2)
        except queue.Empty:
            line = ""
        if line.startswith("{"):
            obj: dict[str, Any] = json.loads(line)
            if "error" in obj:
                raise BenchError(f"producer: {obj['error']}")
            if "sent" in obj:
                return obj
        while not client.lines.empty():
            msg = client.lines.get()
            if msg.startswith("{") and "progress" in msg:
                p = json.loads(msg)
                progress.outputs, progress.p50 = p["progress"], p["p50"]
        meter.sample_rss()
        now = time.monotonic()
        if now >= next_line:
            next_line += 1.0
            progress.line(now - t0)
        for c in (producer, client, *chain):
            if not c.alive():
                raise BenchError(c.failed() or f"{c.name} exited early:\n{c.tail()}")
        if now > deadline:
            raise BenchError("the producer did not finish in time")


def _stop_bci(
    s: Scenario, chain: list[Child], producer: Child, d: Path, stages: dict[str, Any]
) -> tuple[int, int]:
    """Let the runtime end the way it ends cleanly; read its summary.

    Bridged: stop the bridge (it drains and sends EOS). One process: once the last samples
    had time to arrive, close the producer's outlet; the runtime's LSL input ends
    (``--exit-on-eos``). Either way the runtime drains, sends EOS on ZeroMQ outputs and exits.
    """
    runtime = chain[-1]
    if s.one_process:
        time.sleep(DRAIN_S)  # liblsl drops what an inlet holds once its source is lost
        producer.send("exit")
    else:
        chain[0].stop(signal.SIGINT, 15.0)
    try:
        runtime.proc.wait(timeout=20.0)
    except subprocess.TimeoutExpired:  # it missed the EOS: stop it, then report
        runtime.stop(signal.SIGINT, 10.0)
    for c in chain:
        msg = c.failed()
        if msg:
            raise BenchError(msg)
    summary = json.loads((d / "runtime.json").read_text())
    node = summary["nodes"][output_node(s)]
    stages["_steps"] = {name: {k: n[k] for k in STEP_KEYS} for name, n in summary["nodes"].items()}
    for name, n in summary["nodes"].items():
        stages[f"node.{name}_ms"] = n["call_ms"]
        if n["errors"]:
            raise BenchError(f"node {name}: {n['errors']} errors, first: {n['first_error']}")
    if summary["outputs"]:
        stages["runtime_output_age_ms"] = summary["outputs"][0]["age_ms"]
    stages["_received"] = int(summary["samples_received"])
    return 0, int(node["outputs"])


def _stop_floor(chain: list[Child]) -> list[dict[str, Any]]:
    """Stop the floor's processes; return their sample counts (first to last stage)."""
    counts = []
    for c in chain:  # all at once: each drains within 50 ms
        if c.alive():
            c.proc.send_signal(signal.SIGINT)
    for c in chain:
        # A peer's exit code is not checked: the client already counted what it relayed
        # (a crash mid-block fails the block), and ezmsg and Timeflux may die of the SIGINT
        # that stops them, or need the SIGTERM after it.
        c.stop(signal.SIGINT, 5.0)
        if c.name.startswith("floor"):
            counts.append(c.expect_json("received", 5.0))
    return counts


Blocks = dict[str, list[Block]]


def run_scenario(
    s: Scenario,
    opts: BenchOptions,
    work: Path,
    say: Callable[[str], None],
    prior: Blocks | None = None,
) -> tuple[dict[str, Any], dict[str, npt.NDArray[np.float64]], Blocks]:
    """Run one scenario: bci-bridge and the floor (and peers) in alternating blocks.

    Parameters
    ----------
    s : Scenario
        What to run.
    opts : BenchOptions
        How to run it.
    work : Path
        A folder for the blocks' files.
    say : callable
        Prints a progress line.
    prior : dict, optional
        Blocks of an earlier run of this scenario, per chain: the new blocks are added to them
        (a retry of an undecided gate narrows the interval instead of starting over).

    Returns
    -------
    summary : dict
        The scenario's JSON entry (see :mod:`bci_bridge.bench.report`).
    ages : dict
        Per chain, the ages of all its outputs in ms, shape (n_outputs,), warm-up removed.
    blocks : dict
        Per chain, every block (``prior``'s first).
    """
    block_s = opts.block_s or (s.quick_block_s if opts.quick else s.block_s)
    n_blocks = opts.blocks or (s.quick_blocks if opts.quick else s.blocks)
    chains: list[tuple[str, Callable[[Scenario, _Names, BenchOptions], Any]]] = [
        ("bci-bridge", _chain_bci),
        ("floor", _chain_floor),
    ]
    peer_blocks: dict[str, Sequence[Block]] | None = None
    if opts.peers and s.work in PEER_WORKS:
        from bci_bridge.bench_extras.peers import available_peers  # only for --peers

        peer_blocks = {}
        for name, prefix in available_peers(s.work).items():
            chains.append((name, _chain_peer(prefix)))
            peer_blocks[name] = []
    got: Blocks = {name: list((prior or {}).get(name, [])) for name, _ in chains}
    errors: list[str] = []
    failed: set[str] = set()
    for i in range(n_blocks):
        for name, make in chains:
            if name in failed:
                continue
            label = f"{s.name} [{i + 1}/{n_blocks} {name}]"
            try:
                number = len(got[name]) + 1  # after a retry's prior blocks: files stay apart
                block = _block(s, name, make, number, label, block_s, work, opts, say)
                got[name].append(block)
            except (BenchError, ConfigError, OSError, ValueError, KeyError) as exc:
                failed.add(name)
                errors.append(f"{name}: {exc}")
                say(f"  {label}  FAILED: {exc}")
    if peer_blocks is not None:
        for name in peer_blocks:
            peer_blocks[name] = got[name]
    ages = {
        name: np.concatenate([b.ages_ms for b in blocks]) if blocks else np.empty(0)
        for name, blocks in got.items()
    }
    summary = summarise(s, got["bci-bridge"], got["floor"], peer_blocks, errors)
    summary["topology"] = {
        **s.topology,
        **{
            name: f"peer, one process (plus its helpers): LSL in -> {s.work} -> LSL out "
            "(benchmarks/peers)"
            for name in peer_blocks or {}
        },
    }
    return summary, ages, got
