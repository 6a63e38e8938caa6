"""Check a module's output against its declared stream before it leaves the node.

A module that returns a 0-row chunk, the wrong dtype or channel count, or non-finite or
misshapen timestamps would make the wire encoder (or an LSL outlet) raise far from the module
that caused it. The node checks each output here and counts a failure on itself instead.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["OutputCheck"]

_F8 = np.dtype(np.float64)


class OutputCheck:
    """The checks of one node's outputs, built once from its output info.

    Parameters
    ----------
    info : StreamInfo
        What the module's ``prepare`` said it outputs.
    """

    __slots__ = ("dtype", "n_channels")

    def __init__(self, info: StreamInfo) -> None:
        self.dtype = info.np_dtype
        self.n_channels = info.n_channels

    def problem(self, out: Any) -> str | None:
        """Return what is wrong with a step's return value, or None if it is a good chunk."""
        if not isinstance(out, Chunk):
            return f"returned {type(out).__name__}, not Chunk or None"
        data, ts = out.data, out.timestamps
        if not isinstance(data, np.ndarray) or data.ndim != 2:
            return f"data must be a 2-D ndarray, got shape {np.shape(data)}"
        n, c = data.shape
        if n == 0:
            return "returned a 0-row chunk (return None for no output)"
        if c != self.n_channels:
            return f"data has {c} channels, its output info says {self.n_channels}"
        dtype = data.dtype
        if dtype is not self.dtype and dtype != self.dtype:  # builtin dtypes are singletons
            return f"data dtype is {dtype}, its output info says {self.dtype}"
        if (
            not isinstance(ts, np.ndarray)
            or (ts.dtype is not _F8 and ts.dtype != _F8)
            or ts.ndim != 1
            or ts.shape[0] != n
        ):
            return f"timestamps must be float64 of shape ({n},), got {getattr(ts, 'shape', ts)}"
        if n == 1:
            if not math.isfinite(ts[0]):
                return "non-finite timestamp"
        elif not np.isfinite(ts).all():
            return "non-finite timestamp"
        return None
