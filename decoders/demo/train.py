"""Train the demo classifier on synthetic calibration data and export it to ONNX.

The features come from the demo pipeline's own nodes (``pipeline.toml`` without its last,
``onnx``, node) run offline over a recording of the synthetic array, so the model sees exactly
what the runtime will feed it. The classifier is scikit-learn's shrinkage LDA; its posterior,
``softmax(x @ coef.T + intercept)``, is written as three ONNX operators (MatMul, Add, Softmax)
and checked against scikit-learn on held-out data before the file is written.

Run ``python -m decoders.demo.train`` to remake ``decoders/demo/model.onnx``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from bci_bridge.config import load_pipeline
from decoders.offline import run_chain
from devices.synthetic import Synthetic, SyntheticConfig

__all__ = ["TrainResult", "export_linear", "main", "make_features", "train"]

PIPELINE = Path(str(files("decoders") / "demo" / "pipeline.toml"))
MODEL = PIPELINE.with_name("model.onnx")


@dataclass(frozen=True, slots=True)
class TrainResult:
    """What training produced and how good it is."""

    classes: tuple[str, ...]
    cv_accuracy: float
    test_accuracy: float
    parity_max_abs_diff: float
    n_train: int
    n_test: int


def make_features(
    minutes: float, seed: int, sfreq: float = 250.0, n_channels: int = 8
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.intp], tuple[str, ...]]:
    """Record the synthetic array offline and compute the demo pipeline's features.

    Parameters
    ----------
    minutes : float
        Length of the recording.
    seed : int
        Seed of the synthetic array (its trial schedule and noise).
    sfreq : float
        Sample rate, Hz.
    n_channels : int
        Channels of the array (the pipeline picks C3 and C4).

    Returns
    -------
    X : ndarray of float32, shape (n_windows, n_features)
        One feature row per output of the band-power node, keeping only windows that lie
        wholly inside one trial.
    y : ndarray of intp, shape (n_windows,)
        Class index of each row.
    classes : tuple of str
        Class names, indexed by ``y``.
    """
    device = Synthetic(
        SyntheticConfig(n_channels=n_channels, sfreq=sfreq, seed=seed, realtime=False)
    )
    info = device.info()
    device.open()
    data, stamps, labels = device.generate(int(minutes * 60 * sfreq))
    device.close()
    pipeline = load_pipeline(PIPELINE)
    window = round(pipeline.nodes[-2].config.window_s * sfreq)
    feats, out_stamps, _ = run_chain(pipeline.nodes[:-1], info, data, stamps, chunk_size=10)
    newest = np.searchsorted(stamps, out_stamps)  # sample index behind each output row
    oldest = newest - window + 1
    clean = labels[newest] == labels[np.maximum(oldest, 0)]
    clean &= oldest >= 0
    # Samples within one trial share a label; also require the oldest sample in the same trial.
    trial_len = round(device._config.trial_s * sfreq)
    clean &= (newest // trial_len) == (oldest // trial_len)
    return feats[clean].astype(np.float32), labels[newest[clean]], device._config.classes


def export_linear(
    coef: npt.NDArray[np.float64],
    intercept: npt.NDArray[np.float64],
    classes: tuple[str, ...],
    path: Path,
    metadata: dict[str, str],
) -> None:
    """Write ``softmax(x @ coef.T + intercept)`` as an ONNX model.

    Parameters
    ----------
    coef : ndarray, shape (n_classes, n_features)
        Linear weights.
    intercept : ndarray, shape (n_classes,)
        Biases.
    classes : tuple of str
        Class names, stored in the ``classes`` metadata entry (comma-separated).
    path : Path
        Where to write the ``.onnx`` file.
    metadata : dict of str to str
        Further metadata entries (training data, scores).
    """
    n_classes, n_features = coef.shape
    w = numpy_helper.from_array(coef.T.astype(np.float32), "W")
    b = numpy_helper.from_array(intercept.astype(np.float32), "b")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["features", "W"], ["scores"]),
            helper.make_node("Add", ["scores", "b"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ],
        "demo_lda",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", n_features])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", n_classes])],
        initializer=[w, b],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="bci-bridge"
    )
    model.ir_version = 8
    helper.set_model_props(model, {"classes": ",".join(classes), **metadata})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def train(
    out: Path, *, minutes: float = 8.0, test_minutes: float = 3.0, seed: int = 1
) -> TrainResult:
    """Train on one synthetic session, test on another, export, check parity.

    Raises
    ------
    RuntimeError
        If the exported model's probabilities differ from scikit-learn's beyond float tolerance.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import KFold, cross_val_score

    X, y, classes = make_features(minutes, seed)
    X_test, y_test, _ = make_features(test_minutes, seed + 1000)
    lda = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
    cv = float(np.mean(cross_val_score(lda, X, y, cv=KFold(5))))
    lda.fit(X, y)
    test_acc = float(lda.score(X_test, y_test))
    digest = hashlib.sha256(X.tobytes()).hexdigest()[:16]
    meta = {
        "trained_on": json.dumps(
            {"device": "synthetic", "seed": seed, "minutes": minutes, "features_sha256": digest}
        ),
        "scores": json.dumps({"cv_accuracy": round(cv, 4), "test_accuracy": round(test_acc, 4)}),
        "made_by": "python -m decoders.demo.train",
    }
    export_linear(lda.coef_, lda.intercept_, classes, out, meta)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    onnx_proba = session.run(None, {"features": X_test})[0]
    diff = float(np.max(np.abs(onnx_proba - lda.predict_proba(X_test))))
    if diff > 1e-4:
        raise RuntimeError(f"ONNX export differs from scikit-learn by {diff:g}; not trusted")
    return TrainResult(classes, cv, test_acc, diff, len(y), len(y_test))


def main(argv: list[str] | None = None) -> int:
    """Command line: train, export, print the scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=MODEL, help="where to write the model (default: %(default)s)"
    )
    parser.add_argument(
        "--minutes", type=float, default=8.0, help="calibration length (default: %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="seed of the calibration session (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    result = train(args.out, minutes=args.minutes, seed=args.seed)
    print(
        f"wrote {args.out}: classes {', '.join(result.classes)}; "
        f"cv accuracy {result.cv_accuracy:.3f} ({result.n_train} windows), "
        f"test accuracy {result.test_accuracy:.3f} ({result.n_test} windows, "
        f"another session), parity {result.parity_max_abs_diff:.2g}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
