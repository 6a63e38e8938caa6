"""``bci-bridge record NAME... --out FILE.xdf``: record LSL streams to XDF, crash-safely."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from typing import Any

from bci_bridge.cli.common import stop_on_signals, write_json

__all__ = ["add_parser", "run"]

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "record",
        help="record LSL streams to an XDF file that survives a crash",
        description="Resolve LSL streams by name (with your LSL configuration: LSLAPICFG, else "
        "liblsl's defaults) and write them to one XDF file as LabRecorder does, flushed to disk "
        "at least every second: after a crash or kill -9 the file reads back (pyxdf, replay, "
        "train) up to the last flush. Ctrl-C or --duration end it cleanly with footers. "
        "Example: bci-bridge record MyArray MyArray-Markers --out session.xdf --duration 60",
    )
    p.add_argument("names", nargs="+", metavar="NAME", help="LSL stream name (repeatable)")
    p.add_argument("--out", required=True, metavar="FILE.xdf", help="the XDF file to write")
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        metavar="S",
        help="stop after S seconds (default: record until Ctrl-C)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="wait up to S seconds for each stream to appear (default 10)",
    )
    p.add_argument(
        "--flush-interval",
        type=float,
        default=0.5,
        metavar="S",
        help="write and fsync what was recorded at least every S seconds, 0 < S <= 1 (default 0.5)",
    )
    p.add_argument("--summary", metavar="PATH", help="write totals as JSON at exit")
    p.set_defaults(func=run)


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
    cfg = os.environ.get("LSLAPICFG") or "liblsl defaults"
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
