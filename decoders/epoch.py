"""Trial epoching: cut a fixed window of the stream around each marker of a marker stream.

The node reads a continuous stream as its input and a marker stream through ``markers =`` in the
pipeline file. For every marker whose label it is told to take, it emits the samples from
``tmin`` to ``tmax`` seconds around the marker once the last of them has arrived. The data is
kept in a ring of ``history_s`` seconds, so a marker may arrive late (markers often travel on a
separate path) as long as its window is still in the ring; an epoch whose start has already
left the ring is counted as missed, never silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular

__all__ = ["Epoch", "EpochConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class EpochConfig:
    """Settings of :class:`Epoch`.

    Parameters
    ----------
    tmin : float
        Start of the window relative to the marker, seconds (negative: before it).
    tmax : float
        End of the window relative to the marker, seconds, exclusive; the window holds
        ``round((tmax - tmin) * sfreq)`` samples.
    labels : tuple of str
        Marker labels that start an epoch; empty: every marker.
    history_s : float
        How much of the stream is kept, seconds: the longest a marker may lag its data.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    tmin: float = 0.0
    tmax: float
    labels: tuple[str, ...] = ()
    history_s: float = 10.0
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tmin) and math.isfinite(self.tmax) and self.tmax > self.tmin):
            raise ConfigError(f"must be > tmin, got tmin={self.tmin}, tmax={self.tmax}", key="tmax")
        if not self.history_s > self.tmax - self.tmin:
            raise ConfigError(
                f"must exceed the window length {self.tmax - self.tmin:g} s", key="history_s"
            )
        check_budget(self.budget_ms)


class Epoch:
    """Emit one window of samples per marker.

    Input: a regular stream, shape (n_samples, n_channels). Markers: ``on_markers(labels,
    timestamps)``. Output: type ``Epochs``, same channels, rate and dtype; each output chunk
    holds one or more whole epochs of ``n_epoch`` samples back to back, shape
    (k * n_epoch, n_channels), with the epoch samples' own timestamps.
    """

    Config = EpochConfig

    def __init__(self, config: EpochConfig) -> None:
        self.config = config
        self._take = frozenset(config.labels)
        self._pending: list[float] = []  # marker times, seconds, in arrival order
        self._sfreq = 0.0
        self.n_epoch = 0
        self._offset = 0
        self._size = 0
        self._data: npt.NDArray[Any] = np.empty((0, 0))
        self._stamps: npt.NDArray[np.float64] = np.empty(0)
        self._total = 0
        self.epochs = 0
        self.missed = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Allocate the ring; refuse an irregular stream."""
        sfreq = require_regular(info, "epoch")
        cfg = self.config
        self._sfreq = sfreq
        self.n_epoch = round((cfg.tmax - cfg.tmin) * sfreq)
        if self.n_epoch < 1:
            raise ConfigError(f"the window is shorter than one sample at {sfreq:g} Hz", key="tmax")
        self._offset = round(cfg.tmin * sfreq)
        self._size = max(round(cfg.history_s * sfreq), self.n_epoch + 1)
        self._data = np.zeros((self._size, info.n_channels), dtype=info.np_dtype)
        self._stamps = np.zeros(self._size, dtype=np.float64)
        self._pending = []
        self._total = 0
        self.epochs = 0
        self.missed = 0
        return info.renamed(type="Epochs")

    def on_markers(
        self, labels: tuple[str, ...], timestamps: npt.NDArray[np.float64]
    ) -> Chunk | None:
        """Queue the markers this node takes (by label).

        Returns
        -------
        Chunk or None
            The epochs of markers that arrived after all their samples (markers travel on
            their own path and may lag): emitted at once, not at the next data chunk.
        """
        take = self._take
        for label, stamp in zip(labels, timestamps.tolist(), strict=True):
            if not take or label in take:
                self._pending.append(stamp)
        if not self._pending or self._total == 0:
            return None
        return self._emit()

    def step(self, chunk: Chunk) -> Chunk | None:
        """Store the chunk; emit every epoch whose last sample has now arrived."""
        n = chunk.data.shape[0]
        if n == 0:
            return None
        size = self._size
        if n > size:  # only the newest ``size`` samples can be kept
            self._total += n - size
            data, stamps, n = chunk.data[-size:], chunk.timestamps[-size:], size
        else:
            data, stamps = chunk.data, chunk.timestamps
        start = self._total % size
        first = min(n, size - start)
        self._data[start : start + first] = data[:first]
        self._stamps[start : start + first] = stamps[:first]
        if first < n:
            self._data[: n - first] = data[first:]
            self._stamps[: n - first] = stamps[first:]
        self._total += n
        if not self._pending:
            return None
        return self._emit()

    def _emit(self) -> Chunk | None:
        newest = self._total - 1
        newest_t = float(self._stamps[newest % self._size])
        ready: list[int] = []
        waiting: list[float] = []
        for t in self._pending:
            k0 = newest + round((t - newest_t) * self._sfreq) + self._offset
            if k0 + self.n_epoch - 1 > newest:
                waiting.append(t)
            elif k0 < self._total - self._size:
                self.missed += 1
            else:
                ready.append(k0)
        self._pending = waiting
        if not ready:
            return None
        self.epochs += len(ready)
        return self._copy_out(ready)

    def _copy_out(self, starts: list[int]) -> Chunk:
        """Copy the epochs starting at the absolute sample indices ``starts`` out of the ring.

        Row blocks only (one or two per epoch, as the ring wraps): no index arrays, nothing
        allocated but the returned arrays.
        """
        n_epoch, size = self.n_epoch, self._size
        data = np.empty((len(starts) * n_epoch, self._data.shape[1]), dtype=self._data.dtype)
        stamps = np.empty(len(starts) * n_epoch)
        for j, k0 in enumerate(starts):
            start = k0 % size
            first = min(n_epoch, size - start)
            row = j * n_epoch
            data[row : row + first] = self._data[start : start + first]
            stamps[row : row + first] = self._stamps[start : start + first]
            if first < n_epoch:
                rest = n_epoch - first
                data[row + first : row + n_epoch] = self._data[:rest]
                stamps[row + first : row + n_epoch] = self._stamps[:rest]
        return Chunk(data, stamps, 0)

    def stats(self) -> dict[str, int]:
        """Counters for the runtime's report: epochs emitted, missed, and markers waiting."""
        return {"epochs": self.epochs, "missed": self.missed, "pending": len(self._pending)}
