"""``bci-bridge record`` on real LSL outlets: killed with SIGKILL, or stopped cleanly."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pylsl
import pytest
import pyxdf

from bci_bridge.cli.main import main
from bci_bridge.recordings import read_raw, read_recording, read_trials
from devices.replay import Replay, ReplayConfig

CLI = [sys.executable, "-m", "bci_bridge"]
SFREQ = 100.0
N_CH = 4
LABELS = ("C3", "Cz", "C4", "Pz")
MARK_EVERY = 50  # one marker on every 50th sample


class Source:
    """A real LSL outlet of known samples, plus its marker outlet."""

    def __init__(self, name: str) -> None:
        info = pylsl.StreamInfo(name, "EEG", N_CH, SFREQ, pylsl.cf_float32, f"{name}-src")
        channels = info.desc().append_child("channels")
        for label in LABELS:
            ch = channels.append_child("channel")
            ch.append_child_value("label", label)
            ch.append_child_value("unit", "microvolts")
        self.outlet = pylsl.StreamOutlet(info)
        markers = pylsl.StreamInfo(f"{name}-Markers", "Markers", 1, 0, pylsl.cf_string, name)
        self.marker_outlet = pylsl.StreamOutlet(markers)
        rng = np.random.default_rng(5)
        self.data = (rng.standard_normal((2000, N_CH)) * 30).astype(np.float32)
        self.t0 = pylsl.local_clock()
        self.timestamps = self.t0 + np.arange(2000) / SFREQ
        self.sent = 0

    def push(self, n: int) -> None:
        """Push the next ``n`` samples with their own timestamps, and their markers."""
        for i in range(self.sent, self.sent + n):
            self.outlet.push_sample(self.data[i], float(self.timestamps[i]))
            if i % MARK_EVERY == 0:
                label = "left" if (i // MARK_EVERY) % 2 == 0 else "right"
                self.marker_outlet.push_sample([label], float(self.timestamps[i]))
        self.sent += n

    def expected_events(self, n: int) -> list[tuple[int, str]]:
        return [
            (i, "left" if (i // MARK_EVERY) % 2 == 0 else "right") for i in range(0, n, MARK_EVERY)
        ]


@pytest.fixture
def source(stream_name: str) -> Iterator[Source]:
    src = Source(stream_name)
    yield src
    del src.outlet, src.marker_outlet


def _start_recorder(name: str, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*CLI, "record", name, f"{name}-Markers", "--out", str(out), "--flush-interval", "0.2"],
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )


def _samples_on_disk(path: Path) -> int:
    """Samples of the data stream the file holds now (0 before its header is there)."""
    if not path.exists():
        return 0
    streams, _ = pyxdf.load_xdf(
        io.BytesIO(path.read_bytes()), synchronize_clocks=False, dejitter_timestamps=False
    )
    return max((len(s["time_stamps"]) for s in streams if s["info"]["type"] == ["EEG"]), default=0)


def _wait_for(predicate, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _connect(source: Source, recorder: subprocess.Popen[bytes]) -> None:
    for outlet in (source.outlet, source.marker_outlet):
        _wait_for(
            lambda o=outlet: o.wait_for_consumers(0.1) or recorder.poll() is not None,
            "the recorder to connect",
        )
    assert recorder.poll() is None, recorder.stderr.read().decode() if recorder.stderr else ""


def test_record_killed_with_sigkill_reads_back_up_to_the_last_flush(
    tmp_path: Path, stream_name: str, source: Source
) -> None:
    out = tmp_path / "session.xdf"
    recorder = _start_recorder(stream_name, out)
    try:
        _connect(source, recorder)
        source.push(600)
        _wait_for(lambda: _samples_on_disk(out) >= 600, "600 samples on disk")
        source.push(400)  # some of these may still be in memory when the recorder dies
        recorder.send_signal(signal.SIGKILL)
        assert recorder.wait(20) == -signal.SIGKILL
    finally:
        if recorder.poll() is None:
            recorder.kill()
        if recorder.stderr:
            recorder.stderr.close()

    # pyxdf: exactly the first n samples sent, with their timestamps, no footer.
    streams, _ = pyxdf.load_xdf(str(out), synchronize_clocks=False, dejitter_timestamps=False)
    (eeg,) = [s for s in streams if s["info"]["name"] == [stream_name]]
    n = len(eeg["time_stamps"])
    assert 600 <= n <= source.sent
    np.testing.assert_array_equal(eeg["time_series"], source.data[:n])
    np.testing.assert_array_equal(eeg["time_stamps"], source.timestamps[:n])
    assert "footer" not in eeg

    # bci-bridge's readers: the recording, its events, trials, replay and MNE.
    rec = read_recording(out, stream=stream_name)
    np.testing.assert_array_equal(rec.data, source.data[:n])
    assert rec.channel_names == LABELS
    assert rec.channel_units == ("uV",) * N_CH
    expected = source.expected_events(n)
    # The marker stream is flushed with the data; its last marker may not have made it.
    assert list(rec.events) == expected[: len(rec.events)]
    assert len(rec.events) >= len(source.expected_events(600)) - 1

    trials = read_trials(out, stream=stream_name, tmin=0.0, tmax=0.5, labels=["left"])
    first_left = next(s for s, label in rec.events if label == "left")
    np.testing.assert_array_equal(
        trials.X[0], source.data[first_left : first_left + 50].T.astype(np.float64)
    )

    replay = Replay(ReplayConfig(path=str(out), stream=stream_name, speed=0, chunk_size=64))
    replay.open()
    got = []
    while not replay.finished:
        chunk = replay.read(0.0)
        assert chunk is not None
        got.append(chunk.data)
    np.testing.assert_array_equal(np.concatenate(got), source.data[:n])

    raw = read_raw(out, stream=stream_name)
    assert raw.n_times == n
    assert list(raw.annotations.description) == [label for _, label in rec.events]


def test_record_stopped_by_ctrl_c_writes_every_sample_and_the_footers(
    tmp_path: Path, stream_name: str, source: Source
) -> None:
    out = tmp_path / "clean.xdf"
    recorder = _start_recorder(stream_name, out)
    try:
        _connect(source, recorder)
        source.push(300)
        _wait_for(lambda: _samples_on_disk(out) >= 300, "300 samples on disk")
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(20) == 0
        assert recorder.stderr is not None
        err = recorder.stderr.read().decode()
    finally:
        if recorder.poll() is None:
            recorder.kill()
        if recorder.stderr:
            recorder.stderr.close()
    assert f"{stream_name} 300 samples" in err
    streams, _ = pyxdf.load_xdf(str(out), dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    eeg = by_name[stream_name]
    np.testing.assert_array_equal(eeg["time_series"], source.data[:300])
    footer = eeg["footer"]["info"]
    assert footer["sample_count"] == ["300"]
    assert float(footer["first_timestamp"][0]) == source.timestamps[0]
    assert float(footer["last_timestamp"][0]) == source.timestamps[299]
    markers = by_name[f"{stream_name}-Markers"]
    assert [m[0] for m in markers["time_series"]] == [
        label for _, label in source.expected_events(300)
    ]
    assert markers["footer"]["info"]["sample_count"] == ["6"]


def test_record_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["record", "--help"])
    assert exc.value.code == 0
    assert "usage: bci-bridge record" in capsys.readouterr().out
