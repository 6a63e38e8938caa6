"""Common average reference, for the ``wide`` scenario while no ``reref`` module is installed.

Used as ``module = "bci_bridge.bench.car:CommonAverage"``; the benchmark prefers the installed
``reref`` module (``mode = "average"``) when there is one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["CommonAverage", "CommonAverageConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CommonAverageConfig:
    """Settings of :class:`CommonAverage`.

    Parameters
    ----------
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    budget_ms: float = 1.0

    def __post_init__(self) -> None:
        if not self.budget_ms > 0:
            raise ConfigError(f"must be > 0 ms, got {self.budget_ms!r}", key="budget_ms")


class CommonAverage:
    """Subtract, at each sample, the mean over channels.

    Input and output: shape (n_samples, n_channels), same dtype (float32 or float64), units,
    rate and timestamps.
    """

    Config = CommonAverageConfig

    def __init__(self, config: CommonAverageConfig) -> None:
        self.config = config

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Accept float streams of two channels or more."""
        if info.dtype not in ("float32", "float64"):
            raise ConfigError(f"needs float32 or float64 samples, stream is {info.dtype}")
        if info.n_channels < 2:
            raise ConfigError("a common average needs at least two channels")
        return info

    def step(self, chunk: Chunk) -> Chunk:
        """Return the re-referenced chunk, shape (n_samples, n_channels)."""
        data = chunk.data
        out = data - data.mean(axis=1, keepdims=True, dtype=data.dtype)
        return Chunk(np.ascontiguousarray(out), chunk.timestamps, chunk.seq)
