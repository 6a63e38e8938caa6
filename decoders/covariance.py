"""Spatial covariance over an epoch or a sliding window, as a feature row.

Each row holds the upper triangle, diagonal included, of the channel covariance of the window
(mean removed, divided by ``n - 1``), optionally shrunk toward a scaled identity:
``(1 - shrinkage) * C + shrinkage * trace(C) / n_channels * I`` (a fixed Ledoit-Wolf-style
coefficient), which keeps the matrix well conditioned for Riemannian decoders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.centring import Centring
from decoders.checks import check_budget
from decoders.derived_units import squared
from decoders.windowing import Windows, check_window_config

__all__ = ["Covariance", "CovarianceConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CovarianceConfig:
    """Settings of :class:`Covariance`.

    Parameters
    ----------
    window_s : float
        Window (or epoch) length in seconds; required.
    hop_s : float
        Time between outputs in seconds when sliding; 0: each input chunk is whole epochs of
        ``round(window_s * sfreq)`` samples, one row each.
    shrinkage : float
        Shrinkage coefficient toward ``trace / n_channels * I``, in [0, 1].
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    window_s: float = 0.0
    hop_s: float = 0.0
    shrinkage: float = 0.0
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        check_window_config(self.window_s, self.hop_s)
        if not (math.isfinite(self.shrinkage) and 0.0 <= self.shrinkage <= 1.0):
            raise ConfigError(f"must be in [0, 1], got {self.shrinkage!r}", key="shrinkage")
        check_budget(self.budget_ms)


class Covariance:
    """Channel covariance of each window, upper triangle as one row.

    Input: a regular stream, shape (n_samples, n_channels) (epochs: whole epochs per chunk).
    Output: type ``Features``, float32, one row per window of n_channels * (n_channels + 1) / 2
    values, row-major upper triangle (``C[0, 0], C[0, 1], ..., C[1, 1], ...``), named
    ``f"{a}:{b}"``, stamped with the window's newest sample; rate ``sfreq / hop`` when sliding,
    irregular for epochs. Units: the input's units squared.
    """

    Config = CovarianceConfig

    __slots__ = ("_centring", "_config", "_cov", "_ones", "_tri", "_triu", "_width", "_windows")

    def __init__(self, config: CovarianceConfig) -> None:
        self._config = config
        self._windows = Windows("covariance")
        self._centring = Centring(0, 0)
        self._cov: npt.NDArray[np.float64] = np.empty((0, 0))
        self._triu: npt.NDArray[np.intp] = np.empty(0, np.intp)
        self._tri: npt.NDArray[np.float64] = np.empty(0)  # scratch: the row in float64
        self._ones: npt.NDArray[np.float64] = np.empty(0)
        self._width = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Fix the window, allocate the scratch buffers and the triangle's indices.

        Raises
        ------
        ConfigError
            If the stream is irregular or ``window_s`` is unset or under two samples.
        """
        cfg = self._config
        rate = self._windows.prepare(cfg.window_s, cfg.hop_s, info, min_len=2)
        c = info.n_channels
        self._centring = Centring(self._windows.length, c)
        self._cov = np.empty((c, c))
        rows, cols = np.triu_indices(c)
        self._triu = np.ravel_multi_index((rows, cols), (c, c))
        self._tri = np.empty(rows.size)
        self._ones = np.ones(c)
        self._width = rows.size
        names = info.channel_names
        out = tuple(f"{names[a]}:{names[b]}" for a, b in zip(rows, cols, strict=True))
        u = info.channel_units
        units = tuple(
            squared(u[a]) if u[a] == u[b] else "" for a, b in zip(rows, cols, strict=True)
        )
        return info.renamed(
            type="Features", channel_names=out, channel_units=units, sfreq=rate, dtype="float32"
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Emit one row per completed window (see class docs), or ``None``."""
        return self._windows.run(chunk, self._width, self._fill)

    def _fill(self, window: npt.NDArray[Any], row: npt.NDArray[np.float32]) -> None:
        centred, cov = self._centring.centre(window), self._cov
        np.matmul(centred.T, centred, out=cov)
        cov /= centred.shape[0] - 1
        s = self._config.shrinkage
        if s:
            diagonal = cov.reshape(-1)[:: cov.shape[0] + 1]  # a view
            # The trace as a dot product: a reduction (np.trace) builds a 1 KiB iterator.
            mu = float(np.dot(diagonal, self._ones)) / cov.shape[0]
            cov *= 1.0 - s
            diagonal += s * mu
        # mode="clip": the indices are in range; "raise" would buffer ``out``.
        np.take(cov.reshape(-1), self._triu, out=self._tri, mode="clip")
        row[:] = self._tri
