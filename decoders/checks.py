"""Checks shared by the built-in modules' ``Config`` classes and ``prepare()`` methods."""

from __future__ import annotations

import math

from bci_bridge.errors import ConfigError
from bci_bridge.stream import StreamInfo

__all__ = ["check_budget", "require_regular"]


def check_budget(budget_ms: float) -> None:
    """Refuse a time budget that is not a positive, finite number of milliseconds.

    Raises
    ------
    ConfigError
        With ``key="budget_ms"``.
    """
    if not (isinstance(budget_ms, int | float) and math.isfinite(budget_ms) and budget_ms > 0):
        raise ConfigError(f"must be a positive number of ms, got {budget_ms!r}", key="budget_ms")


def require_regular(info: StreamInfo, module: str) -> float:
    """Return the input's sample rate in Hz, refusing an irregular stream (``sfreq == 0``).

    Parameters
    ----------
    info : StreamInfo
        The input stream.
    module : str
        The module's name, for the message.

    Raises
    ------
    ConfigError
        If the stream has no nominal sample rate.
    """
    if info.sfreq <= 0:
        raise ConfigError(
            f"{module} needs a regularly sampled input, but stream {info.name!r} is irregular "
            "(sfreq = 0)"
        )
    return float(info.sfreq)
