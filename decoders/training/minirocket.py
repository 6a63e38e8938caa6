"""MiniRocket: proportions of positive values of fixed random convolutions, then the head.

The transform is :mod:`decoders.training.minirocket_kernels` (multivariate MiniRocket: each
kernel at each dilation sums its convolution over a random channel subset). The head is the
shared :class:`~decoders.training.head.LinearHead` on standardised features: logistic
regression (default; its strength chosen by inner cross-validation) or shrinkage LDA.

With ``differences = true`` a second, independent transform of the same size runs on the
window's first difference along time (``x[t + 1] - x[t]``, as MultiRocket does), and its
features follow the signal's.

The settings are chosen by the family itself, on the training data only: when ``features``
lists more than one count or ``differences`` more than one choice, each combination is scored
by stratified ``select_folds``-fold cross-validation of the head (seeded with the family's
seed) on the combination's features, and the best mean accuracy wins (ties: the first in the
order count, then without differences). Kernels and biases use no labels, so they are fitted
once per combination on all training windows; only the head is cross-validated. The scores are
in :meth:`MiniRocket.feature_state` (``selection``, keyed ``"1008"`` or ``"1008+diff"``).

In ONNX: the first difference (if used) is a Sub of two Slices; each series is scaled by
``2^scale_exp`` and rounded (Mul, Round); per dilation one Conv with ``dilations`` and zero
``pads`` for the padded kernels and one without, whose weights hold each kernel on its channels
(zero elsewhere); Greater against the biases (K, n_biases, 1), Cast and ReduceMean over time
give the PPV features, then Concat and the head.
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
    differences : bool or tuple of bool
        Add features of the window's first difference (see the module docs), or the choices
        to choose from by cross-validation.
    select_folds : int
        Folds of that cross-validation, >= 2.
    classifier : {"lda", "logreg"}
        The linear stage: logistic regression (default) or shrinkage LDA.
    """

    features: int | tuple[int, ...] = 1008
    differences: bool | tuple[bool, ...] = False
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
        if not self.difference_choices() or not all(
            isinstance(d, bool) for d in self.difference_choices()
        ):
            raise ConfigError(
                f"must be true, false or a list of them, got {self.differences!r}",
                key="differences",
            )
        if self.select_folds < 2:
            raise ConfigError(f"must be >= 2, got {self.select_folds}", key="select_folds")

    def candidates(self) -> tuple[int, ...]:
        """Return the feature counts to consider."""
        return (self.features,) if isinstance(self.features, int) else tuple(self.features)

    def difference_choices(self) -> tuple[bool, ...]:
        """Return the ``differences`` settings to consider."""
        d = self.differences
        return (d,) if isinstance(d, bool) else tuple(d)


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
        #: Transform of the first difference, if used.
        self.diff_kernels: Kernels | None = None
        #: Mean cross-validated accuracy per setting (empty when there was nothing to choose).
        self.selection: dict[str, float] = {}

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit kernels and biases; with several candidate settings, choose one by CV first."""
        candidates = [
            (count, diff)
            for count in self.config.candidates()
            for diff in self.config.difference_choices()
        ]
        self.selection = {}
        chosen = candidates[0]
        if len(candidates) > 1:
            for count, diff in candidates:
                self._fit_transforms(X, count, diff)
                self.selection[_key(count, diff)] = self._score(X, y)
            best = max(self.selection.values())
            chosen = next(c for c in candidates if self.selection[_key(*c)] == best)
        self._fit_transforms(X, *chosen)

    def _fit_transforms(self, X: _F64, count: int, diff: bool) -> None:
        self.kernels = fit_kernels(X, count, self.seed)
        self.diff_kernels = fit_kernels(_difference(X), count, self.seed + 1) if diff else None

    def _score(self, X: _F64, y: npt.NDArray[np.intp]) -> float:
        from sklearn.model_selection import StratifiedKFold

        F = self.features(X)
        folds = StratifiedKFold(self.config.select_folds, shuffle=True, random_state=self.seed)
        scores = []
        for fit_idx, val_idx in folds.split(F, y):
            head = LinearHead(self.classifier, self.n_classes, seed=self.seed)
            head.fit(F[fit_idx], y[fit_idx])
            scores.append(np.mean(head.predict_proba(F[val_idx]).argmax(axis=1) == y[val_idx]))
        return round(float(np.mean(scores)), 4)

    def features(self, X: _F64) -> _F64:
        """PPV features, shape (n_trials, n_features), each in [0, 1]."""
        F = transform(self._fitted(), X)
        if self.diff_kernels is None:
            return F
        return np.concatenate([F, transform(self.diff_kernels, _difference(X))], axis=1)

    def _fitted(self) -> Kernels:
        if self.kernels is None:
            raise ValueError(f"{self.name}: not fitted")
        return self.kernels

    def _series(self) -> list[tuple[str, Kernels]]:
        out = [("signal", self._fitted())]
        if self.diff_kernels is not None:
            out.append(("difference", self.diff_kernels))
        return out

    def feature_state(self) -> dict[str, Any]:
        """Return per series its scaling and groups (dilation, padding, kernels, biases...)."""
        return {
            "n_features": sum(k.n_features for _, k in self._series()),
            "selection": dict(self.selection),
            "series": [
                {
                    "input": source,
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
                for source, kernels in self._series()
            ],
        }

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore the transforms from :meth:`feature_state`."""
        series = {entry["input"]: _load_kernels(entry) for entry in state["series"]}
        self.kernels = series["signal"]
        self.diff_kernels = series.get("difference")
        self.selection = {str(k): float(v) for k, v in state.get("selection", {}).items()}

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> scaled integers -> Conv per group -> PPV (batch, F)."""
        outputs: list[str] = []
        for source, kernels in self._series():
            series = window
            if source == "difference":
                w = self.shape.n_samples
                later = _slice(parts, window, 1, w, "mr_later")
                earlier = _slice(parts, window, 0, w - 1, "mr_earlier")
                series = parts.op("Sub", [later, earlier], "mr_diff")
            outputs.extend(_ppv_graph(parts, series, kernels, f"mr_{source[0]}"))
        return parts.op("Concat", outputs, "features", axis=1)


def _key(count: int, diff: bool) -> str:
    return f"{count}+diff" if diff else str(count)


def _difference(X: _F64) -> _F64:
    """First difference along time (n, C, W - 1), in float32 arithmetic as the graph does."""
    return np.asarray(np.diff(X.astype(np.float32), axis=2), dtype=np.float64)


def _load_kernels(entry: dict[str, Any]) -> Kernels:
    groups = tuple(
        Group(
            int(g["dilation"]),
            bool(g["padded"]),
            np.asarray(g["kernels"], dtype=np.intp),
            np.asarray(g["channels"], dtype=np.float64).reshape(len(g["kernels"]), -1),
            np.asarray(g["biases"], dtype=np.float64).reshape(len(g["kernels"]), -1),
        )
        for g in entry["groups"]
    )
    return Kernels(int(entry["scale_exp"]), groups)


def _slice(parts: GraphParts, x: str, start: int, end: int, tag: str) -> str:
    """``x[:, :, start:end]``."""
    bounds = [parts.const(f"{tag}_{k}", [v], np.int64) for k, v in (("s", start), ("e", end))]
    return parts.op("Slice", [x, *bounds, parts.const(f"{tag}_axis", [2], np.int64)], tag)


def _ppv_graph(parts: GraphParts, series: str, kernels: Kernels, prefix: str) -> list[str]:
    """Append scaling, Conv and PPV of each group; return the (batch, K * n_biases) outputs."""
    scale = parts.const(f"{prefix}_scale", 2.0**kernels.scale_exp)
    xq = parts.op("Round", [parts.op("Mul", [series, scale], f"{prefix}_x")], f"{prefix}_xq")
    outputs = []
    for i, g in enumerate(kernels.groups):
        if not len(g.kernels):
            continue
        tag = f"{prefix}_g{i}"
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
    return outputs
