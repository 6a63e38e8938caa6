"""Small builders for the ONNX graphs of exported decoders (opset 17, float32 throughout)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["INPUT", "OPSET", "OUTPUT", "GraphParts", "make_model"]

#: Name of the model input: float32 (batch, n_channels, n_samples).
INPUT = "window"
#: Name of the model output: float32 (batch, n_classes), softmax probabilities.
OUTPUT = "probabilities"
#: ONNX opset of exported models.
OPSET = 17


@dataclass(slots=True)
class GraphParts:
    """Nodes and constant tensors collected while a decoder builds its graph."""

    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)

    def const(self, name: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        """Add a constant tensor; return its name."""
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: Sequence[str], output: str, **attrs: Any) -> str:
        """Add one node with a single output; return the output's name."""
        self.nodes.append(helper.make_node(op_type, list(inputs), [output], **attrs))
        return output


def make_model(
    parts: GraphParts, name: str, n_channels: int, n_samples: int, n_classes: int
) -> onnx.ModelProto:
    """Wrap the collected nodes as a checked model ``window -> probabilities``.

    Parameters
    ----------
    parts : GraphParts
        The graph body; its last node must output :data:`OUTPUT`.
    name : str
        Graph name.
    n_channels, n_samples : int
        The fixed window shape; the batch axis is dynamic.
    n_classes : int
        Width of the output.
    """
    graph = helper.make_graph(
        parts.nodes,
        name,
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", n_channels, n_samples])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["batch", n_classes])],
        initializer=parts.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="bci-bridge train"
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model
