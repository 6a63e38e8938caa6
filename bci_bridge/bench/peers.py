"""Relay peers: other middleware run through the relay scenarios with ``bench --peers``.

A peer is an external command that relays an LSL stream. The benchmark launches it as
``PREFIX... --in NAME --out NAME --channels N --rate HZ`` (with ``LSLAPICFG`` in its
environment): it must read the LSL stream ``NAME``, apply the 8th-order (4 per edge)
Butterworth band-pass from 8 to 30 Hz with state, and push each result to an LSL outlet named
``--out`` with the SAME timestamps as its input, one sample per push, until SIGINT or SIGTERM.
The benchmark's producer and client are the same as for bci-bridge and the floor.

:data:`PEERS` maps a peer name to a function returning the argv prefix that launches it, or
``None`` when the peer is not installed (the function logs why). Peers register themselves
from ``bci_bridge/bench/peer_*.py`` modules, which :func:`available_peers` imports.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable

__all__ = ["PEERS", "available_peers"]

log = logging.getLogger(__name__)

#: Peer name -> function returning the argv prefix to launch it, or None if not installed.
PEERS: dict[str, Callable[[], list[str] | None]] = {}


def _load_peer_modules() -> None:
    """Import every ``bci_bridge.bench.peer_*`` module (each adds its entries to PEERS)."""
    package = importlib.import_module("bci_bridge.bench")
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("peer_"):
            importlib.import_module(f"bci_bridge.bench.{info.name}")


def available_peers() -> dict[str, list[str]]:
    """Return the installed peers and their argv prefixes (logging the ones that are not)."""
    _load_peer_modules()
    found: dict[str, list[str]] = {}
    for name, locate in PEERS.items():
        prefix = locate()
        if prefix is None:
            log.warning("peer %s is not available; skipped", name)
        else:
            found[name] = prefix
    return found
