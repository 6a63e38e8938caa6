"""The regression gate: compare a run's ratios to the floor against a baseline's.

Absolute times move with the machine and its load; the floor, run in the same invocation and
alternating with bci-bridge, moves with them. So the gate compares ``ratio_p50`` and
``ratio_p99`` (bci-bridge over the floor): a scenario fails when a ratio exceeds the
baseline's by more than the tolerance (``current > max(baseline, 1) * (1 + tolerance)``), or
when it lost samples, or could not run. A baseline ratio below 1 (bci-bridge faster than the
floor in that run: the floor's block was hit by noise) is held to 1, so that one lucky
baseline does not fail every later run. A scenario in the baseline but not in the run is reported as
missing (not a failure: the run may have picked scenarios); one in the run but not in the
baseline is reported as new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bci_bridge.errors import ConfigError

__all__ = ["Verdict", "compare", "format_verdicts"]

Status = Literal["pass", "fail", "missing", "new"]
_METRICS = ("ratio_p50", "ratio_p99")


@dataclass(slots=True)
class Verdict:
    """The outcome for one scenario, with the reasons."""

    scenario: str
    status: Status
    reasons: list[str] = field(default_factory=list)
    values: dict[str, tuple[float | None, float | None, float]] = field(default_factory=dict)


def _scenarios(doc: Any, what: str) -> dict[str, Any]:
    if not isinstance(doc, dict) or not isinstance(doc.get("scenarios"), dict):
        raise ConfigError(f"{what} is not a bench JSON file (no 'scenarios' table)")
    scenarios: dict[str, Any] = doc["scenarios"]
    return scenarios


def compare(
    current: dict[str, Any],
    baseline: dict[str, Any],
    tolerance: float,
    tolerance_p99: float | None = None,
) -> list[Verdict]:
    """Compare two bench JSON documents.

    Parameters
    ----------
    current, baseline : dict
        Parsed bench JSON (``{"meta": ..., "scenarios": {name: {...}}}``).
    tolerance : float
        Allowed relative growth of ``ratio_p50`` (0.25: up to 25 % above the baseline's).
    tolerance_p99 : float, optional
        The same for ``ratio_p99``, noisier; default ``2 * tolerance``.

    Returns
    -------
    list of Verdict
        One per scenario of either document: baseline order, then new ones.

    Raises
    ------
    ConfigError
        If either document is not bench JSON or a tolerance is negative.
    """
    if not tolerance >= 0 or (tolerance_p99 is not None and not tolerance_p99 >= 0):
        raise ConfigError(f"tolerance must be >= 0, got {tolerance}", key="--tolerance")
    tols = {
        "ratio_p50": tolerance,
        "ratio_p99": 2 * tolerance if tolerance_p99 is None else tolerance_p99,
    }
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
        lost = c.get("samples_lost")
        if lost:
            v.reasons.append(f"lost {lost} samples")
        for metric in _METRICS:
            now, then, tol = c.get(metric), b.get(metric), tols[metric]
            v.values[metric] = (now, then, tol)
            if then is None:
                continue  # the baseline has no number to hold this run to
            if now is None:
                if not c.get("error"):
                    v.reasons.append(f"{metric} missing from this run")
                continue
            held = max(then, 1.0)
            limit = held * (1 + tol)
            if now > limit:
                v.reasons.append(
                    f"{metric} {now:.3f} > {limit:.3f} (baseline {held:.3f} + {tol:.0%})"
                )
        if v.reasons:
            v.status = "fail"
        verdicts.append(v)
    verdicts += [
        Verdict(name, "new", ["not in the baseline; nothing to compare"])
        for name in cur
        if name not in base
    ]
    return verdicts


def format_verdicts(verdicts: list[Verdict]) -> str:
    """Return a table: scenario, status, each ratio now vs. baseline, and why."""
    head = (
        f"{'scenario':<17} {'status':<8} {'ratio_p50 now/base':>19} {'ratio_p99 now/base':>19}  why"
    )
    rows = [head, "-" * len(head)]

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    def cell(v: Verdict, m: str) -> str:
        now, then, _ = v.values.get(m, (None, None, 0.0))
        return f"{fmt(now)} / {fmt(then)}"

    for v in verdicts:
        why = "; ".join(v.reasons) or "within tolerance"
        rows.append(
            f"{v.scenario:<17} {v.status.upper():<8} {cell(v, 'ratio_p50'):>19} "
            f"{cell(v, 'ratio_p99'):>19}  {why}"
        )
    return "\n".join(rows)
