"""Where the peers live: their venvs (``.venv-peers/NAME``) and scripts (``benchmarks/peers``).

``benchmarks/peers/setup.sh`` installs each peer into its own venv under the peers root,
``$BCI_BRIDGE_PEERS_DIR`` or, by default, ``.venv-peers`` at the top of the checkout. The peers'
scripts are files of the checkout too, so peers run from a source checkout only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["PEERS_DIR_ENV", "RECIPE", "REPO", "peer_python", "peer_script", "peers_root"]

log = logging.getLogger(__name__)

#: Environment variable naming the folder that holds one venv per peer.
PEERS_DIR_ENV = "BCI_BRIDGE_PEERS_DIR"
#: Top of the source checkout this package was imported from.
REPO = Path(__file__).resolve().parents[3]
#: Written by ``setup.sh`` once a peer's venv is installed and imports cleanly.
_MARKER = ".bci-bridge-peer-ok"
#: What the marker holds: the version of ``setup.sh``'s recipe (2: with onnxruntime, for decode).
RECIPE = "2"


def peers_root() -> Path:
    """Return the folder of the peer venvs: ``$BCI_BRIDGE_PEERS_DIR``, else ``.venv-peers``."""
    configured = os.environ.get(PEERS_DIR_ENV)
    return Path(configured) if configured else REPO / ".venv-peers"


def peer_python(name: str) -> Path | None:
    """Return the Python of peer ``name``'s venv, or None (logged at INFO) if not installed."""
    venv = peers_root() / name
    python = venv / "bin" / "python"
    if not python.is_file():
        log.info(
            "peer %s: no venv at %s (run benchmarks/peers/setup.sh %s; %s sets the folder)",
            name,
            venv,
            name,
            PEERS_DIR_ENV,
        )
        return None
    marker = venv / _MARKER
    if not marker.is_file():
        log.info(
            "peer %s: the venv at %s is incomplete (setup.sh did not finish); rerun "
            "benchmarks/peers/setup.sh %s",
            name,
            venv,
            name,
        )
        return None
    if marker.read_text().strip() != RECIPE:
        log.info(
            "peer %s: the venv at %s was made by an older setup.sh; delete it and rerun "
            "benchmarks/peers/setup.sh %s",
            name,
            venv,
            name,
        )
        return None
    return python


def peer_script(name: str) -> Path | None:
    """Return ``benchmarks/peers/NAME`` of the checkout, or None (logged at INFO) if absent."""
    path = REPO / "benchmarks" / "peers" / name
    if not path.is_file():
        log.info("peer script %s not found: peers run from a source checkout of bci-bridge", path)
        return None
    return path
