import numpy as np
import pytest

from decoders.ring import ChannelsFirstRing, WindowRing


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


@pytest.mark.parametrize(
    ("length", "n_channels", "sizes"),
    [
        (10, 3, [1] * 200),  # slides far past the end of the buffer: copied back many times
        (10, 3, [7, 7, 7, 7, 2] * 20),
        (10, 3, [3, 25, 1, 9, 0, 10, 11] * 10),
        (1, 4, [1, 3, 1, 1, 2]),
        (16, 1, [5, 15, 1, 16, 9] * 10),
        (250, 64, [1] * 600 + [249, 250, 251]),
    ],
)
def test_channels_first_window_is_the_last_samples_as_one_contiguous_view(
    length: int, n_channels: int, sizes: list[int]
) -> None:
    ring = ChannelsFirstRing(length, n_channels, dtype=np.float32)
    rng = np.random.default_rng(length)
    data = rng.normal(size=(sum(sizes), n_channels))
    start = 0
    for size in sizes:
        ring.push(data[start : start + size])
        start += size
        assert ring.full == (start >= length)
        window = ring.window
        assert window.shape == (n_channels, length)
        assert window.flags.c_contiguous
        assert window.dtype == np.float32
        expected = np.zeros((length, n_channels))
        last = data[max(0, start - length) : start]
        expected[length - len(last) :] = last
        np.testing.assert_array_equal(window, expected.T.astype(np.float32))


def test_channels_first_window_is_a_view_and_clear_forgets() -> None:
    ring = ChannelsFirstRing(4, 2)
    ring.push(np.ones((2, 2)))
    np.testing.assert_array_equal(ring.window, [[0, 0, 1, 1], [0, 0, 1, 1]])
    assert not ring.full
    view = ring.window
    ring.push(np.full((1, 2), 5.0))
    assert np.shares_memory(view, ring.window)
    np.testing.assert_array_equal(ring.window[:, -1], [5.0, 5.0])
    ring.clear()
    np.testing.assert_array_equal(ring.window, 0.0)
    assert not ring.full
    with pytest.raises(ValueError, match=">= 1"):
        ChannelsFirstRing(3, 0)
