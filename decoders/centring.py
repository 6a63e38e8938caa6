"""Remove each channel's mean from a window, into preallocated buffers (no temporaries).

``np.subtract(window, window.mean(axis=0), out=...)`` looks allocation-free but is not:
numpy 2 buffers the broadcast mean operand, a temporary the size of the window on every
call. :class:`Centring` keeps the mean spread over a full-size buffer instead, so the
subtraction is between equal shapes, which numpy does without a buffer; the mean itself is a
dot product with ``1 / length`` weights (BLAS, nothing allocated), not a reduction (which
builds a ~1 KiB iterator per call).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Centring"]

_F64 = npt.NDArray[np.float64]


class Centring:
    """Scratch to centre windows of ``length`` samples of ``n_channels`` channels, in float64.

    Parameters
    ----------
    length : int
        Window length in samples.
    n_channels : int
        Number of channels.
    """

    __slots__ = ("_centred", "_mean", "_spread", "_weights")

    def __init__(self, length: int, n_channels: int) -> None:
        self._centred: _F64 = np.empty((length, n_channels))
        self._mean: _F64 = np.empty(n_channels)
        self._spread: _F64 = np.empty((length, n_channels))
        self._weights: _F64 = np.full(length, 1.0 / max(length, 1))

    def centre(self, window: npt.NDArray[Any]) -> _F64:
        """Return the window minus its per-channel mean.

        Parameters
        ----------
        window : ndarray, shape (length, n_channels)
            Samples, any real dtype.

        Returns
        -------
        ndarray of float64, shape (length, n_channels)
            The centred window, in this object's buffer: valid until the next call.
        """
        centred, mean, spread = self._centred, self._mean, self._spread
        np.copyto(centred, window)
        np.dot(self._weights, centred, out=mean)
        np.copyto(spread, mean)
        np.subtract(centred, spread, out=centred)
        return centred
