"""Which LSL configuration a process uses, as liblsl finds it, and how to say so in errors.

bci-bridge commands use the user's LSL configuration like every LSL app: liblsl reads the file
named by ``LSLAPICFG`` when that is set, else the first readable of ``./lsl_api.cfg``,
``~/lsl_api/lsl_api.cfg`` and ``/etc/lsl_api/lsl_api.cfg``, else its built-in defaults. The
``SessionID`` in the ``[lab]`` section decides which streams can see each other at all, so an
error about a stream that was not found names both.

This module only reads files: it never loads liblsl, so it is safe to call before (or without)
any outlet or inlet.
"""

from __future__ import annotations

import configparser
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_SESSION_ID", "LslConfig", "describe_lsl_config", "effective_lsl_config"]

#: liblsl's ``SessionID`` when no config file sets one.
DEFAULT_SESSION_ID = "default"

#: Where liblsl looks when ``LSLAPICFG`` is unset, in order (``~`` is the user's home).
_SEARCH = ("lsl_api.cfg", "~/lsl_api/lsl_api.cfg", "/etc/lsl_api/lsl_api.cfg")


@dataclass(frozen=True, slots=True)
class LslConfig:
    """The LSL configuration in effect.

    Parameters
    ----------
    path : Path or None
        The config file liblsl reads; None for liblsl's built-in defaults.
    session_id : str
        The ``[lab] SessionID`` it sets (``"default"`` unless the file says otherwise).
    from_env : bool
        Whether ``LSLAPICFG`` named the file.
    unreadable : str
        A ``LSLAPICFG`` that names no readable file (liblsl ignores it), else ``""``.
    """

    path: Path | None
    session_id: str
    from_env: bool
    unreadable: str = ""

    def describe(self) -> str:
        """Say in one sentence which config is in effect and how to change it."""
        where = f"file {self.path}" if self.path is not None else "liblsl defaults"
        if self.from_env:
            source = " (from LSLAPICFG)"
        elif self.path is not None:
            source = " (found by liblsl's search, LSLAPICFG unset)"
        else:
            source = " (LSLAPICFG unset, no lsl_api.cfg found)"
        if self.unreadable:
            source = f" (LSLAPICFG={self.unreadable} is not a readable file, so liblsl ignores it)"
        return (
            f"LSL config: {where}{source}, SessionID {self.session_id!r}; only streams with the "
            "same SessionID are visible: set LSLAPICFG to another lsl_api.cfg (or edit [lab] "
            "SessionID in it) to change them"
        )


def effective_lsl_config(
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home: Path | None = None,
) -> LslConfig:
    """Return the LSL config liblsl would use, found the way liblsl finds it.

    Parameters
    ----------
    environ : mapping, optional
        The environment (default: ``os.environ``); only ``LSLAPICFG`` is read.
    cwd : Path, optional
        The working folder for ``./lsl_api.cfg`` (default: the current one).
    home : Path, optional
        The home folder for ``~/lsl_api/lsl_api.cfg`` (default: the user's).

    Returns
    -------
    LslConfig
        The file (or None for liblsl's defaults) and the SessionID it sets.
    """
    env = os.environ if environ is None else environ
    named = env.get("LSLAPICFG", "")
    if named:
        path = Path(named)
        if path.is_file():
            return LslConfig(path, _session_id(path), from_env=True)
    base = Path.cwd() if cwd is None else cwd
    user = Path.home() if home is None else home
    for entry in _SEARCH:
        candidate = user / entry[2:] if entry.startswith("~/") else base / entry
        if candidate.is_file():
            return LslConfig(candidate, _session_id(candidate), False, named)
    return LslConfig(None, DEFAULT_SESSION_ID, False, named)


def describe_lsl_config() -> str:
    """Describe this process's LSL config (see :meth:`LslConfig.describe`)."""
    return effective_lsl_config().describe()


def _session_id(path: Path) -> str:
    """Read ``[lab] SessionID`` from an lsl_api.cfg (liblsl's INI dialect: ``;`` comments)."""
    parser = configparser.ConfigParser(
        inline_comment_prefixes=(";",), strict=False, interpolation=None
    )
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return DEFAULT_SESSION_ID
    return parser.get("lab", "SessionID", fallback=DEFAULT_SESSION_ID).strip() or (
        DEFAULT_SESSION_ID
    )
