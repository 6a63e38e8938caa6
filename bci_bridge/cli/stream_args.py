"""Arguments of ``bci-bridge stream``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge stream synthetic --channels 8 --rate 250 --duration 1",
    "bci-bridge stream synthetic -p seed=3 -p erd=0.5 --duration 0.5 --summary sent.json",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "stream",
        **with_examples(EXAMPLES),
        help="run a device (synthetic array, driver plugin) as an LSL outlet",
        description="Run a device plugin and publish its samples as an LSL outlet "
        "(plus a marker outlet if the device has markers). `bci-bridge "
        "devices` lists the installed devices and their settings.",
    )
    p.add_argument("device", help="device name (see `bci-bridge list`) or package.module:Class")
    p.add_argument("--channels", type=int, help="number of channels (Config.n_channels)")
    p.add_argument("--rate", type=float, help="sample rate in Hz (Config.sfreq)")
    p.add_argument("--chunk", type=int, help="samples per push (Config.chunk_size)")
    p.add_argument("--name", help="LSL stream name (Config.name)")
    p.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other field of the device's Config (repeatable); VALUE is read as TOML",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after S seconds (default: run until Ctrl-C)",
    )
    p.add_argument(
        "--wait-consumer",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for an LSL consumer before streaming "
        "(so nothing is sent unseen)",
    )
    p.add_argument(
        "--summary", metavar="PATH", help="write totals (samples_sent...) as JSON at exit"
    )
    p.set_defaults(handler="bci_bridge.cli.stream_cmd:run")
