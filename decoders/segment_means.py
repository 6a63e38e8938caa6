"""Time-segment means of an epoch: the classic features of slow cortical potentials and ERPs.

Each epoch of ``n`` samples is split into ``n_segments`` equal, consecutive segments; the
output row holds the mean of every channel over every segment, computed as one matrix product
with a precomputed (n_segments, n) averaging matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget
from decoders.windowing import Windows, check_window_config

__all__ = ["SegmentMeans", "SegmentMeansConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentMeansConfig:
    """Settings of :class:`SegmentMeans`.

    Parameters
    ----------
    window_s : float
        Epoch length in seconds (the epoch node's ``tmax - tmin``); required. Each input chunk
        must hold whole epochs of ``round(window_s * sfreq)`` samples.
    n_segments : int
        Equal segments per epoch, >= 1; must divide the epoch's sample count.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    window_s: float = 0.0
    n_segments: int = 8
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        check_window_config(self.window_s, 0.0)
        if isinstance(self.n_segments, bool) or not isinstance(self.n_segments, int):
            raise ConfigError(f"must be an integer, got {self.n_segments!r}", key="n_segments")
        if self.n_segments < 1:
            raise ConfigError(f"must be >= 1, got {self.n_segments}", key="n_segments")
        check_budget(self.budget_ms)


class SegmentMeans:
    """Per-channel means over equal time segments of each epoch.

    Input: a regular stream in epochs, chunks of shape (k * n, n_channels). Output: type
    ``Features``, float32, irregular rate, one row per epoch of shape
    (1, n_channels * n_segments), channel-major, named ``f"{channel}_s{k}"``, stamped with the
    epoch's last sample; in the input's units.
    """

    Config = SegmentMeansConfig

    __slots__ = ("_avg_t", "_config", "_epoch", "_means", "_width", "_windows")

    def __init__(self, config: SegmentMeansConfig) -> None:
        self._config = config
        self._windows = Windows("segment_means")
        self._avg_t: npt.NDArray[np.float64] = np.empty((0, 0))
        self._epoch: npt.NDArray[np.float64] = np.empty((0, 0))  # scratch: a float64 epoch
        self._means: npt.NDArray[np.float64] = np.empty((0, 0))  # (n_channels, n_segments)
        self._width = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Fix the epoch length and the averaging matrix.

        Raises
        ------
        ConfigError
            If the stream is irregular, ``window_s`` is not set, or ``n_segments`` does not
            divide the epoch's sample count.
        """
        cfg = self._config
        rate = self._windows.prepare(cfg.window_s, 0.0, info, min_len=cfg.n_segments)
        n = self._windows.length
        k = cfg.n_segments
        if n % k:
            fits = [d for d in range(1, min(n, 64) + 1) if n % d == 0]
            raise ConfigError(
                f"must divide the epoch's {n} samples into equal segments; "
                f"{n} is divisible by {', '.join(map(str, fits))}",
                key="n_segments",
            )
        self._avg_t = np.kron(np.eye(k), np.full((n // k, 1), k / n))  # (n, k)
        self._epoch = np.empty((n, info.n_channels))
        self._means = np.empty((info.n_channels, k))
        self._width = info.n_channels * k
        names = tuple(f"{ch}_s{s}" for ch in info.channel_names for s in range(k))
        units = tuple(u for u in info.channel_units for _ in range(k))
        return info.renamed(
            type="Features", channel_names=names, channel_units=units, sfreq=rate, dtype="float32"
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Emit one row per epoch in the chunk (see class docs); ``None`` for an empty chunk.

        Raises
        ------
        ValueError
            If the chunk is not a whole number of epochs.
        """
        return self._windows.run(chunk, self._width, self._fill)

    def _fill(self, window: npt.NDArray[Any], row: npt.NDArray[np.float32]) -> None:
        means = self._means
        if window.dtype != np.float64:
            np.copyto(self._epoch, window)
            window = self._epoch
        np.matmul(window.T, self._avg_t, out=means)  # (n_channels, n_segments)
        row[:] = means.reshape(-1)  # channel-major, as named
