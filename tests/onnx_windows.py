"""Window ONNX models built with onnx.helper, and their numpy references (shared by tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from decoders.manifest import write_manifest

OPSET = [helper.make_opsetid("", 17)]


def mean_linear_softmax(
    path: Path,
    n_channels: int,
    n_samples: int,
    n_classes: int = 2,
    *,
    manifest: dict[str, Any] | None = None,
    batch: int | str = "batch",
    window_dim: int | str | None = None,
) -> tuple[Path, np.ndarray]:
    """Save softmax(mean over time of x (batch, C, W) @ w) as a model; return path and w."""
    w = np.random.default_rng(5).normal(size=(n_channels, n_classes)).astype(np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["x"], ["m"], axes=[2], keepdims=0),
        helper.make_node("MatMul", ["m", "w"], ["z"]),
        helper.make_node("Softmax", ["z"], ["y"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "window_mean_softmax",
        [
            helper.make_tensor_value_info(
                "x", TensorProto.FLOAT, [batch, n_channels, window_dim or n_samples]
            )
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, n_classes])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    if manifest is not None:
        write_manifest(model, manifest)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path, w


def reference(windows: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Numpy answer for windows of shape (n, W, C): softmax(mean over time @ w)."""
    z = windows.astype(np.float32).astype(np.float64).mean(axis=1) @ w
    e = np.exp(z - z.max(axis=1, keepdims=True))
    out: np.ndarray = e / e.sum(axis=1, keepdims=True)
    return out
