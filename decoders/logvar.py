"""Log-variance per channel over an epoch or a sliding window (band-power proxy after a filter).

Each row holds ``ln(var)`` of every channel over the window (variance with ``ddof = 1``),
floored at the smallest positive float64 so that a flat channel gives a large negative number
instead of ``-inf``. Classic features after a band-pass (and CSP) in motor imagery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import Chunk, StreamInfo
from decoders.centring import Centring
from decoders.checks import check_budget
from decoders.derived_units import log_of, squared
from decoders.windowing import Windows, check_window_config

__all__ = ["LogVar", "LogVarConfig"]

_FLOOR = float(np.finfo(np.float64).tiny)


@dataclass(frozen=True, slots=True, kw_only=True)
class LogVarConfig:
    """Settings of :class:`LogVar`.

    Parameters
    ----------
    window_s : float
        Window (or epoch) length in seconds; required.
    hop_s : float
        Time between outputs in seconds when sliding; 0: each input chunk is whole epochs of
        ``round(window_s * sfreq)`` samples, one row each.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    window_s: float = 0.0
    hop_s: float = 0.0
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        check_window_config(self.window_s, self.hop_s)
        check_budget(self.budget_ms)


class LogVar:
    """Natural log of each channel's variance over each window.

    Input: a regular stream, shape (n_samples, n_channels) (epochs: whole epochs per chunk).
    Output: type ``Features``, float32, one row per window of shape (1, n_channels), named
    ``f"{channel}_logvar"``, stamped with the window's newest sample; rate ``sfreq / hop``
    when sliding, irregular for epochs. Units: ln of the input's units squared.
    """

    Config = LogVarConfig

    __slots__ = ("_centring", "_config", "_ones", "_var", "_width", "_windows")

    def __init__(self, config: LogVarConfig) -> None:
        self._config = config
        self._windows = Windows("logvar")
        self._centring = Centring(0, 0)
        self._var: npt.NDArray[np.float64] = np.empty(0)
        self._ones: npt.NDArray[np.float64] = np.empty(0)
        self._width = 0

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Fix the window, allocate the scratch buffers.

        Raises
        ------
        ConfigError
            If the stream is irregular or ``window_s`` is unset or under two samples.
        """
        cfg = self._config
        rate = self._windows.prepare(cfg.window_s, cfg.hop_s, info, min_len=2)
        self._centring = Centring(self._windows.length, info.n_channels)
        self._var = np.empty(info.n_channels)
        self._ones = np.ones(self._windows.length)
        self._width = info.n_channels
        names = tuple(f"{ch}_logvar" for ch in info.channel_names)
        units = tuple(log_of(squared(u), "ln") for u in info.channel_units)
        return info.renamed(
            type="Features", channel_names=names, channel_units=units, sfreq=rate, dtype="float32"
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Emit one row per completed window (see class docs), or ``None``."""
        return self._windows.run(chunk, self._width, self._fill)

    def _fill(self, window: npt.NDArray[Any], row: npt.NDArray[np.float32]) -> None:
        centred, var = self._centring.centre(window), self._var
        np.square(centred, out=centred)
        np.dot(self._ones, centred, out=var)  # column sums, no reduction iterator
        var /= centred.shape[0] - 1
        np.maximum(var, _FLOOR, out=var)
        np.log(var, out=var)
        row[:] = var
