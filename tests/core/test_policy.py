"""Overrun policies, driven with a clock the test moves: what is counted, logged and skipped."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from bci_bridge.config import NodeConfig
from bci_bridge.stream import Chunk
from runtime.policy import LOG_EVERY_S, Policy


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def node(policy: str, **kw: Any) -> NodeConfig:
    return NodeConfig(
        name="slow",
        module="slow",
        input="eeg",
        plugin=object,
        config=None,
        budget_ms=1.0,
        on_overrun=policy,  # type: ignore[arg-type]
        **kw,
    )


def chunks(*sizes: int) -> list[Chunk]:
    return [Chunk(np.zeros((n, 2), np.float32), np.arange(n, dtype=np.float64)) for n in sizes]


def test_warn_counts_every_overrun_and_logs_at_most_once_per_period(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    p = Policy(node("warn"), clock)
    caplog.set_level(logging.WARNING, logger="runtime.policy")
    for k in range(10):  # 10 overruns within the first period: one line
        p.overrun(50e6 if k == 3 else 2e6, k + 1)
        clock.t += 0.1
    assert len(caplog.records) == 1
    assert "2.000 ms" in caplog.messages[0]
    assert "1 ms budget" in caplog.messages[0]
    clock.t = 100.0 + LOG_EVERY_S
    p.overrun(3e6, 11)
    assert len(caplog.records) == 2
    # The second line: this step, the worst since the last line, and the overruns since it.
    assert "3.000 ms (worst 50.000 ms)" in caplog.messages[1]
    assert "10 overrun(s) since the last line, 11 in all" in caplog.messages[1]
    assert p.actions()["warn"] == 11
    assert not p.disabled
    # warn never leaves anything out.
    run, left = p.select(chunks(1, 1, 1))
    assert (len(run), left) == (3, [])


@pytest.mark.parametrize("policy", ["skip", "fallback"])
def test_skip_and_fallback_coalesce_only_when_behind(policy: str) -> None:
    p = Policy(node(policy), Clock())
    waiting = chunks(1, 2, 3)
    assert p.select(waiting) == (waiting, [])  # not behind: everything runs
    p.overrun(2e6, 1)
    run, left = p.select(waiting)
    assert run == waiting[-1:]
    assert left == waiting[:-1]
    assert p.select(waiting[:1]) == (waiting[:1], [])  # one chunk: nothing to coalesce
    p.on_time()
    assert p.select(waiting) == (waiting, [])
    acts = p.actions()
    if policy == "skip":
        assert (acts["skip"], acts["skipped_samples"], acts["fallback_samples"]) == (1, 3, 0)
    else:
        assert (acts["skip"], acts["skipped_samples"], acts["fallback_samples"]) == (0, 0, 3)


def test_disable_after_max_overruns_in_a_row_then_reenable() -> None:
    clock = Clock()
    p = Policy(node("disable", max_overruns=3, reenable_s=2.0), clock)
    p.overrun(2e6, 1)
    p.overrun(2e6, 2)
    p.on_time()  # the count in a row starts again
    p.overrun(2e6, 3)
    p.overrun(2e6, 4)
    assert not p.disabled
    p.overrun(2e6, 5)
    assert p.disabled
    assert not p.active(chunks(4, 6))
    assert p.actions()["disabled_samples"] == 10
    clock.t += 1.9
    assert not p.active(chunks(1))
    clock.t += 0.1
    assert p.active(chunks(1))
    assert not p.disabled
    acts = p.actions()
    assert (acts["disable"], acts["reenable"], acts["disabled_samples"]) == (1, 1, 11)
    # Re-enabled with a clean slate: it takes max_overruns in a row again.
    p.overrun(2e6, 6)
    p.overrun(2e6, 7)
    assert not p.disabled


def test_disable_without_reenable_is_for_good() -> None:
    clock = Clock()
    p = Policy(node("disable", max_overruns=1), clock)
    p.overrun(2e6, 1)
    clock.t += 1e6
    assert not p.active(chunks(1))
    assert p.actions()["reenable"] == 0
