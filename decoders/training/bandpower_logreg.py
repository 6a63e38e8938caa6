"""Log band power per channel with a linear classifier (rhythms: mu, beta, alpha).

Each channel's window is Hann-tapered and transformed with a real DFT written as two matrix
products (cos and sin, shape (W, n_bins),
only the bins inside a band); the power of the bins inside each band is averaged
and its natural log taken: ``n_channels * n_bands`` features, channel major. In ONNX: two
MatMul, two Mul, an Add, a MatMul with the (n_bins, n_bands) band-averaging matrix, Log,
Reshape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier, check_head

__all__ = ["BandPowerConfig", "BandPowerLogReg"]

_F64 = npt.NDArray[np.float64]
#: Added to band power (microvolts squared) before the log, so silence gives a finite feature.
_POWER_FLOOR = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class BandPowerConfig:
    """Parameters of ``family = "bandpower_logreg"``.

    Parameters
    ----------
    bands : tuple of (float, float)
        Frequency bands ``[low, high)`` in Hz; each must hold at least one DFT bin.
    classifier : {"lda", "logreg"}
        The linear stage: logistic regression (default) or shrinkage LDA.
    C : float, optional
        Logistic regression only: the inverse regularisation strength, > 0 (searchable:
        ``C = [0.1, 1, 10]``). Unset: chosen by inner cross-validation on the fitting trials.
    """

    bands: tuple[tuple[float, float], ...] = ((8.0, 13.0), (13.0, 30.0))
    classifier: Classifier = "logreg"
    C: float | None = None

    def __post_init__(self) -> None:
        check_head(self.classifier, self.C)
        if not self.bands:
            raise ConfigError("needs at least one band", key="bands")
        for i, (lo, hi) in enumerate(self.bands):
            if not 0 <= lo < hi:
                raise ConfigError(f"needs 0 <= low < high Hz, got [{lo}, {hi}]", key=f"bands[{i}]")


class BandPowerLogReg(FeatureFamily):
    """Log band power of each channel, then the linear head."""

    name: ClassVar[str] = "bandpower_logreg"
    Config = BandPowerConfig

    def __init__(
        self, config: BandPowerConfig, shape: WindowShape, n_classes: int, seed: int = 0
    ) -> None:
        self.classifier = config.classifier
        self.C = config.C
        super().__init__(shape, n_classes, seed)
        self.config = config
        n = shape.n_samples
        freqs = np.fft.rfftfreq(n, 1.0 / shape.sfreq)
        taper = np.hanning(n)
        t = np.arange(n)[:, None] * np.arange(freqs.size)[None, :]
        self._cos = taper[:, None] * np.cos(2 * np.pi * t / n)
        self._sin = taper[:, None] * np.sin(2 * np.pi * t / n)
        avg = np.zeros((freqs.size, len(config.bands)))
        for b, (lo, hi) in enumerate(config.bands):
            inside = (freqs >= lo) & (freqs < hi)
            if not inside.any():
                raise ConfigError(
                    f"[{lo}, {hi}) Hz holds no DFT bin of a {n}-sample window at "
                    f"{shape.sfreq:g} Hz (bins every {shape.sfreq / n:g} Hz up to "
                    f"{shape.sfreq / 2:g} Hz)",
                    key=f"bands[{b}]",
                )
            avg[inside, b] = 1.0 / inside.sum()
        used = avg.any(axis=1)  # only the bins inside some band are computed
        self._cos = np.ascontiguousarray(self._cos[:, used])
        self._sin = np.ascontiguousarray(self._sin[:, used])
        self._avg = np.ascontiguousarray(avg[used])

    def features(self, X: _F64) -> _F64:
        """Log band power, shape (n_trials, n_channels * n_bands)."""
        power = (X @ self._cos) ** 2 + (X @ self._sin) ** 2
        return np.asarray(
            np.log(power @ self._avg + _POWER_FLOOR).reshape(X.shape[0], -1), dtype=np.float64
        )

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> DFT power -> band means -> log -> (batch, C * n_bands)."""
        re = parts.op("MatMul", [window, parts.const("dft_cos", self._cos)], "dft_re")
        im = parts.op("MatMul", [window, parts.const("dft_sin", self._sin)], "dft_im")
        re2 = parts.op("Mul", [re, re], "dft_re2")
        im2 = parts.op("Mul", [im, im], "dft_im2")
        power = parts.op("Add", [re2, im2], "dft_power")
        bands = parts.op("MatMul", [power, parts.const("band_avg", self._avg)], "band_power")
        floor = parts.op("Add", [bands, parts.const("power_floor", _POWER_FLOOR)], "band_floor")
        logp = parts.op("Log", [floor], "band_log")
        n_features = self.shape.n_channels * len(self.config.bands)
        shape = parts.const("bp_shape", [0, n_features], np.int64)
        return parts.op("Reshape", [logp, shape], "features")

    def feature_state(self) -> dict[str, Any]:
        """Return the bands (the DFT matrices follow from them and the window shape)."""
        return {"bands": [list(b) for b in self.config.bands]}
