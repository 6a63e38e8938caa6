"""The ``bci-bridge`` command: one subcommand per part, each runnable alone."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bci_bridge.cli import (
    bench_cmd,
    bridge_cmd,
    demo_cmd,
    list_cmd,
    record_cmd,
    run_cmd,
    stream_cmd,
    top_cmd,
    train_cmd,
)
from bci_bridge.cli.common import setup_logging
from bci_bridge.errors import BciBridgeError

__all__ = ["main"]

log = logging.getLogger("bci_bridge")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bci-bridge",
        description="Low-latency BCI streaming: LSL in, a ZeroMQ runtime of tiny modules, "
        "results out over ZeroMQ and LSL.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for mod in (
        demo_cmd,
        stream_cmd,
        bridge_cmd,
        run_cmd,
        top_cmd,
        list_cmd,
        bench_cmd,
        train_cmd,
    ):
        mod.add_parser(sub)
    record_cmd.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        code: int = args.func(args)
        return code
    except BciBridgeError as exc:
        print(f"bci-bridge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bci-bridge {args.command}: interrupted", file=sys.stderr)
        return 130
