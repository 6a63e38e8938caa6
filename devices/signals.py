"""The signal model behind the synthetic device: 1/f background, alpha rhythm, mu rhythms.

Each sample is a mix of a few latent sources plus a per-channel white floor:

- ``K = min(n_channels, 32)`` pink (1/f) background sources: white noise through a stateful
  IIR whose alternating real poles and zeros, one pair a decade from 0.5 Hz, give a -10 dB per
  decade slope. With ``n_channels <= 32`` each channel has its own source; above that,
  channels are random unit-norm mixtures of the ``K`` sources (EEG is spatially correlated
  anyway, and this keeps a 1024-channel, 30 kHz array cheap to simulate).
- three rhythms, each white noise through a narrow resonator (so it is not a pure sine),
  placed on the scalp with a Gaussian spatial spread: a posterior alpha near 10 Hz centred
  between Pz and Oz, and a mu rhythm near 11 Hz over each sensorimotor cortex (C3, C4).
  The caller scales each rhythm per sample, which is how trials desynchronise the mu rhythm.
- white sensor noise per channel, read from a precomputed pool of Gaussian samples at a
  random offset per sample (drawing ``n_channels`` fresh normals per sample costs more than
  everything else together).

The latent sources are made ahead in fixed blocks of about 16 ms (at least 64 samples), which
amortises the filter calls; the pool offsets are drawn one per sample; every filter state is
carried across calls. So the output does not depend on how the samples are split into calls.
"""

from __future__ import annotations

import math
import re

import numpy as np
import numpy.typing as npt
from scipy import signal

__all__ = ["MONTAGE", "RHYTHMS", "EEGModel", "channel_names", "electrode_position"]

#: Names of the first channels, in order (10-10 system); later channels are ``EEG<n>``.
MONTAGE: tuple[str, ...] = (
    "C3", "C4", "Cz", "FC3", "FC4", "CP3", "CP4", "Pz",
    "Fz", "Oz", "O1", "O2", "P3", "P4", "F3", "F4",
    "C1", "C2", "C5", "C6", "FCz", "CPz", "POz", "FC1",
    "FC2", "CP1", "CP2", "T7", "T8", "P7", "P8", "Fp1",
    "Fp2", "F7", "F8", "PO3", "PO4", "AF3", "AF4", "Fpz",
)  # fmt: skip

#: The rhythms, in the column order of the ``gains`` that :meth:`EEGModel.generate` takes.
RHYTHMS: tuple[str, ...] = ("alpha", "mu_left", "mu_right")
_RHYTHM_HZ = (10.0, 11.0, 11.0)
_RHYTHM_Q = (4.0, 5.0, 5.0)
# Centres on a grid where neighbouring 10-10 electrodes are 1 apart (x: right, y: front).
_RHYTHM_CENTRE = ((0.0, -3.5), (-2.0, 0.0), (2.0, 0.0))
_RHYTHM_SPREAD = (1.5, 1.0, 1.0)

_PINK_LOW_HZ = 0.5  # the 1/f slope flattens below this
_MAX_LATENT = 32  # pink background sources
_WARMUP_S = 2.0  # filters run this long at reset, so the output starts stationary
_BLOCK_S = 1 / 64  # latent sources are made in blocks this long (amortises the filter calls)
_MIN_BLOCK = 64  # ...and at least this many samples
_ROWS = {"Fp": 4, "AF": 3, "F": 2, "FC": 1, "C": 0, "T": 0, "CP": -1, "P": -2, "PO": -3, "O": -4}
_NAME = re.compile(r"^(Fp|AF|FC|CP|PO|F|C|T|P|O)(z|\d+)$")

FloatArray = npt.NDArray[np.float64]


def channel_names(n_channels: int) -> tuple[str, ...]:
    """Return the channel names of an ``n_channels`` array.

    The first ``len(MONTAGE)`` channels take the 10-10 names of :data:`MONTAGE`; the others are
    ``EEG<k>``, with ``k`` the 1-based channel number.
    """
    return tuple(MONTAGE[i] if i < len(MONTAGE) else f"EEG{i + 1}" for i in range(n_channels))


def electrode_position(name: str) -> tuple[float, float] | None:
    """Return the approximate scalp position of a 10-10 electrode, or ``None``.

    Returns
    -------
    tuple of float or None
        ``(x, y)`` on a grid where neighbouring electrodes are 1 apart: ``x`` grows to the
        right (C3 is -2, C4 is 2), ``y`` to the front (Cz is 0, Fz 2, Oz -4).
    """
    match = _NAME.match(name)
    if match is None:
        return None
    row, col = match.groups()
    if col == "z":
        x = 0.0
    else:
        number = int(col)
        x = number / 2 if number % 2 == 0 else -(number + 1) / 2
    return (x, float(_ROWS[row]))


def _noise_gain(sos: FloatArray, n: int) -> float:
    """RMS of the output of ``sos`` for unit white noise, from ``n`` impulse-response samples."""
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return float(np.sqrt(np.sum(signal.sosfilt(sos, impulse) ** 2)))


def _pink_sos(sfreq: float) -> FloatArray:
    """Second-order sections of a unit-variance 1/f filter at ``sfreq`` Hz."""
    nyquist = sfreq / 2
    poles, zeros = [], []
    f = _PINK_LOW_HZ
    while f < nyquist:
        poles.append(f)
        if f * math.sqrt(10) < nyquist:
            zeros.append(f * math.sqrt(10))
        f *= 10
    if not poles:  # a rate too low for any pole: white background
        return np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    z = np.exp(-2 * np.pi * np.array(zeros) / sfreq)
    p = np.exp(-2 * np.pi * np.array(poles) / sfreq)
    sos = np.asarray(signal.zpk2sos(z, p, 1.0), dtype=np.float64)
    # The slowest pole decays in 1 / (2 pi f_low) s; 20 such time constants suffice.
    n = max(64, math.ceil(20 * sfreq / (2 * np.pi * min(poles))))
    sos[0, :3] /= _noise_gain(sos, n)
    return sos


def _resonator_sos(freq: float, q: float, sfreq: float) -> FloatArray:
    """Design a unit-variance narrow-band resonator at ``freq`` Hz (silent above 0.4 * sfreq)."""
    if freq >= 0.4 * sfreq:
        return np.array([[0.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    b, a = signal.iirpeak(freq, q, fs=sfreq)
    sos = np.asarray(signal.tf2sos(b, a), dtype=np.float64)
    n = max(64, math.ceil(20 * sfreq / (np.pi * freq / q)))
    sos[0, :3] /= _noise_gain(sos, n)
    return sos


class EEGModel:
    """Stateful generator of synthetic EEG in microvolts.

    Parameters
    ----------
    n_channels : int
        Number of channels; named by :func:`channel_names`.
    sfreq : float
        Sample rate in Hz.
    seed : int
        Seed of every random stream (mixing, noise pool, drive noise, pool offsets).
    noise_uv : float
        RMS of the 1/f background per channel, in microvolts.
    white_uv : float
        RMS of the white sensor noise per channel, in microvolts.
    alpha_uv : float
        RMS of the alpha rhythm at its centre (between Pz and Oz), in microvolts.
    mu_uv : float
        RMS of each mu rhythm at its centre (C3, C4) at gain 1, in microvolts.
    """

    __slots__ = (
        "_block",
        "_block_len",
        "_drive",
        "_drive_seed",
        "_mix",
        "_n_channels",
        "_n_latent",
        "_offset_seed",
        "_offsets",
        "_pink_sos",
        "_pink_zi",
        "_pool",
        "_pos",
        "_rhythm_sos",
        "_rhythm_zi",
        "_sfreq",
    )

    def __init__(
        self,
        *,
        n_channels: int,
        sfreq: float,
        seed: int,
        noise_uv: float,
        white_uv: float,
        alpha_uv: float,
        mu_uv: float,
    ) -> None:
        self._n_channels = n_channels
        self._sfreq = sfreq
        static_seed, self._drive_seed, self._offset_seed = np.random.SeedSequence(seed).spawn(3)
        static = np.random.default_rng(static_seed)
        n_latent = min(n_channels, _MAX_LATENT)
        self._n_latent = n_latent
        if n_latent == n_channels:
            pink_mix = np.eye(n_channels)
        else:
            pink_mix = static.standard_normal((n_latent, n_channels))
            pink_mix /= np.linalg.norm(pink_mix, axis=0)
        # Rows: K pink sources, then the rhythms; columns: channels. Float32, like the output.
        mix = np.zeros((n_latent + len(RHYTHMS), n_channels))
        mix[:n_latent] = noise_uv * pink_mix
        amplitudes = (alpha_uv, mu_uv, mu_uv)
        for ch, name in enumerate(channel_names(n_channels)):
            pos = electrode_position(name)
            if pos is None:
                continue
            for r, (cx, cy) in enumerate(_RHYTHM_CENTRE):
                d2 = (pos[0] - cx) ** 2 + (pos[1] - cy) ** 2
                mix[n_latent + r, ch] = amplitudes[r] * math.exp(-d2 / (2 * _RHYTHM_SPREAD[r] ** 2))
        self._mix = np.ascontiguousarray(mix, dtype=np.float32)
        # A pool of white noise, read at a random offset per sample (a window of n_channels).
        pool_size = max(1 << 16, 256 * n_channels)
        pool = (white_uv * static.standard_normal(pool_size)).astype(np.float32)
        self._pool = np.lib.stride_tricks.sliding_window_view(pool, n_channels)
        self._pink_sos = _pink_sos(sfreq)
        self._rhythm_sos = [
            _resonator_sos(f, q, sfreq) for f, q in zip(_RHYTHM_HZ, _RHYTHM_Q, strict=True)
        ]
        self._block_len = max(_MIN_BLOCK, math.ceil(sfreq * _BLOCK_S))
        self._drive = np.random.default_rng(self._drive_seed)
        self._offsets = np.random.default_rng(self._offset_seed)
        self._pink_zi = np.zeros((self._pink_sos.shape[0], n_latent, 2))
        self._rhythm_zi = [np.zeros((sos.shape[0], 2)) for sos in self._rhythm_sos]
        self._block = np.empty((0, n_latent + len(RHYTHMS)), dtype=np.float32)
        self._pos = 0
        self.reset()

    def reset(self) -> None:
        """Go back to the start of the stream of this seed (same output as a new model)."""
        self._drive = np.random.default_rng(self._drive_seed)
        self._offsets = np.random.default_rng(self._offset_seed)
        self._pink_zi = np.zeros((self._pink_sos.shape[0], self._n_latent, 2))
        self._rhythm_zi = [np.zeros((sos.shape[0], 2)) for sos in self._rhythm_sos]
        # Run the filters for a while, so that the first samples already have 1/f statistics.
        for _ in range(math.ceil(_WARMUP_S * self._sfreq / self._block_len)):
            self._sources(self._block_len)
        self._block = np.empty((0, self._n_latent + len(RHYTHMS)), dtype=np.float32)
        self._pos = 0

    def _sources(self, n: int) -> npt.NDArray[np.float32]:
        """Draw and filter the next ``n`` samples of the latent sources, ``(n, K + 3)``."""
        k = self._n_latent
        # Source-major here (filters run along contiguous rows); always in whole blocks.
        out = self._drive.standard_normal((k + len(RHYTHMS), n))
        out[:k], self._pink_zi = signal.sosfilt(self._pink_sos, out[:k], zi=self._pink_zi)
        for r, sos in enumerate(self._rhythm_sos):
            out[k + r], self._rhythm_zi[r] = signal.sosfilt(sos, out[k + r], zi=self._rhythm_zi[r])
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def _take(self, n: int) -> npt.NDArray[np.float32]:
        """Return the next ``n`` rows of latent sources (a fresh array, safe to modify)."""
        if self._pos + n <= self._block.shape[0]:
            rows = self._block[self._pos : self._pos + n].copy()
            self._pos += n
            return rows
        parts = []
        while n > 0:
            if self._pos == self._block.shape[0]:
                # Fixed-size blocks, whatever the callers ask for: output is chunking-invariant.
                self._block = self._sources(self._block_len)
                self._pos = 0
            m = min(n, self._block.shape[0] - self._pos)
            parts.append(self._block[self._pos : self._pos + m])
            self._pos += m
            n -= m
        return np.concatenate(parts) if parts else self._block[:0].copy()

    def generate(self, gains: FloatArray) -> npt.NDArray[np.float32]:
        """Generate the next samples.

        Parameters
        ----------
        gains : ndarray of float64, shape (n_samples, 3)
            Per-sample amplitude factor of each rhythm, columns in :data:`RHYTHMS` order
            (1 = full amplitude, 0.35 = desynchronised to 35 %).

        Returns
        -------
        ndarray of float32, shape (n_samples, n_channels)
            C-contiguous samples in microvolts.
        """
        n = gains.shape[0]
        latent = self._take(n)
        latent[:, self._n_latent :] *= gains
        out: npt.NDArray[np.float32] = np.matmul(latent, self._mix)
        offsets = (self._offsets.random(n) * self._pool.shape[0]).astype(np.intp)
        out += self._pool[offsets]
        return out
