"""``bci-bridge bench``: end-to-end latency scenarios against the hand-written floor, and the gate.

Exit codes: 0 every scenario ran (and, with ``--compare``, none regressed); 1 a scenario failed
to run, lost samples, or regressed beyond the tolerance; 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bci_bridge.cli.bench_args import (
    CI_BLOCKS,
    CI_TOLERANCE,
    CI_TOLERANCE_P99,
    RETRIES,
    TOLERANCE_CPU,
    TOLERANCE_P50,
    TOLERANCE_P99,
)
from bci_bridge.cli.common import write_json
from bci_bridge.errors import ConfigError

if TYPE_CHECKING:
    from bci_bridge.bench.compare import Tolerances

__all__ = ["run"]


def _load_baseline(path: str) -> dict[str, Any]:
    try:
        doc: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("baseline file not found", file=path) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the baseline: {exc}", file=path) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), dict):
        raise ConfigError("not a bench JSON file (no 'scenarios' table)", file=path)
    return doc


def _ages_dir(path: str) -> Path:
    """Create ``--ages``' folder (and its parents) if needed; refuse a path that is a file."""
    d = Path(path)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ConfigError(f"{path} is a file, not a folder", key="--ages") from None
    except OSError as exc:
        raise ConfigError(f"cannot create {path}: {exc.strerror}", key="--ages") from None
    return d


def _tolerances(args: argparse.Namespace) -> Tolerances:
    from bci_bridge.bench.compare import Tolerances

    def pick(given: float | None, default: float, ci: float = CI_TOLERANCE) -> float:
        return given if given is not None else ci if args.ci else default

    return Tolerances(
        p50=pick(args.tolerance, TOLERANCE_P50),
        p99=pick(args.tolerance_p99, TOLERANCE_P99, CI_TOLERANCE_P99),
        cpu=pick(args.tolerance_cpu, TOLERANCE_CPU),
    )


def _within(tolerance: float, what: str) -> str:
    """``+20 % (p50)``, or ``no limit on p99`` for an infinite tolerance."""
    return f"no limit on {what}" if math.isinf(tolerance) else f"+{tolerance:.0%} ({what})"


def run(args: argparse.Namespace) -> int:
    """Run the scenarios, write JSON (and a plot), compare with a baseline."""
    # Measurements stay on this machine: the shipped loopback config, for every child too.
    from bci_bridge.lsl import use_local_config

    use_local_config(override=True)
    from bci_bridge.bench.compare import compare, format_verdicts
    from bci_bridge.bench.counters import measure_counters
    from bci_bridge.bench.report import format_table, metadata
    from bci_bridge.bench.runner import BenchOptions, Blocks, run_scenario
    from bci_bridge.bench.scenarios import pick_scenarios

    scenarios = pick_scenarios(args.scenarios)
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"must be > 0 s, got {args.duration}", key="--duration")
    if args.blocks is not None and args.blocks < 1:
        raise ConfigError(f"must be >= 1, got {args.blocks}", key="--blocks")
    tolerances = _tolerances(args)
    retries = args.retries if args.retries is not None else 0 if args.ci else RETRIES
    if retries < 0:
        raise ConfigError(f"must be >= 0, got {retries}", key="--retries")
    if args.cpus is not None and not 1 <= args.cpus <= (os.cpu_count() or 1):
        raise ConfigError(f"must be 1 to {os.cpu_count()}, got {args.cpus}", key="--cpus")
    baseline = _load_baseline(args.compare) if args.compare else None
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError(
                "needs matplotlib: pip install 'bci-bridge[bench]'", key="--plot"
            ) from None
    quick = args.quick or args.ci
    n_blocks = args.blocks if args.blocks is not None else CI_BLOCKS if args.ci else None
    ages_dir = _ages_dir(args.ages) if args.ages else None
    opts = BenchOptions(
        quick=quick,
        block_s=args.duration,
        blocks=n_blocks,
        peers=args.peers,
        cpus=args.cpus,
        ages_dir=ages_dir,
    )
    work = Path(tempfile.mkdtemp(prefix="bb-bench-", dir="/tmp"))

    def say(line: str) -> None:
        print(line, flush=True)

    t0 = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    ages: dict[str, dict[str, Any]] = {}
    blocks: dict[str, Blocks] = {}
    counters: dict[str, dict[str, int]] = {}
    try:
        # Counters first, in this process before any child runs: they need no quiet machine.
        for s in scenarios:
            counters[s.name] = measure_counters(s)
            c = counters[s.name]
            say(
                f"{s.name}: {c['allocs_per_frame']} array(s), "
                f"{c['bytes_allocated_per_frame']} bytes allocated per frame"
            )
        for s in scenarios:
            say(f"{s.name}: {s.channels} ch at {s.rate:g} Hz, {s.chunk_size} sample(s) per push")
            results[s.name], ages[s.name], blocks[s.name] = run_scenario(s, opts, work, say)
            results[s.name]["counters"] = counters[s.name]
        for attempt in range(1, retries + 1 if baseline is not None else 1):
            verdicts = compare({"scenarios": results}, baseline or {}, tolerances, ci=args.ci)
            again = [v.scenario for v in verdicts if v.status == "undecided"]
            if not again:
                break
            for s in pick_scenarios(again):
                say(f"{s.name}: the gate cannot decide yet; more blocks ({attempt}/{retries})")
                results[s.name], ages[s.name], blocks[s.name] = run_scenario(
                    s, opts, work, say, prior=blocks[s.name]
                )
                results[s.name]["counters"] = counters[s.name]
                results[s.name]["retries"] = attempt
    finally:
        shutil.rmtree(work, ignore_errors=True)
    argv = ["bci-bridge", "bench", *sys.argv[2:]] if len(sys.argv) > 1 else []
    doc = {
        "meta": {
            **metadata(quick=quick, duration_s=time.monotonic() - t0, argv=argv),
            "ci": args.ci,
            "cpus": args.cpus,
        },
        "scenarios": results,
    }
    write_json(args.json, doc)
    print()
    print(format_table(results))
    print(f"\nwrote {args.json}")
    if args.plot:
        from bci_bridge.bench_extras.plot import plot

        plot(results, ages, Path(args.plot))
        print(f"wrote {args.plot}")
    code = 0
    broken = [n for n, r in results.items() if r.get("error") or r.get("samples_lost")]
    if broken:
        print(f"\nproblems in: {', '.join(broken)} (see 'error' and 'samples_lost')")
        code = 1
    if baseline is not None:
        verdicts = compare(doc, baseline, tolerances, ci=args.ci)
        print(
            f"\ncompared with {args.compare}: counters exact; median per-block ratios within "
            f"{_within(tolerances.p50, 'p50')}, {_within(tolerances.p99, 'p99')}, "
            f"{_within(tolerances.cpu, 'CPU')} of the baseline's, by a 90 % bootstrap interval"
        )
        print(format_verdicts(verdicts))
        if any(v.status == "fail" for v in verdicts):
            code = 1
        undecided = [v.scenario for v in verdicts if v.status == "undecided"]
        if undecided and args.ci:
            print(f"\nnote: timings undecided (noise) in {', '.join(undecided)}: passed (--ci)")
        elif undecided:
            print(
                f"\nundecided after {retries} retries: {', '.join(undecided)}; the machine "
                "is too noisy for this tolerance: run on a quiet machine or with more --blocks"
            )
            code = 1
    return code
