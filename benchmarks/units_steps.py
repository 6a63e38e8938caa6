"""Micro-benchmark: per-call cost of ``resample`` and ``rename`` steps, and of onnx ``scale``.

Run: ``.venv/bin/python benchmarks/units_steps.py`` (prints p50 and p99 in microseconds).
Times on this machine move with its load; compare numbers from one run only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from bci_bridge.stream import Chunk, StreamInfo
from decoders.rename import Rename, RenameConfig
from decoders.resample import Resample, ResampleConfig

N_CALLS = 3000


def _info(n_channels: int, sfreq: float) -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n_channels))
    return StreamInfo(
        name="bench", channel_names=names, sfreq=sfreq, channel_units=("uV",) * n_channels
    )


def _time(step: Callable[[Chunk], object], chunks: list[Chunk]) -> tuple[float, float]:
    for c in chunks[:100]:  # warm-up
        step(c)
    times = np.empty(len(chunks))
    for k, c in enumerate(chunks):
        t0 = time.perf_counter()
        step(c)
        times[k] = time.perf_counter() - t0
    return float(np.percentile(times, 50) * 1e6), float(np.percentile(times, 99) * 1e6)


def _chunks(n_channels: int, size: int, sfreq: float) -> list[Chunk]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N_CALLS * size, n_channels)).astype(np.float32)
    t = np.arange(x.shape[0]) / sfreq
    return [Chunk(x[k : k + size], t[k : k + size], 0) for k in range(0, x.shape[0], size)]


def main() -> None:
    """Print one line per case."""
    for n_ch, rate_in, rate_out, size in [
        (8, 250.0, 125.0, 1),
        (64, 256.0, 128.0, 16),
        (64, 1000.0, 250.0, 16),
        (64, 250.0, 256.0, 16),
    ]:
        module = Resample(ResampleConfig(sfreq=rate_out))
        module.prepare(_info(n_ch, rate_in))
        p50, p99 = _time(module.step, _chunks(n_ch, size, rate_in))
        print(
            f"resample {n_ch} ch {rate_in:g}->{rate_out:g} Hz, chunks of {size}: "
            f"p50 {p50:.1f} us, p99 {p99:.1f} us"
        )
    rename = Rename(RenameConfig(names=tuple(f"E{i}" for i in range(64))))
    rename.prepare(_info(64, 256.0))
    p50, p99 = _time(rename.step, _chunks(64, 16, 256.0))
    print(f"rename 64 ch, chunks of 16: p50 {p50:.1f} us, p99 {p99:.1f} us")
    factors = np.full(64, 1e6, dtype=np.float32)
    out = np.empty((16, 64), dtype=np.float32)

    def scale(c: Chunk) -> None:
        np.multiply(c.data, factors, out=out[: c.data.shape[0]], casting="unsafe")

    p50, p99 = _time(scale, _chunks(64, 16, 256.0))
    print(f"onnx scale = 'auto' multiply, 64 ch, chunks of 16: p50 {p50:.1f} us, p99 {p99:.1f} us")


if __name__ == "__main__":
    main()
