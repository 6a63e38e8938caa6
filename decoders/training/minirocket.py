"""MiniRocket / MultiRocket: pooled random dilated convolutions, then the linear head.

The transform is :mod:`decoders.training.minirocket_kernels` (multivariate MiniRocket: each
kernel at each dilation sums its convolution over a random channel subset), pooled over time by
the ``pooling`` operators of :mod:`decoders.training.rocket_pooling`: PPV alone is MiniRocket
(Dempster et al. 2021); PPV, MPV, MIPV and LSPV together are MultiRocket's pooling (Tan et al.
2022). The head is the shared
:class:`~decoders.training.head.LinearHead` on standardised features: ridge (MiniRocket's),
logistic regression or shrinkage LDA.

With ``differences = true`` half the combinations go to a second, independent
transform of the window's first difference along time (``x[t + 1] - x[t]``, as MultiRocket
does), with its own kernels' channel picks and biases; its features follow the signal's and
the window's cost stays about the same. ``differences = true`` with all four operators and the
ridge head is MultiRocket's recipe, at a feature count bounded by the runtime's budget.

With ``segments = S > 0`` the window's slow potential goes in beside the convolutions: the
per-channel means over ``S`` equal time segments (the stage of
:class:`~decoders.training.segment_means.SegmentMeans`), ``n_channels * S`` features after the
pooled ones. The 84 kernels' weights (-1 and 2) sum to zero, so a convolution is blind to the
window's offset: the random convolutions cannot see the level of a slow cortical potential,
which is what SCP1's classes differ in and what segment means measure. Standardised one by one,
a few thousand convolution features would outweigh ~100 means in the head's penalty (ridge's
kernel ``Z Z^T`` is the sum of the blocks' kernels, each with a trace proportional to its
feature count), so the head gives the means block a total variance of ``slow_weight`` times the
convolutions' (1: equal), whatever the counts.

Every setting is a single value; ``bci-bridge train`` chooses among lists of them by repeated
cross-validation on the training data (:mod:`decoders.training.grid`).

In ONNX: the first difference (if used) is a Sub of two Slices; each series' transform is laid
out by :mod:`decoders.training.minirocket_graph`; the segment means (if used) are one MatMul of
the window; then Concat and the head (the block weight is folded into its scale).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.budget import DEFAULT_WINDOW_US, check_budget
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.graph import GraphParts
from decoders.training.head import Classifier
from decoders.training.minirocket_graph import transform_graph
from decoders.training.minirocket_kernels import (
    KERNEL_LENGTH,
    KERNELS,
    Group,
    Kernels,
    fit_kernels,
    transform,
)
from decoders.training.rocket_pooling import OPERATORS
from decoders.training.segment_means import SegmentMeans, SegmentMeansConfig
from decoders.training.stage_graph import add_stage

__all__ = ["MiniRocket", "MiniRocketConfig", "estimated_window_us"]

_F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, kw_only=True)
class MiniRocketConfig:
    """Parameters of ``family = "minirocket"``.

    Parameters
    ----------
    features : int
        Features in all (as MiniRocket's and MultiRocket's ``num_features`` count them): each
        (kernel, dilation, bias) combination yields one per pooling operator, and with
        ``differences`` half the combinations go to each series. The combinations per series,
        ``features / (operators x series)``, are rounded down to a multiple of 84 and must be
        at least 84. The window's cost grows with the combinations.
    differences : bool
        Give half the combinations to the window's first difference (see the module docs).
    pooling : tuple of str
        Pooling operators, a non-empty subset of ``("ppv", "mpv", "mipv", "lspv")`` in that
        order.
    classifier : {"lda", "logreg", "ridge"}
        The linear stage.
    max_window_us : float
        Bound on one window's estimated cost on one thread (microseconds,
        :func:`estimated_window_us`); a candidate over it is skipped by selection
        (:mod:`decoders.training.budget`). ``inf`` lifts it, for exploration.
    segments : int
        Per-channel means over this many equal time segments of the window, added after the
        pooled features (``n_channels * segments`` more features); 0 (default): none.
    slow_weight : float
        With ``segments``: the segment means' total variance in the head, relative to the
        convolution features', after standardisation; 1 (default) gives both blocks the same,
        whatever their counts (each mean is multiplied by ``sqrt(slow_weight * n_pooled /
        n_means)``). Plain standardisation would be ``n_means / n_pooled`` (e.g. 168 means
        beside 2688 pooled features: 1/16). > 0; unused without segments.
    """

    features: int = 1008
    differences: bool = False
    pooling: tuple[str, ...] = ("ppv",)
    classifier: Classifier = "logreg"
    max_window_us: float = DEFAULT_WINDOW_US
    segments: int = 0
    slow_weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.differences, bool):
            raise ConfigError(f"must be true or false, got {self.differences!r}", key="differences")
        pooling = tuple(self.pooling)
        if not pooling or pooling != tuple(op for op in OPERATORS if op in pooling):
            raise ConfigError(
                f"must be a non-empty subset of {list(OPERATORS)} in that order, "
                f"got {list(pooling)!r}",
                key="pooling",
            )
        object.__setattr__(self, "pooling", pooling)
        if (
            isinstance(self.max_window_us, bool)
            or not isinstance(self.max_window_us, int | float)
            or not self.max_window_us > 0
        ):
            raise ConfigError(
                f"must be a time > 0 us (inf: no bound), got {self.max_window_us!r}",
                key="max_window_us",
            )
        least = len(KERNELS) * len(pooling) * (2 if self.differences else 1)
        if (
            isinstance(self.features, bool)
            or not isinstance(self.features, int)
            or self.features < least
        ):
            raise ConfigError(
                f"must be a count >= {least} (84 per operator and series), got {self.features!r}",
                key="features",
            )
        if (
            isinstance(self.segments, bool)
            or not isinstance(self.segments, int)
            or self.segments < 0
        ):
            raise ConfigError(
                f"must be a count >= 0 of time segments (0: no segment means), "
                f"got {self.segments!r}",
                key="segments",
            )
        if (
            isinstance(self.slow_weight, bool)
            or not isinstance(self.slow_weight, int | float)
            or not (math.isfinite(self.slow_weight) and self.slow_weight > 0)
        ):
            raise ConfigError(
                f"must be a number > 0 (1: segment means and convolutions weigh alike), "
                f"got {self.slow_weight!r}",
                key="slow_weight",
            )

    @property
    def per_series(self) -> int:
        """Combinations each series gets (a multiple of 84)."""
        share = self.features // (len(self.pooling) * (2 if self.differences else 1))
        return share // len(KERNELS) * len(KERNELS)


#: :func:`estimated_window_us`'s model, fitted to ``benchmarks/family_windows.py`` on the 2-core
#: development machine: a fixed part, and per 1000 (pair, sample) comparisons the cost of PPV's
#: count alone, of the MatMuls of MPV and MIPV, and of LSPV's runs on top of them; per 1000
#: multiply-adds of the segment means' MatMul (channel x sample x segment), their cost
#: (``benchmarks/segment_means_window.py``: 0.005 to 0.02, rounded up for the Concat and head).
_FIXED_US = 50.0
_PPV_US = 0.9
_SUMS_US = 3.0
_RUNS_US = 3.5
_MEANS_US = 0.05


def estimated_window_us(config: MiniRocketConfig, n_samples: int, n_channels: int) -> float:
    """Estimated p50 of one window of ``n_channels`` x ``n_samples`` through the ONNX graph (us).

    One thread. The graph compares every (kernel, bias) pair's convolution with its bias at
    every sample of the window (valid-only convolutions are masked, not shortened), so the cost
    follows the pair-samples: pairs per series x series x samples, weighted by the pooling's
    work. The model is within about 25 % of the p50s measured at 64 and 128 Hz (README), mostly
    below. The segment means (``segments > 0``) add their MatMul's multiply-adds,
    ``n_channels x n_samples x segments``: a few microseconds.
    """
    series = 2 if config.differences else 1
    pair_samples = config.per_series * series * n_samples / 1000.0
    if config.pooling == ("ppv",):
        per = _PPV_US
    else:
        per = _SUMS_US + (_RUNS_US if "lspv" in config.pooling else 0.0)
    means = n_channels * n_samples * config.segments / 1000.0
    return _FIXED_US + per * pair_samples + _MEANS_US * means


class MiniRocket(FeatureFamily):
    """Pooled random dilated convolutions (MiniRocket, MultiRocket), then the linear head."""

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
        means = f" and {config.segments} segment means" if config.segments else ""
        check_budget(
            estimated_window_us(config, shape.n_samples, shape.n_channels),
            config.max_window_us,
            f"{config.features} features{means} of {shape.n_samples}-sample windows",
        )
        #: The segment means' stage, if used (its own head is never fitted).
        self.slow = (
            SegmentMeans(SegmentMeansConfig(segments=config.segments), shape, n_classes, seed)
            if config.segments
            else None
        )
        self.kernels: Kernels | None = None
        #: Transform of the first difference, if used.
        self.diff_kernels: Kernels | None = None

    def fit_features(self, X: _F64, y: npt.NDArray[np.intp]) -> None:
        """Fit kernels and biases on the training windows (no labels are used)."""
        count = self.config.per_series
        self.kernels = fit_kernels(X, count, self.seed)
        self.diff_kernels = (
            fit_kernels(_difference(X), count, self.seed + 1) if self.config.differences else None
        )

    def features(self, X: _F64) -> _F64:
        """Features of windows ``X`` (n_trials, C, W), shape (n_trials, n_features).

        The signal's pooled features, then the difference's (if used), then the segment means
        (if used, ``C * segments``, channel major, in the window's units).
        """
        ops = self.config.pooling
        blocks = [transform(self._fitted(), X, ops)]
        if self.diff_kernels is not None:
            blocks.append(transform(self.diff_kernels, _difference(X), ops))
        if self.slow is not None:
            blocks.append(self.slow.features(X))
        return np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]

    def _fit_head(self, F: _F64, y: npt.NDArray[np.intp]) -> None:
        """Standardise ``F``, weigh the segment means' block (see the config), fit the head."""
        self.head.recentre(F)
        if self.slow is not None:
            n_means = self.shape.n_channels * self.config.segments
            n_pooled = F.shape[1] - n_means
            weight = math.sqrt(self.config.slow_weight * n_pooled / n_means)
            self.head.scale[n_pooled:] /= weight  # z = (F - mean) / scale: the means x weight
        self.head.refit(F, y)

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
        """Return the counts, the pooling, and per series its scaling and groups.

        ``n_features`` (pooled and means), ``pooling``, ``segments``, and per series its input,
        ``scale_exp`` and groups (dilation, padding, kernels, channels, biases).
        """
        pooled = sum(k.n_features for _, k in self._series()) * len(self.config.pooling)
        return {
            "n_features": pooled + self.shape.n_channels * self.config.segments,
            "pooling": list(self.config.pooling),
            "segments": self.config.segments,
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
        """Restore the transforms from :meth:`feature_state` (made with the same config)."""
        segments = int(state.get("segments", 0))  # manifests from before segments: none
        if segments != self.config.segments:
            raise ValueError(
                f"{self.name}: the state has {segments} segment means, the config "
                f"{self.config.segments}"
            )
        series = {entry["input"]: _load_kernels(entry) for entry in state["series"]}
        self.kernels = series["signal"]
        self.diff_kernels = series.get("difference")

    def feature_graph(self, parts: GraphParts, window: str) -> str:
        """Window (batch, C, W) -> scaled integers -> Conv per group -> pooled (batch, F).

        With segments, the window's means (batch, C * segments) are concatenated after.
        """
        outputs: list[str] = []
        for source, kernels in self._series():
            series, w = window, self.shape.n_samples
            if source == "difference":
                later = _slice(parts, window, 1, w, "mr_later")
                earlier = _slice(parts, window, 0, w - 1, "mr_earlier")
                series, w = parts.op("Sub", [later, earlier], "mr_diff"), w - 1
            outputs.append(
                transform_graph(parts, series, w, kernels, self.config.pooling, f"mr_{source[0]}")
            )
        if self.slow is not None:
            outputs.append(add_stage(parts, self.slow, "mr_slow_", window))
        return parts.op("Concat", outputs, "features", axis=1)


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
