"""MiniRocket family: kernels, exact PPV features in ONNX, parity on SCP1, CV choice, CLI.

With and without the segment means beside the convolutions (``segments``).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from bci_bridge.cli.main import main
from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials
from decoders.manifest import read_manifest
from decoders.training.budget import DEFAULT_WINDOW_US, OverBudget
from decoders.training.export import PARITY_TOLERANCE, check_parity, open_session
from decoders.training.family import WindowShape
from decoders.training.graph import INPUT, OPSET, GraphParts
from decoders.training.grid import Candidate
from decoders.training.minirocket import MiniRocket, MiniRocketConfig, estimated_window_us
from decoders.training.minirocket_kernels import KERNELS, fit_kernels, transform
from decoders.training.resampling import resample_trials
from decoders.training.segment_means import SegmentMeans, SegmentMeansConfig
from decoders.training.selection import choose, search
from decoders.training.splits import make_splits

RECIPE = Path(__file__).resolve().parents[3] / "examples" / "recipes" / "scp1_minirocket.toml"
MULTIROCKET = ("ppv", "mpv", "mipv", "lspv")


def _at_64_hz(trials: Trials) -> np.ndarray:
    X, rate = resample_trials(trials.X, trials.sfreq, 64.0)
    assert rate == 64.0
    return X


def _labels(trials: Trials) -> np.ndarray:
    labels: np.ndarray = (trials.y == "positivity").astype(np.intp)
    return labels


def _onnx_features(family: MiniRocket, X32: np.ndarray, width: int) -> np.ndarray:
    """The family's feature stage alone as a checked ONNX model, run on ``X32`` (n, 6, W)."""
    parts = GraphParts()
    out = family.feature_graph(parts, INPUT)
    n_samples = family.shape.n_samples
    graph = helper.make_graph(
        parts.nodes,
        "features",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["batch", 6, n_samples])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", width])],
        initializer=parts.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    (features,) = open_session(model).run(None, {INPUT: X32.astype(np.float32)})
    got: np.ndarray = features
    return got


def test_the_84_kernels_are_minirockets() -> None:
    assert KERNELS.shape == (84, 9)
    assert np.all(KERNELS.sum(axis=1) == 0.0)  # 3 x 2 - 6 x 1: blind to offsets
    assert np.all((KERNELS == 2.0).sum(axis=1) == 3)
    assert len({tuple(k) for k in KERNELS}) == 84


def test_transform_fits_dilations_channels_and_biases() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(0, 20, (30, 5, 200)).cumsum(axis=2)
    kernels = fit_kernels(X, 840, seed=1)
    assert kernels.n_features == 840
    dilations = sorted({g.dilation for g in kernels.groups})
    assert dilations[0] == 1
    assert dilations[-1] <= (200 - 1) / 8
    for g in kernels.groups:
        picked = g.channels.sum(axis=1)
        assert np.all((picked >= 1) & (picked <= 5))
        np.testing.assert_array_equal(g.biases, g.biases.astype(np.float32))
    F = transform(kernels, X)
    assert F.shape == (30, 840)
    assert F.min() >= 0.0
    assert F.max() <= 1.0
    assert np.unique(F.round(6), axis=1).shape[1] > 600  # the features differ from each other
    # Same seed, same transform; another seed picks other channels.
    np.testing.assert_array_equal(transform(fit_kernels(X, 840, seed=1), X), F)
    assert not np.array_equal(transform(fit_kernels(X, 840, seed=2), X), F)


@pytest.mark.parametrize(
    ("pooling", "classifier"),
    [(("ppv",), "logreg"), (("ppv", "mpv", "mipv"), "ridge"), (MULTIROCKET, "ridge")],
)
def test_onnx_features_equal_numpy_and_parity_on_scp1(
    scp1_train: Trials,
    scp1_test: Trials,
    pooling: tuple[str, ...],
    classifier: Literal["lda", "logreg", "ridge"],
) -> None:
    X_train, X_test = _at_64_hz(scp1_train), _at_64_hz(scp1_test)
    shape = WindowShape(6, X_train.shape[2], 64.0)
    config = MiniRocketConfig(
        features=504 * len(pooling),
        differences=True,
        pooling=pooling,
        classifier=classifier,
        max_window_us=float("inf"),  # parity is tested here, not the budget
    )
    assert config.per_series == 252
    family = MiniRocket(config, shape, 2)
    family.fit(X_train, _labels(scp1_train))
    assert family.diff_kernels is not None  # the first difference's transform is exported too
    X32 = X_test.astype(np.float32).astype(np.float64)
    proba = family.predict_proba(X32)
    assert float(np.mean(proba.argmax(axis=1) == _labels(scp1_test))) > 0.8
    assert check_parity(open_session(family.to_onnx()), X32, proba) <= PARITY_TOLERANCE
    # The feature stage alone: integer convolutions make the counts of positives identical.
    width = 504 * len(pooling)
    onnx_features = _onnx_features(family, X32, width)
    want = family.features(X32)
    assert family.state()["features"]["n_features"] == want.shape[1] == width
    ppv = np.r_[0:252, 252 * len(pooling) : 252 * (len(pooling) + 1)]  # each series' PPV block
    np.testing.assert_array_equal(onnx_features[:, ppv], want[:, ppv].astype(np.float32))
    np.testing.assert_allclose(onnx_features, want, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("differences", [False, True])
def test_segment_means_beside_the_convolutions_keep_parity_on_scp1(
    scp1_train: Trials, scp1_test: Trials, differences: bool
) -> None:
    X_train, X_test = _at_64_hz(scp1_train), _at_64_hz(scp1_test)
    shape = WindowShape(6, X_train.shape[2], 64.0)
    config = MiniRocketConfig(
        features=336, differences=differences, segments=14, classifier="ridge"
    )
    family = MiniRocket(config, shape, 2)
    family.fit(X_train, _labels(scp1_train))
    X32 = X_test.astype(np.float32).astype(np.float64)
    want = family.features(X32)
    assert want.shape == (len(X32), 336 + 6 * 14)
    assert family.state()["features"]["n_features"] == 420
    # The means are SegmentMeans' own features, after the pooled ones, in microvolts.
    slow = SegmentMeans(SegmentMeansConfig(segments=14), shape, 2)
    np.testing.assert_array_equal(want[:, 336:], slow.features(X32))
    plain = MiniRocket(replace(config, segments=0), shape, 2)  # same seed, same kernels
    plain.fit_features(X_train, _labels(scp1_train))
    np.testing.assert_array_equal(want[:, :336], plain.features(X32))
    onnx_features = _onnx_features(family, X32, 420)
    np.testing.assert_array_equal(onnx_features[:, :336], want[:, :336].astype(np.float32))
    np.testing.assert_allclose(onnx_features[:, 336:], want[:, 336:], rtol=1e-5, atol=1e-4)
    proba = family.predict_proba(X32)
    assert float(np.mean(proba.argmax(axis=1) == _labels(scp1_test))) > 0.8
    assert check_parity(open_session(family.to_onnx()), X32, proba) <= PARITY_TOLERANCE


@pytest.mark.parametrize("slow_weight", [0.25, 1.0])
def test_the_segment_means_get_the_block_weight_in_the_head(
    scp1_train: Trials, slow_weight: float
) -> None:
    X, y = _at_64_hz(scp1_train), _labels(scp1_train)
    config = MiniRocketConfig(features=672, segments=28, slow_weight=slow_weight)
    family = MiniRocket(config, WindowShape(6, X.shape[2], 64.0), 2)
    half = slice(None, None, 2)
    for fit, X_fit, y_fit in ((family.fit, X, y), (family.adapt, X[half], y[half])):
        fit(X_fit, y_fit)  # fitting, then fine-tuning (re-standardising): the weight stays
        z = (family.features(X_fit) - family.head.mean) / family.head.scale
        pooled, means = z[:, :672].var(axis=0), z[:, 672:].var(axis=0)
        # Each pooled feature standardised (variance 1, or 0 if constant), each mean weighted so
        # that the 168 means' total variance is slow_weight times the 672 pooled features'.
        assert np.all(np.isclose(pooled, 1.0) | np.isclose(pooled, 0.0))
        np.testing.assert_allclose(means, slow_weight * 672 / 168, rtol=1e-9)


@pytest.mark.parametrize("segments", [0, 7])
def test_state_round_trips_through_json(scp1_train: Trials, segments: int) -> None:
    X = _at_64_hz(scp1_train)[::3]
    y = _labels(scp1_train)[::3]
    config = MiniRocketConfig(
        features=700,
        differences=True,
        pooling=("ppv", "mipv"),
        classifier="lda",
        segments=segments,
        slow_weight=0.5,
    )
    assert config.per_series == 168  # 700 / (2 operators x 2 series) = 175, down to 2 x 84
    family = MiniRocket(config, WindowShape(6, X.shape[2], 64.0), 2)
    family.fit(X, y)
    width = 672 + 6 * segments
    assert family.features(X).shape == (len(X), width)
    state = json.loads(json.dumps(family.state()))
    assert state["features"]["n_features"] == width
    assert state["features"]["segments"] == segments
    assert state["config"]["segments"] == segments
    again = MiniRocket(config, WindowShape(6, X.shape[2], 64.0), 2)
    again.load_state(state)
    np.testing.assert_allclose(again.predict_proba(X), family.predict_proba(X), atol=1e-12)
    # A state made with other segments does not load into this config.
    other = MiniRocket(replace(config, segments=segments + 3), WindowShape(6, X.shape[2], 64.0), 2)
    with pytest.raises(ValueError, match="segment means"):
        other.load_state(state)


def test_recipe_chooses_by_cv_on_train_through_the_cli(tmp_path: Path) -> None:
    # The shipped search on a reduced grid (one repeat of 3 folds, 672 features, both series,
    # no segment means or 14), so the test stays quick; `bci-bridge train
    # examples/recipes/scp1_minirocket.toml` runs it in full. Still a search: both rates, with
    # and without the slow potential.
    recipe = tmp_path / "small.toml"
    recipe.write_text(RECIPE.read_text())
    model, report_path = tmp_path / "mr.onnx", tmp_path / "report.json"
    args = ["train", str(recipe), "--out", str(model), "--report", str(report_path)]
    args += ["--set", "cv.folds=3", "--set", "cv.repeats=1", "--set", "decoder.features=[672]"]
    args += ["--set", "decoder.differences=true", "--set", "decoder.segments=[0, 14]"]
    assert main([*args, "--jobs", "2"]) == 0
    report = json.loads(report_path.read_text())
    assert report["family"] == "minirocket"
    assert report["parity_max_abs_diff"] <= PARITY_TOLERANCE
    assert report["n_test"] == 293
    assert report["test_accuracy"] > 0.75
    rows = report["selection"]
    assert len(rows) == 4  # rates x segments
    assert {(r["settings"]["sfreq"], r["settings"]["segments"]) for r in rows} == {
        (64.0, 0),
        (64.0, 14),
        (128.0, 0),
        (128.0, 14),
    }
    assert not any("skipped" in r for r in rows)  # 672 features fit the budget at both rates
    best = max(r["cv_mean"] for r in rows)
    (chosen,) = [r for r in rows if r["chosen"]]
    assert chosen["cv_mean"] == best
    manifest = read_manifest(model)
    assert manifest is not None
    features = manifest["family"]["features"]
    segments = chosen["settings"]["segments"]
    assert features["pooling"] == ["ppv"]
    assert features["segments"] == manifest["family"]["config"]["segments"] == segments
    assert features["n_features"] == 672 + 6 * segments
    assert len(features["series"]) == 2
    rate = chosen["settings"]["sfreq"]
    assert manifest["filters"][0] == {"module": "resample", "params": {"sfreq": rate}}
    assert manifest["window_samples"] == round(3.5 * rate)


def test_candidates_over_the_window_budget_are_skipped_with_the_estimate(
    scp1_train: Trials,
) -> None:
    X, y = _at_64_hz(scp1_train), _labels(scp1_train)
    shape = WindowShape(6, X.shape[2], 64.0)
    small = MiniRocketConfig(features=672, classifier="ridge")
    large = MiniRocketConfig(features=8064, classifier="ridge")
    assert (
        estimated_window_us(small, 224, 6) < DEFAULT_WINDOW_US < estimated_window_us(large, 224, 6)
    )
    # More samples, more features or MultiRocket's pooling: a larger estimate.
    assert estimated_window_us(small, 448, 6) > estimated_window_us(small, 224, 6)
    multi = MiniRocketConfig(features=672, pooling=MULTIROCKET, differences=True)
    assert estimated_window_us(multi, 224, 6) > estimated_window_us(small, 224, 6)

    # The segment means are counted, in proportion to their multiply-adds (channels x samples x
    # segments): the estimate is a deterministic model, so the increments are exact.
    def means_us(segments: int, channels: int) -> float:
        with_means = replace(small, segments=segments)
        return estimated_window_us(with_means, 224, channels) - estimated_window_us(
            small, 224, channels
        )

    assert means_us(14, 6) > 0
    assert means_us(28, 6) == pytest.approx(2 * means_us(14, 6))
    assert means_us(28, 12) == pytest.approx(2 * means_us(28, 6))
    with pytest.raises(OverBudget, match="estimated at") as info:
        MiniRocket(large, shape, 2)
    assert info.value.key == "max_window_us"
    MiniRocket(replace(large, max_window_us=float("inf")), shape, 2)  # the bound lifted
    candidates = [
        Candidate("minirocket", {"features": 8064}, large),
        Candidate("minirocket", {"features": 672}, small),
    ]
    splits = make_splits("shuffled", 3, 1, 0, y, None).splits
    rows = search(candidates, X, y, shape, 2, splits)
    assert rows[0].skipped.startswith("8064 features of 224-sample windows: one window")
    assert rows[0].scores == ()
    assert len(rows[1].scores) == 3
    assert not rows[1].skipped
    assert choose(rows) == 1


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"features": 10}, "features"),
        ({"features": 100, "differences": True}, "features"),  # 84 per series
        ({"features": 200, "pooling": ("ppv", "mpv", "mipv")}, "features"),  # 84 per operator
        ({"features": 600, "pooling": MULTIROCKET, "differences": True}, "features"),
        ({"features": True}, "features"),
        ({"differences": 1}, "differences"),
        ({"pooling": ()}, "pooling"),
        ({"pooling": ("mpv", "ppv")}, "pooling"),  # canonical order
        ({"pooling": ("ppv", "max")}, "pooling"),
        ({"max_window_us": 0.0}, "max_window_us"),
        ({"max_window_us": True}, "max_window_us"),
        ({"segments": -1}, "segments"),
        ({"segments": True}, "segments"),
        ({"segments": 7.0}, "segments"),
        ({"slow_weight": 0.0}, "slow_weight"),
        ({"slow_weight": float("nan")}, "slow_weight"),
        ({"slow_weight": float("inf")}, "slow_weight"),
        ({"slow_weight": False}, "slow_weight"),
    ],
)
def test_bad_settings_are_config_errors(kwargs: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        MiniRocketConfig(**kwargs)
    assert info.value.key == key


def test_too_short_windows_are_refused() -> None:
    with pytest.raises(ConfigError, match="samples"):
        MiniRocket(MiniRocketConfig(), WindowShape(2, 9, 64.0), 2)
    with pytest.raises(ConfigError, match="cannot make 300 segments") as info:
        MiniRocket(MiniRocketConfig(segments=300), WindowShape(6, 224, 64.0), 2)
    assert info.value.key == "segments"


def test_a_bad_segments_in_a_recipe_names_the_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "bad.toml"
    recipe.write_text(RECIPE.read_text())
    args = ["train", str(recipe), "--out", str(tmp_path / "m.onnx")]
    assert main([*args, "--set", "decoder.segments=[0, -7]"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: decoder.segments: must be a count >= 0" in err
    assert not (tmp_path / "m.onnx").exists()
