"""The onnx module checks a model's training units against the stream, or scales with auto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_windows import mean_linear_softmax, reference
from test_onnx_window import CHANNELS, SFREQ, W, _manifest

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.manifest import parse_manifest
from decoders.onnx_module import OnnxModule, OnnxModuleConfig


def _info(unit: str) -> StreamInfo:
    n = len(CHANNELS)
    return StreamInfo(
        name="scp",
        channel_names=CHANNELS,
        sfreq=SFREQ,
        dtype="float32",
        channel_types=("eeg",) * n,
        channel_units=(unit,) * n,
    )


def _model(tmp_path: Path) -> tuple[Path, np.ndarray]:
    manifest = _manifest(units=["uV"] * len(CHANNELS))
    return mean_linear_softmax(tmp_path / "m.onnx", len(CHANNELS), W, manifest=manifest)


def _module(path: Path, unit: str, **params: Any) -> OnnxModule:
    module = OnnxModule(build_config(OnnxModuleConfig, {"model": str(path), **params}))
    module.prepare(_info(unit))
    return module


def _run(module: OnnxModule, x: np.ndarray, size: int) -> np.ndarray:
    t = 10.0 + np.arange(x.shape[0]) / SFREQ
    rows = []
    for start in range(0, x.shape[0], size):
        out = module.step(Chunk(x[start : start + size], t[start : start + size], 0))
        if out is not None:
            rows.append(out.data.copy())
    return np.concatenate(rows)


def test_a_volts_stream_is_refused_by_a_microvolts_model_naming_both(tmp_path: Path) -> None:
    path, _ = _model(tmp_path)
    with pytest.raises(ModelError) as err:
        _module(path, "V")
    message = str(err.value)
    assert "trained in uV" in message
    assert "is in V" in message
    assert 'scale = "auto"' in message


def test_auto_scale_decodes_volts_as_the_microvolts_stream_does(tmp_path: Path) -> None:
    path, w = _model(tmp_path)
    micro = (np.random.default_rng(3).normal(size=(6 * W, len(CHANNELS))) * 20).astype(np.float32)
    volts = (micro.astype(np.float64) * 1e-6).astype(np.float32)
    expected = _run(_module(path, "uV"), micro, W)
    got = _run(_module(path, "V", scale="auto"), volts, W)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(expected, reference(micro.reshape(6, W, -1), w), rtol=1e-4)
    # Sliding windows, chunks of odd sizes: the same scaling path, the same answers.
    hop_micro = _run(_module(path, "uV", trigger="hop", hop=16), micro, 7)
    hop_volts = _run(_module(path, "V", trigger="hop", hop=16, scale="auto"), volts, 13)
    assert hop_micro.shape == hop_volts.shape == ((6 * W - W) // 16 + 1, 2)
    np.testing.assert_allclose(hop_volts, hop_micro, rtol=1e-4, atol=1e-6)


def test_matching_and_unknown_units_pass_without_scaling(tmp_path: Path) -> None:
    path, _ = _model(tmp_path)
    for unit in ("uV", "microvolts", ""):
        module = _module(path, unit, scale="auto")
        assert module._factors is None


def test_units_that_are_not_voltages_are_refused_even_with_auto(tmp_path: Path) -> None:
    path, _ = _model(tmp_path)
    with pytest.raises(ModelError, match=r"in uV, but stream 'scp' gives it in degC"):
        _module(path, "degC", scale="auto")


def test_scale_param_and_manifest_units_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="one of 'none', 'auto'") as err:
        build_config(OnnxModuleConfig, {"model": "m.onnx", "scale": "yes"})
    assert err.value.key == "scale"
    bad = _manifest(units=["uV"])
    with pytest.raises(ModelError, match="'units' must list one unit per channel"):
        parse_manifest(json.dumps(bad), "m.onnx")
