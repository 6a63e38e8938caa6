"""Stream sessions: one random 32-bit number per start of a producer.

A bridge (or a device host) draws a new session each time it starts and announces it in its
stream info and on every frame's header. A receiver that sees the session change knows that
the producer restarted, its sample count with it, and counts the gap from the timestamps.
"""

from __future__ import annotations

import secrets

__all__ = ["new_session"]


def new_session() -> int:
    """Return a fresh session number, uniformly drawn in ``[1, 2**32)`` (0 means unknown)."""
    return secrets.randbits(32) or 1
