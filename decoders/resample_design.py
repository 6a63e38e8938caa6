"""The polyphase resampling filter: one design for the ``resample`` module and for training.

A rate change from ``sfreq_in`` to ``sfreq_out`` is done as ``up / down``, the ratio of the
two rates as a fraction (exact where the rates allow, else the nearest fraction with
``down <= MAX_FACTOR``): upsample by ``up`` (zeros between samples), low-pass below the lower
Nyquist frequency, keep every ``down``-th sample. The low-pass is the FIR filter
:func:`scipy.signal.resample_poly` uses (a Kaiser-windowed sinc, beta 5, ``10 * max(up, down)``
taps on each side of its centre; the design of :func:`scipy.signal.firwin`, written here with
numpy's ``sinc`` and ``kaiser`` so that the runtime needs no ``scipy.signal``), scaled by ``up``
and split into its ``up`` polyphase components, so that each output sample costs one dot
product with ``ceil(n_taps / up)`` input samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = ["MAX_FACTOR", "Resampling", "design_resampling", "kaiser_lowpass"]

#: Largest ``down`` (and, through the ratio, the largest factors) of a rate change.
MAX_FACTOR = 1000
#: Half-length of the filter, in multiples of ``max(up, down)``, and its Kaiser beta.
_HALF_LEN = 10
_BETA = 5.0


@dataclass(frozen=True, slots=True)
class Resampling:
    """A designed rate change.

    Parameters
    ----------
    up, down : int
        The ratio ``sfreq_out / sfreq_in == up / down``, in lowest terms.
    sfreq_in, sfreq_out : float
        The input rate and the exact output rate, ``sfreq_in * up / down``, in Hz.
    taps : ndarray of float64, shape (n_taps,)
        The FIR filter at the upsampled rate (gain ``up`` at DC), ``n_taps`` odd.
    phases : ndarray of float64, shape (up, n_per_phase)
        ``phases[p, j] = taps[p + j * up]`` (zero past the end): the polyphase components.
    """

    up: int
    down: int
    sfreq_in: float
    sfreq_out: float
    taps: npt.NDArray[np.float64]
    phases: npt.NDArray[np.float64]

    @property
    def delay_s(self) -> float:
        """Group delay of the causal filter in seconds: the latency the resampling adds."""
        return (self.taps.size - 1) / 2 / (self.up * self.sfreq_in)

    def n_out(self, n_in: int) -> int:
        """Count the output samples due once ``n_in`` input samples arrived.

        Output ``k`` needs input ``k * down // up``.
        """
        return 0 if n_in <= 0 else (n_in * self.up - 1) // self.down + 1


def design_resampling(sfreq_in: float, sfreq_out: float) -> Resampling:
    """Design the rate change from ``sfreq_in`` to ``sfreq_out`` (see the module docs).

    Parameters
    ----------
    sfreq_in, sfreq_out : float
        Input and wanted output rates in Hz, both > 0 and finite.

    Returns
    -------
    Resampling
        The ratio, the exact output rate and the filter.

    Raises
    ------
    ConfigError
        If a rate is not > 0, or the ratio needs factors above :data:`MAX_FACTOR`
        (``sfreq``).
    """
    for rate in (sfreq_in, sfreq_out):
        if not (math.isfinite(rate) and rate > 0):
            raise ConfigError(f"rates must be finite and > 0 Hz, got {rate}", key="sfreq")
    ratio = (Fraction(sfreq_out) / Fraction(sfreq_in)).limit_denominator(MAX_FACTOR)
    up, down = ratio.numerator, ratio.denominator
    if up < 1 or up > MAX_FACTOR:
        raise ConfigError(
            f"{sfreq_in:g} Hz to {sfreq_out:g} Hz needs a factor above {MAX_FACTOR}; "
            "resample in two steps",
            key="sfreq",
        )
    largest = max(up, down)
    half = _HALF_LEN * largest
    # The same rate (largest == 1) has nothing to filter.
    taps = np.ones(1) if largest == 1 else kaiser_lowpass(2 * half + 1, 1.0 / largest, _BETA) * up
    per_phase = -(-taps.size // up)
    padded = np.zeros(per_phase * up)
    padded[: taps.size] = taps
    phases = np.ascontiguousarray(padded.reshape(per_phase, up).T)
    return Resampling(
        up=up,
        down=down,
        sfreq_in=float(sfreq_in),
        sfreq_out=float(sfreq_in) * up / down,
        taps=np.asarray(taps, dtype=np.float64),
        phases=phases,
    )


def kaiser_lowpass(n_taps: int, cutoff: float, beta: float) -> npt.NDArray[np.float64]:
    """Design a linear-phase low-pass FIR filter: a Kaiser-windowed sinc, unit gain at DC.

    The window method (Oppenheim & Schafer, *Discrete-Time Signal Processing*, ch. 7, the
    Kaiser window method): the ideal low-pass impulse response ``cutoff * sinc(cutoff * m)``, ``m``
    the distance in samples from the centre, times a Kaiser window of shape ``beta``, scaled
    so that the taps sum to 1. The same taps as ``scipy.signal.firwin(n_taps, cutoff,
    window=("kaiser", beta))`` (tested to 1e-12).

    Parameters
    ----------
    n_taps : int
        Filter length, odd and >= 1.
    cutoff : float
        Cut-off as a fraction of the Nyquist frequency, in (0, 1).
    beta : float
        Kaiser window shape, >= 0 (5.0: about -55 dB side lobes).

    Returns
    -------
    ndarray of float64, shape (n_taps,)
        The taps, symmetric about the centre, summing to 1.

    Raises
    ------
    ValueError
        If ``n_taps`` is not odd and positive, or ``cutoff`` not in (0, 1).
    """
    if n_taps < 1 or n_taps % 2 == 0:
        raise ValueError(f"n_taps must be odd and >= 1, got {n_taps}")
    if not 0.0 < cutoff < 1.0:
        raise ValueError(f"cutoff must be in (0, 1) (a fraction of Nyquist), got {cutoff}")
    m = np.arange(n_taps) - (n_taps - 1) / 2
    taps = cutoff * np.sinc(cutoff * m) * np.kaiser(n_taps, beta)
    return np.asarray(taps / taps.sum(), dtype=np.float64)
