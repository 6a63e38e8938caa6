"""Common spatial patterns with shrinkage LDA (two-class motor imagery and the like).

CSP filters come from the generalised eigenproblem of the two classes' mean covariances
(``scipy.linalg.eigh(C_a, C_a + C_b)``); the ``n_filters`` most discriminant (both ends of the
spectrum) are kept. Features: the log variance of each filtered signal over the window. In
ONNX: MatMul by the (n_filters, C) filters, ReduceMean, Sub, Mul, ReduceMean, Log. With more than
two classes, filters are computed one class against the rest and concatenated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy.linalg import eigh

from bci_bridge.errors import ConfigError
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier, check_head

__all__ = ["CspConfig", "CspLda"]

_F64 = npt.NDArray[np.float64]
#: Ridge added to each class covariance, as a fraction of its mean eigenvalue.
_RIDGE = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class CspConfig:
    """Parameters of ``family = "csp_lda"``.

    Parameters
    ----------
    n_filters : int
        Spatial filters per class pair (even: half from each end), >= 2.
    classifier : {"lda", "logreg"}
        The linear stage: shrinkage LDA (default) or logistic regression.
    C : float, optional
        Logistic regression only: the inverse regularisation strength, > 0 (searchable:
        ``C = [0.1, 1, 10]``). Unset: chosen by inner cross-validation on the fitting trials.
    """

    n_filters: int = 4
    classifier: Classifier = "lda"
    C: float | None = None

    def __post_init__(self) -> None:
        check_head(self.classifier, self.C)
        if self.n_filters < 2 or self.n_filters % 2:
            raise ConfigError(f"must be an even number >= 2, got {self.n_filters}", key="n_filters")


class CspLda(FeatureFamily):
    """CSP log-variance features, then the linear head."""

    name: ClassVar[str] = "csp_lda"
    Config = CspConfig

    def __init__(
        self, config: CspConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        self.C = config.C
        super().__init__(shape, n_classes, seed)
        self.config = config
        if config.n_filters > shape.n_channels:
            raise ConfigError(
                f"{config.n_filters} filters from {shape.n_channels} channels: at most "
                f"{shape.n_channels}",
                key="n_filters",
            )
        self.filters: _F64 = np.empty((0, shape.n_channels))

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Compute the CSP filters from the class covariances of ``X``."""
        Xc = X - X.mean(axis=2, keepdims=True)
        covs = np.einsum("nct,ndt->ncd", Xc, Xc) / X.shape[2]
        pairs = [(0, 1)] if self.n_classes == 2 else [(k, -1) for k in range(self.n_classes)]
        half = self.config.n_filters // 2
        rows = []
        for a, b in pairs:
            ca = covs[y == a].mean(axis=0)
            cb = covs[y == b].mean(axis=0) if b >= 0 else covs[y != a].mean(axis=0)
            ca += _RIDGE * np.trace(ca) / ca.shape[0] * np.eye(ca.shape[0])
            cb += _RIDGE * np.trace(cb) / cb.shape[0] * np.eye(cb.shape[0])
            _, vecs = eigh(ca, ca + cb)
            rows.append(np.concatenate([vecs[:, :half], vecs[:, -half:]], axis=1).T)
        self.filters = np.ascontiguousarray(np.concatenate(rows, axis=0))

    def features(self, X: _F64) -> _F64:
        """Log variance of each CSP component, shape (n_trials, n_components)."""
        Z = np.einsum("kc,nct->nkt", self.filters, X)
        return np.asarray(np.log(Z.var(axis=2)), dtype=np.float64)

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> filters (K, C) @ window -> log variance (batch, K)."""
        z = parts.op("MatMul", [parts.const("csp_filters", self.filters), window], "csp_z")
        mean = parts.op("ReduceMean", [z], "csp_mean", axes=[2], keepdims=1)
        centred = parts.op("Sub", [z, mean], "csp_centred")
        sq = parts.op("Mul", [centred, centred], "csp_sq")
        var = parts.op("ReduceMean", [sq], "csp_var", axes=[2], keepdims=0)
        return parts.op("Log", [var], "features")

    def feature_state(self) -> dict[str, Any]:
        """Return the fitted filters, (n_components, n_channels)."""
        return {"n_filters": self.config.n_filters, "filters": self.filters.tolist()}

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore the filters."""
        self.filters = np.asarray(state["filters"], dtype=np.float64)
