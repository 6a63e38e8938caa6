"""Change a stream's sample rate: a streaming polyphase resampler (any ratio, chunk by chunk).

The filter comes from :mod:`decoders.resample_design` (the one ``bci-bridge train`` uses on
training data with ``[data] sfreq``). The module keeps the last input samples the filter needs
between chunks, so that chunked resampling gives exactly what one call over the whole signal
gives, whatever the chunk sizes; before the first sample the signal is taken to be that sample
(steady state, no start-up transient, as the IIR filter modules do). The filter is causal: the
output lags the input by its group delay, stated by :meth:`Resample.stats` (``latency_s``).

Output sample ``k`` is computed once input sample ``i = k * down // up`` has arrived; it is
stamped ``t_i + (k * down % up) / (up * sfreq_in)``, the input's own clock advanced at the new
rate (for downsampling by a whole factor, exactly the input timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.resample_design import Resampling, design_resampling

__all__ = ["Resample", "ResampleConfig"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class ResampleConfig:
    """Settings of :class:`Resample`.

    Parameters
    ----------
    sfreq : float
        Wanted output rate in Hz, > 0. The ratio to the input rate is made a fraction
        ``up / down`` (exact where possible, ``down <= 1000``); the output info states the
        rate actually produced, ``sfreq_in * up / down``.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    sfreq: float
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(self.sfreq, bool) or not (
            isinstance(self.sfreq, int | float) and np.isfinite(self.sfreq) and self.sfreq > 0
        ):
            raise ConfigError(f"must be a rate > 0 Hz, got {self.sfreq!r}", key="sfreq")
        check_budget(self.budget_ms)


class Resample:
    """Resample every channel to ``sfreq`` (see the module docs).

    Input: shape (n_samples, n_channels), regular rate. Output: shape (n_out, n_channels),
    float64 for float64 input and float32 otherwise, same channels and units, rate
    ``sfreq_in * up / down``; ``n_out`` is whatever the chunk completes (``None`` if 0).
    """

    Config = ResampleConfig

    __slots__ = (
        "_config",
        "_design",
        "_dtype",
        "_ext",
        "_n_in",
        "_n_out",
        "_phases_rev",
        "_started",
        "_windows",
    )

    def __init__(self, config: ResampleConfig) -> None:
        self._config = config
        self._design: Resampling | None = None
        self._phases_rev: _F64 = np.empty((0, 0))
        self._ext: _F64 = np.empty((0, 0))  # history (n_per_phase - 1 rows), then the chunk
        self._windows: _F64 = np.empty((0, 0, 0))  # every filter-length window of _ext, a view
        self._dtype: np.dtype[np.floating] = np.dtype(np.float32)
        self._n_in = 0
        self._n_out = 0
        self._started = False

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design the filter for the input's rate, allocate the history, reset.

        Raises
        ------
        ConfigError
            If the input is irregular or the ratio needs factors above 1000 (``sfreq``).
        """
        rate = require_regular(info, "resample")
        design = design_resampling(rate, self._config.sfreq)
        self._design = design
        self._phases_rev = np.ascontiguousarray(design.phases[:, ::-1])
        keep = design.phases.shape[1] - 1
        self._set_ext(np.zeros((keep + 256, info.n_channels)))
        self._dtype = np.dtype(np.float64 if info.dtype == "float64" else np.float32)
        self._n_in = 0
        self._n_out = 0
        self._started = False
        return info.renamed(sfreq=design.sfreq_out, dtype=str(self._dtype))

    def stats(self) -> dict[str, float]:
        """Return the ratio and the latency the filter adds (``latency_s``, its group delay)."""
        d = self._design
        if d is None:
            return {}
        return {"up": d.up, "down": d.down, "latency_s": d.delay_s}

    def _set_ext(self, ext: _F64) -> None:
        """Use ``ext`` as the history-and-chunk buffer; make its window view once."""
        self._ext = ext
        self._windows = sliding_window_view(ext, self._phases_rev.shape[1], axis=0)

    def step(self, chunk: Chunk) -> Chunk | None:
        """Take one chunk in; return the output samples it completes, or ``None``."""
        d = self._design
        assert d is not None, "prepare() first"
        x = chunk.data
        n = x.shape[0]
        if n == 0:
            return None
        per_phase = self._phases_rev.shape[1]
        keep = per_phase - 1
        if keep + n > self._ext.shape[0]:
            grown = np.empty((keep + n, x.shape[1]))
            grown[:keep] = self._ext[:keep]
            self._set_ext(grown)
        ext = self._ext
        if not self._started:
            ext[:keep] = x[0]  # steady state: the signal before the first sample is that sample
            self._started = True
        ext[keep : keep + n] = x
        first, last = self._n_out, d.n_out(self._n_in + n)
        out: Chunk | None = None
        if last > first:
            pos = np.arange(first, last, dtype=np.int64) * d.down  # upsampled positions
            phase = pos % d.up
            newest = pos // d.up - self._n_in  # index in the chunk of each output's newest input
            windows = self._windows[newest]  # (n_out, n_channels, n_per_phase)
            y = np.einsum("kcj,kj->kc", windows, self._phases_rev[phase])
            stamps = chunk.timestamps[newest] + phase / (d.up * d.sfreq_in)
            out = Chunk(np.ascontiguousarray(y, dtype=self._dtype), stamps, chunk.seq)
        # The history for the next chunk: the last ``keep`` samples seen.
        ext[:keep] = ext[n : n + keep]
        self._n_in += n
        self._n_out = last
        return out
