"""Stateful second-order-sections filtering of a stream, shared by the IIR filter modules.

:class:`SosFilter` filters chunks of shape (n_samples, n_channels) with a fixed SOS cascade
and carries the filter state from chunk to chunk, so that chunked filtering gives the same
samples as :func:`scipy.signal.sosfilt` over the whole recording, whatever the chunk sizes,
with the filter started in steady state for the first sample (no start-up transient). The
filtering loop is scipy's compiled one, loaded without ``scipy.signal``
(:mod:`decoders.sos_kernel`); the steady state is :func:`decoders.iir_design.sos_zi`.

A non-finite input value (NaN, inf) would poison a channel's state for the rest of a run:
after each chunk the state is checked (one sum, no allocation), and a channel whose state
turned non-finite is started again in steady state at its next sample, and counted
(``stats()["state_resets"]``). The chunk that held the bad value still shows it; the ones
after are finite again.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.iir_design import sos_zi
from decoders.sos_kernel import KERNEL, Kernel, sosfilt_public

__all__ = ["KERNEL", "Kernel", "SosFilter", "require_below_nyquist", "sosfilt_public"]

_F64 = npt.NDArray[np.float64]


class SosFilter:
    """A causal SOS filter over every channel of a stream, state kept across chunks.

    Parameters
    ----------
    kernel : callable
        The in-place filtering loop (see :data:`decoders.sos_kernel.Kernel`);
        :data:`decoders.sos_kernel.KERNEL` by default.

    Notes
    -----
    Computation is in float64. Output dtype: float64 for a float64 input, float32 otherwise.
    Each output is a fresh array: it stays valid after the next call.
    """

    __slots__ = (
        "_buf",
        "_kernel",
        "_n_channels",
        "_out_dtype",
        "_primed",
        "_reprime",
        "_sos",
        "_state",
        "_state_flat",
        "_zi_unit",
        "state_resets",
    )

    def __init__(self, kernel: Kernel = KERNEL) -> None:
        self._kernel = kernel
        self._n_channels = 0
        self._out_dtype: np.dtype[Any] = np.dtype(np.float32)
        self._primed = False
        self._sos: _F64 = np.empty((0, 6))
        self._zi_unit: _F64 = np.empty((0, 2))
        self._state: _F64 = np.empty((0, 0, 2))
        self._state_flat: _F64 = self._state.reshape(-1)
        self._buf: _F64 = np.empty(0)
        self._reprime: npt.NDArray[np.intp] | None = None
        self.state_resets = 0

    def prepare(self, sos: npt.ArrayLike, info: StreamInfo) -> StreamInfo:
        """Set the filter for ``info``'s channels, allocate the state, warm up, reset.

        Parameters
        ----------
        sos : array_like, shape (n_sections, 6)
            The filter, designed for ``info.sfreq``.
        info : StreamInfo
            The input stream (regularly sampled).

        Returns
        -------
        StreamInfo
            The output: same channels and rate; dtype float64 or float32 (see class notes).
        """
        self._sos = np.ascontiguousarray(sos, dtype=np.float64)
        self._zi_unit = sos_zi(self._sos)
        n_channels = info.n_channels
        self._n_channels = n_channels
        self._state = np.zeros((n_channels, self._sos.shape[0], 2))
        # The state's finiteness check: its sum of squares (a dot product, a third of the cost
        # of a sum) is finite unless a value is NaN or infinite (or above 1e154: then the full
        # check in _reset_nonfinite finds nothing to reset).
        self._state_flat = self._state.reshape(-1)
        # Room for one second of samples; a bigger chunk grows it once (see _work).
        self._buf = np.empty(n_channels * max(1, math.ceil(info.sfreq)))
        self._primed = False
        self._reprime = None
        self.state_resets = 0
        self._out_dtype = np.dtype(np.float64 if info.dtype == "float64" else np.float32)
        # Warm-up: run the kernel once on scratch state, so the first real chunk is not slower.
        self._kernel(self._sos, np.zeros((n_channels, 1)), np.zeros_like(self._state))
        return info.renamed(dtype=str(self._out_dtype))

    def step(self, chunk: Chunk) -> Chunk | None:
        """Filter one chunk.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Filtered samples, shape (n_samples, n_channels), a fresh array, with the input's
            timestamps and seq; ``None`` for an empty chunk.

        Raises
        ------
        ValueError
            If the chunk does not have the prepared channel count.
        """
        data = chunk.data
        n = data.shape[0]
        if n == 0:
            return None
        if data.ndim != 2 or data.shape[1] != self._n_channels:
            raise ValueError(f"expected chunks of shape (n, {self._n_channels}), got {data.shape}")
        x = self._work(n)
        x[...] = data.T
        if not self._primed:
            np.multiply(self._zi_unit, x[:, 0, None, None], out=self._state)
            self._primed = True
        elif self._reprime is not None:
            bad = self._reprime
            self._state[bad] = self._zi_unit * x[bad, 0, None, None]
            self._reprime = None
        self._kernel(self._sos, x, self._state)
        if not math.isfinite(self._state_flat.dot(self._state_flat)):
            self._reset_nonfinite()
        # astype always copies: the output must not alias the scratch buffer (for one sample,
        # x.T is already contiguous and ascontiguousarray would return a view of it).
        return Chunk(x.T.astype(self._out_dtype, order="C"), chunk.timestamps, chunk.seq)

    def _reset_nonfinite(self) -> None:
        """Mark the channels whose state is non-finite to start again at their next sample."""
        bad = np.flatnonzero(~np.isfinite(self._state).all(axis=(1, 2)))
        self._state[bad] = 0.0
        self._reprime = bad
        self.state_resets += len(bad)

    def stats(self) -> dict[str, int]:
        """Return the filter's counters: ``state_resets``, channel states found non-finite."""
        return {"state_resets": self.state_resets}

    def _work(self, n: int) -> _F64:
        """Return a C-contiguous (n_channels, n) float64 scratch view, grown if needed."""
        size = self._n_channels * n
        if size > self._buf.size:
            self._buf = np.empty(max(size, 2 * self._buf.size))
        return self._buf[:size].reshape(self._n_channels, n)


def require_below_nyquist(freq: float, info: StreamInfo, key: str) -> None:
    """Refuse a frequency at or above the Nyquist frequency of a regular stream.

    Parameters
    ----------
    freq : float
        The frequency, Hz.
    info : StreamInfo
        The input stream (``sfreq > 0``).
    key : str
        The config key the frequency came from, for the error.

    Raises
    ------
    ConfigError
        If ``freq >= info.sfreq / 2``.
    """
    nyquist = info.sfreq / 2
    if freq >= nyquist:
        raise ConfigError(
            f"must be below the Nyquist frequency ({nyquist:g} Hz) of stream "
            f"{info.name!r} sampled at {info.sfreq:g} Hz, got {freq:g} Hz",
            key=key,
        )
