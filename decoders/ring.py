"""A sliding window over the newest samples, readable as one contiguous array without copying."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["WindowRing"]


class WindowRing:
    """The last ``length`` samples of a multichannel stream, kept in a preallocated ring.

    Every sample is written twice, at ``i`` and ``i + length`` of a buffer twice as long, so
    that :attr:`window` is always a plain slice of it: contiguous, oldest sample first, no copy.

    Parameters
    ----------
    length : int
        Window length in samples, >= 1.
    n_channels : int
        Number of channels, >= 1.
    dtype : numpy dtype
        Storage type; pushed samples are converted to it.
    """

    __slots__ = ("_buf", "_length", "_pos", "_seen")

    def __init__(self, length: int, n_channels: int, dtype: npt.DTypeLike = np.float64) -> None:
        if length < 1 or n_channels < 1:
            raise ValueError(f"length and n_channels must be >= 1, got {length}, {n_channels}")
        self._buf: npt.NDArray[Any] = np.zeros((2 * length, n_channels), dtype=dtype)
        self._length = length
        self._pos = 0  # where the next sample goes, in [0, length)
        self._seen = 0  # samples pushed, capped at length

    @property
    def length(self) -> int:
        """Window length in samples."""
        return self._length

    @property
    def full(self) -> bool:
        """Whether ``length`` samples have been pushed since creation or :meth:`clear`."""
        return self._seen == self._length

    @property
    def window(self) -> npt.NDArray[Any]:
        """The last ``length`` samples, shape (length, n_channels), oldest first.

        A view into the ring: valid until the next :meth:`push`. Rows not yet pushed are zero.
        """
        return self._buf[self._pos : self._pos + self._length]

    def push(self, block: npt.NDArray[Any]) -> None:
        """Append samples.

        Parameters
        ----------
        block : ndarray, shape (n_samples, n_channels)
            New samples, oldest first; only the last ``length`` of them are kept.
        """
        n = block.shape[0]
        size = self._length
        if n >= size:
            block = block[n - size :]
            self._buf[:size] = block
            self._buf[size:] = block
            self._pos = 0
            self._seen = size
            return
        pos = self._pos
        first = min(n, size - pos)
        self._buf[pos : pos + first] = block[:first]
        self._buf[pos + size : pos + size + first] = block[:first]
        rest = n - first
        if rest:
            self._buf[:rest] = block[first:]
            self._buf[size : size + rest] = block[first:]
        self._pos = (pos + n) % size
        self._seen = min(self._seen + n, size)

    def clear(self) -> None:
        """Forget every sample (zero the buffer)."""
        self._buf[...] = 0
        self._pos = 0
        self._seen = 0
