"""Pooling operators against plain loops over time, and the ONNX transform against numpy."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from decoders.training.export import open_session
from decoders.training.graph import INPUT, OPSET, GraphParts
from decoders.training.minirocket_graph import transform_graph
from decoders.training.minirocket_kernels import fit_kernels, transform
from decoders.training.rocket_pooling import OPERATORS, group_stats, longest_runs, pool


def _reference(c: np.ndarray, b: float, name: str) -> float:
    """One feature of one series ``c`` (L,) and one bias, by a loop over time."""
    positives = [(t, v - b) for t, v in enumerate(c) if v - b > 0]
    if name == "ppv":
        return len(positives) / len(c)
    if name == "mpv":
        return sum(d for _, d in positives) / len(positives) if positives else 0.0
    if name == "mipv":
        return sum(t for t, _ in positives) / len(positives) / len(c) if positives else -1.0
    if name == "lspv":
        longest = run = 0
        for v in c:
            run = run + 1 if v - b > 0 else 0
            longest = max(longest, run)
        return longest / len(c)
    raise AssertionError(name)


def test_each_operator_equals_its_definition_on_small_inputs() -> None:
    rng = np.random.default_rng(3)
    conv = rng.integers(-5, 6, (2, 3, 7)).astype(np.float64)  # (n, K, L): ties with biases too
    conv[1, 2] = -10.0  # a kernel with no positive value: mpv 0, mipv -1
    biases = np.array([[-1.0, 0.0], [2.0, 3.5], [0.5, -20.0]])  # (K, nb)
    lengths = np.full(6, 7.0)
    F = pool(group_stats(conv, biases, longest=True), lengths, OPERATORS)
    assert F.shape == (2, 4 * 6)
    for i in range(2):
        for o, name in enumerate(OPERATORS):
            for k in range(3):
                for j in range(2):
                    got = F[i, o * 6 + k * 2 + j]
                    assert got == pytest.approx(_reference(conv[i, k], biases[k, j], name))
    # The hand-checked corner: no value above 0.5 in trial 1, kernel 2.
    assert F[1, [4, 6 + 4, 12 + 4, 18 + 4]].tolist() == [0.0, 0.0, -1.0, 0.0]
    # The bias -20 is below every value: ppv 1, mpv the mean of d, mipv the mean index / L,
    # lspv the whole window.
    assert F[1, [5, 6 + 5, 12 + 5, 18 + 5]].tolist() == pytest.approx([1.0, 10.0, 3 / 7, 1.0])
    # Operators come in the order asked, each block the same as alone.
    stats = group_stats(conv, biases, longest=True)
    np.testing.assert_array_equal(pool(stats, lengths, ("mipv",)), F[:, 12:18])
    np.testing.assert_array_equal(pool(stats, lengths, ("lspv",)), F[:, 18:])


@pytest.mark.parametrize("length", [1, 2, 3, 7, 8, 9, 16, 33, 224])
def test_longest_runs_by_doubling_equal_a_loop(length: int) -> None:
    rng = np.random.default_rng(length)
    # Runs of every length: sparse, dense and all-True rows, including runs at both edges.
    positive = rng.random((40, length)) < np.linspace(0.05, 1.0, 40)[:, None]
    positive[-1] = True
    positive[0] = False
    want = []
    for row in positive:
        longest = run = 0
        for p in row:
            run = run + 1 if p else 0
            longest = max(longest, run)
        want.append(longest)
    np.testing.assert_array_equal(longest_runs(positive), want)
    assert longest_runs(positive)[-1] == length


def test_unknown_operator_is_refused() -> None:
    with pytest.raises(ValueError, match="max"):
        pool(np.zeros((1, 2, 4)), np.ones(2), ("ppv", "max"))


@pytest.mark.parametrize("operators", [("ppv",), ("ppv", "mipv"), ("lspv",), OPERATORS])
def test_onnx_transform_equals_numpy(operators: tuple[str, ...]) -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(0, 30, (12, 4, 90)).cumsum(axis=2)
    kernels = fit_kernels(X, 84 * 7, seed=2)  # several dilations, 1 to 3 biases each
    assert len({g.biases.shape[1] for g in kernels.groups}) > 1  # buckets of both widths
    assert not all(g.padded for g in kernels.groups)
    parts = GraphParts()
    out = transform_graph(parts, INPUT, 90, kernels, operators, "t")
    width = len(operators) * kernels.n_features
    graph = helper.make_graph(
        parts.nodes,
        "transform",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 4, 90])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", width])],
        initializer=parts.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    X32 = X.astype(np.float32)
    (got,) = open_session(model).run(None, {INPUT: X32})
    want = transform(kernels, X32.astype(np.float64), operators)
    assert got.shape == want.shape == (12, width)
    ppv = slice(0, kernels.n_features)
    np.testing.assert_array_equal(got[:, ppv], want[:, ppv].astype(np.float32))  # exact counts
    if "lspv" in operators:  # exact runs too
        lspv = slice((len(operators) - 1) * kernels.n_features, None)
        np.testing.assert_array_equal(got[:, lspv], want[:, lspv].astype(np.float32))
        assert len(np.unique(want[:, lspv])) > 10  # the runs differ: not a constant
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
