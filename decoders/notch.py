"""A causal IIR notch filter (mains interference) at a frequency and its harmonics.

Each notch is one second-order section, :func:`decoders.iir_design.notch_sos` (the filter of
:func:`scipy.signal.iirnotch`, designed with numpy alone); the notches
run as one cascade whose state is carried from chunk to chunk (:class:`decoders.sos.SosFilter`),
started in steady state for the first sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.iir_design import notch_sos
from decoders.sos import SosFilter, require_below_nyquist

__all__ = ["Notch", "NotchConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NotchConfig:
    """Settings of :class:`Notch`.

    Parameters
    ----------
    freq : float
        Frequency to remove in Hz (50 in Europe, 60 in the Americas), > 0.
    q : float
        Quality factor of each notch, > 0: the -3 dB width is ``freq * harmonic / q`` Hz.
    harmonics : tuple of int
        Multiples of ``freq`` to remove, each >= 1 and unique; ``(1, 2)`` removes 50 and
        100 Hz. Every one must be below the input's Nyquist frequency.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    freq: float = 50.0
    q: float = 30.0
    harmonics: tuple[int, ...] = (1,)
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if not (math.isfinite(self.freq) and self.freq > 0):
            raise ConfigError(f"must be a frequency > 0 Hz, got {self.freq!r}", key="freq")
        if not (math.isfinite(self.q) and self.q > 0):
            raise ConfigError(f"must be > 0, got {self.q!r}", key="q")
        if not self.harmonics:
            raise ConfigError("name at least one multiple of freq, e.g. [1]", key="harmonics")
        for i, h in enumerate(self.harmonics):
            if isinstance(h, bool) or not isinstance(h, int) or h < 1:
                raise ConfigError(f"must be an integer >= 1, got {h!r}", key=f"harmonics[{i}]")
        if len(set(self.harmonics)) != len(self.harmonics):
            raise ConfigError(f"multiples repeat: {self.harmonics!r}", key="harmonics")
        check_budget(self.budget_ms)


class Notch:
    """Causal notch filter at ``freq`` and its harmonics, applied to every channel.

    Input: a regularly sampled stream, shape (n_samples, n_channels). Output: the same shape,
    timestamps and units; float64 input gives float64 output, any other dtype float32.
    """

    Config = NotchConfig

    __slots__ = ("_config", "_filter")

    def __init__(self, config: NotchConfig) -> None:
        self._config = config
        self._filter = SosFilter()

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design one notch per harmonic for the input's rate, allocate the state, warm up.

        Raises
        ------
        ConfigError
            If the stream is irregular or a notch is not below its Nyquist frequency.
        """
        cfg = self._config
        sfreq = require_regular(info, "notch")
        sections = []
        for i, h in enumerate(cfg.harmonics):
            require_below_nyquist(cfg.freq * h, info, f"harmonics[{i}]")
            sections.append(notch_sos(cfg.freq * h, cfg.q, sfreq))
        return self._filter.prepare(np.vstack(sections), info)

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter one chunk: shape (n_samples, n_channels) in, a fresh array of it out."""
        return self._filter.step(chunk)

    def stats(self) -> dict[str, int]:
        """Return counters for the runtime's report: ``state_resets`` (see ``SosFilter``)."""
        return self._filter.stats()
