"""Non-finite samples (NaN, +-inf) at the runtime's inputs: counted, then handled by policy.

Amplifier drivers send NaN for samples they dropped; one of them must not poison the stateful
filters downstream for the rest of a run. Each input has a policy, ``on_nonfinite``:

``hold`` (default)
    Replace each non-finite value by the last finite value of its channel (0 before any).
``zero``
    Replace each non-finite value by 0.
``drop``
    Drop every sample (row) that holds a non-finite value, with its timestamp.
``pass``
    Deliver the samples unchanged (the modules see the NaNs); still counted.

The check costs ``isfinite`` into a preallocated mask and a count of it per chunk when every
sample is finite (the steady state): no allocation, the chunk goes on as it came (its last row
is copied into a buffer of the filter's: what ``hold`` repeats if the next chunk needs it). Only
a chunk that holds a non-finite value is copied and repaired, vectorised. Integer streams
cannot hold non-finite values and pass untouched.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import StreamInfo

__all__ = ["POLICIES", "NonFiniteFilter", "NonFinitePolicy"]

NonFinitePolicy = Literal["hold", "zero", "drop", "pass"]
#: The values ``on_nonfinite`` takes.
POLICIES: tuple[str, ...] = ("hold", "zero", "drop", "pass")

_Arrays = tuple[npt.NDArray[Any], npt.NDArray[np.float64]]
_vdot = np.vdot


class NonFiniteFilter:
    """Count and handle the non-finite samples of one input.

    Parameters
    ----------
    policy : {"hold", "zero", "drop", "pass"}
        What to do with them (see the module docs).
    info : StreamInfo
        The input stream.

    Attributes
    ----------
    samples : int
        Samples (rows) that held at least one non-finite value.
    values : int
        Non-finite values, over all channels.
    """

    __slots__ = ("_float", "_hold", "_last", "_mask", "_policy", "samples", "values")

    def __init__(self, policy: str, info: StreamInfo) -> None:
        if policy not in POLICIES:
            raise ValueError(f"on_nonfinite must be one of {POLICIES}, got {policy!r}")
        self._policy = policy
        self._hold = policy == "hold"
        self._float = info.np_dtype.kind == "f"
        # The last row delivered (every value finite): what ``hold`` repeats. A copy in a
        # buffer of its own, so that no received frame is kept alive for it.
        self._last = np.zeros(info.n_channels, info.np_dtype if self._float else np.float64)
        # The finite-value mask: room for a second of samples, grown if a chunk is bigger.
        self._mask = np.empty((max(64, math.ceil(info.sfreq)), info.n_channels), bool)
        self.samples = 0
        self.values = 0

    def __call__(
        self, data: npt.NDArray[Any], timestamps: npt.NDArray[np.float64]
    ) -> _Arrays | None:
        """Handle one chunk.

        Parameters
        ----------
        data : ndarray, shape (n_samples, n_channels)
            The samples (not modified).
        timestamps : ndarray of float64, shape (n_samples,)
            Their LSL timestamps, seconds.

        Returns
        -------
        tuple of ndarray or None
            ``(data, timestamps)``: the same arrays if all is finite, else repaired copies
            (``hold``, ``zero``), the finite rows (``drop``) or the same arrays (``pass``);
            ``None`` if ``drop`` left no sample.
        """
        if not self._float:
            return data, timestamps
        n = data.shape[0]
        # One C-level call: the sum of squares is finite only if every value is (huge finite
        # values that overflow it are checked value by value below, and pass). BLAS raises
        # no floating-point warnings.
        if not math.isfinite(_vdot(data, data)):
            if n > self._mask.shape[0]:
                self._mask = np.empty((2 * n, self._mask.shape[1]), bool)
            finite = self._mask[:n]
            np.isfinite(data, out=finite)
            if np.count_nonzero(finite) != finite.size:
                return self._repair(data, timestamps, finite)
        if n and self._hold:  # only ``hold`` repeats it
            self._last[:] = data[n - 1]
        return data, timestamps

    def _repair(
        self,
        data: npt.NDArray[Any],
        timestamps: npt.NDArray[np.float64],
        finite: npt.NDArray[np.bool_],
    ) -> _Arrays | None:
        bad_rows = ~finite.all(axis=1)
        n_bad = int(bad_rows.sum())
        self.samples += n_bad
        self.values += int(finite.size - np.count_nonzero(finite))
        policy = self._policy
        if policy == "pass":
            return data, timestamps
        if policy == "drop":
            keep = ~bad_rows
            if not keep.any():
                return None
            return np.ascontiguousarray(data[keep]), np.ascontiguousarray(timestamps[keep])
        if policy == "zero":
            return np.where(finite, data, 0).astype(data.dtype, copy=False), timestamps
        # hold: each value takes the last finite one at or before it in its channel.
        n, c = data.shape
        rows = np.where(finite, np.arange(n)[:, None], -1)
        np.maximum.accumulate(rows, axis=0, out=rows)
        out = data[np.maximum(rows, 0), np.arange(c)]
        never = rows < 0
        if never.any():
            out[never] = np.broadcast_to(self._last, (n, c))[never]
        self._last[:] = out[n - 1]
        return out, timestamps
