"""Print the README's Results table (markdown) from a bench JSON, e.g. the committed baseline.

::

    .venv/bin/python benchmarks/results_table.py benchmarks/baseline.json

Ratios are the bench's own (medians of per-block ratios to the floor), each followed by the
gate's 90 % bootstrap interval of that median (:func:`bci_bridge.bench.bootstrap.median_interval`,
seeded, so the same JSON prints the same table); a ratio above the targets (p50 1.15x, p99
1.3x, CPU 1.3x) is printed in bold.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bci_bridge.bench.bootstrap import median_interval

TARGETS = {"ratio_p50": 1.15, "ratio_p99": 1.3, "cpu_ratio": 1.3}


#: The bench JSON's ratio keys and the per-block ratios each is the median of.
_BLOCKS = {"ratio_p50": "p50", "ratio_p99": "p99", "cpu_ratio": "cpu"}


def _ratio(row: dict[str, Any], key: str) -> str:
    """Format the ratio (bold over its target) and its interval: ``1.06 (0.96-1.10)``."""
    value = float(row[key])
    text = f"{value:.2f}"
    shown = f"**{text}**" if value > TARGETS[key] else text
    iv = median_interval(row["block_ratios"][_BLOCKS[key]])
    return f"{shown} ({iv.low:.2f}-{iv.high:.2f})" if iv.n_blocks > 1 else shown


def table(doc: dict[str, Any]) -> str:
    """Return the markdown table of every scenario in ``doc`` (a bench JSON)."""
    lines = [
        "| scenario | bci-bridge p50 / p99 | floor p50 / p99 | x floor p50 | x floor p99 "
        "| x floor CPU | lost | runtime RSS MB | start-up s |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for name, row in doc["scenarios"].items():
        e2e, floor = row["e2e_ms"], row["floor_e2e_ms"]
        lines.append(
            f"| {name} | {e2e['p50']:.2f} / {e2e['p99']:.2f} "
            f"| {floor['p50']:.2f} / {floor['p99']:.2f} "
            f"| {_ratio(row, 'ratio_p50')} | {_ratio(row, 'ratio_p99')} "
            f"| {_ratio(row, 'cpu_ratio')} | {row['samples_lost']} "
            f"| {row['rss_mb']:.0f} | {row['startup_s']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Read the JSON named on the command line and print its table."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("json", type=Path, help="a bench JSON (bci-bridge bench --json)")
    args = p.parse_args()
    print(table(json.loads(args.json.read_text())))


if __name__ == "__main__":
    main()
