"""StreamInfo validation, defaults and JSON; Chunk basics."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.stream import DTYPES, Chunk, StreamInfo


def make(**changes) -> StreamInfo:
    fields = {"name": "eeg", "channel_names": ("Fz", "Cz", "Pz"), "sfreq": 250.0}
    fields.update(changes)
    return StreamInfo(**fields)


def test_defaults():
    info = make()
    assert info.type == "EEG"
    assert info.dtype == "float32"
    assert info.source_id == ""
    assert info.channel_types == ("eeg", "eeg", "eeg")
    assert info.channel_units == ("", "", "")
    assert info.n_channels == 3
    assert info.np_dtype == np.dtype("<f4")


def test_channel_types_default_to_stream_type_lower_cased():
    assert make(type="Markers").channel_types == ("markers",) * 3


def test_explicit_types_and_units_are_kept():
    info = make(channel_types=("eeg", "eog", "misc"), channel_units=("uV", "uV", ""))
    assert info.channel_types == ("eeg", "eog", "misc")
    assert info.channel_units == ("uV", "uV", "")


@pytest.mark.parametrize("dtype", sorted(DTYPES))
def test_every_dtype(dtype):
    info = make(dtype=dtype)
    assert info.np_dtype == DTYPES[dtype]
    assert info.np_dtype.byteorder in ("<", "|", "=")


def test_irregular_rate_is_allowed():
    assert make(sfreq=0.0).sfreq == 0.0


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"name": ""}, "name"),
        ({"channel_names": ()}, "channel_names"),
        ({"sfreq": -1.0}, "sfreq"),
        ({"sfreq": math.nan}, "sfreq"),
        ({"sfreq": math.inf}, "sfreq"),
        ({"dtype": "float16"}, "dtype"),
        ({"dtype": "complex64"}, "dtype"),
        ({"channel_types": ("eeg", "eeg")}, "channel_types"),
        ({"channel_units": ("uV",) * 4}, "channel_units"),
    ],
)
def test_validation_names_the_key(changes, key):
    with pytest.raises(ConfigError) as info:
        make(**changes)
    assert info.value.key == key


def test_renamed_resets_per_channel_metadata_with_new_channels():
    info = make(channel_types=("eeg", "eog", "misc"), channel_units=("uV", "uV", ""))
    out = info.renamed(name="power", channel_names=("a", "b"), type="Features")
    assert out.name == "power"
    assert out.channel_types == ("features", "features")
    assert out.channel_units == ("", "")
    assert info.name == "eeg"  # the original is unchanged
    same_channels = info.renamed(sfreq=10.0)
    assert same_channels.channel_types == ("eeg", "eog", "misc")
    assert same_channels.sfreq == 10.0


@pytest.mark.parametrize(
    "info",
    [
        make(),
        make(sfreq=0.0, dtype="int16", source_id="dev-1", type="Markers"),
        make(channel_types=("eeg", "eog", "misc"), channel_units=("uV", "uV", ""), dtype="int8"),
        make(name="ünïcode", channel_names=("α", "β", "γ")),
    ],
)
def test_json_round_trip(info):
    raw = info.to_json()
    assert isinstance(raw, bytes)
    assert StreamInfo.from_json(raw) == info
    assert StreamInfo.from_json(raw.decode()) == info


def test_from_json_fills_optional_fields():
    raw = json.dumps(
        {"name": "x", "type": "EEG", "channel_names": ["a"], "sfreq": 100, "dtype": "float64"}
    )
    info = StreamInfo.from_json(raw)
    assert info.sfreq == 100.0
    assert info.channel_types == ("eeg",)
    assert info.channel_units == ("",)
    assert info.source_id == ""


GOOD = {"name": "x", "type": "EEG", "channel_names": ["a", "b"], "sfreq": 100.0, "dtype": "float32"}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"42",
        b"null",
        b'"a string"',
        b"{}",
        json.dumps({k: v for k, v in GOOD.items() if k != "sfreq"}).encode(),
        json.dumps({k: v for k, v in GOOD.items() if k != "channel_names"}).encode(),
        json.dumps({**GOOD, "sfreq": "fast"}).encode(),
        json.dumps({**GOOD, "sfreq": None}).encode(),
        json.dumps({**GOOD, "sfreq": -5}).encode(),
        json.dumps({**GOOD, "dtype": "complex128"}).encode(),
        json.dumps({**GOOD, "name": ""}).encode(),
        json.dumps({**GOOD, "channel_names": []}).encode(),
        json.dumps({**GOOD, "channel_names": 3}).encode(),
        json.dumps({**GOOD, "channel_types": ["eeg"]}).encode(),
        b'{"name": "x", "type": "EEG", "channel_names": ["a"], "sfreq": NaN, "dtype": "float32"}',
    ],
)
def test_from_json_refuses_garbage_with_config_error(raw):
    with pytest.raises(ConfigError):
        StreamInfo.from_json(raw)


def test_chunk():
    chunk = Chunk(np.zeros((7, 3), np.float32), np.arange(7.0), seq=4)
    assert chunk.n_samples == 7
    assert chunk.seq == 4
    assert Chunk(np.zeros((1, 1)), np.zeros(1)).seq == 0


# --- bugs found in bci_bridge/stream.py (these fail until fixed) -------------------------------


def test_from_json_refuses_deeply_nested_json():
    """BUG: from_json catches ValueError/KeyError/TypeError only; deeply nested JSON from the
    network raises RecursionError, which the runner (it catches WireError and ConfigError around
    from_json) does not catch: one bad ``info.<stream>`` frame kills the receive loop."""
    with pytest.raises(ConfigError):
        StreamInfo.from_json(b"[" * 100_000)


def test_from_json_refuses_a_string_as_channel_names():
    """BUG: ``tuple(map(str, obj["channel_names"]))`` splits a string into characters, so
    ``"channel_names": "Fz"`` silently becomes two channels, "F" and "z"."""
    with pytest.raises(ConfigError):
        StreamInfo.from_json(json.dumps({**GOOD, "channel_names": "Fz"}))
