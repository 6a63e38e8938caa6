"""``bci-bridge record NAME... --out FILE.xdf``: record LSL streams to XDF, crash-safely."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from bci_bridge.cli.common import stop_on_signals, write_json
from bci_bridge.lsl_config import describe_lsl_config

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Record until Ctrl-C or ``--duration``; print totals."""
    from bci_bridge.record.recorder import Recorder

    recorder = Recorder(
        args.names,
        args.out,
        resolve_timeout=args.timeout,
        flush_interval=args.flush_interval,
    )
    stop = stop_on_signals()
    cfg = describe_lsl_config()
    print(
        f"recording {', '.join(args.names)} to {args.out} (LSL config: {cfg})"
        + (f" for {args.duration:g} s" if args.duration else " (Ctrl-C to stop)"),
        file=sys.stderr,
        flush=True,
    )

    def report(samples: dict[str, int]) -> None:
        log.info("recorded %s", ", ".join(f"{k} {v}" for k, v in samples.items()))

    stats = recorder.run(stop, duration_s=args.duration, report=report)
    counts = ", ".join(f"{name} {n} samples" for name, n in stats.samples.items())
    print(f"wrote {stats.path}: {counts}", file=sys.stderr)
    if args.summary:
        write_json(args.summary, dataclasses.asdict(stats))
    return 0
