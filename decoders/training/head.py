"""The last, linear stage every decoder family shares: standardise, classify, softmax.

Features are standardised with a mean and scale, then a linear classifier gives logits and a
softmax the probabilities. Three classifiers: ``"lda"`` (scikit-learn's shrinkage LDA,
Ledoit-Wolf), ``"logreg"`` (L2 logistic regression, its strength ``C`` given, else chosen by
inner cross-validation) and ``"ridge"`` (ridge regression on +-1 targets, its strength chosen by
leave-one-out cross-validation, as MiniRocket does; its probabilities are the softmax of its
decision values, uncalibrated). All give ``softmax(z @ W + b)``: for two classes scikit-learn's
``[1 - sigmoid(d), sigmoid(d)]``, written as logits ``[0, d]``; for more,
``softmax(decision_function)``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.graph import OUTPUT, GraphParts

__all__ = ["Classifier", "LinearHead", "check_head"]

Classifier = Literal["lda", "logreg", "ridge"]
#: Ridge strengths searched by leave-one-out (MiniRocket's range).
_RIDGE_ALPHAS = np.logspace(-3, 3, 10)
_F64 = npt.NDArray[np.float64]
#: Smallest feature scale used, so a constant feature does not divide by zero.
_MIN_SCALE = 1e-12


def check_head(classifier: str, C: float | None) -> None:
    """Refuse a ``C`` that is not a positive number, or one given to a classifier without it.

    Raises
    ------
    ConfigError
        With ``key`` ``C``.
    """
    if C is None:
        return
    if isinstance(C, bool) or not isinstance(C, int | float) or not (math.isfinite(C) and C > 0):
        raise ConfigError(f"must be a number > 0, got {C!r}", key="C")
    if classifier != "logreg":
        raise ConfigError(
            f'sets the logistic regression\'s strength; classifier = "{classifier}" has none: '
            'set classifier = "logreg" or drop C',
            key="C",
        )


class LinearHead:
    """Standardisation and a linear classifier over feature vectors.

    Parameters
    ----------
    classifier : {"lda", "logreg", "ridge"}
        Which classifier (see the module docs).
    n_classes : int
        Number of classes, >= 2.
    inner_folds : int
        Folds of the inner cross-validation choosing the logistic regression's strength.
    seed : int
        Seed of the inner folds.
    C : float, optional
        The logistic regression's inverse regularisation strength; None: chosen by the inner
        cross-validation.
    """

    def __init__(
        self,
        classifier: Classifier,
        n_classes: int,
        inner_folds: int = 3,
        seed: int = 0,
        C: float | None = None,
    ) -> None:
        self.classifier = classifier
        self.C = C
        self.n_classes = n_classes
        self.inner_folds = inner_folds
        self.seed = seed
        self.mean: _F64 = np.empty(0)
        self.scale: _F64 = np.empty(0)
        self.weights: _F64 = np.empty((0, n_classes))  # (n_features, n_classes), on logits
        self.bias: _F64 = np.empty(n_classes)
        self._clf: Any = None

    def fit(self, F: _F64, y: npt.NDArray[np.intp]) -> None:
        """Standardise ``F`` (n_trials, n_features) with its own statistics and fit on it."""
        self.recentre(F)
        self.refit(F, y)

    def recentre(self, F: _F64) -> None:
        """Take the mean and scale of ``F`` (n_trials, n_features), e.g. a new session's."""
        self.mean = F.mean(axis=0)
        self.scale = np.maximum(F.std(axis=0), _MIN_SCALE)

    def refit(self, F: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit the classifier on ``F`` standardised with the current mean and scale."""
        z = (F - self.mean) / self.scale
        clf = self._make(int(np.bincount(y).min()) if len(y) else 0)
        clf.fit(z, y)
        coef = np.atleast_2d(np.asarray(clf.coef_, dtype=np.float64))
        intercept = np.asarray(clf.intercept_, dtype=np.float64).reshape(-1)
        if self.n_classes == 2:
            self.weights = np.stack([np.zeros(coef.shape[1]), coef[0]], axis=1)
            self.bias = np.array([0.0, intercept[0]])
        else:
            self.weights = coef.T.copy()
            self.bias = intercept.copy()
        self._clf = clf

    def predict_proba(self, F: _F64) -> _F64:
        """Class probabilities, shape (n_trials, n_classes), scikit-learn's when fitted here."""
        z = (F - self.mean) / self.scale
        if self._clf is not None and hasattr(self._clf, "predict_proba"):
            return np.asarray(self._clf.predict_proba(z), dtype=np.float64)
        logits = z @ self.weights + self.bias
        logits -= logits.max(axis=1, keepdims=True)
        e = np.exp(logits)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def graph(self, parts: GraphParts, features: str) -> None:
        """Append ``features`` (batch, n_features) -> :data:`OUTPUT` (batch, n_classes)."""
        z = parts.op("Sub", [features, parts.const("head_mean", self.mean)], "head_centred")
        z = parts.op("Mul", [z, parts.const("head_inv_scale", 1.0 / self.scale)], "head_z")
        logits = parts.op("MatMul", [z, parts.const("head_weights", self.weights)], "head_lin")
        logits = parts.op("Add", [logits, parts.const("head_bias", self.bias)], "head_logits")
        parts.op("Softmax", [logits], OUTPUT, axis=-1)

    def state(self) -> dict[str, Any]:
        """JSON-ready parameters, for the manifest (fine-tuning reads them back)."""
        return {
            "classifier": self.classifier,
            "C": self.C,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], n_classes: int, seed: int = 0) -> LinearHead:
        """Rebuild a fitted head from :meth:`state`."""
        head = cls(state["classifier"], n_classes, seed=seed, C=state.get("C"))
        head.mean = np.asarray(state["mean"], dtype=np.float64)
        head.scale = np.asarray(state["scale"], dtype=np.float64)
        head.weights = np.asarray(state["weights"], dtype=np.float64)
        head.bias = np.asarray(state["bias"], dtype=np.float64)
        return head

    def _make(self, fewest: int) -> Any:
        """Return the classifier; ``fewest`` trials in the smallest class cap the inner folds."""
        if self.classifier == "lda":
            from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

            return LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        if self.classifier == "ridge":
            from sklearn.linear_model import RidgeClassifierCV

            return RidgeClassifierCV(alphas=_RIDGE_ALPHAS)
        from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
        from sklearn.model_selection import StratifiedKFold

        if self.C is not None:
            return LogisticRegression(C=self.C, max_iter=10000)
        folds = min(self.inner_folds, fewest)
        if folds < 2:  # too few trials to tune the strength: scikit-learn's default, C = 1
            return LogisticRegression(max_iter=10000)
        return LogisticRegressionCV(
            Cs=np.logspace(-4, 2, 7),
            cv=StratifiedKFold(folds, shuffle=True, random_state=self.seed),
            l1_ratios=(0.0,),
            scoring="neg_log_loss",
            use_legacy_attributes=False,
            max_iter=10000,
        )
