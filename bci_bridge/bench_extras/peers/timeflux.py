"""The Timeflux peer: ``benchmarks/peers/timeflux_run.py`` in the Timeflux venv, one app per work.

Timeflux 0.17.2 needs pylsl 1.16 (1.18 removed ``resolve_stream``), whose wheels ship no
liblsl: the launcher loads the liblsl that this environment's pylsl 1.18 ships, passed as
``--pylsl-lib``.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from bci_bridge.bench_extras.peers import PEERS
from bci_bridge.bench_extras.peers.venv import peer_python, peer_script

__all__ = ["pylsl_liblsl", "timeflux_argv"]

log = logging.getLogger(__name__)


def pylsl_liblsl() -> Path | None:
    """Return the liblsl shipped by this environment's pylsl, or None (logged at INFO)."""
    spec = importlib.util.find_spec("pylsl")
    if spec is None or not spec.submodule_search_locations:
        log.info("peer timeflux: pylsl is not installed here, so there is no liblsl to lend it")
        return None
    lib_dir = Path(next(iter(spec.submodule_search_locations))) / "lib"
    for candidate in (lib_dir / "liblsl.so", *sorted(lib_dir.glob("liblsl*.so*"))):
        if candidate.is_file():
            return candidate
    log.info("peer timeflux: pylsl ships no liblsl in %s", lib_dir)
    return None


def timeflux_argv(work: str = "relay") -> list[str] | None:
    """Return the argv prefix that runs ``work`` in Timeflux, or None if it is not installed.

    Parameters
    ----------
    work : {"relay", "decode", "wearable"}
        The scenario's work; the application is ``benchmarks/peers/timeflux_<work>.yaml``,
        launched by ``benchmarks/peers/timeflux_run.py``.
    """
    python = peer_python("timeflux")
    script = peer_script("timeflux_run.py")
    app = peer_script(f"timeflux_{work}.yaml")
    if python is None or script is None or app is None:
        return None
    liblsl = pylsl_liblsl()
    if liblsl is None:
        return None
    return [str(python), str(script), "--app", str(app), "--pylsl-lib", str(liblsl)]


PEERS["timeflux"] = timeflux_argv
