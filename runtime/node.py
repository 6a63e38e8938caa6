"""A pipeline node at run time: one module, its timing, its budget, its failures.

``push`` is the hot path: call the module, time it, count an overrun, hand the output to the
sinks and to the nodes downstream. A module that raises is reported by name and isolated:
that chunk produces nothing, the rest of the pipeline runs on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from bci_bridge.config import NodeConfig
from bci_bridge.errors import ModuleStepError
from bci_bridge.stream import Chunk, StreamInfo
from runtime.histogram import Histogram

__all__ = ["Node"]

log = logging.getLogger(__name__)

Sink = Callable[[Chunk], None]


class Node:
    """Run one module inside the pipeline.

    Parameters
    ----------
    config : NodeConfig
        The validated node (name, plugin class, its Config, budget, overrun policy).
    """

    __slots__ = (
        "_budget_ns",
        "_perf",
        "_step",
        "call_ns",
        "calls",
        "children",
        "config",
        "disabled",
        "errors",
        "first_error",
        "info",
        "module",
        "name",
        "outputs",
        "overruns",
        "sinks",
        "stepping_since",
        "stuck",
    )

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.name = config.name
        self.module: Any = config.plugin(config.config)
        self._step: Callable[[Chunk], Chunk | None] = self.module.step
        self._budget_ns = config.budget_ms * 1e6
        self._perf = time.perf_counter_ns
        self.children: list[Node] = []
        self.sinks: list[Sink] = []
        self.call_ns = Histogram()
        self.calls = 0
        self.outputs = 0
        self.overruns = 0
        self.errors = 0
        self.first_error: ModuleStepError | None = None
        self.disabled = False
        self.info: StreamInfo | None = None
        # Watchdog hook (runtime.watchdog): when the running step began (perf ns), 0 if none.
        self.stepping_since = 0
        self.stuck = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Prepare the module for its input stream; return and keep its output info."""
        self.info = self.module.prepare(info)
        assert self.info is not None, f"{self.name}: prepare() returned None"
        return self.info

    def push(self, chunk: Chunk) -> None:
        """Run the module on ``chunk`` and pass its output on (hot path)."""
        if self.disabled:
            return
        t0 = self.stepping_since = self._perf()
        try:
            out = self._step(chunk)
        except Exception as exc:  # isolated and reported by name, never swallowed
            self.stepping_since = 0
            self._failed(exc)
            return
        self.stepping_since = 0
        dt = self._perf() - t0
        self.calls += 1
        self.call_ns.add(dt)
        if dt > self._budget_ns:
            self._overrun(dt)
        if out is not None:
            self._emit(out)

    def _emit(self, out: Chunk) -> None:
        self.outputs += out.n_samples
        for sink in self.sinks:
            sink(out)
        for child in self.children:
            child.push(out)

    def markers(self, labels: tuple[str, ...], timestamps: Any) -> None:
        """Hand markers to the module's ``on_markers``; pass on what it emits at once."""
        if self.disabled:
            return
        self.stepping_since = self._perf()
        try:
            out = self.module.on_markers(labels, timestamps)
        except Exception as exc:  # isolated and reported by name, like step()
            self.stepping_since = 0
            self._failed(exc)
            return
        self.stepping_since = 0
        if out is not None:
            self._emit(out)

    def _failed(self, exc: Exception) -> None:
        self.errors += 1
        err = ModuleStepError(self.name, exc)
        if self.first_error is None:
            self.first_error = err
            log.error("%s (further errors of this node are counted, not logged)", err, exc_info=exc)

    def _overrun(self, dt_ns: float) -> None:
        self.overruns += 1
        if self.config.on_overrun == "disable":
            self.disabled = True
            log.error(
                "node %r took %.3f ms, over its %.3f ms budget; disabled (on_overrun = 'disable')",
                self.name,
                dt_ns / 1e6,
                self.config.budget_ms,
            )

    def summary(self) -> dict[str, object]:
        """Return the node's counters and call-time percentiles as a JSON-ready dict."""
        return {
            "module": self.config.module,
            "budget_ms": self.config.budget_ms,
            "calls": self.calls,
            "outputs": self.outputs,
            "overruns": self.overruns,
            "errors": self.errors,
            "first_error": str(self.first_error) if self.first_error else None,
            "disabled": self.disabled,
            "stuck": self.stuck,
            "call_ms": self.call_ns.summary_ms(),
            "module_stats": self._module_stats(),
        }

    def _module_stats(self) -> dict[str, object] | None:
        stats = getattr(self.module, "stats", None)
        return dict(stats()) if callable(stats) else None
