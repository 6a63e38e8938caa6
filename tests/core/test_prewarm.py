"""Prewarm schedules: learned from a node's step interval, one prewarm per expected step."""

from __future__ import annotations

import numpy as np

from bci_bridge.config import NodeConfig
from bci_bridge.stream import Chunk, StreamInfo
from runtime.node import COLD_GAP_NS, Node
from runtime.prewarm import Prewarmer

INFO = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=250.0)
MS = 1_000_000


class Warmable:
    """Adds one to its input; counts its prewarms, which change nothing it returns."""

    def __init__(self, config: object) -> None:
        self.prewarmed = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        return info

    def step(self, chunk: Chunk) -> Chunk:
        return Chunk(chunk.data + 1, chunk.timestamps, chunk.seq)

    def prewarm(self) -> None:
        self.prewarmed += 1


class Clock:
    """A perf clock (ns) the test sets."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def make(prewarm_ms: float) -> tuple[Node, Prewarmer, Clock]:
    config = NodeConfig(
        name="decoder",
        module="warmable",
        input="eeg",
        plugin=Warmable,
        config=None,
        budget_ms=1.0,
        on_overrun="warn",
        prewarm_ms=prewarm_ms,
    )
    node = Node(config)
    node.prepare(INFO)
    clock = Clock()
    node._perf = clock
    prewarmer = Prewarmer([node])
    prewarmer._perf = clock
    return node, prewarmer, clock


def step_at(node: Node, clock: Clock, t_ns: int) -> None:
    clock.now = t_ns
    node.push(Chunk(np.zeros((1, 2), np.float32), np.array([t_ns / 1e9]), 0))


def test_one_prewarm_lead_ms_before_each_expected_step() -> None:
    node, prewarmer, clock = make(prewarm_ms=2.0)
    out: list[Chunk] = []
    node.sinks.append(out.append)
    step_at(node, clock, 10 * MS)
    clock.now = 11 * MS
    assert prewarmer.run_due(50) == 50  # one step: no interval known yet
    step_at(node, clock, 30 * MS)
    clock.now = 40 * MS
    # Steps 20 ms apart: the next is due at 50 ms, its prewarm at 48 ms.
    assert prewarmer.run_due(50) == 8
    assert node.prewarms == 0
    clock.now = 48 * MS
    assert prewarmer.run_due(50) == 50
    assert node.prewarms == 1
    assert node.module.prewarmed == 1
    clock.now = 49 * MS
    assert prewarmer.run_due(50) == 50  # one prewarm per expected step
    assert node.prewarms == 1
    step_at(node, clock, 50 * MS)
    clock.now = 51 * MS
    assert prewarmer.run_due(50) == 17  # next due at 70 ms: prewarm at 68 ms
    # Prewarms are neither steps nor outputs; the outputs are the steps' own.
    assert node.calls == 3
    assert len(out) == 3
    np.testing.assert_array_equal(np.concatenate([c.data for c in out]), np.ones((3, 2)))
    assert node.summary()["prewarms"] == 1


def test_a_step_earlier_than_expected_reschedules_without_a_prewarm() -> None:
    node, prewarmer, clock = make(prewarm_ms=2.0)
    step_at(node, clock, 0)
    prewarmer.run_due(50)
    step_at(node, clock, 20 * MS)
    clock.now = 21 * MS
    assert prewarmer.run_due(50) == 17  # due at 38 ms
    step_at(node, clock, 30 * MS)  # came 10 ms early: its prewarm was not due yet
    clock.now = 31 * MS
    assert prewarmer.run_due(50) == 7  # the interval now 10 ms: due at 38 ms
    assert node.prewarms == 0
    clock.now = 38 * MS
    prewarmer.run_due(50)
    assert node.prewarms == 1


def test_back_to_back_steps_get_no_prewarm() -> None:
    node, prewarmer, clock = make(prewarm_ms=1.0)
    interval = COLD_GAP_NS // 2
    for k in range(5):
        step_at(node, clock, k * interval)
        prewarmer.run_due(50)
    clock.now = 100 * MS
    assert prewarmer.run_due(50) == 50
    assert node.prewarms == 0


def test_nodes_without_prewarm_ms_are_left_alone() -> None:
    node, _, _ = make(prewarm_ms=0.0)
    assert not Prewarmer([node])


def test_a_prewarm_that_raises_is_the_node_s_error() -> None:
    node, prewarmer, clock = make(prewarm_ms=2.0)

    def boom() -> None:
        raise RuntimeError("cold")

    node.module.prewarm = boom
    step_at(node, clock, 0)
    prewarmer.run_due(50)
    step_at(node, clock, 20 * MS)
    prewarmer.run_due(50)
    clock.now = 38 * MS
    prewarmer.run_due(50)
    assert node.errors == 1
    assert node.prewarms == 0
    assert "cold" in str(node.first_error)
