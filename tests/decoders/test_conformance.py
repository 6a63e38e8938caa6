"""Every built-in module passes the conformance kit; the kit catches broken modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx_windows import mean_linear_softmax
from test_onnx_module import _linear_softmax

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.testing import check_module
from decoders.bandpass import BandPass, BandPassConfig
from decoders.bandpower import BandPower, BandPowerConfig
from decoders.covariance import Covariance, CovarianceConfig
from decoders.highpass import HighPass, HighPassConfig
from decoders.logvar import LogVar, LogVarConfig
from decoders.notch import Notch, NotchConfig
from decoders.onnx_module import OnnxModule, OnnxModuleConfig
from decoders.pick import Pick, PickConfig
from decoders.reref import ReRef, ReRefConfig
from decoders.segment_means import SegmentMeans, SegmentMeansConfig

SFREQ = 128.0


def _info(n_channels: int = 4, dtype: str = "float32", sfreq: float = SFREQ) -> StreamInfo:
    names = tuple(f"ch{i}" for i in range(n_channels))
    return StreamInfo(name="eeg", channel_names=names, sfreq=sfreq, dtype=dtype)


STREAMING: list[tuple[type[Any], Any]] = [
    (BandPass, BandPassConfig(low=8.0, high=30.0)),
    (BandPower, BandPowerConfig(window_s=0.5, hop_s=0.1)),
    (Pick, PickConfig(channels=("ch2", "ch0"))),
    (Notch, NotchConfig(freq=50.0, harmonics=(1,))),
    (HighPass, HighPassConfig(cutoff=1.0)),
    (ReRef, ReRefConfig()),
    (ReRef, ReRefConfig(mode="channels", reference=("ch0", "ch1"), drop_reference=True)),
    (Covariance, CovarianceConfig(window_s=0.25, hop_s=0.05, shrinkage=0.1)),
    (LogVar, LogVarConfig(window_s=0.25, hop_s=0.05)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("cls", "config"), STREAMING, ids=lambda v: getattr(v, "__name__", ""))
def test_streaming_modules_conform(cls: type[Any], config: Any, dtype: str) -> None:
    rtol = 1e-4 if dtype == "float32" else 1e-9
    check_module(cls, config, _info(dtype=dtype), rtol=rtol, atol=1e-5)


def test_filters_conform_on_integer_input() -> None:
    check_module(HighPass, HighPassConfig(cutoff=2.0), _info(dtype="int16"), rtol=1e-4, atol=1e-4)


EPOCH = 32  # samples per epoch: window_s = 0.25 s at 128 Hz


@pytest.mark.parametrize(
    ("cls", "config"),
    [
        (SegmentMeans, SegmentMeansConfig(window_s=0.25, n_segments=4)),
        (Covariance, CovarianceConfig(window_s=0.25)),
        (LogVar, LogVarConfig(window_s=0.25)),
    ],
    ids=["segment_means", "covariance", "logvar"],
)
def test_epoch_modules_conform(cls: type[Any], config: Any) -> None:
    data = np.random.default_rng(1).normal(size=(12 * EPOCH, 4)).astype(np.float32)
    check_module(cls, config, _info(), data, chunk_sizes=(EPOCH, 2 * EPOCH, 3 * EPOCH))
    # Epoch modules refuse chunks that are not whole epochs; the kit reports it as it is.
    with pytest.raises(ValueError, match=f"epochs of {EPOCH} samples"):
        check_module(cls, config, _info(), data, chunk_sizes=(7,), chunking_invariant=False)


def test_onnx_rows_model_conforms(tmp_path: Path) -> None:
    path, _, _ = _linear_softmax(tmp_path / "rows.onnx", n_features=4)
    check_module(OnnxModule, OnnxModuleConfig(model=str(path)), _info(), rtol=1e-5, atol=1e-6)


def test_onnx_window_model_conforms_with_both_triggers(tmp_path: Path) -> None:
    path, _ = mean_linear_softmax(tmp_path / "win.onnx", 4, EPOCH)
    data = np.random.default_rng(2).normal(size=(8 * EPOCH, 4)).astype(np.float32)
    chunked = OnnxModuleConfig(model=str(path))
    check_module(OnnxModule, chunked, _info(), data, chunk_sizes=(EPOCH, 4 * EPOCH))
    hopping = OnnxModuleConfig(model=str(path), trigger="hop", hop=5)
    check_module(OnnxModule, hopping, _info(), data)


# --- The kit fails on modules that break the contract --------------------------------------


class _Config:
    pass


@pytest.fixture
def config_cls() -> type[Any]:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Config:
        scale: float = 2.0

    return Config


def _module(config_cls: type[Any], step: Any, prepare: Any = None) -> type[Any]:
    def default_prepare(self: Any, info: StreamInfo) -> StreamInfo:
        self.buf = np.zeros((1024, info.n_channels), dtype=np.float32)
        self.total = 0
        return info

    return type(
        "Broken",
        (),
        {
            "Config": config_cls,
            "__init__": lambda self, config: None,
            "prepare": prepare or default_prepare,
            "step": step,
        },
    )


def test_kit_catches_outputs_aliasing_a_reused_buffer(config_cls: type[Any]) -> None:
    def step(self: Any, chunk: Chunk) -> Chunk:
        n = chunk.n_samples
        self.buf[:n] = chunk.data * 2
        return Chunk(self.buf[:n], chunk.timestamps, chunk.seq)

    with pytest.raises(AssertionError, match="changed after later steps"):
        check_module(_module(config_cls, step), config_cls(), _info())


def test_kit_catches_a_module_that_modifies_its_input(config_cls: type[Any]) -> None:
    def step(self: Any, chunk: Chunk) -> Chunk:
        chunk.data *= 2
        return Chunk(chunk.data.copy(), chunk.timestamps, chunk.seq)

    with pytest.raises(AssertionError, match="modified its input"):
        check_module(_module(config_cls, step), config_cls(), _info())


def test_kit_catches_a_wrong_dtype_and_foreign_timestamps(config_cls: type[Any]) -> None:
    def wrong_dtype(self: Any, chunk: Chunk) -> Chunk:
        return Chunk(chunk.data.astype(np.float64), chunk.timestamps, chunk.seq)

    with pytest.raises(AssertionError, match="dtype is float64, the output info says float32"):
        check_module(_module(config_cls, wrong_dtype), config_cls(), _info())

    def shifted(self: Any, chunk: Chunk) -> Chunk:
        return Chunk(chunk.data.copy(), chunk.timestamps + 0.5, chunk.seq)

    with pytest.raises(AssertionError, match="not all input timestamps"):
        check_module(_module(config_cls, shifted), config_cls(), _info())


def test_kit_catches_chunk_size_dependence_and_missing_reset(config_cls: type[Any]) -> None:
    def per_chunk_mean(self: Any, chunk: Chunk) -> Chunk:
        return Chunk(chunk.data - chunk.data.mean(axis=0), chunk.timestamps, chunk.seq)

    with pytest.raises(AssertionError, match="chunk size 7 vs 1: outputs differ"):
        check_module(_module(config_cls, per_chunk_mean), config_cls(), _info())

    def counting(self: Any, chunk: Chunk) -> Chunk:
        self.total = getattr(self, "total", 0) + chunk.n_samples
        out = chunk.data + np.arange(self.total - chunk.n_samples, self.total)[:, None]
        return Chunk(out.astype(np.float32), chunk.timestamps, chunk.seq)

    def prepare_once(self: Any, info: StreamInfo) -> StreamInfo:
        return info  # forgets to reset self.total

    with pytest.raises(AssertionError, match="re-prepared module vs fresh module"):
        check_module(_module(config_cls, counting, prepare_once), config_cls(), _info())


def test_kit_checks_the_config_and_prepare(config_cls: type[Any]) -> None:
    def step(self: Any, chunk: Chunk) -> Chunk:
        return chunk

    with pytest.raises(AssertionError, match=r"not Broken\.Config"):
        check_module(_module(config_cls, step), _Config(), _info())

    def bad_prepare(self: Any, info: StreamInfo) -> StreamInfo:
        return None  # type: ignore[return-value]

    with pytest.raises(AssertionError, match=r"prepare\(\) returned NoneType"):
        check_module(_module(config_cls, step, bad_prepare), config_cls(), _info())


def test_kit_lets_config_errors_through() -> None:
    with pytest.raises(ConfigError, match="Nyquist"):
        check_module(BandPass, BandPassConfig(low=8.0, high=100.0), _info())


def test_kit_refuses_a_0_row_output(config_cls: type[Any]) -> None:
    def step(self: Any, chunk: Chunk) -> Chunk:
        return Chunk(chunk.data[:0].copy(), chunk.timestamps[:0].copy(), chunk.seq)

    with pytest.raises(AssertionError, match="0-row chunk"):
        check_module(_module(config_cls, step), config_cls(), _info())


def test_kit_refuses_non_finite_output_timestamps(config_cls: type[Any]) -> None:
    def step(self: Any, chunk: Chunk) -> Chunk:
        stamps = chunk.timestamps.copy()
        stamps[-1] = np.nan
        return Chunk(chunk.data.copy(), stamps, chunk.seq)

    with pytest.raises(AssertionError, match="non-finite output timestamps"):
        check_module(_module(config_cls, step), config_cls(), _info())
