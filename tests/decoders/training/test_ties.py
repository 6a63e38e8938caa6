"""The corrected resampled t-test that says which candidates the chosen one does not beat."""

from __future__ import annotations

import math

import numpy as np
import pytest

from decoders.training.grid import Candidate
from decoders.training.selection import Row
from decoders.training.splits import make_splits
from decoders.training.ties import compare_to_chosen, corrected_t_test, validation_ratio


def test_t_and_p_match_the_closed_form_for_three_degrees_of_freedom() -> None:
    # d = (0.1, 0, 0.05, 0.05): mean 0.05, s^2 = 0.005 / 3; with n_val / n_fit = 1/4,
    # t = 0.05 / sqrt((1/4 + 1/4) s^2) = sqrt(3), and for 3 degrees of freedom
    # P(|T| > sqrt(3)) = 1/2 - 1/pi (Student's t CDF in closed form for df = 3).
    diff, p = corrected_t_test([0.9, 0.8, 0.85, 0.95], [0.8, 0.8, 0.8, 0.9], 0.25)
    assert diff == pytest.approx(0.05)
    assert p == pytest.approx(0.5 - 1.0 / math.pi, rel=1e-9)


def test_the_correction_widens_the_test_of_overlapping_folds() -> None:
    # 25 differences of mean 0.01 and standard deviation 0.015: a plain paired t-test gives
    # t = 0.01 / (0.015 / 5) = 3.3 (p < 0.05); with 5-fold CV's n_val / n_fit = 1/4 the
    # corrected one gives t = 0.01 / (0.015 sqrt(1/25 + 1/4)) = 1.24 (p > 0.05).
    v = np.arange(25.0)
    d = 0.01 + 0.015 * (v - v.mean()) / v.std(ddof=1)
    a = np.full(25, 0.9)
    _, p_plain = corrected_t_test(a, a - d, 0.0)
    _, p_corrected = corrected_t_test(a, a - d, 0.25)
    assert p_plain < 0.05 < p_corrected


def test_equal_scores_tie_and_constant_differences_do_not() -> None:
    assert corrected_t_test([0.8, 0.9, 0.7], [0.8, 0.9, 0.7], 0.25) == (0.0, 1.0)
    diff, p = corrected_t_test([0.75, 1.0, 0.5], [0.5, 0.75, 0.25], 0.25)  # exact in binary
    assert diff == 0.25
    assert p == 0.0
    with pytest.raises(ValueError, match="same >= 2 splits"):
        corrected_t_test([0.9, 0.8], [0.9], 0.25)


def test_ratio_of_five_fold_cv_is_a_quarter() -> None:
    y = np.array([0, 1] * 134, dtype=np.intp)  # 268 trials, as SCP1 TRAIN
    splits = make_splits("shuffled", 5, 5, 0, y, None)
    assert validation_ratio(splits.splits) == pytest.approx(0.25)


def test_compare_to_chosen_skips_the_chosen_and_skipped_rows_and_counts_ties() -> None:
    def row(scores: tuple[float, ...], skipped: str = "") -> Row:
        return Row(Candidate("segment_means_lda", {}, None), scores, skipped)

    y = np.array([0, 1] * 10, dtype=np.intp)
    splits = make_splits("shuffled", 2, 2, 0, y, None).splits  # n_val / n_fit = 1
    rows = [
        row((0.875, 0.75, 0.875, 0.75)),  # chosen
        row((0.875, 0.75, 0.875, 0.75)),  # the same scores: tied
        row((0.125, 0.0, 0.125, 0.0)),  # 0.75 below on every split: beaten
        row((), "over budget"),
    ]
    versus, tied = compare_to_chosen(rows, 0, splits)
    assert versus[0] is None
    assert versus[1] == {"diff": 0.0, "p": 1.0}
    assert versus[2] == {"diff": 0.75, "p": 0.0}
    assert versus[3] is None
    assert tied == 1
