"""Threshold-crossing spike counts: band-pass, a running RMS per channel, counts per time bin.

The usual first stage of an intracortical decoder (Utah arrays at 30 kHz): each channel is
band-passed (250-5000 Hz by default, causal Butterworth, state kept across chunks), a spike is
a crossing of ``threshold x RMS`` (negative: -4.5 x RMS) from above, and the output is the
number of crossings per channel in each bin (1 ms by default). The RMS is a running estimate,
updated once per bin from that bin's mean square (exponential, time constant ``rms_tau_s``), so
the threshold of a bin depends on the samples before it only and the output is the same however
the stream is chunked. Re-reference first (``reref``, ``mode = "average"``) for a common
average reference.

In steady state ``step`` allocates its output arrays and no other array: every per-channel
scratch is made in ``prepare``, and each ufunc runs on C-contiguous operands of equal shapes
(numpy 2 buffers broadcast, strided or casting ufunc operands even with ``out=``; assignments
such as ``x[...] = data.T`` cast without a buffer). The threshold is spread over a
segment-sized buffer, a strided segment is copied into a contiguous one, and the crossings are
counted per channel by a dot product with ones, not ``flatnonzero``/``bincount``. What is
left per call is bookkeeping: array views and the iterator of the ``einsum`` reduction (about
1.4 KiB, freed before ``step`` returns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget, require_regular
from decoders.iir_design import butter_sos, sos_zi
from decoders.sos import KERNEL, require_below_nyquist

__all__ = ["Spikes", "SpikesConfig"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpikesConfig:
    """Settings of :class:`Spikes`.

    Parameters
    ----------
    low, high : float
        Band-pass edges in Hz (-3 dB); ``high`` below the input's Nyquist frequency.
    order : int
        Butterworth order of each edge, 1 to 8.
    threshold : float
        Crossing level in multiples of the running RMS; negative (the default -4.5) counts
        downward crossings, positive upward ones. Not 0.
    bin_s : float
        Bin length in seconds (rounded to whole samples, at least one).
    rms_tau_s : float
        Time constant of the running RMS estimate, seconds; at least one bin.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    low: float = 250.0
    high: float = 5000.0
    order: int = 2
    threshold: float = -4.5
    bin_s: float = 0.001
    rms_tau_s: float = 1.0
    budget_ms: float = 1.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.low) and self.low > 0):
            raise ConfigError(f"must be a frequency > 0 Hz, got {self.low!r}", key="low")
        if not (math.isfinite(self.high) and self.high > self.low):
            raise ConfigError(f"must be a frequency > low, got {self.high!r}", key="high")
        if isinstance(self.order, bool) or not isinstance(self.order, int):
            raise ConfigError(f"must be an integer, got {self.order!r}", key="order")
        if not 1 <= self.order <= 8:
            raise ConfigError(f"must be between 1 and 8, got {self.order}", key="order")
        if not math.isfinite(self.threshold) or self.threshold == 0:
            raise ConfigError(
                f"must be a finite non-zero multiple, got {self.threshold!r}", key="threshold"
            )
        if not (math.isfinite(self.bin_s) and self.bin_s > 0):
            raise ConfigError(f"must be > 0 s, got {self.bin_s!r}", key="bin_s")
        if not (math.isfinite(self.rms_tau_s) and self.rms_tau_s >= self.bin_s):
            raise ConfigError(
                f"must be at least one bin ({self.bin_s} s), got {self.rms_tau_s!r}",
                key="rms_tau_s",
            )
        check_budget(self.budget_ms)


class Spikes:
    """Count threshold crossings per channel and bin.

    Input: a regularly sampled stream, shape (n_samples, n_channels), any units (microvolts).
    Output: shape (n_bins, n_channels), float32 counts per bin, at ``sfreq / bin_samples`` Hz,
    each row stamped with the timestamp of its bin's last sample. No output until the first
    bin is complete; no crossing is counted in the first bin (the RMS starts from it).
    """

    Config = SpikesConfig

    __slots__ = (
        "_alpha",
        "_below",
        "_bin",
        "_buf",
        "_config",
        "_counts",
        "_delta",
        "_filled",
        "_level",
        "_ms",
        "_n_channels",
        "_ones",
        "_part",
        "_prev_below",
        "_primed",
        "_seg",
        "_sos",
        "_spread",
        "_starts",
        "_state",
        "_sumsq",
        "_thr",
        "_zi_unit",
    )

    def __init__(self, config: SpikesConfig) -> None:
        self._config = config
        self._n_channels = 0
        self._bin = 1
        self._alpha = 1.0
        self._level = config.threshold
        self._sos: _F64 = np.empty((0, 6))
        self._zi_unit: _F64 = np.empty((0, 2))
        self._state: _F64 = np.empty((0, 0, 2))
        self._buf: _F64 = np.empty(0)
        self._ms: _F64 = np.empty(0)
        self._sumsq: _F64 = np.empty(0)
        self._counts: _F64 = np.empty(0)
        self._thr: _F64 = np.empty(0)
        self._part: _F64 = np.empty(0)
        self._delta: _F64 = np.empty(0)
        self._ones: _F64 = np.empty(0)
        self._seg: _F64 = np.empty(0)
        self._spread: _F64 = np.empty(0)
        self._prev_below = np.empty(0, bool)
        self._below = np.empty(0, bool)
        self._starts = np.empty(0, bool)
        self._filled = 0
        self._primed = False

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Design the filter, allocate the state (for one second of samples per chunk), reset.

        Raises
        ------
        ConfigError
            If the stream is irregular or ``high`` is not below its Nyquist frequency.
        """
        cfg = self._config
        sfreq = require_regular(info, "spikes")
        require_below_nyquist(cfg.high, info, "high")
        sos = butter_sos(cfg.order, (cfg.low, cfg.high), "bandpass", sfreq)
        self._sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = sos_zi(self._sos)
        c = self._n_channels = info.n_channels
        self._bin = max(1, round(cfg.bin_s * sfreq))
        self._alpha = min(1.0, self._bin / (cfg.rms_tau_s * sfreq))
        self._state = np.zeros((c, self._sos.shape[0], 2))
        self._buf = np.empty(c * max(self._bin, math.ceil(sfreq)))
        self._ms = np.full(c, np.nan)  # no estimate before the first bin
        self._sumsq = np.zeros(c)
        self._counts = np.zeros(c)
        self._thr = np.full(c, np.nan)  # threshold x RMS per channel, set as each bin closes
        self._part = np.empty(c)  # one segment's sum per channel (squares, then crossings)
        self._delta = np.empty(c)  # the running mean square's update
        self._ones = np.ones(self._bin)
        # Segment-sized scratch, flat (a segment is at most one bin): views of their first
        # n_channels x m values are C-contiguous (n_channels, m) arrays for any m.
        self._seg = np.empty(c * self._bin)  # a strided segment, copied contiguous
        self._spread = np.empty(c * self._bin)  # the threshold over a segment, then crossings
        self._prev_below = np.zeros(c, bool)
        self._below = np.empty(c * self._bin, bool)
        self._starts = np.empty(c * self._bin, bool)
        self._filled = 0
        self._primed = False
        self._kernel_warmup()
        return info.renamed(sfreq=sfreq / self._bin, dtype="float32", type="Spikes")

    def _kernel_warmup(self) -> None:
        KERNEL(self._sos, np.zeros((self._n_channels, 1)), np.zeros_like(self._state))

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter, threshold and bin one chunk.

        Returns
        -------
        Chunk or None
            Counts of the bins completed in this chunk, shape (n_bins, n_channels), float32;
            None if no bin was completed.
        """
        data = chunk.data
        n = data.shape[0]
        if n == 0:
            return None
        if data.ndim != 2 or data.shape[1] != self._n_channels:
            raise ValueError(f"expected chunks of shape (n, {self._n_channels}), got {data.shape}")
        c = self._n_channels
        if c * n > self._buf.size:
            self._buf = np.empty(max(c * n, 2 * self._buf.size))
        x = self._buf[: c * n].reshape(c, n)
        x[...] = data.T
        if not self._primed:
            np.multiply(self._zi_unit, x[:, 0, None, None], out=self._state)
            self._primed = True
        KERNEL(self._sos, x, self._state)
        n_out = (self._filled + n) // self._bin
        out = np.empty((n_out, c), np.float32) if n_out else None
        stamps = np.empty(n_out, chunk.timestamps.dtype) if n_out else None
        pos = k = 0
        while pos < n:
            m = min(self._bin - self._filled, n - pos)
            self._segment(x[:, pos : pos + m])
            pos += m
            self._filled += m
            if self._filled == self._bin:
                assert out is not None
                assert stamps is not None
                out[k] = self._counts
                stamps[k] = chunk.timestamps[pos - 1]
                k += 1
                self._close_bin()
        if out is None or stamps is None:
            return None
        return Chunk(out, stamps, chunk.seq)

    def _segment(self, seg: _F64) -> None:
        """Count the crossings in ``seg`` (n_channels, m) and add its squares to the bin's."""
        part = self._part
        np.einsum("ij,ij->i", seg, seg, out=part)
        self._sumsq += part
        if math.isnan(self._ms[0]):
            self._prev_below[:] = False
            return
        c, m = seg.shape
        size = c * m
        if not seg.flags.c_contiguous:
            work = self._seg[:size].reshape(c, m)
            np.copyto(work, seg)
            seg = work
        spread = self._spread[:size].reshape(c, m)
        np.copyto(spread, self._thr[:, None])
        below = self._below[:size].reshape(c, m)
        if self._level < 0:
            np.less(seg, spread, out=below)
        else:
            np.greater(seg, spread, out=below)
        # A crossing: below (or above) now, not at the sample before. On the flat buffer each
        # sample is compared with the one before it; each channel's first sample, compared
        # with the previous channel's last, is then compared with its own previous sample.
        flat = self._below[:size]
        starts = self._starts[:size]
        np.greater(flat[1:], flat[:-1], out=starts[1:])
        firsts = starts.reshape(c, m)[:, 0]
        np.greater(below[:, 0], self._prev_below, out=firsts)
        np.copyto(self._prev_below, below[:, -1])
        crossings = spread  # the threshold is used: its buffer takes the crossings as 0/1
        np.copyto(crossings, starts.reshape(c, m))
        np.dot(crossings, self._ones[:m], out=part)
        self._counts += part

    def _close_bin(self) -> None:
        """Update the running mean square and threshold from the bin just completed; reset."""
        mean_sq = self._part
        np.divide(self._sumsq, self._bin, out=mean_sq)
        if math.isnan(self._ms[0]):
            np.copyto(self._ms, mean_sq)
        else:
            np.subtract(mean_sq, self._ms, out=self._delta)
            np.multiply(self._delta, self._alpha, out=self._delta)
            self._ms += self._delta
        np.sqrt(self._ms, out=self._thr)
        np.multiply(self._thr, self._level, out=self._thr)
        self._sumsq[:] = 0.0
        self._counts[:] = 0.0
        self._filled = 0
