"""IIR filter design with numpy alone: Butterworth and notch filters as second-order sections.

The runtime designs its filters at ``prepare``; doing so with :mod:`scipy.signal` would cost a
wearable's runtime about 70 MB and most of a second of imports, so the designs are written
here from the textbook maths:

- **Butterworth analog prototype.** The order-``N`` low-pass with a 1 rad/s cut-off has no
  zeros and its ``N`` poles evenly spaced on the left half of the unit circle,
  ``p_k = exp(j pi (2k + N - 1) / (2N))``, ``k = 1..N``, gain 1 (Oppenheim & Schafer,
  *Discrete-Time Signal Processing*, 3rd ed., ch. 7 and appendix B).
- **Analog frequency transforms** (Parks & Burrus, *Digital Filter Design*, on analog
  prototypes): ``s -> s / w`` (low-pass to a cut-off ``w``), ``s -> w / s`` (high-pass),
  ``s -> (s^2 + w0^2) / (B s)`` (band-pass of centre ``w0 = sqrt(w1 w2)`` and width
  ``B = w2 - w1``), each applied to the poles and zeros.
- **Bilinear transform with pre-warping** (Oppenheim & Schafer, ch. 7): the digital edge
  ``f`` at rate ``fs`` becomes the analog edge ``w = 2 fs tan(pi f / fs)``; then
  ``z = (2 fs + s) / (2 fs - s)`` maps each pole and zero, the zeros at infinity land on
  ``z = -1``, and the gain is corrected so the transfer function is unchanged.
- **Second-order sections.** Conjugate poles are kept together and each pair is matched with
  its nearest zeros; the sections whose poles lie nearest the unit circle (highest Q) come
  last, so the gain peaks of the early sections are attenuated by the later ones (the usual
  rule for cascades: Jackson, *Digital Filters and Signal Processing*, on quantisation in
  cascade forms). The overall gain is put in the first section.
- **Notch.** The second-order notch of Orfanidis (*Introduction to Signal Processing*,
  on parametric notch filters): zeros on the unit circle at the notch frequency ``w0``, poles
  at the same angle with the -3 dB width ``w0 / Q`` set by ``beta = tan(width / 2)``.
- **Steady state.** :func:`sos_zi` gives each section's transposed direct form II state for a
  constant input (the cascade's input scaled by the DC gain of the sections before it), so a
  filter started from it has no start-up transient for a constant signal.

Filter coefficients are the ``(n_sections, 6)`` array ``[b0, b1, b2, 1, a1, a2]`` per row,
the layout :func:`scipy.signal.sosfilt` reads (its outputs agree with :func:`scipy.signal.butter`
and :func:`scipy.signal.iirnotch` to rounding: ``tests/decoders/test_iir_design.py``).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["BType", "butter_sos", "notch_sos", "sos_zi"]

_F64 = npt.NDArray[np.float64]
_C128 = npt.NDArray[np.complex128]
BType = Literal["lowpass", "highpass", "bandpass"]
#: Poles and zeros whose imaginary part is below this (relative to their magnitude, at least
#: 1) are real: the transforms above leave rounding residue on real roots.
_REAL_TOL = 1e-10


def butter_sos(order: int, edges: float | tuple[float, float], btype: BType, fs: float) -> _F64:
    """Design a digital Butterworth filter as second-order sections.

    Parameters
    ----------
    order : int
        Filter order ``N`` >= 1 (a band-pass has ``2 N`` poles).
    edges : float or (float, float)
        The -3 dB frequency in Hz (low-pass, high-pass), or the two edges ``(low, high)``
        (band-pass); each in ``(0, fs / 2)``, ``low < high``.
    btype : {"lowpass", "highpass", "bandpass"}
        The response.
    fs : float
        Sampling rate in Hz, > 0.

    Returns
    -------
    ndarray of float64, shape (ceil(n_poles / 2), 6)
        One ``[b0, b1, b2, 1, a1, a2]`` row per section (a first-order section has
        ``b2 = a2 = 0``), in filtering order.

    Raises
    ------
    ValueError
        If the order, the edges, the type or the rate are invalid.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"order must be an integer >= 1, got {order!r}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a finite rate > 0 Hz, got {fs!r}")
    band = btype == "bandpass"
    if btype not in ("lowpass", "highpass", "bandpass"):
        raise ValueError(f"btype must be lowpass, highpass or bandpass, got {btype!r}")
    freqs = tuple(edges) if isinstance(edges, tuple | list) else (edges,)
    if len(freqs) != (2 if band else 1):
        raise ValueError(f"a {btype} needs {2 if band else 1} edge(s), got {edges!r}")
    for f in freqs:
        if not (math.isfinite(f) and 0 < f < fs / 2):
            raise ValueError(f"edges must be in (0, {fs / 2:g}) Hz (fs / 2), got {edges!r}")
    if band and not freqs[0] < freqs[1]:
        raise ValueError(f"edges must be (low, high) with low < high, got {edges!r}")

    # The prototype: poles on the left half of the unit circle, conjugates in pairs.
    k_idx = np.arange(1, order + 1)
    proto = np.exp(1j * np.pi * (2 * k_idx + order - 1) / (2 * order))
    if order % 2:
        proto[order // 2] = -1.0  # the real pole, exactly
    zeros: _C128 = np.empty(0, np.complex128)
    poles: _C128 = proto.astype(np.complex128)
    gain = 1.0

    k2 = 2.0 * fs  # the bilinear transform's constant, 2 / T
    warped = [k2 * math.tan(math.pi * f / fs) for f in freqs]
    if btype == "lowpass":
        poles = warped[0] * poles
        gain *= warped[0] ** order
    elif btype == "highpass":
        gain *= float(np.real(1.0 / np.prod(-poles)))
        poles = warped[0] / poles
        zeros = np.zeros(order, np.complex128)
    else:
        w0 = math.sqrt(warped[0] * warped[1])
        width = warped[1] - warped[0]
        # Each pole p gives the two roots of s^2 - p B s + w0^2; N zeros at s = 0.
        half = poles * (width / 2)
        gain *= width**order
        zeros = np.zeros(order, np.complex128)
        root = np.sqrt(half**2 - w0**2)
        poles = np.concatenate([half + root, half - root])

    # Bilinear transform: z = (k2 + s) / (k2 - s); zeros at s = infinity go to z = -1.
    gain *= float(np.real(np.prod(k2 - zeros) / np.prod(k2 - poles)))
    z_zeros = np.concatenate([(k2 + zeros) / (k2 - zeros), -np.ones(poles.size - zeros.size)])
    z_poles = (k2 + poles) / (k2 - poles)
    return _to_sos(z_zeros, z_poles, gain)


def notch_sos(freq: float, q: float, fs: float) -> _F64:
    """Design a second-order notch filter as one section.

    Parameters
    ----------
    freq : float
        The frequency to remove, Hz, in ``(0, fs / 2)``.
    q : float
        Quality factor, > 0: the -3 dB width is ``freq / q`` Hz.
    fs : float
        Sampling rate in Hz, > 0.

    Returns
    -------
    ndarray of float64, shape (1, 6)
        ``[b0, b1, b2, 1, a1, a2]``: unit gain at DC and Nyquist, zero gain at ``freq``.

    Raises
    ------
    ValueError
        If ``freq`` is not in ``(0, fs / 2)`` or ``q`` is not > 0.
    """
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"fs must be a finite rate > 0 Hz, got {fs!r}")
    if not (math.isfinite(freq) and 0 < freq < fs / 2):
        raise ValueError(f"freq must be in (0, {fs / 2:g}) Hz (fs / 2), got {freq!r}")
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"q must be > 0, got {q!r}")
    w0 = 2 * math.pi * freq / fs  # rad/sample
    beta = math.tan(w0 / q / 2)  # the -3 dB width w0 / q, for a gain of 1 / sqrt(2) there
    g = 1.0 / (1.0 + beta)
    c = math.cos(w0)
    return np.array([[g, -2.0 * g * c, g, 1.0, -2.0 * g * c, 2.0 * g - 1.0]])


def sos_zi(sos: npt.ArrayLike) -> _F64:
    """Return the state of a cascade in steady state for a unit constant input.

    Parameters
    ----------
    sos : array_like, shape (n_sections, 6)
        The filter, ``a0 = 1`` in every section (as :func:`butter_sos` gives).

    Returns
    -------
    ndarray of float64, shape (n_sections, 2)
        Per section, the transposed direct form II state ``(z0, z1)`` reached after a long run
        of input 1; multiply by a signal's first sample to start the filter in steady state.

    Notes
    -----
    A section with DC gain ``g = sum(b) / sum(a)`` fed a constant ``u`` outputs ``g u``;
    from ``y = b0 x + z0``, ``z0' = b1 x - a1 y + z1``, ``z1' = b2 x - a2 y`` at a fixed
    point, ``z1 = (b2 - a2 g) u`` and ``z0 = (b1 + b2 - (a1 + a2) g) u``. Section ``i``'s
    ``u`` is the product of the DC gains of the sections before it.

    Raises
    ------
    ValueError
        If ``sos`` is not (n_sections, 6) with ``a0 = 1``, or a section has a pole at
        ``z = 1`` (no steady state).
    """
    s = np.asarray(sos, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] != 6 or s.shape[0] < 1:
        raise ValueError(f"sos must have shape (n_sections, 6), got {s.shape}")
    if not np.all(s[:, 3] == 1.0):
        raise ValueError("every section must have a0 = 1")
    zi = np.empty((s.shape[0], 2))
    scale = 1.0
    for i, row in enumerate(s.tolist()):
        b0, b1, b2, _, a1, a2 = row
        a_sum = 1.0 + a1 + a2
        if a_sum == 0.0:
            raise ValueError(f"section {i} has a pole at z = 1: no steady state")
        g = (b0 + b1 + b2) / a_sum
        zi[i, 0] = scale * (b1 + b2 - (a1 + a2) * g)
        zi[i, 1] = scale * (b2 - a2 * g)
        scale *= g
    return zi


def _to_sos(zeros: _C128, poles: _C128, gain: float) -> _F64:
    """Group conjugate-symmetric zeros and poles into real sections (see the module notes).

    ``zeros`` and ``poles`` have the same length; the sections are ordered from the poles
    farthest from the unit circle to the nearest, each with the zeros nearest its poles.
    """
    pole_groups = _pole_groups(poles)
    # Nearest to the unit circle first: those sections take their zeros first, and go last.
    pole_groups.sort(key=lambda g: abs(1.0 - abs(g[0])))
    free = list(zeros)
    rows: list[_F64] = []
    for group in pole_groups:
        picked = _take_zeros(free, group[0], len(group))
        b = _real_poly(picked)
        a = _real_poly(group)
        rows.append(np.concatenate([b, np.zeros(3 - b.size), a, np.zeros(3 - a.size)]))
    sos = np.array(rows[::-1])
    sos[0, :3] *= gain
    return sos


def _is_real(x: complex) -> bool:
    return abs(x.imag) <= _REAL_TOL * max(1.0, abs(x))


def _pole_groups(poles: _C128) -> list[list[complex]]:
    """Split poles into conjugate pairs, pairs of real poles and at most one single real pole.

    Real poles are paired in order of their distance to the unit circle, nearest first.
    """
    groups: list[list[complex]] = []
    reals: list[complex] = []
    for p in poles:
        if _is_real(p):
            reals.append(complex(p.real, 0.0))
        elif p.imag > 0:
            groups.append([complex(p), complex(p).conjugate()])
    n_pairs_expected = (poles.size - len(reals)) // 2
    if len(groups) != n_pairs_expected:
        raise ValueError("poles are not in conjugate pairs")
    reals.sort(key=lambda p: abs(1.0 - abs(p)))
    groups.extend([reals[i], reals[i + 1]] for i in range(0, len(reals) - 1, 2))
    if len(reals) % 2:
        groups.append([reals[-1]])
    return groups


def _take_zeros(free: list[complex], pole: complex, count: int) -> list[complex]:
    """Remove and return the ``count`` zeros of ``free`` nearest ``pole``, keeping them real.

    A single real pole takes the nearest real zero. A pair takes the zero nearest ``pole``:
    a complex one with its conjugate, a real one with the real zero nearest ``pole`` after it
    (a section's polynomials must be real).
    """
    if count == 1:
        reals = [z for z in free if _is_real(z)]
        if not reals:
            raise ValueError("a first-order section needs a real zero")
        nearest = min(reals, key=lambda z: abs(z - pole))
        free.remove(nearest)
        return [complex(nearest.real, 0.0)]
    nearest = min(free, key=lambda z: abs(z - pole))
    free.remove(nearest)
    if not _is_real(nearest):
        partner = min(free, key=lambda z: abs(z - nearest.conjugate()))
        free.remove(partner)
        return [nearest, nearest.conjugate()]
    reals = [z for z in free if _is_real(z)]
    if not reals:
        raise ValueError("a real zero has no real partner")
    partner = min(reals, key=lambda z: abs(z - pole))
    free.remove(partner)
    return [complex(nearest.real, 0.0), complex(partner.real, 0.0)]


def _real_poly(roots: list[complex]) -> _F64:
    """Return the monic polynomial with ``roots``, highest power first, as real numbers."""
    coeffs = np.poly(np.asarray(roots, dtype=np.complex128)) if roots else np.ones(1)
    return np.ascontiguousarray(np.real(coeffs), dtype=np.float64)
