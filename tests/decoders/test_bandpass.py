import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfilt_zi

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders import bandpass
from decoders.bandpass import BandPass, BandPassConfig

SFREQ = 250.0


def _info(n_channels: int = 4, sfreq: float = SFREQ, dtype: str = "float32") -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n_channels))
    return StreamInfo(name="eeg", channel_names=names, sfreq=sfreq, dtype=dtype)


def _reference(x: np.ndarray, low: float, high: float, order: int = 4) -> np.ndarray:
    """The whole-signal answer: sosfilt started in steady state for the first sample."""
    sos = butter(order, [low, high], btype="bandpass", fs=SFREQ, output="sos")
    zi = sosfilt_zi(sos)[:, :, None] * x[0]
    y: np.ndarray = sosfilt(sos, x, axis=0, zi=zi)[0]
    return y


def _run(module: BandPass, x: np.ndarray, sizes: list[int]) -> list[Chunk]:
    out, start = [], 0
    for seq, size in enumerate(sizes):
        stamps = 100.0 + np.arange(start, start + size) / SFREQ
        got = module.step(Chunk(x[start : start + size], stamps, seq))
        assert got is not None
        out.append(got)
        start += size
    assert start == len(x)
    return out


def _signal(n: int, n_channels: int, dtype: str = "float64") -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(n)[:, None] / SFREQ
    x = 50.0 + 20 * np.sin(2 * np.pi * 10 * t) + rng.normal(0, 5, (n, n_channels))
    return np.ascontiguousarray(x, dtype=dtype)


@pytest.mark.parametrize("size", [1, 7, 250])
def test_chunked_equals_whole_signal_float64(size: int) -> None:
    x = _signal(1000, 4)
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(dtype="float64"))
    sizes = [size] * (len(x) // size) + ([len(x) % size] if len(x) % size else [])
    got = np.concatenate([c.data for c in _run(module, x, sizes)])
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, _reference(x, 8.0, 30.0), rtol=1e-10, atol=1e-10)


def test_irregular_chunk_sizes_and_chunks_longer_than_a_second() -> None:
    x = _signal(2000, 3)
    sizes = [1, 600, 3, 250, 17, 900, 229]
    module = BandPass(BandPassConfig(low=1.0, high=40.0, order=2))
    module.prepare(_info(3, dtype="float64"))
    got = np.concatenate([c.data for c in _run(module, x, sizes)])
    np.testing.assert_allclose(got, _reference(x, 1.0, 40.0, order=2), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("size", [1, 7, 250])
def test_float32_in_float32_out(size: int) -> None:
    x = _signal(500, 8, dtype="float32")
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    out_info = module.prepare(_info(8))
    assert out_info.dtype == "float32"
    assert out_info.channel_names == _info(8).channel_names
    sizes = [size] * (len(x) // size) + ([len(x) % size] if len(x) % size else [])
    chunks = _run(module, x, sizes)
    got = np.concatenate([c.data for c in chunks])
    assert got.dtype == np.float32
    assert all(c.data.flags.c_contiguous for c in chunks)
    expected = _reference(x.astype(np.float64), 8.0, 30.0)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


def test_public_scipy_fallback_gives_the_same_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _signal(300, 2)
    monkeypatch.setattr(bandpass, "_KERNEL", bandpass._sosfilt_public)
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2, dtype="float64"))
    got = np.concatenate([c.data for c in _run(module, x, [1, 7, 42, 250])])
    np.testing.assert_allclose(got, _reference(x, 8.0, 30.0), rtol=1e-10, atol=1e-10)


def test_passes_the_band_and_stops_the_rest() -> None:
    t = np.arange(5000)[:, None] / SFREQ
    inside = np.sin(2 * np.pi * 15 * t)
    outside = np.sin(2 * np.pi * 1 * t) + np.sin(2 * np.pi * 60 * t)
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2, dtype="float64"))
    got = _run(module, np.hstack([inside, outside]), [5000])[0].data[2500:]
    assert np.std(got[:, 0]) > 0.65  # a unit sine has std 0.707
    assert np.std(got[:, 1]) < 0.05


def test_timestamps_and_seq_are_the_inputs() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2))
    stamps = np.array([5.0, 5.004, 5.008])
    out = module.step(Chunk(np.ones((3, 2), np.float32), stamps, seq=41))
    assert out is not None
    assert out.seq == 41
    np.testing.assert_array_equal(out.timestamps, stamps)
    assert out.data.shape == (3, 2)


def test_steady_state_start_has_no_transient_on_a_constant() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2, dtype="float64"))
    out = module.step(Chunk(np.full((100, 2), 1000.0), np.arange(100.0), 0))
    assert out is not None
    np.testing.assert_allclose(out.data, 0.0, atol=1e-8)


def test_empty_chunk_gives_none_and_keeps_state() -> None:
    x = _signal(20, 2)
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2, dtype="float64"))
    first = module.step(Chunk(x[:10], np.arange(10.0), 0))
    assert module.step(Chunk(x[:0], np.arange(0.0), 1)) is None
    second = module.step(Chunk(x[10:], np.arange(10.0, 20.0), 2))
    assert first is not None
    assert second is not None
    got = np.concatenate([first.data, second.data])
    np.testing.assert_allclose(got, _reference(x, 8.0, 30.0), rtol=1e-10, atol=1e-10)


def test_integer_input_gives_float32() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    assert module.prepare(_info(2, dtype="int16")).dtype == "float32"
    out = module.step(Chunk(np.ones((4, 2), np.int16), np.arange(4.0), 0))
    assert out is not None
    assert out.data.dtype == np.float32


def test_prepare_again_restarts_the_filter() -> None:
    x = _signal(100, 2)
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2, dtype="float64"))
    module.step(Chunk(x[::-1].copy(), np.arange(100.0), 0))
    module.prepare(_info(2, dtype="float64"))
    got = _run(module, x, [100])[0].data
    np.testing.assert_allclose(got, _reference(x, 8.0, 30.0), rtol=1e-10, atol=1e-10)


def test_wrong_channel_count_is_refused() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(4))
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        module.step(Chunk(np.ones((3, 1), np.float32), np.arange(3.0), 0))


def test_high_at_or_above_nyquist_is_refused_at_prepare() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=125.0))
    with pytest.raises(ConfigError, match="Nyquist frequency \\(125 Hz\\)") as info:
        module.prepare(_info())
    assert info.value.key == "high"


def test_irregular_stream_is_refused_at_prepare() -> None:
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    with pytest.raises(ConfigError, match="irregular"):
        module.prepare(_info(sfreq=0.0))


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"low": 0.0, "high": 30.0}, "low"),
        ({"low": -1.0, "high": 30.0}, "low"),
        ({"low": 30.0, "high": 8.0}, "low"),
        ({"low": 8.0, "high": 8.0}, "low"),
        ({"low": 8.0, "high": float("inf")}, "high"),
        ({"low": 8.0, "high": 30.0, "order": 0}, "order"),
        ({"low": 8.0, "high": 30.0, "order": 13}, "order"),
        ({"low": 8.0, "high": 30.0, "budget_ms": 0.0}, "budget_ms"),
        ({"low": 8.0, "high": 30.0, "budget_ms": float("nan")}, "budget_ms"),
    ],
)
def test_config_refuses_bad_values(params: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        BandPassConfig(**params)  # type: ignore[arg-type]
    assert info.value.key == key


def test_config_from_toml_values() -> None:
    config = build_config(BandPassConfig, {"low": 8, "high": 30, "order": 2})
    assert config == BandPassConfig(low=8.0, high=30.0, order=2)
    with pytest.raises(ConfigError) as info:
        build_config(BandPassConfig, {"low": 8, "high": 30, "order": 2.5})
    assert info.value.key == "order"


@pytest.mark.parametrize("size", [1, 5])
def test_outputs_do_not_alias_each_other(size: int) -> None:
    x = _signal(3 * size, 2, dtype="float32")
    module = BandPass(BandPassConfig(low=8.0, high=30.0))
    module.prepare(_info(2))
    first = module.step(Chunk(x[:size], np.arange(size, dtype=np.float64), 0))
    assert first is not None
    kept = first.data.copy()
    module.step(Chunk(x[size : 2 * size], np.arange(size, dtype=np.float64), 1))
    np.testing.assert_array_equal(first.data, kept)
    assert not np.shares_memory(first.data, x)
