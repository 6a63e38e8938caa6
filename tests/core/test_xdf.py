"""The XDF writer and reader: exact round trips through pyxdf and bci-bridge's own readers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import pyxdf

from bci_bridge.errors import ConfigError
from bci_bridge.record.xdf_writer import XDF_FORMATS, XdfWriter, footer_xml
from bci_bridge.recordings import read_raw, read_recording, read_trials
from devices.replay import Replay, ReplayConfig

SFREQ = 100.0


def _header(name: str, type_: str, n: int, sfreq: float, fmt: str, labels: bool = True) -> str:
    channels = ""
    if labels:
        channels = (
            "<channels>"
            + "".join(
                f"<channel><label>E{i}</label><unit>microvolts</unit><type>EEG</type></channel>"
                for i in range(n)
            )
            + "</channels>"
        )
    return (
        f'<?xml version="1.0"?><info><name>{name}</name><type>{type_}</type>'
        f"<channel_count>{n}</channel_count><nominal_srate>{sfreq}</nominal_srate>"
        f"<channel_format>{fmt}</channel_format><desc>{channels}</desc></info>"
    )


def _marker_header(name: str) -> str:
    return _header(name, "Markers", 1, 0, "string", labels=False)


def _write_session(
    path: Path, x: np.ndarray, ts: np.ndarray, markers: list[tuple[float, str]], offset: float
) -> None:
    """EEG in two flushes, markers from a source whose clock is ``offset`` s behind."""
    w = XdfWriter(path)
    w.stream_header(1, _header("EEG1", "EEG", x.shape[1], SFREQ, "float32"), "float32")
    w.stream_header(2, _marker_header("Cues"), "string")
    w.clock_offset(1, float(ts[0]), 0.0)
    w.clock_offset(1, float(ts[-1]), 0.0)
    w.clock_offset(2, float(ts[0]) - offset, offset)
    w.clock_offset(2, float(ts[-1]) - offset, offset)
    half = len(ts) // 2
    w.samples(1, ts[:half], x[:half])
    w.flush()
    w.samples(1, ts[half:], x[half:])
    w.samples(2, np.array([t - offset for t, _ in markers]), [[label] for _, label in markers])
    w.boundary()
    w.stream_footer(1, footer_xml(float(ts[0]), float(ts[-1]), len(ts)))
    w.close()
    w.close()  # twice is fine


@pytest.fixture
def session(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2000, 3)).astype(np.float32) * 20
    ts = 5000.0 + np.arange(2000) / SFREQ
    markers = [(ts[s], label) for s, label in [(100, "left"), (700, "right"), (1300, "left")]]
    path = tmp_path / "s.xdf"
    _write_session(path, x, ts, markers, offset=2.5)
    return path, x, ts


@pytest.mark.parametrize("fmt", sorted(XDF_FORMATS))
def test_every_numeric_format_round_trips_exactly_through_pyxdf(tmp_path: Path, fmt: str) -> None:
    dtype = np.dtype(XDF_FORMATS[fmt])
    rng = np.random.default_rng(2)
    if dtype.kind == "f":
        x = rng.standard_normal((300, 5)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        x = rng.integers(info.min, info.max, size=(300, 5), dtype=dtype, endpoint=True)
    ts = 123.456 + np.arange(300) / 250.0 + rng.uniform(0, 1e-4, 300)
    w = XdfWriter(tmp_path / "f.xdf")
    w.stream_header(7, _header("S", "EEG", 5, 250.0, fmt), fmt)
    for part in np.array_split(np.arange(300), 4):
        w.samples(7, ts[part], x[part])
    w.close()
    streams, header = pyxdf.load_xdf(
        str(tmp_path / "f.xdf"), synchronize_clocks=False, dejitter_timestamps=False
    )
    assert header["info"]["version"] == ["1.0"]
    (s,) = streams
    assert s["time_series"].dtype == dtype
    np.testing.assert_array_equal(s["time_series"], x)
    np.testing.assert_array_equal(s["time_stamps"], ts)


def test_string_samples_round_trip_with_unicode_and_long_text(tmp_path: Path) -> None:
    labels = [["left"], ["ré"], ["x" * 300], [""]]
    ts = np.array([1.0, 2.0, 3.0, 4.0])
    w = XdfWriter(tmp_path / "m.xdf")
    w.stream_header(1, _marker_header("M"), "string")
    w.samples(1, ts, labels)
    w.close()
    (s,), _ = pyxdf.load_xdf(str(tmp_path / "m.xdf"), dejitter_timestamps=False)
    assert s["time_series"] == labels
    np.testing.assert_array_equal(s["time_stamps"], ts)


def test_reader_keeps_values_labels_units_and_applies_clock_offsets(session) -> None:
    path, x, _ts = session
    rec = read_recording(path)
    np.testing.assert_array_equal(rec.data, x)
    assert rec.channel_names == ("E0", "E1", "E2")
    assert rec.channel_units == ("uV",) * 3
    assert rec.sfreq == SFREQ
    # The marker source's clock is 2.5 s behind: with the offsets applied, each marker lands
    # on the sample it was sent with.
    assert rec.events == ((100, "left"), (700, "right"), (1300, "left"))
    assert len(rec.sha256) == 64
    assert read_recording(path, stream="EEG1", markers="Cues").events == rec.events
    assert read_recording(path, stream="EEG").data.shape == x.shape  # by type


def test_trials_from_xdf_are_the_samples_after_each_marker(session) -> None:
    path, x, _ = session
    trials = read_trials(path, tmin=0.0, tmax=2.0, labels=["left"], channels=["E2", "E0"])
    assert trials.X.shape == (2, 2, 200)
    np.testing.assert_array_equal(trials.X[1], x[1300:1500][:, [2, 0]].T.astype(np.float64))
    assert list(trials.y) == ["left", "left"]


def test_replay_streams_an_xdf_stream_sample_for_sample(session) -> None:
    path, x, _ = session
    dev = Replay(ReplayConfig(path=str(path), stream="EEG1", speed=0, chunk_size=128))
    info = dev.info()
    assert info.channel_names == ("E0", "E1", "E2")
    assert info.channel_units == ("uV",) * 3
    dev.open()
    chunks = []
    while not dev.finished:
        chunk = dev.read(0.0)
        assert chunk is not None
        chunks.append(chunk.data)
    np.testing.assert_array_equal(np.concatenate(chunks), x)
    assert [label for label, _ in dev.read_markers()] == ["left", "right", "left"]


def test_mne_raw_is_in_volts_with_annotations(session) -> None:
    path, x, _ = session
    raw = read_raw(path)
    assert raw.ch_names == ["E0", "E1", "E2"]
    np.testing.assert_allclose(raw.get_data(), x.T.astype(np.float64) * 1e-6, rtol=1e-12)
    assert list(raw.annotations.description) == ["left", "right", "left"]
    np.testing.assert_allclose(raw.annotations.onset, [1.0, 7.0, 13.0])


def test_file_cut_anywhere_reads_back_up_to_its_last_whole_chunk(tmp_path: Path) -> None:
    """What a killed writer can leave: every prefix of the file reads as a prefix of the data."""
    x = np.arange(400 * 2, dtype=np.float32).reshape(400, 2)
    ts = np.arange(400) / SFREQ
    path = tmp_path / "full.xdf"
    w = XdfWriter(path)
    w.stream_header(1, _header("EEG1", "EEG", 2, SFREQ, "float32"), "float32")
    w.flush()
    ends = [path.stat().st_size]  # file size after each flush
    for part in np.array_split(np.arange(400), 8):
        w.samples(1, ts[part], x[part])
        w.flush()
        ends.append(path.stat().st_size)
    w.close()
    blob = path.read_bytes()
    cut = tmp_path / "cut.xdf"
    for size in range(ends[0], len(blob) + 1, 37):
        cut.write_bytes(blob[:size])
        (s,), _ = pyxdf.load_xdf(str(cut), synchronize_clocks=False, dejitter_timestamps=False)
        n = len(s["time_stamps"])
        whole_flushes = sum(1 for e in ends[1:] if e <= size)
        assert n == 50 * whole_flushes
        np.testing.assert_array_equal(s["time_series"], x[:n])


def test_reader_errors_name_the_file_and_key(tmp_path: Path, session) -> None:
    path, _, _ = session
    with pytest.raises(ConfigError, match="no numeric stream named or typed 'EMG'") as exc:
        read_recording(path, stream="EMG")
    assert exc.value.key == "stream"
    assert exc.value.file == str(path)
    with pytest.raises(ConfigError, match="0 marker streams named 'Nope'") as exc:
        read_recording(path, markers="Nope")
    assert exc.value.key == "markers"
    two = tmp_path / "two.xdf"
    w = XdfWriter(two)
    for i in (1, 2):
        w.stream_header(i, _header(f"A{i}", "EEG", 1, SFREQ, "float32"), "float32")
        w.samples(i, np.arange(3.0), np.zeros((3, 1), np.float32))
    w.close()
    with pytest.raises(ConfigError, match="2 streams match; name one") as exc:
        read_recording(two)
    assert read_recording(two, stream="A2").channel_names == ("E0",)
    with pytest.raises(ConfigError, match=r"selects a stream in an \.xdf file"):
        read_recording(tmp_path / "x.npz", stream="EEG1")
    bad = tmp_path / "bad.xdf"
    bad.write_bytes(b"not an xdf file at all")
    with pytest.raises(ConfigError, match="pyxdf cannot read it") as exc:
        read_recording(bad)
    assert exc.value.file == str(bad)


def test_importing_the_readers_and_recorder_imports_neither_pyxdf_nor_mne() -> None:
    code = (
        "import sys, bci_bridge.recordings, bci_bridge.record.recorder; "
        "sys.exit(int('mne' in sys.modules) + 2 * int('pyxdf' in sys.modules))"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
