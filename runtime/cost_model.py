"""Refuse at prepare a pipeline that cannot keep up: samples per second x measured cost per sample.

Every inline node whose overrun policy is ``warn`` (the default: a node that falls behind
backlogs, it sheds nothing) is measured once its stream is known. A throwaway instance of its
module, prepared on the same input stream, is stepped on a preallocated synthetic chunk of the
real shape (1 ms of samples, at least one, seeded Gaussian data) for up to
:data:`SPAN_S` seconds of stream or :data:`WALL_S` seconds of wall time, whichever ends first.
The calls before its first output are warm-up (filling a window) and not counted, unless it
never emits: then the cost is a lower bound (a window module's expensive steps come only once
its window is full), and the estimate says so. The node's input rate times its cost per
sample is its load, in cores; the loads
of the nodes on the runtime's thread add up, and the sum must stay within the pipeline's
``max_load`` (``[pipeline] max_load``, 1.0 core by default; 0 turns the check off).

Cost is wall time on the measuring thread minus the time that thread spent waiting for a CPU
(``/proc/thread-self/schedstat``, Linux): a module that blocks or sleeps is charged for it, a
machine busy with other work is not. Elsewhere it is plain wall time.

Not measured, and not counted: nodes with ``on_overrun`` = ``skip``, ``fallback`` or ``disable``
(they shed load by design), nodes with ``isolation = "process"`` (their own process, their own
core; measuring them here would run untrusted code in the runtime), nodes on an irregular
stream (no rate), and nodes whose throwaway instance fails to prepare or step on synthetic
data (the run itself reports such errors). The runtime's own work (receiving, queueing,
sending) is not in the sum either: the estimate is a lower bound of what the thread needs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bci_bridge.config import NodeConfig
from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo

__all__ = [
    "FRAME_S",
    "SPAN_S",
    "WALL_S",
    "LoadEstimate",
    "NodeCost",
    "check_load",
    "estimate_load",
    "measure_node",
]

log = logging.getLogger(__name__)

#: Stream time per synthetic chunk, s (at least one sample).
FRAME_S = 0.001
#: Stream time fed to a node at most, s: long enough for a 1 s window to fill and hop.
SPAN_S = 1.5
#: Wall time spent on one node at most, s.
WALL_S = 0.3
#: Calls counted at least (when the wall-time cap allows).
MIN_CALLS = 5
_SCHEDSTAT = Path("/proc/thread-self/schedstat")


@dataclass(frozen=True, slots=True)
class NodeCost:
    """What one node costs.

    Parameters
    ----------
    node : str
        The node's name.
    us_per_sample : float or None
        Measured cost per input sample, microseconds; None when not measured.
    samples_per_s : float
        Input rate, Hz (0 for an irregular stream).
    load : float
        ``us_per_sample x samples_per_s / 1e6``, in cores (0 when not counted).
    counted : bool
        Whether the load is part of the runtime thread's sum.
    note : str
        Why a node is not counted (empty when it is).
    lower_bound : bool
        The node emitted nothing within the measuring time: only its warm-up was measured.
    """

    node: str
    us_per_sample: float | None
    samples_per_s: float
    load: float
    counted: bool
    note: str = ""
    lower_bound: bool = False

    def describe(self) -> str:
        """Return one line: the node's cost, rate and load, or why it is not counted."""
        if not self.counted:
            return f"{self.node}: not counted ({self.note})"
        line = (
            f"{self.node}: {self.us_per_sample:.3g} us/sample x {self.samples_per_s:g} "
            f"samples/s = {self.load:.3g} core"
        )
        if self.lower_bound:
            line += " (at least: no output yet when measuring stopped)"
        return line


@dataclass(frozen=True, slots=True)
class LoadEstimate:
    """The runtime thread's load, per node and in total.

    Parameters
    ----------
    nodes : tuple of NodeCost
        In pipeline order.
    max_load : float
        The budget in cores (0: the check is off).
    """

    nodes: tuple[NodeCost, ...]
    max_load: float

    @property
    def total(self) -> float:
        """Sum of the counted nodes' loads, cores."""
        return sum(n.load for n in self.nodes if n.counted)

    def describe(self) -> str:
        """Return the estimate as lines: one per node, then the total against the budget."""
        lines = [n.describe() for n in self.nodes]
        lines.append(
            f"total {self.total:.3g} core of the runtime thread (max_load {self.max_load:g})"
        )
        return "\n".join(lines)


def _cpu_wait_ns() -> Callable[[], int]:
    """Return a clock of this thread's time spent waiting for a CPU, ns (0 if unknown)."""
    try:
        _SCHEDSTAT.read_text()
    except OSError:
        return lambda: 0

    def waited() -> int:
        return int(_SCHEDSTAT.read_text().split()[1])

    return waited


def _synthetic(info: StreamInfo, n: int) -> np.ndarray:
    """Return fixed noise of shape (n, n_channels) in the stream's dtype (standard deviation 10).

    A module's cost does not depend on the noise's distribution, so this is the classic
    ``fract(sin(k) * 43758.5453)`` hash, uniform and the same on every run: ``numpy.random``
    would add 2 MB and several milliseconds to every runtime's start-up for this alone.
    """
    k = np.arange(n * info.n_channels, dtype=np.float64).reshape(n, info.n_channels)
    u = np.sin(k * 12.9898 + 78.233) * 43758.5453
    x = (u - np.floor(u) - 0.5) * (10.0 * np.sqrt(12.0))  # uniform [-17.3, 17.3): std 10
    dtype = np.dtype(info.dtype)
    if dtype.kind in "iu":
        x = np.clip(np.round(x), np.iinfo(dtype).min, np.iinfo(dtype).max)
    return np.ascontiguousarray(x.astype(dtype))


def measure_node(
    node: NodeConfig, info: StreamInfo, *, span_s: float = SPAN_S, wall_s: float = WALL_S
) -> tuple[float, bool]:
    """Measure a node's cost per input sample on synthetic data.

    Parameters
    ----------
    node : NodeConfig
        The node; a throwaway instance of its module is made and prepared on ``info``.
    info : StreamInfo
        The node's input stream (regular: ``sfreq > 0``).
    span_s : float
        Stream time to feed at most, seconds.
    wall_s : float
        Wall time to spend stepping at most, seconds (at least :data:`MIN_CALLS` calls).

    Returns
    -------
    us_per_sample : float
        Wall time minus CPU wait, per input sample, microseconds.
    emitted : bool
        Whether the module emitted within the measurement (if not, ``us_per_sample`` covers
        its warm-up only: a lower bound).

    Raises
    ------
    Exception
        Whatever the module's constructor, ``prepare`` or ``step`` raises.
    """
    module = node.plugin(node.config)
    module.prepare(info)
    n = max(1, round(FRAME_S * info.sfreq))
    source = _synthetic(info, n)
    data = source.copy()
    step = module.step
    waited = _cpu_wait_ns()
    perf = time.perf_counter_ns
    calls = max(MIN_CALLS, round(span_s * info.sfreq / n))
    spent: list[int] = []
    first_output = -1
    deadline = perf() + int(wall_s * 1e9)
    for i in range(calls):
        np.copyto(data, source)  # a module may work in place
        chunk = Chunk(data, (np.arange(n) + i * n) / info.sfreq, i)
        w0, t0 = waited(), perf()
        out = step(chunk)
        t1, w1 = perf(), waited()
        spent.append(max(0, (t1 - t0) - (w1 - w0)))
        if first_output < 0 and out is not None:
            first_output = i
        if t1 > deadline and i + 1 >= MIN_CALLS:
            break
    # Calls before the first output filled a window: warm-up, unless nothing came out at all
    # (then only the very first call, which pays for lazy set-up, is left out).
    start = first_output if first_output > 0 else min(1, len(spent) - 1)
    kept = spent[start:]
    return sum(kept) / (len(kept) * n) / 1e3, first_output >= 0


def estimate_load(
    nodes: Iterable[NodeConfig],
    infos: dict[str, StreamInfo],
    max_load: float,
    sources: Mapping[str, StreamInfo] | None = None,
) -> LoadEstimate:
    """Measure every countable node (see the module's docstring); return the estimate.

    Parameters
    ----------
    nodes : iterable of NodeConfig
        In pipeline order.
    infos : dict
        Every input's and node's output stream, by name (the runtime's after prepare).
    max_load : float
        The budget in cores, for the estimate's description.
    sources : mapping, optional
        The stream a node is prepared on where it is not its ``input``'s: a fan-in node's
        sources side by side (:func:`runtime.fan_in.combined_info`), by node name.
    """
    costs: list[NodeCost] = []
    for node in nodes:
        info = (sources or {}).get(node.name) or infos[node.input]
        rate = info.sfreq
        note = ""
        if node.on_overrun != "warn":
            note = f"on_overrun = {node.on_overrun!r} sheds load"
        elif node.isolation != "inline":
            note = "isolation = 'process': its own process"
        elif rate <= 0:
            note = "irregular input: no rate"
        if note:
            costs.append(NodeCost(node.name, None, rate, 0.0, False, note))
            continue
        try:
            us, emitted = measure_node(node, info)
        except Exception as exc:
            log.warning(
                "node %s: not measured for the load check: %s: %s",
                node.name,
                type(exc).__name__,
                exc,
            )
            note = f"its step failed on synthetic data: {type(exc).__name__}"
            costs.append(NodeCost(node.name, None, rate, 0.0, False, note))
            continue
        load = us * rate / 1e6
        costs.append(NodeCost(node.name, us, rate, load, True, lower_bound=not emitted))
    return LoadEstimate(tuple(costs), max_load)


def check_load(
    nodes: Iterable[NodeConfig],
    infos: dict[str, StreamInfo],
    max_load: float,
    source: str = "<string>",
    sources: Mapping[str, StreamInfo] | None = None,
) -> LoadEstimate | None:
    """Estimate the runtime thread's load; refuse a pipeline that cannot keep up.

    Parameters
    ----------
    nodes : iterable of NodeConfig
        In pipeline order.
    infos : dict
        Every input's and node's output stream, by name.
    max_load : float
        Budget in cores; 0 turns the check off (nothing is measured).
    source : str
        The pipeline file, for the error.
    sources : mapping, optional
        Fan-in nodes' combined input streams, by node name (see :func:`estimate_load`).

    Returns
    -------
    LoadEstimate or None
        The estimate (logged at INFO), or None when the check is off.

    Raises
    ------
    ConfigError
        When the counted nodes need more than ``max_load`` cores: the message gives each
        node's cost per sample, rate and load, the total, and the ways out.
    """
    if max_load <= 0:
        return None
    estimate = estimate_load(nodes, infos, max_load, sources)
    for line in estimate.describe().splitlines():
        log.info("load: %s", line)
    if estimate.total > max_load:
        raise ConfigError(
            f"this pipeline cannot keep up: its nodes need {estimate.total:.3g} core(s) of the "
            f"runtime's thread, more than max_load = {max_load:g} (measured at prepare on "
            f"synthetic data):\n  "
            + "\n  ".join(n.describe() for n in estimate.nodes)
            + "\nFixes: fewer channels (a `pick` node first), decimate first (`resample`), a "
            "lighter filter (a lower order), isolate the heaviest node "
            '(isolation = "process"), let it shed load (on_overrun = "skip"), or, knowingly, '
            "raise [pipeline] max_load (0 turns this check off)",
            key="pipeline.max_load",
            file=source,
        )
    return estimate
