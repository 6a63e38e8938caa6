"""The onnx module's prewarm(): a throw-away run that changes nothing a step returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx_windows import mean_linear_softmax
from test_onnx_module import _info, _linear_softmax

from bci_bridge.stream import Chunk, StreamInfo
from decoders.onnx_module import OnnxModule, OnnxModuleConfig


def _outputs(module: OnnxModule, chunks: list[Chunk], *, prewarm: bool) -> list[np.ndarray]:
    rows = []
    for chunk in chunks:
        if prewarm:
            module.prewarm()
            module.prewarm()
        out = module.step(chunk)
        if out is not None:
            rows.append(out.data)
    return rows


def test_prewarms_between_steps_leave_a_features_model_s_outputs_identical(tmp_path: Path) -> None:
    path, _w, _b = _linear_softmax(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(30, 8)).astype(np.float32)
    chunks = [Chunk(x[i : i + 3], np.arange(i, i + 3) / 10.0, i) for i in range(0, 30, 3)]
    plain = OnnxModule(OnnxModuleConfig(model=str(path)))
    plain.prepare(_info())
    warmed = OnnxModule(OnnxModuleConfig(model=str(path)))
    warmed.prepare(_info())
    warmed.prewarm()  # before any step: on its zeroed buffers
    want = _outputs(plain, chunks, prewarm=False)
    got = _outputs(warmed, chunks, prewarm=True)
    assert len(got) == len(want) == 10
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)


def test_prewarms_leave_a_window_model_s_outputs_identical(tmp_path: Path) -> None:
    channels, window, hop = 4, 32, 4
    path, _w = mean_linear_softmax(tmp_path / "w.onnx", channels, window)
    info = StreamInfo(name="eeg", channel_names=("a", "b", "c", "d"), sfreq=128.0)
    x = np.random.default_rng(1).normal(size=(200, channels)).astype(np.float32)
    chunks = [Chunk(x[i : i + 5], np.arange(i, i + 5) / 128.0, i) for i in range(0, 200, 5)]
    modules = []
    for _ in range(2):
        m = OnnxModule(OnnxModuleConfig(model=str(path), trigger="hop", hop=hop))
        m.prepare(info)
        modules.append(m)
    want = _outputs(modules[0], chunks, prewarm=False)
    got = _outputs(modules[1], chunks, prewarm=True)
    assert len(got) == len(want) > 0
    assert sum(len(r) for r in got) == (200 - window) // hop + 1
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)
