"""``bci-bridge bench``: end-to-end latency scenarios against the hand-written floor, and the gate.

Exit codes: 0 every scenario ran (and, with ``--compare``, none regressed); 1 a scenario failed
to run, lost samples, or regressed beyond the tolerance; 2 a usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bci_bridge.cli.common import write_json
from bci_bridge.errors import ConfigError

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


def run(args: argparse.Namespace) -> int:
    """Run the scenarios, write JSON (and a plot), compare with a baseline."""
    # Measurements stay on this machine: the shipped loopback config, for every child too.
    from bci_bridge.lsl import use_local_config

    use_local_config(override=True)
    from bci_bridge.bench.compare import compare, format_verdicts
    from bci_bridge.bench.report import format_table, metadata
    from bci_bridge.bench.runner import BenchOptions, run_scenario
    from bci_bridge.bench.scenarios import pick_scenarios

    scenarios = pick_scenarios(args.scenarios)
    if args.duration is not None and not args.duration > 0:
        raise ConfigError(f"must be > 0 s, got {args.duration}", key="--duration")
    if args.blocks is not None and args.blocks < 1:
        raise ConfigError(f"must be >= 1, got {args.blocks}", key="--blocks")
    if not args.tolerance >= 0:
        raise ConfigError(f"must be >= 0, got {args.tolerance}", key="--tolerance")
    if args.retries < 0:
        raise ConfigError(f"must be >= 0, got {args.retries}", key="--retries")
    baseline = _load_baseline(args.compare) if args.compare else None
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError(
                "needs matplotlib: pip install 'bci-bridge[bench]'", key="--plot"
            ) from None
    opts = BenchOptions(
        quick=args.quick, block_s=args.duration, blocks=args.blocks, peers=args.peers
    )
    work = Path(tempfile.mkdtemp(prefix="bb-bench-", dir="/tmp"))

    def say(line: str) -> None:
        print(line, flush=True)

    t0 = time.monotonic()
    results: dict[str, dict[str, Any]] = {}
    ages: dict[str, dict[str, Any]] = {}
    try:
        for s in scenarios:
            say(f"{s.name}: {s.channels} ch at {s.rate:g} Hz, {s.chunk_size} sample(s) per push")
            results[s.name], ages[s.name] = run_scenario(s, opts, work, say)
        for attempt in range(1, args.retries + 1 if baseline is not None else 1):
            docs = {"scenarios": results}
            failed = [
                v.scenario
                for v in compare(docs, baseline or {}, args.tolerance, args.tolerance_p99)
                if v.status == "fail"
            ]
            if not failed:
                break
            for s in pick_scenarios(failed):
                say(f"{s.name}: failed the gate; retry {attempt} of {args.retries}")
                results[s.name], ages[s.name] = run_scenario(s, opts, work, say)
                results[s.name]["retry"] = attempt
    finally:
        shutil.rmtree(work, ignore_errors=True)
    argv = ["bci-bridge", "bench", *sys.argv[2:]] if len(sys.argv) > 1 else []
    doc = {
        "meta": metadata(quick=args.quick, duration_s=time.monotonic() - t0, argv=argv),
        "scenarios": results,
    }
    write_json(args.json, doc)
    print()
    print(format_table(results))
    print(f"\nwrote {args.json}")
    if args.plot:
        from bci_bridge.bench.plot import plot

        plot(results, ages, Path(args.plot))
        print(f"wrote {args.plot}")
    code = 0
    broken = [n for n, r in results.items() if r.get("error") or r.get("samples_lost")]
    if broken:
        print(f"\nproblems in: {', '.join(broken)} (see 'error' and 'samples_lost')")
        code = 1
    if baseline is not None:
        if baseline.get("meta", {}).get("quick") != args.quick:
            print("\nnote: the baseline and this run differ in --quick; ratios may differ")
        verdicts = compare(doc, baseline, args.tolerance, args.tolerance_p99)
        print(f"\ncompared with {args.compare} (tolerance {args.tolerance:.0%} on ratio_p50)")
        print(format_verdicts(verdicts))
        if any(v.status == "fail" for v in verdicts):
            code = 1
    return code
