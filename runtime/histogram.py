"""A fixed-bucket latency histogram: constant memory, O(1) insert, percentiles on demand."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["Histogram"]

_PER_DECADE = 40  # about 6 % resolution
_LOW_NS = 100.0  # 0.1 us: the first bucket's upper edge
_DECADES = 9  # up to 100 s
_N_BUCKETS = _PER_DECADE * _DECADES + 2
_LAST = _N_BUCKETS - 1
_log10 = math.log10
_OFFSET = _log10(_LOW_NS) * _PER_DECADE - 1.0


class Histogram:
    """Log-spaced histogram of durations in nanoseconds.

    Buckets are ``_PER_DECADE`` per decade from 0.1 us to 100 s; the exact maximum and the sum
    are kept beside them. Reported percentiles are bucket upper edges (clipped to the maximum),
    so they are at most one bucket (about 6 %) above the truth. ``add`` is on the hot path
    (several times per frame): the buckets are a plain list, which a Python int increments
    several times faster than a numpy array's element.
    """

    __slots__ = ("_buckets", "count", "max_ns", "sum_ns")

    def __init__(self) -> None:
        self._buckets: list[int] = [0] * _N_BUCKETS
        self.count = 0
        self.max_ns = 0.0
        self.sum_ns = 0.0

    @property
    def counts(self) -> npt.NDArray[np.int64]:
        """The bucket counts, shape ``(n_buckets,)``."""
        return np.array(self._buckets, np.int64)

    def add(self, ns: float) -> None:
        """Record one duration, in nanoseconds."""
        # Bucket 1 + floor(log10(ns / _LOW_NS) * _PER_DECADE), with the constants folded in.
        i = int(_log10(ns) * _PER_DECADE - _OFFSET) if ns > _LOW_NS else 0
        if i > _LAST:
            i = _LAST
        self._buckets[i] += 1
        self.count += 1
        self.sum_ns += ns
        if ns > self.max_ns:
            self.max_ns = ns

    def merge(self, other: Histogram) -> None:
        """Add another histogram's counts to this one."""
        self._buckets = [a + b for a, b in zip(self._buckets, other._buckets, strict=True)]
        self.count += other.count
        self.sum_ns += other.sum_ns
        self.max_ns = max(self.max_ns, other.max_ns)

    def without(self, other: Histogram, *, max_ns: float) -> Histogram:
        """Return this histogram less ``other``'s counts (a subset of this one's values).

        Parameters
        ----------
        other : Histogram
            Values that were added to both (each bucket count at most this one's).
        max_ns : float
            The exact maximum of what remains (a difference cannot tell it).
        """
        out = Histogram()
        out._buckets = [a - b for a, b in zip(self._buckets, other._buckets, strict=True)]
        out.count = self.count - other.count
        out.sum_ns = self.sum_ns - other.sum_ns if out.count else 0.0
        out.max_ns = max_ns if out.count else 0.0
        return out

    def percentile(self, q: float) -> float:
        """Return the ``q``-th percentile (0-100) in nanoseconds; NaN when empty."""
        if self.count == 0:
            return math.nan
        rank = max(1, math.ceil(round(q * self.count / 100.0, 9)))
        i = int(np.searchsorted(np.cumsum(self._buckets), rank))
        if i >= _LAST:  # the open-ended last bucket
            return self.max_ns
        edge = _LOW_NS * 10 ** (i / _PER_DECADE)
        return min(edge, self.max_ns)

    def summary_ms(self) -> dict[str, float | int]:
        """Return ``count``, ``mean``, ``p50``, ``p99``, ``p999`` and ``max`` in milliseconds."""
        if self.count == 0:
            return {"count": 0}
        return {
            "count": self.count,
            "mean": round(self.sum_ns / self.count / 1e6, 4),
            "p50": round(self.percentile(50) / 1e6, 4),
            "p99": round(self.percentile(99) / 1e6, 4),
            "p999": round(self.percentile(99.9) / 1e6, 4),
            "max": round(self.max_ns / 1e6, 4),
        }
