"""The ONNX graph of one fitted MiniRocket transform and its pooling, with few nodes.

A window of one thread's budget spends much of its time on per-node overhead, so the graph is
laid out to keep the node count low whatever the feature count:

1. scale by ``2^scale_exp`` and Round, so every convolution below adds integers exactly;
2. per dilation, one zero-padded Conv of all its kernels; the kernels that use only the valid
   part get a large negative number added outside it (so no bias is ever exceeded there);
3. one Concat of all dilations' rows (R, L); rows with the same number of biases nb form a
   bucket (a Gather of its rows) and share one Greater against their biases (R_nb, nb, 1);
4. PPV alone: one ReduceSum per bucket; otherwise two MatMuls give per (row, bias) the count,
   the index sum and the sum of ``c`` over the positives, and with LSPV
   :func:`~decoders.training.rocket_pooling.longest_runs_graph` the longest run of them
   (:mod:`decoders.training.rocket_pooling`);
5. one Gather puts the buckets' (kernel, bias) pairs in
   :func:`~.minirocket_kernels.transform`'s order, and the pooling arithmetic runs once on
   (batch, M).

The counts are the same numbers numpy counts: the valid positions of a padded convolution hold
the very same integer sums, and the masked positions never count.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from onnx import TensorProto

from decoders.training.graph import GraphParts
from decoders.training.minirocket_kernels import KERNEL_LENGTH, Group, Kernels
from decoders.training.rocket_pooling import N_STATS, longest_runs_graph, pool_graph

__all__ = ["transform_graph"]

#: Added to a convolution where it is not computed (below every bias, whose |b| < 2^23).
_NEVER = -(2.0**30)


def transform_graph(
    parts: GraphParts,
    series: str,
    n_samples: int,
    kernels: Kernels,
    operators: Sequence[str],
    prefix: str,
) -> str:
    """Append the transform of ``series`` (batch, C, n_samples); return (batch, ops x M).

    The features equal :func:`~decoders.training.minirocket_kernels.transform`'s with the same
    ``operators``, column for column.
    """
    scale = parts.const(f"{prefix}_scale", 2.0**kernels.scale_exp)
    xq = parts.op("Round", [parts.op("Mul", [series, scale], f"{prefix}_x")], f"{prefix}_xq")
    by_dilation: dict[int, list[Group]] = {}
    for g in kernels.groups:
        if len(g.kernels):
            by_dilation.setdefault(g.dilation, []).append(g)
    rows: list[Group] = []  # the group of each conv row, in row order
    first_row: dict[int, int] = {}  # id(group) -> its first row
    convs = []
    for dilation, groups in by_dilation.items():
        tag = f"{prefix}_d{dilation}"
        pad = (KERNEL_LENGTH - 1) // 2 * dilation
        weights = np.concatenate([g.weights() for g in groups])
        conv = parts.op(
            "Conv",
            [xq, parts.const(f"{tag}_w", weights)],
            f"{tag}_conv",
            dilations=[dilation],
            pads=[pad, pad],
            kernel_shape=[KERNEL_LENGTH],
        )  # (batch, K_d, n_samples)
        if not all(g.padded for g in groups):
            mask = np.concatenate([_outside(g, n_samples) for g in groups])
            conv = parts.op("Add", [conv, parts.const(f"{tag}_mask", mask)], f"{tag}_masked")
        convs.append(conv)
        for g in groups:
            first_row[id(g)] = len(rows)
            rows.extend(g for _ in g.kernels)
    conv = convs[0] if len(convs) == 1 else parts.op("Concat", convs, f"{prefix}_rows", axis=1)
    # Rows with the same number of biases share one comparison; the buckets' pairs are then
    # put back into transform order by one Gather.
    widths = sorted({g.biases.shape[1] for g in rows})
    place: dict[tuple[int, int], int] = {}  # (row, bias) -> column in the buckets' concat
    outputs = []
    ppv_only = tuple(operators) == ("ppv",)
    for width in widths:
        tag = f"{prefix}_w{width}"
        members = [r for r, g in enumerate(rows) if g.biases.shape[1] == width]
        for r in members:
            for j in range(width):
                place[r, j] = len(place)
        biases = np.stack([_row_biases(rows, first_row, r) for r in members])[:, :, None]
        picked = conv
        if len(members) < len(rows):
            index = parts.const(f"{tag}_rows", members, np.int64)
            picked = parts.op("Gather", [conv, index], f"{tag}_conv", axis=1)  # (b, R_w, L)
        longest = "lspv" in operators
        outputs.append(_bucket(parts, picked, biases, n_samples, ppv_only, longest, tag))
    stats = (
        outputs[0]
        if len(outputs) == 1
        else parts.op("Concat", outputs, f"{prefix}_buckets", axis=1)
    )
    order = [
        place[first_row[id(g)] + i, j]
        for g in kernels.groups
        if len(g.kernels)
        for i in range(len(g.kernels))
        for j in range(g.biases.shape[1])
    ]
    keep = parts.const(f"{prefix}_order", order, np.int64)
    kept = parts.op("Gather", [stats, keep], f"{prefix}_stats", axis=1)  # (b, M) or (b, M, 4)
    lengths = kernels.pair_lengths(n_samples)
    if ppv_only:
        return parts.op("Div", [kept, parts.const(f"{prefix}_len", lengths)], f"{prefix}_ppv")
    offsets = np.concatenate(
        [
            np.full(
                g.biases.size, 0.0 if g.padded else (n_samples - g.output_length(n_samples)) / 2
            )
            for g in kernels.groups
        ]
    )
    return pool_graph(
        parts, kept, kernels.pair_biases(), lengths, offsets, operators, f"{prefix}_pool"
    )


def _row_biases(rows: list[Group], first_row: dict[int, int], r: int) -> np.ndarray:
    """Biases of conv row ``r``: its group's row ``r - first row``."""
    g = rows[r]
    return np.asarray(g.biases[r - first_row[id(g)]], dtype=np.float64)


def _bucket(
    parts: GraphParts,
    conv: str,
    biases: np.ndarray,
    n_samples: int,
    ppv_only: bool,
    longest: bool,
    tag: str,
) -> str:
    """Compare ``conv`` (b, R, L) with ``biases`` (R, nb, 1); return the sums per pair.

    (b, R * nb) counts when ``ppv_only``, else (b, R * nb, 4): count, index sum, sum of c and
    (if ``longest``, else 0) the longest run of positives.
    """
    conv4 = parts.op("Unsqueeze", [conv, parts.const(f"{tag}_ax2", [2], np.int64)], f"{tag}_c4")
    positive = parts.op("Greater", [conv4, parts.const(f"{tag}_b", biases)], f"{tag}_pos")
    ones = parts.op("Cast", [positive], f"{tag}_ones", to=TensorProto.FLOAT)  # (b, R, nb, L)
    if ppv_only:
        axis = parts.const(f"{tag}_ax3", [3], np.int64)
        count = parts.op("ReduceSum", [ones, axis], f"{tag}_count", keepdims=0)
        flat = parts.const(f"{tag}_flat", [0, -1], np.int64)
        return parts.op("Reshape", [count, flat], f"{tag}_counts")
    ti = np.stack([np.ones(n_samples), np.arange(n_samples)], axis=1)  # (L, 2)
    counts = parts.op("MatMul", [ones, parts.const(f"{tag}_ti", ti)], f"{tag}_ci")
    column = parts.op("Unsqueeze", [conv, parts.const(f"{tag}_ax3", [3], np.int64)], f"{tag}_cl")
    sums = parts.op("MatMul", [ones, column], f"{tag}_sum_c")  # (b, R, nb, 1)
    if longest:
        # Time outermost, (b, L, R, nb): compared again from the transposed convolution.
        conv_t = parts.op("Transpose", [conv], f"{tag}_conv_t", perm=[0, 2, 1])  # (b, L, R)
        conv_t4 = parts.op(
            "Unsqueeze", [conv_t, parts.const(f"{tag}_ax3t", [3], np.int64)], f"{tag}_c4t"
        )
        biases_t = parts.const(f"{tag}_bt", biases[:, :, 0])  # (R, nb)
        positive_t = parts.op("Greater", [conv_t4, biases_t], f"{tag}_pos_t")
        ones_t = parts.op("Cast", [positive_t], f"{tag}_ones_t", to=TensorProto.FLOAT)
        # One axis of pairs: ONNX Runtime is slow over a short innermost axis (nb <= 3).
        pairs_t = parts.const(f"{tag}_pairs_t", [0, 0, -1], np.int64)
        flat_t = parts.op("Reshape", [ones_t, pairs_t], f"{tag}_flat_t")  # (b, L, R * nb)
        runs = longest_runs_graph(parts, flat_t, 1, f"{tag}_run")  # (b, R * nb)
        shaped = parts.const(
            f"{tag}_runs_shape", [0, biases.shape[0], biases.shape[1], 1], np.int64
        )
        runs = parts.op("Reshape", [runs, shaped], f"{tag}_runs")  # (b, R, nb, 1)
    else:
        runs = parts.op("Mul", [sums, parts.const(f"{tag}_none", 0.0)], f"{tag}_no_runs")
    stats = parts.op("Concat", [counts, sums, runs], f"{tag}_stats4", axis=3)
    flat = parts.const(f"{tag}_flat", [0, -1, N_STATS], np.int64)
    return parts.op("Reshape", [stats, flat], f"{tag}_stats")


def _outside(g: Group, n_samples: int) -> np.ndarray:
    """(K, n_samples): 0 where the group's convolution is computed, :data:`_NEVER` elsewhere."""
    mask = np.zeros((len(g.kernels), n_samples))
    if not g.padded:
        edge = (KERNEL_LENGTH - 1) // 2 * g.dilation
        mask[:, :edge] = _NEVER
        mask[:, n_samples - edge :] = _NEVER
    return mask
