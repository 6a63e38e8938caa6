"""Micro-benchmark: per-call cost of every built-in module's ``step`` in steady state.

Run: ``.venv/bin/python benchmarks/step_costs.py [name ...]`` (prints p50 and p99 per call in
microseconds; 16 channels at 250 Hz, float32, chunks of 25 samples unless stated). Times on
this machine move with its load; compare numbers from one run only, or runs made back to back.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from bci_bridge.registry import load
from bci_bridge.stream import Chunk, StreamInfo

SFREQ = 250.0
N_CHANNELS = 16
N_CALLS = 2000


def _window_model(path: Path, n_samples: int) -> str:
    """Save softmax(mean over time of x (1, C, n_samples) @ w), three classes."""
    w = np.random.default_rng(5).normal(size=(N_CHANNELS, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["x"], ["m"], axes=[2], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["z"]),
            helper.make_node("Softmax", ["z"], ["y"], axis=-1),
        ],
        "bench_window",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", N_CHANNELS, n_samples])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", 3])],
        [numpy_helper.from_array(w, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, path)
    return str(path)


def _cases(tmp: Path) -> list[tuple[str, str, dict[str, Any], int]]:
    """(label, module name, config, samples per chunk)."""
    return [
        ("bandpass", "bandpass", {"low": 8.0, "high": 30.0}, 25),
        ("highpass", "highpass", {"cutoff": 1.0}, 25),
        ("notch", "notch", {"freq": 50.0}, 25),
        ("bandpower dft", "bandpower", {}, 25),
        (
            "bandpower fft",
            "bandpower",
            {"bands": ((1.0, 40.0), (40.0, 120.0)), "window_s": 2.0},
            25,
        ),
        ("covariance", "covariance", {"window_s": 1.0, "hop_s": 0.1, "shrinkage": 0.1}, 25),
        ("logvar sliding", "logvar", {"window_s": 1.0, "hop_s": 0.1}, 25),
        ("logvar epochs", "logvar", {"window_s": 0.5}, 125),
        ("segment_means", "segment_means", {"window_s": 0.8, "n_segments": 8}, 200),
        ("pick", "pick", {"channels": ("ch3", "ch5", "ch7")}, 25),
        ("reref average", "reref", {}, 25),
        ("reref ears", "reref", {"mode": "channels", "reference": ("ch0", "ch1")}, 25),
        ("rename", "rename", {"mapping": {"ch0": "Fz"}}, 25),
        ("resample 128", "resample", {"sfreq": 128.0}, 25),
        ("resample 125", "resample", {"sfreq": 125.0}, 25),
        ("resample 500", "resample", {"sfreq": 500.0}, 25),
        (
            "onnx window hop",
            "onnx",
            {"model": _window_model(tmp / "w.onnx", 250), "trigger": "hop", "hop": 25},
            25,
        ),
        ("onnx epochs", "onnx", {"model": _window_model(tmp / "e.onnx", 50)}, 50),
    ]


def _time(module: Any, size: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    x = (20 * rng.normal(size=(N_CALLS * size, N_CHANNELS))).astype(np.float32)
    t = 1000.0 + np.arange(x.shape[0]) / SFREQ
    chunks = [Chunk(x[k : k + size], t[k : k + size], 0) for k in range(0, x.shape[0], size)]
    warm = min(len(chunks) // 4, int(3 * SFREQ) // size + 10)
    for c in chunks[:warm]:
        module.step(c)
    times = np.empty(len(chunks) - warm)
    for k, c in enumerate(chunks[warm:]):
        t0 = time.perf_counter()
        module.step(c)
        times[k] = time.perf_counter() - t0
    return float(np.percentile(times, 50) * 1e6), float(np.percentile(times, 99) * 1e6)


def main(names: list[str]) -> None:
    """Print one line per case (all cases, or those whose module is in ``names``)."""
    info = StreamInfo(
        name="bench",
        channel_names=tuple(f"ch{i}" for i in range(N_CHANNELS)),
        sfreq=SFREQ,
        channel_units=("uV",) * N_CHANNELS,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for label, name, config, size in _cases(Path(tmp)):
            if names and name not in names:
                continue
            cls = load("module", name)
            module = cls(cls.Config(**config))
            module.prepare(info)
            p50, p99 = _time(module, size)
            print(f"{label:18s} chunks of {size:3d}: p50 {p50:7.1f} us  p99 {p99:7.1f} us")


if __name__ == "__main__":
    main(sys.argv[1:])
