"""Notch and high-pass filters: chunked output equals scipy over the whole signal."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, iirnotch, sosfilt, sosfilt_zi, tf2sos

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.highpass import HighPass, HighPassConfig
from decoders.notch import Notch, NotchConfig

SFREQ = 500.0


def _info(n_channels: int = 3, dtype: str = "float64", sfreq: float = SFREQ) -> StreamInfo:
    return StreamInfo(
        name="eeg",
        channel_names=tuple(f"c{i}" for i in range(n_channels)),
        sfreq=sfreq,
        dtype=dtype,
    )


def _reference(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    zi = sosfilt_zi(sos)[:, :, None] * x[0]
    y: np.ndarray = sosfilt(sos, x, axis=0, zi=zi)[0]
    return y


def _chunked(module: Notch | HighPass, x: np.ndarray, sizes: list[int]) -> np.ndarray:
    out, start = [], 0
    for size in sizes:
        got = module.step(Chunk(x[start : start + size], np.arange(start, start + size) / SFREQ))
        assert got is not None
        out.append(got.data)
        start += size
    assert start == len(x)
    return np.concatenate(out)


def _signal(n: int) -> np.ndarray:
    t = np.arange(n)[:, None] / SFREQ
    rng = np.random.default_rng(4)
    return (
        20
        + np.sin(2 * np.pi * 50 * t)
        + 0.5 * np.sin(2 * np.pi * 100 * t)
        + rng.normal(size=(n, 3))
    )


def test_notch_equals_scipy_and_removes_mains_and_harmonics() -> None:
    x = _signal(3000)
    module = Notch(NotchConfig(freq=50.0, q=30.0, harmonics=(1, 2)))
    assert module.prepare(_info()).dtype == "float64"
    got = _chunked(module, x, [1, 13, 486, 2500])
    sos = np.vstack([tf2sos(*iirnotch(f, 30.0, fs=SFREQ)) for f in (50.0, 100.0)])
    np.testing.assert_allclose(got, _reference(sos, x), rtol=1e-10, atol=1e-10)
    tail = got[1500:] - got[1500:].mean(axis=0)
    spectrum = np.abs(np.fft.rfft(tail, axis=0))
    freqs = np.fft.rfftfreq(len(tail), 1 / SFREQ)
    raw = np.abs(np.fft.rfft(x[1500:] - x[1500:].mean(axis=0), axis=0))
    for f in (50.0, 100.0):
        k = int(np.argmin(np.abs(freqs - f)))
        assert np.all(spectrum[k] < 0.05 * raw[k])


def test_highpass_equals_scipy_and_removes_the_offset() -> None:
    x = _signal(2000)
    module = HighPass(HighPassConfig(cutoff=1.0, order=2))
    assert module.prepare(_info(dtype="float32")).dtype == "float32"
    got = _chunked(module, x.astype(np.float32), [7, 993, 1000])
    assert got.dtype == np.float32
    sos = butter(2, 1.0, btype="highpass", fs=SFREQ, output="sos")
    expected = _reference(sos, x.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)
    assert np.all(np.abs(got[1000:].mean(axis=0)) < 0.1)  # the offset of 20 is gone


def test_outputs_are_fresh_arrays() -> None:
    module = HighPass(HighPassConfig(cutoff=1.0))
    module.prepare(_info())
    x = _signal(2)
    first = module.step(Chunk(x[:1], np.zeros(1)))
    assert first is not None
    kept = first.data.copy()
    module.step(Chunk(x[1:], np.ones(1)))
    np.testing.assert_array_equal(first.data, kept)


@pytest.mark.parametrize(
    ("cls", "table", "key", "match"),
    [
        (NotchConfig, {"freq": 0.0}, "freq", "> 0 Hz"),
        (NotchConfig, {"q": -1.0}, "q", "must be > 0"),
        (NotchConfig, {"harmonics": []}, "harmonics", "at least one"),
        (NotchConfig, {"harmonics": [1, 0]}, "harmonics[1]", ">= 1"),
        (NotchConfig, {"harmonics": [2, 2]}, "harmonics", "repeat"),
        (HighPassConfig, {"cutoff": -1.0}, "cutoff", "> 0 Hz"),
        (HighPassConfig, {"cutoff": 1.0, "order": 13}, "order", "between 1 and 12"),
        (HighPassConfig, {}, "cutoff", "missing"),
    ],
)
def test_bad_config_names_the_key(cls: type, table: dict, key: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        build_config(cls, table)
    assert err.value.key == key


def test_prepare_refuses_frequencies_above_nyquist_and_irregular_streams() -> None:
    with pytest.raises(ConfigError, match="Nyquist frequency \\(125 Hz\\)") as err:
        Notch(NotchConfig(harmonics=(1, 2, 3))).prepare(_info(sfreq=250.0))
    assert err.value.key == "harmonics[2]"
    with pytest.raises(ConfigError, match="Nyquist") as err:
        HighPass(HighPassConfig(cutoff=300.0)).prepare(_info())
    assert err.value.key == "cutoff"
    with pytest.raises(ConfigError, match="irregular"):
        HighPass(HighPassConfig(cutoff=1.0)).prepare(_info(sfreq=0.0))
