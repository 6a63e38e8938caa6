"""``[data] sfreq = [..]``: the rate is searched on TRAIN like a decoder setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials
from decoders.training.recipe import parse_recipe
from decoders.training.trainer import train

SCP1_TRAIN = '"aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"'
RECIPE = """
[data]
train = {train}
test = "{test}"
sfreq = {sfreq}

[decoder]
family = "segment_means_lda"
segments = [4, 14]

[cv]
scheme = "shuffled"
folds = 3
repeats = 2
"""


def _npz(path: Path, trials: Trials, y: np.ndarray) -> Path:
    names = np.array(trials.channel_names)
    np.savez(path, X=trials.X, y=y, sfreq=trials.sfreq, channel_names=names)
    return path


def _train(
    tmp_path: Path, name: str, test: Path, sfreq: str, jobs: int = 1
) -> tuple[dict[str, Any], dict[str, Any]]:
    recipe = tmp_path / f"{name}.toml"
    recipe.write_text(RECIPE.format(train=SCP1_TRAIN, test=test.name, sfreq=sfreq))
    return train(recipe, tmp_path / f"{name}.onnx", jobs=jobs)


def test_rate_is_chosen_by_cv_on_train_and_never_by_test(tmp_path: Path, scp1_test: Trials) -> None:
    honest = _npz(tmp_path / "test.npz", scp1_test, scp1_test.y)
    inverted = np.where(scp1_test.y == "negativity", "positivity", "negativity")
    poisoned = _npz(tmp_path / "poisoned.npz", scp1_test, inverted)
    report, manifest = _train(tmp_path, "both", honest, "[32, 64]")
    rows = report["selection"]
    # Every candidate at every rate, rate by rate; the rate is one of the row's settings.
    assert [(r["settings"]["sfreq"], r["settings"]["segments"]) for r in rows] == [
        (32.0, 4),
        (32.0, 14),
        (64.0, 4),
        (64.0, 14),
    ]
    chosen = next(r for r in rows if r["chosen"])
    assert [r["chosen"] for r in rows].count(True) == 1
    assert chosen["cv_mean"] == max(r["cv_mean"] for r in rows) == report["cv_accuracy"]
    # Each rate's rows are what a search at that rate alone gives: the rate changes nothing
    # but the data the candidates see, and the folds are the same at both rates.
    for rate in (32.0, 64.0):
        alone, _ = _train(tmp_path, f"at{rate:g}", honest, str(rate))
        assert [(r["cv_mean"], r["cv_std"]) for r in alone["selection"]] == [
            (r["cv_mean"], r["cv_std"]) for r in rows if r["settings"]["sfreq"] == rate
        ]
        if rate == chosen["settings"]["sfreq"]:
            assert alone["test_accuracy"] == report["test_accuracy"]  # the same refit model
    # The model, its manifest and its pipeline are at the chosen rate.
    rate = chosen["settings"]["sfreq"]
    assert manifest["sfreq"] == rate == report["params"]["data"]["sfreq"]
    assert manifest["window_samples"] == round(896 * rate / 256.0)
    assert manifest["filters"][0] == {"module": "resample", "params": {"sfreq": rate}}
    assert manifest["selection"]["settings"] == chosen["settings"]
    # TEST with every label inverted: the same rows and choice, the mirrored TEST score.
    again, _ = _train(tmp_path, "poisoned", poisoned, "[32, 64]", jobs=2)
    assert again["selection"] == rows
    assert again["test_accuracy"] == pytest.approx(1 - report["test_accuracy"], abs=1e-4)


@pytest.mark.parametrize(
    ("sfreq", "message"),
    [
        ([64.0], "two or more numbers"),
        ([64.0, "128"], "two or more numbers"),
        ([64.0, 64], "lists a rate twice"),
        ([64.0, -1.0], "rate > 0 Hz"),
    ],
)
def test_bad_lists_of_rates_are_refused(tmp_path: Path, sfreq: list[object], message: str) -> None:
    raw = {
        "data": {"train": SCP1_TRAIN.strip('"'), "sfreq": sfreq},
        "decoder": {"family": "segment_means_lda"},
    }
    with pytest.raises(ConfigError, match=message) as err:
        parse_recipe(raw, base_dir=tmp_path)
    assert err.value.key == "data.sfreq"


def test_a_list_of_rates_sets_the_first_and_keeps_the_rest_to_search(tmp_path: Path) -> None:
    raw = {
        "data": {"train": SCP1_TRAIN.strip('"'), "sfreq": [64, 128]},
        "decoder": {"family": "segment_means_lda"},
    }
    recipe = parse_recipe(raw, base_dir=tmp_path)
    assert (recipe.data.sfreq, recipe.rates) == (64.0, (64.0, 128.0))
    at = recipe.at_rate(128.0)
    assert (at.data.sfreq, at.rates) == (128.0, ())


def test_a_list_of_rates_is_refused_where_it_cannot_be_searched(tmp_path: Path) -> None:
    # Sliding windows are cut after the whole recording is resampled: one rate only.
    raw = {
        "data": {"train": SCP1_TRAIN.strip('"'), "sfreq": [64, 128]},
        "windows": {"length_s": 1.0, "hop_s": 0.25, "event_s": 1.5},
        "decoder": {"family": "segment_means_lda"},
    }
    with pytest.raises(ConfigError, match="trial recipes only") as err:
        parse_recipe(raw, base_dir=tmp_path)
    assert err.value.key == "data.sfreq"
    # Fine-tuning keeps the base model's rate, so train refuses before reading anything.
    recipe = tmp_path / "rates.toml"
    recipe.write_text(RECIPE.format(train=SCP1_TRAIN, test="", sfreq="[64, 128]"))
    with pytest.raises(ConfigError, match="base model's rate") as err:
        train(recipe, tmp_path / "m.onnx", base=tmp_path / "no_model_needed.onnx")
    assert (err.value.key, err.value.file) == ("data.sfreq", str(recipe))
