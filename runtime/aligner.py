"""Pairing the samples of several regular streams by timestamp (the core of a fan-in node).

The first source is the *reference*. Each source's samples wait in a preallocated buffer until
every source has some; then, oldest first, a row is made of one sample of each source when each
is within ``tolerance_s`` of the reference's. Timestamps only grow, so a sample that finds the
head of another source already more than ``tolerance_s`` later than itself can never be paired
any more: it is dropped and counted as *misaligned* (a gap in one stream costs the other
streams' samples over the gap, one each). A source that runs ahead waits, bounded in bytes;
when the bound is reached its oldest waiting samples are dropped and counted as *dropped*.
Rows carry the reference's timestamps. For every source, the samples pushed are
``aligned + misaligned + dropped + waiting``.

Nothing is allocated per push: the waiting buffers, the rows and the scratch of the timestamp
comparison are allocated once; the rows handed out are views of the aligner's buffer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["Aligner"]


class _Waiting:
    """One source's samples waiting for their partners: a preallocated buffer, oldest first.

    The waiting samples are ``data[start:end]``; new samples go at ``end``, and the waiting
    ones are moved to the front when the tail is full (through flat 1-D views, so numpy copies
    in place without a temporary).
    """

    __slots__ = (
        "capacity",
        "data",
        "dropped",
        "end",
        "flat",
        "misaligned",
        "n_channels",
        "received",
        "stamps",
        "start",
    )

    def __init__(self, capacity: int, n_channels: int, dtype: np.dtype[Any]) -> None:
        self.capacity = capacity
        self.n_channels = n_channels
        self.data = np.zeros((capacity, n_channels), dtype)
        self.flat = self.data.reshape(-1)
        self.stamps = np.zeros(capacity, np.float64)
        self.start = 0
        self.end = 0
        self.received = 0
        self.misaligned = 0
        self.dropped = 0

    @property
    def waiting(self) -> int:
        """Samples waiting."""
        return self.end - self.start

    def append(self, data: npt.NDArray[Any], stamps: npt.NDArray[np.float64]) -> None:
        """Add ``n <= capacity`` samples, dropping (and counting) the oldest waiting if full."""
        n = stamps.shape[0]
        over = self.end - self.start + n - self.capacity
        if over > 0:
            self.start += over
            self.dropped += over
        if self.end + n > self.capacity:
            m, c = self.end - self.start, self.n_channels
            self.flat[: m * c] = self.flat[self.start * c : self.end * c]
            self.stamps[:m] = self.stamps[self.start : self.end]
            self.start, self.end = 0, m
        self.data[self.end : self.end + n] = data
        self.stamps[self.end : self.end + n] = stamps
        self.end += n
        self.received += n

    def drop_before(self, t: float) -> bool:
        """Drop the waiting samples stamped before ``t`` as misaligned; return whether any."""
        cut = int(np.searchsorted(self.stamps[self.start : self.end], t))
        if cut:
            self.start += cut
            self.misaligned += cut
        return cut > 0


class Aligner:
    """Pair the samples of several regular streams by timestamp (see the module docstring).

    Parameters
    ----------
    infos : sequence of StreamInfo
        The sources, the reference first; at least two, all regular at one rate.
    tolerance_s : float
        How far a sample's timestamp may be from the reference's to be paired with it, in
        seconds; less than one sample period.
    max_bytes : int
        Bound on each source's waiting samples (their data and timestamps), in bytes.
    dtype : numpy dtype
        The dtype of the aligned rows.

    Attributes
    ----------
    aligned : int
        Rows made (each one sample of every source).
    """

    __slots__ = (
        "_d",
        "_ok",
        "_ok_j",
        "_others",
        "_out",
        "_out_ts",
        "_ref",
        "_slices",
        "_sources",
        "aligned",
        "tolerance_s",
    )

    def __init__(
        self,
        infos: Sequence[StreamInfo],
        *,
        tolerance_s: float,
        max_bytes: int,
        dtype: np.dtype[Any],
    ) -> None:
        if len(infos) < 2:
            raise ValueError("an aligner needs at least two sources")
        if not 0 < tolerance_s < math.inf:
            raise ValueError(f"tolerance must be a positive number of seconds, got {tolerance_s}")
        self.tolerance_s = tolerance_s
        self._sources = [
            _Waiting(
                max(1, max_bytes // (info.n_channels * dtype.itemsize + 8)),
                info.n_channels,
                dtype,
            )
            for info in infos
        ]
        self._ref = self._sources[0]
        self._others = self._sources[1:]
        rows = min(s.capacity for s in self._sources)  # never more aligned rows than that
        self._out = np.zeros((rows, sum(i.n_channels for i in infos)), dtype)
        self._out_ts = np.zeros(rows, np.float64)
        self._d = np.zeros(rows, np.float64)
        self._ok = np.zeros(rows, np.bool_)
        self._ok_j = np.zeros(rows, np.bool_)
        edges = itertools.accumulate((i.n_channels for i in infos), initial=0)
        self._slices = [slice(a, b) for a, b in itertools.pairwise(edges)]
        self.aligned = 0

    @property
    def capacity(self) -> int:
        """Most rows one aligned chunk has."""
        return int(self._out.shape[0])

    def push(
        self, source: int, data: npt.NDArray[Any], stamps: npt.NDArray[np.float64]
    ) -> Chunk | None:
        """Take samples of one source; return the rows that can now be made, if any.

        Parameters
        ----------
        source : int
            The source's position in ``infos``.
        data : ndarray, shape (n_samples, n_channels)
            Its samples.
        stamps : ndarray of float64, shape (n_samples,)
            Their LSL timestamps, seconds, increasing.

        Returns
        -------
        Chunk or None
            The aligned rows, shape ``(n_rows, total channels)``, with the reference's
            timestamps: a view of the aligner's buffer, valid until the next ``push``. None
            when no row could be made.

        Raises
        ------
        ValueError
            For more samples than the source's buffer holds (:meth:`push_all` takes any
            number, in parts).
        """
        w = self._sources[source]
        n = stamps.shape[0]
        if n > w.capacity:
            raise ValueError(f"{n} samples at once; this source holds at most {w.capacity}")
        w.append(data, stamps)
        rows = self._match()
        if not rows:
            return None
        return Chunk(self._out[:rows], self._out_ts[:rows], self.aligned)

    def push_all(
        self,
        source: int,
        data: npt.NDArray[Any],
        stamps: npt.NDArray[np.float64],
        emit: Callable[[Chunk], None],
    ) -> None:
        """Take any number of samples of one source; hand each aligned chunk to ``emit``.

        ``emit`` gets views of the aligner's buffer, valid until it returns.
        """
        cap = self._sources[source].capacity
        n = stamps.shape[0]
        for i in range(0, n, cap):
            out = self.push(source, data[i : i + cap], stamps[i : i + cap])
            if out is not None:
                emit(out)

    def _match(self) -> int:
        """Make every row the waiting samples allow; return how many (in ``_out``)."""
        ref, others, tol = self._ref, self._others, self.tolerance_s
        rows = 0
        while ref.end > ref.start and all(w.end > w.start for w in others):
            head = float(ref.stamps[ref.start])
            # Samples of the others older than the reference's head by more than tol: orphans.
            dropped = False
            for w in others:
                dropped = w.drop_before(head - tol) or dropped
            if dropped:
                continue
            # Reference samples older than some other head by more than tol: orphans too.
            latest = max(float(w.stamps[w.start]) for w in others)
            if ref.drop_before(latest - tol):
                continue
            # At most the rows left in _out: never fewer than m, since no source holds more
            # samples than _out has rows and each row took one sample of every source.
            m = min(w.end - w.start for w in self._sources)
            ok, ok_j, d = self._ok[:m], self._ok_j[:m], self._d[:m]
            ref_ts = ref.stamps[ref.start : ref.start + m]
            ok.fill(True)
            for w in others:
                np.subtract(w.stamps[w.start : w.start + m], ref_ts, out=d)
                np.abs(d, out=d)
                np.less_equal(d, tol, out=ok_j)  # NaN compares False: never paired
                np.logical_and(ok, ok_j, out=ok)
            p = m if ok.all() else int(ok.argmin())
            if p == 0:  # heads not comparable (a NaN timestamp): the reference's is an orphan
                ref.start += 1
                ref.misaligned += 1
                continue
            for w, cols in zip(self._sources, self._slices, strict=True):
                self._out[rows : rows + p, cols] = w.data[w.start : w.start + p]
                w.start += p
            self._out_ts[rows : rows + p] = ref_ts[:p]
            rows += p
            self.aligned += p
        return rows

    def counters(self) -> list[dict[str, int]]:
        """Return per source ``received``, ``misaligned``, ``dropped`` and ``waiting``."""
        return [
            {
                "received": w.received,
                "misaligned": w.misaligned,
                "dropped": w.dropped,
                "waiting": w.waiting,
            }
            for w in self._sources
        ]

    def owns(self, array: npt.NDArray[Any]) -> bool:
        """Whether ``array`` may share memory with the aligned rows or their timestamps."""
        return bool(
            np.may_share_memory(array, self._out) or np.may_share_memory(array, self._out_ts)
        )
