"""Model selection: grids, cross-validation schemes, TEST never seen, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bci_bridge.cli.main import main
from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials
from decoders.training.families import FAMILIES
from decoders.training.grid import expand
from decoders.training.head import LinearHead
from decoders.training.report import agreement
from decoders.training.splits import make_splits
from decoders.training.trainer import train

SCP1_TRAIN = '"aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"'
SMALL = """
[data]
train = {train}
test = {test}

[decoder]
family = "segment_means_lda"
segments = [4, 14]

[cv]
scheme = "shuffled"
folds = 3
repeats = 2
"""


def _npz(path: Path, X: np.ndarray, y: np.ndarray, names: tuple[str, ...], **extra: object) -> Path:
    np.savez(path, X=X, y=y, sfreq=256.0, channel_names=np.array(names), **extra)  # type: ignore[arg-type]
    return path


# -- grids -------------------------------------------------------------------------------------


def test_lists_one_level_deeper_than_a_setting_are_searched() -> None:
    found = expand(
        {
            "family": "segment_means_bandpower",
            "segments": [7, 14],
            "bands": [[[30.0, 45.0]], [[20.0, 45.0]]],
            "classifier": "logreg",
        }
    )
    assert [(c.config.segments, c.config.bands) for c in found] == [
        (7, ((30.0, 45.0),)),
        (7, ((20.0, 45.0),)),
        (14, ((30.0, 45.0),)),
        (14, ((20.0, 45.0),)),
    ]
    assert found[0].settings == {"segments": 7, "bands": [[30.0, 45.0]], "classifier": "logreg"}
    # A list of pairs is one value of bands, not a search.
    one = expand({"family": "bandpower_logreg", "bands": [[8.0, 13.0], [13.0, 30.0]]})
    assert [c.config.bands for c in one] == [((8.0, 13.0), (13.0, 30.0))]


def test_family_lists_auto_and_per_family_settings() -> None:
    found = expand(
        {
            "family": ["segment_means_lda", "csp_lda"],
            "classifier": ["lda", "logreg"],
            "csp_lda": {"n_filters": [2, 4]},
        }
    )
    assert [(c.family, c.settings) for c in found] == [
        ("segment_means_lda", {"classifier": "lda"}),
        ("segment_means_lda", {"classifier": "logreg"}),
        ("csp_lda", {"classifier": "lda", "n_filters": 2}),
        ("csp_lda", {"classifier": "lda", "n_filters": 4}),
        ("csp_lda", {"classifier": "logreg", "n_filters": 2}),
        ("csp_lda", {"classifier": "logreg", "n_filters": 4}),
    ]
    auto = expand({"family": "auto"})
    assert sorted(c.family for c in auto) == sorted(FAMILIES)
    assert all(c.auto for c in auto)


@pytest.mark.parametrize(
    ("table", "key", "words"),
    [
        ({"family": "segment_means_lda", "n_filters": [2]}, "n_filters", "unknown key"),
        ({"family": ["segment_means_lda", "deep"]}, "family", "must be one of"),
        ({"family": "segment_means_lda", "segments": [4, 0]}, "segments", "must be >= 1"),
        ({"family": "segment_means_lda", "csp_lda": {"n_filters": 2}}, "csp_lda", "add 'csp_lda'"),
        ({"family": 3}, "family", '"auto"'),
    ],
)
def test_grid_errors_name_the_key(table: dict, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        expand(table)
    assert info.value.key == key
    assert words in info.value.message


# -- splits ------------------------------------------------------------------------------------


def test_schemes_make_the_splits_they_promise() -> None:
    y = np.tile([0, 1], 30)
    shuffled = make_splits("shuffled", 5, 3, 0, y, None)
    assert len(shuffled.splits) == 15
    for r in range(3):  # every trial validated exactly once per repeat
        validated = np.concatenate([v for _, v in shuffled.splits[5 * r : 5 * r + 5]])
        assert sorted(validated.tolist()) == list(range(60))
    blocked = make_splits("blocked", 4, 5, 0, y, None)
    assert (blocked.scheme, blocked.repeats, len(blocked.splits)) == ("blocked", 1, 4)
    assert [v.tolist() for _, v in blocked.splits] == [
        list(range(k * 15, (k + 1) * 15)) for k in range(4)
    ]
    groups = np.repeat(np.array(["s1", "s2", "s3", "s4"]), 15)
    grouped = make_splits(None, 4, 2, 0, y, groups)  # default with groups: grouped
    assert (grouped.scheme, grouped.n_groups, len(grouped.splits)) == ("grouped", 4, 8)
    for fit, val in grouped.splits:
        assert not set(groups[fit]) & set(groups[val])
    assert make_splits(None, 4, 2, 0, y, None).scheme == "blocked"


@pytest.mark.parametrize(
    ("scheme", "folds", "y", "groups", "key", "words"),
    [
        ("shuffled", 5, [0, 0, 0, 1, 1, 1], None, "cv.folds", "lower cv.folds to 3"),
        ("grouped", 2, [0, 1] * 4, None, "cv.scheme", "session or subject labels"),
        ("grouped", 3, [0, 1] * 4, ["a"] * 4 + ["b"] * 4, "cv.folds", "set cv.folds = 2"),
        ("grouped", 2, [0] * 4 + [1] * 4, ["a"] * 4 + ["b"] * 4, "cv.scheme", "one group"),
        ("blocked", 3, [0] * 5 + [1] * 7, None, "cv.scheme", "by class, not in recording order"),
    ],
)
def test_split_errors_are_one_clear_line(
    scheme: str, folds: int, y: list, groups: list | None, key: str, words: str
) -> None:
    g = None if groups is None else np.array(groups)
    with pytest.raises(ConfigError) as info:
        make_splits(scheme, folds, 1, 0, np.array(y), g, ("left", "right"))
    assert info.value.key == key
    assert words in info.value.message
    assert "\n" not in str(info.value)


def test_cv_and_test_disagreeing_beyond_their_intervals_warns() -> None:
    cv = {"scheme": "shuffled", "mean": 0.9, "ci95": [0.86, 0.94]}
    assert agreement(cv, 0.88, 300)["warning"] is None
    flattered = agreement(cv, 0.70, 300)
    assert "flatters" in flattered["warning"]
    assert flattered["test_ci95"][0] < 0.70 < flattered["test_ci95"][1]


def test_logistic_head_fits_a_three_trial_calibration_set() -> None:
    head = LinearHead("logreg", 2)
    F = np.array([[0.0, 1.0], [1.0, 0.0], [0.9, 0.1]])
    head.fit(F, np.array([0, 1, 1]))
    assert head.predict_proba(F).shape == (3, 2)


# -- train: TEST is never seen -----------------------------------------------------------------


def test_selection_never_sees_test(tmp_path: Path, scp1_test: Trials) -> None:
    """Poisoned TEST labels (every one inverted) change TEST's score and nothing else."""
    names = scp1_test.channel_names
    inverted = np.where(scp1_test.y == "negativity", "positivity", "negativity")
    honest = _npz(tmp_path / "test.npz", scp1_test.X, scp1_test.y, names)
    poisoned = _npz(tmp_path / "poisoned.npz", scp1_test.X, inverted, names)
    reports = []
    for test, jobs in ((honest, 1), (poisoned, 2)):
        recipe = tmp_path / f"{test.stem}.toml"
        recipe.write_text(SMALL.format(train=SCP1_TRAIN, test=f'"{test.name}"'))
        report, manifest = train(recipe, tmp_path / f"{test.stem}.onnx", jobs=jobs)
        reports.append(report)
    a, b = reports
    assert len(a["selection"]) == 2
    assert a["selection"] == b["selection"]  # rows, scores and choice, with 1 and 2 jobs
    assert a["cv"]["mean"] == b["cv"]["mean"]
    assert a["params"] == b["params"]
    assert a["test_accuracy"] == pytest.approx(1 - b["test_accuracy"], abs=1e-4)
    assert (
        manifest["selection"]["settings"]
        == next(r for r in b["selection"] if r["chosen"])["settings"]
    )


# -- train: groups, auto, errors ---------------------------------------------------------------


def test_several_train_files_are_sessions_for_grouped_cv(
    tmp_path: Path, scp1_train: Trials
) -> None:
    names = scp1_train.channel_names
    X, y = scp1_train.X, scp1_train.y
    for k in range(3):
        _npz(tmp_path / f"day{k}.npz", X[k::3], y[k::3], names)
    recipe = tmp_path / "days.toml"
    recipe.write_text(
        SMALL.format(train='["day0.npz", "day1.npz", "day2.npz"]', test='""').replace(
            'scheme = "shuffled"', ""
        )
    )
    report, _ = train(recipe, tmp_path / "m.onnx")
    assert (report["cv"]["scheme"], report["cv"]["n_groups"]) == ("grouped", 3)
    assert report["n_train"] == len(y)
    assert report["test_accuracy"] is None


def test_npz_groups_drive_grouped_cv_and_auto_skips_what_cannot_fit(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    y = np.tile(np.array(["a", "b"]), 30)
    X = rng.normal(size=(60, 65, 64))  # more channels than tangent space takes
    X[y == "b", :, 32:] += 1.0  # a slow offset in class b
    names = tuple(f"e{i}" for i in range(65))
    groups = np.repeat(np.array(["s1", "s2", "s3"]), 20)
    _npz(tmp_path / "wide.npz", X, y, names, groups=groups)
    recipe = tmp_path / "auto.toml"
    recipe.write_text(
        '[data]\ntrain = "wide.npz"\n[decoder]\nfamily = "auto"\nsegments = 4\n'
        "[decoder.bandpower_logreg]\nbands = [[4.0, 30.0]]\n[decoder.segment_means_bandpower]\n"
        "bands = [[4.0, 30.0]]\n[cv]\nfolds = 3\nrepeats = 1\n"
    )
    report, manifest = train(recipe, tmp_path / "m.onnx")
    assert (report["cv"]["scheme"], report["cv"]["n_groups"]) == ("grouped", 3)
    rows = {r["family"]: r for r in report["selection"]}
    assert set(rows) == set(FAMILIES)
    assert "pick fewer in data.channels" in rows["tangent_space_logreg"]["skipped"]
    assert rows["tangent_space_logreg"]["cv_mean"] is None
    assert report["family"] in ("segment_means_lda", "segment_means_bandpower")
    assert manifest["selection"]["n_candidates"] == len(FAMILIES)


def test_a_family_that_caps_channels_names_data_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    names = tuple(f"e{i}" for i in range(65))
    _npz(tmp_path / "wide.npz", rng.normal(size=(20, 65, 32)), np.tile(["a", "b"], 10), names)
    recipe = tmp_path / "ts.toml"
    recipe.write_text('[data]\ntrain = "wide.npz"\n[decoder]\nfamily = "tangent_space_logreg"\n')
    code = main(["train", str(recipe), "--out", str(tmp_path / "m.onnx")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err == (
        f"bci-bridge train: error: {recipe}: data.channels: family tangent_space_logreg: "
        "needs 2 to 64 channels, got 65; pick fewer in data.channels"
    )


def test_too_few_trials_for_the_folds_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], scp1_train: Trials
) -> None:
    few = _npz(
        tmp_path / "few.npz", scp1_train.X[:3], np.array(["a", "b", "a"]), scp1_train.channel_names
    )
    recipe = tmp_path / "few.toml"
    recipe.write_text(SMALL.format(train=f'"{few.name}"', test='""'))
    code = main(["train", str(recipe), "--out", str(tmp_path / "m.onnx")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(err)
    assert err[-1].startswith(f"bci-bridge train: error: {recipe}: cv.folds: 3 folds need")
    # Class b has one trial: no number of folds can validate it, so lowering them is no fix.
    assert "needs at least 2 of each: add trials" in err[-1]
    assert "lower cv.folds" not in err[-1]


def test_report_json_has_selection_and_cv(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text(SMALL.format(train=SCP1_TRAIN, test='""'))
    out = tmp_path / "report.json"
    quick = ["--set", "cv.repeats=1", "--set", "decoder.segments=[4, 7, 14]"]
    code = main(
        ["train", str(recipe), "--out", str(tmp_path / "m.onnx"), "--report", str(out), *quick]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert [r["settings"]["segments"] for r in report["selection"]] == [4, 7, 14]
    assert report["cv"]["repeats"] == 1
    lo, hi = report["cv"]["ci95"]
    assert lo < report["cv_accuracy"] < hi
    # Every other candidate is compared with the chosen one on the same splits.
    rows = report["selection"]
    chosen = next(r for r in rows if r["chosen"])
    others = [r for r in rows if not r["chosen"]]
    assert "vs_chosen" not in chosen
    assert report["cv"]["compared"] == len(others) == 2
    for r in others:
        v = r["vs_chosen"]
        assert v["diff"] == pytest.approx(chosen["cv_mean"] - r["cv_mean"], abs=2e-4)
        assert v["diff"] >= 0  # the chosen one has the best mean
        assert 0.0 <= v["p"] <= 1.0
    assert report["cv"]["tied"] == sum(r["vs_chosen"]["p"] >= 0.05 for r in others)
