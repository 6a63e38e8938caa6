"""Band power over a sliding window: per channel and band, the mean power spectral density.

Every ``hop_s`` seconds, once ``window_s`` seconds of samples have arrived, the window is
detrended (mean removed), Hann-tapered and transformed; the one-sided periodogram (units of
the input squared per Hz, as :func:`scipy.signal.periodogram` computes it) is averaged over the
frequency bins of each band, edges included.

When the bands cover few bins, only those bins are computed, as one matrix product with a
precomputed DFT matrix that has the detrending and the taper folded in (a few times faster than
an FFT of the whole window for the usual 1 s windows); otherwise a real FFT is used. Both give
the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.centring import Centring
from decoders.checks import check_budget, require_regular
from decoders.derived_units import log_of, power_density
from decoders.ring import WindowRing
from decoders.tapers import hann_periodic

__all__ = ["BandPower", "BandPowerConfig"]

_F64 = npt.NDArray[np.float64]
#: Powers are floored here before log10, so a flat channel gives a large negative number
#: rather than -inf (and no floating-point warning).
_FLOOR = float(np.finfo(np.float64).tiny)
#: Largest band-limited DFT matrix (2 * n_bins * n_window entries, float64) used instead of an
#: FFT; 2**17 entries is 1 MiB, e.g. 262 bins of a 250-sample window.
_DFT_MAX_ENTRIES = 1 << 17


@dataclass(frozen=True, slots=True, kw_only=True)
class BandPowerConfig:
    """Settings of :class:`BandPower`.

    Parameters
    ----------
    bands : tuple of (float, float)
        Frequency bands ``(low, high)`` in Hz, ``0 <= low < high``; both edges included.
    band_names : tuple of str
        One unique name per band, used in the output channel names. Empty: named from the
        edges (``"8-13Hz"``).
    window_s : float
        Window length in seconds (rounded to whole samples); sets the frequency resolution,
        ``1 / window_s`` Hz.
    hop_s : float
        Time between outputs in seconds (rounded to whole samples, at least one).
    log : bool
        Emit ``log10`` of the power instead of the power.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    bands: tuple[tuple[float, float], ...] = ((8.0, 13.0), (13.0, 30.0))
    band_names: tuple[str, ...] = ("mu", "beta")
    window_s: float = 1.0
    hop_s: float = 0.1
    log: bool = True
    budget_ms: float = 0.5

    def __post_init__(self) -> None:
        if not self.bands:
            raise ConfigError("needs at least one band", key="bands")
        for i, band in enumerate(self.bands):
            if len(band) != 2:
                raise ConfigError(f"a band is (low, high) in Hz, got {band!r}", key=f"bands[{i}]")
            low, high = band
            if not (math.isfinite(low) and math.isfinite(high) and 0 <= low < high):
                raise ConfigError(
                    f"low must be < high, both finite and >= 0 Hz, got ({low}, {high})",
                    key=f"bands[{i}]",
                )
        if self.band_names:
            if len(self.band_names) != len(self.bands):
                raise ConfigError(
                    f"needs one name per band ({len(self.bands)} bands, "
                    f"{len(self.band_names)} names); set band_names, or [] for names from "
                    "the band edges",
                    key="band_names",
                )
            if len(set(self.band_names)) != len(self.band_names) or not all(self.band_names):
                raise ConfigError(
                    f"names must be unique and non-empty, got {self.band_names!r}",
                    key="band_names",
                )
        if not (math.isfinite(self.window_s) and self.window_s > 0):
            raise ConfigError(f"must be > 0 seconds, got {self.window_s!r}", key="window_s")
        if not (math.isfinite(self.hop_s) and self.hop_s > 0):
            raise ConfigError(f"must be > 0 seconds, got {self.hop_s!r}", key="hop_s")
        check_budget(self.budget_ms)

    def names(self) -> tuple[str, ...]:
        """Return the band names, generated from the edges when ``band_names`` is empty."""
        return self.band_names or tuple(f"{lo:g}-{hi:g}Hz" for lo, hi in self.bands)


class BandPower:
    """Per-channel, per-band mean power over a sliding window, one output row per hop.

    Input: a regularly sampled stream, shape (n_samples, n_channels). Output: stream type
    ``Features``, float32, one row every ``hop`` samples of shape (1, n_channels * n_bands),
    channels named ``f"{channel}_{band}"`` channel-major (all bands of the first channel
    first), at ``sfreq / hop`` Hz. Each row's timestamp is that of the newest sample in its
    window. Nothing is emitted until the first window is full.
    """

    Config = BandPowerConfig

    __slots__ = (
        "_avg_t",
        "_band",
        "_centring",
        "_config",
        "_dft_t",
        "_full",
        "_hop",
        "_power_buf",
        "_ring",
        "_spec",
        "_taper",
        "_until",
        "_width",
    )

    def __init__(self, config: BandPowerConfig) -> None:
        self._config = config
        self._hop = 1
        self._until = 0  # samples still to arrive before the next output
        self._width = 0  # output channels: n_channels * n_bands
        self._ring = WindowRing(1, 1)
        self._taper: _F64 = np.empty((0, 1))
        self._centring = Centring(0, 0)
        self._full: npt.NDArray[np.complex128] = np.empty((0, 0), dtype=np.complex128)
        self._power_buf: _F64 = np.empty((0, 0))
        self._avg_t: _F64 = np.empty((0, 0))
        self._band: _F64 = np.empty((0, 0))
        self._dft_t: _F64 | None = None
        self._spec: _F64 = np.empty((0, 0))

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Check the bands against the input's rate, precompute, allocate and warm up.

        Parameters
        ----------
        info : StreamInfo
            The input stream; must be regularly sampled.

        Returns
        -------
        StreamInfo
            The feature stream (see class docs).

        Raises
        ------
        ConfigError
            If the stream is irregular, the window is shorter than two samples, or a band
            reaches above the Nyquist frequency or holds no frequency bin.
        """
        cfg = self._config
        sfreq = require_regular(info, "bandpower")
        n_win = round(cfg.window_s * sfreq)
        if n_win < 2:
            raise ConfigError(
                f"{cfg.window_s} s is {n_win} sample(s) at {sfreq:g} Hz; needs at least 2",
                key="window_s",
            )
        hop = max(1, round(cfg.hop_s * sfreq))
        freqs = np.fft.rfftfreq(n_win, 1 / sfreq)
        nyquist = sfreq / 2
        # One-sided density scaling, as scipy.signal.periodogram: 1 / (fs * sum(w**2)), doubled
        # for every bin but DC (and Nyquist when n_win is even).
        taper = hann_periodic(n_win)
        scale = np.full(freqs.size, 2.0 / (sfreq * np.sum(taper**2)))
        scale[0] /= 2
        if n_win % 2 == 0:
            scale[-1] /= 2
        avg = np.zeros((len(cfg.bands), freqs.size))
        for i, (low, high) in enumerate(cfg.bands):
            if high > nyquist:
                raise ConfigError(
                    f"band ({low:g}, {high:g}) Hz reaches above the Nyquist frequency "
                    f"({nyquist:g} Hz) of stream {info.name!r}",
                    key=f"bands[{i}]",
                )
            inside = (freqs >= low) & (freqs <= high)
            count = int(inside.sum())
            if count == 0:
                raise ConfigError(
                    f"band ({low:g}, {high:g}) Hz holds no frequency bin at the "
                    f"{sfreq / n_win:g} Hz resolution of a {cfg.window_s} s window; widen the "
                    "band or lengthen window_s",
                    key=f"bands[{i}]",
                )
            avg[i, inside] = scale[inside] / count
        n_channels = info.n_channels
        self._hop = hop
        self._width = n_channels * len(cfg.bands)
        self._ring = WindowRing(n_win, n_channels)
        self._band = np.empty((n_channels, len(cfg.bands)))
        bins = np.flatnonzero(avg.any(axis=0))
        if 2 * bins.size * n_win <= _DFT_MAX_ENTRIES:
            self._dft_t = _band_dft(n_win, bins, taper).T  # (n_window, 2 * n_bins)
            self._spec = np.empty((n_channels, 2 * bins.size))
            self._avg_t = np.ascontiguousarray(np.hstack([avg[:, bins], avg[:, bins]]).T)
        else:
            self._dft_t = None
            self._taper = np.ascontiguousarray(np.broadcast_to(taper[:, None], (n_win, n_channels)))
            self._centring = Centring(n_win, n_channels)
            self._full = np.empty((freqs.size, n_channels), dtype=np.complex128)
            self._power_buf = np.empty((freqs.size, n_channels))
            self._avg_t = np.ascontiguousarray(avg.T)  # (n_freqs, n_bands)
        # Warm-up: one full computation on zeros (FFT plan, BLAS paths), then start clean.
        self._power(np.empty(self._width, dtype=np.float32))
        self._until = n_win
        names = tuple(f"{ch}_{band}" for ch in info.channel_names for band in cfg.names())
        n_bands = len(cfg.bands)
        units = tuple(power_density(u) for u in info.channel_units for _ in range(n_bands))
        return info.renamed(
            type="Features",
            channel_names=names,
            channel_units=tuple(log_of(u) for u in units) if cfg.log else units,
            sfreq=sfreq / hop,
            dtype="float32",
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Take in samples; emit one row per hop boundary crossed once the window is full.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Shape (n_rows, n_channels * n_bands) float32, each row timestamped with the
            newest sample of its window, seq of the input; ``None`` if no hop boundary was
            crossed.
        """
        data = chunk.data
        n = data.shape[0]
        until = self._until
        if n < until:
            self._ring.push(data)
            self._until = until - n
            return None
        hop = self._hop
        n_rows = 1 + (n - until) // hop
        out = np.empty((n_rows, self._width), dtype=np.float32)
        stamps = chunk.timestamps[until - 1 : until + (n_rows - 1) * hop : hop].copy()
        start, end = 0, until
        for row in out:
            self._ring.push(data[start:end])
            self._power(row)
            start, end = end, end + hop
        self._ring.push(data[start:])
        self._until = end - n
        return Chunk(out, stamps, chunk.seq)

    def _power(self, row: npt.NDArray[np.float32]) -> None:
        """Write the band powers of the current window into ``row``, channel-major."""
        window = self._ring.window
        band = self._band
        if self._dft_t is not None:
            spec = self._spec  # (n_channels, 2 * n_bins): real parts, then imaginary parts
            np.matmul(window.T, self._dft_t, out=spec)
            np.square(spec, out=spec)
            np.matmul(spec, self._avg_t, out=band)  # (n_channels, n_bands)
        else:
            # Whole same-shape arrays only: numpy 2 makes a temporary for broadcast operands.
            tmp = self._centring.centre(window)
            np.multiply(tmp, self._taper, out=tmp)
            full, power = self._full, self._power_buf
            np.fft.rfft(tmp, axis=0, out=full)  # (n_freqs, n_channels) complex
            np.absolute(full, out=power)
            np.square(power, out=power)
            np.matmul(power.T, self._avg_t, out=band)  # (n_channels, n_bands)
        if self._config.log:
            np.maximum(band, _FLOOR, out=band)
            np.log10(band, out=band)
        row[:] = band.reshape(-1)


def _band_dft(n_win: int, bins: npt.NDArray[np.intp], taper: _F64) -> _F64:
    """Return the real DFT rows of ``bins``, with mean removal and taper folded in.

    Parameters
    ----------
    n_win : int
        Window length in samples.
    bins : ndarray of int, shape (n_bins,)
        Frequency bin indices, as in ``np.fft.rfftfreq(n_win)``.
    taper : ndarray, shape (n_win,)
        The window function.

    Returns
    -------
    ndarray, shape (2 * n_bins, n_win)
        ``m @ x`` gives the real parts of ``rfft((x - x.mean()) * taper)[bins]`` in its first
        ``n_bins`` rows and the imaginary parts in the rest.
    """
    phase = 2 * np.pi * (np.outer(bins, np.arange(n_win)) % n_win) / n_win
    rows = taper * np.exp(-1j * phase)  # (n_bins, n_win): rfft of the tapered window
    rows -= rows.sum(axis=1, keepdims=True) / n_win  # ... of the window minus its mean
    return np.ascontiguousarray(np.vstack([rows.real, rows.imag]))
