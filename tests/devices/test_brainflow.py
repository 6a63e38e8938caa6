"""BrainFlow boards as devices: the synthetic board and the playback-file board, no hardware."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.params import build_config
from bci_bridge.testing import check_device
from devices.brainflow import BrainFlow, BrainFlowConfig

data_filter = pytest.importorskip("brainflow.data_filter")

SYNTH_NAMES = ("Fz", "C3", "Cz", "C4", "Pz", "PO7", "Oz", "PO8")
SFREQ = 250.0


def _playback_file(path: Path, n: int) -> np.ndarray:
    """A recording of the synthetic board's layout (32 rows) with known EEG values."""
    raw = np.zeros((32, n))
    raw[1:17] = np.arange(16 * n).reshape(16, n) * 0.25 - 100.0
    raw[30] = time.time() + np.arange(n) / SFREQ
    data_filter.DataFilter.write_file(raw, str(path), "w")
    return raw[1:17].T.astype(np.float32)


def test_synthetic_board_passes_the_device_kit() -> None:
    check_device(BrainFlow, BrainFlowConfig(board="SYNTHETIC_BOARD", name="bf-kit"))


def test_synthetic_board_names_units_lsl_clock_and_markers() -> None:
    dev = BrainFlow(build_config(BrainFlowConfig, {"board": -1, "name": "bf"}))
    info = dev.info()
    assert info.name == "bf"
    assert info.sfreq == SFREQ
    assert info.channel_names[:8] == SYNTH_NAMES
    assert info.n_channels == 16
    assert set(info.channel_units) == {"uV"}
    assert dev.marker_info().name == "bf-Markers"
    dev.open()
    try:
        dev.insert_marker(3.0)
        markers: list[tuple[str, float]] = []
        stamps = []
        for _ in range(100):  # until the marker has come through, one read at a time
            chunk = dev.read(1.0)
            if chunk is not None:
                stamps.append(chunk.timestamps)
            markers += dev.read_markers()
            if markers:
                break
        ts = np.concatenate(stamps)
    finally:
        dev.close()
    assert [label for label, _ in markers] == ["3"]
    assert markers[0][1] in ts  # on the timestamp of the sample that carries it
    assert np.all(np.diff(ts) > 0)
    # On the LSL clock, not BrainFlow's Unix time (which is ~1.7e9 s away).
    assert abs(ts[-1] - local_clock()) < 5.0


def test_playback_board_streams_the_file_sample_for_sample(tmp_path: Path) -> None:
    expected = _playback_file(tmp_path / "rec.csv", 125)
    dev = BrainFlow(
        BrainFlowConfig(
            board="PLAYBACK_FILE_BOARD",
            master_board="SYNTHETIC_BOARD",
            file=str(tmp_path / "rec.csv"),
        )
    )
    assert dev.info().name == "BrainFlow-PLAYBACK_FILE_BOARD"
    dev.open()
    chunks = []
    try:
        while (chunk := dev.read(1.0)) is not None:
            chunks.append(chunk)
    finally:
        dev.close()
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks]), expected)
    ts = np.concatenate([c.timestamps for c in chunks])
    assert np.all(np.diff(ts) > 0)
    for c in chunks:  # evenly spaced at the nominal rate within each chunk
        np.testing.assert_allclose(np.diff(c.timestamps), 1 / SFREQ, rtol=1e-9)
    assert [c.seq for c in chunks] == list(range(len(chunks)))


def test_timestamps_follow_a_drifting_jittery_board_clock_strictly_increasing() -> None:
    dev = BrainFlow(BrainFlowConfig(board="SYNTHETIC_BOARD"))
    rng = np.random.default_rng(0)
    true_rate = SFREQ * 1.001  # the board runs 0.1 % fast
    t = 100.0 + np.arange(25_000) / true_rate
    mapped = t + rng.normal(0, 0.002, t.size)  # 2 ms jitter on every sample
    out = np.concatenate([dev._timestamps(mapped[i : i + 10]) for i in range(0, t.size, 10)])
    assert np.all(np.diff(out) > 0)
    # After 100 s the board is 0.1 s ahead of the nominal rate; the stamps follow it to within
    # a sample period, without its jitter.
    assert abs(out[-1] - t[-1]) < 1 / SFREQ
    assert np.std(np.diff(out)) < 1e-4


def test_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match="unknown BrainFlow board 'NO_SUCH_BOARD'") as exc:
        BrainFlow(BrainFlowConfig(board="NO_SUCH_BOARD")).info()
    assert exc.value.key == "board"
    with pytest.raises(ConfigError, match="need master_board") as exc:
        BrainFlow(BrainFlowConfig(board="PLAYBACK_FILE_BOARD", file="x.csv")).info()
    assert exc.value.key == "master_board"
    with pytest.raises(ConfigError, match="must be 'eeg' or 'exg'"):
        BrainFlowConfig(channels="emg")


def test_bci_bridge_stream_brainflow_sends_every_sample_of_a_playback_file(
    tmp_path: Path, stream_name: str
) -> None:
    _playback_file(tmp_path / "rec.csv", 250)
    summary = tmp_path / "sent.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bci_bridge",
            "stream",
            "brainflow",
            "-p",
            "board=PLAYBACK_FILE_BOARD",
            "-p",
            "master_board=SYNTHETIC_BOARD",
            "-p",
            f"file={tmp_path / 'rec.csv'}",
            "--name",
            stream_name,
            "--duration",
            "2.5",
            "--summary",
            str(summary),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    sent = json.loads(summary.read_text())
    assert sent["stream"] == stream_name
    assert sent["samples_sent"] == 250
