"""The gate's decision on synthetic per-block ratios, and the deterministic counters.

No timing here: the ratios are made up, and the counters count allocations, not time.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest

from bci_bridge.bench.bootstrap import decide, median_interval
from bci_bridge.bench.compare import Tolerances, compare, format_verdicts
from bci_bridge.bench.counters import measure_counters
from bci_bridge.bench.scenarios import SCENARIOS
from bci_bridge.errors import ConfigError

TOL = Tolerances(p50=0.15, p99=0.5, cpu=0.25)


def _noisy(center: float, n: int, spread: float, seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    return [round(float(x), 4) for x in center * (1.0 + spread * rng.standard_normal(n))]


def _entry(
    p50: list[float], p99: list[float] | None = None, cpu: list[float] | None = None, **extra: Any
) -> dict[str, Any]:
    p99 = p99 if p99 is not None else [1.2] * len(p50)
    cpu = cpu if cpu is not None else [1.0] * len(p50)
    entry = {
        "block_ratios": {"p50": p50, "p99": p99, "cpu": cpu},
        "ratio_p50": float(np.median(p50)) if p50 else None,
        "ratio_p99": float(np.median(p99)) if p99 else None,
        "cpu_ratio": float(np.median(cpu)) if cpu else None,
        "samples_lost": 0,
        "counters": {"allocs_per_frame": 1, "bytes_allocated_per_frame": 256},
    }
    return {**entry, **extra}


def _doc(**scenarios: dict[str, Any]) -> dict[str, Any]:
    return {"meta": {}, "scenarios": scenarios}


def test_interval_brackets_the_median_and_is_reproducible() -> None:
    ratios = _noisy(1.1, 12, 0.05, seed=1)
    iv = median_interval(ratios)
    assert iv.low <= iv.median <= iv.high
    assert iv.median == pytest.approx(float(np.median(ratios)))
    assert iv.n_blocks == 12
    assert median_interval(ratios) == iv  # seeded: the same ratios, the same interval
    one = median_interval([1.3])
    assert (one.low, one.median, one.high) == (1.3, 1.3, 1.3)
    # More blocks of the same noise: a narrower interval.
    wide = median_interval(_noisy(1.1, 4, 0.1, seed=2))
    narrow = median_interval(_noisy(1.1, 64, 0.1, seed=2))
    assert narrow.high - narrow.low < wide.high - wide.low


def test_interval_drops_non_finite_ratios_and_refuses_none() -> None:
    assert median_interval([1.0, float("nan"), float("inf"), 1.0]).n_blocks == 2
    with pytest.raises(ValueError, match="no finite ratio"):
        median_interval([float("nan")])
    with pytest.raises(ValueError, match="level"):
        median_interval([1.0], level=1.0)


def test_decide_fails_passes_or_asks_for_more_blocks() -> None:
    limit = 1.0 * 1.15
    # A 30 % regression under 5 % block noise: the whole interval is above the limit.
    assert decide(median_interval(_noisy(1.3, 12, 0.05, seed=3)), limit) == "fail"
    # Unchanged, the same noise: the whole interval is below.
    assert decide(median_interval(_noisy(1.0, 12, 0.05, seed=4)), limit) == "pass"
    # Right at the limit with few noisy blocks: no call either way.
    assert decide(median_interval(_noisy(1.15, 4, 0.2, seed=5)), limit) == "undecided"


def test_one_wild_block_does_not_fail_the_gate() -> None:
    # Eleven ordinary blocks and one where the machine stalled the chain: the median holds.
    ratios = [*_noisy(1.0, 11, 0.03, seed=6), 9.0]
    baseline = _doc(a=_entry([1.0] * 12))
    (v,) = compare(_doc(a=_entry(ratios)), baseline, TOL)
    assert v.status == "pass", v.reasons


def test_compare_gates_p50_p99_and_cpu_each() -> None:
    base = _doc(a=_entry([1.0] * 8), b=_entry([1.0] * 8), c=_entry([1.0] * 8))
    ok = [1.0] * 8
    current = _doc(
        a=_entry(_noisy(1.4, 8, 0.02, seed=7)),
        b=_entry(ok, p99=_noisy(1.2 * 1.8, 8, 0.02, seed=8)),
        c=_entry(ok, cpu=_noisy(1.5, 8, 0.02, seed=9)),
    )
    verdicts = {v.scenario: v for v in compare(current, base, TOL)}
    assert verdicts["a"].status == "fail"
    assert verdicts["a"].reasons[0].startswith("ratio_p50 median 1.39")
    assert verdicts["b"].status == "fail"
    assert verdicts["b"].reasons[0].startswith("ratio_p99")
    assert verdicts["c"].status == "fail"
    assert verdicts["c"].reasons[0].startswith("cpu_ratio")
    # The CI tolerance (2x) lets all three through; counters and losses still count.
    ci = Tolerances(p50=1.0, p99=1.0, cpu=1.0)
    assert {v.status for v in compare(current, base, ci)} == {"pass"}


def test_ci_holds_a_lucky_baseline_ratio_to_one() -> None:
    # A baseline where the floor had bad blocks (median 0.3) and an ordinary run at parity.
    base = _doc(a=_entry([0.3] * 6))
    run = _doc(a=_entry(_noisy(1.0, 6, 0.05, seed=10)))
    ci = Tolerances(p50=1.0, p99=1.0, cpu=1.0)
    assert compare(run, base, ci)[0].status == "fail"  # 1.0 > 0.3 x 2
    assert compare(run, base, ci, ci=True)[0].status == "pass"  # 1.0 <= 1 x 2
    gross = _doc(a=_entry(_noisy(3.0, 6, 0.05, seed=11)))
    assert compare(gross, base, ci, ci=True)[0].status == "fail"


def test_pairs_where_the_floor_backlogged_are_left_out() -> None:
    from bci_bridge.bench.report import Block, block_ratios

    def block(chain: str, p50_ms: float) -> Block:
        ages = np.full(100, p50_ms)
        return Block(chain, ages, ages, 0.5, 1.0, 100.0, 100, 0, 100)

    bci = [block("bci-bridge", 1.0), block("bci-bridge", 2.0), block("bci-bridge", 1.0)]
    floor = [block("floor", 1.0), block("floor", 400.0), block("floor", 0.5)]
    assert block_ratios(bci, floor) == {"p50": [1.0, 2.0], "p99": [1.0, 2.0], "cpu": [1.0, 1.0]}
    # --ci also leaves out the pairs where bci-bridge backlogged.
    bci[0] = block("bci-bridge", 300.0)
    assert block_ratios(bci, floor, steady=True)["p50"] == [2.0]
    assert block_ratios(bci, floor)["p50"] == [300.0, 2.0]
    # Every pair dropped: the gate cannot decide (CI passes it), it does not fail.
    entry = _entry([], p99=[], cpu=[], pairs_dropped=2)
    (v,) = compare(_doc(a=entry), _doc(a=_entry([1.0] * 4)), TOL)
    assert v.status == "undecided"
    assert "the floor backlogged in every pair of blocks" in v.reasons[0]


def test_one_block_cannot_fail_a_timing() -> None:
    base = _doc(a=_entry([1.0] * 4))
    (v,) = compare(_doc(a=_entry([5.0])), base, TOL)
    assert v.status == "undecided"
    (v,) = compare(_doc(a=_entry([5.0, 5.2])), base, TOL)
    assert v.status == "fail"


def test_counters_are_gated_exactly() -> None:
    base = _doc(a=_entry([1.0] * 4))
    more = _entry([1.0] * 4, counters={"allocs_per_frame": 2, "bytes_allocated_per_frame": 512})
    (v,) = compare(_doc(a=more), base, Tolerances(p50=1.0, p99=1.0, cpu=1.0))
    assert v.status == "fail"
    assert "allocs_per_frame 2 > baseline 1" in v.reasons[0]
    assert "bytes_allocated_per_frame 512 > baseline 256" in v.reasons[1]
    fewer = _entry([1.0] * 4, counters={"allocs_per_frame": 0, "bytes_allocated_per_frame": 0})
    assert compare(_doc(a=fewer), base, TOL)[0].status == "pass"
    # Timings off: only the counters, losses and errors decide.
    slow = _entry([5.0] * 4)
    assert compare(_doc(a=slow), base, TOL, timings=False)[0].status == "pass"


def test_compare_reports_missing_new_lost_broken_and_undecided() -> None:
    base = _doc(
        a=_entry([1.0] * 6),
        gone=_entry([1.0]),
        lossy=_entry([1.0]),
        broken=_entry([1.0]),
        shaky=_entry([1.0] * 4),
    )
    current = _doc(
        a=_entry([1.0] * 6),
        fresh=_entry([1.0]),
        lossy=_entry([1.0], samples_lost=3),
        broken=_entry([], error="bci-bridge: runtime exited"),
        shaky=_entry(_noisy(1.15, 4, 0.2, seed=5)),
    )
    verdicts = {v.scenario: v for v in compare(current, base, TOL)}
    assert verdicts["a"].status == "pass"
    assert verdicts["gone"].status == "missing"
    assert verdicts["fresh"].status == "new"
    assert verdicts["lossy"].status == "fail"
    assert "lost 3 samples" in verdicts["lossy"].reasons
    assert verdicts["broken"].status == "fail"
    assert "could not run: bci-bridge: runtime exited" in verdicts["broken"].reasons
    assert verdicts["shaky"].status == "undecided"
    assert "needs more blocks" in verdicts["shaky"].reasons[0]
    table = format_verdicts(list(verdicts.values()))
    for word in ("PASS", "MISSING", "NEW", "FAIL", "UNDECIDED", "lost 3 samples", "1.000/1"):
        assert word in table


def test_compare_refuses_what_is_not_bench_json_and_negative_tolerances() -> None:
    with pytest.raises(ConfigError, match="not a bench JSON"):
        compare({"scenarios": {}}, {"e2e": 1}, TOL)
    with pytest.raises(ConfigError, match="--tolerance-cpu"):
        Tolerances(p50=0.1, p99=0.1, cpu=-0.1)


@pytest.mark.parametrize(
    "name", ["relay-64x250", "wide-1024x30000", "spikes-1024x30000", "wearable-8x250"]
)
def test_counters_are_deterministic_and_see_the_output(name: str) -> None:
    s = SCENARIOS[name]
    first, second = measure_counters(s), measure_counters(s)
    assert first["allocs_per_frame"] == second["allocs_per_frame"]
    assert first["bytes_allocated_per_frame"] == second["bytes_allocated_per_frame"]
    assert first["outputs_probed"] > 0
    # At least the output array itself: one float32 row (or chunk) of the output node.
    assert first["allocs_per_frame"] >= 1
    assert first["bytes_allocated_per_frame"] >= 4


def test_counters_see_a_new_copy_on_the_hot_path(monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.runner

    s = SCENARIOS["wide-1024x30000"]
    before = measure_counters(s)
    real = runtime.runner.decode

    def copying_decode(parts: Any) -> Any:  # a decode that copies the samples out of ZeroMQ
        frame = real(parts)
        if frame.data.size:
            return dataclasses.replace(frame, data=frame.data.copy())
        return frame

    monkeypatch.setattr(runtime.runner, "decode", copying_decode)
    after = measure_counters(s)
    assert after["allocs_per_frame"] == before["allocs_per_frame"] + 1
    frame_bytes = s.chunk_size * s.channels * 4
    assert after["bytes_allocated_per_frame"] == before["bytes_allocated_per_frame"] + frame_bytes


def test_ci_reports_p99_without_gating_it_and_still_gates_p50() -> None:
    """``--ci``'s defaults: a 3x p99 passes (quick blocks' tails), a 3x p50 still fails."""
    import argparse

    from bci_bridge.cli.bench_cmd import _tolerances

    given = {"tolerance": None, "tolerance_p99": None, "tolerance_cpu": None}
    ci = _tolerances(argparse.Namespace(ci=True, **given))
    assert (ci.p50, ci.p99, ci.cpu) == (1.0, float("inf"), 1.0)
    full = _tolerances(argparse.Namespace(ci=False, **given))
    assert (full.p50, full.p99, full.cpu) == (0.2, 1.0, 0.25)
    base = _doc(a=_entry([1.0] * 6, p99=[1.0] * 6))
    tail = _doc(a=_entry(_noisy(1.0, 6, 0.05, seed=12), p99=_noisy(3.0, 6, 0.05, seed=13)))
    assert compare(tail, base, ci, ci=True)[0].status == "pass"
    assert compare(tail, base, full)[0].status == "fail"  # the full gate still holds p99
    slow = _doc(a=_entry(_noisy(3.0, 6, 0.05, seed=14), p99=[1.0] * 6))
    assert compare(slow, base, ci, ci=True)[0].status == "fail"
    # An explicit --tolerance-p99 gates it again under --ci.
    given["tolerance_p99"] = 1.0
    assert _tolerances(argparse.Namespace(ci=True, **given)).p99 == 1.0
