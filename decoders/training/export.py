"""Write a decoder with its manifest, check ONNX against Python, time one-window inference.

Parity tolerance: :data:`PARITY_TOLERANCE` on probabilities. The ONNX graph runs in float32
(inputs, constants and arithmetic) while the Python model runs in float64 on the same
float32-rounded windows; differences from float32 rounding of features and logits are of the
order 1e-6, so 1e-4 is loose enough for any sane model and tight enough to catch a wrong
formula or a transposed matrix.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from bci_bridge.errors import ModelError
from decoders.manifest import write_manifest
from decoders.training.graph import INPUT, OUTPUT

__all__ = ["PARITY_TOLERANCE", "check_parity", "open_session", "save_model", "time_inference"]

#: Largest tolerated |ONNX - Python| over all probabilities.
PARITY_TOLERANCE = 1e-4


def save_model(model: onnx.ModelProto, manifest: dict[str, Any], path: Path) -> None:
    """Store the manifest (and a ``classes`` entry for older readers) and write the file."""
    write_manifest(model, manifest)
    kept = [p for p in model.metadata_props if p.key != "classes"]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = "classes"
    entry.value = ",".join(manifest["classes"])
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def open_session(model: onnx.ModelProto | Path) -> ort.InferenceSession:
    """Open an onnxruntime session on one thread, as the runtime's ``onnx`` module does."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def check_parity(
    session: ort.InferenceSession,
    X: npt.NDArray[np.float64],
    python_proba: npt.NDArray[np.float64],
) -> float:
    """Run windows ``X`` (n, C, W) through ONNX; return max |ONNX - ``python_proba``|.

    ``python_proba`` must come from the same float32-rounded windows.

    Raises
    ------
    ModelError
        If the difference exceeds :data:`PARITY_TOLERANCE` or the output has the wrong shape.
    """
    onnx_proba = session.run([OUTPUT], {INPUT: X.astype(np.float32)})[0]
    if onnx_proba.shape != python_proba.shape:
        raise ModelError(
            f"parity: ONNX gives shape {onnx_proba.shape}, Python {python_proba.shape}"
        )
    diff = float(np.max(np.abs(onnx_proba.astype(np.float64) - python_proba)))
    if not diff <= PARITY_TOLERANCE:
        raise ModelError(
            f"parity check failed: the ONNX export differs from the Python model by {diff:.3g} "
            f"(tolerance {PARITY_TOLERANCE:g}) on {len(X)} held-out windows; not written"
        )
    return diff


def time_inference(
    session: ort.InferenceSession, window: npt.NDArray[np.float64], runs: int = 500
) -> dict[str, float]:
    """Time single-window runs; return ``{"p50": us, "p99": us, "runs": n}``.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The model, opened with :func:`open_session`.
    window : ndarray, shape (n_channels, n_samples)
        One window.
    runs : int
        Timed runs (after 20 untimed ones).
    """
    x = np.ascontiguousarray(window[None].astype(np.float32))
    feed = {INPUT: x}
    for _ in range(20):
        session.run([OUTPUT], feed)
    times = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        session.run([OUTPUT], feed)
        times[i] = (time.perf_counter_ns() - t0) / 1e3
    return {
        "p50": round(float(np.percentile(times, 50)), 2),
        "p99": round(float(np.percentile(times, 99)), 2),
        "runs": runs,
    }
