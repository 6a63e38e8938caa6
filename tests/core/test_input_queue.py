"""The runtime's input queue: bounded in bytes, drops the oldest, counts what it drops."""

from __future__ import annotations

import numpy as np

from bci_bridge.stream import Chunk
from runtime.input_queue import CHUNK_OVERHEAD_BYTES, InputQueue


def chunk(i: int, n: int = 10) -> Chunk:
    data = np.full((n, 4), i, np.float32)
    return Chunk(data, 1000.0 + i + np.arange(n) / 1000.0, i)


SIZE = 10 * 4 * 4 + 10 * 8 + CHUNK_OVERHEAD_BYTES  # bytes counted per chunk(i)


def test_over_the_bound_the_oldest_go_and_are_counted() -> None:
    q = InputQueue(max_bytes=3 * SIZE)
    q.now_lsl = 2000.0
    for i in range(10):
        q.put(chunk(i))
    assert [c.seq for c in q.chunks] == [7, 8, 9]
    assert (q.chunks_dropped, q.samples_dropped) == (7, 70)
    assert q.nbytes == 3 * SIZE
    assert q.peak_bytes == 3 * SIZE
    # Every chunk's age at arrival is recorded, dropped or not: 2000 s - its newest stamp.
    assert q.arrival_age_ns.count == 10
    assert q.arrival_age_ns.max_ns == (2000.0 - (1000.0 + 0.009)) * 1e9
    taken = q.take()
    assert [c.seq for c in taken] == [7, 8, 9]
    assert q.wait_ns.count == 1  # once per batch
    assert q.nbytes == 0


def test_the_newest_chunk_is_kept_even_when_larger_than_the_bound() -> None:
    q = InputQueue(max_bytes=10)
    q.put(chunk(0))
    q.put(chunk(1))
    assert [c.seq for c in q.chunks] == [1]
    assert q.samples_dropped == 10


def test_take_a_few_and_discard_the_rest_as_unprocessed() -> None:
    q = InputQueue(max_bytes=1 << 20)
    for i in range(5):
        q.put(chunk(i, n=3))
    assert [c.seq for c in q.take(2)] == [0, 1]
    q.discard()
    assert q.samples_unprocessed == 9
    assert not q.chunks
    assert q.nbytes == 0
    s = q.summary()
    assert (s["samples_unprocessed"], s["samples_dropped_queue"], s["queue_chunks"]) == (9, 0, 0)
