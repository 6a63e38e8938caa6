"""Tapers (window functions) for spectral estimates, with numpy alone.

The runtime's spectral modules need one taper, the Hann window in its periodic form (the form
for a DFT: a window of ``n`` samples is one period of a raised cosine of period ``n``, the
``fftbins=True`` default of :func:`scipy.signal.get_window`). ``np.hanning`` is the symmetric
form (period ``n - 1``), which gives a slightly different periodogram.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["hann_periodic"]


def hann_periodic(n: int) -> npt.NDArray[np.float64]:
    """Return the periodic Hann window of ``n`` samples.

    Parameters
    ----------
    n : int
        Window length in samples, >= 1.

    Returns
    -------
    ndarray of float64, shape (n,)
        ``0.5 - 0.5 cos(2 pi k / n)`` for ``k = 0 .. n - 1`` (equal to
        ``scipy.signal.get_window("hann", n)`` to rounding); ``[1.0]`` for ``n = 1``.

    Raises
    ------
    ValueError
        If ``n < 1``.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"window length must be an integer >= 1, got {n!r}")
    if n == 1:
        return np.ones(1)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)
