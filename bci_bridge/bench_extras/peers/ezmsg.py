"""The ezmsg peer: ``benchmarks/peers/ezmsg_WORK.py`` run by the ezmsg venv's Python."""

from __future__ import annotations

from bci_bridge.bench_extras.peers import PEERS
from bci_bridge.bench_extras.peers.venv import peer_python, peer_script

__all__ = ["ezmsg_argv"]


def ezmsg_argv(work: str = "relay") -> list[str] | None:
    """Return the argv prefix that runs ``work`` in ezmsg, or None if it is not installed.

    Parameters
    ----------
    work : {"relay", "decode", "wearable"}
        The scenario's work; the script is ``benchmarks/peers/ezmsg_<work>.py``.
    """
    python = peer_python("ezmsg")
    script = peer_script(f"ezmsg_{work}.py")
    if python is None or script is None:
        return None
    return [str(python), str(script)]


PEERS["ezmsg"] = ezmsg_argv
