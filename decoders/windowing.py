"""The input side shared by window features (covariance, log-variance, segment means).

A window feature reads its input in one of two ways:

- **epochs** (``hop_s = 0``): each chunk holds whole epochs of exactly ``n`` samples (from
  the ``epoch`` module), usually one; each epoch gives one output row, stamped with the
  timestamp of the epoch's last sample;
- **sliding** (``hop_s > 0``): a ring keeps the last ``n`` samples and, once full, one row is
  computed every ``hop`` samples, stamped with the newest sample in its window.

``n = round(window_s * sfreq)`` and ``hop = max(1, round(hop_s * sfreq))``.
:class:`Windows` does the bookkeeping; the feature only fills one row from one window. Windows
are time first, (n, n_channels), unless set ``channels_first`` (a window model's layout): then
(n_channels, n), and a sliding window is one C-contiguous view of a ring, never copied.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import require_regular
from decoders.ring import ChannelsFirstRing, WindowRing

__all__ = ["Fill", "Windows", "check_window_config"]

#: ``fill(window, row)`` writes the features of ``window`` into ``row`` (width,), float32.
#: ``window`` is read-only, shape (n, n_channels), or (n_channels, n) when channels first; its
#: dtype is the ring's (sliding) or the input's (epochs), and it is valid only during the call.
Fill = Callable[[npt.NDArray[Any], npt.NDArray[np.float32]], None]


def check_window_config(window_s: float, hop_s: float) -> None:
    """Refuse a negative or non-finite ``window_s`` or ``hop_s`` (config time).

    Raises
    ------
    ConfigError
        With ``key`` ``window_s`` or ``hop_s``.
    """
    if not (math.isfinite(window_s) and window_s >= 0):
        raise ConfigError(f"must be >= 0 seconds, got {window_s!r}", key="window_s")
    if not (math.isfinite(hop_s) and hop_s >= 0):
        raise ConfigError(
            f"must be >= 0 seconds (0: each chunk is an epoch), got {hop_s!r}", key="hop_s"
        )


class Windows:
    """Epoch-or-sliding window bookkeeping for a feature module (see the module docs).

    Parameters
    ----------
    module : str
        The module's name, for error messages.
    """

    __slots__ = ("_channels_first", "_hop", "_module", "_n", "_ring", "_until")

    def __init__(self, module: str) -> None:
        self._module = module
        self._n = 0
        self._hop = 0  # 0: epochs
        self._ring: WindowRing | ChannelsFirstRing | None = None
        self._channels_first = False
        self._until = 0

    @property
    def length(self) -> int:
        """Window length in samples."""
        return self._n

    def prepare(
        self, window_s: float, hop_s: float, info: StreamInfo, *, min_len: int = 1
    ) -> float:
        """Fix the window for ``info``, allocate the ring (sliding), reset.

        Parameters
        ----------
        window_s : float
            Window (or epoch) length in seconds; must be set (> 0).
        hop_s : float
            Time between outputs in seconds; 0 for epochs.
        info : StreamInfo
            The input stream; must be regularly sampled.
        min_len : int
            Fewest samples a window may hold.

        Returns
        -------
        float
            The output rate in Hz: ``sfreq / hop`` when sliding, 0 (irregular) for epochs.

        Raises
        ------
        ConfigError
            If the stream is irregular, ``window_s`` is not set, or too short.
        """
        sfreq = require_regular(info, self._module)
        if window_s <= 0:
            raise ConfigError(
                f"{self._module} needs the window length in seconds (for epochs: the epoch "
                "length, tmax - tmin of the epoch node)",
                key="window_s",
            )
        n = round(window_s * sfreq)
        if n < min_len:
            raise ConfigError(
                f"{window_s} s is {n} sample(s) at {sfreq:g} Hz; needs at least {min_len}",
                key="window_s",
            )
        hop = max(1, round(hop_s * sfreq)) if hop_s > 0 else 0
        self.set(n, hop, info.n_channels)
        return sfreq / hop if hop else 0.0

    def set(
        self,
        length: int,
        hop: int,
        n_channels: int,
        *,
        channels_first: bool = False,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        """Fix the window in samples directly, allocate the ring (sliding), reset.

        Parameters
        ----------
        length : int
            Window length in samples, >= 1.
        hop : int
            Samples between outputs; 0 for epochs.
        n_channels : int
            Input channels.
        channels_first : bool
            Hand windows to ``fill`` as (n_channels, n) instead of (n, n_channels).
        dtype : numpy dtype
            Storage type of the ring (sliding windows).
        """
        self._n = length
        self._hop = hop
        self._channels_first = channels_first
        ring = ChannelsFirstRing if channels_first else WindowRing
        self._ring = ring(length, n_channels, dtype) if hop else None
        self._until = length

    def run(self, chunk: Chunk, width: int, fill: Fill) -> Chunk | None:
        """Take in one chunk; emit one row of ``width`` features per complete window.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels). Epochs: ``n_samples`` a whole multiple
            of the window length.
        width : int
            Features per row.
        fill : callable
            Computes one row from one window (see :data:`Fill`).

        Returns
        -------
        Chunk or None
            Shape (n_rows, width) float32, a fresh array, each row stamped with the newest
            sample of its window (timestamps may be a view of the input's); ``None`` when no
            window completed.

        Raises
        ------
        ValueError
            Epochs: if the chunk is not a whole number of epochs; says expected and got.
        """
        data = chunk.data
        n = data.shape[0]
        if n == 0:
            return None
        size = self._n
        ring = self._ring
        if ring is None:
            n_rows, rest = divmod(n, size)
            if rest:
                raise ValueError(
                    f"{self._module} expects whole epochs of {size} samples per chunk, "
                    f"got a chunk of {n} samples"
                )
            out = np.empty((n_rows, width), dtype=np.float32)
            for i in range(n_rows):
                epoch = data[i * size : (i + 1) * size]
                fill(epoch.T if self._channels_first else epoch, out[i])
            return Chunk(out, _contiguous(chunk.timestamps[size - 1 :: size]), chunk.seq)
        until = self._until
        if n < until:
            ring.push(data)
            self._until = until - n
            return None
        hop = self._hop
        n_rows = 1 + (n - until) // hop
        out = np.empty((n_rows, width), dtype=np.float32)
        stamps = _contiguous(chunk.timestamps[until - 1 : until + (n_rows - 1) * hop : hop])
        start, end = 0, until
        for row in out:
            ring.push(data[start:end])
            fill(ring.window, row)
            start, end = end, end + hop
        if start < n:
            ring.push(data[start:])
        self._until = end - n
        return Chunk(out, stamps, chunk.seq)


def _contiguous(stamps: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Return the rows' timestamps: a view of the input's when contiguous (one row, hop 1).

    Sharing the input's timestamps is safe: an input chunk's arrays stay valid after the
    step that made them (the Module contract), and no module writes into its input.
    """
    return stamps if stamps.flags.c_contiguous else stamps.copy()
