r"""Latency over a block: p50 and p99 of each slice of every block ``bench --ages`` wrote.

Run::

    LSLAPICFG=bci_bridge/lsl_api.cfg .venv/bin/bci-bridge bench wide-1024x30000 \\
        --blocks 4 --duration 4 --json out/wide.json --ages out/ages
    .venv/bin/python benchmarks/block_ages.py out/ages [SLICES]

Each block's outputs (warm-up included, in arrival order) are cut into SLICES equal parts
(default 4: a 4 s block's seconds, as the outputs come at a steady rate); a line per block, then
per scenario and chain the slices pooled over its blocks. A start-up tail shows as a first slice
whose p99 stands above the others'; comparing bci-bridge's with the floor's tells whether it is
the chain's own or the machine's (cold processes on a shared VM).
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import numpy.typing as npt

_NAME = re.compile(r"^(?P<scenario>.+?)-(?P<chain>bci-bridge|[a-z]+)-(?P<n>\d+)$")


def _row(parts: list[npt.NDArray[np.float64]]) -> str:
    """p50 / p99 of each part, in ms."""
    return " | ".join(
        f"{np.median(p):6.2f} / {np.percentile(p, 99):6.1f}" if p.size else "     - /      -"
        for p in parts
    )


def main() -> None:
    """Print each block's slices, then each chain's slices pooled over its blocks."""
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: block_ages.py DIR [SLICES]")
    folder = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) == 3 else 4
    files = sorted(folder.glob("*.npz"))
    if not files:
        sys.exit(f"no .npz files in {folder}: run bci-bridge bench with --ages {folder}")
    pooled: dict[tuple[str, str], list[list[npt.NDArray[np.float64]]]] = defaultdict(list)
    print(f"p50 / p99 ms of each of {n} slices of a block (warm-up included)")
    for f in files:
        m = _NAME.match(f.stem)
        if m is None:
            continue
        with np.load(f) as z:
            ages = np.asarray(z["age_ms"], dtype=np.float64)
        parts = list(np.array_split(ages, n))  # consecutive, (nearly) equal sizes
        pooled[(m["scenario"], m["chain"])].append(parts)
        print(f"{f.stem:36s} {ages.size:7d} outputs  {_row(parts)}")
    print("\npooled over blocks")
    for (scenario, chain), blocks in pooled.items():
        parts = [np.concatenate([b[i] for b in blocks]) for i in range(n)]
        print(f"{scenario + ' ' + chain:36s} {len(blocks):3d} blocks        {_row(parts)}")


if __name__ == "__main__":
    main()
