"""The runtime's per-window budget as a constraint on training: candidates over it are skipped.

The runtime gives a module about 1 ms of one thread per window. A family whose cost grows with
its settings (the random convolutions: features x window samples) estimates one window's cost
from its settings and window shape alone, before it is fitted, and refuses with
:class:`OverBudget` when the estimate exceeds its ``max_window_us`` setting. The estimate is a
deterministic model (never a timing taken during training), so the same recipe always skips the
same candidates; its constants come from ``benchmarks/family_windows.py`` on the 2-core
development machine (p50 of one window, one onnxruntime thread). Selection
(:mod:`decoders.training.selection`) reports an over-budget candidate as skipped, with the
estimate, and chooses among the rest.
"""

from __future__ import annotations

from bci_bridge.errors import ConfigError

__all__ = ["DEFAULT_WINDOW_US", "OverBudget", "check_budget"]

#: Default bound on the estimated p50 of one window (microseconds): well inside the runtime's
#: 1 ms per module, leaving room for the load of a shared machine.
DEFAULT_WINDOW_US = 600.0


class OverBudget(ConfigError):
    """A candidate whose estimated window cost exceeds its bound (``key``: the bound's name)."""


def check_budget(estimate_us: float, bound_us: float, what: str) -> None:
    """Refuse ``what`` when ``estimate_us`` exceeds ``bound_us``.

    Raises
    ------
    OverBudget
        With ``key`` ``max_window_us``, naming the estimate, the bound and the fix.
    """
    if estimate_us > bound_us:
        raise OverBudget(
            f"{what}: one window is estimated at {estimate_us:.0f} us on one thread, over the "
            f"{bound_us:g} us bound; use fewer features or a lower rate, or raise max_window_us",
            key="max_window_us",
        )
