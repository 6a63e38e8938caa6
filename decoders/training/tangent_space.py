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
``logm`` with ``scipy.linalg.eigh``.

ONNX has no eigen-decomposition, so the graph diagonalises ``S`` with an unrolled parallel
cyclic Jacobi algorithm: :func:`jacobi_sweeps` sweeps, each of ``n_channels - 1`` rounds (one
more for an odd channel count) in which the ``n_channels // 2`` disjoint pivot pairs of a
round-robin schedule are rotated at once. A round's rotation angles come from elementwise ops
(Gather, Sub, Mul, Sqrt, Where, Div, Pow), its rotation matrix from one MatMul of the cosines and
sines with constant placement matrices, and it is applied as batched MatMuls ``A <- J^T A J``,
``V <- V J``. Then ``logm(S) = V diag(log diag(A)) V^T``. Jacobi converges quadratically; for
the 2-8 channels this family takes, those sweeps leave off-diagonal entries at float32
rounding level, which the parity check on export confirms for every model. The graph is long
(about 750 nodes for 6 channels), so one window costs hundreds of microseconds, not tens.

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
from scipy.linalg import eigh

from bci_bridge.errors import ConfigError
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier

__all__ = ["TangentSpace", "TangentSpaceConfig"]

_F64 = npt.NDArray[np.float64]
#: Most channels the family accepts (the unrolled graph grows as n_channels^2 * sweeps, and
#: :func:`jacobi_sweeps` is checked up to here).
_MAX_CHANNELS = 8
#: Karcher-mean iteration: at most this many steps, stopping when the step's norm is below tol.
_MEAN_ITERATIONS = 50
_MEAN_TOL = 1e-10
#: Smallest eigenvalue taken before a log (relative to the whitened scale, which is ~1).
_EIG_FLOOR = 1e-12
#: Keeps the Jacobi angle finite where a pivot and its diagonal difference are both zero.
_TINY = 1e-30


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
    """

    shrinkage: float = 0.05
    centre: bool = True
    classifier: Classifier = "logreg"

    def __post_init__(self) -> None:
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
        """Set the reference to the Riemannian mean of the covariances of ``X``."""
        self._set_reference(riemannian_mean(self.covariances(X)))

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
        }

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore the reference covariance."""
        reference = np.asarray(state["reference"], dtype=np.float64)
        n = self.shape.n_channels
        if reference.shape != (n, n):
            raise ValueError(f"{self.name}: reference of shape {reference.shape}, want {(n, n)}")
        self._set_reference(reference)

    def _set_reference(self, reference: _F64) -> None:
        self.reference = reference
        self._inv_sqrt = _powm(reference, -0.5)

    # -- ONNX graph -------------------------------------------------------------------------

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> whitened covariance -> Jacobi logm -> (batch, C (C+1) / 2)."""
        n, w = self.shape.n_channels, self.shape.n_samples
        a = self.config.shrinkage
        xc = window
        if self.config.centre:
            mean = parts.op("ReduceMean", [window], "ts_mean", axes=[2], keepdims=1)
            xc = parts.op("Sub", [window, mean], "ts_centred")
        # Whiten the signals first, then take the covariance: S = P^-1/2 C P^-1/2.
        y = parts.op("MatMul", [parts.const("ts_inv_sqrt", self._inv_sqrt), xc], "ts_white")
        yt = parts.op("Transpose", [y], "ts_white_t", perm=[0, 2, 1])
        s = parts.op("MatMul", [y, yt], "ts_white_gram")
        s = parts.op("Mul", [s, parts.const("ts_cov_scale", (1.0 - a) / w)], "ts_white_cov")
        if a > 0:
            # + a * trace(C) / C * P^-1, with trace(C) = sum(xc^2) / W.
            energy = parts.op("ReduceSumSquare", [xc], "ts_energy", axes=[1, 2], keepdims=1)
            target = self._inv_sqrt @ self._inv_sqrt * (a / (n * w))
            ridge = parts.op("Mul", [energy, parts.const("ts_ridge", target)], "ts_ridge_term")
            s = parts.op("Add", [s, ridge], "ts_shrunk")
        values, vectors = _jacobi_graph(parts, s, n)
        logs = parts.op("Log", [values], "ts_log_eig")  # (batch, C)
        scaled = parts.op(
            "Mul",
            [
                vectors,
                parts.op("Unsqueeze", [logs, parts.const("ts_axis1", [1], np.int64)], "ts_log_row"),
            ],
            "ts_v_scaled",
        )
        vt = parts.op("Transpose", [vectors], "ts_vt", perm=[0, 2, 1])
        logm = parts.op("MatMul", [scaled, vt], "ts_logm")
        flat = parts.op("Reshape", [logm, parts.const("ts_flat", [-1, n * n], np.int64)], "ts_lf")
        upper = parts.const("ts_upper", self._rows * n + self._cols, np.int64)
        tri = parts.op("Gather", [flat, upper], "ts_upper_vals", axis=1)
        return parts.op("Mul", [tri, parts.const("ts_upper_w", self._weights)], "features")


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
    flat = S.reshape(-1, S.shape[-2], S.shape[-1])
    out = np.empty_like(flat)
    for i, m in enumerate(flat):
        w, V = eigh(m)
        out[i] = (V * fn(w)) @ V.T
    return out.reshape(S.shape)


def _logm(S: _F64) -> _F64:
    return _eig_apply(S, lambda w: np.log(np.maximum(w, _EIG_FLOOR)))


def _expm(S: _F64) -> _F64:
    return _eig_apply(S, np.exp)


def _powm(S: _F64, p: float) -> _F64:
    return _eig_apply(S, lambda w: np.maximum(w, _EIG_FLOOR) ** p)


def jacobi_sweeps(n: int) -> int:
    """Return the Jacobi sweeps unrolled for ``n`` channels.

    One rotation is exact for two channels. Measured on ill-conditioned random covariances, the
    float32 features stop improving after 3 sweeps for 3 channels, 4 for 4-6 and 5 for 7-8; one
    more sweep is kept as margin (the export's parity check still guards every model).
    """
    if n == 2:
        return 1
    return 5 if n <= 6 else 6


def round_robin(n: int) -> list[list[tuple[int, int]]]:
    """Return rounds of disjoint pivot pairs ``(p, q)``, p < q, covering all pairs of ``n``."""
    players = list(range(n + (n % 2)))
    m = len(players)
    rounds = []
    for _ in range(m - 1):
        pairs = [(players[i], players[m - 1 - i]) for i in range(m // 2)]
        rounds.append([(min(p, q), max(p, q)) for p, q in pairs if max(p, q) < n])
        players = [players[0], players[-1], *players[1:-1]]
    return rounds


def _jacobi_graph(parts: GraphParts, s: str, n: int) -> tuple[str, str]:
    """Append Jacobi sweeps on symmetric ``s`` (batch, n, n); return eigenvalues, eigenvectors.

    Outputs are (batch, n) eigenvalues (floored at :data:`_EIG_FLOOR`) and (batch, n, n)
    eigenvectors as columns, both unsorted.
    """
    flat_shape = parts.const("ts_jac_flat", [-1, n * n], np.int64)
    square = parts.const("ts_jac_square", [-1, n, n], np.int64)
    zero = parts.const("ts_jac_zero", 0.0)
    one = parts.const("ts_jac_one", 1.0)
    plus2 = parts.const("ts_jac_plus2", 2.0)
    minus2 = parts.const("ts_jac_minus2", -2.0)
    four = parts.const("ts_jac_four", 4.0)
    tiny = parts.const("ts_jac_tiny", _TINY)
    neg_half = parts.const("ts_jac_neg_half", -0.5)
    a, v = s, ""
    k = 0
    for _ in range(jacobi_sweeps(n)):
        for pairs in round_robin(n):
            m = len(pairs)
            tag = f"ts_j{k}"
            k += 1
            idx = {
                "pq": [p * n + q for p, q in pairs],
                "pp": [p * n + p for p, _ in pairs],
                "qq": [q * n + q for _, q in pairs],
            }
            af = parts.op("Reshape", [a, flat_shape], f"{tag}_af")
            apq, app, aqq = (
                parts.op(
                    "Gather",
                    [af, parts.const(f"{tag}_i{key}", idx[key], np.int64)],
                    f"{tag}_{key}",
                    axis=1,
                )
                for key in ("pq", "pp", "qq")
            )
            # tan of the angle zeroing a_pq (Numerical Recipes' t, without dividing by a_pq):
            # t = 2 a_pq sign(d) / (|d| + sqrt(d^2 + 4 a_pq^2)), d = a_qq - a_pp, sign(0) = 1.
            d = parts.op("Sub", [aqq, app], f"{tag}_d")
            d2 = parts.op("Mul", [d, d], f"{tag}_d2")
            o2 = parts.op("Mul", [apq, apq], f"{tag}_o2")
            o4 = parts.op("Mul", [o2, four], f"{tag}_o4")
            r_ = parts.op("Sqrt", [parts.op("Add", [d2, o4], f"{tag}_r2")], f"{tag}_r")
            den = parts.op("Add", [parts.op("Abs", [d], f"{tag}_ad"), r_], f"{tag}_den2")
            den = parts.op("Add", [den, tiny], f"{tag}_den")
            ge = parts.op("GreaterOrEqual", [d, zero], f"{tag}_ge")
            sign = parts.op("Where", [ge, plus2, minus2], f"{tag}_sign")
            t = parts.op("Div", [parts.op("Mul", [apq, sign], f"{tag}_num"), den], f"{tag}_t")
            t2 = parts.op("Add", [parts.op("Mul", [t, t], f"{tag}_tt"), one], f"{tag}_t2")
            c = parts.op("Pow", [t2, neg_half], f"{tag}_c")
            sn = parts.op("Mul", [t, c], f"{tag}_s")
            # J = base + sum_k c_k (E_pp + E_qq) + s_k (E_pq - E_qp), base = I off the pivots.
            place = np.zeros((2 * m, n * n))
            base = np.eye(n)
            for i, (p, q) in enumerate(pairs):
                place[i, p * n + p] = place[i, q * n + q] = 1.0
                base[p, p] = base[q, q] = 0.0
                place[m + i, p * n + q] = 1.0
                place[m + i, q * n + p] = -1.0
            cs = parts.op("Concat", [c, sn], f"{tag}_cs", axis=1)
            jf = parts.op("MatMul", [cs, parts.const(f"{tag}_place", place)], f"{tag}_jd")
            jf = parts.op("Add", [jf, parts.const(f"{tag}_base", base.reshape(1, -1))], f"{tag}_jf")
            j = parts.op("Reshape", [jf, square], f"{tag}_J")
            jt = parts.op("Transpose", [j], f"{tag}_Jt", perm=[0, 2, 1])
            a = parts.op("MatMul", [jt, parts.op("MatMul", [a, j], f"{tag}_aj")], f"{tag}_A")
            v = j if not v else parts.op("MatMul", [v, j], f"{tag}_V")
    af = parts.op("Reshape", [a, flat_shape], "ts_jac_af")
    diag = parts.const("ts_jac_diag", [i * n + i for i in range(n)], np.int64)
    values = parts.op("Gather", [af, diag], "ts_jac_diag_vals", axis=1)
    values = parts.op("Max", [values, parts.const("ts_jac_floor", _EIG_FLOOR)], "ts_eig")
    return values, v
