"""The units of what feature modules compute from a channel in some unit.

Each function takes a channel's (normalised) unit and returns the unit of the feature, or
``""`` (unknown) when the input's unit is unknown, so that a feature never claims a unit its
input did not state.
"""

from __future__ import annotations

__all__ = ["log_of", "power_density", "squared"]


def squared(unit: str) -> str:
    """Return the unit of a variance or covariance: ``uV`` -> ``uV^2``."""
    return f"{unit}^2" if unit else ""


def power_density(unit: str) -> str:
    """Return the unit of a power spectral density: ``uV`` -> ``uV^2/Hz``."""
    return f"{unit}^2/Hz" if unit else ""


def log_of(unit: str, base: str = "log10") -> str:
    """Return the unit of the log of a quantity in ``unit``: ``uV^2/Hz`` -> ``log10(...)``."""
    return f"{base}({unit})" if unit else ""
