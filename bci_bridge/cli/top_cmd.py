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

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    """Show snapshots until ``q`` or Ctrl-C (or print one with ``--once``)."""
    from bci_bridge.cli.curve_args import client_keys
    from bci_bridge.cli.top_view import show

    return show(
        args.endpoint,
        once=args.once,
        timeout_s=args.timeout,
        keys=client_keys(args),
        insecure=args.insecure,
    )
