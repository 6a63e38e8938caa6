"""The ``bci-bridge`` command: one subcommand per part, each runnable alone.

The parser is declared from the small ``*_args`` modules; the module that does the work
(``*_cmd``) is imported only when its command runs, so ``bci-bridge run`` starts without
loading the benchmark harness, the trainer or anything else it does not use.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from bci_bridge.cli import (
    bench_args,
    bridge_args,
    demo_args,
    keys_args,
    list_args,
    record_args,
    run_args,
    stream_args,
    top_args,
    train_args,
)
from bci_bridge.cli.common import setup_logging
from bci_bridge.errors import BciBridgeError

__all__ = ["COMMANDS", "build_parser", "main"]

log = logging.getLogger("bci_bridge")

#: Each subcommand's argument module, in ``--help`` order (its code is imported when it runs).
COMMANDS: tuple[ModuleType, ...] = (
    demo_args,
    stream_args,
    bridge_args,
    run_args,
    top_args,
    record_args,
    keys_args,
    list_args,
    bench_args,
    train_args,
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="bci-bridge",
        description="Low-latency BCI streaming: LSL in, a ZeroMQ runtime of tiny modules, "
        "results out over ZeroMQ and LSL.",
        epilog="LSL: stream, bridge, run and record use your LSL configuration (LSLAPICFG, else "
        "liblsl's own search and defaults); demo (unless LSLAPICFG is set) and bench keep LSL "
        "on this machine with the shipped loopback-only lsl_api.cfg.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for spec in COMMANDS:
        spec.add_parser(sub)
    return parser


def _handler(target: str) -> Callable[[argparse.Namespace], int]:
    """Import ``"package.module:function"`` (a command's ``run``) and return the function."""
    module_name, _, func_name = target.partition(":")
    func: Callable[[argparse.Namespace], int] = getattr(
        importlib.import_module(module_name), func_name
    )
    return func


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        code: int = _handler(args.handler)(args)
        return code
    except BciBridgeError as exc:
        print(f"bci-bridge {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"bci-bridge {args.command}: interrupted", file=sys.stderr)
        return 130
