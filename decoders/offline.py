"""Run a chain of modules over recorded samples, chunk by chunk, exactly as the runtime does.

Training, evaluation and tests use this to get the features the online pipeline will compute,
from the same module code, so that online equals offline by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.config import NodeConfig
from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["run_chain"]


def run_chain(
    nodes: Sequence[NodeConfig],
    info: StreamInfo,
    data: npt.NDArray[Any],
    timestamps: npt.NDArray[np.float64],
    chunk_size: int = 1,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], StreamInfo]:
    """Feed ``data`` through the modules of ``nodes`` in order, ``chunk_size`` samples at a time.

    Parameters
    ----------
    nodes : sequence of NodeConfig
        A linear chain (each node reads the previous one), e.g. ``pipeline.nodes[:-1]``.
    info : StreamInfo
        The input stream's description.
    data : ndarray, shape (n_samples, n_channels)
        Samples, in the stream's dtype and units.
    timestamps : ndarray of float64, shape (n_samples,)
        Their timestamps, seconds.
    chunk_size : int
        Samples per ``step`` call of the first module.

    Returns
    -------
    out : ndarray, shape (n_outputs, n_out_channels)
        Everything the last module emitted, in order.
    out_timestamps : ndarray of float64, shape (n_outputs,)
        The timestamp of the newest input sample behind each output row.
    out_info : StreamInfo
        The last module's output description.
    """
    modules = [n.plugin(n.config) for n in nodes]
    current = info
    for m in modules:
        current = m.prepare(current)
    outs: list[npt.NDArray[Any]] = []
    stamps: list[npt.NDArray[np.float64]] = []
    data = np.ascontiguousarray(data, dtype=info.np_dtype)
    for seq, start in enumerate(range(0, data.shape[0], chunk_size)):
        chunk: Chunk | None = Chunk(
            data[start : start + chunk_size], timestamps[start : start + chunk_size], seq
        )
        for m in modules:
            assert chunk is not None
            chunk = m.step(chunk)
            if chunk is None:
                break
        if chunk is not None:
            outs.append(np.array(chunk.data, copy=True))
            stamps.append(np.array(chunk.timestamps, copy=True))
    if not outs:
        return np.empty((0, current.n_channels), current.np_dtype), np.empty(0), current
    return np.concatenate(outs), np.concatenate(stamps), current
