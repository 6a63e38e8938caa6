"""Per-frame cost of module chains at intracortical scale, in-process (no LSL, no ZeroMQ).

Usage::

    python benchmarks/step_cost.py            # 1024 channels at 30 kHz, 30-sample frames

Prints, for each chain, the median time of one 1 ms frame through its modules' ``step`` and
the share of one core that 1000 frames a second need (the cost model: frames per second x
per-frame cost). Above 100 % a chain cannot keep up in real time on one core.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bci_bridge.stream import Chunk, StreamInfo
from decoders.bandpass import BandPass, BandPassConfig
from decoders.bandpower import BandPower, BandPowerConfig
from decoders.reref import ReRef, ReRefConfig
from decoders.spikes import Spikes, SpikesConfig

CHANNELS, RATE, FRAME = 1024, 30000.0, 30


def _chain(modules: list[Any], info: StreamInfo) -> list[Any]:
    for m in modules:
        info = m.prepare(info)
    return modules


def main() -> None:
    """Time each chain on seeded frames; print the table."""
    info = StreamInfo(
        name="utah", channel_names=tuple(f"ch{i}" for i in range(CHANNELS)), sfreq=RATE
    )
    chains = {
        "reref + spikes": [ReRef(ReRefConfig(mode="average")), Spikes(SpikesConfig())],
        "bandpass 8-30 Hz": [BandPass(BandPassConfig(low=8.0, high=30.0))],
        "bandpass + bandpower (1 s, 0.1 s hop)": [
            BandPass(BandPassConfig(low=8.0, high=30.0)),
            BandPower(BandPowerConfig(window_s=1.0, hop_s=0.1)),
        ],
    }
    rng = np.random.default_rng(0)
    frames = [(rng.standard_normal((FRAME, CHANNELS)) * 10).astype(np.float32) for _ in range(8)]
    per_s = RATE / FRAME
    print(f"{CHANNELS} ch at {RATE:g} Hz, {FRAME}-sample frames ({per_s:g} frames/s)")
    for name, modules in chains.items():
        _chain(modules, info)
        times = []
        for i in range(2000):
            ts = (np.arange(FRAME) + i * FRAME) / RATE
            chunk: Chunk | None = Chunk(frames[i % 8], ts, i)
            t0 = time.perf_counter()
            for m in modules:
                if chunk is None:
                    break
                chunk = m.step(chunk)
            if i >= 1200:  # windows full
                times.append(time.perf_counter() - t0)
        med = float(np.median(times))
        print(f"{name:<40} {med * 1e6:8.0f} us/frame  {med * per_s:6.0%} of a core")


if __name__ == "__main__":
    main()
