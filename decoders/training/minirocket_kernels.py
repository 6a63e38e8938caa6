"""MiniRocket's fixed random convolutions, in numpy: kernels, dilations, channel picks, biases.

After Dempster, Schmidt and Webb (2021), "MiniRocket: a very fast (almost) deterministic
transform for time series classification", multivariate variant. The 84 kernels have length 9,
weight 2 at three of the nine taps and -1 at the other six (so they sum to zero and ignore a
window's offset). Each kernel is used at several dilations, spaced exponentially from 1 to
``(W - 1) / 8``; at each (dilation, kernel) pair it sums its convolution over a random subset of
1 to 9 channels, is zero-padded to the window's length for every other pair (the rest use only
the valid part), and is compared with biases taken at low-discrepancy quantiles of the
convolution of one random training window. A feature pools ``conv - bias`` over time: the
proportion of positive values (PPV), or MultiRocket's other operators
(:mod:`decoders.training.rocket_pooling`).

Exactness: the window is first scaled by a power of two and rounded to integers
(:attr:`Kernels.scale_exp`, chosen so the largest training window's convolutions stay below
2^22), and biases are float32 numbers. Integer sums below 2^24 are exact in float32 as in
float64, so the ONNX graph and numpy compare the very same numbers and count the very same
positives; only the final means and the linear head differ by float32 rounding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from decoders.training.rocket_pooling import N_STATS, group_stats, pool

__all__ = ["KERNELS", "KERNEL_LENGTH", "Group", "Kernels", "fit_kernels", "transform"]

_F64 = npt.NDArray[np.float64]
KERNEL_LENGTH = 9
#: The 84 kernels: weights (84, 9), 2 at three taps and -1 at the other six.
KERNELS: _F64 = np.full((84, KERNEL_LENGTH), -1.0)
for _k, _taps in enumerate(itertools.combinations(range(KERNEL_LENGTH), 3)):
    KERNELS[_k, list(_taps)] = 2.0
#: Most dilations per kernel (MiniRocket's default).
_MAX_DILATIONS = 32
#: Convolution sums of the scaled, rounded training windows stay below this.
_EXACT_LIMIT = 2.0**22
#: Trials transformed per block, to bound memory (84 x W x 8 bytes each).
_BLOCK = 32
_GOLDEN = (math.sqrt(5.0) + 1.0) / 2.0


@dataclass(frozen=True, slots=True)
class Group:
    """The kernels of one dilation that share padding, and their biases.

    Parameters
    ----------
    dilation : int
        Spacing of the kernel's taps, in samples.
    padded : bool
        Zero-padded by ``4 * dilation`` each side (output of the window's length) or not
        (output of ``W - 8 * dilation`` samples).
    kernels : ndarray of int, shape (K,)
        Indices into :data:`KERNELS`.
    channels : ndarray of float, shape (K, n_channels)
        1 where the kernel sums that channel's convolution, else 0.
    biases : ndarray of float, shape (K, n_biases)
        Thresholds, in scaled integer units, each exactly a float32 number.
    """

    dilation: int
    padded: bool
    kernels: npt.NDArray[np.intp]
    channels: _F64
    biases: _F64

    def output_length(self, n_samples: int) -> int:
        """Return the samples of the convolution of a window of ``n_samples``."""
        return n_samples if self.padded else n_samples - (KERNEL_LENGTH - 1) * self.dilation

    def weights(self) -> _F64:
        """Convolution weights (K, n_channels, 9): each kernel on its channels, zero elsewhere."""
        return np.asarray(
            self.channels[:, :, None] * KERNELS[self.kernels][:, None, :], dtype=np.float64
        )


@dataclass(frozen=True, slots=True)
class Kernels:
    """A fitted MiniRocket transform: the window's scaling and the groups, in feature order."""

    scale_exp: int
    groups: tuple[Group, ...]

    @property
    def n_features(self) -> int:
        """(kernel, bias) pairs: features per pooling operator."""
        return sum(g.biases.size for g in self.groups)

    def pair_lengths(self, n_samples: int) -> _F64:
        """Return each pair's convolution length (samples) for windows of ``n_samples``: (M,)."""
        return np.concatenate(
            [np.full(g.biases.size, float(g.output_length(n_samples))) for g in self.groups]
        )

    def pair_biases(self) -> _F64:
        """Return each pair's bias, shape (n_features,), in pair order."""
        return np.concatenate([g.biases.reshape(-1) for g in self.groups])


def _dilations(n_samples: int, per_kernel: int) -> tuple[list[int], list[int]]:
    """Dilations and how many features each kernel takes at each (MiniRocket's scheme)."""
    n_dilations = min(per_kernel, _MAX_DILATIONS)
    top = math.log2((n_samples - 1) / (KERNEL_LENGTH - 1))
    raw = np.floor(np.logspace(0, top, n_dilations, base=2)).astype(int)
    dilations, counts = np.unique(raw, return_counts=True)
    share = (counts * per_kernel / n_dilations).astype(int)
    share[: per_kernel - int(share.sum())] += 1
    return [int(d) for d in dilations], [int(s) for s in share]


def scale_exponent(X: _F64) -> int:
    """Power of two that maps ``X`` (n, C, W) to integers whose convolutions stay exact."""
    peak = float(np.max(np.abs(X)))
    bound = 12.0 * min(X.shape[1], KERNEL_LENGTH) * max(peak, 1e-30)  # 12 = sum |weights|
    return math.floor(math.log2(_EXACT_LIMIT / bound))


def quantise(X: _F64, scale_exp: int) -> _F64:
    """``round(X * 2^scale_exp)``, as float64 integers (float32 input gives the graph's)."""
    return np.asarray(np.round(X.astype(np.float32) * np.float32(2.0**scale_exp)), np.float64)


def _convolve(Xq: _F64, group_weights: _F64, dilation: int, padded: bool) -> _F64:
    """Convolutions (n, K, L) of integer windows ``Xq`` (n, C, W) with weights (K, C, 9)."""
    n, c = Xq.shape[:2]
    pad = (KERNEL_LENGTH - 1) // 2 * dilation
    if padded:
        Xq = np.pad(Xq, ((0, 0), (0, 0), (pad, pad)))
    length = Xq.shape[2] - 2 * pad
    taps = np.stack(
        [Xq[:, :, i * dilation : i * dilation + length] for i in range(KERNEL_LENGTH)], axis=2
    )  # (n, C, 9, L)
    flat = group_weights.reshape(group_weights.shape[0], c * KERNEL_LENGTH)
    return np.asarray(flat @ taps.reshape(n, c * KERNEL_LENGTH, length), dtype=np.float64)


def fit_kernels(X: _F64, n_features: int, seed: int) -> Kernels:
    """Fit the transform on training windows ``X`` (n, C, W): channel picks and biases.

    Parameters
    ----------
    X : ndarray, shape (n_trials, n_channels, n_samples)
        Training windows (microvolts); no labels are used.
    n_features : int
        Wanted features; rounded down to a multiple of 84 (at least 84).
    seed : int
        Seed of the channel picks and of the windows the biases come from.
    """
    n, c, w = X.shape
    rng = np.random.default_rng(seed)
    scale_exp = scale_exponent(X)
    Xq = quantise(X, scale_exp)
    dilations, shares = _dilations(w, max(n_features // len(KERNELS), 1))
    groups = []
    quantile_index = 0
    for pair, (dilation, share) in enumerate(zip(dilations, shares, strict=True)):
        picks = np.zeros((len(KERNELS), c))
        most = math.log2(min(c, KERNEL_LENGTH) + 1)
        for k in range(len(KERNELS)):
            size = int(2 ** rng.uniform(0, most))
            picks[k, rng.choice(c, size=min(size, c), replace=False)] = 1.0
        padded = np.array([(pair + k) % 2 == 0 for k in range(len(KERNELS))])
        examples = rng.integers(0, n, len(KERNELS))
        quantiles = ((np.arange(share) + quantile_index + 1) * _GOLDEN) % 1.0
        quantile_index += share
        for pad in (True, False):
            kernels = np.flatnonzero(padded == pad)
            group = Group(dilation, pad, kernels, picks[kernels], np.empty((len(kernels), 0)))
            conv = _convolve(Xq[examples[kernels]], group.weights(), dilation, pad)
            # Each kernel's own example: the diagonal of (kernel, example) pairs.
            own = conv[np.arange(len(kernels)), np.arange(len(kernels))]
            biases = np.quantile(own, quantiles, axis=1).T.astype(np.float32).astype(np.float64)
            groups.append(Group(dilation, pad, kernels, picks[kernels], biases))
    return Kernels(scale_exp, tuple(groups))


def transform(kernels: Kernels, X: _F64, operators: Sequence[str] = ("ppv",)) -> _F64:
    """Pooled features (n_trials, len(operators) * n_features) of windows ``X`` (n, C, W).

    Operator by operator, each block in (kernel, bias) pair order (see
    :func:`decoders.training.rocket_pooling.pool`); ``("ppv",)`` gives MiniRocket's features.
    """
    Xq = quantise(X, kernels.scale_exp)
    ppv_only = tuple(operators) == ("ppv",)
    stats = np.zeros((X.shape[0], kernels.n_features, N_STATS))
    longest = "lspv" in operators
    for start in range(0, X.shape[0], _BLOCK):
        block = Xq[start : start + _BLOCK]
        rows = slice(start, start + len(block))
        column = 0
        for g in kernels.groups:
            conv = _convolve(block, g.weights(), g.dilation, g.padded)  # (b, K, L)
            pairs = slice(column, column + g.biases.size)
            if ppv_only:  # the count alone, without the other sums
                positive = conv[:, :, None, :] > g.biases[None, :, :, None]
                stats[rows, pairs, 0] = positive.sum(axis=3).reshape(len(block), -1)
            else:
                stats[rows, pairs] = group_stats(conv, g.biases, longest)
            column += g.biases.size
    return pool(stats, kernels.pair_lengths(X.shape[2]), operators)
