"""The regression gate: a run's per-block ratios and counters against a baseline's.

Timings. Absolute times move with the machine and its load; the floor, run in the same
invocation in blocks alternating with bci-bridge, moves with them. Per gated metric (``p50``,
``p99`` of the end-to-end age, ``cpu`` cores used) the run has one ratio of bci-bridge over the
floor per pair of blocks (``block_ratios``). The gate bootstraps an interval for their median
(:mod:`bci_bridge.bench.bootstrap`) and holds it to ``baseline ratio x (1 + tolerance)``:
``fail`` when the interval (of two pairs or more) lies above, ``pass`` when at or below,
``undecided`` when it straddles (the CLI then runs more blocks, up to ``--retries`` times).

Counters. ``allocs_per_frame`` and ``bytes_allocated_per_frame`` (:mod:`.counters`) are
deterministic; any growth over the baseline fails, with no tolerance.

A scenario also fails when it lost samples or could not run. A scenario in the baseline but not
in the run is ``missing`` (the run may have picked scenarios); one in the run only is ``new``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bci_bridge.bench.bootstrap import Interval, decide, median_interval
from bci_bridge.errors import ConfigError

__all__ = ["COUNTERS", "TIMINGS", "Check", "Tolerances", "Verdict", "compare", "format_verdicts"]

Status = Literal["pass", "fail", "undecided", "missing", "new"]
#: Gated timing metrics: JSON key of the median ratio -> key in ``block_ratios``.
TIMINGS = {"ratio_p50": "p50", "ratio_p99": "p99", "cpu_ratio": "cpu"}
#: A timing fails only on the interval of at least this many pairs of blocks.
MIN_BLOCKS_TO_FAIL = 2
#: Deterministic counters, gated exactly.
COUNTERS = ("allocs_per_frame", "bytes_allocated_per_frame")


@dataclass(frozen=True, slots=True)
class Tolerances:
    """Allowed relative growth of each median ratio over the baseline's (0.2: +20 %)."""

    p50: float
    p99: float
    cpu: float

    def __post_init__(self) -> None:
        for key in ("p50", "p99", "cpu"):
            value = getattr(self, key)
            if not value >= 0:
                raise ConfigError(f"must be >= 0, got {value}", key=f"--tolerance-{key}")

    def of(self, metric: str) -> float:
        """Return the tolerance of a key of :data:`TIMINGS`."""
        tol: float = getattr(self, TIMINGS[metric])
        return tol


@dataclass(slots=True)
class Check:
    """One gated number: the run's value (or interval), the baseline's, the limit, the call."""

    now: Interval | float | None
    baseline: float | None
    limit: float | None
    decision: Literal["pass", "fail", "undecided", "skipped"]


@dataclass(slots=True)
class Verdict:
    """The outcome for one scenario, with the reasons."""

    scenario: str
    status: Status
    reasons: list[str] = field(default_factory=list)
    checks: dict[str, Check] = field(default_factory=dict)


def _scenarios(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), dict):
        raise ConfigError(f"{what} is not a bench JSON file (no 'scenarios' table)")
    scenarios: dict[str, Any] = doc["scenarios"]
    return scenarios


def _ratios(entry: dict[str, Any], metric: str, steady: bool) -> list[float]:
    """Return the per-block ratios of a metric (the pooled ratio if the entry has no blocks)."""
    key = "block_ratios_steady" if steady and "block_ratios_steady" in entry else "block_ratios"
    if key in entry:
        return [float(x) for x in entry[key].get(TIMINGS[metric], [])]
    one = entry.get(metric)
    return [] if one is None else [float(one)]


def _timing(
    v: Verdict, c: dict[str, Any], b: dict[str, Any], metric: str, tol: float, ci: bool
) -> None:
    then = b.get(metric)
    if then is not None and ci:
        then = max(float(then), 1.0)
    ratios = _ratios(c, metric, steady=ci)
    if then is None:
        v.checks[metric] = Check(None, None, None, "skipped")
        return
    if not ratios:
        dropped = len(c.get("blocks", [])) // 2 if ci else c.get("pairs_dropped", 0)
        v.checks[metric] = Check(None, float(then), None, "undecided" if dropped else "skipped")
        if dropped:
            who = "a chain" if ci else "the floor"
            v.reasons.append(f"{metric}: {who} backlogged in every pair of blocks")
        elif not c.get("error"):
            v.reasons.append(f"{metric} missing from this run")
        return
    limit = float(then) * (1.0 + tol)
    iv = median_interval(ratios)
    decision = decide(iv, limit)
    if decision == "fail" and iv.n_blocks < MIN_BLOCKS_TO_FAIL:
        decision = "undecided"  # one block is not an interval
    v.checks[metric] = Check(iv, float(then), limit, decision)
    span = f"median {iv.median:.3f} [{iv.low:.3f}, {iv.high:.3f}] over {iv.n_blocks} block(s)"
    if decision == "fail":
        v.reasons.append(f"{metric} {span} > {limit:.3f} (baseline {then:.3f} + {tol:.0%})")
    elif decision == "undecided":
        v.reasons.append(f"{metric} {span} straddles {limit:.3f}: needs more blocks")


def _counter(v: Verdict, c: dict[str, Any], b: dict[str, Any], name: str) -> None:
    then = b.get("counters", {}).get(name)
    now = c.get("counters", {}).get(name)
    if then is None:
        v.checks[name] = Check(now, None, None, "skipped")
        return
    if now is None:
        v.checks[name] = Check(None, then, then, "skipped")
        if not c.get("error"):
            v.reasons.append(f"{name} missing from this run")
        return
    decision: Literal["pass", "fail"] = "fail" if now > then else "pass"
    v.checks[name] = Check(now, then, then, decision)
    if decision == "fail":
        v.reasons.append(f"{name} {now} > baseline {then} (no tolerance: a new allocation?)")


def compare(
    current: dict[str, Any],
    baseline: dict[str, Any],
    tolerances: Tolerances,
    *,
    timings: bool = True,
    ci: bool = False,
) -> list[Verdict]:
    """Compare two bench JSON documents.

    Parameters
    ----------
    current, baseline : dict
        Parsed bench JSON (``{"meta": ..., "scenarios": {name: {...}}}``).
    tolerances : Tolerances
        Allowed growth of each median ratio over the baseline's.
    timings : bool
        Gate the timings (else only counters, lost samples and errors).
    ci : bool
        The CI mode: take a baseline ratio below 1 as 1 (a baseline recorded while the floor
        had bad luck must not turn later noise into failures), and gate on
        ``block_ratios_steady`` (pairs where either chain backlogged left out). The full gate,
        on a quiet machine, holds the baseline as it is and counts a bci-bridge backlog.

    Returns
    -------
    list of Verdict
        One per scenario of either document: baseline order, then new ones. The status is
        ``fail`` if any check fails, else ``undecided`` if a timing interval straddles its limit,
        else ``pass``.

    Raises
    ------
    ConfigError
        If either document is not bench JSON.
    """
    cur, base = _scenarios(current, "the run"), _scenarios(baseline, "the baseline")
    verdicts: list[Verdict] = []
    for name, b in base.items():
        c = cur.get(name)
        if c is None:
            verdicts.append(Verdict(name, "missing", ["in the baseline, not in this run"]))
            continue
        v = Verdict(name, "pass")
        if c.get("error"):
            v.reasons.append(f"could not run: {str(c['error']).splitlines()[0]}")
        if c.get("samples_lost"):
            v.reasons.append(f"lost {c['samples_lost']} samples")
        for counter in COUNTERS:
            _counter(v, c, b, counter)
        if timings:
            for metric in TIMINGS:
                _timing(v, c, b, metric, tolerances.of(metric), ci)
        decisions = {k.decision for k in v.checks.values()}
        failed = "fail" in decisions or c.get("error") or c.get("samples_lost")
        v.status = "fail" if failed else "undecided" if "undecided" in decisions else "pass"
        verdicts.append(v)
    verdicts += [
        Verdict(name, "new", ["not in the baseline; nothing to compare"])
        for name in cur
        if name not in base
    ]
    return verdicts


def _cell(check: Check | None) -> str:
    if check is None or (check.decision == "skipped" and check.now is None):
        return "-"
    now = check.now
    shown = f"{now.median:.3f}" if isinstance(now, Interval) else f"{now}"
    then = "-" if check.baseline is None else f"{check.baseline:g}"
    return f"{shown}/{then}"


def format_verdicts(verdicts: list[Verdict]) -> str:
    """Return a table: scenario, status, each gated number now/baseline, and why."""
    cols = [*TIMINGS, "allocs_per_frame"]
    head = f"{'scenario':<17} {'status':<9} " + " ".join(f"{c:>17}" for c in cols) + "  why"
    rows = [head, "-" * len(head)]
    for v in verdicts:
        why = "; ".join(v.reasons) or "within tolerance"
        cells = " ".join(f"{_cell(v.checks.get(c)):>17}" for c in cols)
        rows.append(f"{v.scenario:<17} {v.status.upper():<9} {cells}  {why}")
    return "\n".join(rows)
