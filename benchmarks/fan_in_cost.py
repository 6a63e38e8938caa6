"""What aligning costs: microseconds per pushed chunk through :class:`runtime.fan_in.Aligner`.

Two regular sources at 250 Hz (EEG-like and EMG-like), pushed alternately in chunks of
``--chunk`` samples, the second 0.4 sample periods late with jitter, so every push pairs the
samples that wait. Prints the median over ``--repeats`` of the time per push (the module step
not included)::

    .venv/bin/python benchmarks/fan_in_cost.py --channels 8 2 --chunk 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bci_bridge.stream import Chunk, StreamInfo
from runtime.aligner import Aligner


def main() -> None:
    """Time the aligner and print the median microseconds per push."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs=2, default=[8, 2])
    parser.add_argument("--chunk", type=int, default=1, help="samples per push")
    parser.add_argument("--pushes", type=int, default=20_000, help="pushes per repeat")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    fs = 250.0
    n = args.pushes // 2 * args.chunk
    rng = np.random.default_rng(0)
    grid = 10.0 + np.arange(n) / fs
    stamps = [grid, grid + (0.4 + rng.uniform(-0.05, 0.05, n)) / fs]
    data = [rng.standard_normal((n, c)).astype(np.float32) for c in args.channels]
    infos = [
        StreamInfo(name=f"s{k}", channel_names=tuple(f"s{k}c{i}" for i in range(c)), sfreq=fs)
        for k, c in enumerate(args.channels)
    ]
    rows = 0

    def emit(chunk: Chunk) -> None:
        nonlocal rows
        rows += chunk.n_samples

    per_push = []
    for _ in range(args.repeats):
        aligner = Aligner(infos, tolerance_s=0.5 / fs, max_bytes=1 << 20, dtype=np.dtype("f4"))
        rows = 0
        t0 = time.perf_counter()
        for i in range(0, n, args.chunk):
            for k in (0, 1):
                aligner.push_all(
                    k, data[k][i : i + args.chunk], stamps[k][i : i + args.chunk], emit
                )
        per_push.append((time.perf_counter() - t0) / (2 * n / args.chunk) * 1e6)
        assert rows == n, f"aligned {rows} of {n}"
    print(
        f"{args.channels[0]}+{args.channels[1]} channels, {args.chunk} sample(s) a push: "
        f"{statistics.median(per_push):.1f} us per push (median of {args.repeats}; "
        f"all {[round(x, 1) for x in per_push]})"
    )


if __name__ == "__main__":
    main()
