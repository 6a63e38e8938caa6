"""Print README's recipe table (markdown) from ``bci-bridge train`` reports.

Usage: ``python examples/recipes/recipe_table.py out/recipes/*.json`` (see train_all.sh).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def row(path: Path) -> str:
    """Return one markdown row: command, chosen settings, CV (scheme), TEST, inference."""
    report = json.loads(path.read_text())
    rows = report["selection"]
    chosen = next(r for r in rows if r["chosen"])
    settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in chosen["settings"].items())
    cv = report["cv"]
    name = path.stem
    scored = sum(1 for r in rows if not r.get("skipped"))
    among = f"best of {scored}" + (f", {len(rows) - scored} skipped" if scored < len(rows) else "")
    if cv.get("compared"):  # how many the winner does not beat on TRAIN (p >= 0.05)
        among += f"; {cv['tied']} of {cv['compared']} others tied"
    command = (
        f"`bci-bridge train examples/recipes/{name}.toml --out out/recipes/{name}.onnx "
        f"--report out/recipes/{name}.json --jobs 2`"
    )
    return (
        f"| {command} | {report['family']}: {settings} "
        f"({among}) | {cv['mean']:.3f} +/- {cv['std']:.3f} ({cv['scheme']}, "
        f"{cv['folds']} x {cv['repeats']}) | **{report['test_accuracy']:.3f}** | "
        f"{report['inference_us']['p50']:.0f} us |"
    )


if __name__ == "__main__":
    print("| command | chosen by train | TRAIN CV | TEST | p50, one window |")
    print("|---|---|---|---|---|")
    for name in sys.argv[1:]:
        print(row(Path(name)))
