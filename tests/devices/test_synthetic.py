"""Tests of the synthetic device: contract, pacing by ordering, markers, signal content."""

from __future__ import annotations

from importlib.metadata import entry_points
from itertools import pairwise

import numpy as np
import pylsl
import pytest
from scipy import signal

from bci_bridge.contracts import Device, MarkerSource
from bci_bridge.errors import ConfigError
from devices.signals import MONTAGE, channel_names, electrode_position
from devices.synthetic import Synthetic, SyntheticConfig


def make(**kwargs: object) -> Synthetic:
    kwargs.setdefault("realtime", False)
    return Synthetic(SyntheticConfig(**kwargs))  # type: ignore[arg-type]


def read_n(dev: Synthetic, n_chunks: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    chunks = [dev.read(1.0) for _ in range(n_chunks)]
    assert all(c is not None for c in chunks)
    data = np.concatenate([c.data for c in chunks if c is not None])
    ts = np.concatenate([c.timestamps for c in chunks if c is not None])
    return data, ts, [c.seq for c in chunks if c is not None]


def mu_power(x: np.ndarray, sfreq: float) -> float:
    freqs, psd = signal.welch(x, fs=sfreq, nperseg=min(len(x), int(sfreq)))
    band = (freqs >= 9.0) & (freqs <= 13.0)
    return float(psd[band].mean())


# -- contract ------------------------------------------------------------------------------------


def test_is_a_registered_device_and_marker_source() -> None:
    (ep,) = [ep for ep in entry_points(group="bci_bridge.devices") if ep.name == "synthetic"]
    assert ep.load() is Synthetic
    dev = make()
    assert isinstance(dev, Device)
    assert isinstance(dev, MarkerSource)
    assert Synthetic.Config is SyntheticConfig


def test_info_describes_eeg_in_microvolts() -> None:
    info = make(n_channels=4, sfreq=500.0, name="Sim", seed=7).info()
    assert info.name == "Sim"
    assert info.type == "EEG"
    assert info.dtype == "float32"
    assert info.sfreq == 500.0
    assert info.channel_names == ("C3", "C4", "Cz", "FC3")
    assert info.channel_units == ("uV",) * 4
    assert info.channel_types == ("eeg",) * 4
    assert info.source_id == make(name="Sim", seed=7).info().source_id
    assert info.source_id != make(name="Sim", seed=8).info().source_id


def test_channel_names_start_with_sensorimotor_montage_then_numbered() -> None:
    names = channel_names(len(MONTAGE) + 3)
    assert names[:8] == ("C3", "C4", "Cz", "FC3", "FC4", "CP3", "CP4", "Pz")
    assert len(set(names)) == len(names)
    n = len(MONTAGE)
    assert names[n:] == (f"EEG{n + 1}", f"EEG{n + 2}", f"EEG{n + 3}")
    assert all(electrode_position(name) is not None for name in MONTAGE)
    assert electrode_position("C3") == (-2.0, 0.0)
    assert electrode_position("CP4") == (2.0, -1.0)
    assert electrode_position("EEG41") is None


def test_marker_info_is_an_irregular_label_stream() -> None:
    info = make(name="Sim").marker_info()
    assert info.name == "Sim-Markers"
    assert info.type == "Markers"
    assert info.channel_names == ("label",)
    assert info.sfreq == 0.0
    assert info.source_id != make(name="Sim").info().source_id


@pytest.mark.parametrize(("n_channels", "chunk_size"), [(1, 1), (8, 1), (8, 25), (70, 7)])
def test_chunks_have_contract_shapes_and_dtypes(n_channels: int, chunk_size: int) -> None:
    dev = make(n_channels=n_channels, chunk_size=chunk_size)
    dev.open()
    for seq in range(3):
        chunk = dev.read(0.0)
        assert chunk is not None
        assert chunk.seq == seq
        assert chunk.data.shape == (chunk_size, n_channels)
        assert chunk.data.dtype == np.float32
        assert chunk.data.flags.c_contiguous
        assert chunk.timestamps.shape == (chunk_size,)
        assert chunk.timestamps.dtype == np.float64
        assert np.isfinite(chunk.data).all()
    dev.close()


def test_read_before_open_raises() -> None:
    with pytest.raises(RuntimeError, match="not open"):
        make().read(0.0)


def test_close_twice_and_reopen_restarts_the_stream() -> None:
    dev = make(chunk_size=10)
    dev.open()
    first = dev.read(0.0)
    dev.close()
    dev.close()
    with pytest.raises(RuntimeError):
        dev.read(0.0)
    dev.open()
    again = dev.read(0.0)
    assert first is not None
    assert again is not None
    assert again.seq == 0
    np.testing.assert_array_equal(first.data, again.data)
    dev.close()


# -- timestamps and pacing -------------------------------------------------------------------------


def test_timestamps_step_by_one_sample_across_chunks() -> None:
    dev = make(sfreq=500.0, chunk_size=16)
    before = pylsl.local_clock()
    dev.open()
    _, ts, seqs = read_n(dev, 20)
    assert seqs == list(range(20))
    assert before <= ts[0] <= pylsl.local_clock()
    assert (np.diff(ts) > 0).all()
    np.testing.assert_allclose(np.diff(ts), 1 / 500.0, rtol=1e-6)
    np.testing.assert_allclose(ts, ts[0] + np.arange(ts.size) / 500.0, rtol=0, atol=1e-9)


def test_realtime_chunks_are_never_ahead_of_the_clock() -> None:
    dev = make(realtime=True, sfreq=1000.0, chunk_size=5)
    dev.open()
    last = -np.inf
    n_samples = 0
    for seq in range(20):
        chunk = dev.read(1.0)
        now = pylsl.local_clock()
        assert chunk is not None
        assert chunk.seq == seq
        # Whole chunks only (catch-up may return several at once), all already due.
        assert chunk.n_samples % 5 == 0
        assert chunk.timestamps[-1] <= now
        assert chunk.timestamps[0] > last
        last = chunk.timestamps[-1]
        n_samples += chunk.n_samples
    assert n_samples >= 100
    dev.close()


def test_realtime_read_returns_none_when_the_chunk_is_not_due() -> None:
    # The first chunk's last sample is due 100 s after open(): no read can return it now.
    dev = make(realtime=True, sfreq=100.0, chunk_size=10_000)
    dev.open()
    assert dev.read(0.0) is None
    assert dev.read(0.01) is None
    assert dev.read(-1.0) is None
    dev.close()


def test_realtime_catch_up_keeps_the_sample_clock() -> None:
    # Reads that fall behind get the overdue samples; timestamps still continue one by one.
    dev = make(realtime=True, sfreq=2000.0, chunk_size=4)
    dev.open()
    chunks = [dev.read(1.0) for _ in range(30)]
    ts = np.concatenate([c.timestamps for c in chunks if c is not None])
    assert ts[-1] <= pylsl.local_clock()
    np.testing.assert_allclose(np.diff(ts), 1 / 2000.0, rtol=1e-6)
    dev.close()


# -- determinism -----------------------------------------------------------------------------------


def test_output_does_not_depend_on_chunk_size() -> None:
    one = make(seed=3, chunk_size=1)
    many = make(seed=3, chunk_size=25)
    one.open()
    many.open()
    d1, t1, s1 = read_n(one, 500)
    d25, t25, s25 = read_n(many, 20)
    assert d1.shape == d25.shape == (500, 8)
    assert s1 == list(range(500))
    assert s25 == list(range(20))
    np.testing.assert_allclose(d1, d25, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(t1 - t1[0], t25 - t25[0], rtol=0, atol=1e-12)


def test_generate_continues_the_stream_read_delivers() -> None:
    reader = make(seed=5, chunk_size=50, n_channels=40)
    generator = make(seed=5, chunk_size=50, n_channels=40)
    reader.open()
    generator.open()
    data, _, _ = read_n(reader, 6)
    first, _, _ = generator.generate(123)
    rest, _, labels = generator.generate(300 - 123)
    np.testing.assert_allclose(np.concatenate([first, rest]), data, rtol=1e-5, atol=1e-4)
    assert labels.shape == (177,)


def test_same_seed_same_data_other_seed_other_data() -> None:
    a, b, c = make(seed=1), make(seed=1), make(seed=2)
    xa, _, la = a.generate(1000)
    xb, _, lb = b.generate(1000)
    xc, _, _ = c.generate(1000)
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(la, lb)
    assert not np.allclose(xa, xc)


def test_channels_are_not_copies_of_each_other() -> None:
    data, _, _ = make(n_channels=100, sfreq=500.0).generate(5000)
    corr = np.asarray(np.corrcoef(data.T))
    off_diagonal = corr[~np.eye(100, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.9


# -- markers and labels ----------------------------------------------------------------------------


def test_markers_mark_the_first_sample_of_each_trial() -> None:
    dev = make(sfreq=250.0, trial_s=1.0, chunk_size=25, classes=("a", "b"))
    dev.open()
    assert dev.read_markers() == []
    _, ts, _ = read_n(dev, 20)  # samples 0..499: trials 0 and 1
    markers = dev.read_markers()
    assert [t for _, t in markers] == [ts[0], ts[250]]
    assert [label for label, _ in markers] == [dev.label_at(0), dev.label_at(250)]
    assert dev.read_markers() == []
    chunk = dev.read(0.0)  # samples 500..524: trial 2 starts at 500
    assert chunk is not None
    assert dev.read_markers() == [(dev.label_at(500), chunk.timestamps[0])]
    read_n(dev, 9)  # up to sample 749: still trial 2
    assert dev.read_markers() == []


def test_labels_follow_the_trial_schedule() -> None:
    dev = make(sfreq=100.0, trial_s=0.5, classes=("rest", "left", "right"))
    dev.open()
    _, _, labels = dev.generate(5000)  # 100 trials of 50 samples
    assert labels.dtype.kind == "i"
    per_trial = labels.reshape(100, 50)
    assert (per_trial == per_trial[:, :1]).all()
    assert set(np.unique(labels)) == {0, 1, 2}
    counts = np.bincount(per_trial[:, 0], minlength=3)
    assert counts.min() >= 30  # balanced shuffled blocks
    for trial in (0, 37, 99):
        assert dev.label_at(trial * 50 + 10) == ("rest", "left", "right")[per_trial[trial, 0]]
    markers = dev.read_markers()
    assert len(markers) == 100
    assert [label for label, _ in markers] == [
        ("rest", "left", "right")[c] for c in per_trial[:, 0]
    ]
    assert all(t1 > t0 for (_, t0), (_, t1) in pairwise(markers))


def test_schedule_is_deterministic_from_the_seed() -> None:
    a, b, c = make(seed=11), make(seed=11), make(seed=12)
    labels_a = [a.label_at(i * 750) for i in range(40)]
    assert labels_a == [b.label_at(i * 750) for i in range(40)]
    assert labels_a != [c.label_at(i * 750) for i in range(40)]
    # Asking far ahead first does not change the schedule.
    assert b.label_at(10**6) == a.label_at(10**6)
    with pytest.raises(ValueError, match="sample_index"):
        make().label_at(-1)


# -- signal content --------------------------------------------------------------------------------


def test_amplitudes_are_eeg_like_microvolts() -> None:
    data, _, _ = make(n_channels=8).generate(250 * 20)
    rms = np.sqrt((data.astype(np.float64) ** 2).mean(axis=0))
    assert ((rms > 5.0) & (rms < 50.0)).all()


def test_spectrum_falls_with_frequency_and_has_a_posterior_alpha_peak() -> None:
    sfreq = 250.0
    dev = make(n_channels=10, sfreq=sfreq, mu_uv=0.0)  # channel 9 is Oz
    data, _, _ = dev.generate(int(sfreq * 60))
    freqs, psd = signal.welch(data.T, fs=sfreq, nperseg=int(sfreq * 2))
    cz = dev.info().channel_names.index("Cz")
    oz = dev.info().channel_names.index("Oz")

    def band(ch: int, lo: float, hi: float) -> float:
        return float(psd[ch, (freqs >= lo) & (freqs <= hi)].mean())

    # 1/f background: low frequencies carry more power than high ones.
    assert band(cz, 2, 4) > band(cz, 30, 40) * 5
    # Alpha: a peak near 10 Hz at Oz, well above its neighbours and above Cz.
    assert band(oz, 9, 11) > 3 * band(oz, 15, 20)
    assert band(oz, 9, 11) > 3 * band(cz, 9, 11)


def test_class_desynchronises_mu_over_the_opposite_hemisphere() -> None:
    sfreq = 250.0
    dev = make(sfreq=sfreq, trial_s=3.0, seed=0)
    dev.open()
    data, _, _ = read_n(dev, int(sfreq * 60))  # chunk_size 1: 60 s through read()
    names = dev.info().channel_names
    c3, c4 = names.index("C3"), names.index("C4")
    trial_len = int(sfreq * 3.0)
    power: dict[str, dict[str, list[float]]] = {"left": {}, "right": {}, "rest": {}}
    for start in range(0, data.shape[0], trial_len):
        label = dev.label_at(start)
        # Skip the first half second: the filters carry the previous trial's rhythm over.
        x = data[start + int(sfreq * 0.5) : start + trial_len]
        for ch_name, ch in (("C3", c3), ("C4", c4)):
            power[label].setdefault(ch_name, []).append(mu_power(x[:, ch], sfreq))
    mean = {k: {ch: float(np.mean(v)) for ch, v in chans.items()} for k, chans in power.items()}
    assert all(len(power[k]["C3"]) >= 4 for k in power)
    # "left": ERD over the right hemisphere (C4); "right": over the left (C3).
    assert mean["left"]["C4"] < 0.5 * mean["right"]["C4"]
    assert mean["right"]["C3"] < 0.5 * mean["left"]["C3"]
    assert mean["left"]["C4"] < 0.5 * mean["rest"]["C4"]
    assert mean["right"]["C3"] < 0.5 * mean["rest"]["C3"]
    # The unaffected side stays like rest.
    assert mean["left"]["C3"] > 0.6 * mean["rest"]["C3"]
    assert mean["right"]["C4"] > 0.6 * mean["rest"]["C4"]


def test_large_array_at_high_rate_has_the_requested_shape() -> None:
    dev = make(n_channels=1024, sfreq=30_000.0, chunk_size=30)
    dev.open()
    data, ts, _ = read_n(dev, 10)
    assert data.shape == (300, 1024)
    assert data.dtype == np.float32
    np.testing.assert_allclose(np.diff(ts), 1 / 30_000.0, rtol=1e-4)
    dev.close()


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("n_channels", 0),
        ("n_channels", -3),
        ("sfreq", 0.0),
        ("sfreq", -250.0),
        ("sfreq", float("nan")),
        ("chunk_size", 0),
        ("classes", ()),
        ("classes", ("left", "left")),
        ("classes", ("left", "")),
        ("trial_s", 0.0),
        ("seed", -1),
        ("name", ""),
        ("noise_uv", -1.0),
        ("alpha_uv", float("inf")),
        ("erd", 1.5),
    ],
)
def test_config_refuses_bad_values_naming_the_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError) as info:
        SyntheticConfig(**{key: value})  # type: ignore[arg-type]
    assert info.value.key == key


def test_config_defaults_are_valid_and_frozen() -> None:
    cfg = SyntheticConfig()
    assert cfg.n_channels == 8
    assert cfg.chunk_size == 1
    assert cfg.classes == ("rest", "left", "right")
    assert cfg.realtime is True
    with pytest.raises(AttributeError):
        cfg.n_channels = 4  # type: ignore[misc]


def test_low_rate_leaves_out_rhythms_but_still_streams() -> None:
    dev = make(sfreq=20.0, chunk_size=4)
    dev.open()
    data, _, _ = read_n(dev, 10)
    assert data.shape == (40, 8)
    assert np.isfinite(data).all()
