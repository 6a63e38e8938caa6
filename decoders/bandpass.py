"""A causal Butterworth band-pass filter whose state is carried from chunk to chunk.

Filtering a stream chunk by chunk gives the same samples as :func:`scipy.signal.sosfilt` over
the whole recording, whatever the chunk sizes, with the filter started in steady state for the
first sample (no start-up transient).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.signal import butter, sosfilt, sosfilt_zi

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular

__all__ = ["BandPass", "BandPassConfig"]

_F64 = npt.NDArray[np.float64]
#: ``kernel(sos, x, zi)`` filters ``x`` (n_signals, n_samples) in place, updating ``zi``
#: (n_signals, n_sections, 2) in place; all float64 and C-contiguous.
_Kernel = Callable[[_F64, _F64, _F64], None]


def _sosfilt_public(sos: _F64, x: _F64, zi: _F64) -> None:
    """Filter in place, as the private kernel does, through public :func:`scipy.signal.sosfilt`."""
    y, zf = sosfilt(sos, x, axis=-1, zi=np.moveaxis(zi, 1, 0))
    x[...] = y
    zi[...] = np.moveaxis(zf, 0, 1)


try:
    # The compiled loop behind scipy.signal.sosfilt. Called directly it costs ~5 us per chunk
    # instead of ~60-85 us: sosfilt's argument checks and copies dominate small chunks.
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_private

    _KERNEL: _Kernel = _sosfilt_private
except ImportError:  # pragma: no cover - a scipy that moved its private kernel
    _KERNEL = _sosfilt_public


@dataclass(frozen=True, slots=True, kw_only=True)
class BandPassConfig:
    """Settings of :class:`BandPass`.

    Parameters
    ----------
    low : float
        Lower cut-off in Hz (-3 dB), > 0.
    high : float
        Upper cut-off in Hz (-3 dB), > ``low`` and below the input's Nyquist frequency.
    order : int
        Butterworth order of each edge (the band-pass has ``2 * order`` poles), 1 to 12.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    low: float
    high: float
    order: int = 4
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if not math.isfinite(self.low) or self.low <= 0:
            raise ConfigError(f"must be a frequency > 0 Hz, got {self.low!r}", key="low")
        if not math.isfinite(self.high):
            raise ConfigError(f"must be a finite frequency in Hz, got {self.high!r}", key="high")
        if self.low >= self.high:
            raise ConfigError(f"low must be < high, got {self.low} >= {self.high}", key="low")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise ConfigError(f"must be an integer, got {self.order!r}", key="order")
        if not 1 <= self.order <= 12:
            raise ConfigError(f"must be between 1 and 12, got {self.order}", key="order")
        check_budget(self.budget_ms)


class BandPass:
    """Causal Butterworth band-pass filter, applied to every channel.

    Input: any regularly sampled stream, shape (n_samples, n_channels). Output: the same shape,
    timestamps and units; float64 input gives float64 output, any other dtype gives float32
    (computation is in float64). The filter state persists across chunks and is initialised
    to the steady state of the first sample.
    """

    Config = BandPassConfig

    __slots__ = (
        "_buf",
        "_config",
        "_kernel",
        "_n_channels",
        "_out_dtype",
        "_primed",
        "_sos",
        "_state",
        "_zi_unit",
    )

    def __init__(self, config: BandPassConfig) -> None:
        self._config = config
        self._kernel: _Kernel = _KERNEL
        self._n_channels = 0
        self._out_dtype: np.dtype[Any] = np.dtype(np.float32)
        self._primed = False
        self._sos: _F64 = np.empty((0, 6))
        self._zi_unit: _F64 = np.empty((0, 2))
        self._state: _F64 = np.empty((0, 0, 2))
        self._buf: _F64 = np.empty(0)

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design the filter for the input's rate, allocate the state and warm up.

        Parameters
        ----------
        info : StreamInfo
            The input stream; must be regularly sampled with ``high`` below its Nyquist rate.

        Returns
        -------
        StreamInfo
            The output: same channels and rate, dtype float64 or float32 (see class docs).

        Raises
        ------
        ConfigError
            If the stream is irregular or ``high`` is not below its Nyquist frequency.
        """
        cfg = self._config
        sfreq = require_regular(info, "bandpass")
        nyquist = sfreq / 2
        if cfg.high >= nyquist:
            raise ConfigError(
                f"must be below the Nyquist frequency ({nyquist:g} Hz) of stream "
                f"{info.name!r} sampled at {sfreq:g} Hz, got {cfg.high:g} Hz",
                key="high",
            )
        sos = butter(cfg.order, [cfg.low, cfg.high], btype="bandpass", fs=sfreq, output="sos")
        self._sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = np.ascontiguousarray(sosfilt_zi(self._sos), dtype=np.float64)
        n_channels = info.n_channels
        self._n_channels = n_channels
        self._state = np.zeros((n_channels, self._sos.shape[0], 2))
        # Room for one second of samples; a bigger chunk grows it once (see _work).
        self._buf = np.empty(n_channels * max(1, math.ceil(sfreq)))
        self._primed = False
        self._out_dtype = np.dtype(np.float64 if info.dtype == "float64" else np.float32)
        # Warm-up: run the kernel once on scratch state, so the first real chunk is not slower.
        self._kernel(self._sos, np.zeros((n_channels, 1)), np.zeros_like(self._state))
        return info.renamed(dtype=str(self._out_dtype))

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter one chunk.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Filtered samples, shape (n_samples, n_channels), with the input's timestamps and
            seq; ``None`` for an empty chunk.
        """
        data = chunk.data
        n = data.shape[0]
        if n == 0:
            return None
        if data.ndim != 2 or data.shape[1] != self._n_channels:
            raise ValueError(f"expected chunks of shape (n, {self._n_channels}), got {data.shape}")
        x = self._work(n)
        x[...] = data.T
        if not self._primed:
            np.multiply(self._zi_unit, x[:, 0, None, None], out=self._state)
            self._primed = True
        self._kernel(self._sos, x, self._state)
        # astype always copies: the output must not alias the scratch buffer (for one sample,
        # x.T is already contiguous and ascontiguousarray would return a view of it).
        return Chunk(x.T.astype(self._out_dtype, order="C"), chunk.timestamps, chunk.seq)

    def _work(self, n: int) -> _F64:
        """Return a C-contiguous (n_channels, n) float64 scratch view, grown if needed."""
        size = self._n_channels * n
        if size > self._buf.size:
            self._buf = np.empty(max(size, 2 * self._buf.size))
        return self._buf[:size].reshape(self._n_channels, n)
