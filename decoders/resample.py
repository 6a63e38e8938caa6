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

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.resample_design import Resampling, design_resampling

__all__ = ["Resample", "ResampleConfig"]

_F64 = npt.NDArray[np.float64]
_I64 = npt.NDArray[np.intp]


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

    Notes
    -----
    In steady state ``step`` allocates only its output (data and timestamps, fresh arrays):
    which input rows and filter phase each output uses repeats every ``up`` outputs, so the
    schedule is tabulated once for ``up`` outputs plus the most one chunk completes, and each
    call reads slices of it into preallocated scratch. A chunk longer than any before grows the
    tables once.
    """

    Config = ResampleConfig

    __slots__ = (
        "_coef",
        "_config",
        "_design",
        "_dtype",
        "_ext",
        "_gather",
        "_history",
        "_idx",
        "_idx_table",
        "_n_in",
        "_n_out",
        "_newest",
        "_newest_table",
        "_offsets",
        "_phases_rev",
        "_started",
        "_y",
    )

    def __init__(self, config: ResampleConfig) -> None:
        self._config = config
        self._design: Resampling | None = None
        self._phases_rev: _F64 = np.empty((0, 0))
        self._ext: _F64 = np.empty((0, 0))  # history (n_per_phase - 1 rows), then the chunk
        self._dtype: np.dtype[np.floating] = np.dtype(np.float32)
        # Schedule of outputs k = 0 .. up + most per chunk - 1 (see the class notes):
        self._newest_table: _I64 = np.empty(0, np.intp)  # k * down // up
        self._idx_table: _I64 = np.empty((0, 0), np.intp)  # k * down // up + (0 .. n_per_phase-1)
        self._coef: _F64 = np.empty((0, 0))  # the reversed filter phase of output k
        self._offsets: _F64 = np.empty(0)  # (k * down % up) / (up * sfreq_in), seconds
        # Scratch of one call:
        self._newest: _I64 = np.empty(0, np.intp)
        self._idx: _I64 = np.empty((0, 0), np.intp)
        self._gather: _F64 = np.empty((0, 0, 0))  # (n_out, n_per_phase, n_channels)
        self._y: _F64 = np.empty((0, 1, 0))  # (n_out, 1, n_channels)
        self._history: _F64 = np.empty((0, 0))  # (n_per_phase - 1, n_channels)
        self._n_in = 0
        self._n_out = 0
        self._started = False

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design the filter for the input's rate, tabulate the schedule, allocate, reset.

        Raises
        ------
        ConfigError
            If the input is irregular or the ratio needs factors above 1000 (``sfreq``).
        """
        rate = require_regular(info, "resample")
        design = design_resampling(rate, self._config.sfreq)
        self._design = design
        self._phases_rev = np.ascontiguousarray(design.phases[:, ::-1])
        self._dtype = np.dtype(np.float64 if info.dtype == "float64" else np.float32)
        self._ext = np.zeros((0, info.n_channels))
        self._history = np.empty((self._phases_rev.shape[1] - 1, info.n_channels))
        self._grow(256)
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

    def _grow(self, n_in: int) -> None:
        """Size the history-and-chunk buffer, the schedule and the scratch for ``n_in`` rows."""
        d = self._design
        assert d is not None
        per_phase = self._phases_rev.shape[1]
        keep = per_phase - 1
        ext = np.zeros((keep + n_in, self._ext.shape[1]))
        ext[: min(keep, self._ext.shape[0])] = self._ext[:keep]
        self._ext = ext
        most = d.n_out(n_in) + 1  # outputs one chunk of n_in samples can complete
        k = np.arange(d.up + most, dtype=np.int64) * d.down
        phase = k % d.up
        self._newest_table = (k // d.up).astype(np.intp)
        self._idx_table = self._newest_table[:, None] + np.arange(per_phase, dtype=np.intp)
        self._coef = np.ascontiguousarray(self._phases_rev[phase])
        self._offsets = phase / (d.up * d.sfreq_in)
        self._newest = np.empty(most, np.intp)
        self._idx = np.empty((most, per_phase), np.intp)
        self._gather = np.empty((most, per_phase, ext.shape[1]))
        self._y = np.empty((most, 1, ext.shape[1]))

    def step(self, chunk: Chunk) -> Chunk | None:
        """Take one chunk in; return the output samples it completes, or ``None``."""
        d = self._design
        assert d is not None, "prepare() first"
        x = chunk.data
        n = x.shape[0]
        if n == 0:
            return None
        keep = self._phases_rev.shape[1] - 1
        if keep + n > self._ext.shape[0]:
            self._grow(n)
        ext = self._ext
        if not self._started:
            ext[:keep] = x[0]  # steady state: the signal before the first sample is that sample
            self._started = True
        ext[keep : keep + n] = x
        first, last = self._n_out, d.n_out(self._n_in + n)
        out: Chunk | None = None
        m = last - first
        if m > 0:
            # Output k = first + i is scheduled as table row r + i, shifted by whole periods.
            period, r = divmod(first, d.up)
            shift = period * d.down - self._n_in
            rows = slice(r, r + m)
            newest = self._newest[:m]  # index in the chunk of each output's newest input
            np.add(self._newest_table[rows], shift, out=newest)
            idx = self._idx[:m]  # rows of ext under each output's filter
            np.add(self._idx_table[rows], shift, out=idx)
            # mode="clip": indices are in range by construction; "raise" would buffer ``out``.
            gather = self._gather[:m]
            np.take(ext, idx, axis=0, out=gather, mode="clip")
            y = self._y[:m]
            np.matmul(self._coef[rows, None, :], gather, out=y)
            data = np.empty((m, ext.shape[1]), dtype=self._dtype)
            np.copyto(data, y[:, 0, :], casting="same_kind")
            stamps = np.empty(m)
            np.take(chunk.timestamps, newest, out=stamps, mode="clip")
            stamps += self._offsets[rows]
            out = Chunk(data, stamps, chunk.seq)
        # The history for the next chunk: the last ``keep`` samples seen. Overlapping ranges
        # (n < keep) go through scratch: numpy would copy them into a temporary otherwise.
        if n >= keep:
            ext[:keep] = ext[n : n + keep]
        else:
            history = self._history
            history[...] = ext[n : n + keep]
            ext[:keep] = history
        self._n_in += n
        self._n_out = last
        return out
