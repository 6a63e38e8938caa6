"""A node's step times, told cold (after an idle gap) or warm: a scripted clock."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.config import NodeConfig
from bci_bridge.stream import Chunk, StreamInfo
from runtime.node import COLD_GAP_NS, Node

INFO = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=250.0)


class Double:
    """A module that doubles its input."""

    def __init__(self, config: object) -> None:
        self.steps = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        return info

    def step(self, chunk: Chunk) -> Chunk:
        self.steps += 1
        return Chunk(chunk.data * 2, chunk.timestamps, chunk.seq)


class Script:
    """A perf clock (ns) that returns scripted readings: (start, end) of each step in turn."""

    def __init__(self, steps: list[tuple[int, int]]) -> None:
        self.readings = [t for pair in steps for t in pair]

    def __call__(self) -> int:
        return self.readings.pop(0)


def make_node(steps: list[tuple[int, int]], budget_ms: float = 1.0) -> Node:
    config = NodeConfig(
        name="double",
        module="double",
        input="eeg",
        plugin=Double,
        config=None,
        budget_ms=budget_ms,
        on_overrun="warn",
    )
    node = Node(config)
    node.prepare(INFO)
    node._perf = Script(steps)
    return node


def chunk(i: int) -> Chunk:
    return Chunk(np.full((1, 2), i, np.float32), np.array([i / 250.0]), i)


MS = 1_000_000


def test_steps_after_an_idle_gap_are_cold_and_back_to_back_ones_warm() -> None:
    # (start, end) ns of five steps: the first, two back to back, one after 20 ms, one after.
    steps = [(0, 10_000), (1 * MS, 1 * MS + 2_000), (2 * MS, 2 * MS + 3_000)]
    steps += [(22 * MS, 22 * MS + 50_000), (23 * MS, 23 * MS + 4_000)]
    node = make_node(steps)
    out: list[Chunk] = []
    node.sinks.append(out.append)
    for i in range(5):
        node.push(chunk(i))
    s = node.summary()
    assert s["calls"] == 5
    assert s["step_us"]["count"] == 5
    assert s["step_us_cold"]["count"] == 2
    assert s["step_us_warm"]["count"] == 3
    # The cold steps: 10 us (the first) and 50 us (after the gap); the warm: 2, 3 and 4 us.
    assert s["step_us_cold"]["max"] == 50.0
    assert s["step_us_warm"]["max"] == 4.0
    assert s["step_us"]["max"] == 50.0
    assert s["step_us_warm"]["p50"] == pytest.approx(3.0, rel=0.07)  # within one bucket
    assert s["step_us_cold"]["p50"] == pytest.approx(10.0, rel=0.07)
    # Telling them apart changes nothing else: every output went on, values doubled.
    assert [c.seq for c in out] == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(np.concatenate([c.data for c in out])[:, 0], [0, 2, 4, 6, 8])


def test_the_gap_counts_from_the_end_of_the_previous_step() -> None:
    # A step of 10 ms, then one that starts 4 ms after it ended: warm, though 14 ms after
    # the previous one started. Then one that starts just over the gap after: cold.
    steps = [(0, 10 * MS), (14 * MS, 14 * MS + 1_000)]
    steps += [(14 * MS + 1_000 + COLD_GAP_NS + 1, 14 * MS + 2_000 + COLD_GAP_NS + 1)]
    node = make_node(steps, budget_ms=100.0)
    for i in range(3):
        node.push(chunk(i))
    assert node.cold_ns.count == 2
    assert node.warm_ns.count == 1
    assert node.warm_ns.max_ns == 1_000


def test_no_step_yet_reports_counts_only() -> None:
    node = make_node([])
    s = node.summary()
    for key in ("step_us", "step_us_cold", "step_us_warm"):
        assert s[key] == {"count": 0}
