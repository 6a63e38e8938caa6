"""Pooling of random-convolution outputs over time: PPV and MultiRocket's MPV and MIPV.

After Tan, Dempster, Bergmeir and Webb (2022), "MultiRocket: multiple pooling operators and
transformations for fast and effective time series classification". For one convolution output
``c`` (L samples) and one bias ``b``, with ``d = c - b``:

``ppv``
    proportion of positive values, ``count(d > 0) / L``, in [0, 1] (MiniRocket's only feature);
``mpv``
    mean of the positive values, ``sum(d[d > 0]) / count(d > 0)``, 0 when there are none (in the
    convolution's units);
``mipv``
    mean index of the positive values, ``mean(t[d > 0]) / L`` with ``t = 0 .. L - 1``, in
    [0, 1), -1 when there are none.

MultiRocket's fourth operator, the longest stretch of positive values, needs a sequential scan
that ONNX has no cheap operator for, so it is not offered.

Both sides work in two steps: per group of kernels, :func:`group_stats` reduces each (kernel,
bias) pair to three sums over time (count of positives, sum of their indices, sum of their
``d``); the pairs of all groups are concatenated, then :func:`pool` turns the sums into features,
operator by operator (in the order asked), each block in pair order. :func:`pool_graph` appends
the second step to an ONNX graph (:mod:`decoders.training.minirocket_graph` the first). The
count and the index sum are integers below 2^24, exact in float32; the graph takes
``sum(d[d > 0])`` as ``sum(c[d > 0]) - b * count``, a float32 sum that differs from numpy's by
rounding only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from decoders.training.graph import GraphParts

__all__ = ["OPERATORS", "group_stats", "pool", "pool_graph"]

_F64 = npt.NDArray[np.float64]
#: The pooling operators, in their canonical order.
OPERATORS = ("ppv", "mpv", "mipv")


def group_stats(conv: _F64, biases: _F64) -> _F64:
    """Sum over time the positives of ``conv - bias``, per kernel and bias.

    Parameters
    ----------
    conv : ndarray, shape (n_trials, K, L)
        Convolution outputs of K kernels over L samples.
    biases : ndarray, shape (K, n_biases)
        Each kernel's thresholds, in the units of ``conv``.

    Returns
    -------
    ndarray, shape (n_trials, K * n_biases, 3)
        Per (kernel, bias) pair, kernel-major: the count of positive ``d = conv - bias``, the
        sum of their time indices (samples from 0) and the sum of their ``d``.
    """
    n, _, length = conv.shape
    d = conv[:, :, None, :] - biases[None, :, :, None]  # (n, K, nb, L)
    positive = d > 0
    out = np.stack(
        [
            positive.sum(axis=3),
            positive.astype(np.float64) @ np.arange(length, dtype=np.float64),
            np.where(positive, d, 0.0).sum(axis=3),
        ],
        axis=3,
    )
    return np.asarray(out.reshape(n, -1, 3), dtype=np.float64)


def pool(stats: _F64, lengths: _F64, operators: Sequence[str]) -> _F64:
    """Features from :func:`group_stats` of M pairs: (n_trials, M, 3) -> (n_trials, ops x M).

    Parameters
    ----------
    stats : ndarray, shape (n_trials, M, 3)
        Count, index sum and sum of positive ``d`` per pair.
    lengths : ndarray, shape (M,)
        Each pair's convolution length L, in samples.
    operators : sequence of str
        Names among :data:`OPERATORS`; the output holds their blocks in this order.
    """
    count = stats[:, :, 0]
    safe = np.maximum(count, 1.0)
    blocks = []
    for name in operators:
        if name == "ppv":
            blocks.append(count / lengths)
        elif name == "mpv":
            blocks.append(stats[:, :, 2] / safe)
        elif name == "mipv":
            blocks.append(np.where(count > 0, stats[:, :, 1] / (safe * lengths), -1.0))
        else:
            raise ValueError(f"unknown pooling operator {name!r}; choose among {OPERATORS}")
    return np.asarray(np.concatenate(blocks, axis=1), dtype=np.float64)


def pool_graph(
    parts: GraphParts,
    stats: str,
    biases: _F64,
    lengths: _F64,
    offsets: _F64,
    operators: Sequence[str],
    tag: str,
) -> str:
    """Append :func:`pool` for ``stats`` (batch, M, 3); return (batch, len(operators) x M).

    ``stats`` holds per pair the count of positives, their index sum with indices counted from
    ``offsets`` samples before the convolution's first, and ``sum(c[d > 0])``; ``biases``,
    ``lengths`` and ``offsets`` are (M,) per pair.
    """

    def column(i: int, name: str) -> str:
        index = parts.const(f"{tag}_{name}_i", i, np.int64)
        return parts.op("Gather", [stats, index], f"{tag}_{name}", axis=2)  # (batch, M)

    count = column(0, "count")
    safe = parts.op("Max", [count, parts.const(f"{tag}_one", 1.0)], f"{tag}_safe")
    blocks = []
    for name in operators:
        if name == "ppv":
            blocks.append(
                parts.op("Div", [count, parts.const(f"{tag}_len", lengths)], f"{tag}_ppv")
            )
        elif name == "mpv":
            offset = parts.op("Mul", [count, parts.const(f"{tag}_bias", biases)], f"{tag}_bc")
            above = parts.op("Sub", [column(2, "sum_c"), offset], f"{tag}_sum_d")
            blocks.append(parts.op("Div", [above, safe], f"{tag}_mpv"))
        elif name == "mipv":
            scale = parts.op("Mul", [safe, parts.const(f"{tag}_len2", lengths)], f"{tag}_sl")
            shift = parts.op("Mul", [count, parts.const(f"{tag}_offset", offsets)], f"{tag}_shift")
            index = parts.op("Sub", [column(1, "index"), shift], f"{tag}_index_from_0")
            mean = parts.op("Div", [index, scale], f"{tag}_mean_index")
            some = parts.op("Greater", [count, parts.const(f"{tag}_zero", 0.0)], f"{tag}_some")
            none = parts.const(f"{tag}_none", -1.0)
            blocks.append(parts.op("Where", [some, mean, none], f"{tag}_mipv"))
        else:
            raise ValueError(f"unknown pooling operator {name!r}; choose among {OPERATORS}")
    if len(blocks) == 1:
        return blocks[0]
    return parts.op("Concat", blocks, f"{tag}_pooled", axis=1)
