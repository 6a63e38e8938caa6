"""What a node does about overruns: its ``on_overrun`` policy, each action counted.

A step that takes longer than the node's ``budget_ms`` is an overrun. Every overrun is
counted and logged at a bounded rate (one line per node per :data:`LOG_EVERY_S`, with the
step time, the budget and the overruns since the last line). Then the policy acts:

``warn``
    Nothing more: the overrun is counted as a ``warn`` action.
``skip``
    A node that overran its last step is *behind*. When it is behind and more than one chunk
    waits for it, it steps only on the newest; the older chunks are skipped (``skip`` counts
    the coalescings, ``skipped_samples`` the input samples never stepped on). Latency does not
    pile up; the module misses the skipped data.
``fallback``
    As ``skip``, but each skipped chunk is stood in for by the node's last good output,
    re-emitted with the newest timestamp of the chunk it stands for and marked stale
    (:attr:`Chunk.stale`, :data:`~bci_bridge.wire.FLAG_STALE` on the wire). ``fallback``
    counts the stale outputs, ``fallback_samples`` the input samples stood in for. Stand-ins
    go to the node's outputs, not to the nodes downstream.
``disable``
    After ``max_overruns`` overruns in a row the node is taken out (``disable``); its input
    is counted as ``disabled_samples``. With ``reenable_s`` it runs again that long after
    (``reenable``), its count of overruns in a row reset.

For every node: ``samples_in == samples_processed + skipped_samples + fallback_samples +
disabled_samples``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bci_bridge.config import NodeConfig
from bci_bridge.stream import Chunk

__all__ = ["LOG_EVERY_S", "Policy"]

log = logging.getLogger(__name__)

#: At most one overrun log line per node this often, seconds.
LOG_EVERY_S = 5.0


class Policy:
    """The overrun policy of one node, with its counters.

    Parameters
    ----------
    config : NodeConfig
        The node: its name, ``budget_ms``, ``on_overrun``, ``max_overruns``, ``reenable_s``.
    clock : callable, optional
        Monotonic clock in seconds (``time.monotonic``).
    """

    __slots__ = (
        "_clock",
        "_coalesce",
        "_last_log",
        "_unlogged",
        "_worst_ns",
        "behind",
        "config",
        "disabled",
        "disabled_at",
        "disabled_samples",
        "disables",
        "fallback_samples",
        "fallbacks",
        "in_a_row",
        "reenables",
        "skipped_samples",
        "skips",
        "warns",
    )

    def __init__(self, config: NodeConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._coalesce = config.on_overrun in ("skip", "fallback")
        self._last_log = -float("inf")
        self._unlogged = 0
        self._worst_ns = 0.0
        self.behind = False
        self.in_a_row = 0
        self.disabled = False
        self.disabled_at = 0.0
        self.warns = 0
        self.skips = 0
        self.skipped_samples = 0
        self.fallbacks = 0
        self.fallback_samples = 0
        self.disables = 0
        self.disabled_samples = 0
        self.reenables = 0

    def active(self, chunks: list[Chunk]) -> bool:
        """Return whether the node runs on ``chunks``; if disabled, count them as not run."""
        if not self.disabled:
            return True
        reenable_s = self.config.reenable_s
        if reenable_s is not None and self._clock() - self.disabled_at >= reenable_s:
            self.disabled = False
            self.behind = False
            self.in_a_row = 0
            self.reenables += 1
            log.warning("node %r re-enabled after %g s", self.config.name, reenable_s)
            return True
        self.disabled_samples += sum(c.n_samples for c in chunks)
        return False

    def select(self, chunks: list[Chunk]) -> tuple[list[Chunk], list[Chunk]]:
        """Split waiting chunks into those to step on and those left out (oldest first).

        Returns
        -------
        run : list of Chunk
            The chunks to step on: all of them, or only the newest when the node is behind
            and its policy is ``skip`` or ``fallback``.
        left : list of Chunk
            The older chunks skipped (``skip``) or to stand in for (``fallback``), counted.
        """
        if not (self._coalesce and self.behind and len(chunks) > 1):
            return chunks, []
        left = chunks[:-1]
        n = sum(c.n_samples for c in left)
        if self.config.on_overrun == "skip":
            self.skips += 1
            self.skipped_samples += n
        else:
            self.fallback_samples += n
        return chunks[-1:], left

    def on_time(self) -> None:
        """Record a step within budget."""
        self.behind = False
        self.in_a_row = 0

    def overrun(self, dt_ns: float, overruns: int) -> None:
        """Record a step over budget and act on it.

        Parameters
        ----------
        dt_ns : float
            How long the step took, nanoseconds.
        overruns : int
            The node's overruns so far, this one included (for the log line).
        """
        self.behind = True
        self.in_a_row += 1
        self._unlogged += 1
        self._worst_ns = max(self._worst_ns, dt_ns)
        cfg = self.config
        if cfg.on_overrun == "warn":
            self.warns += 1
        now = self._clock()
        if now - self._last_log >= LOG_EVERY_S:
            log.warning(
                "node %r: step took %.3f ms (worst %.3f ms) over its %.3g ms budget; "
                "%d overrun(s) since the last line, %d in all (on_overrun = %r)",
                cfg.name,
                dt_ns / 1e6,
                self._worst_ns / 1e6,
                cfg.budget_ms,
                self._unlogged,
                overruns,
                cfg.on_overrun,
            )
            self._last_log = now
            self._unlogged = 0
            self._worst_ns = 0.0
        if cfg.on_overrun == "disable" and self.in_a_row >= cfg.max_overruns:
            self.disabled = True
            self.disabled_at = now
            self.disables += 1
            again = f"re-enabled in {cfg.reenable_s:g} s" if cfg.reenable_s else "for good"
            log.error(
                "node %r disabled after %d overruns in a row (max_overruns = %d), %s",
                cfg.name,
                self.in_a_row,
                cfg.max_overruns,
                again,
            )

    def stood_in(self) -> None:
        """Count one stale stand-in output emitted (``fallback``)."""
        self.fallbacks += 1

    def actions(self) -> dict[str, int]:
        """Return the policy's counters as a JSON-ready dict."""
        return {
            "warn": self.warns,
            "skip": self.skips,
            "skipped_samples": self.skipped_samples,
            "fallback": self.fallbacks,
            "fallback_samples": self.fallback_samples,
            "disable": self.disables,
            "disabled_samples": self.disabled_samples,
            "reenable": self.reenables,
        }
