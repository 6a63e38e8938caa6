"""Modules that break the steady-state allocation rule on purpose (the check must catch them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import Chunk, StreamInfo


class Temporary:
    """Scales each chunk through a temporary array (freed before ``step`` returns)."""

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Pass the stream through."""
        return info

    def step(self, chunk: Chunk) -> Chunk:
        """Return a fresh copy, made through a float64 temporary of the chunk's size."""
        doubled = chunk.data.astype(np.float64) * 2.0
        return Chunk((doubled / 2.0).astype(chunk.data.dtype), chunk.timestamps, chunk.seq)


class Hoarder:
    """Keeps a copy of every chunk's data beyond what it returns."""

    def __init__(self) -> None:
        self.seen: list[npt.NDArray[Any]] = []

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Pass the stream through."""
        return info

    def step(self, chunk: Chunk) -> Chunk:
        """Keep a copy, return the chunk."""
        self.seen.append(chunk.data.copy())
        return chunk


class Growing:
    """Keeps one small record per call: below the per-call limit, found by the survivors."""

    def __init__(self) -> None:
        self.log: list[str] = []

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Pass the stream through."""
        return info

    def step(self, chunk: Chunk) -> Chunk:
        """Log the chunk's seq and first timestamp (about 80 bytes), return the chunk."""
        self.log.append(f"chunk {chunk.seq} starts at {float(chunk.timestamps[0]):.6f} s")
        return chunk
