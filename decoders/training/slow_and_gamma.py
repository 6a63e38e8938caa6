"""Slow potentials and gamma power together: time-segment means plus log band power.

The winning entry of BCI Competition II Ia (Mensh, Werfel and Seung, 2004) combined the slow
cortical potential with gamma-band power. This family does the same with the two feature stages
that exist on their own: :class:`~decoders.training.segment_means.SegmentMeans` and the log
band power of :class:`~decoders.training.bandpower_logreg.BandPowerLogReg`, side by side
(``n_channels * segments + n_channels * n_bands`` features), then the linear head. In ONNX the
two stages read the same window and meet in a Concat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.bandpower_logreg import BandPowerConfig, BandPowerLogReg
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier, check_head
from decoders.training.segment_means import SegmentMeans, SegmentMeansConfig
from decoders.training.stage_graph import add_stage

__all__ = ["SlowAndGamma", "SlowAndGammaConfig"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class SlowAndGammaConfig:
    """Parameters of ``family = "segment_means_bandpower"``.

    Parameters
    ----------
    segments : int
        Number of equal time segments for the means, >= 1.
    start_s : float
        Seconds from the window's start before which the means ignore samples.
    bands : tuple of (float, float)
        Bands ``[low, high)`` in Hz whose log power is added, per channel.
    classifier : {"lda", "logreg"}
        The linear stage.
    C : float, optional
        Logistic regression only: the inverse regularisation strength, > 0 (searchable:
        ``C = [0.1, 1, 10]``). Unset: chosen by inner cross-validation on the fitting trials.
    """

    segments: int = 14
    start_s: float = 0.0
    bands: tuple[tuple[float, float], ...] = ((30.0, 45.0),)
    classifier: Classifier = "logreg"
    C: float | None = None

    def __post_init__(self) -> None:
        check_head(self.classifier, self.C)
        if not self.bands:
            raise ConfigError("needs at least one band (else use segment_means_lda)", key="bands")


class SlowAndGamma(FeatureFamily):
    """Segment means and log band power of each channel, then the linear head."""

    name: ClassVar[str] = "segment_means_bandpower"
    Config = SlowAndGammaConfig

    def __init__(
        self, config: SlowAndGammaConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        self.C = config.C
        super().__init__(shape, n_classes, seed)
        self.config = config
        self._slow = SegmentMeans(
            SegmentMeansConfig(segments=config.segments, start_s=config.start_s),
            shape,
            n_classes,
            seed,
        )
        self._power = BandPowerLogReg(BandPowerConfig(bands=config.bands), shape, n_classes, seed)

    def features(self, X: _F64) -> _F64:
        """Segment means then log band power, shape (n_trials, C * segments + C * n_bands)."""
        return np.hstack([self._slow.features(X), self._power.features(X)])

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Both feature stages on the same window, concatenated along the feature axis."""
        slow = add_stage(parts, self._slow, "slow_", window)
        power = add_stage(parts, self._power, "power_", window)
        return parts.op("Concat", [slow, power], "features", axis=1)

    def feature_state(self) -> dict[str, Any]:
        """Return both stages' parameters."""
        return {"slow": self._slow.feature_state(), "power": self._power.feature_state()}
