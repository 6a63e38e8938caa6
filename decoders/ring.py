"""Sliding windows over the newest samples, readable as one contiguous array without copying.

:class:`WindowRing` keeps samples time first, (length, n_channels); :class:`ChannelsFirstRing`
keeps them channels first, (n_channels, length), the layout of a window model's input.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ChannelsFirstRing", "WindowRing"]


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


class ChannelsFirstRing:
    """The last ``length`` samples of a multichannel stream, channels first, in one buffer.

    :attr:`window` is a C-contiguous (n_channels, length) view, so it can be handed to
    onnxruntime (or anything else wanting a channels-first array) without a copy. The window
    is the run ``buf[pos : pos + n_channels * length]`` of a flat buffer, read as rows of
    ``length``. Pushing ``n`` samples writes them at ``pos + length + c * length + j`` for
    channel ``c``, sample ``j``: in the old window these cells held the oldest ``n`` samples of
    channel ``c + 1``, which drop out; then ``pos`` advances by ``n``, which shifts every
    row by ``n`` samples at once. When the run reaches the end of the buffer, the window is
    copied back to its start: once per about ``n_channels * length`` samples pushed, so one
    value per channel per sample on average.

    Parameters
    ----------
    length : int
        Window length in samples, >= 1.
    n_channels : int
        Number of channels, >= 1.
    dtype : numpy dtype
        Storage type; pushed samples are converted to it.
    """

    __slots__ = ("_buf", "_length", "_n_channels", "_pos", "_rows", "_seen", "_size")

    def __init__(self, length: int, n_channels: int, dtype: npt.DTypeLike = np.float64) -> None:
        if length < 1 or n_channels < 1:
            raise ValueError(f"length and n_channels must be >= 1, got {length}, {n_channels}")
        size = length * n_channels
        # The window, then room to slide by size + length before copying back (so that the
        # copy never overlaps itself), then length for the last row's writes.
        buf: npt.NDArray[Any] = np.zeros(2 * size + 2 * length, dtype=dtype)
        # rows[c, i] is buf[c * length + i]: the window is rows[:, pos : pos + length] and
        # the n new samples go to rows[:, pos + length : pos + length + n]. Rows overlap in
        # memory, so the view is made once here rather than by slicing on every push.
        item = buf.itemsize
        self._rows: npt.NDArray[Any] = np.lib.stride_tricks.as_strided(
            buf, shape=(n_channels, size + 3 * length), strides=(length * item, item)
        )
        self._buf = buf
        self._size = size
        self._length = length
        self._n_channels = n_channels
        self._pos = 0  # start of the window in the buffer, in [0, size + length]
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
        """The last ``length`` samples, shape (n_channels, length), oldest first in each row.

        A C-contiguous view into the ring: valid until the next :meth:`push`. Samples not
        yet pushed are zero.
        """
        pos = self._pos
        return self._rows[:, pos : pos + self._length]

    def push(self, block: npt.NDArray[Any]) -> None:
        """Append samples.

        Parameters
        ----------
        block : ndarray, shape (n_samples, n_channels)
            New samples, oldest first (time first, as chunks come); only the last ``length``
            of them are kept.
        """
        n = block.shape[0]
        if n == 0:
            return
        length, size, buf = self._length, self._size, self._buf
        if n >= length:
            buf[:size].reshape(self._n_channels, length)[...] = block[n - length :].T
            self._pos = 0
            self._seen = length
            return
        pos = self._pos
        if pos + n > size + length:
            # pos > size here, so the window and its new place do not overlap.
            buf[:size] = buf[pos : pos + size]
            pos = 0
        self._rows[:, pos + length : pos + length + n] = block.T
        self._pos = pos + n
        self._seen = min(self._seen + n, length)

    def clear(self) -> None:
        """Forget every sample (zero the buffer)."""
        self._buf[...] = 0
        self._pos = 0
        self._seen = 0
