"""Arguments of ``bci-bridge demo``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge demo",
    "bci-bridge demo --duration 30 --channels 16 --rate 500 --json demo.json",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "demo",
        **with_examples(EXAMPLES),
        help="run the whole path on a synthetic array and show live decoding",
        description="Start a synthetic electrode array (LSL), the bridge (LSL to ZeroMQ) and the "
        "runtime (band-pass, band power, ONNX classifier) as separate processes, show live what "
        "is decoded and how old each output is, then print a summary.",
    )
    p.add_argument(
        "--duration", type=float, default=10.0, help="seconds of streaming (default: %(default)s)"
    )
    p.add_argument(
        "--channels",
        type=int,
        default=8,
        help="channels of the synthetic array (>= 2; default: %(default)s)",
    )
    p.add_argument(
        "--rate", type=float, default=250.0, help="sample rate in Hz (default: %(default)s)"
    )
    p.add_argument(
        "--chunk", type=int, default=1, help="samples per LSL push (default: %(default)s)"
    )
    p.add_argument(
        "--name",
        default="bci-bridge-demo",
        help="LSL name of the synthetic array (default: %(default)s)",
    )
    p.add_argument(
        "--curve",
        action="store_true",
        help="key every ZeroMQ hop with CURVE (throwaway keys in the demo's folder): the bridge "
        "serves only the runtime, the runtime's output only this client",
    )
    p.add_argument("--json", metavar="PATH", help="write the summary as JSON")
    p.add_argument("--quiet", action="store_true", help="no live lines, only the summary")
    p.set_defaults(handler="bci_bridge.cli.demo_cmd:run")
