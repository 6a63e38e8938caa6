"""A pipeline's ``[record]`` table: inputs and node outputs into one XDF file, as they pass."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
import pyxdf
from helpers import Worker

from bci_bridge.config import parse_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import to_lsl
from bci_bridge.recordings import read_recording
from bci_bridge.stream import MARKER_DTYPE, StreamInfo
from runtime.runner import Runtime, RuntimeOptions


def _doc(stream_name: str, record: dict[str, object]) -> dict[str, object]:
    return {
        "pipeline": {"name": "rec"},
        "inputs": [
            {"name": "eeg", "lsl": stream_name},
            {"name": "cues", "lsl": f"{stream_name}-cues"},
        ],
        "nodes": [{"name": "pick", "module": "pick", "params": {"channels": ["C4", "C3"]}}],
        "record": record,
    }


def test_pipeline_records_its_inputs_and_node_outputs(tmp_path: Path, stream_name: str) -> None:
    info = StreamInfo(name=stream_name, channel_names=("C3", "Cz", "C4"), sfreq=100.0)
    cues = StreamInfo(
        name=f"{stream_name}-cues",
        type="Markers",
        channel_names=("label",),
        sfreq=0.0,
        dtype=MARKER_DTYPE,
    )
    outlet = pylsl.StreamOutlet(to_lsl(info))
    cue_outlet = pylsl.StreamOutlet(to_lsl(cues))
    out = tmp_path / "run.xdf"
    pipeline = parse_pipeline(
        _doc(stream_name, {"out": "run.xdf", "nodes": ["pick"], "flush_interval": 0.2}),
        base_dir=tmp_path,
    )
    runtime = Runtime(pipeline, RuntimeOptions(exit_on_eos=True, info_timeout_s=20))
    worker = Worker(runtime.run)
    worker.start()
    assert outlet.wait_for_consumers(20)
    assert cue_outlet.wait_for_consumers(20)
    rng = np.random.default_rng(3)
    data = rng.standard_normal((400, 3)).astype(np.float32)
    stamps = 50.0 + np.arange(400) / 100.0
    cue_outlet.push_sample(["left"], float(stamps[100]))
    cue_outlet.push_sample(["right"], float(stamps[300]))
    for k in range(0, 400, 4):
        outlet.push_chunk(data[k : k + 4], float(stamps[k + 3]))
    deadline = time.monotonic() + 20
    while runtime.inputs["eeg"].samples_received < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    del outlet, cue_outlet  # the sources go away: with exit_on_eos, that ends the run
    summary = worker.finish()
    assert summary["samples_lost"] == 0
    assert runtime.recording is not None
    assert runtime.recording.samples() == {"eeg": 400, "cues": 2, "pick": 400}

    streams, _ = pyxdf.load_xdf(str(out), synchronize_clocks=False, dejitter_timestamps=False)
    by_name = {s["info"]["name"][0]: s for s in streams}
    assert set(by_name) == {stream_name, f"{stream_name}-cues", "rec.pick"}
    np.testing.assert_array_equal(by_name[stream_name]["time_series"], data)
    np.testing.assert_allclose(by_name[stream_name]["time_stamps"], stamps, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(by_name["rec.pick"]["time_series"], data[:, [2, 0]])
    assert by_name[f"{stream_name}-cues"]["time_series"] == [["left"], ["right"]]
    assert by_name["rec.pick"]["footer"]["info"]["sample_count"] == ["400"]
    # bci-bridge's own reader picks the input stream and places the cues on their samples.
    rec = read_recording(out, stream=stream_name)
    assert rec.events == ((100, "left"), (300, "right"))
    assert rec.channel_names == ("C3", "Cz", "C4")


@pytest.mark.parametrize(
    ("record", "key", "message"),
    [
        ({"out": "x.csv"}, "record.out", "must name an .xdf file"),
        ({"out": "x.xdf", "nodes": ["nope"]}, "record.nodes", "'nope' is not one of"),
        ({"out": "x.xdf", "inputs": [], "nodes": []}, "record", "records nothing"),
        ({"out": "x.xdf", "flush_interval": 2}, "record.flush_interval", r"in \(0, 1\]"),
        ({"out": "x.xdf", "every": 1}, "record.every", "unknown key"),
    ],
)
def test_record_table_errors_name_the_key(
    stream_name: str, record: dict[str, object], key: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as exc:
        parse_pipeline(_doc(stream_name, record), source="p.toml")
    assert exc.value.key == key
