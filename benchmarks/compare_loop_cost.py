"""Runtime CPU per frame of two checkouts, measured in alternation; medians of each.

Runs ``benchmarks/runtime_loop_cost.py`` (this checkout's script) in turn against each
checkout's code (``PYTHONPATH``), ``--rounds`` times, so that both see the same load on a busy
machine, and prints each run and the median per checkout::

    LSLAPICFG=bci_bridge/lsl_api.cfg nice -n 10 .venv/bin/python benchmarks/compare_loop_cost.py \
        /work/main . --frames 20000 --burst 50 --rounds 5

With ``--relay`` it runs ``benchmarks/relay_loop_cost.py`` instead (LSL in, band-pass, LSL
out, ``--frames`` samples at ``--rate`` Hz, 1000 by default).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("runtime_loop_cost.py")
RELAY = Path(__file__).with_name("relay_loop_cost.py")


def cost_us(
    checkout: Path, frames: int, burst: int, *, relay: bool = False, rate: float = 1000.0
) -> float:
    """Run the loop-cost script once against ``checkout``; return its CPU per frame, us."""
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve()))
    if relay:
        cmd = [sys.executable, str(RELAY), "--samples", str(frames), "--rate", f"{rate:g}"]
    else:
        cmd = [sys.executable, str(SCRIPT), str(frames), str(burst)]
    out = subprocess.run(
        cmd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    match = re.search(r"([\d.]+) us/(?:frame|sample)", out)
    if match is None:
        raise RuntimeError(f"no cost in the output of {cmd[1]}: {out!r}")
    return float(match.group(1))


def main() -> None:
    """Parse the arguments, alternate the checkouts, print the medians."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkouts", nargs="+", type=Path, help="folders holding runtime/ etc.")
    p.add_argument("--frames", type=int, default=20000)
    p.add_argument("--burst", type=int, default=50, help="frames per burst (1: one per turn)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--relay", action="store_true", help="LSL in and out (relay_loop_cost.py)")
    p.add_argument("--rate", type=float, default=1000.0, help="the relay's sample rate, Hz")
    args = p.parse_args()
    runs: dict[Path, list[float]] = {c: [] for c in args.checkouts}
    for r in range(args.rounds):
        for checkout in args.checkouts:
            us = cost_us(checkout, args.frames, args.burst, relay=args.relay, rate=args.rate)
            runs[checkout].append(us)
            print(f"round {r + 1}: {checkout}: {us:.1f} us/frame", flush=True)
    for checkout, values in runs.items():
        print(
            f"{checkout}: median {statistics.median(values):.1f} us/frame over {len(values)} runs "
            + (f"({args.frames} relayed samples at {args.rate:g} Hz)" if args.relay else "")
            + ("" if args.relay else f"({args.frames} frames, bursts of {args.burst})")
        )


if __name__ == "__main__":
    main()
