"""Arguments of ``bci-bridge bench``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "SCENARIO_NAMES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge bench --quick --json out/bench.json --compare benchmarks/baseline.json",
    "bci-bridge bench relay-64x1000 decode-64x250 --json bench.json --peers",
)

#: The names of ``bci_bridge.bench.scenarios.SCENARIOS`` (a test keeps them equal), so that
#: declaring the arguments does not import the benchmark package.
SCENARIO_NAMES: tuple[str, ...] = (
    "relay-64x250",
    "relay-64x1000",
    "decode-64x250",
    "decode-64x1000",
    "wide-1024x30000",
    "wearable-8x250",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "bench",
        **with_examples(EXAMPLES),
        help="measure end-to-end latency against a hand-written floor; gate on a baseline",
        description="Run latency scenarios end to end in separate processes over real LSL and "
        "ZeroMQ, alternating bci-bridge and a minimal hand-written chain doing the same work "
        "(the floor). Scenarios: " + ", ".join(SCENARIO_NAMES) + " (default: all).",
    )
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenarios to run")
    p.add_argument("--quick", action="store_true", help="short blocks, one per chain (~1 min)")
    p.add_argument("--json", metavar="PATH", required=True, help="write the results here")
    p.add_argument("--plot", metavar="PATH.png", help="draw the latency distributions")
    p.add_argument("--compare", metavar="BASELINE.json", help="fail on a regression")
    p.add_argument(
        "--tolerance",
        type=float,
        default=0.25,
        help="allowed growth of ratio_p50 over the baseline's (default: %(default)s)",
    )
    p.add_argument(
        "--tolerance-p99",
        type=float,
        default=None,
        help="allowed growth of ratio_p99 (default: twice --tolerance)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=0,
        help="with --compare, run a scenario that failed the gate again, up to N times; it "
        "passes if a run passes (a regression fails every time; a noisy block rarely twice)",
    )
    p.add_argument("--peers", action="store_true", help="also run the installed relay peers")
    p.add_argument("--duration", type=float, help="seconds per block (overrides the scenario)")
    p.add_argument("--blocks", type=int, help="blocks per chain (overrides the scenario)")
    p.set_defaults(handler="bci_bridge.cli.bench_cmd:run")
