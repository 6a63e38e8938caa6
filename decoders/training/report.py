"""REPORT.json: what was trained, on what, how well, how fast."""

from __future__ import annotations

import dataclasses
from typing import Any

from bci_bridge.recordings import Trials
from decoders.training.recipe import Recipe

__all__ = ["REQUIRED_KEYS", "data_entry", "params_entry"]

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


def params_entry(recipe: Recipe) -> dict[str, Any]:
    """Return the recipe's decoder parameters, filters and cross-validation settings."""
    decoder = {
        k: (list(v) if isinstance(v, tuple) else v)
        for k, v in dataclasses.asdict(recipe.decoder).items()
    }
    return {
        "decoder": decoder,
        "filters": [{"module": f.module, "params": f.params} for f in recipe.filters],
        "cv": dataclasses.asdict(recipe.cv),
        "data": {
            "tmin": recipe.data.tmin,
            "tmax": recipe.data.tmax,
            "labels": list(recipe.data.labels),
            "channels": list(recipe.data.channels),
            "stream": recipe.data.stream,
            "markers": recipe.data.markers,
        },
    }
