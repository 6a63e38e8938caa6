"""``bci-bridge top ENDPOINT``: a live view of a running runtime, from its metrics.

The runtime publishes ``metrics.<pipeline>`` (its summary as JSON) once a second at its
metrics endpoint; ``top`` subscribes and redraws one screen per snapshot: nodes (calls, step
time against the budget, overruns, policy actions, errors, restarts, queue depth), inputs
(received, lost, dropped, non-finite) and outputs (sent, age, stale). ``q`` or Ctrl-C leaves;
``--once`` prints one snapshot and exits. The view lives in :mod:`bci_bridge.cli.top_view`,
imported only when ``top`` runs: ``bci-bridge run`` never loads it (nor curses).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "top",
        help="live view of a running runtime (from its metrics endpoint)",
        description="Show a running runtime's nodes, inputs and outputs, refreshed once a "
        "second from metrics.<pipeline> at its metrics endpoint (printed by `bci-bridge run` "
        "at start; default ipc:///tmp/bci-bridge-<pipeline>-metrics). q or Ctrl-C to leave. "
        "Example: bci-bridge top ipc:///tmp/bci-bridge-demo-metrics",
    )
    p.add_argument("endpoint", help="the runtime's metrics endpoint")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        help="seconds to wait for the first snapshot (default 10)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Show snapshots until ``q`` or Ctrl-C (or print one with ``--once``)."""
    from bci_bridge.cli.top_view import show

    return show(args.endpoint, once=args.once, timeout_s=args.timeout)
