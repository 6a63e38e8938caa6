"""Time-segment means with a linear classifier: slow cortical potentials, ERPs.

The window's samples from ``start_s`` on are split into ``segments`` equal parts (the first
few leftover samples are dropped); each channel's mean over each part is a feature, channel
major: ``n_channels * segments`` features. In ONNX: one MatMul of the window
(batch, C, W) with a (W, segments) averaging matrix, and a Reshape.
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

__all__ = ["SegmentMeans", "SegmentMeansConfig"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SegmentMeansConfig:
    """Parameters of ``family = "segment_means_lda"``.

    Parameters
    ----------
    segments : int
        Number of equal time segments, >= 1.
    start_s : float
        Seconds from the window's start before which samples are ignored, >= 0.
    classifier : {"lda", "logreg"}
        The linear stage: shrinkage LDA (default) or logistic regression.
    C : float, optional
        Logistic regression only: the inverse regularisation strength, > 0 (searchable:
        ``C = [0.1, 1, 10]``). Unset: chosen by inner cross-validation on the fitting trials.
    """

    segments: int = 4
    start_s: float = 0.0
    classifier: Classifier = "lda"
    C: float | None = None

    def __post_init__(self) -> None:
        check_head(self.classifier, self.C)
        if self.segments < 1:
            raise ConfigError(f"must be >= 1, got {self.segments}", key="segments")
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise ConfigError(f"must be seconds >= 0, got {self.start_s}", key="start_s")


class SegmentMeans(FeatureFamily):
    """Per-channel means of time segments, then the linear head."""

    name: ClassVar[str] = "segment_means_lda"
    Config = SegmentMeansConfig

    def __init__(
        self, config: SegmentMeansConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        self.C = config.C
        super().__init__(shape, n_classes, seed)
        self.config = config
        start = round(config.start_s * shape.sfreq)
        usable = shape.n_samples - start
        if usable < config.segments:
            raise ConfigError(
                f"{usable} samples from start_s={config.start_s:g} s on cannot make "
                f"{config.segments} segments",
                key="segments",
            )
        length = usable // config.segments
        first = shape.n_samples - length * config.segments
        avg = np.zeros((shape.n_samples, config.segments))
        for s in range(config.segments):
            avg[first + s * length : first + (s + 1) * length, s] = 1.0 / length
        self._avg = avg

    def features(self, X: _F64) -> _F64:
        """Segment means, shape (n_trials, n_channels * segments)."""
        return np.asarray((X @ self._avg).reshape(X.shape[0], -1), dtype=np.float64)

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) @ averaging (W, S) -> (batch, C * S)."""
        means = parts.op("MatMul", [window, parts.const("segment_avg", self._avg)], "seg_means")
        shape = parts.const(
            "seg_shape", [0, self.shape.n_channels * self.config.segments], np.int64
        )
        return parts.op("Reshape", [means, shape], "features")

    def feature_state(self) -> dict[str, Any]:
        """Return the config (the averaging matrix follows from it and the window shape)."""
        return {"segments": self.config.segments, "start_s": self.config.start_s}
