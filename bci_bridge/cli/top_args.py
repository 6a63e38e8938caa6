"""Arguments of ``bci-bridge top``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.curve_args import add_client_key_args
from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge top ipc:///tmp/bci-bridge-demo-metrics",
    "bci-bridge top ipc:///tmp/bci-bridge-demo-metrics --once --timeout 5",
    "bci-bridge top tcp://10.0.0.3:5560 --server-public-key keys/runtime.key "
    "--client-key keys/laptop.key_secret",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "top",
        **with_examples(EXAMPLES),
        help="live view of a running runtime (from its metrics endpoint)",
        description="Show a running runtime's nodes, inputs and outputs, refreshed once a "
        "second from metrics.<pipeline> at its metrics endpoint (printed by `bci-bridge run` "
        "at start; default ipc:///tmp/bci-bridge-<pipeline>-metrics). q or Ctrl-C to leave.",
    )
    p.add_argument("endpoint", help="the runtime's metrics endpoint")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the first snapshot (default 10)",
    )
    add_client_key_args(p)
    p.set_defaults(handler="bci_bridge.cli.top_cmd:run")
