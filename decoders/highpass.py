"""A causal Butterworth high-pass filter whose state is carried from chunk to chunk.

Chunked filtering gives the same samples as :func:`scipy.signal.sosfilt` over the whole
recording, started in steady state for the first sample (so a DC offset gives no start-up
transient); the filtering is :class:`decoders.sos.SosFilter`, the design
:func:`decoders.iir_design.butter_sos` (numpy only, equal to :func:`scipy.signal.butter` to
rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.iir_design import butter_sos
from decoders.sos import SosFilter, require_below_nyquist

__all__ = ["HighPass", "HighPassConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HighPassConfig:
    """Settings of :class:`HighPass`.

    Parameters
    ----------
    cutoff : float
        Cut-off frequency in Hz (-3 dB), > 0 and below the input's Nyquist frequency.
    order : int
        Butterworth order, 1 to 12.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    cutoff: float
    order: int = 4
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cutoff) and self.cutoff > 0):
            raise ConfigError(f"must be a frequency > 0 Hz, got {self.cutoff!r}", key="cutoff")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise ConfigError(f"must be an integer, got {self.order!r}", key="order")
        if not 1 <= self.order <= 12:
            raise ConfigError(f"must be between 1 and 12, got {self.order}", key="order")
        check_budget(self.budget_ms)


class HighPass:
    """Causal Butterworth high-pass filter, applied to every channel.

    Input: a regularly sampled stream, shape (n_samples, n_channels). Output: the same shape,
    timestamps and units; float64 input gives float64 output, any other dtype float32.
    """

    Config = HighPassConfig

    __slots__ = ("_config", "_filter")

    def __init__(self, config: HighPassConfig) -> None:
        self._config = config
        self._filter = SosFilter()

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design the filter for the input's rate, allocate the state and warm up.

        Raises
        ------
        ConfigError
            If the stream is irregular or ``cutoff`` is not below its Nyquist frequency.
        """
        cfg = self._config
        sfreq = require_regular(info, "highpass")
        require_below_nyquist(cfg.cutoff, info, "cutoff")
        sos = butter_sos(cfg.order, cfg.cutoff, "highpass", sfreq)
        return self._filter.prepare(sos, info)

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter one chunk: shape (n_samples, n_channels) in, a fresh array of it out."""
        return self._filter.step(chunk)

    def stats(self) -> dict[str, int]:
        """Return counters for the runtime's report: ``state_resets`` (see ``SosFilter``)."""
        return self._filter.stats()
