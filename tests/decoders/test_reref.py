"""Re-referencing: average and channel references as one matrix product."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.reref import ReRef, ReRefConfig

NAMES = ("A1", "A2", "C3", "Cz", "C4", "EOG")


def _info(dtype: str = "float64") -> StreamInfo:
    types = ("eeg",) * 5 + ("eog",)
    return StreamInfo(
        name="eeg", channel_names=NAMES, channel_types=types, sfreq=256.0, dtype=dtype
    )


def _x(n: int = 40, dtype: str = "float64") -> np.ndarray:
    return (np.random.default_rng(9).normal(size=(n, len(NAMES))) * 30).astype(dtype)


def _run(table: dict, x: np.ndarray, dtype: str = "float64") -> tuple[StreamInfo, np.ndarray]:
    module = ReRef(build_config(ReRefConfig, table))
    out_info = module.prepare(_info(dtype))
    got = module.step(Chunk(x, np.arange(len(x), dtype=np.float64)))
    assert got is not None
    assert got.data.dtype == out_info.np_dtype
    return out_info, got.data


def test_common_average_over_all_channels() -> None:
    x = _x()
    info, got = _run({}, x)
    assert info.channel_names == NAMES
    np.testing.assert_allclose(got, x - x.mean(axis=1, keepdims=True), atol=1e-12)


def test_average_over_a_subset_leaves_the_others_alone() -> None:
    x = _x()
    eeg = ["C3", "Cz", "C4"]
    _, got = _run({"channels": eeg}, x)
    idx = [NAMES.index(c) for c in eeg]
    expected = x.copy()
    expected[:, idx] -= x[:, idx].mean(axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_linked_ears_reference_with_and_without_dropping() -> None:
    x = _x(dtype="float32")
    ref = x[:, :2].astype(np.float64).mean(axis=1, keepdims=True)
    info, got = _run({"mode": "channels", "reference": ["A1", "A2"]}, x, "float32")
    assert info.channel_names == NAMES
    assert info.dtype == "float32"
    np.testing.assert_allclose(got, x - ref, rtol=1e-5, atol=1e-4)
    info, got = _run(
        {"mode": "channels", "reference": ["A1", "A2"], "drop_reference": True}, x, "float32"
    )
    assert info.channel_names == NAMES[2:]
    assert info.channel_types == ("eeg", "eeg", "eeg", "eog")
    np.testing.assert_allclose(got, x[:, 2:] - ref, rtol=1e-5, atol=1e-4)


def test_integer_input_gives_float32() -> None:
    x = np.round(_x()).astype(np.int16)
    info, got = _run({"mode": "channels", "reference": ["Cz"]}, x, "int16")
    assert info.dtype == "float32"
    np.testing.assert_allclose(got, x - x[:, [3]], atol=1e-4)


@pytest.mark.parametrize(
    ("table", "key", "match"),
    [
        ({"mode": "bipolar"}, "mode", "must be one of"),
        ({"mode": "channels"}, "reference", "needs the reference channels"),
        ({"reference": ["A1"]}, "reference", "applies to mode = 'channels'"),
        ({"drop_reference": True}, "drop_reference", "no channel to drop"),
        ({"mode": "channels", "reference": ["A1"], "channels": ["C3"]}, "channels", "'average'"),
        ({"channels": ["C3", "C3"]}, "channels", "unique"),
    ],
)
def test_bad_config_names_the_key(table: dict, key: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        build_config(ReRefConfig, table)
    assert err.value.key == key


def test_prepare_refuses_unknown_channels_and_an_empty_output() -> None:
    with pytest.raises(ConfigError, match="has no channel 'M1'; it has A1, A2") as err:
        ReRef(ReRefConfig(mode="channels", reference=("M1",))).prepare(_info())
    assert err.value.key == "reference"
    only = StreamInfo(name="two", channel_names=("A1", "A2"), sfreq=100.0)
    with pytest.raises(ConfigError, match="leaves no channel"):
        ReRef(ReRefConfig(mode="channels", reference=("A1", "A2"), drop_reference=True)).prepare(
            only
        )
