"""The gate's statistics: a bootstrap interval for the median of per-block ratios, and the call.

Blocks alternate chain and floor (ABAB...), so block ``i`` of bci-bridge and block ``i`` of the
floor saw the same stretch of machine load. Their quotient (the per-block ratio) cancels most of
that load; what is left is noise around the true ratio. The gate takes the median of the
per-block ratios and a percentile bootstrap interval for it (resampling the blocks), then
decides against a limit (the baseline's ratio times ``1 + tolerance``):

- ``fail`` when the whole interval lies above the limit (a regression, whatever the noise);
- ``pass`` when the whole interval lies at or below it;
- ``undecided`` when it straddles the limit: more blocks are needed (the runner retries).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["Decision", "Interval", "decide", "median_interval"]

Decision = Literal["pass", "fail", "undecided"]

#: Bootstrap resamples; with a fixed seed the interval is a pure function of the ratios.
N_RESAMPLES = 4000
#: Two-sided confidence of the interval.
LEVEL = 0.90


@dataclass(frozen=True, slots=True)
class Interval:
    """The median of per-block ratios and its bootstrap interval (dimensionless)."""

    median: float
    low: float
    high: float
    n_blocks: int


def median_interval(
    ratios: npt.ArrayLike, *, level: float = LEVEL, n_resamples: int = N_RESAMPLES, seed: int = 0
) -> Interval:
    """Return the median of ``ratios`` and a percentile bootstrap interval for it.

    Parameters
    ----------
    ratios : array_like, shape (n_blocks,)
        One ratio (bci-bridge over the floor) per pair of blocks; non-finite values are dropped.
    level : float
        Two-sided confidence, in (0, 1).
    n_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the resampling, so that the same ratios give the same interval.

    Returns
    -------
    Interval
        With ``low <= median <= high``; for one block all three are that block's ratio.

    Raises
    ------
    ValueError
        If no finite ratio is given or ``level`` is not in (0, 1).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    r = np.asarray(ratios, dtype=np.float64).ravel()
    r = r[np.isfinite(r)]
    if r.size == 0:
        raise ValueError("no finite ratio to bootstrap")
    med = float(np.median(r))
    if r.size == 1:
        return Interval(med, med, med, 1)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, r.size, size=(n_resamples, r.size))
    meds = np.median(r[picks], axis=1)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(meds, [tail, 1.0 - tail])
    return Interval(med, min(float(low), med), max(float(high), med), int(r.size))


def decide(interval: Interval, limit: float) -> Decision:
    """Return the call: ``fail``, ``pass`` or ``undecided`` (the interval straddles ``limit``).

    ``fail`` when the interval lies above ``limit``, ``pass`` when at or below it.

    Parameters
    ----------
    interval : Interval
        From :func:`median_interval`.
    limit : float
        The largest acceptable ratio (baseline ratio x (1 + tolerance)).
    """
    if interval.low > limit:
        return "fail"
    if interval.high <= limit:
        return "pass"
    return "undecided"
