"""Pre-warm low-rate nodes: a throw-away run of the module shortly before its next step.

A node stepped every few tens of milliseconds (a decoder after a band power with a 40 ms hop)
finds its code and data gone from the CPU's caches at each step: the step is *cold* and can
take many times a back-to-back one (see :data:`runtime.node.COLD_GAP_NS`). With the node
option ``prewarm_ms = X``, the runtime learns the node's step interval (between the ends of
its last two steps) and, ``X`` ms before the next step is due, calls the module's
``prewarm()``: a run on the module's own buffers that leaves its state as it was. Its output
is discarded, its time is not a step, and it is counted in the node's ``prewarms``. The loop
wakes for it: while a prewarm is pending, it waits for input at most until then.

Only modules that offer ``prewarm()`` take the option (the ``onnx`` module does): a stateful
filter cannot be run on a dummy input without changing what it outputs next. Nodes stepped
less than :data:`~runtime.node.COLD_GAP_NS` apart are warm anyway: no prewarm is scheduled.
"""

from __future__ import annotations

import math
import time

from runtime.node import COLD_GAP_NS, Node

__all__ = ["Prewarmer"]


class _Slot:
    """One node's prewarm schedule."""

    __slots__ = ("due_ns", "lead_ns", "node", "seen_calls", "seen_end_ns")

    def __init__(self, node: Node) -> None:
        self.node = node
        self.lead_ns = node.config.prewarm_ms * 1e6
        self.seen_calls = 0
        self.seen_end_ns = 0
        self.due_ns = math.inf  # when to prewarm; inf: nothing scheduled

    def observe(self) -> None:
        """Reschedule after the node's latest steps (one prewarm per expected step)."""
        node = self.node
        calls = node.calls
        if calls == self.seen_calls:
            return
        end = node.step_ended_ns
        if self.seen_calls:
            interval = (end - self.seen_end_ns) / (calls - self.seen_calls)
            # Nodes stepped back to back are warm anyway; others get one prewarm per step.
            self.due_ns = end + interval - self.lead_ns if interval > COLD_GAP_NS else math.inf
        self.seen_calls, self.seen_end_ns = calls, end


class Prewarmer:
    """The prewarm schedules of a pipeline's nodes with ``prewarm_ms`` set.

    Parameters
    ----------
    nodes : list of Node
        The pipeline's nodes; those without ``prewarm_ms`` are left alone.
    """

    __slots__ = ("_perf", "_slots")

    def __init__(self, nodes: list[Node]) -> None:
        self._slots = [_Slot(n) for n in nodes if n.config.prewarm_ms > 0]
        self._perf = time.perf_counter_ns

    def __bool__(self) -> bool:
        return bool(self._slots)

    def run_due(self, limit_ms: int) -> int:
        """Prewarm the nodes whose time has come; return how long to wait at most, ms.

        Parameters
        ----------
        limit_ms : int
            The longest wait the caller would make anyway.

        Returns
        -------
        int
            Milliseconds until the next prewarm (rounded up), at most ``limit_ms``.
        """
        wait_ns = limit_ms * 1e6
        now = self._perf()
        for slot in self._slots:
            slot.observe()
            if now >= slot.due_ns:
                slot.due_ns = math.inf
                slot.node.prewarm()
            elif slot.due_ns - now < wait_ns:
                wait_ns = slot.due_ns - now
        return math.ceil(wait_ns / 1e6)
