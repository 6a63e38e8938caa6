"""Arguments of ``bci-bridge run``, declared without importing the code that runs it."""

from __future__ import annotations

import argparse
from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge run examples/senddata_bandpower.toml",
    "bci-bridge run decoders/demo/pipeline.toml --set inputs[0].endpoint=ipc:///tmp/eeg --check",
    "bci-bridge run examples/senddata_bandpower.toml --duration 60 --report run.json",
    "bci-bridge run examples/senddata_bandpower.toml --check --assume-input 64x1000",
)


def _channels_at_rate(text: str) -> tuple[int, float]:
    """Parse ``CHANNELSxHZ`` (e.g. ``64x250``) into (channels, rate)."""
    channels, sep, rate = text.partition("x")
    try:
        n, hz = int(channels), float(rate)
    except ValueError:
        n, hz = 0, 0.0
    if not sep or n < 1 or not 0 < hz < float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected CHANNELSxHZ with CHANNELS >= 1 and HZ > 0, e.g. 64x250; got {text!r}"
        )
    return n, hz


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "run",
        **with_examples(EXAMPLES),
        help="run a pipeline (TOML) on bridged streams",
        description="Run the pipeline a TOML file describes: subscribe to its inputs, run its "
        "modules within their budgets, publish its outputs over ZeroMQ and LSL. ",
    )
    p.add_argument("pipeline", help="pipeline TOML file")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        dest="overrides",
        help="override a config value, e.g. --set inputs[0].endpoint=ipc:///tmp/eeg (repeatable)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after S seconds of data (default: until Ctrl-C)",
    )
    p.add_argument("--exit-on-eos", action="store_true", help="stop when every input has ended")
    p.add_argument(
        "--wait-subscribers",
        type=int,
        default=0,
        metavar="N",
        help="subscribe to the inputs only once N clients subscribed to the outputs",
    )
    p.add_argument(
        "--info-timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the inputs' stream info",
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="check the pipeline without data (keys, models, endpoints, bands) and exit",
    )
    p.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain TCP on input, output or metrics endpoints off loopback (as "
        "insecure = true in [pipeline]); without it, those need CURVE keys in [security]",
    )
    p.add_argument(
        "--assume-input",
        type=_channels_at_rate,
        metavar="CHANNELSxHZ",
        help="with --check: take every input whose stream cannot be known without data to "
        "have CHANNELS channels at HZ (e.g. 1024x30000), to prepare its modules on it and "
        "estimate the load (what prepare refuses beyond [pipeline] max_load)",
    )
    p.add_argument(
        "--report",
        metavar="PATH",
        help="write the final metrics as JSON: per node calls, step_us, budget_ms, overruns, "
        "policy_actions, errors, restarts; e2e_ms, samples_lost, latency stages per output",
    )
    p.add_argument("--summary", metavar="PATH", help="the same JSON as --report (older name)")
    p.set_defaults(handler="bci_bridge.cli.run_cmd:run")
