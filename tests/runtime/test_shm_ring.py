"""The shared-memory ring that feeds isolated workers: exact round trips, wrap, back-pressure."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.shm_ring import ShmRing


def _chunk(rng: np.random.Generator, n: int, nch: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.standard_normal((n, nch)).astype(np.float32), rng.random(n) * 1e5


def test_chunks_round_trip_exactly_through_another_mapping_across_the_wrap() -> None:
    rng = np.random.default_rng(1)
    ring = ShmRing.create(100, 3, np.float32)
    other = ShmRing.attach(ring.spec)  # a second mapping, as a worker process has
    try:
        for size in [30, 30, 30, 17, 1, 64, 100, 7, 0, 99]:
            data, stamps = _chunk(rng, size, 3)
            start = ring.write(data, stamps)
            assert start is not None
            got, got_ts = other.read(start, size)
            np.testing.assert_array_equal(got, data)
            np.testing.assert_array_equal(got_ts, stamps)
            assert got.flags.c_contiguous
            other.release(start + size)
            assert ring.used == 0
            del got, got_ts
    finally:
        other.close()
        ring.close()


def test_a_full_ring_refuses_until_the_reader_releases() -> None:
    rng = np.random.default_rng(2)
    ring = ShmRing.create(10, 2, "<f8")
    try:
        a = _chunk(rng, 6, 2)
        b = _chunk(rng, 6, 2)
        first = ring.write(*a)
        assert first == 0
        assert ring.write(*b) is None  # 4 rows left at the end, and the start is in use
        ring.release(6)
        second = ring.write(*b)
        assert second == 10  # skipped the 4-row tail to stay contiguous
        got, got_ts = ring.read(second, 6)
        np.testing.assert_array_equal(got, b[0])
        np.testing.assert_array_equal(got_ts, b[1])
        assert ring.used == 10
        del got, got_ts
    finally:
        ring.close()


def test_misfit_chunks_are_refused_with_a_clear_error() -> None:
    ring = ShmRing.create(4, 2, np.float32)
    try:
        with pytest.raises(ValueError, match="does not fit a ring of 4"):
            ring.write(np.zeros((5, 2), np.float32), np.zeros(5))
        with pytest.raises(ValueError, match="does not match"):
            ring.write(np.zeros((2, 3), np.float32), np.zeros(2))
    finally:
        ring.close()
