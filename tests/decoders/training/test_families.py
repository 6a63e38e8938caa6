"""Each family's ONNX export computes what its Python model computes, on random and real data."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest

from bci_bridge.errors import ModelError
from bci_bridge.recordings import Trials
from decoders.training.bandpower_logreg import BandPowerConfig, BandPowerLogReg
from decoders.training.csp_lda import CspConfig, CspLda
from decoders.training.export import PARITY_TOLERANCE, check_parity, open_session
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import INPUT, OUTPUT
from decoders.training.segment_means import SegmentMeans, SegmentMeansConfig

CASES: list[tuple[type[Any], Any]] = [
    (SegmentMeans, SegmentMeansConfig(segments=5, start_s=0.25)),
    (SegmentMeans, SegmentMeansConfig(segments=3, classifier="logreg")),
    (SegmentMeans, SegmentMeansConfig(segments=4, classifier="ridge")),
    (BandPowerLogReg, BandPowerConfig(bands=((4.0, 8.0), (8.0, 13.0), (13.0, 30.0)))),
    (CspLda, CspConfig(n_filters=2)),
]


def _random_set(n_classes: int, seed: int) -> tuple[np.ndarray, np.ndarray, WindowShape]:
    rng = np.random.default_rng(seed)
    shape = WindowShape(4, 128, 128.0)
    y = np.arange(60) % n_classes
    X = rng.normal(0, 10, (60, 4, 128))
    X[:, 0] *= 1 + y[:, None]  # class-dependent power and offset, so there is something to learn
    X[:, 1] += 3.0 * y[:, None]
    return X, y.astype(np.intp), shape


def _parity(family: FeatureFamily, X: np.ndarray) -> float:
    X32 = X.astype(np.float32).astype(np.float64)
    return check_parity(open_session(family.to_onnx()), X32, family.predict_proba(X32))


@pytest.mark.parametrize(("cls", "config"), CASES)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_parity_on_random_windows(cls: type[Any], config: Any, n_classes: int) -> None:
    X, y, shape = _random_set(n_classes, seed=n_classes)
    family = cls(config, shape, n_classes)
    family.fit(X, y)
    proba = family.predict_proba(X)
    assert proba.shape == (60, n_classes)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert float(np.mean(proba.argmax(axis=1) == y)) > 1.0 / n_classes  # it learned something
    assert _parity(family, X[::-1] * 1.7 + 2.0) <= PARITY_TOLERANCE  # other windows than fit


@pytest.mark.parametrize("n_classes", [2, 3])
def test_ridge_head_decides_as_scikit_learn(n_classes: int) -> None:
    from sklearn.linear_model import RidgeClassifierCV

    from decoders.training.head import LinearHead

    X, y, _ = _random_set(n_classes, seed=10 + n_classes)
    F = X.mean(axis=2)  # (60, 4) features
    head = LinearHead("ridge", n_classes)
    head.fit(F, y)
    z = (F - F.mean(axis=0)) / F.std(axis=0)
    reference = RidgeClassifierCV(alphas=np.logspace(-3, 3, 10)).fit(z, y)
    proba = head.predict_proba(F)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(proba.argmax(axis=1), reference.predict(z))
    assert head.state()["classifier"] == "ridge"


@pytest.mark.parametrize(("cls", "config"), CASES)
def test_parity_on_scp1(cls: type[Any], config: Any, scp1_train: Trials, scp1_test: Trials) -> None:
    shape = WindowShape(6, 896, scp1_train.sfreq)
    y = (scp1_train.y == "positivity").astype(np.intp)
    family = cls(config, shape, 2)
    family.fit(scp1_train.X, y)
    assert _parity(family, scp1_test.X[:100]) <= PARITY_TOLERANCE


def test_model_io_contract() -> None:
    X, y, shape = _random_set(2, seed=0)
    family = SegmentMeans(SegmentMeansConfig(segments=4), shape, 2)
    family.fit(X, y)
    model = family.to_onnx()
    (inp,) = model.graph.input
    (out,) = model.graph.output
    assert inp.name == INPUT
    assert out.name == OUTPUT
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 4, 128]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 2]


def test_parity_failure_is_an_error() -> None:
    X, y, shape = _random_set(2, seed=1)
    family = SegmentMeans(SegmentMeansConfig(segments=4), shape, 2)
    family.fit(X, y)
    session = open_session(family.to_onnx())
    wrong = family.predict_proba(X)[:, ::-1].copy()
    with pytest.raises(ModelError, match="parity check failed"):
        check_parity(session, X, wrong)


def test_state_round_trip_gives_the_same_probabilities() -> None:
    X, y, shape = _random_set(2, seed=2)
    family = CspLda(CspConfig(n_filters=2), shape, 2)
    family.fit(X, y)
    again = CspLda(CspConfig(n_filters=2), shape, 2)
    again.load_state(family.state())
    np.testing.assert_allclose(again.predict_proba(X), family.predict_proba(X), atol=1e-12)
