"""A causal Butterworth band-pass filter whose state is carried from chunk to chunk.

Filtering a stream chunk by chunk gives the same samples as :func:`scipy.signal.sosfilt` over
the whole recording, whatever the chunk sizes, with the filter started in steady state for the
first sample (no start-up transient). The filtering itself is :class:`decoders.sos.SosFilter`,
the design :func:`decoders.iir_design.butter_sos` (numpy only, equal to
:func:`scipy.signal.butter` to rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.iir_design import butter_sos
from decoders.sos import KERNEL as _KERNEL
from decoders.sos import SosFilter, require_below_nyquist
from decoders.sos import sosfilt_public as _sosfilt_public  # noqa: F401 (tests swap it in)

__all__ = ["BandPass", "BandPassConfig"]


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

    __slots__ = ("_config", "_filter")

    def __init__(self, config: BandPassConfig) -> None:
        self._config = config
        # _KERNEL is looked up here, so that tests can swap in the public scipy fallback.
        self._filter = SosFilter(_KERNEL)

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
        require_below_nyquist(cfg.high, info, "high")
        sos = butter_sos(cfg.order, (cfg.low, cfg.high), "bandpass", sfreq)
        return self._filter.prepare(sos, info)

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter one chunk.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Filtered samples, shape (n_samples, n_channels), a fresh array, with the input's
            timestamps and seq; ``None`` for an empty chunk.
        """
        return self._filter.step(chunk)

    def stats(self) -> dict[str, int]:
        """Return counters for the runtime's report: ``state_resets`` (see ``SosFilter``)."""
        return self._filter.stats()
