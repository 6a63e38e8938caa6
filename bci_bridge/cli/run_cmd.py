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


def run(args: argparse.Namespace) -> int:
    """Validate the pipeline, run it, print and optionally write the summary."""
    pipeline = load_pipeline(args.pipeline, args.overrides)
    if args.check:
        # Only --check loads models on their own (onnx, onnxruntime): a run imports what its
        # modules import, nothing more.
        from bci_bridge.cli.pipeline_check import check_pipeline

        problems, notes = check_pipeline(pipeline, assume=args.assume_input, insecure=args.insecure)
        for problem in problems:  # a load over max_load is one, with its per-node numbers
            print(f"bci-bridge run: error: {problem}", file=sys.stderr)
        if problems:
            return 2
        for note in notes:  # the load estimate is printed: it is what --check shows
            if note.startswith("load: "):
                print(note)
            else:
                log.info("check: %s", note)
        names = " -> ".join(f"{n.name}({n.module})" for n in pipeline.nodes)
        print(f"{args.pipeline}: ok: {names}")
        return 0
    stop = stop_on_signals()
    options = RuntimeOptions(
        exit_on_eos=args.exit_on_eos,
        wait_subscribers=args.wait_subscribers,
        info_timeout_s=args.info_timeout,
        duration_s=args.duration,
        insecure=args.insecure,
    )
    runtime = Runtime(pipeline, options)
    print(f"{pipeline.name}: metrics.{pipeline.name} on {pipeline.metrics}", file=sys.stderr)

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
            f"lost {summary['samples_lost']} (and {summary['samples_lost_upstream']} upstream of "
            f"the bridge), malformed frames {summary['frames_malformed']}",
            file=sys.stderr,
        )
        for name, node in summary["nodes"].items():
            if node["errors"]:
                print(
                    f"  node {name}: {node['errors']} errors, first: {node['first_error']}",
                    file=sys.stderr,
                )
        for path in dict.fromkeys((args.report, args.summary)):
            if path:
                write_json(path, summary)

    # A stop the runtime cannot honour (a module hung in a step) ends here too (runtime.watchdog).
    runtime.abort_hook = finish
    finish(runtime.run(stop, report=report))
    return EXIT_INTERRUPTED if stop.is_set() else 0
