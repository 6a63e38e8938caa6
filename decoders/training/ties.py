"""Which candidates the chosen one does not beat: a paired test on the shared CV splits.

Every candidate is scored on the very same splits, so two candidates are compared split by
split. The differences of repeated k-fold CV are not independent (each trial is fitted on in
most splits), and a plain paired t-test on them finds differences that are not there. The
corrected resampled t-test (Nadeau and Bengio 2003, "Inference for the generalization error";
for repeated k-fold, Bouckaert and Frank 2004) widens the variance of the mean difference from
``s^2 / J`` to ``(1 / J + n_val / n_fit) s^2`` over the ``J`` splits, where ``n_val / n_fit``
is the ratio of validating to fitting trials, and refers ``t`` to Student's t with ``J - 1``
degrees of freedom.

A candidate whose difference from the chosen one is not significant (two-sided p >= 0.05) is
*tied* with it: TRAIN cannot tell the two apart, and the choice between them is the folds'
noise. The report counts the ties (``cv.tied``) so that a user knows how much the choice means.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from decoders.training.selection import Row
from decoders.training.splits import Split

__all__ = ["ALPHA", "compare_to_chosen", "corrected_t_test", "validation_ratio"]

#: Two-sided significance level below which a candidate is worse than the chosen one.
ALPHA = 0.05


def validation_ratio(splits: Sequence[Split]) -> float:
    """Return ``n_val / n_fit``: the mean validating over the mean fitting trials per split."""
    n_fit = float(np.mean([len(fit) for fit, _ in splits]))
    n_val = float(np.mean([len(val) for _, val in splits]))
    return n_val / n_fit


def corrected_t_test(a: Sequence[float], b: Sequence[float], ratio: float) -> tuple[float, float]:
    """Compare split accuracies ``a`` and ``b`` (J,), scored on the same splits.

    Parameters
    ----------
    a, b : sequence of float, length J
        Accuracies of two candidates on the same J splits, in the same order.
    ratio : float
        ``n_val / n_fit`` of the splits (:func:`validation_ratio`).

    Returns
    -------
    diff : float
        Mean of ``a - b``.
    p : float
        Two-sided p-value of the corrected resampled t-test: 1 when every difference is 0,
        0 when every difference is the same nonzero number.
    """
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"need two score lists of the same >= 2 splits, got {len(a)} and {len(b)}")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    diff = float(d.mean())
    var = float(d.var(ddof=1))
    if var == 0.0:
        return diff, 1.0 if diff == 0.0 else 0.0
    t = diff / math.sqrt((1.0 / d.size + ratio) * var)
    return diff, float(2.0 * stats.t.sf(abs(t), d.size - 1))


def compare_to_chosen(
    rows: Sequence[Row], best: int, splits: Sequence[Split]
) -> tuple[list[dict[str, float] | None], int]:
    """Compare every scored row with the chosen one on the splits they were scored on.

    Returns
    -------
    versus : list
        Per row, ``{"diff": chosen minus row, "p": p}`` (rounded to 4 decimals); None for the
        chosen row and for skipped ones.
    tied : int
        How many of the compared rows are tied with the chosen one (p >= :data:`ALPHA`).
    """
    ratio = validation_ratio(splits)
    chosen = rows[best].scores
    versus: list[dict[str, float] | None] = []
    tied = 0
    for i, r in enumerate(rows):
        if i == best or not r.scores:
            versus.append(None)
            continue
        # Every row was scored on the same splits (at every rate too): a length mismatch is a
        # bug, and corrected_t_test raises on it rather than pair the wrong splits.
        diff, p = corrected_t_test(chosen, r.scores, ratio)
        tied += p >= ALPHA
        versus.append({"diff": round(diff, 4), "p": round(p, 4)})
    return versus, tied
