"""Arguments of ``bci-bridge bridge``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.curve_args import add_server_key_args
from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge bridge --type EEG --endpoint tcp://127.0.0.1:5555",
    "bci-bridge bridge --name BioSemi --wait-subscribers 1 --source-timeout 10",
    "bci-bridge bridge --type EEG --endpoint tcp://10.0.0.2:5555 "
    "--server-key keys/bridge.key_secret --client-keys keys/clients",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "bridge",
        **with_examples(EXAMPLES),
        help="publish an LSL stream (found by name or type) as ZeroMQ frames",
        description="Find an LSL stream by name and/or type and publish it as versioned ZeroMQ "
        "frames (topic data.<stream>).",
    )
    p.add_argument("--name", default="", help="LSL stream name to look for")
    p.add_argument("--type", default="", help="LSL stream type to look for (e.g. EEG)")
    p.add_argument(
        "--endpoint",
        default="tcp://127.0.0.1:5555",
        help="ZeroMQ endpoint to bind (default: %(default)s)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to look for the stream (default: %(default)s)",
    )
    p.add_argument(
        "--wait-subscribers",
        type=int,
        default=0,
        metavar="N",
        help="open the LSL inlet only once N subscribers are connected (default: don't wait)",
    )
    p.add_argument(
        "--max-chunk", type=int, default=4096, help="most samples per frame (default: %(default)s)"
    )
    p.add_argument(
        "--source-timeout",
        type=float,
        default=None,
        metavar="S",
        help="when the source is gone S seconds, end the stream (EOS with the total) and exit 0 "
        "(default: wait for it to come back, as long as it takes)",
    )
    p.add_argument(
        "--max-queue-mb",
        type=float,
        default=64.0,
        help="most MiB queued for a subscriber that stopped reading; beyond, its frames are "
        "dropped (it counts them lost) (default: %(default)g)",
    )
    add_server_key_args(p)
    p.add_argument("--summary", metavar="PATH", help="write totals as JSON at exit")
    p.set_defaults(handler="bci_bridge.cli.bridge_cmd:run")
