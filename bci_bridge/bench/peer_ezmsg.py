"""The ezmsg relay peer: ``benchmarks/peers/ezmsg_relay.py`` run by the ezmsg venv's Python."""

from __future__ import annotations

from bci_bridge.bench.peer_venv import peer_python, relay_file
from bci_bridge.bench.peers import PEERS

__all__ = ["ezmsg_argv"]


def ezmsg_argv() -> list[str] | None:
    """Return the argv prefix that launches the ezmsg relay, or None if it is not installed."""
    python = peer_python("ezmsg")
    script = relay_file("ezmsg_relay.py")
    if python is None or script is None:
        return None
    return [str(python), str(script)]


PEERS["ezmsg"] = ezmsg_argv
