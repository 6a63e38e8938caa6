"""Real-time pacing shared by the devices that play samples on the LSL clock."""

from __future__ import annotations

import time

from bci_bridge.lsl import local_clock

__all__ = ["wait_until"]


def wait_until(due: float, timeout: float) -> float | None:
    """Sleep until the LSL clock reaches ``due``, but no longer than ``timeout`` seconds.

    Parameters
    ----------
    due : float
        LSL clock time to wait for, seconds.
    timeout : float
        Longest wait, seconds.

    Returns
    -------
    float or None
        The LSL clock once ``due`` has passed, or ``None`` if it is not due within ``timeout``.
    """
    now = float(local_clock())
    deadline = now + max(timeout, 0.0)
    while now < due:
        if now >= deadline:
            return None
        time.sleep(min(due, deadline) - now)
        now = float(local_clock())
    return now
