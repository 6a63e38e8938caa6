"""Riemannian tangent space of spatial covariances with a linear classifier.

Per window (n_channels x n_samples, microvolts): the channels are centred over time (unless
``centre = false``) and their spatial covariance ``C = Xc Xc^T / W`` (microvolts squared) is
optionally shrunk toward ``trace(C) / n_channels * I`` with the fixed coefficient ``shrinkage``.
The reference ``P`` is the affine-invariant Riemannian (Karcher) mean of the training
covariances (not the log-Euclidean mean, which is only the starting point), found by the
fixed-point iteration ``P <- P^1/2 expm(mean_i logm(P^-1/2 C_i P^-1/2)) P^1/2`` started from
the log-Euclidean mean. Each covariance is whitened, ``S = P^-1/2 C P^-1/2``, and mapped to the
tangent space at ``P`` by the matrix logarithm; the features are the upper triangle of
``logm(S)`` with off-diagonal entries weighted by sqrt(2) (so the Euclidean norm of the
features is the Riemannian distance to ``P``): ``C (C + 1) / 2`` features. Python computes
``logm`` with numpy's (LAPACK) ``eigh``.

ONNX has no eigen-decomposition, so the graph takes the matrix logarithm of ``S`` from matrix
products alone (:mod:`decoders.training.matrix_log_graph`: inverse scaling and squaring with
Newton-Schulz square roots and an asinh series). How many square roots and iterations it unrolls
follows from :attr:`TangentSpace.condition_bound`, the largest condition number of the whitened
training covariances times :data:`_CONDITION_MARGIN` (windows far outside the training data
need more); the export's parity check confirms the result for every model. The graph whitens
the signals before taking their covariance (two (C, W) products rather than one and two (C, C)
ones): in float32 a covariance whitened afterwards loses accuracy in proportion to the
reference's condition number.

Fine-tuning (:meth:`TangentSpace.adapt`) re-centres the Riemannian way: the reference becomes
the Riemannian mean of the calibration covariances (so a session's mixing or gain change,
``C -> A C A^T``, is undone), then the head is re-standardised and refitted on the new features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier, check_head
from decoders.training.matrix_log_graph import LogSchedule, log_schedule, logm_graph

__all__ = ["TangentSpace", "TangentSpaceConfig"]

_F64 = npt.NDArray[np.float64]
#: Most channels the family accepts (the cost of the graph grows as n_channels^3).
_MAX_CHANNELS = 64
#: The graph is sized for condition numbers up to this factor above the training data's.
_CONDITION_MARGIN = 100.0
#: Condition-number bound of models stored without one.
_DEFAULT_CONDITION = 1e4
#: Karcher-mean iteration: at most this many steps, stopping when the step's norm is below tol.
_MEAN_ITERATIONS = 50
_MEAN_TOL = 1e-10
#: Smallest eigenvalue taken before a log (relative to the whitened scale, which is ~1).
_EIG_FLOOR = 1e-12


@dataclass(frozen=True, slots=True, kw_only=True)
class TangentSpaceConfig:
    """Parameters of ``family = "tangent_space_logreg"``.

    Parameters
    ----------
    shrinkage : float
        Fixed shrinkage of each covariance toward ``trace / n_channels * I``, in [0, 1).
    centre : bool
        Subtract each channel's mean over the window first (the usual covariance). ``False``
        takes the second moment about zero instead, which keeps a window's slow offset (a slow
        cortical potential) in the matrix.
    classifier : {"lda", "logreg"}
        The linear stage: logistic regression (default) or shrinkage LDA.
    C : float, optional
        Logistic regression only: the inverse regularisation strength, > 0 (searchable:
        ``C = [0.1, 1, 10]``). Unset: chosen by inner cross-validation on the fitting trials.
    """

    shrinkage: float = 0.05
    centre: bool = True
    classifier: Classifier = "logreg"
    C: float | None = None

    def __post_init__(self) -> None:
        check_head(self.classifier, self.C)
        if not (math.isfinite(self.shrinkage) and 0.0 <= self.shrinkage < 1.0):
            raise ConfigError(f"must be in [0, 1), got {self.shrinkage}", key="shrinkage")


class TangentSpace(FeatureFamily):
    """Tangent-space vectors of spatial covariances at their Riemannian mean, then the head."""

    name: ClassVar[str] = "tangent_space_logreg"
    Config = TangentSpaceConfig

    def __init__(
        self, config: TangentSpaceConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        self.C = config.C
        super().__init__(shape, n_classes, seed)
        self.config = config
        n = shape.n_channels
        if not 2 <= n <= _MAX_CHANNELS:
            raise ConfigError(f"needs 2 to {_MAX_CHANNELS} channels, got {n}", key="family")
        if shape.n_samples < 2:
            raise ConfigError(f"needs windows of >= 2 samples, got {shape.n_samples}", key="family")
        rows, cols = np.triu_indices(n)
        self._rows, self._cols = rows, cols
        self._weights = np.where(rows == cols, 1.0, math.sqrt(2.0))
        self.reference: _F64 = np.eye(n)
        self._inv_sqrt: _F64 = np.eye(n)
        #: Largest condition number the ONNX matrix log is unrolled for.
        self.condition_bound = _DEFAULT_CONDITION

    # -- Python model -----------------------------------------------------------------------

    def covariances(self, X: _F64) -> _F64:
        """Shrunk spatial covariances (n_trials, C, C), microvolts squared, of ``X`` (n, C, W)."""
        Xc = X - X.mean(axis=2, keepdims=True) if self.config.centre else X
        covs = np.einsum("nct,ndt->ncd", Xc, Xc) / X.shape[2]
        a = self.config.shrinkage
        if a > 0:
            n = X.shape[1]
            trace = np.trace(covs, axis1=1, axis2=2)[:, None, None] / n
            covs = (1.0 - a) * covs + a * trace * np.eye(n)
        return np.asarray(covs, dtype=np.float64)

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Set the reference to the Riemannian mean of the covariances of ``X``.

        Also sets :attr:`condition_bound` from the whitened covariances' spectra.
        """
        covs = self.covariances(X)
        self._set_reference(riemannian_mean(covs))
        eig = np.linalg.eigvalsh(self._inv_sqrt @ covs @ self._inv_sqrt)
        condition = float(np.max(eig[:, -1] / np.maximum(eig[:, 0], _EIG_FLOOR)))
        self.condition_bound = condition * _CONDITION_MARGIN

    def features(self, X: _F64) -> _F64:
        """Tangent vectors, shape (n_trials, C (C + 1) / 2), dimensionless."""
        S = self._inv_sqrt @ self.covariances(X) @ self._inv_sqrt
        L = _logm(S)
        return np.asarray(L[:, self._rows, self._cols] * self._weights, dtype=np.float64)

    def adapt(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Re-centre at the Riemannian mean of ``X``'s covariances, then refit the head."""
        self._check(X)
        self.fit_features(X, y)
        F = self.features(X)
        self.head.recentre(F)
        self.head.refit(F, y)

    def feature_state(self) -> dict[str, Any]:
        """Return the shrinkage and the reference covariance (C, C), microvolts squared."""
        return {
            "shrinkage": self.config.shrinkage,
            "centre": self.config.centre,
            "reference": self.reference.tolist(),
            "condition_bound": self.condition_bound,
        }

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore the reference covariance."""
        reference = np.asarray(state["reference"], dtype=np.float64)
        n = self.shape.n_channels
        if reference.shape != (n, n):
            raise ValueError(f"{self.name}: reference of shape {reference.shape}, want {(n, n)}")
        self._set_reference(reference)
        self.condition_bound = float(state.get("condition_bound", _DEFAULT_CONDITION))

    def _set_reference(self, reference: _F64) -> None:
        self.reference = reference
        self._inv_sqrt = _powm(reference, -0.5)

    # -- ONNX graph -------------------------------------------------------------------------

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> whitened covariance -> matrix log -> (batch, C (C+1) / 2)."""
        n, w = self.shape.n_channels, self.shape.n_samples
        a = self.config.shrinkage
        xc = window
        if self.config.centre:
            mean = parts.op("ReduceMean", [window], "ts_mean", axes=[2], keepdims=1)
            xc = parts.op("Sub", [window, mean], "ts_centred")
        # Whiten the signals first (float32 keeps S accurate even for an ill-conditioned
        # reference), then take the covariance: S = P^-1/2 C P^-1/2.
        y = parts.op("MatMul", [parts.const("ts_inv_sqrt", self._inv_sqrt), xc], "ts_white")
        yt = parts.op("Transpose", [y], "ts_white_t", perm=[0, 2, 1])
        s = parts.op("MatMul", [y, yt], "ts_white_gram")
        s = parts.op("Mul", [s, parts.const("ts_cov_scale", (1.0 - a) / w)], "ts_white_cov")
        if a > 0:
            # + a * trace(C) / n * P^-1, with trace(C) = sum(xc^2) / W.
            energy = parts.op("ReduceSumSquare", [xc], "ts_energy", axes=[1, 2], keepdims=1)
            target = self._inv_sqrt @ self._inv_sqrt * (a / (n * w))
            ridge = parts.op("Mul", [energy, parts.const("ts_ridge", target)], "ts_ridge_term")
            s = parts.op("Add", [s, ridge], "ts_shrunk")
        logm = logm_graph(parts, s, n, self.log_schedule(), "ts_log")
        flat = parts.op("Reshape", [logm, parts.const("ts_flat", [-1, n * n], np.int64)], "ts_lf")
        upper = parts.const("ts_upper", self._rows * n + self._cols, np.int64)
        tri = parts.op("Gather", [flat, upper], "ts_upper_vals", axis=1)
        return parts.op("Mul", [tri, parts.const("ts_upper_w", self._weights)], "features")

    def log_schedule(self) -> LogSchedule:
        """Return what the ONNX matrix log unrolls for :attr:`condition_bound`."""
        return log_schedule(self.condition_bound, self.shape.n_channels)


def riemannian_mean(covs: _F64) -> _F64:
    """Affine-invariant Riemannian (Karcher) mean of SPD matrices ``covs`` (n, C, C)."""
    M = _expm(_logm(covs).mean(axis=0))  # log-Euclidean mean: the starting point
    for _ in range(_MEAN_ITERATIONS):
        root, inv_root = _powm(M, 0.5), _powm(M, -0.5)
        step = _logm(inv_root @ covs @ inv_root).mean(axis=0)
        M = root @ _expm(step) @ root
        M = (M + M.T) / 2.0
        if np.linalg.norm(step) < _MEAN_TOL:
            break
    return np.asarray(M, dtype=np.float64)


def _eig_apply(S: _F64, fn: Any) -> _F64:
    """``V fn(w) V^T`` for symmetric ``S`` (..., C, C) with eigenpairs ``w``, ``V``."""
    w, V = np.linalg.eigh(S)
    return np.asarray((V * fn(w)[..., None, :]) @ np.swapaxes(V, -1, -2), dtype=np.float64)


def _logm(S: _F64) -> _F64:
    return _eig_apply(S, lambda w: np.log(np.maximum(w, _EIG_FLOOR)))


def _expm(S: _F64) -> _F64:
    return _eig_apply(S, np.exp)


def _powm(S: _F64, p: float) -> _F64:
    return _eig_apply(S, lambda w: np.maximum(w, _EIG_FLOOR) ** p)
