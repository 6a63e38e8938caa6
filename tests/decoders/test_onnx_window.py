"""Window ONNX models (batch, n_channels, n_samples): both triggers, and the manifest checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx_windows import mean_linear_softmax, reference
from test_onnx_module import _linear_softmax

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.manifest import KEY, read_manifest, write_manifest
from decoders.onnx_module import OnnxModule, OnnxModuleConfig

CHANNELS = ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")
SFREQ = 256.0
W = 64


def _info(channels: tuple[str, ...] = CHANNELS, sfreq: float = SFREQ) -> StreamInfo:
    return StreamInfo(name="scp", channel_names=channels, sfreq=sfreq, dtype="float64")


def _manifest(**changes: Any) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "version": 1,
        "input": "window",
        "channel_names": list(CHANNELS),
        "sfreq": SFREQ,
        "window_samples": W,
        "filters": [{"module": "bandpass", "params": {"low": 0.5, "high": 30.0}}],
        "classes": ["negativity", "positivity"],
        "trained_on": {"source": "test", "sha256": "0" * 64, "n_trials": 10},
        "scores": {"accuracy": 0.5},
        "created_by": "bci-bridge train",
    }
    manifest.update(changes)
    return manifest


def _data(n: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.random.default_rng(7).normal(size=(n, len(CHANNELS))) * 20
    return x, 50.0 + np.arange(n) / SFREQ


def _prepared(path: Path, info: StreamInfo | None = None, **params: Any) -> OnnxModule:
    module = OnnxModule(build_config(OnnxModuleConfig, {"model": str(path), **params}))
    module.prepare(info or _info())
    return module


def test_chunk_trigger_runs_once_per_epoch_and_matches_numpy(tmp_path: Path) -> None:
    path, w = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W, manifest=_manifest())
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    out_info = module.prepare(_info())
    assert out_info.channel_names == ("negativity", "positivity")
    assert out_info.sfreq == 0.0
    assert out_info.type == "Decoder"
    x, t = _data(5 * W)
    rows, stamps = [], []
    for start, size in [(0, W), (W, 3 * W), (4 * W, W)]:  # one chunk holds three epochs
        got = module.step(Chunk(x[start : start + size], t[start : start + size], 0))
        assert got is not None
        assert got.data.shape == (size // W, 2)
        rows.append(got.data)
        stamps.append(got.timestamps)
    epochs = x.reshape(5, W, len(CHANNELS))
    np.testing.assert_allclose(np.concatenate(rows), reference(epochs, w), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate(stamps), t[W - 1 :: W])


def test_chunk_trigger_refuses_a_chunk_that_is_not_whole_epochs(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W)
    module = _prepared(path)
    x, t = _data(W + 1)
    with pytest.raises(
        ValueError, match=f"epochs of {W} samples per chunk, got a chunk of {W + 1}"
    ):
        module.step(Chunk(x, t, 0))


def test_hop_trigger_runs_every_hop_on_the_latest_window(tmp_path: Path) -> None:
    path, w = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W)
    hop = 8
    module = OnnxModule(OnnxModuleConfig(model=str(path), trigger="hop", hop=hop))
    out_info = module.prepare(_info())
    assert out_info.sfreq == SFREQ / hop
    n = 4 * W + 3
    x, t = _data(n)
    rows, stamps, start = [], [], 0
    for size in [1, 30, 100, 5, 128]:  # 264 - 1 samples in uneven chunks
        size = min(size, n - start)
        got = module.step(Chunk(x[start : start + size], t[start : start + size], 0))
        if got is not None:
            rows.append(got.data)
            stamps.append(got.timestamps)
        start += size
    ends = np.arange(W, start + 1, hop)  # a row each time a window ends on a hop boundary
    windows = np.stack([x[e - W : e] for e in ends])
    got_rows = np.concatenate(rows)
    assert got_rows.shape == (len(ends), 2)
    np.testing.assert_allclose(got_rows, reference(windows, w), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(np.concatenate(stamps), t[ends - 1])


def test_window_model_input_checks(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "c.onnx", 5, W)
    with pytest.raises(ModelError, match="takes 5 channels per window"):
        _prepared(path)
    path, _ = mean_linear_softmax(tmp_path / "d.onnx", len(CHANNELS), W, window_dim="time")
    with pytest.raises(ModelError, match="needs a fixed number of samples"):
        _prepared(path)
    path, _ = mean_linear_softmax(tmp_path / "b.onnx", len(CHANNELS), W, batch=4)
    with pytest.raises(ModelError, match="fixed batch size of 4"):
        _prepared(path)
    path, _ = mean_linear_softmax(tmp_path / "one.onnx", len(CHANNELS), W, batch=1)
    assert _prepared(path).step(Chunk(*_data(W), 0)) is not None  # batch 1 is fine


def test_hop_trigger_needs_a_window_model(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "rows.onnx", n_features=len(CHANNELS))
    with pytest.raises(ConfigError, match="trigger = 'hop' applies to window models") as err:
        _prepared(path, trigger="hop", hop=4)
    assert err.value.key == "trigger"
    with pytest.raises(ConfigError, match="applies only with trigger = 'hop'"):
        build_config(OnnxModuleConfig, {"model": "m.onnx", "hop": 4})
    with pytest.raises(ConfigError, match="must be one of 'chunk', 'hop'"):
        build_config(OnnxModuleConfig, {"model": "m.onnx", "trigger": "marker"})


# --- Manifest ------------------------------------------------------------------------------


def _refusal(tmp_path: Path, manifest: dict[str, Any], info: StreamInfo | None = None) -> str:
    path, _ = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W)
    model = onnx.load(str(path))
    entry = model.metadata_props.add()  # written raw: write_manifest would refuse bad ones
    entry.key = KEY
    entry.value = json.dumps(manifest)
    onnx.save(model, path)
    with pytest.raises(ModelError) as err:
        _prepared(path, info)
    assert err.value.key == "model"
    return str(err.value)


def test_manifest_refuses_reordered_missing_and_extra_channels(tmp_path: Path) -> None:
    swapped = (CHANNELS[1], CHANNELS[0], *CHANNELS[2:])
    message = _refusal(tmp_path, _manifest(), _info(swapped))
    assert "same channels in another order" in message
    assert str(list(CHANNELS)) in message
    assert str(list(swapped)) in message
    other = (*CHANNELS[:5], "Pz")
    message = _refusal(tmp_path, _manifest(), _info(other))
    assert "missing ['C4p']" in message
    assert "extra ['Pz']" in message


def test_manifest_refuses_a_wrong_rate_window_or_version(tmp_path: Path) -> None:
    message = _refusal(tmp_path, _manifest(), _info(sfreq=250.0))
    assert "trained at 256 Hz" in message
    assert "sampled at 250 Hz" in message
    message = _refusal(tmp_path, _manifest(window_samples=896))
    assert "windows of 896 samples" in message
    assert f"takes {W}" in message
    assert "reads version 1 only" in _refusal(tmp_path, _manifest(version=2))
    assert "manifest says input 'features'" in _refusal(tmp_path, _manifest(input="features"))
    assert "lists 3 classes" in _refusal(tmp_path, _manifest(classes=["a", "b", "c"]))
    assert "'sfreq' must be a sample rate" in _refusal(tmp_path, _manifest(sfreq="fast"))


def test_manifest_not_json_is_refused(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W)
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, {KEY: "{not json"})
    onnx.save(model, path)
    with pytest.raises(ModelError, match="is not valid JSON"):
        _prepared(path)
    with pytest.raises(ModelError, match="is not valid JSON"):
        read_manifest(path)


def test_class_names_from_config_override_the_manifest(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W, manifest=_manifest())
    module = OnnxModule(OnnxModuleConfig(model=str(path), class_names=("neg", "pos")))
    assert module.prepare(_info()).channel_names == ("neg", "pos")


def test_features_model_manifest_checks_names_but_not_rate(tmp_path: Path) -> None:
    features = ("f0", "f1", "f2")
    path, _, _ = _linear_softmax(tmp_path / "f.onnx", n_features=3, n_classes=2)
    model = onnx.load(str(path))
    manifest = {"input": "features", "channel_names": list(features), "classes": ["l", "r"]}
    write_manifest(model, {**manifest, "sfreq": 999.0})
    onnx.save(model, path)
    info = StreamInfo(name="feat", channel_names=features, sfreq=10.0)
    assert _prepared(path, info).prepare(info).channel_names == ("l", "r")
    renamed = StreamInfo(name="feat", channel_names=("f0", "f1", "x"), sfreq=10.0)
    with pytest.raises(ModelError, match=r"missing \['f2'\]; extra \['x'\]"):
        _prepared(path, renamed)


def test_read_and_write_manifest_round_trip(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W)
    assert read_manifest(path) is None
    model = onnx.load(str(path))
    write_manifest(model, _manifest(scores={"accuracy": 0.8}))
    write_manifest(model, _manifest())  # replaces, does not add a second entry
    assert [p.key for p in model.metadata_props].count(KEY) == 1
    onnx.save(model, path)
    assert read_manifest(path) == _manifest()
    assert read_manifest(model) == _manifest()
    with pytest.raises(ModelError, match="'channel_names' repeats names"):
        write_manifest(model, _manifest(channel_names=["a", "a"]))
    with pytest.raises(ModelError, match="'window_samples' must be a whole number"):
        write_manifest(model, _manifest(window_samples=None))


def test_models_without_a_manifest_keep_their_metadata_classes(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "old.onnx", n_features=3, n_classes=2, classes="a,b")
    info = StreamInfo(name="feat", channel_names=("x", "y", "z"), sfreq=10.0)
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    assert module.prepare(info).channel_names == ("a", "b")


def _flatten_linear(path: Path, n_channels: int, n_samples: int) -> tuple[Path, np.ndarray]:
    """Save x (batch, C, W) reshaped to (batch, C * W) @ w: every sample has its own weight."""
    w = np.random.default_rng(11).normal(size=(n_channels * n_samples, 2)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Reshape", ["x", "shape"], ["flat"]),
            helper.make_node("MatMul", ["flat", "w"], ["y"]),
        ],
        "flatten_linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_channels, n_samples])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [
            numpy_helper.from_array(np.array([0, -1], dtype=np.int64), "shape"),
            numpy_helper.from_array(w, "w"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path, w


def _flatten_reference(windows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Numpy answer for windows (n, W, C): each window channels first, flattened, @ w."""
    flat = (
        windows.astype(np.float32).astype(np.float64).transpose(0, 2, 1).reshape(len(windows), -1)
    )
    out: np.ndarray = flat @ w
    return out


@pytest.mark.parametrize(
    ("hop", "sizes"),
    [(1, [W] + [1] * 700), (1, [3, 70, 1, 1, 200, 9, 1] * 6), (5, [W + 2] + [7, 1, 13] * 30)],
    ids=["sample-by-sample", "uneven", "hop5"],
)
def test_hop_trigger_feeds_every_sample_in_order(
    tmp_path: Path, hop: int, sizes: list[int]
) -> None:
    """An order-sensitive model over a long run: the ring wraps round many times."""
    path, w = _flatten_linear(tmp_path / "flat.onnx", len(CHANNELS), W)
    module = _prepared(path, trigger="hop", hop=hop)
    x, t = _data(sum(sizes))
    rows, stamps, start = [], [], 0
    for size in sizes:
        got = module.step(Chunk(x[start : start + size], t[start : start + size], 0))
        start += size
        if got is not None:
            rows.append(got.data)
            stamps.append(got.timestamps)
    # Checked after every step has run: no output was overwritten by a later step.
    ends = np.arange(W, start + 1, hop)
    got_rows = np.concatenate(rows)
    assert got_rows.shape == (len(ends), 2)
    expected = _flatten_reference(np.stack([x[e - W : e] for e in ends]), w)
    np.testing.assert_allclose(got_rows, expected, rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(np.concatenate(stamps), t[ends - 1])


def test_chunk_trigger_feeds_each_epoch_channels_first_in_order(tmp_path: Path) -> None:
    path, w = _flatten_linear(tmp_path / "flat.onnx", len(CHANNELS), W)
    module = _prepared(path)
    x, t = _data(6 * W)
    got = [module.step(Chunk(x[a:b], t[a:b], 0)) for a, b in [(0, W), (W, 4 * W), (4 * W, 6 * W)]]
    rows = np.concatenate([g.data for g in got if g is not None])
    expected = _flatten_reference(x.reshape(6, W, len(CHANNELS)), w)
    np.testing.assert_allclose(rows, expected, rtol=1e-4, atol=1e-3)
