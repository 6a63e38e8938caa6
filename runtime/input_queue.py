"""The application queue of one input: chunks received and not yet run, bounded in bytes.

The runtime drains what its sockets and inlets hold into these queues, then runs the nodes on
each queue's batch. A queue over its byte bound drops its OLDEST chunks (the newest data is
what a real-time decoder needs), counting their samples where they are dropped; what is still
queued when the runtime stops is counted as unprocessed. Two latency stages are measured here:
the age of each chunk at arrival (LSL clock when the runtime took it off its socket or inlet,
read once per turn of the loop, minus its newest sample's timestamp) and, once per batch, how
long the batch's oldest chunk waited in the queue before the nodes ran on it.
"""

from __future__ import annotations

import time
from collections import deque

from bci_bridge.stream import Chunk
from runtime.histogram import Histogram

__all__ = ["CHUNK_OVERHEAD_BYTES", "InputQueue"]

#: Bytes counted per queued chunk besides its arrays (the Python objects that hold them).
CHUNK_OVERHEAD_BYTES = 256


class InputQueue:
    """Chunks waiting for the nodes of one input, oldest first.

    Parameters
    ----------
    max_bytes : int
        Bound on the queued arrays plus :data:`CHUNK_OVERHEAD_BYTES` per chunk. The newest
        chunk is always kept, whatever its size.

    Attributes
    ----------
    now_lsl : float
        LSL clock (s) at receipt of the chunks being put; the runtime sets it once per receive.
    """

    __slots__ = (
        "_perf",
        "arrival_age_ns",
        "chunks",
        "chunks_dropped",
        "max_bytes",
        "nbytes",
        "now_lsl",
        "oldest_at",
        "peak_bytes",
        "samples_dropped",
        "samples_unprocessed",
        "wait_ns",
    )

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._perf = time.perf_counter_ns
        self.now_lsl = 0.0
        self.oldest_at = 0
        self.chunks: deque[Chunk] = deque()
        self.nbytes = 0
        self.peak_bytes = 0
        self.chunks_dropped = 0
        self.samples_dropped = 0
        self.samples_unprocessed = 0
        self.arrival_age_ns = Histogram()
        self.wait_ns = Histogram()

    def put(self, chunk: Chunk) -> None:
        """Queue a received chunk; drop (and count) the oldest ones while over the bound."""
        self.arrival_age_ns.add((self.now_lsl - float(chunk.timestamps[-1])) * 1e9)
        chunks = self.chunks
        if not chunks:
            self.oldest_at = self._perf()
        chunks.append(chunk)
        self.nbytes += _size(chunk)
        if self.nbytes > self.max_bytes:
            while self.nbytes > self.max_bytes and len(chunks) > 1:
                old = chunks.popleft()
                self.nbytes -= _size(old)
                self.chunks_dropped += 1
                self.samples_dropped += old.n_samples
        if self.nbytes > self.peak_bytes:
            self.peak_bytes = self.nbytes

    def take(self, limit: int | None = None) -> list[Chunk]:
        """Return the oldest ``limit`` chunks (default: all); record how long they waited."""
        now = self._perf()
        self.wait_ns.add(now - self.oldest_at)
        chunks = self.chunks
        if limit is None or limit >= len(chunks):
            out = list(chunks)
            chunks.clear()
            self.nbytes = 0
            return out
        out = [chunks.popleft() for _ in range(limit)]
        self.nbytes -= sum(_size(c) for c in out)
        return out  # the rest keeps the batch's receipt time: its wait is an upper bound

    def discard(self) -> None:
        """Count what is still queued as unprocessed and forget it (at stop)."""
        self.samples_unprocessed += sum(c.n_samples for c in self.chunks)
        self.chunks.clear()
        self.nbytes = 0

    def summary(self) -> dict[str, object]:
        """Return the queue's counters and latency stages as a JSON-ready dict."""
        return {
            "queue_chunks": len(self.chunks),
            "queue_bytes": self.nbytes,
            "queue_peak_bytes": self.peak_bytes,
            "queue_max_bytes": self.max_bytes,
            "chunks_dropped_queue": self.chunks_dropped,
            "samples_dropped_queue": self.samples_dropped,
            "samples_unprocessed": self.samples_unprocessed,
            "arrival_age_ms": self.arrival_age_ns.summary_ms(),
            "queue_wait_ms": self.wait_ns.summary_ms(),
        }


def _size(chunk: Chunk) -> int:
    return int(chunk.data.nbytes) + int(chunk.timestamps.nbytes) + CHUNK_OVERHEAD_BYTES
