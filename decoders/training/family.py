"""What a decoder family is: a feature stage fitted on windows, then the shared linear head.

Every family maps a window of filtered samples, shape (n_trials, n_channels, n_samples) in the
stream's units (microvolts), to class probabilities, in numpy/scikit-learn (``predict_proba``)
and as one ONNX graph (``to_onnx``) that computes the same thing from the same float32 window.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import numpy.typing as npt
import onnx

from decoders.training.graph import INPUT, GraphParts, make_model
from decoders.training.head import Classifier, LinearHead

__all__ = ["Family", "FeatureFamily", "WindowShape"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WindowShape:
    """The window a decoder reads: ``n_channels`` x ``n_samples`` at ``sfreq`` Hz."""

    n_channels: int
    n_samples: int
    sfreq: float


class Family(Protocol):
    """The contract of a decoder family (see the module docs)."""

    name: ClassVar[str]

    def fit(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit on windows ``X`` (n_trials, n_channels, n_samples) and class indices ``y``."""

    def predict_proba(self, X: _F64) -> _F64:
        """Probabilities (n_trials, n_classes) for windows ``X``."""

    def to_onnx(self) -> onnx.ModelProto:
        """Export the whole decoder: ``window`` (batch, C, W) -> ``probabilities``."""

    def state(self) -> dict[str, Any]:
        """JSON-ready parameters, enough to rebuild the fitted decoder."""

    def adapt(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fine-tune to a new session: re-centre, then refit the linear stage only."""


class FeatureFamily:
    """Base of the built-in families: ``features`` (subclass) + :class:`LinearHead`."""

    name: ClassVar[str] = ""
    #: Classifier of the head, set by each subclass's config.
    classifier: Classifier = "lda"
    #: Strength of a logistic regression head, set by each subclass's config (None: inner CV).
    C: float | None = None

    def __init__(self, shape: WindowShape, n_classes: int, seed: int = 0) -> None:
        self.shape = shape
        self.n_classes = n_classes
        self.seed = seed
        self.head = LinearHead(self.classifier, n_classes, seed=seed, C=self.C)

    # -- what subclasses write --------------------------------------------------------------

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit the feature stage (nothing to fit by default)."""

    def features(self, X: _F64) -> _F64:
        """Features (n_trials, n_features) of windows ``X`` (n_trials, C, W)."""
        raise NotImplementedError

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Append the feature stage; return the name of its (batch, n_features) output."""
        raise NotImplementedError

    def feature_state(self) -> dict[str, Any]:
        """JSON-ready fitted parameters of the feature stage."""
        return {}

    def load_feature_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`feature_state` returned."""

    # -- shared -----------------------------------------------------------------------------

    def fit(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit the feature stage, then the head, on ``X`` (n_trials, C, W) and ``y``."""
        self._check(X)
        self.fit_features(X, y)
        self._fit_head(self.features(X), y)

    def predict_proba(self, X: _F64) -> _F64:
        """Probabilities (n_trials, n_classes)."""
        self._check(X)
        return self.head.predict_proba(self.features(X))

    def adapt(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Re-standardise features with the new data's statistics and refit the head on it."""
        self._check(X)
        self._fit_head(self.features(X), y)

    def _fit_head(self, F: _F64, y: npt.NDArray[np.intp]) -> None:
        """Standardise features ``F`` (n_trials, n_features) by their own statistics, fit the head.

        A family that weighs blocks of features differently adjusts the scale in between.
        """
        self.head.recentre(F)
        self.head.refit(F, y)

    def to_onnx(self) -> onnx.ModelProto:
        """Export the whole decoder as a checked ONNX model."""
        parts = GraphParts()
        features = self.feature_graph(parts, INPUT)
        self.head.graph(parts, features)
        return make_model(
            parts, self.name, self.shape.n_channels, self.shape.n_samples, self.n_classes
        )

    def state(self) -> dict[str, Any]:
        """Family name, feature parameters and head, JSON-ready."""
        config = getattr(self, "config", None)
        settings = (
            dataclasses.asdict(config)
            if dataclasses.is_dataclass(config) and not isinstance(config, type)
            else {}
        )
        return {
            "name": self.name,
            "config": json.loads(json.dumps(settings)),
            "features": self.feature_state(),
            "head": self.head.state(),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore a fitted decoder from :meth:`state`."""
        self.load_feature_state(state["features"])
        self.head = LinearHead.from_state(state["head"], self.n_classes, seed=self.seed)

    def _check(self, X: _F64) -> None:
        want = (self.shape.n_channels, self.shape.n_samples)
        if X.ndim != 3 or X.shape[1:] != want:
            raise ValueError(
                f"{self.name}: expected windows of shape (n, {want[0]}, {want[1]}), got {X.shape}"
            )
