"""REPORT.json: what was trained, on what, how it was chosen, how well, how fast.

Beyond :data:`REQUIRED_KEYS`, a trained (not fine-tuned) model's report has ``selection`` (one
row per candidate: ``family``, ``settings``, ``cv_mean``, ``cv_std``, ``chosen``; ``skipped``
for an ``auto`` family that does not fit the data; ``vs_chosen``, ``{"diff", "p"}``, for every
other scored candidate: the chosen one's mean split accuracy minus its, and the p-value of the
corrected resampled t-test, :mod:`.ties`) and ``cv`` (``scheme``, ``folds``, ``repeats``,
``seed``, ``n_groups``, ``mean``, ``std``, ``ci95``, ``tied`` (the candidates TRAIN cannot tell
from the chosen one, p >= 0.05) and ``compared``; with a test set also ``test_ci95`` and
``warning``). Confidence intervals are 95 % normal approximations of a
binomial proportion, ``p +/- 1.96 sqrt(p (1 - p) / n)``, with ``n`` the trials scored (each
training trial is validated once per repeat). ``warning`` is set when CV and TEST differ by
more than the two half-widths together. The chosen candidate's CV mean is the best of many,
so it leans optimistic; TEST, scored once after the choice, does not.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from bci_bridge.recordings import Trials
from decoders.training.grid import Candidate
from decoders.training.recipe import Recipe
from decoders.training.selection import Row
from decoders.training.splits import Splits

__all__ = [
    "REQUIRED_KEYS",
    "agreement",
    "data_entry",
    "params_entry",
    "selection_entry",
    "validation_entry",
]

#: z of a two-sided 95 % normal interval.
_Z95 = 1.96

#: Keys every report has (``test_accuracy`` is ``None`` without a test set).
REQUIRED_KEYS = (
    "family",
    "params",
    "classes",
    "cv_accuracy",
    "test_accuracy",
    "n_train",
    "n_test",
    "parity_max_abs_diff",
    "inference_us",
    "data",
)


def data_entry(trials: Trials) -> dict[str, Any]:
    """Where trials came from: source, SHA-256, count, shape and rate."""
    return {
        "source": trials.source,
        "sha256": trials.sha256,
        "n_trials": int(trials.X.shape[0]),
        "channel_names": list(trials.channel_names),
        "n_samples": int(trials.X.shape[2]),
        "sfreq": trials.sfreq,
    }


def params_entry(recipe: Recipe, chosen: Candidate) -> dict[str, Any]:
    """Return the chosen decoder's parameters, the filters and cross-validation settings."""
    config = chosen.config
    fields = (
        dataclasses.asdict(config)
        if dataclasses.is_dataclass(config) and not isinstance(config, type)
        else {}
    )
    decoder = {k: (_lists(v) if isinstance(v, tuple) else v) for k, v in fields.items()}
    return {
        "decoder": decoder,
        "filters": [{"module": f.module, "params": f.params} for f in recipe.filters],
        "cv": dataclasses.asdict(recipe.cv),
        "data": {
            "tmin": recipe.data.tmin,
            "tmax": recipe.data.tmax,
            "labels": list(recipe.data.labels),
            "channels": list(recipe.data.channels),
            "channel_types": list(recipe.data.channel_types),
            "stream": recipe.data.stream,
            "markers": recipe.data.markers,
            "length": recipe.data.length,
            "sfreq": recipe.data.sfreq,
        },
        "windows": dataclasses.asdict(recipe.windows) if recipe.windows is not None else None,
    }


def validation_entry(splits: Splits, best: Row, n_train: int) -> dict[str, Any]:
    """Return the ``cv`` entry: how the chosen candidate was validated and its interval."""
    mean = best.mean
    half = _half_width(mean, n_train)
    return {
        "scheme": splits.scheme,
        "folds": splits.folds,
        "repeats": splits.repeats,
        "seed": splits.seed,
        "n_groups": splits.n_groups,
        "mean": round(mean, 4),
        "std": round(best.std, 4),
        "ci95": [round(max(0.0, mean - half), 4), round(min(1.0, mean + half), 4)],
    }


def agreement(cv: dict[str, Any], test_accuracy: float, n_test: int) -> dict[str, Any]:
    """``test_ci95`` and ``warning`` (None when CV and TEST agree within their intervals)."""
    half_test = _half_width(test_accuracy, n_test)
    half_cv = (cv["ci95"][1] - cv["ci95"][0]) / 2
    gap = test_accuracy - cv["mean"]
    warning = None
    if abs(gap) > half_cv + half_test:
        warning = (
            f"cv ({cv['scheme']}) {cv['mean']:.3f} and test {test_accuracy:.3f} differ by "
            f"{abs(gap):.3f}, more than their 95 % intervals allow "
            f"({half_cv:.3f} + {half_test:.3f}): "
            + (
                'the validation flatters; try scheme = "blocked" or "grouped"'
                if gap < 0
                else "the test set is easier than the training folds"
            )
        )
    return {
        "test_ci95": [
            round(max(0.0, test_accuracy - half_test), 4),
            round(min(1.0, test_accuracy + half_test), 4),
        ],
        "warning": warning,
    }


def selection_entry(report: dict[str, Any]) -> dict[str, Any]:
    """Return what the manifest records of the choice: family, settings, its CV, how many tried."""
    rows = report["selection"]
    chosen = next(r for r in rows if r["chosen"])
    return {
        "family": chosen["family"],
        "settings": chosen["settings"],
        "cv_mean": chosen["cv_mean"],
        "cv_std": chosen["cv_std"],
        "scheme": report["cv"]["scheme"],
        "folds": report["cv"]["folds"],
        "repeats": report["cv"]["repeats"],
        "n_candidates": len(rows),
        "tied": report["cv"].get("tied"),
    }


def _half_width(p: float, n: int) -> float:
    return _Z95 * math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, tuple | list) else value
