"""Numbers into the JSON a benchmark run writes, and the table it prints.

Per scenario: ``e2e_ms`` and ``floor_e2e_ms`` (``p50``, ``p99``, ``p999``, ``max``, ``count``,
over all blocks), ``block_ratios`` (``p50``, ``p99``, ``cpu``: one ratio of bci-bridge over the
floor per pair of alternating blocks; ``pairs_dropped`` counts the pairs left out because the
floor itself backlogged; ``block_ratios_steady`` leaves out the pairs where either chain
backlogged), ``ratio_p50``, ``ratio_p99``, ``cpu_ratio`` (the medians
of those, what the gate holds), ``cpu_cores``, ``floor_cpu_cores``, ``samples_lost``,
``rss_mb`` and ``floor_rss_mb`` (peak resident memory of the process doing the work alone:
``bci-bridge run``, the floor's worker), ``chain_rss_mb`` and ``floor_chain_rss_mb`` (all the
chain's processes), ``startup_s`` and ``floor_startup_s`` (median over blocks: from spawning the
chain to its output being up, prepared and subscribed), ``counters`` (:mod:`.counters`),
``floor_samples_lost``, ``channels``, ``rate``, ``chunk_size``, ``stages``, ``blocks``,
optionally ``peers`` and ``error``. At the top: ``meta`` (machine, versions, git commit, duration).
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

#: Per node, the step costs the bench keeps from the runtime's report (``--report``): every
#: step, the cold ones (after an idle gap) and the warm ones (back to back); see runtime.node.
STEP_KEYS = ("step_us", "step_us_cold", "step_us_warm")

__all__ = [
    "BACKLOG_MS",
    "STEP_KEYS",
    "Block",
    "backlogged",
    "block_ratios",
    "format_table",
    "latency",
    "metadata",
    "summarise",
]


@dataclass(slots=True)
class Block:
    """What one block of one chain measured.

    ``ages_ms`` (n_outputs,) and ``hops_ms`` (n_frames,) are in milliseconds, warm-up removed.
    """

    chain: str
    ages_ms: npt.NDArray[np.float64]
    hops_ms: npt.NDArray[np.float64]
    cpu_cores: float
    wall_s: float
    rss_mb: float
    samples_sent: int
    samples_lost: int
    outputs: int
    chain_rss_mb: float = 0.0
    startup_s: float = 0.0
    stages: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)  # node -> STEP_KEYS -> stats

    def brief(self) -> dict[str, Any]:
        """Return a JSON-ready summary of the block."""
        return {
            "chain": self.chain,
            "e2e_ms": latency(self.ages_ms),
            "cpu_cores": round(self.cpu_cores, 4),
            "wall_s": round(self.wall_s, 3),
            "rss_mb": round(self.rss_mb, 1),
            "chain_rss_mb": round(self.chain_rss_mb, 1),
            "startup_s": round(self.startup_s, 3),
            "samples_sent": self.samples_sent,
            "samples_lost": self.samples_lost,
            "outputs": self.outputs,
            "stages": self.stages,
            "steps": self.steps,
        }


def latency(ms: npt.NDArray[np.float64]) -> dict[str, float | int | None]:
    """Return ``p50``, ``p99``, ``p999``, ``max`` (ms, 4 decimals) and ``count`` of ``ms``."""
    if ms.size == 0:
        return {"p50": None, "p99": None, "p999": None, "max": None, "count": 0}
    p50, p99, p999 = np.percentile(ms, [50.0, 99.0, 99.9])
    return {
        "p50": round(float(p50), 4),
        "p99": round(float(p99), 4),
        "p999": round(float(p999), 4),
        "max": round(float(ms.max()), 4),
        "count": int(ms.size),
    }


def _chain_totals(blocks: Sequence[Block]) -> dict[str, Any]:
    ages = np.concatenate([b.ages_ms for b in blocks]) if blocks else np.empty(0)
    wall = sum(b.wall_s for b in blocks)
    cpu = sum(b.cpu_cores * b.wall_s for b in blocks) / wall if wall > 0 else None
    return {
        "e2e_ms": latency(ages),
        "cpu_cores": round(cpu, 4) if cpu is not None else None,
        "samples_lost": sum(b.samples_lost for b in blocks) if blocks else None,
        "samples_sent": sum(b.samples_sent for b in blocks),
        "rss_mb": round(max(b.rss_mb for b in blocks), 1) if blocks else None,
        "chain_rss_mb": round(max(b.chain_rss_mb for b in blocks), 1) if blocks else None,
        "startup_s": round(float(np.median([b.startup_s for b in blocks])), 3) if blocks else None,
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 4) if a is not None and b else None


#: A floor block whose median age exceeds this (ms) backlogged: the machine could not run
#: even the hand-written chain in real time, so the pair says nothing about bci-bridge.
BACKLOG_MS = 20.0


def backlogged(block: Block) -> bool:
    """Whether a block's median output age shows a backlog (over :data:`BACKLOG_MS`)."""
    return bool(block.ages_ms.size) and float(np.median(block.ages_ms)) > BACKLOG_MS


def block_ratios(
    bci: Sequence[Block], floor: Sequence[Block], *, steady: bool = False
) -> dict[str, list[float]]:
    """Return, per gated metric, one ratio of bci-bridge over the floor per pair of blocks.

    Block ``i`` of each chain ran back to back (ABAB...), under the same machine load; pairs
    where either block has no outputs (or the floor's number is 0) are left out, and so are
    pairs where the floor backlogged (see :func:`backlogged`); with ``steady``, also pairs
    where bci-bridge backlogged (what ``--ci`` gates on: on a loaded machine a backlog is as
    likely to be the load as the code).
    """
    out: dict[str, list[float]] = {"p50": [], "p99": [], "cpu": []}
    for a, b in zip(bci, floor, strict=False):
        if backlogged(b) or (steady and backlogged(a)):
            continue
        if a.ages_ms.size and b.ages_ms.size:
            pa, pb = np.percentile(a.ages_ms, [50.0, 99.0]), np.percentile(b.ages_ms, [50.0, 99.0])
            if pb[0] > 0 and pb[1] > 0:
                out["p50"].append(round(float(pa[0] / pb[0]), 4))
                out["p99"].append(round(float(pa[1] / pb[1]), 4))
        if b.cpu_cores > 0:
            out["cpu"].append(round(a.cpu_cores / b.cpu_cores, 4))
    return out


def _median(values: Sequence[float]) -> float | None:
    return round(float(np.median(values)), 4) if values else None


def _merge_stages(blocks: Sequence[Block]) -> dict[str, Any]:
    """Average each stage's percentiles over the blocks; the output hop from all frames."""
    if not blocks:
        return {}
    merged: dict[str, Any] = {}
    hops = np.concatenate([b.hops_ms for b in blocks])
    if hops.size:
        merged["output_hop_ms"] = latency(hops)
    keys = {k for b in blocks for k in b.stages}
    for key in sorted(keys):
        dicts = [b.stages[key] for b in blocks if isinstance(b.stages.get(key), dict)]
        if not dicts:
            continue
        out: dict[str, float] = {}
        for stat in ("p50", "p99", "p999", "max", "mean"):
            vals = [float(d[stat]) for d in dicts if d.get(stat) is not None]
            if vals:
                out[stat] = round(float(np.mean(vals)), 4)
        merged[key] = out
    nodes = [k for k in merged if k.startswith("node.")]
    age = merged.get("runtime_output_age_ms", {})
    if nodes and "p50" in age:
        merged["input_path_p50_ms"] = round(
            age["p50"] - sum(merged[k].get("p50", 0.0) for k in nodes), 4
        )
    return merged


def _merge_steps(blocks: Sequence[Block]) -> dict[str, dict[str, Any]]:
    """Return per node each of :data:`STEP_KEYS` over the blocks, in microseconds.

    Counts are summed; ``p50`` and ``p99`` averaged over the blocks that had such steps (as the
    stages are); ``max`` is the largest.
    """
    out: dict[str, dict[str, Any]] = {}
    for node in sorted({n for b in blocks for n in b.steps}):
        out[node] = {}
        for key in STEP_KEYS:
            got = [b.steps[node][key] for b in blocks if node in b.steps]
            merged: dict[str, Any] = {"count": sum(int(g.get("count", 0)) for g in got)}
            had = [g for g in got if g.get("count")]
            if had:
                merged["p50"] = round(float(np.mean([g["p50"] for g in had])), 2)
                merged["p99"] = round(float(np.mean([g["p99"] for g in had])), 2)
                merged["max"] = max(float(g["max"]) for g in had)
            out[node][key] = merged
    return out


def summarise(
    scenario: Any,
    bci: Sequence[Block],
    floor: Sequence[Block],
    peers: dict[str, Sequence[Block]] | None,
    errors: Sequence[str],
) -> dict[str, Any]:
    """Assemble one scenario's JSON entry from its blocks."""
    a, b = _chain_totals(bci), _chain_totals(floor)
    ratios = block_ratios(bci, floor)
    out: dict[str, Any] = {
        "scenario": scenario.name,
        "work": scenario.work,
        "channels": scenario.channels,
        "rate": scenario.rate,
        "chunk_size": scenario.chunk_size,
        "e2e_ms": a["e2e_ms"],
        "floor_e2e_ms": b["e2e_ms"],
        "block_ratios": ratios,
        "block_ratios_steady": block_ratios(bci, floor, steady=True),
        "pairs_dropped": sum(backlogged(blk) for blk in floor[: len(bci)]),
        "ratio_p50": _median(ratios["p50"]),
        "ratio_p99": _median(ratios["p99"]),
        "cpu_cores": a["cpu_cores"],
        "floor_cpu_cores": b["cpu_cores"],
        "cpu_ratio": _median(ratios["cpu"]),
        "samples_lost": a["samples_lost"],
        "floor_samples_lost": b["samples_lost"],
        "samples_sent": a["samples_sent"],
        "rss_mb": a["rss_mb"],
        "floor_rss_mb": b["rss_mb"],
        "chain_rss_mb": a["chain_rss_mb"],
        "floor_chain_rss_mb": b["chain_rss_mb"],
        "startup_s": a["startup_s"],
        "floor_startup_s": b["startup_s"],
        "stages": _merge_stages(bci),
        "floor_stages": _merge_stages(floor),
        "nodes": _merge_steps(bci),
        "blocks": [blk.brief() for blk in (*bci, *floor)],
    }
    if peers is not None:
        out["peers"] = {}
        for name, blocks in peers.items():
            p = _chain_totals(blocks)
            out["peers"][name] = {
                "e2e_ms": p["e2e_ms"],
                "cpu_cores": p["cpu_cores"],
                "samples_lost": p["samples_lost"],
                "rss_mb": p["rss_mb"],
                "ratio_p50": _ratio(p["e2e_ms"]["p50"], b["e2e_ms"]["p50"]),
                "ratio_p99": _ratio(p["e2e_ms"]["p99"], b["e2e_ms"]["p99"]),
                "cpu_ratio": _ratio(p["cpu_cores"], b["cpu_cores"]),
            }
            out["blocks"] += [blk.brief() for blk in blocks]
    if errors:
        out["error"] = "; ".join(errors)
    return out


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_commit() -> dict[str, Any] | None:
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout  # not stripped: each line is "XY path", and X may be a space
    except (OSError, subprocess.SubprocessError):
        return None
    # The uncommitted files, so that a baseline made from a work tree says what it measured.
    changed = sorted(line[3:] for line in status.splitlines() if len(line) > 3)
    return {"commit": head, "dirty": bool(changed), "changed": changed}


def metadata(*, quick: bool, duration_s: float, argv: Sequence[str]) -> dict[str, Any]:
    """Machine, versions, git commit and run settings."""
    import pylsl

    return {
        "machine": {
            "node": platform.node(),
            "system": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
        "versions": {
            **{
                d: _version(d)
                for d in ("bci-bridge", "numpy", "scipy", "pylsl", "pyzmq", "onnxruntime")
            },
            "liblsl": pylsl.library_version(),
        },
        "git": _git_commit(),
        "quick": quick,
        "duration_s": round(duration_s, 1),
        "argv": list(argv),
    }


def _f(x: float | None, spec: str = ".2f") -> str:
    return "-" if x is None else format(x, spec)


def format_table(results: dict[str, dict[str, Any]]) -> str:
    """Return the human summary: one row per scenario (and peer)."""
    head = (
        f"{'scenario':<17} {'chain':<11} {'p50 ms':>7} {'p99 ms':>7} {'p999 ms':>8} "
        f"{'x p50':>6} {'x p99':>6} {'cores':>6} {'x cpu':>6} {'lost':>5} {'RSS MB':>7}"
    )
    rows = [head, "-" * len(head)]
    for name, r in results.items():
        e, f = r["e2e_ms"], r["floor_e2e_ms"]
        rows.append(
            f"{name:<17} {'bci-bridge':<11} {_f(e['p50']):>7} {_f(e['p99']):>7} "
            f"{_f(e['p999']):>8} {_f(r['ratio_p50']):>6} {_f(r['ratio_p99']):>6} "
            f"{_f(r['cpu_cores'], '.3f'):>6} {_f(r['cpu_ratio']):>6} "
            f"{_f(r['samples_lost'], 'd'):>5} {_f(r['rss_mb'], '.0f'):>7}"
        )
        rows.append(
            f"{'':<17} {'floor':<11} {_f(f['p50']):>7} {_f(f['p99']):>7} {_f(f['p999']):>8} "
            f"{'':>6} {'':>6} {_f(r['floor_cpu_cores'], '.3f'):>6} {'':>6} "
            f"{_f(r['floor_samples_lost'], 'd'):>5} {_f(r['floor_rss_mb'], '.0f'):>7}"
        )
        for peer, p in r.get("peers", {}).items():
            pe = p["e2e_ms"]
            rows.append(
                f"{'':<17} {peer:<11} {_f(pe['p50']):>7} {_f(pe['p99']):>7} "
                f"{_f(pe['p999']):>8} {_f(p['ratio_p50']):>6} {_f(p['ratio_p99']):>6} "
                f"{_f(p['cpu_cores'], '.3f'):>6} {_f(p['cpu_ratio']):>6} "
                f"{_f(p['samples_lost'], 'd'):>5} {_f(p['rss_mb'], '.0f'):>7}"
            )
        if r.get("error"):
            rows.append(f"{'':<17} error: {r['error'].splitlines()[0]}")
    return "\n".join(rows)
