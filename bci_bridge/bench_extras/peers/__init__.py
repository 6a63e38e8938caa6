"""Peers: other middleware run through the bench scenarios with ``bench --peers``.

A peer is an external command per kind of work (``relay``, ``decode``, ``wearable``). The
benchmark launches it as ``PREFIX... --in NAME --out NAME --channels N --rate HZ`` (decode adds
``--model PATH``), with ``LSLAPICFG`` in its environment. It must read the LSL stream ``NAME``,
do the scenario's work with the peer's own building blocks, and push each result to an LSL
outlet named ``--out`` stamped with the timestamp of the newest input sample behind it, until
SIGINT or SIGTERM:

``relay``
    8th-order (4 per edge) Butterworth band-pass 8-30 Hz with state; every sample out, with
    its own timestamp.
``decode``
    The same band-pass, then the scenario's ONNX model (input ``(1, channels, rate)``) on the
    latest 1 s window at every sample once the window is full: one row of 2 class
    probabilities per input sample.
``wearable``
    The same band-pass, then log10 band power (8-13 and 13-30 Hz, Hann-windowed periodogram of
    the latest 1 s) every 0.1 s once the window is full: one row of ``2 * channels`` values.

The benchmark's producer and client are the same as for bci-bridge and the floor; the peers'
scripts live in ``benchmarks/peers`` of the source checkout, one venv per peer.

:data:`PEERS` maps a peer name to a function of the work returning the argv prefix that
launches it, or ``None`` when the peer is not installed or has no script for that work (the
function logs why). Peers register themselves from the modules of this package, which
:func:`available_peers` imports.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from collections.abc import Callable

__all__ = ["PEERS", "WORKS", "available_peers"]

log = logging.getLogger(__name__)

#: The scenario works that peers run.
WORKS = ("relay", "decode", "wearable")

#: Peer name -> function of the work returning the argv prefix to launch it, or None.
PEERS: dict[str, Callable[[str], list[str] | None]] = {}

#: Modules of this package that are helpers, not peers.
_HELPERS = frozenset({"venv"})


def _load_peer_modules() -> None:
    """Import every peer module of this package (each adds its entry to :data:`PEERS`)."""
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _HELPERS:
            importlib.import_module(f"{__name__}.{info.name}")


def available_peers(work: str = "relay") -> dict[str, list[str]]:
    """Return the peers installed for ``work`` and their argv prefixes (logging the others).

    Parameters
    ----------
    work : {"relay", "decode", "wearable"}
        The scenario's work.

    Raises
    ------
    ValueError
        For a work that peers do not run.
    """
    if work not in WORKS:
        raise ValueError(f"peers run {', '.join(WORKS)}, not {work!r}")
    _load_peer_modules()
    found: dict[str, list[str]] = {}
    for name, locate in PEERS.items():
        prefix = locate(work)
        if prefix is None:
            log.warning("peer %s is not available for %s; skipped", name, work)
        else:
            found[name] = prefix
    return found
