"""One feature stage's ONNX graph inside another family's, its names kept apart by a prefix.

A family that puts two feature stages side by side (segment means beside band power, segment
means beside random convolutions) builds each stage's graph on the same window and joins their
outputs with a Concat; each stage names its nodes and constants on its own (``features``,
``segment_avg``...), so every name but the shared input gets the stage's prefix.
"""

from __future__ import annotations

import onnx

from decoders.training.family import FeatureFamily
from decoders.training.graph import GraphParts

__all__ = ["add_stage"]


def add_stage(parts: GraphParts, stage: FeatureFamily, prefix: str, window: str) -> str:
    """Append ``stage``'s feature graph on ``window`` to ``parts``, names prefixed.

    Parameters
    ----------
    parts : GraphParts
        The graph being built; gets the stage's nodes and constants.
    stage : FeatureFamily
        A fitted feature stage (its :meth:`~FeatureFamily.feature_graph` is used, not its head).
    prefix : str
        Prepended to every node, output and constant name of the stage.
    window : str
        The input the stage reads, (batch, C, W); its name is kept.

    Returns
    -------
    str
        The name of the stage's (batch, n_features) output.
    """
    sub = GraphParts()
    out = stage.feature_graph(sub, window)

    def rename(name: str) -> str:
        return name if name == window or not name else prefix + name

    for tensor in sub.initializers:
        tensor.name = rename(tensor.name)
        parts.initializers.append(tensor)
    for node in sub.nodes:
        renamed = onnx.helper.make_node(
            node.op_type,
            [rename(i) for i in node.input],
            [rename(o) for o in node.output],
            name=rename(node.name),
        )
        renamed.attribute.extend(node.attribute)
        parts.nodes.append(renamed)
    return rename(out)
