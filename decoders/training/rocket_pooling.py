"""Pooling of random-convolution outputs over time: PPV and MultiRocket's MPV, MIPV and LSPV.

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
    [0, 1), -1 when there are none;
``lspv``
    longest stretch of positive values, ``max`` over runs of consecutive ``d > 0`` of their
    length, divided by ``L``, in [0, 1].

The longest stretch needs no sequential scan: with ``r_k[t] = min(run ending at t, 2^k)``,
``r_0`` is the indicator of ``d > 0`` and ``r_{k+1}[t] = r_k[t] + [r_k[t] = 2^k] r_k[t - 2^k]``
(a run that fills ``2^k`` samples extends by the capped run that ends just before it). After
``ceil(log2 L)`` such doublings ``r`` is the run ending at each sample, and its maximum the
stretch: elementwise operations only (:func:`longest_runs`). The graph uses another scan-free
formulation, cheaper in ONNX Runtime (six nodes of O(L) each rather than five per doubling):
label each positive by the count of zeros before it and sum per label
(:func:`longest_runs_graph`). The tests hold both to a loop over time.

Both sides work in two steps: per group of kernels, :func:`group_stats` reduces each (kernel,
bias) pair to four numbers over time (count of positives, sum of their indices, sum of their
``d``, longest run of them); the pairs of all groups are concatenated, then :func:`pool` turns
the sums into features, operator by operator (in the order asked), each block in pair order.
:func:`pool_graph` appends the second step to an ONNX graph
(:mod:`decoders.training.minirocket_graph` the first). The count, the index sum and the run are
integers below 2^24, exact in float32; the graph takes ``sum(d[d > 0])`` as
``sum(c[d > 0]) - b * count``, a float32 sum that differs from numpy's by rounding only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from onnx import TensorProto

from decoders.training.graph import GraphParts

__all__ = ["OPERATORS", "group_stats", "longest_runs", "longest_runs_graph", "pool", "pool_graph"]

_F64 = npt.NDArray[np.float64]
#: The pooling operators, in their canonical order.
OPERATORS = ("ppv", "mpv", "mipv", "lspv")
#: Sums per (kernel, bias) pair: count, index sum, sum of positive d, longest run.
N_STATS = 4


def longest_runs(positive: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Return the longest run of True along the last axis, by doubling (see the module docs).

    Parameters
    ----------
    positive : ndarray of bool, shape (..., L)
        Whether each sample is positive.

    Returns
    -------
    ndarray, shape (...)
        Samples in the longest run of consecutive True values, 0 when there are none.
    """
    run = positive.astype(np.float64)
    length = positive.shape[-1]
    step = 1
    while step < length:
        before = np.zeros_like(run)
        before[..., step:] = run[..., :-step]
        run = np.where(run == step, run + before, run)
        step *= 2
    return np.asarray(run.max(axis=-1, initial=0.0), dtype=np.float64)


def longest_runs_graph(parts: GraphParts, ones: str, axis: int, tag: str) -> str:
    """Append the longest run of 1.0 along ``axis`` of ``ones`` (0.0 and 1.0 only).

    Returns the runs with ``axis`` removed. Scan-free and in O(L) per run of samples, in six
    nodes: each positive sample is labelled by the count of zeros before it (an exclusive
    CumSum of ``1 - ones``), which is the same for the samples of one run and differs between
    runs; a ScatterElements with ``reduction = "add"`` sums the ones per label, so each run's
    length lands in its own slot, and ReduceMax takes the longest. Counts below 2^24 are exact
    in float32, so the result equals :func:`longest_runs` (another algorithm) exactly.
    ONNX Runtime's CumSum and ScatterElements are several times faster along an outer axis
    than along the innermost one, hence ``axis``.
    """
    zeros = parts.op("Sub", [parts.const(f"{tag}_one", 1.0), ones], f"{tag}_zeros")
    along = parts.const(f"{tag}_axis", axis, np.int64)
    before = parts.op("CumSum", [zeros, along], f"{tag}_zeros_before", exclusive=1)
    label = parts.op("Cast", [before], f"{tag}_label", to=TensorProto.INT64)
    empty = parts.op("Mul", [ones, parts.const(f"{tag}_nothing", 0.0)], f"{tag}_empty")
    lengths = parts.op(
        "ScatterElements", [empty, label, ones], f"{tag}_runs", axis=axis, reduction="add"
    )
    return parts.op("ReduceMax", [lengths], f"{tag}_longest", axes=[axis], keepdims=0)


def group_stats(conv: _F64, biases: _F64, longest: bool = False) -> _F64:
    """Sum over time the positives of ``conv - bias``, per kernel and bias.

    Parameters
    ----------
    conv : ndarray, shape (n_trials, K, L)
        Convolution outputs of K kernels over L samples.
    biases : ndarray, shape (K, n_biases)
        Each kernel's thresholds, in the units of ``conv``.
    longest : bool
        Also find the longest run of positives (LSPV's, the costliest sum); else it is 0.

    Returns
    -------
    ndarray, shape (n_trials, K * n_biases, 4)
        Per (kernel, bias) pair, kernel-major: the count of positive ``d = conv - bias``, the
        sum of their time indices (samples from 0), the sum of their ``d`` and the longest run
        of consecutive positives (samples).
    """
    n, _, length = conv.shape
    d = conv[:, :, None, :] - biases[None, :, :, None]  # (n, K, nb, L)
    positive = d > 0
    out = np.stack(
        [
            positive.sum(axis=3),
            positive.astype(np.float64) @ np.arange(length, dtype=np.float64),
            np.where(positive, d, 0.0).sum(axis=3),
            longest_runs(positive) if longest else np.zeros(positive.shape[:3]),
        ],
        axis=3,
    )
    return np.asarray(out.reshape(n, -1, N_STATS), dtype=np.float64)


def pool(stats: _F64, lengths: _F64, operators: Sequence[str]) -> _F64:
    """Features from :func:`group_stats` of M pairs: (n_trials, M, 4) -> (n_trials, ops x M).

    Parameters
    ----------
    stats : ndarray, shape (n_trials, M, 4)
        Count, index sum, sum of positive ``d`` and longest run per pair.
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
        elif name == "lspv":
            blocks.append(stats[:, :, 3] / lengths)
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
    """Append :func:`pool` for ``stats`` (batch, M, 4); return (batch, len(operators) x M).

    ``stats`` holds per pair the count of positives, their index sum with indices counted from
    ``offsets`` samples before the convolution's first, ``sum(c[d > 0])`` and the longest run
    of positives (0 if ``lspv`` is not asked); ``biases``,
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
        elif name == "lspv":
            longest = column(3, "longest")
            blocks.append(
                parts.op("Div", [longest, parts.const(f"{tag}_len3", lengths)], f"{tag}_lspv")
            )
        else:
            raise ValueError(f"unknown pooling operator {name!r}; choose among {OPERATORS}")
    if len(blocks) == 1:
        return blocks[0]
    return parts.op("Concat", blocks, f"{tag}_pooled", axis=1)
