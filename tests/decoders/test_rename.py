"""The rename module: a mapping or positional names; data, types and units untouched."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.testing import check_module
from decoders.rename import Rename, RenameConfig

INFO = StreamInfo(
    name="eeg",
    channel_names=("ch1", "ch2", "ch3"),
    sfreq=100.0,
    channel_types=("eeg", "eeg", "eog"),
    channel_units=("uV", "uV", "mV"),
)


def test_mapping_renames_some_channels_and_keeps_the_rest():
    out = Rename(build_config(RenameConfig, {"mapping": {"ch1": "C3", "ch3": "EOG"}})).prepare(INFO)
    assert out.channel_names == ("C3", "ch2", "EOG")
    assert out.channel_types == INFO.channel_types
    assert out.channel_units == INFO.channel_units
    assert (out.sfreq, out.dtype, out.name) == (INFO.sfreq, INFO.dtype, INFO.name)


def test_positional_names_and_the_data_passes_through():
    module = Rename(build_config(RenameConfig, {"names": ["C3", "Cz", "C4"]}))
    assert module.prepare(INFO).channel_names == ("C3", "Cz", "C4")
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = module.step(Chunk(x, np.array([1.0, 2.0]), 5))
    np.testing.assert_array_equal(out.data, x)
    assert out.seq == 5


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ({"mapping": {"Fz": "x"}}, "mapping", "has no channel 'Fz'"),
        ({"mapping": {"ch1": "ch2"}}, "mapping", "would repeat: \\['ch2'\\]"),
        ({"names": ["a", "b"]}, "names", "gives 2 names, but stream 'eeg' has 3 channels"),
        ({"names": ["a", "a", "b"]}, "names", "would repeat"),
    ],
)
def test_prepare_refuses_names_that_do_not_fit(params, key, message):
    with pytest.raises(ConfigError, match=message) as err:
        Rename(build_config(RenameConfig, params)).prepare(INFO)
    assert err.value.key == key


def test_config_needs_exactly_one_of_mapping_and_names():
    with pytest.raises(ConfigError, match="either mapping"):
        build_config(RenameConfig, {})
    with pytest.raises(ConfigError, match="either mapping"):
        build_config(RenameConfig, {"mapping": {"a": "b"}, "names": ["x"]})
    with pytest.raises(ConfigError, match="non-empty name") as err:
        build_config(RenameConfig, {"mapping": {"a": ""}})
    assert err.value.key == "mapping.a"


@pytest.mark.parametrize("dtype", ["float32", "int16"])
def test_rename_conforms(dtype):
    info = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=128.0, dtype=dtype)
    check_module(Rename, RenameConfig(names=("C3", "C4")), info)
    check_module(Rename, RenameConfig(mapping={"b": "Cz"}), info)
