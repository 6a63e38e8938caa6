"""MiniRocket: proportions of positive values of fixed random convolutions, then the head.

The transform is :mod:`decoders.training.minirocket_kernels` (multivariate MiniRocket: each
kernel at each dilation sums its convolution over a random channel subset). The head is the
shared :class:`~decoders.training.head.LinearHead` on standardised features: logistic
regression (default; its strength chosen by inner cross-validation) or shrinkage LDA.

The feature count is chosen by the family itself, on the training data only: when ``features``
lists more than one count, each candidate is scored by stratified ``select_folds``-fold
cross-validation of the head (seeded with the family's seed) on the candidate's features, and
the best mean accuracy wins (ties: the smaller count). Kernels and biases use no labels, so
they are fitted once per candidate on all training windows; only the head is cross-validated.
The choice is in :meth:`MiniRocket.feature_state` (``n_features``, ``selection``).

In ONNX: the window is scaled by ``2^scale_exp`` and rounded (Mul, Round); per dilation one
Conv with ``dilations`` and zero ``pads`` for the padded kernels and one without, whose weights
hold each kernel on its channels (zero elsewhere); Greater against the biases (K, n_biases, 1),
Cast and ReduceMean over time give the PPV features, then Concat and the head.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from onnx import TensorProto

from bci_bridge.errors import ConfigError
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier, LinearHead
from decoders.training.minirocket_kernels import (
    KERNEL_LENGTH,
    KERNELS,
    Group,
    Kernels,
    fit_kernels,
    transform,
)

__all__ = ["MiniRocket", "MiniRocketConfig"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class MiniRocketConfig:
    """Parameters of ``family = "minirocket"``.

    Parameters
    ----------
    features : int or tuple of int
        Feature count (a multiple of 84 is used, at least 84), or candidates to choose from by
        cross-validation on the training data.
    select_folds : int
        Folds of that cross-validation, >= 2.
    classifier : {"lda", "logreg"}
        The linear stage: logistic regression (default) or shrinkage LDA.
    """

    features: int | tuple[int, ...] = 1008
    select_folds: int = 5
    classifier: Classifier = "logreg"

    def __post_init__(self) -> None:
        counts = self.candidates()
        if not counts or any(
            isinstance(f, bool) or not isinstance(f, int) or f < len(KERNELS) for f in counts
        ):
            raise ConfigError(
                f"must be a count >= {len(KERNELS)} or a list of them, got {self.features!r}",
                key="features",
            )
        if self.select_folds < 2:
            raise ConfigError(f"must be >= 2, got {self.select_folds}", key="select_folds")

    def candidates(self) -> tuple[int, ...]:
        """Return the feature counts to consider."""
        return (self.features,) if isinstance(self.features, int) else tuple(self.features)


class MiniRocket(FeatureFamily):
    """MiniRocket features (PPV of random dilated convolutions), then the linear head."""

    name: ClassVar[str] = "minirocket"
    Config = MiniRocketConfig

    def __init__(
        self, config: MiniRocketConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        super().__init__(shape, n_classes, seed)
        self.config = config
        if shape.n_samples < KERNEL_LENGTH + 1:
            raise ConfigError(
                f"needs windows of > {KERNEL_LENGTH} samples, got {shape.n_samples}", key="family"
            )
        self.kernels: Kernels | None = None
        #: Mean cross-validated accuracy of each candidate count (empty for a single count).
        self.selection: dict[int, float] = {}

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit kernels and biases; with several candidate counts, choose one by CV first."""
        candidates = self.config.candidates()
        self.selection = {}
        if len(candidates) > 1:
            for count in candidates:
                self.selection[count] = self._score(fit_kernels(X, count, self.seed), X, y)
            best = max(self.selection.values())
            count = min(c for c, s in self.selection.items() if s == best)
        else:
            count = candidates[0]
        self.kernels = fit_kernels(X, count, self.seed)

    def _score(self, kernels: Kernels, X: _F64, y: npt.NDArray[np.intp]) -> float:
        from sklearn.model_selection import StratifiedKFold

        F = transform(kernels, X)
        folds = StratifiedKFold(self.config.select_folds, shuffle=True, random_state=self.seed)
        scores = []
        for fit_idx, val_idx in folds.split(F, y):
            head = LinearHead(self.classifier, self.n_classes, seed=self.seed)
            head.fit(F[fit_idx], y[fit_idx])
            scores.append(np.mean(head.predict_proba(F[val_idx]).argmax(axis=1) == y[val_idx]))
        return round(float(np.mean(scores)), 4)

    def features(self, X: _F64) -> _F64:
        """PPV features, shape (n_trials, n_features), each in [0, 1]."""
        return transform(self._fitted(), X)

    def _fitted(self) -> Kernels:
        if self.kernels is None:
            raise ValueError(f"{self.name}: not fitted")
        return self.kernels

    def feature_state(self) -> dict[str, Any]:
        """Return the scaling, and per group its dilation, padding, kernels, channels, biases."""
        kernels = self._fitted()
        return {
            "n_features": kernels.n_features,
            "selection": {str(k): v for k, v in self.selection.items()},
            "scale_exp": kernels.scale_exp,
            "groups": [
                {
                    "dilation": g.dilation,
                    "padded": g.padded,
                    "kernels": g.kernels.tolist(),
                    "channels": g.channels.astype(int).tolist(),
                    "biases": g.biases.tolist(),
                }
                for g in kernels.groups
            ],
        }

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore the transform from :meth:`feature_state`."""
        groups = tuple(
            Group(
                int(g["dilation"]),
                bool(g["padded"]),
                np.asarray(g["kernels"], dtype=np.intp),
                np.asarray(g["channels"], dtype=np.float64).reshape(len(g["kernels"]), -1),
                np.asarray(g["biases"], dtype=np.float64).reshape(len(g["kernels"]), -1),
            )
            for g in state["groups"]
        )
        self.kernels = Kernels(int(state["scale_exp"]), groups)
        self.selection = {int(k): float(v) for k, v in state.get("selection", {}).items()}

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> scaled integers -> Conv per group -> PPV (batch, F)."""
        kernels = self._fitted()
        scaled = parts.op("Mul", [window, parts.const("mr_scale", 2.0**kernels.scale_exp)], "mr_x")
        xq = parts.op("Round", [scaled], "mr_xq")
        outputs = []
        for i, g in enumerate(kernels.groups):
            if not len(g.kernels):
                continue
            tag = f"mr_g{i}"
            pad = (KERNEL_LENGTH - 1) // 2 * g.dilation
            conv = parts.op(
                "Conv",
                [xq, parts.const(f"{tag}_w", g.weights())],
                f"{tag}_conv",
                dilations=[g.dilation],
                pads=[pad, pad] if g.padded else [0, 0],
                kernel_shape=[KERNEL_LENGTH],
            )  # (batch, K, L)
            axis = parts.const(f"{tag}_axis", [2], np.int64)
            conv = parts.op("Unsqueeze", [conv, axis], f"{tag}_conv4")  # (batch, K, 1, L)
            bias = parts.const(f"{tag}_b", g.biases[:, :, None])  # (K, n_biases, 1)
            positive = parts.op("Greater", [conv, bias], f"{tag}_pos")
            ones = parts.op("Cast", [positive], f"{tag}_posf", to=TensorProto.FLOAT)
            ppv = parts.op("ReduceMean", [ones], f"{tag}_ppv", axes=[3], keepdims=0)
            flat = parts.const(f"{tag}_flat", [0, g.biases.size], np.int64)
            outputs.append(parts.op("Reshape", [ppv, flat], f"{tag}_features"))
        return parts.op("Concat", outputs, "features", axis=1)
