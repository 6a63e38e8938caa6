import numpy as np
import pytest

from decoders.ring import WindowRing


@pytest.mark.parametrize(
    "sizes", [[1] * 30, [7, 7, 7, 7, 2], [3, 25, 1, 9], [40], [0, 4, 0, 11, 5]]
)
def test_window_is_the_last_samples_oldest_first(sizes: list[int]) -> None:
    length, n_channels = 10, 3
    ring = WindowRing(length, n_channels)
    data = np.arange(sum(sizes) * n_channels, dtype=np.float64).reshape(-1, n_channels)
    start = 0
    for size in sizes:
        ring.push(data[start : start + size])
        start += size
        assert ring.full == (start >= length)
        if ring.full:
            window = ring.window
            np.testing.assert_array_equal(window, data[start - length : start])
            assert window.flags.c_contiguous


def test_window_is_a_view_not_a_copy() -> None:
    ring = WindowRing(4, 2)
    ring.push(np.ones((6, 2)))
    first = ring.window
    ring.push(np.full((1, 2), 5.0))
    second = ring.window
    assert np.shares_memory(first, second)
    np.testing.assert_array_equal(second[-1], [5.0, 5.0])


def test_rows_not_pushed_are_zero_and_clear_forgets() -> None:
    ring = WindowRing(4, 1, dtype=np.float32)
    ring.push(np.array([[1.0], [2.0]]))
    assert not ring.full
    np.testing.assert_array_equal(ring.window[:, 0], [0.0, 0.0, 1.0, 2.0])
    assert ring.window.dtype == np.float32
    ring.clear()
    np.testing.assert_array_equal(ring.window, 0.0)
    assert not ring.full


def test_refuses_empty_shapes() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        WindowRing(0, 3)
