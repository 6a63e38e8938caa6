"""Recipe validation: every error names the file and the key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from bci_bridge.errors import ConfigError
from decoders.training.recipe import load_recipe
from decoders.training.segment_means import SegmentMeansConfig

GOOD = """
[data]
train = "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"
[decoder]
family = "segment_means_lda"
segments = 5
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "recipe.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_recipe_loads_with_defaults(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD))
    assert [(c.family, c.config) for c in recipe.candidates] == [
        ("segment_means_lda", SegmentMeansConfig(segments=5))
    ]
    assert [p.name for p in recipe.train_paths] == ["SelfRegulationSCP1_TRAIN.ts"]
    assert recipe.test_path is None
    assert (recipe.cv.folds, recipe.cv.seed) == (5, 0)


def test_relative_paths_resolve_against_the_recipe(tmp_path: Path) -> None:
    (tmp_path / "data.npz").write_bytes(b"")
    recipe = load_recipe(
        _write(
            tmp_path,
            GOOD.replace('"aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"', '"data.npz"'),
        )
    )
    assert recipe.train_paths == (tmp_path / "data.npz",)


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (("segments = 5", "segments = 0"), "decoder.segments", "must be >= 1"),
        (("segments = 5", "segmnts = 5"), "decoder.segmnts", "unknown key"),
        (('family = "segment_means_lda"', 'family = "deep"'), "decoder.family", "must be one of"),
        (("SCP1_TRAIN.ts", "SCP1_NOPE.ts"), "data.train", "file not found"),
        (("[decoder]", "[cv]\nfolds = 1\n[decoder]"), "cv.folds", "must be >= 2"),
        (
            (
                "[decoder]",
                '[[filters]]\nmodule = "bandpass"\nparams = { low = 30.0, high = 8.0 }\n[decoder]',
            ),
            "filters[0].params.low",
            "low must be < high",
        ),
        (("[decoder]", '[[filters]]\nmodule = "nosuch"\n[decoder]'), "filters[0].module", "nosuch"),
        (("[decoder]", "[extra]\n[decoder]"), "extra", "unknown table"),
    ],
)
def test_errors_name_file_and_key(
    tmp_path: Path, edit: tuple[str, str], key: str, words: str
) -> None:
    path = _write(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as info:
        load_recipe(path)
    assert info.value.file == str(path)
    assert info.value.key == key
    assert words in str(info.value)
    assert str(info.value).startswith(f"{path}: {key}: ")


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="recipe file not found"):
        load_recipe(tmp_path / "none.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_recipe(_write(tmp_path, "[data\n"))


@pytest.mark.parametrize(
    ("override", "key", "words"),
    [
        ("cv.folds", "--set", "expected KEY=VALUE"),
        ("cv.folds=five", "cv.folds", "not a TOML value"),
        ("data.train.x=1", "train", "is not a table"),
        ("cv.folds=1", "cv.folds", "must be >= 2"),
    ],
)
def test_set_overrides_are_validated_like_the_file(
    tmp_path: Path, override: str, key: str, words: str
) -> None:
    path = _write(tmp_path, GOOD)
    with pytest.raises(ConfigError) as info:
        load_recipe(path, [override])
    assert info.value.key == key
    assert words in info.value.message


def test_set_overrides_replace_values_before_validation(tmp_path: Path) -> None:
    recipe = load_recipe(_write(tmp_path, GOOD), ["decoder.segments=[3, 9]", "cv.repeats=2"])
    assert [c.config.segments for c in recipe.candidates] == [3, 9]
    assert recipe.cv.repeats == 2
