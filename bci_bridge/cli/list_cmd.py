"""``bci-bridge list``: the installed devices and modules."""

from __future__ import annotations

import argparse
from typing import Any

from bci_bridge import registry


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser("list", help="list installed devices and modules (entry points)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the installed plugin names by kind."""
    for kind in ("device", "module"):
        names = registry.available(kind)
        print(f"{kind}s: {', '.join(names) or 'none'}")
    return 0
