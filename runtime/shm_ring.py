"""A ring of samples in shared memory, for handing chunks to and from a worker process.

One :class:`multiprocessing.shared_memory.SharedMemory` block holds a small header (the write
and release positions), ``capacity`` rows of samples and ``capacity`` timestamps::

    [ head int64 | tail int64 | pad to 64 B ][ data: capacity x n_channels ][ stamps: capacity ]

Positions are absolute sample counts (they only grow); a row lives at ``position % capacity``.
A chunk is always stored in one contiguous run, so the reader gets plain numpy views and never a
copy: when a chunk does not fit before the end of the buffer, the writer skips to the start and
the skipped rows count as used until released. One process writes (moves ``head``), one
releases (moves ``tail``), in order; the control messages that say where each chunk is travel
on a separate channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["RingSpec", "ShmRing"]

_HEADER = 64


@dataclass(frozen=True, slots=True)
class RingSpec:
    """What another process needs to attach to a ring.

    Parameters
    ----------
    name : str
        The shared-memory block's name.
    capacity : int
        Rows (samples) the ring holds.
    n_channels : int
        Columns of each row.
    dtype : str
        numpy dtype string of the samples (``"<f4"``...).
    """

    name: str
    capacity: int
    n_channels: int
    dtype: str


class ShmRing:
    """Samples and timestamps in a shared-memory ring (see the module docstring).

    Use :meth:`create` in the owning process and :meth:`attach` in the other.
    """

    def __init__(self, shm: shared_memory.SharedMemory, spec: RingSpec, *, owner: bool) -> None:
        self.spec = spec
        self._shm = shm
        self._owner = owner
        cap, nch = spec.capacity, spec.n_channels
        dtype = np.dtype(spec.dtype)
        buf = shm.buf
        self._pos: npt.NDArray[np.int64] = np.ndarray((2,), np.int64, buffer=buf, offset=0)
        data_bytes = cap * nch * dtype.itemsize
        self.data: npt.NDArray[Any] = np.ndarray((cap, nch), dtype, buffer=buf, offset=_HEADER)
        ts_offset = _HEADER + (data_bytes + 63) // 64 * 64
        self.timestamps: npt.NDArray[np.float64] = np.ndarray(
            (cap,), np.float64, buffer=buf, offset=ts_offset
        )

    @classmethod
    def create(cls, capacity: int, n_channels: int, dtype: np.dtype[Any] | str) -> ShmRing:
        """Allocate a new ring (this process owns it and unlinks it on :meth:`close`).

        Parameters
        ----------
        capacity : int
            Rows (samples) it holds, at least 1.
        n_channels : int
            Columns of each row.
        dtype : numpy dtype or str
            Sample format.
        """
        if capacity < 1 or n_channels < 1:
            raise ValueError(
                f"a ring needs capacity and channels >= 1, got {capacity}, {n_channels}"
            )
        dt = np.dtype(dtype)
        size = _HEADER + (capacity * n_channels * dt.itemsize + 63) // 64 * 64 + capacity * 8
        shm = shared_memory.SharedMemory(create=True, size=size)
        ring = cls(shm, RingSpec(shm.name, capacity, n_channels, dt.str), owner=True)
        ring.reset()
        return ring

    @classmethod
    def attach(cls, spec: RingSpec) -> ShmRing:
        """Open a ring another process created."""
        return cls(shared_memory.SharedMemory(name=spec.name), spec, owner=False)

    @property
    def used(self) -> int:
        """Rows written and not yet released (skipped rows included)."""
        return int(self._pos[0] - self._pos[1])

    def reset(self) -> None:
        """Forget every chunk (only when nobody else reads or writes the ring)."""
        self._pos[:] = 0

    def write(self, data: npt.NDArray[Any], timestamps: npt.NDArray[np.float64]) -> int | None:
        """Copy a chunk in; return its position, or None when there is no room yet.

        Parameters
        ----------
        data : ndarray, shape (n_samples, n_channels)
            Samples; cast to the ring's dtype.
        timestamps : ndarray of float64, shape (n_samples,)
            Their timestamps, seconds.

        Raises
        ------
        ValueError
            If the chunk has more rows than the ring, or another channel count.
        """
        n = int(timestamps.shape[0])
        cap = self.spec.capacity
        if n > cap:
            raise ValueError(f"a chunk of {n} samples does not fit a ring of {cap}")
        if data.shape != (n, self.spec.n_channels):
            raise ValueError(
                f"chunk shape {data.shape} does not match ({n}, {self.spec.n_channels})"
            )
        head = int(self._pos[0])
        phys = head % cap
        start = head if phys + n <= cap else head + (cap - phys)
        tail = int(self._pos[1])
        if tail != head and start + n - tail > cap:  # would overwrite rows not yet released
            return None
        p = start % cap
        self.data[p : p + n] = data
        self.timestamps[p : p + n] = timestamps
        self._pos[0] = start + n
        return start

    def read(self, start: int, n: int) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]]:
        """Return views (no copy) of the chunk of ``n`` rows written at ``start``.

        The views stay valid until the chunk is released.
        """
        p = start % self.spec.capacity
        return self.data[p : p + n], self.timestamps[p : p + n]

    def release(self, end: int) -> None:
        """Free every row before position ``end`` (the end of the oldest chunk read)."""
        self._pos[1] = end

    def close(self) -> None:
        """Detach; the owner also unlinks the block. Views handed out must be dropped first."""
        del self._pos, self.data, self.timestamps
        self._shm.close()
        if self._owner:
            self._shm.unlink()
