"""An EEGNet-style ONNX model, built in code with ``onnx.helper`` and cached on disk.

The layers follow EEGNet (Lawhern et al., 2018): a temporal convolution, a depthwise spatial
convolution, batch normalisation (folded into the convolutions' weights and biases), ELU,
average pooling, a separable convolution (depthwise then pointwise), ELU, average pooling, a
dense layer and a softmax. Weights are random with a fixed seed: the benchmark measures time,
not accuracy. Streams faster than 250 Hz are first average-pooled to about 250 Hz inside the
model, as EEGNet is usually fed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["F1", "K1", "build_eegnet", "eegnet_path"]

#: Temporal filters, their length (samples after pre-pooling), depth multiplier, separable maps.
F1, K1, D, F2 = 4, 16, 2, 8
N_CLASSES = 2
OPSET = 17


def _pool0(rate: float) -> int:
    return max(1, round(rate / 250.0))


def build_eegnet(n_channels: int, n_samples: int, rate: float, seed: int = 0) -> onnx.ModelProto:
    """Build the model.

    Parameters
    ----------
    n_channels : int
        Channels of the input window.
    n_samples : int
        Samples of the input window (1 s: ``rate``).
    rate : float
        Sample rate of the input in Hz (sets the pre-pooling factor).
    seed : int
        Seed of the random weights.

    Returns
    -------
    onnx.ModelProto
        Input ``x`` float32 of shape (batch, n_channels, n_samples); output ``p`` float32 of
        shape (batch, 2), class probabilities; metadata ``classes = "left,right"``.
    """
    rng = np.random.default_rng(seed)
    p0 = _pool0(rate)
    t0 = n_samples // p0
    t1 = t0 // 4
    t2 = t1 // 8
    if t2 < 1:
        raise ValueError(f"a window of {n_samples} samples at {rate:g} Hz is too short")

    def w(name: str, *shape: int, scale: float = 0.1) -> onnx.TensorProto:
        return numpy_helper.from_array(
            (rng.standard_normal(shape) * scale).astype(np.float32), name
        )

    inits = [
        numpy_helper.from_array(np.array([1], np.int64), "axis1"),
        w("w_temporal", F1, 1, 1, K1),
        w("b_temporal", F1),
        w("w_spatial", F1 * D, 1, n_channels, 1),
        w("b_spatial", F1 * D),
        w("w_depth", F1 * D, 1, 1, 16),
        w("w_point", F2, F1 * D, 1, 1),
        w("b_point", F2),
        w("w_dense", N_CLASSES, F2 * t2),
        w("b_dense", N_CLASSES),
    ]
    nodes = [helper.make_node("Unsqueeze", ["x", "axis1"], ["x4"])]
    src = "x4"
    if p0 > 1:
        nodes.append(
            helper.make_node("AveragePool", [src], ["x4p"], kernel_shape=[1, p0], strides=[1, p0])
        )
        src = "x4p"
    half = K1 // 2
    nodes += [
        helper.make_node(
            "Conv",
            [src, "w_temporal", "b_temporal"],
            ["h1"],
            kernel_shape=[1, K1],
            pads=[0, half, 0, K1 - 1 - half],
        ),
        helper.make_node(
            "Conv",
            ["h1", "w_spatial", "b_spatial"],
            ["h2"],
            kernel_shape=[n_channels, 1],
            group=F1,
        ),
        helper.make_node("Elu", ["h2"], ["h3"]),
        helper.make_node("AveragePool", ["h3"], ["h4"], kernel_shape=[1, 4], strides=[1, 4]),
        helper.make_node(
            "Conv", ["h4", "w_depth"], ["h5"], kernel_shape=[1, 16], pads=[0, 8, 0, 7], group=F1 * D
        ),
        helper.make_node("Conv", ["h5", "w_point", "b_point"], ["h6"], kernel_shape=[1, 1]),
        helper.make_node("Elu", ["h6"], ["h7"]),
        helper.make_node("AveragePool", ["h7"], ["h8"], kernel_shape=[1, 8], strides=[1, 8]),
        helper.make_node("Flatten", ["h8"], ["h9"], axis=1),
        helper.make_node("Gemm", ["h9", "w_dense", "b_dense"], ["logits"], transB=1),
        helper.make_node("Softmax", ["logits"], ["p"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "eegnet_style",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", n_channels, n_samples])],
        [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["batch", N_CLASSES])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="bci-bridge bench"
    )
    model.ir_version = 8
    helper.set_model_props(model, {"classes": "left,right"})
    onnx.checker.check_model(model, full_check=True)
    return model


def eegnet_path(
    n_channels: int, n_samples: int, rate: float, cache_dir: Path | None = None
) -> Path:
    """Return the cached model file for this shape, building and writing it if missing.

    Parameters
    ----------
    n_channels, n_samples : int
        Input window shape.
    rate : float
        Sample rate in Hz.
    cache_dir : Path, optional
        Default: ``$XDG_CACHE_HOME/bci-bridge/bench`` (``~/.cache/bci-bridge/bench``).
    """
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        cache_dir = Path(base) / "bci-bridge" / "bench"
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"eegnet-{n_channels}x{n_samples}-{rate:g}hz-f{F1}k{K1}.onnx"
    if not path.is_file():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        onnx.save(build_eegnet(n_channels, n_samples, rate), str(tmp))
        tmp.replace(path)
    return path
