"""``bci-bridge run --check`` finds what can be found without data, one line per problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
import zmq
from onnx import TensorProto, helper, numpy_helper
from onnx_windows import OPSET, mean_linear_softmax

from bci_bridge.cli.main import main

CHANNELS = ["C3", "C4"]
MANIFEST = {
    "input": "window",
    "channel_names": CHANNELS,
    "sfreq": 250.0,
    "window_samples": 50,
    "classes": ["left", "right"],
}


def _pipeline(
    tmp_path: Path,
    *,
    model: str = "model.onnx",
    pick: tuple[str, ...] = ("C3", "C4"),
    high: float = 30.0,
    out: str | None = None,
    endpoint: str = "tcp://127.0.0.1:5555",
) -> Path:
    out = out or f"ipc://{tmp_path}/out"
    path = tmp_path / "p.toml"
    picks = ", ".join(f'"{c}"' for c in pick)
    path.write_text(
        f'[pipeline]\nname = "chk"\n'
        f'[[inputs]]\nname = "eeg"\nstream = "EEG"\nendpoint = "{endpoint}"\n'
        f'[[nodes]]\nname = "pick"\nmodule = "pick"\nparams = {{ channels = [{picks}] }}\n'
        f'[[nodes]]\nname = "bp"\nmodule = "bandpass"\nparams = {{ low = 8.0, high = {high} }}\n'
        f'[[nodes]]\nname = "clf"\nmodule = "onnx"\nparams = {{ model = "{model}" }}\n'
        f'[[outputs]]\nnode = "clf"\nzmq = "{out}"\n'
    )
    return path


def _check(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["run", str(path), "--check"])
    got = capsys.readouterr()
    return code, got.out, got.err


@pytest.fixture
def good_model(tmp_path: Path) -> Path:
    return mean_linear_softmax(tmp_path / "model.onnx", 2, 50, manifest=dict(MANIFEST))[0]


def _int64_model(path: Path) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
        "int_input",
        [helper.make_tensor_value_info("x", TensorProto.INT64, ["batch", 2, 50])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2, 50])],
    )
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    return path


def _features_model(path: Path, n_features: int) -> Path:
    w = np.ones((n_features, 2), np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "features",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(w, "w")],
    )
    onnx.save(helper.make_model(graph, opset_imports=OPSET), path)
    return path


def test_a_sound_pipeline_passes(tmp_path: Path, good_model: Path, capsys: Any) -> None:
    code, out, err = _check(_pipeline(tmp_path), capsys)
    assert (code, err) == (0, "")
    assert "ok" in out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "model file not found"),
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(b"\x08\x07garbage" * 10), "model"),
        (lambda p: mean_linear_softmax(p, 3, 50, manifest=dict(MANIFEST)), "takes 3 channels"),
        (lambda p: _int64_model(p), "tensor(int64)"),
    ],
    ids=["missing", "empty", "corrupt", "wrong-shape", "int64-input"],
)
def test_model_problems_are_found(tmp_path: Path, capsys: Any, make: Any, message: str) -> None:
    make(tmp_path / "model.onnx")
    code, out, err = _check(_pipeline(tmp_path), capsys)
    assert code == 2
    assert out == ""
    assert message in err
    assert "node 'clf'" in err
    assert str(tmp_path / "p.toml") in err
    assert len(err.strip().splitlines()) == 1


def test_a_channel_the_model_was_not_trained_on(
    tmp_path: Path, good_model: Path, capsys: Any
) -> None:
    code, _, err = _check(_pipeline(tmp_path, pick=("C3", "Cz")), capsys)
    assert code == 2
    assert "trained on channels ['C3', 'C4']" in err
    assert "missing ['C4']" in err


def test_a_band_above_nyquist_of_the_manifest_rate(
    tmp_path: Path, good_model: Path, capsys: Any
) -> None:
    code, _, err = _check(_pipeline(tmp_path, high=200.0), capsys)
    assert code == 2
    assert "node 'bp'" in err
    assert "Nyquist" in err


def test_a_model_with_an_unknown_stream_is_still_loaded(tmp_path: Path, capsys: Any) -> None:
    _int64_model(tmp_path / "f.onnx")
    path = tmp_path / "p.toml"
    path.write_text(
        '[pipeline]\nname = "chk"\n[[inputs]]\nstream = "EEG"\nendpoint = "ipc:///tmp/x"\n'
        '[[nodes]]\nname = "clf"\nmodule = "onnx"\nparams = { model = "f.onnx" }\n'
    )
    code, _, err = _check(path, capsys)
    assert code == 2
    assert "tensor(int64)" in err
    _features_model(tmp_path / "f.onnx", 4)
    assert _check(path, capsys)[0] == 0


def test_an_output_port_in_use_is_one_line(tmp_path: Path, good_model: Path, capsys: Any) -> None:
    ctx = zmq.Context.instance()
    taken = ctx.socket(zmq.PUB)
    try:
        port = taken.bind_to_random_port("tcp://127.0.0.1")
        endpoint = f"tcp://127.0.0.1:{port}"
        code, _, err = _check(_pipeline(tmp_path, out=endpoint), capsys)
    finally:
        taken.close(linger=0)
    assert code == 2
    assert f"cannot bind ZeroMQ endpoint {endpoint}" in err
    assert "outputs[0].zmq" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("field", "endpoint", "message"),
    [
        ("out", "tcp://127.0.0.1:99999", "bad port '99999'"),
        ("out", "tcp://192.0.2.1:5999", "no interface of this machine has that address"),
        ("endpoint", "tcp://127.0.0.1:0", "bad port '0'"),
        ("endpoint", "tcp://*:5555", "'*' binds every interface"),
    ],
    ids=["out-port", "out-host", "in-port", "in-wildcard"],
)
def test_bad_ports_and_hosts_are_named(
    tmp_path: Path, good_model: Path, capsys: Any, field: str, endpoint: str, message: str
) -> None:
    code, _, err = _check(_pipeline(tmp_path, **{field: endpoint}), capsys)
    assert code == 2
    assert endpoint in err
    assert message in err
