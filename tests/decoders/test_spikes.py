"""The spikes module: conformance, counts of planted spikes, the running threshold, its config."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfilt_zi

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.testing import check_module
from decoders.spikes import Spikes, SpikesConfig

SFREQ = 30000.0


def _info(n_channels: int = 8) -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n_channels))
    return StreamInfo(name="utah", channel_names=names, sfreq=SFREQ, dtype="float32")


def _noise(n: int, c: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((n, c)) * 10.0).astype(np.float32)


def test_spikes_passes_the_conformance_kit() -> None:
    data = _noise(3000, 6)  # 0.1 s: 100 bins of 1 ms
    check_module(Spikes, SpikesConfig(), _info(6), data, chunk_sizes=(1, 7, 30, 64))


def test_counts_planted_spikes_in_their_bins() -> None:
    c, n = 4, 30 * 400  # 400 ms
    data = _noise(n, c, seed=1)
    planted = {0: [200, 250, 300], 2: [390]}  # bin indices (ms)
    spike = -np.hanning(16) * 400.0  # a 0.5 ms negative deflection, ~40 x the noise
    for ch, bins in planted.items():
        for b in bins:
            data[b * 30 + 4 : b * 30 + 20, ch] += spike
    mod = Spikes(SpikesConfig())
    out_info = mod.prepare(_info(c))
    assert out_info.sfreq == pytest.approx(1000.0)
    assert (out_info.dtype, out_info.n_channels) == ("float32", c)
    ts = np.arange(n) / SFREQ
    rows, stamps = [], []
    for i in range(0, n, 30):
        out = mod.step(Chunk(data[i : i + 30], ts[i : i + 30], i // 30))
        assert out is not None
        assert out.data.shape == (1, c)
        rows.append(out.data[0])
        stamps.append(out.timestamps[0])
    counts = np.array(rows)
    assert counts.shape == (400, c)
    np.testing.assert_array_equal(stamps, ts[29::30])  # each bin's last sample
    for ch in range(c):
        hits = set(np.flatnonzero(counts[:, ch] > 0).tolist())
        want = set(planted.get(ch, []))
        assert want <= hits  # every planted spike is counted in its bin
        # Noise alone at -4.5 RMS: a handful of crossings over 400 bins at most.
        assert len(hits - want) <= 4


def _reference_counts(data: np.ndarray, cfg: SpikesConfig) -> np.ndarray:
    """Crossings per 1 ms bin by the definition, on the whole recording, shape (n_bins, c)."""
    sos = butter(cfg.order, [cfg.low, cfg.high], btype="bandpass", fs=SFREQ, output="sos")
    x = data.astype(np.float64)
    y, _ = sosfilt(sos, x, axis=0, zi=sosfilt_zi(sos)[:, :, None] * x[0])
    b = round(cfg.bin_s * SFREQ)
    alpha = b / (cfg.rms_tau_s * SFREQ)
    ms = None
    prev = np.zeros(data.shape[1], bool)
    rows = []
    for j in range(y.shape[0] // b):
        seg = y[j * b : (j + 1) * b]
        counts = np.zeros(data.shape[1])
        if ms is not None:
            thr = cfg.threshold * np.sqrt(ms)
            past = seg < thr if cfg.threshold < 0 else seg > thr
            before = np.vstack([prev, past[:-1]])
            counts = (past & ~before).sum(axis=0)
            prev = past[-1]
        mean_sq = (seg**2).sum(axis=0) / b
        ms = mean_sq if ms is None else ms + alpha * (mean_sq - ms)
        rows.append(counts)
    return np.array(rows)


@pytest.mark.parametrize("threshold", [-4.5, 2.0])
def test_counts_match_the_definition_however_chunked(threshold: float) -> None:
    # Chunks of one bin (each a whole chunk) and of odd sizes (bins split across chunks).
    c, n = 5, 30 * 200
    data = _noise(n, c, seed=2)
    for t in range(100, n - 20, 97):
        data[t : t + 16, t % c] += np.sign(threshold) * np.hanning(16) * 120.0
    cfg = SpikesConfig(threshold=threshold, rms_tau_s=0.02)
    want = _reference_counts(data, cfg)
    assert want[1:].sum() > 50  # crossings to count: the planted ones and some noise
    ts = np.arange(n) / SFREQ
    for sizes in ((30,), (7, 47, 1, 64)):
        mod = Spikes(cfg)
        mod.prepare(_info(c))
        rows, pos, k = [], 0, 0
        while pos < n:
            size = sizes[k % len(sizes)]
            out = mod.step(Chunk(data[pos : pos + size], ts[pos : pos + size], k))
            if out is not None:
                rows.append(out.data)
            pos, k = pos + size, k + 1
        got = np.concatenate(rows)
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def test_a_partial_bin_emits_nothing_until_complete() -> None:
    mod = Spikes(SpikesConfig())
    mod.prepare(_info(2))
    data = _noise(45, 2)
    ts = np.arange(45) / SFREQ
    first = mod.step(Chunk(data[:20], ts[:20], 0))
    second = mod.step(Chunk(data[20:], ts[20:], 1))
    assert first is None
    assert second is not None
    assert second.data.shape == (1, 2)
    assert second.timestamps[0] == ts[29]


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"low": 0.0}, "low"),
        ({"high": 100.0}, "high"),
        ({"order": 9}, "order"),
        ({"threshold": 0.0}, "threshold"),
        ({"bin_s": -1.0}, "bin_s"),
        ({"rms_tau_s": 0.0001}, "rms_tau_s"),
    ],
)
def test_bad_config_names_the_key(params: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        SpikesConfig(**params)  # type: ignore[arg-type]
    assert err.value.key == key


def test_refuses_a_band_above_nyquist() -> None:
    slow = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=1000.0, dtype="float32")
    with pytest.raises(ConfigError, match="Nyquist"):
        Spikes(SpikesConfig()).prepare(slow)
