"""Pull numeric samples from an LSL inlet through liblsl's chunk call, into staging buffers.

``pylsl.StreamInlet.pull_chunk(min_samples=1, as_numpy=True)`` makes two liblsl calls per pull
(wait for one sample, then take the rest), allocates a ``max_samples``-row array and a
timestamp array for each, builds ctypes objects for their addresses and concatenates the two
halves: about twenty Python-level calls for one sample at a low rate, where the runtime wakes
with cold caches for every sample. The runtime's LSL inputs use :class:`NumericPull` instead,
which makes the same liblsl calls into buffers whose addresses are known once, and copies out
only the rows that came.

The bridge keeps pylsl's pull: with it, the bench's wide-1024x30000 (30-sample chunks of 1024
channels) measured p50 0.98x its floor in a quick run, against 1.19-1.23x with this class; the
cause was not found.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np
import numpy.typing as npt
from pylsl.util import handle_error

__all__ = ["NumericPull"]


class NumericPull:
    """Pull up to ``max_samples`` samples of a numeric inlet per call, waiting for the first.

    Parameters
    ----------
    inlet : pylsl.StreamInlet
        An open inlet of a numeric stream (not a string/marker stream).
    max_samples : int
        Most samples per pull (>= 1).

    Notes
    -----
    Like ``pull_chunk(timeout, max_samples, min_samples=1)``: wait up to ``timeout`` s for one
    sample, then take, without waiting, what else is there, again while a pull finds samples.
    Errors are raised as pylsl raises them (``LostError`` for a lost source).
    """

    __slots__ = (
        "_after_first",
        "_call",
        "_data_at",
        "_err",
        "_err_ref",
        "_inlet",
        "_n_channels",
        "_obj",
        "_one_values",
        "_ones",
        "_row_bytes",
        "_rows",
        "_stage",
        "_stage_data",
        "_stage_ts",
        "_ts",
        "_ts_at",
        "_zero",
    )

    def __init__(self, inlet: Any, max_samples: int) -> None:
        if inlet.np_dtype is None:
            raise ValueError("NumericPull reads numeric streams only")
        if max_samples < 1:
            raise ValueError(f"max_samples must be >= 1, got {max_samples}")
        n_channels = int(inlet.channel_count)
        self._inlet = inlet  # keeps liblsl's inlet alive while its handle is used here
        self._n_channels = n_channels
        self._call = inlet.do_pull_chunk
        self._obj = inlet.obj
        self._stage: npt.NDArray[Any] = np.empty((max_samples, n_channels), inlet.np_dtype)
        self._ts: npt.NDArray[np.float64] = np.empty(max_samples, np.float64)
        row_bytes = self._stage.strides[0]
        data_at, ts_at = self._stage.ctypes.data, self._ts.ctypes.data
        self._rows = max_samples
        self._row_bytes = row_bytes
        self._data_at = data_at
        self._ts_at = ts_at
        # The first call fills row 0, the next the rows after it: both sets of arguments are
        # made once (later calls, only for chunks still arriving, make theirs).
        self._stage_data = ctypes.c_void_p(data_at)
        self._stage_ts = ctypes.c_void_p(ts_at)
        self._one_values = ctypes.c_size_t(n_channels)
        self._ones = ctypes.c_size_t(1)
        self._after_first = (
            ctypes.c_void_p(data_at + row_bytes),
            ctypes.c_void_p(ts_at + 8),
            ctypes.c_size_t((max_samples - 1) * n_channels),
            ctypes.c_size_t(max_samples - 1),
        )
        self._zero = ctypes.c_double(0.0)
        self._err = ctypes.c_int(0)
        self._err_ref = ctypes.byref(self._err)

    def __call__(self, timeout: float) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]] | None:
        """Wait up to ``timeout`` s for a sample; return what came, or None.

        Returns
        -------
        tuple or None
            ``(data, timestamps)``: fresh arrays, data (n, n_channels) in the stream's dtype,
            timestamps float64 (n,) in the source's LSL clock; None when nothing came.

        Raises
        ------
        pylsl.util.LostError
            If the source is lost (and the inlet does not recover).
        """
        err = self._err
        got = self._call(
            self._obj,
            self._stage_data,
            self._stage_ts,
            self._one_values,
            self._ones,
            ctypes.c_double(timeout) if timeout else self._zero,
            self._err_ref,
        )
        if err.value:
            handle_error(err)
        if not got:
            return None
        n = 1
        # A chunk pushed at once reaches the inlet sample by sample (liblsl's receiving thread
        # decodes them one after the other): while a pull still finds samples, the rest of the
        # chunk may be on its way, so pull again. A lost source ends it: the next pull raises.
        more = self._rest(n) if n < self._rows else 0
        while more and not err.value:
            n += more // self._n_channels
            if n >= self._rows:
                break
            more = self._rest(n)
        return self._stage[:n].copy(), self._ts[:n].copy()

    def _rest(self, n: int) -> int:
        """Pull, without waiting, into rows ``n`` on; return the number of values pulled."""
        if n == 1:
            data, ts, values, samples = self._after_first
        else:
            left = self._rows - n
            data = ctypes.c_void_p(self._data_at + n * self._row_bytes)
            ts = ctypes.c_void_p(self._ts_at + 8 * n)
            values = ctypes.c_size_t(left * self._n_channels)
            samples = ctypes.c_size_t(left)
        got: int = self._call(self._obj, data, ts, values, samples, self._zero, self._err_ref)
        return got
