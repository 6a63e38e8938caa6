from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.onnx_module import OnnxModule, OnnxModuleConfig

OPSET = [helper.make_opsetid("", 17)]


def _info(n_channels: int = 8, dtype: str = "float32") -> StreamInfo:
    names = tuple(f"f{i}" for i in range(n_channels))
    return StreamInfo(name="features", channel_names=names, sfreq=10.0, dtype=dtype)


def _linear_softmax(
    path: Path,
    n_features: int = 8,
    n_classes: int = 3,
    *,
    classes: str | None = None,
    input_shape: list[int | str] | None = None,
    output_type: int = TensorProto.FLOAT,
) -> tuple[Path, np.ndarray, np.ndarray]:
    """Save softmax(x @ w + b) as an ONNX model; return its path, w and b."""
    rng = np.random.default_rng(3)
    w = rng.normal(size=(n_features, n_classes)).astype(np.float32)
    b = rng.normal(size=n_classes).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["z"]),
        helper.make_node("Softmax", ["z"], ["p"], axis=-1),
        helper.make_node("Cast", ["p"], ["y"], to=output_type),
    ]
    shape: list[int | str] = input_shape or ["batch", n_features]
    graph = helper.make_graph(
        nodes,
        "linear_softmax",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", output_type, ["batch", n_classes])],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    if classes is not None:
        helper.set_model_props(model, {"classes": classes})
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path, w, b


def _softmax(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    z = x.astype(np.float64) @ w + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return p


def _save(path: Path, graph: onnx.GraphProto) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET)
    onnx.save(model, path)
    return path


def _refusal(path: Path, info: StreamInfo | None = None, **params: object) -> ModelError:
    module = OnnxModule(OnnxModuleConfig(model=str(path), **params))  # type: ignore[arg-type]
    with pytest.raises(ModelError) as caught:
        module.prepare(info or _info())
    return caught.value


def test_runs_the_model_and_matches_numpy(tmp_path: Path) -> None:
    path, w, b = _linear_softmax(tmp_path / "m.onnx")
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    out_info = module.prepare(_info())
    assert out_info.type == "Decoder"
    assert out_info.channel_names == ("out0", "out1", "out2")
    assert out_info.sfreq == 10.0
    assert out_info.dtype == "float32"
    x = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    stamps = 50.0 + np.arange(20) / 10.0
    rows, start = [], 0
    for seq, size in enumerate([1, 7, 12]):
        out = module.step(Chunk(x[start : start + size], stamps[start : start + size], seq))
        assert out is not None
        assert out.seq == seq
        assert out.data.shape == (size, 3)
        assert out.data.dtype == np.float32
        np.testing.assert_array_equal(out.timestamps, stamps[start : start + size])
        rows.append(out.data)
        start += size
    np.testing.assert_allclose(np.concatenate(rows), _softmax(x, w, b), rtol=1e-5, atol=1e-6)


def test_chunks_of_changing_lengths_rebind_the_buffers(tmp_path: Path) -> None:
    """Rows are bound once per length: longer, shorter and repeated lengths stay exact."""
    path, w, b = _linear_softmax(tmp_path / "m.onnx")
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    module.prepare(_info())
    x = np.random.default_rng(2).normal(size=(400, 8)).astype(np.float32)
    outputs, start = [], 0
    for n in (3, 100, 3, 3, 1, 200, 90):
        out = module.step(Chunk(x[start : start + n], np.arange(start, start + n, 1.0), 0))
        assert out is not None
        assert out.data.shape == (n, 3)
        outputs.append(out.data)
        start += n
    # Every output kept its values after later steps (fresh arrays, not the bound buffer).
    np.testing.assert_allclose(np.concatenate(outputs), _softmax(x, w, b), rtol=1e-5, atol=1e-6)


def test_class_names_from_metadata_and_from_config(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "m.onnx", classes="left, right,rest")
    from_meta = OnnxModule(OnnxModuleConfig(model=str(path))).prepare(_info())
    assert from_meta.channel_names == ("left", "right", "rest")
    given = OnnxModule(OnnxModuleConfig(model=str(path), class_names=("a", "b", "c")))
    assert given.prepare(_info()).channel_names == ("a", "b", "c")


def test_float64_stream_and_double_output_are_converted(tmp_path: Path) -> None:
    path, w, b = _linear_softmax(tmp_path / "m.onnx", 4, 2, output_type=TensorProto.DOUBLE)
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    module.prepare(_info(4, dtype="float64"))
    x = np.random.default_rng(1).normal(size=(5, 4))
    out = module.step(Chunk(x, np.arange(5.0), 0))
    assert out is not None
    assert out.data.dtype == np.float32
    np.testing.assert_allclose(out.data, _softmax(x.astype(np.float32), w, b), rtol=1e-5)


def test_fixed_feature_dimension_input_and_output_names(tmp_path: Path) -> None:
    path, w, b = _linear_softmax(tmp_path / "m.onnx", 3, 2, input_shape=["n", 3])
    module = OnnxModule(OnnxModuleConfig(model=str(path), input_name="x", output_name="y"))
    module.prepare(_info(3))
    assert module.step(Chunk(np.zeros((0, 3), np.float32), np.zeros(0), 0)) is None
    x = np.ones((2, 3), np.float32)
    out = module.step(Chunk(x, np.arange(2.0), 0))
    assert out is not None
    np.testing.assert_allclose(out.data, _softmax(x, w, b), rtol=1e-5)


def test_refuses_a_missing_file(tmp_path: Path) -> None:
    err = _refusal(tmp_path / "nope.onnx")
    assert "not found" in str(err)
    assert "nope.onnx" in str(err)
    assert err.key == "model"
    assert isinstance(err, ConfigError)


def test_refuses_garbage_bytes(tmp_path: Path) -> None:
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"this is not a model \x00\x01\x02\xff" * 20)
    assert "not an ONNX model" in str(_refusal(path))


def test_refuses_a_model_that_fails_the_checker(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["undefined"], ["y"])],
        "broken",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
    )
    assert "fails the ONNX checker" in str(_refusal(_save(tmp_path / "b.onnx", graph)))


def test_refuses_a_wrong_feature_count(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "m.onnx", 8, 3)
    message = str(_refusal(path, _info(4)))
    assert "takes 8 features" in message
    assert "has 4 channels" in message


def test_refuses_an_integer_input(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT)],
        "ints",
        [helper.make_tensor_value_info("x", TensorProto.INT64, ["n", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
    )
    message = str(_refusal(_save(tmp_path / "i.onnx", graph)))
    assert "tensor(int64)" in message
    assert "float32" in message


def test_refuses_a_rank_4_input(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "rank4",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8, 2, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8, 2, 1])],
    )
    message = str(_refusal(_save(tmp_path / "r.onnx", graph)))
    assert "rank 4" in message


def test_refuses_a_fixed_batch_size(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "m.onnx", input_shape=[1, 8])
    assert "fixed batch size of 1" in str(_refusal(path))


def test_refuses_ambiguous_and_unknown_inputs(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["n", 8]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["n", 8]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 8])],
    )
    path = _save(tmp_path / "two.onnx", graph)
    err = _refusal(path)
    assert "2 inputs ('a', 'b')" in str(err)
    assert err.key == "input_name"
    assert "cannot feed" in str(_refusal(path, input_name="a"))
    single, _, _ = _linear_softmax(tmp_path / "m.onnx")
    err = _refusal(single, input_name="features")
    assert "no input 'features'" in str(err)
    assert err.key == "input_name"


def test_refuses_an_output_of_rank_1(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
        "rank1",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])],
    )
    message = str(_refusal(_save(tmp_path / "o.onnx", graph)))
    assert "output 'y'" in message
    assert "rank 1" in message


def test_refuses_unknown_output_and_wrong_class_names(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "m.onnx", classes="a,b")
    err = _refusal(path, output_name="probabilities")
    assert err.key == "output_name"
    assert "outputs: 'y'" in str(err)
    assert "metadata 'classes' lists 2 names" in str(_refusal(path))
    err = _refusal(path, class_names=("l", "r"))
    assert err.key == "class_names"
    assert "emits 3 columns" in str(err)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"model": ""}, "model"),
        ({"model": "m.onnx", "threads": 0}, "threads"),
        ({"model": "m.onnx", "class_names": ("a", "a")}, "class_names"),
        ({"model": "m.onnx", "budget_ms": 0.0}, "budget_ms"),
    ],
)
def test_config_refuses_bad_values(params: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        OnnxModuleConfig(**params)  # type: ignore[arg-type]
    assert info.value.key == key


def test_config_from_toml_values() -> None:
    config = build_config(OnnxModuleConfig, {"model": "m.onnx", "class_names": ["a", "b"]})
    assert config.class_names == ("a", "b")
    with pytest.raises(ConfigError) as info:
        build_config(OnnxModuleConfig, {})
    assert info.value.key == "model"


def test_converted_input_of_growing_chunks_gives_independent_outputs(tmp_path: Path) -> None:
    path, w, b = _linear_softmax(tmp_path / "m.onnx", 4, 2)
    module = OnnxModule(OnnxModuleConfig(model=str(path)))
    module.prepare(_info(4, dtype="float64"))
    x = np.random.default_rng(2).normal(size=(400, 4))
    sizes = [3, 100, 7, 290]  # larger than the conversion buffer prepared: it grows
    outputs, start = [], 0
    for size in sizes:
        out = module.step(Chunk(x[start : start + size], np.arange(size, dtype=np.float64), 0))
        assert out is not None
        assert out.data.shape == (size, 2)
        outputs.append(out.data)
        start += size
    # Checked after every step has run: no output was overwritten by a later step.
    np.testing.assert_allclose(
        np.concatenate(outputs), _softmax(x.astype(np.float32), w, b), rtol=1e-5, atol=1e-6
    )
