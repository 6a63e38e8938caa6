"""Tangent-space family: matrix log in ONNX vs scipy, Riemannian mean, fine-tuning, 64 channels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from scipy.linalg import eigh

from bci_bridge.cli.main import main
from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials
from decoders.manifest import read_manifest
from decoders.training.export import PARITY_TOLERANCE, check_parity, open_session
from decoders.training.family import WindowShape
from decoders.training.graph import INPUT, OPSET, OUTPUT, GraphParts
from decoders.training.matrix_log_graph import log_schedule, logm_graph
from decoders.training.tangent_space import (
    TangentSpace,
    TangentSpaceConfig,
    riemannian_mean,
)

RECIPE = Path(__file__).resolve().parents[3] / "examples" / "recipes" / "scp1_tangent_space.toml"


def _random_set(
    n_channels: int, n_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray, WindowShape]:
    """Mixed sources whose powers depend on the class: covariances that carry the label."""
    rng = np.random.default_rng(seed)
    shape = WindowShape(n_channels, 128, 128.0)
    y = np.arange(60) % n_classes
    sources = rng.normal(0, 10, (60, n_channels, 128))
    sources[:, 0] *= 1 + y[:, None]
    sources[:, -1] += 5.0 * y[:, None]
    mixing = rng.normal(size=(n_channels, n_channels)) + 2 * np.eye(n_channels)
    return np.einsum("cd,ndt->nct", mixing, sources), y.astype(np.intp), shape


def _feature_session(family: TangentSpace) -> ort.InferenceSession:
    """A model of the feature stage alone: window -> tangent vector (batch, C (C + 1) / 2)."""
    parts = GraphParts()
    features = family.feature_graph(parts, INPUT)
    n, w = family.shape.n_channels, family.shape.n_samples
    graph = helper.make_graph(
        parts.nodes,
        "features",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", n, w])],
        [helper.make_tensor_value_info(features, TensorProto.FLOAT, ["batch", n * (n + 1) // 2])],
        initializer=parts.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return open_session(model)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 6, 8, 16])
@pytest.mark.parametrize("centre", [True, False])
def test_onnx_matrix_log_matches_scipy(n: int, centre: bool) -> None:
    X, y, shape = _random_set(n, 2, seed=n)
    family = TangentSpace(TangentSpaceConfig(shrinkage=0.0, centre=centre), shape, 2)
    family.fit(X, y)
    X32 = (X[::-1] * 1.3).astype(np.float32)
    (onnx_features,) = _feature_session(family).run(None, {INPUT: X32})
    python = family.features(X32.astype(np.float64))
    assert np.all(np.isfinite(python))
    assert np.abs(python).max() > 0.1  # not trivially near the reference
    np.testing.assert_allclose(onnx_features, python, atol=2e-5)


@pytest.mark.parametrize("n", [2, 4, 6])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("shrinkage", [0.0, 0.1])
def test_parity_on_random_windows(n: int, n_classes: int, shrinkage: float) -> None:
    X, y, shape = _random_set(n, n_classes, seed=10 * n + n_classes)
    family = TangentSpace(TangentSpaceConfig(shrinkage=shrinkage), shape, n_classes)
    family.fit(X, y)
    proba = family.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert float(np.mean(proba.argmax(axis=1) == y)) > 1.0 / n_classes + 0.2
    X32 = (X[::-1] * 1.7 + 2.0).astype(np.float32).astype(np.float64)  # other windows than fit
    session = open_session(family.to_onnx())
    assert check_parity(session, X32, family.predict_proba(X32)) <= PARITY_TOLERANCE


@pytest.mark.parametrize("centre", [True, False])
def test_parity_on_scp1(centre: bool, scp1_train: Trials, scp1_test: Trials) -> None:
    shape = WindowShape(6, 896, scp1_train.sfreq)
    y = (scp1_train.y == "positivity").astype(np.intp)
    family = TangentSpace(TangentSpaceConfig(centre=centre), shape, 2)
    family.fit(scp1_train.X, y)
    X = scp1_test.X.astype(np.float32).astype(np.float64)
    session = open_session(family.to_onnx())
    assert check_parity(session, X, family.predict_proba(X)) <= PARITY_TOLERANCE


def test_riemannian_mean_is_the_karcher_mean() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(20, 4, 4))
    covs = A @ A.transpose(0, 2, 1) + 0.5 * np.eye(4)
    M = riemannian_mean(covs)
    # Stationarity: the tangent vectors at the mean sum to zero.
    w, V = eigh(M)
    inv_root = (V / np.sqrt(w)) @ V.T
    logs = []
    for c in covs:
        lw, lv = eigh(inv_root @ c @ inv_root)
        logs.append((lv * np.log(lw)) @ lv.T)
    np.testing.assert_allclose(np.mean(logs, axis=0), 0.0, atol=1e-8)
    # Affine invariance: mean(B C B^T) = B mean(C) B^T.
    B = rng.normal(size=(4, 4)) + 3 * np.eye(4)
    np.testing.assert_allclose(riemannian_mean(B @ covs @ B.T), B @ M @ B.T, rtol=1e-7)
    # Commuting (diagonal) matrices: the elementwise geometric mean.
    d = rng.uniform(0.5, 4.0, (10, 3))
    G = riemannian_mean(np.stack([np.diag(r) for r in d]))
    np.testing.assert_allclose(G, np.diag(np.exp(np.log(d).mean(axis=0))), atol=1e-10)


def test_state_round_trip_gives_the_same_probabilities() -> None:
    X, y, shape = _random_set(4, 2, seed=5)
    config = TangentSpaceConfig(shrinkage=0.05, centre=False)
    family = TangentSpace(config, shape, 2)
    family.fit(X, y)
    again = TangentSpace(config, shape, 2)
    again.load_state(json.loads(json.dumps(family.state())))
    np.testing.assert_allclose(again.predict_proba(X), family.predict_proba(X), atol=1e-12)


def test_adapt_recentres_at_the_calibration_mean() -> None:
    X, y, shape = _random_set(4, 2, seed=6)
    family = TangentSpace(TangentSpaceConfig(), shape, 2)
    family.fit(X, y)
    mixing = np.array(
        [[1.5, 0.4, 0.0, 0.0], [0.0, 0.7, 0.3, 0.0], [0.2, 0.0, 2.0, 0.0], [0, 0, 0, 1]]
    )
    shifted = np.einsum("cd,ndt->nct", mixing, X)
    family.adapt(shifted[:40], y[:40])
    np.testing.assert_allclose(
        family.reference, riemannian_mean(family.covariances(shifted[:40])), rtol=1e-12
    )
    # Re-centred: the calibration set's tangent vectors average (nearly) to zero.
    assert np.abs(family.features(shifted[:40]).mean(axis=0)).max() < 1e-3
    assert float(np.mean(family.predict_proba(shifted[40:]).argmax(axis=1) == y[40:])) > 0.7


def test_fine_tuning_a_mixed_session_through_the_cli(tmp_path: Path, scp1_test: Trials) -> None:
    # The shipped recipe with one candidate and the (faster to fit) LDA head, so it stays quick.
    text = (
        RECIPE.read_text()
        .replace("\nshrinkage = [0.01, 0.05, 0.2]\n", "\nshrinkage = 0.05\n")
        .replace("\ncentre = [true, false]\n", '\ncentre = false\nclassifier = "lda"\n')
        .replace("\nrepeats = 5\n", "\nrepeats = 1\n")
    )
    assert 'classifier = "lda"' in text
    assert "shrinkage = 0.05" in text
    (tmp_path / "base.toml").write_text(text)
    base = tmp_path / "base.onnx"
    assert main(["train", str(tmp_path / "base.toml"), "--out", str(base)]) == 0
    # A "new session": the test set through a different gain and spatial mixing.
    mixing = np.eye(6) * np.array([1.8, 0.6, 1.4, 0.7, 1.5, 0.5])
    mixing[0, 1] = mixing[2, 3] = mixing[4, 5] = 0.6
    X = np.einsum("cd,ndt->nct", mixing, scp1_test.X)
    names = np.array(scp1_test.channel_names)
    np.savez(
        tmp_path / "calib.npz", X=X[:100], y=scp1_test.y[:100], sfreq=256.0, channel_names=names
    )
    np.savez(
        tmp_path / "eval.npz", X=X[100:], y=scp1_test.y[100:], sfreq=256.0, channel_names=names
    )
    recipe = tmp_path / "tune.toml"
    recipe.write_text(
        text.replace(
            '"aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"', '"calib.npz"'
        ).replace('"aeon:SelfRegulationSCP1/SelfRegulationSCP1_TEST.ts"', '"eval.npz"')
    )
    model, report_path = tmp_path / "tuned.onnx", tmp_path / "report.json"
    code = main(
        [
            "train",
            str(recipe),
            "--out",
            str(model),
            "--base",
            str(base),
            "--report",
            str(report_path),
        ]
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["n_calibration"] == 100
    # Measured: 0.591 before (near chance), 0.668 after; the base scores 0.730 on the unmixed
    # TEST set, and 100 calibration trials refit the head less well than 268 training trials.
    assert report["accuracy_after"] >= report["accuracy_before"] + 0.05
    assert report["parity_max_abs_diff"] <= PARITY_TOLERANCE
    manifest = read_manifest(model)
    assert manifest is not None
    reference = np.asarray(manifest["family"]["features"]["reference"])
    probe = TangentSpace(TangentSpaceConfig(centre=False), WindowShape(6, 896, 256.0), 2)
    np.testing.assert_allclose(reference, riemannian_mean(probe.covariances(X[:100])), rtol=1e-9)
    proba = open_session(model).run([OUTPUT], {INPUT: X[100:].astype(np.float32)})[0]
    predicted = np.array(manifest["classes"])[proba.argmax(axis=1)]
    assert round(float(np.mean(predicted == scp1_test.y[100:])), 4) == report["test_accuracy"]


@pytest.mark.parametrize(
    ("kwargs", "n_channels", "key"),
    [
        ({"shrinkage": 1.0}, 4, "shrinkage"),
        ({"shrinkage": -0.1}, 4, "shrinkage"),
        ({}, 65, "family"),
        ({}, 1, "family"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict, n_channels: int, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        TangentSpace(TangentSpaceConfig(**kwargs), WindowShape(n_channels, 64, 64.0), 2)
    assert info.value.key == key


def _widened(X: np.ndarray, n: int, seed: int) -> np.ndarray:
    """SCP1's 6 channels repeated to ``n``, each copy with its own noise (20 % of the std)."""
    rng = np.random.default_rng(seed)
    copies = np.concatenate([X] * -(-n // X.shape[1]), axis=1)[:, :n]
    return copies + rng.normal(0.0, 0.2 * X.std(), copies.shape)


@pytest.mark.parametrize("n", [16, 32])
def test_parity_on_scp1_with_many_channels(n: int, scp1_train: Trials, scp1_test: Trials) -> None:
    # Every 3rd trial keeps the test quick (64 channels: the matrix-log test below and the README).
    shape = WindowShape(n, 896, scp1_train.sfreq)
    y = (scp1_train.y == "positivity").astype(np.intp)[::3]
    family = TangentSpace(TangentSpaceConfig(centre=False, classifier="lda"), shape, 2)
    family.fit(_widened(scp1_train.X[::3], n, seed=n), y)
    X = _widened(scp1_test.X[::3], n, seed=n + 1).astype(np.float32).astype(np.float64)
    session = open_session(family.to_onnx())
    assert check_parity(session, X, family.predict_proba(X)) <= PARITY_TOLERANCE
    (onnx_features,) = _feature_session(family).run(None, {INPUT: X.astype(np.float32)})
    python = family.features(X)
    assert python.shape == (len(X), n * (n + 1) // 2)
    np.testing.assert_allclose(onnx_features, python, atol=1e-4)


@pytest.mark.parametrize("condition", [1.0, 10.0, 1e3])
@pytest.mark.parametrize("n", [2, 64])
def test_onnx_matrix_log_is_exact_up_to_the_condition_bound(condition: float, n: int) -> None:
    # Matrices with eigenvalues spread log-uniformly over exactly the bound, random eigenvectors.
    rng = np.random.default_rng(n)
    Q, _ = np.linalg.qr(rng.normal(size=(4, n, n)))
    eig = np.exp(rng.uniform(0, np.log(condition), (4, n)))
    eig[:, 0], eig[:, -1] = 1.0, condition
    S = np.einsum("bij,bj,bkj->bik", Q, eig * 7.5, Q)
    schedule = log_schedule(condition, n)
    parts = GraphParts()
    out = logm_graph(parts, "s", n, schedule, "t")
    graph = helper.make_graph(
        parts.nodes,
        "logm",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["batch", n, n])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", n, n])],
        initializer=parts.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    (logm,) = open_session(model).run(None, {"s": S.astype(np.float32)})
    want = np.einsum("bij,bj,bkj->bik", Q, np.log(eig * 7.5), Q)
    # float32: errors grow with the log's range. Beyond condition numbers of ~1e4 float32 itself
    # cannot hold the smallest eigenvalues of S to better than 1e-3 (relative).
    np.testing.assert_allclose(logm, want, atol=2e-5 * (1 + np.log(condition)))


def test_schedule_grows_with_the_condition_number() -> None:
    costs = [log_schedule(c, 64).matmuls for c in (1.0, 1e2, 1e4, 1e6)]
    assert costs == sorted(costs)
    assert costs[0] < costs[-1]
    with pytest.raises(ValueError, match="condition number"):
        log_schedule(0.5, 4)
