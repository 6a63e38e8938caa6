"""``[data] sfreq``: train resamples SCP1 with the runtime's module; the pipeline does the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bci_bridge.cli.main import main
from bci_bridge.config import load_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials
from decoders.manifest import read_manifest
from decoders.training.export import open_session
from decoders.training.graph import INPUT, OUTPUT
from decoders.training.recipe import parse_recipe
from decoders.training.resampling import resample_trials

RECIPES = Path(__file__).resolve().parents[3] / "examples" / "recipes"


def test_train_at_128_hz_records_the_rate_units_and_a_resample_step(
    tmp_path: Path, scp1_test: Trials
) -> None:
    text = (RECIPES / "scp1_segment_means.toml").read_text(encoding="utf-8")
    recipe = tmp_path / "scp1_128.toml"
    recipe.write_text(text.replace("[data]\n", "[data]\nsfreq = 128.0\n"), encoding="utf-8")
    model, pipeline = tmp_path / "m.onnx", tmp_path / "p.toml"
    argv = ["train", str(recipe), "--out", str(model), "--pipeline", str(pipeline)]
    argv += ["--set", "cv.repeats=1"]  # a lighter search: the rate is what is tested here
    assert main([*argv, "--report", str(tmp_path / "r.json")]) == 0
    manifest = read_manifest(model)
    assert manifest is not None
    assert (manifest["sfreq"], manifest["window_samples"]) == (128.0, 448)
    assert manifest["units"] == ["uV"] * len(manifest["channel_names"])
    assert manifest["filters"][0] == {"module": "resample", "params": {"sfreq": 128.0}}
    nodes = load_pipeline(pipeline).nodes
    assert [n.module for n in nodes][:3] == ["pick", "resample", "epoch"]
    # The model takes trials resampled exactly as the module does, and still decodes SCP1.
    picks = [scp1_test.channel_names.index(c) for c in manifest["channel_names"]]
    X, rate = resample_trials(scp1_test.X[:, picks], scp1_test.sfreq, 128.0)
    assert rate == 128.0
    proba = open_session(model).run([OUTPUT], {INPUT: X.astype(np.float32)})[0]
    labels = np.array(["negativity", "positivity"])[proba.argmax(axis=1)]
    assert np.mean(labels == scp1_test.y) >= 0.8


def test_recipe_refuses_a_bad_rate(tmp_path: Path) -> None:
    raw = {
        "data": {"train": "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts", "sfreq": -1.0},
        "decoder": {"family": "segment_means_lda"},
    }
    with pytest.raises(ConfigError, match="rate > 0 Hz") as err:
        parse_recipe(raw, base_dir=tmp_path)
    assert err.value.key == "data.sfreq"
