"""Run-to-run spread of the gated ratios: the evidence behind the gate's tolerances.

Usage::

    for i in 1 2 3; do bci-bridge bench --quick --blocks 6 --json out/spread-$i.json; done
    python benchmarks/spread.py out/spread-*.json

For each scenario and gated metric (``ratio_p50``, ``ratio_p99``, ``cpu_ratio``: medians of the
per-block ratios), prints the values of each run, and the spread ``max / min - 1``: the growth a
gate must allow so that an unchanged tree, run again on the same machine, is not called a
regression. The largest spread of each metric over the scenarios is printed last.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

METRICS = ("ratio_p50", "ratio_p99", "cpu_ratio")


def main(paths: list[str]) -> int:
    """Print the spread table for the given bench JSON files; return 0 (2 without files)."""
    if len(paths) < 2:
        print(__doc__)
        return 2
    docs = [json.loads(Path(p).read_text(encoding="utf-8"))["scenarios"] for p in paths]
    names = [n for n in docs[0] if all(n in d for d in docs)]
    worst = dict.fromkeys(METRICS, 0.0)
    print(f"{'scenario':<18} {'metric':<10} {'runs':<36} spread")
    for name in names:
        for metric in METRICS:
            values = [d[name].get(metric) for d in docs]
            if any(v is None or v <= 0 for v in values):
                continue
            spread = max(values) / min(values) - 1.0
            worst[metric] = max(worst[metric], spread)
            runs = " ".join(f"{v:.3f}" for v in values)
            print(f"{name:<18} {metric:<10} {runs:<36} {spread:+.0%}")
    print("largest: " + ", ".join(f"{m} {s:+.0%}" for m, s in worst.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
