"""Re-referencing: average and channel references, against numpy, from 6 to 1024 channels."""

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


WIDE = tuple(f"e{i:04d}" for i in range(1024))


def _wide_chunks(dtype: str) -> list[np.ndarray]:
    """Chunks of a 1024-channel stream (30 samples: 1 ms at 30 kHz), with a large offset."""
    rng = np.random.default_rng(3)
    return [(rng.normal(size=(30, len(WIDE))) * 50 + 1000).astype(dtype) for _ in range(3)]


def _expected(x: np.ndarray, ref: list[int], sub: list[int], keep: list[int]) -> np.ndarray:
    xf = x.astype(np.float64)
    out = xf.copy()
    out[:, sub] -= xf[:, ref].mean(axis=1, keepdims=True)
    return out[:, keep]


EVERY = list(range(1024))
SCATTERED = list(range(0, 1024, 3))  # 342 separate runs: the fancy-indexing path
BLOCKS = list(range(100, 300)) + list(range(500, 1000))  # a few runs: the slicing path


@pytest.mark.parametrize("dtype", ["float64", "float32", "int16"])
@pytest.mark.parametrize(
    ("table", "ref", "sub", "keep"),
    [
        ({}, EVERY, EVERY, EVERY),
        ({"channels": [WIDE[j] for j in BLOCKS]}, BLOCKS, BLOCKS, EVERY),
        ({"channels": [WIDE[j] for j in SCATTERED]}, SCATTERED, SCATTERED, EVERY),
        ({"mode": "channels", "reference": ["e0000", "e0001"]}, [0, 1], EVERY, EVERY),
        (
            {"mode": "channels", "reference": ["e0512", "e0000"], "drop_reference": True},
            [0, 512],
            EVERY,
            [j for j in EVERY if j not in (0, 512)],
        ),
        (
            {"mode": "channels", "reference": [WIDE[j] for j in SCATTERED], "drop_reference": True},
            SCATTERED,
            EVERY,
            [j for j in EVERY if j % 3],
        ),
    ],
    ids=["all", "blocks", "scattered", "channels", "drop-two", "drop-scattered"],
)
def test_1024_channels_match_numpy_and_outputs_stay_valid(
    table: dict, ref: list[int], sub: list[int], keep: list[int], dtype: str
) -> None:
    info = StreamInfo(name="utah", channel_names=WIDE, sfreq=30000.0, dtype=dtype)
    module = ReRef(build_config(ReRefConfig, table))
    out_info = module.prepare(info)
    assert out_info.channel_names == tuple(WIDE[j] for j in keep)
    chunks = _wide_chunks(dtype)
    outputs = []
    for seq, x in enumerate(chunks):
        got = module.step(Chunk(x, np.arange(len(x), dtype=np.float64), seq))
        assert got is not None
        assert got.data.shape == (30, len(keep))
        assert got.data.dtype == out_info.np_dtype
        assert got.data.flags.c_contiguous
        assert not np.shares_memory(got.data, x)
        outputs.append(got.data)
    tol = 1e-9 if dtype == "float64" else 2e-3
    # Checked after every step has run: no output was overwritten by a later step.
    for x, got in zip(chunks, outputs, strict=True):
        np.testing.assert_allclose(got, _expected(x, ref, sub, keep), rtol=0, atol=tol)
    assert not np.shares_memory(outputs[0], outputs[1])


@pytest.mark.parametrize("wide", [False, True], ids=["slices", "scattered"])
def test_channels_outside_the_average_pass_exactly_even_when_the_average_is_nan(
    wide: bool,
) -> None:
    if wide:
        x = _wide_chunks("float64")[0]
        sub = SCATTERED
        info = StreamInfo(name="utah", channel_names=WIDE, sfreq=30000.0, dtype="float64")
    else:
        x, sub, info = _x(), [2, 3, 4], _info()
    x[5, sub[1]] = np.nan
    module = ReRef(ReRefConfig(channels=tuple(info.channel_names[j] for j in sub)))
    module.prepare(info)
    got = module.step(Chunk(x, np.arange(len(x), dtype=np.float64)))
    assert got is not None
    others = np.setdiff1d(np.arange(x.shape[1]), sub)
    np.testing.assert_array_equal(got.data[:, others], x[:, others])
    assert np.isnan(got.data[5, sub]).all()
    np.testing.assert_allclose(
        np.delete(got.data, 5, axis=0),
        np.delete(_expected(x, sub, sub, EVERY[: x.shape[1]]), 5, axis=0),
    )
