"""A pipeline node at run time: one module, its timing, its budget, its failures.

``run`` is the hot path: let the overrun policy pick which waiting chunks to step on, call
the module on each, time it, check its output, hand good outputs to the sinks and then, as one
batch, to the nodes downstream. A module that raises, or returns a chunk that breaks the
contract, is reported by name and isolated: that chunk produces nothing, the rest of the
pipeline runs on. What a node does about overruns lives in :mod:`runtime.policy`.

Each step's time goes into ``call_ns`` (every call, as it happened: what the budget is held
to) and is told **cold** or **warm**: a step that starts more than :data:`COLD_GAP_NS` after
the node's previous step ended (or the node's first) is cold: its code and data have likely
left the CPU's caches and the core may have slowed down in between, so it can take many times
a back-to-back step. The report shows both (``step_us_cold``, ``step_us_warm``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from bci_bridge.config import NodeConfig
from bci_bridge.errors import ModuleOutputError, ModuleStepError
from bci_bridge.stream import Chunk, StreamInfo
from runtime.histogram import Histogram
from runtime.output_check import OutputCheck
from runtime.policy import Policy

__all__ = ["COLD_GAP_NS", "Consumer", "Node"]

log = logging.getLogger(__name__)

Sink = Callable[[Chunk], None]
Step = Callable[[Chunk], Chunk | None]


class Consumer(Protocol):
    """What reads a node's outputs or an input's chunks: a node, or a fan-in's port."""

    def run(self, chunks: list[Chunk], /) -> None:
        """Take a batch of chunks, oldest first."""


#: A step starting more than this long (ns) after the node's previous step ended is cold.
COLD_GAP_NS = 5_000_000


class Node:
    """Run one module inside the pipeline.

    Parameters
    ----------
    config : NodeConfig
        The validated node (name, plugin class, its Config, budget, overrun policy).
    """

    __slots__ = (
        "_budget_ns",
        "_check",
        "_keeps_last",
        "_last_good",
        "_perf",
        "_step",
        "bad_outputs",
        "call_ns",
        "calls",
        "children",
        "cold_ns",
        "config",
        "errors",
        "first_error",
        "info",
        "module",
        "name",
        "outputs",
        "overruns",
        "policy",
        "prewarms",
        "restarts",
        "samples_processed",
        "sinks",
        "step_ended_ns",
        "stepping_since",
        "stuck",
        "warm_max_ns",
    )

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.name = config.name
        self.module: Any = config.plugin(config.config)
        self._step: Step = self.module.step
        self._budget_ns = config.budget_ms * 1e6
        self._perf = time.perf_counter_ns
        self._check: OutputCheck
        self._last_good: Chunk | None = None
        self._keeps_last = config.on_overrun == "fallback"
        self.policy = Policy(config)
        self.children: list[Consumer] = []
        self.sinks: list[Sink] = []
        self.call_ns = Histogram()
        # Cold steps apart; the warm ones are the rest (``call_ns`` less these), whose exact
        # maximum is kept here: one histogram insert per warm step, as before the split.
        self.cold_ns = Histogram()
        self.warm_max_ns = 0.0
        self.step_ended_ns = -COLD_GAP_NS - 1  # when the previous step ended (perf ns)
        self.prewarms = 0  # throw-away runs before expected steps (runtime.prewarm)
        self.calls = 0
        self.samples_processed = 0
        self.outputs = 0
        self.overruns = 0
        self.errors = 0
        self.bad_outputs = 0
        self.restarts = 0
        self.first_error: ModuleStepError | None = None
        self.info: StreamInfo | None = None
        # Watchdog hook (runtime.watchdog): when the running step began (perf ns), 0 if none.
        self.stepping_since = 0
        self.stuck = 0

    @property
    def samples_in(self) -> int:
        """Samples handed to the node: processed, skipped, stood in for or not run (disabled)."""
        p = self.policy
        return self.samples_processed + p.skipped_samples + p.fallback_samples + p.disabled_samples

    @property
    def disabled(self) -> bool:
        """Whether the ``disable`` policy has taken the node out (for now)."""
        return self.policy.disabled

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Prepare the module for its input stream; return and keep its output info."""
        self.info = self.module.prepare(info)
        assert self.info is not None, f"{self.name}: prepare() returned None"
        self._check = OutputCheck(self.info)
        return self.info

    def wrap_step(self, wrap: Callable[[Step], Step]) -> None:
        """Replace the module's step by ``wrap(step)`` (a fan-in's guard, runtime.fan_in)."""
        self._step = wrap(self._step)

    def push(self, chunk: Chunk) -> None:
        """Run the module on one chunk and pass its output on."""
        self.run([chunk])

    def run(self, chunks: list[Chunk]) -> None:
        """Run the module on the chunks waiting for it (oldest first); pass the outputs on."""
        policy = self.policy
        if policy.disabled and not policy.active(chunks):
            return
        if policy.behind and len(chunks) > 1:
            chunks, left = policy.select(chunks)
            if left:
                self._stand_in(left)
        outs: list[Chunk] = []
        for i, chunk in enumerate(chunks):
            out = self._call(chunk)
            if out is not None:
                self._emit(out)
                outs.append(out)
            if policy.disabled:  # taken out by this step's overrun: the rest is not run
                policy.active(chunks[i + 1 :])
                break
        if outs:
            for child in self.children:
                child.run(outs)

    def _call(self, chunk: Chunk) -> Chunk | None:
        self.samples_processed += len(chunk.data)
        perf = self._perf
        t0 = self.stepping_since = perf()
        try:
            out = self._step(chunk)
        except Exception as exc:  # isolated and reported by name, never swallowed
            self.stepping_since = 0
            self.step_ended_ns = perf()
            self._failed(ModuleStepError(self.name, exc), exc)
            return None
        self.stepping_since = 0
        t1 = perf()
        self.count_step(t1 - t0, t0 - self.step_ended_ns)
        self.step_ended_ns = t1
        if out is None or not self._accept(out):
            return None
        return out

    def _accept(self, out: Chunk) -> bool:
        """Check an output against the node's info; a bad one is the node's error, not passed on."""
        problem = self._check.problem(out)
        if problem is not None:
            self.bad_outputs += 1
            self._failed(ModuleOutputError(self.name, problem), None)
            return False
        if self._keeps_last:  # fallback re-emits it; other policies hold no output alive
            self._last_good = out
        return True

    def _pass_on(self, out: Chunk) -> None:
        """Hand one accepted output to the sinks and to the nodes downstream."""
        self._emit(out)
        for child in self.children:
            child.run([out])

    def _emit(self, out: Chunk) -> None:
        self.outputs += len(out.data)
        for sink in self.sinks:
            sink(out)

    def _stand_in(self, left: list[Chunk]) -> None:
        """Re-emit the last good output, marked stale, for each chunk not stepped on."""
        last = self._last_good
        if last is None or self.config.on_overrun != "fallback":
            return
        row = last.data[-1:]
        for chunk in left:
            stamp = np.full(1, chunk.timestamps[-1], np.float64)
            for sink in self.sinks:
                sink(Chunk(row, stamp, last.seq, stale=True))
            self.policy.stood_in()

    def prewarm(self) -> None:
        """Run the module's ``prewarm()``: a throw-away run that leaves its state as it was.

        Not a step: not timed, not a call; counted in ``prewarms`` (see :mod:`runtime.prewarm`).
        An exception is the node's error, as in a step.
        """
        if self.disabled:
            return
        self.stepping_since = self._perf()  # a prewarm that hangs is the watchdog's, as a step
        try:
            self.module.prewarm()
        except Exception as exc:  # isolated and reported by name, like step()
            self.stepping_since = 0
            self._failed(ModuleStepError(self.name, exc), exc)
            return
        self.stepping_since = 0
        self.prewarms += 1

    def markers(self, labels: tuple[str, ...], timestamps: Any) -> None:
        """Hand markers to the module's ``on_markers``; pass on what it emits at once."""
        if self.disabled:
            return
        self.stepping_since = self._perf()
        try:
            out = self.module.on_markers(labels, timestamps)
        except Exception as exc:  # isolated and reported by name, like step()
            self.stepping_since = 0
            self._failed(ModuleStepError(self.name, exc), exc)
            return
        self.stepping_since = 0
        if out is not None and self._accept(out):
            self._pass_on(out)

    def _failed(self, err: ModuleStepError, exc: Exception | None) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = err
            log.error("%s (further errors of this node are counted, not logged)", err, exc_info=exc)

    def count_step(self, dt_ns: float, gap_ns: float) -> None:
        """Record one step's time, cold or warm, against the budget; let the policy act.

        Inline steps come here from :meth:`_call`; an isolated node's, timed by its worker,
        from :class:`runtime.isolated.IsolatedNode`.

        Parameters
        ----------
        dt_ns : float
            How long the step took, ns.
        gap_ns : float
            How long the node was idle before it (since its previous step ended), ns.
        """
        self.calls += 1
        self.call_ns.add(dt_ns)
        if gap_ns > COLD_GAP_NS:
            self.cold_ns.add(dt_ns)
        elif dt_ns > self.warm_max_ns:
            self.warm_max_ns = dt_ns
        if dt_ns > self._budget_ns:
            self.overruns += 1
            self.policy.overrun(dt_ns, self.overruns)
        elif self.policy.behind:
            self.policy.on_time()

    @property
    def warm_ns(self) -> Histogram:
        """The warm steps: every step less the cold ones (a new histogram)."""
        return self.call_ns.without(self.cold_ns, max_ns=self.warm_max_ns)

    def summary(self) -> dict[str, object]:
        """Return the node's counters and call-time percentiles as a JSON-ready dict."""
        return {
            "module": self.config.module,
            "input": self.config.input,
            "budget_ms": self.config.budget_ms,
            "on_overrun": self.config.on_overrun,
            "calls": self.calls,
            "samples_in": self.samples_in,
            "samples_processed": self.samples_processed,
            "outputs": self.outputs,
            "overruns": self.overruns,
            "policy_actions": self.policy.actions(),
            "errors": self.errors,
            "bad_outputs": self.bad_outputs,
            "first_error": str(self.first_error) if self.first_error else None,
            "restarts": self.restarts,
            "disabled": self.disabled,
            "step_us": _step_us(self.call_ns),
            "step_us_cold": _step_us(self.cold_ns),
            "step_us_warm": _step_us(self.warm_ns),
            "prewarms": self.prewarms,
            "stuck": self.stuck,
            "call_ms": self.call_ns.summary_ms(),
            "module_stats": self._module_stats(),
        }

    def _module_stats(self) -> dict[str, object] | None:
        stats = getattr(self.module, "stats", None)
        return dict(stats()) if callable(stats) else None


def _step_us(h: Histogram) -> dict[str, float | int]:
    """Return ``count``, and ``p50``, ``p99`` and ``max`` in microseconds if any."""
    out: dict[str, float | int] = {"count": h.count}
    if h.count:
        out.update(
            p50=round(h.percentile(50) / 1e3, 2),
            p99=round(h.percentile(99) / 1e3, 2),
            max=round(h.max_ns / 1e3, 2),
        )
    return out
