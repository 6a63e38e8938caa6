"""``bci-bridge run PIPELINE.toml``: the runtime."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bci_bridge.cli.common import stop_on_signals, write_json
from bci_bridge.config import load_pipeline
from runtime.runner import Runtime, RuntimeOptions
from runtime.watchdog import EXIT_INTERRUPTED

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "run",
        help="run a pipeline (TOML) on bridged streams",
        description="Run the pipeline a TOML file describes: subscribe to its inputs, run its "
        "modules within their budgets, publish its outputs over ZeroMQ and LSL. "
        "Example: bci-bridge run examples/bandpower.toml",
    )
    p.add_argument("pipeline", help="pipeline TOML file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a config value, e.g. --set inputs[0].endpoint=ipc:///tmp/eeg (repeatable)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after S seconds of data (default: until Ctrl-C)",
    )
    p.add_argument("--exit-on-eos", action="store_true", help="stop when every input has ended")
    p.add_argument(
        "--wait-subscribers",
        type=int,
        default=0,
        metavar="N",
        help="subscribe to the inputs only once N clients subscribed to the outputs",
    )
    p.add_argument(
        "--info-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the inputs' stream info",
    )
    p.add_argument("--check", action="store_true", help="validate the pipeline file and exit")
    p.add_argument(
        "--summary", metavar="PATH", help="write the final counters and latencies as JSON"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate the pipeline, run it, print and optionally write the summary."""
    pipeline = load_pipeline(args.pipeline, args.overrides)
    if args.check:
        names = " -> ".join(f"{n.name}({n.module})" for n in pipeline.nodes)
        print(f"{args.pipeline}: ok: {names}")
        return 0
    stop = stop_on_signals()
    options = RuntimeOptions(
        exit_on_eos=args.exit_on_eos,
        wait_subscribers=args.wait_subscribers,
        info_timeout_s=args.info_timeout,
        duration_s=args.duration,
    )
    runtime = Runtime(pipeline, options)

    def report(summary: dict[str, Any]) -> None:
        nodes = ", ".join(
            f"{name} p99 {n['call_ms'].get('p99', 0):.3f} ms "
            f"({n['overruns']} over, {n['errors']} err)"
            for name, n in summary["nodes"].items()
        )
        log.info(
            "received %d samples, lost %d, malformed %d; %s",
            summary["samples_received"],
            summary["samples_lost"],
            summary["frames_malformed"],
            nodes,
        )

    def finish(summary: dict[str, Any]) -> None:
        print(
            f"{pipeline.name}: received {summary['samples_received']} samples, "
            f"lost {summary['samples_lost']}, malformed frames {summary['frames_malformed']}",
            file=sys.stderr,
        )
        for name, node in summary["nodes"].items():
            if node["errors"]:
                print(
                    f"  node {name}: {node['errors']} errors, first: {node['first_error']}",
                    file=sys.stderr,
                )
        if args.summary:
            write_json(args.summary, summary)

    # A stop the runtime cannot honour (a module hung in a step) ends here too (runtime.watchdog).
    runtime.abort_hook = finish
    finish(runtime.run(stop, report=report))
    return EXIT_INTERRUPTED if stop.is_set() else 0
