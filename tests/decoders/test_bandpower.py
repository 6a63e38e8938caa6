import numpy as np
import pytest
from scipy.signal import periodogram

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders import bandpower
from decoders.bandpower import BandPower, BandPowerConfig

SFREQ = 250.0
WINDOW, HOP = 250, 25  # samples, for the default window_s = 1.0 and hop_s = 0.1


def _info(n_channels: int = 2, sfreq: float = SFREQ) -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n_channels))
    return StreamInfo(name="eeg", channel_names=names, sfreq=sfreq)


def _sines(n: int, freqs: list[float], noise: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(n)[:, None] / SFREQ
    x = np.sin(2 * np.pi * np.array(freqs) * t) + rng.normal(0, noise, (n, len(freqs)))
    return np.ascontiguousarray(x, dtype=np.float32)


def _stamps(n: int) -> np.ndarray:
    return 1000.0 + np.arange(n) / SFREQ


def _feed(module: BandPower, x: np.ndarray, sizes: list[int]) -> list[Chunk]:
    stamps = _stamps(len(x))
    out, start = [], 0
    for seq, size in enumerate(sizes):
        got = module.step(Chunk(x[start : start + size], stamps[start : start + size], seq))
        if got is not None:
            out.append(got)
        start += size
    assert start == len(x)
    return out


def _split(n: int, size: int) -> list[int]:
    return [size] * (n // size) + ([n % size] if n % size else [])


def _expected_count(n: int, window: int = WINDOW, hop: int = HOP) -> int:
    return 0 if n < window else (n - window) // hop + 1


def test_output_info() -> None:
    module = BandPower(BandPowerConfig())
    out = module.prepare(_info(2))
    assert out.type == "Features"
    assert out.dtype == "float32"
    assert out.sfreq == pytest.approx(10.0)
    assert out.channel_names == ("ch0_mu", "ch0_beta", "ch1_mu", "ch1_beta")


def test_ten_hz_has_more_mu_than_beta_and_ordering_is_channel_major() -> None:
    module = BandPower(BandPowerConfig())
    module.prepare(_info(2))
    rows = np.concatenate([c.data for c in _feed(module, _sines(500, [10.0, 20.0]), [500])])
    assert rows.shape == (_expected_count(500), 4)
    assert rows.dtype == np.float32
    ch0_mu, ch0_beta, ch1_mu, ch1_beta = rows.T
    assert np.all(ch0_mu > ch0_beta + 1.0)  # log10: at least ten times the power
    assert np.all(ch1_beta > ch1_mu + 1.0)


@pytest.fixture(params=["band_dft", "fft"])
def method(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the band-limited DFT (the default here) and with the FFT."""
    if request.param == "fft":
        monkeypatch.setattr(bandpower, "_DFT_MAX_ENTRIES", 0)
    return str(request.param)


def test_values_match_scipy_periodogram(method: str) -> None:
    bands = ((8.0, 13.0), (13.0, 30.0), (1.0, 4.0))
    x = _sines(WINDOW + 3 * HOP, [10.0, 22.0, 3.0], noise=0.5) + np.float32(40.0)
    module = BandPower(BandPowerConfig(bands=bands, band_names=("a", "b", "c")))
    module.prepare(_info(3))
    assert (module._dft_t is None) == (method == "fft")
    rows = np.concatenate([c.data for c in _feed(module, x, [len(x)])])
    for k, row in enumerate(rows):
        end = WINDOW + k * HOP
        window = x[end - WINDOW : end].astype(np.float64)
        freqs, psd = periodogram(window, SFREQ, window="hann", detrend="constant", axis=0)
        expected = [
            np.log10(psd[(freqs >= lo) & (freqs <= hi)].mean(axis=0)) for lo, hi in bands
        ]  # (n_bands, n_channels)
        np.testing.assert_allclose(row, np.array(expected).T.ravel(), rtol=1e-5, atol=1e-5)


def test_dc_and_nyquist_bins_match_scipy_periodogram(method: str) -> None:
    bands = ((0.0, 2.0), (100.0, 125.0))
    x = _sines(WINDOW, [3.0, 120.0], noise=0.5) + np.float32(-7.0)
    module = BandPower(BandPowerConfig(bands=bands, band_names=("low", "top"), log=False))
    module.prepare(_info(2))
    row = _feed(module, x, [WINDOW])[0].data[0]
    freqs, psd = periodogram(x.astype(np.float64), SFREQ, window="hann", axis=0)
    expected = [psd[(freqs >= lo) & (freqs <= hi)].mean(axis=0) for lo, hi in bands]
    np.testing.assert_allclose(row, np.array(expected).T.ravel(), rtol=1e-5, atol=1e-9)


def test_log_false_gives_power() -> None:
    x = _sines(WINDOW, [10.0, 20.0])
    logged, linear = BandPower(BandPowerConfig()), BandPower(BandPowerConfig(log=False))
    logged.prepare(_info(2))
    linear.prepare(_info(2))
    a = _feed(logged, x, [WINDOW])[0].data
    b = _feed(linear, x, [WINDOW])[0].data
    assert np.all(b > 0)
    np.testing.assert_allclose(np.log10(b), a, rtol=1e-5)


@pytest.mark.parametrize("size", [1, 7, 25, 250, 1000])
def test_chunked_equals_one_shot(size: int) -> None:
    x = _sines(1000, [10.0, 20.0, 5.0])
    whole = BandPower(BandPowerConfig())
    whole.prepare(_info(3))
    expected = np.concatenate([c.data for c in _feed(whole, x, [len(x)])])
    chunked = BandPower(BandPowerConfig())
    chunked.prepare(_info(3))
    got = np.concatenate([c.data for c in _feed(chunked, x, _split(len(x), size))])
    assert got.shape == expected.shape == (_expected_count(1000), 6)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n", [0, 1, 249, 250, 251, 274, 275, 276, 999, 1000, 1001])
@pytest.mark.parametrize("size", [1, 13, 250])
def test_emission_count_is_exact(n: int, size: int) -> None:
    module = BandPower(BandPowerConfig())
    module.prepare(_info(1))
    chunks = _feed(module, _sines(n, [10.0]), _split(n, size))
    assert sum(c.n_samples for c in chunks) == _expected_count(n)


@pytest.mark.parametrize("sizes", [[1] * 400, [100, 150, 24, 1, 25, 100], [400], [3, 397]])
def test_timestamps_are_those_of_the_hop_boundaries(sizes: list[int]) -> None:
    module = BandPower(BandPowerConfig())
    module.prepare(_info(2))
    chunks = _feed(module, _sines(400, [10.0, 20.0]), sizes)
    got = np.concatenate([c.timestamps for c in chunks])
    boundaries = np.arange(WINDOW - 1, 400, HOP)
    np.testing.assert_array_equal(got, _stamps(400)[boundaries])
    assert all(c.timestamps.dtype == np.float64 for c in chunks)
    assert all(c.timestamps.shape == (c.n_samples,) for c in chunks)


def test_one_chunk_with_several_hops_gives_several_rows_and_its_seq() -> None:
    module = BandPower(BandPowerConfig())
    module.prepare(_info(2))
    x = _sines(400, [10.0, 20.0])
    assert module.step(Chunk(x[:200], _stamps(200), seq=7)) is None
    out = module.step(Chunk(x[200:], _stamps(400)[200:], seq=8))
    assert out is not None
    assert out.seq == 8
    assert out.data.shape == (_expected_count(400), 4)
    assert out.data.flags.c_contiguous


def test_hop_longer_than_window() -> None:
    config = BandPowerConfig(window_s=0.2, hop_s=0.5, bands=((8.0, 30.0),), band_names=("x",))
    module = BandPower(config)
    module.prepare(_info(1))
    chunks = _feed(module, _sines(1000, [10.0]), _split(1000, 7))
    got = np.concatenate([c.timestamps for c in chunks])
    np.testing.assert_array_equal(got, _stamps(1000)[np.arange(49, 1000, 125)])


def test_flat_input_gives_finite_values() -> None:
    module = BandPower(BandPowerConfig())
    module.prepare(_info(2))
    out = module.step(Chunk(np.zeros((WINDOW, 2), np.float32), _stamps(WINDOW), 0))
    assert out is not None
    assert np.all(np.isfinite(out.data))


def test_names_from_band_edges() -> None:
    config = BandPowerConfig(bands=((8.0, 12.5), (13.0, 30.0)), band_names=())
    out = BandPower(config).prepare(_info(1))
    assert out.channel_names == ("ch0_8-12.5Hz", "ch0_13-30Hz")


def test_band_above_nyquist_is_refused_at_prepare() -> None:
    config = BandPowerConfig(bands=((8.0, 13.0), (30.0, 130.0)))
    with pytest.raises(ConfigError, match="Nyquist frequency \\(125 Hz\\)") as info:
        BandPower(config).prepare(_info())
    assert info.value.key == "bands[1]"


def test_band_without_a_bin_is_refused_at_prepare() -> None:
    config = BandPowerConfig(bands=((10.2, 10.6), (13.0, 30.0)))
    with pytest.raises(ConfigError, match="no frequency bin") as info:
        BandPower(config).prepare(_info())
    assert info.value.key == "bands[0]"


def test_window_too_short_and_irregular_stream_are_refused() -> None:
    with pytest.raises(ConfigError) as info:
        BandPower(BandPowerConfig(window_s=0.001)).prepare(_info())
    assert info.value.key == "window_s"
    with pytest.raises(ConfigError, match="irregular"):
        BandPower(BandPowerConfig()).prepare(_info(sfreq=0.0))


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"bands": ()}, "bands"),
        ({"bands": ((13.0, 8.0), (13.0, 30.0))}, "bands[0]"),
        ({"bands": ((8.0, 13.0), (-1.0, 30.0))}, "bands[1]"),
        ({"bands": ((8.0, 13.0), (13.0, float("nan")))}, "bands[1]"),
        ({"bands": ((8.0, 13.0),)}, "band_names"),
        ({"band_names": ("mu", "mu")}, "band_names"),
        ({"band_names": ("mu", "")}, "band_names"),
        ({"window_s": 0.0}, "window_s"),
        ({"hop_s": -0.1}, "hop_s"),
        ({"budget_ms": -1.0}, "budget_ms"),
    ],
)
def test_config_refuses_bad_values(params: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        BandPowerConfig(**params)  # type: ignore[arg-type]
    assert info.value.key == key


def test_config_from_toml_values() -> None:
    config = build_config(BandPowerConfig, {"bands": [[8, 12]], "band_names": ["alpha"]})
    assert config.bands == ((8.0, 12.0),)
    assert config.band_names == ("alpha",)
