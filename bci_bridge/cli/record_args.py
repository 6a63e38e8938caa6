"""Arguments of ``bci-bridge record``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge record MyArray MyArray-Markers --out session.xdf --duration 60",
    "bci-bridge record BioSemi --out calibration.xdf --flush-interval 0.2 --summary rec.json",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "record",
        **with_examples(EXAMPLES),
        help="record LSL streams to an XDF file that survives a crash",
        description="Resolve LSL streams by name (with your LSL configuration: LSLAPICFG, else "
        "liblsl's defaults) and write them to one XDF file as LabRecorder does, flushed to disk "
        "at least every second: after a crash or kill -9 the file reads back (pyxdf, replay, "
        "train) up to the last flush. Ctrl-C or --duration end it cleanly with footers.",
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
    p.set_defaults(handler="bci_bridge.cli.record_cmd:run")
