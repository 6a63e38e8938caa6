""".ts files read by their content: @equalLength false, crop or pad, a rate from the caller."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import read_trials

HEADER = """@problemName Unknown
@timeStamps false
@univariate false
@equalLength false
@classLabel true up down
@data
"""


def _ts(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "ragged.ts"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_equal_length_false_with_equal_trials_reads_fine(tmp_path: Path) -> None:
    path = _ts(tmp_path, "1,2,3:4,5,6:up\n7,8,9:1,2,3:down\n")
    trials = read_trials(path, sfreq=100.0)
    assert trials.X.shape == (2, 2, 3)
    assert trials.sfreq == 100.0
    assert np.array_equal(trials.X[1], [[7, 8, 9], [1, 2, 3]])


def test_unequal_trials_are_cropped_or_padded_as_asked(tmp_path: Path) -> None:
    path = _ts(tmp_path, "1,2,3,4:5,6,7,8:up\n9,8:7,6:down\n")
    with pytest.raises(ConfigError) as info:
        read_trials(path, sfreq=100.0)
    assert info.value.key == "length"
    assert '"crop"' in info.value.message
    assert "2 to 4 samples" in info.value.message
    cropped = read_trials(path, length="crop", sfreq=100.0)
    assert np.array_equal(cropped.X, [[[1, 2], [5, 6]], [[9, 8], [7, 6]]])
    padded = read_trials(path, length="pad", sfreq=100.0)
    assert np.array_equal(padded.X, [[[1, 2, 3, 4], [5, 6, 7, 8]], [[9, 8, 8, 8], [7, 6, 6, 6]]])


def test_a_file_without_a_rate_takes_the_callers(tmp_path: Path) -> None:
    path = _ts(tmp_path, "1,2,3:4,5,6:up\n")
    with pytest.raises(ConfigError) as info:
        read_trials(path)
    assert info.value.key == "sfreq"
    assert "give sfreq = <Hz> in the recipe's [data]" in info.value.message
    # A file that states its rate keeps it; the caller's only fills a gap.
    tagged = _ts(tmp_path, "1,2,3:4,5,6:up\n", HEADER.replace("@data", "@sfreq 50\n@data"))
    assert read_trials(tagged, sfreq=100.0).sfreq == 50.0


def test_a_recipe_gives_length_and_sfreq(tmp_path: Path) -> None:
    from decoders.training.trainer import train

    rng = np.random.default_rng(0)

    def dim(n: int) -> str:
        return ",".join(f"{v:.3f}" for v in rng.normal(size=n))

    rows = "".join(f"{dim(n)}:{dim(n)}:{label}\n" for n, label in [(40, "up"), (44, "down")] * 6)
    _ts(tmp_path, rows)
    recipe = tmp_path / "r.toml"
    text = (
        '[data]\ntrain = "ragged.ts"\n{extra}[decoder]\nfamily = "segment_means_lda"\n'
        "segments = 2\n[cv]\nfolds = 2\n"
    )
    recipe.write_text(text.format(extra=""))
    with pytest.raises(ConfigError) as info:
        train(recipe, tmp_path / "m.onnx")
    assert (info.value.file, info.value.key) == (str(recipe), "data.length")
    recipe.write_text(text.format(extra='length = "crop"\n'))
    with pytest.raises(ConfigError) as info:
        train(recipe, tmp_path / "m.onnx")
    assert (info.value.file, info.value.key) == (str(recipe), "data.sfreq")
    recipe.write_text(text.format(extra='sfreq = 100.0\nlength = "crop"\n'))
    report, manifest = train(recipe, tmp_path / "m.onnx")
    assert (manifest["sfreq"], manifest["window_samples"]) == (100.0, 40)
    assert report["n_train"] == 12
