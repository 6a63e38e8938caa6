"""Channel units: spellings, conversions, and how units travel (LSL, JSON, MNE, devices)."""

from __future__ import annotations

import json

import mne
import numpy as np
import pytest

from bci_bridge.lsl import from_lsl, to_lsl
from bci_bridge.mne_info import from_mne, to_mne
from bci_bridge.stream import StreamInfo
from bci_bridge.units import lsl_unit, normalise_unit, scale_factor
from devices.replay import Replay, ReplayConfig


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("microvolts", "eeg", "uV"),
        ("µV", "eeg", "uV"),
        ("μV", "eeg", "uV"),
        (" UV ", "eeg", "uV"),
        ("Microvolt", "eeg", "uV"),
        ("millivolts", "eeg", "mV"),
        ("Volts", "eeg", "V"),
        ("v", "eeg", "V"),
        ("-6", "eeg", "uV"),
        ("0", "eeg", "V"),
        ("0", "misc", ""),
        ("", "eeg", ""),
        ("unknown", "eeg", ""),
        ("log10(uV^2/Hz)", "features", "log10(uV^2/Hz)"),
    ],
)
def test_spellings_normalise(text, kind, expected):
    assert normalise_unit(text, kind) == expected


def test_scale_factors_between_voltages():
    assert scale_factor("V", "uV") == pytest.approx(1e6)
    assert scale_factor("microvolts", "mV") == pytest.approx(1e-3)
    assert scale_factor("uV", "uV") == 1.0
    with pytest.raises(ValueError, match="cannot convert 'unknown units' to 'uV'"):
        scale_factor("", "uV")
    with pytest.raises(ValueError, match="cannot convert"):
        scale_factor("log10(uV^2/Hz)", "uV")


def test_stream_info_normalises_units():
    info = StreamInfo(
        name="s",
        channel_names=("a", "b", "c"),
        sfreq=100.0,
        channel_types=("eeg", "eeg", "misc"),
        channel_units=("microvolts", "V", "-6"),
    )
    assert info.channel_units == ("uV", "V", "")


def test_json_without_units_reads_as_unknown():
    info = StreamInfo(name="s", channel_names=("a", "b"), sfreq=100.0, channel_units=("uV", "uV"))
    obj = json.loads(info.to_json())
    assert obj["channel_units"] == ["uV", "uV"]
    del obj["channel_units"]  # written by an older bci-bridge
    old = StreamInfo.from_json(json.dumps(obj))
    assert old.channel_units == ("", "")
    assert StreamInfo.from_json(info.to_json()) == info


def test_lsl_description_spells_units_as_labrecorder_does():
    info = StreamInfo(
        name="s",
        channel_names=("a", "b", "c"),
        sfreq=100.0,
        channel_types=("eeg", "eeg", "misc"),
        channel_units=("uV", "mV", ""),
    )
    lsl = to_lsl(info)
    ch = lsl.desc().child("channels").child("channel")
    written = []
    for _ in range(3):
        written.append(ch.child_value("unit"))
        ch = ch.next_sibling()
    assert written == ["microvolts", "millivolts", ""]
    assert lsl_unit("uV") == "microvolts"
    back = from_lsl(lsl)
    assert back.channel_units == ("uV", "mV", "")


def test_mne_info_round_trip_keeps_names_types_and_scales_to_volts():
    info = StreamInfo(
        name="s",
        channel_names=("Cz", "EOG", "aux"),
        sfreq=256.0,
        channel_types=("eeg", "eog", "temperature_probe"),
        channel_units=("uV", "mV", ""),
    )
    mne_info, to_si = to_mne(info)
    assert mne_info["ch_names"] == ["Cz", "EOG", "aux"]
    assert mne_info.get_channel_types() == ["eeg", "eog", "misc"]
    assert mne_info["sfreq"] == 256.0
    np.testing.assert_allclose(to_si, [1e-6, 1e-3, 1.0])
    back = from_mne(mne_info, name="s", units="uV")
    assert back.channel_names == info.channel_names
    assert back.channel_units == ("uV", "uV", "")
    assert from_mne(mne_info, name="s").channel_units == ("V", "V", "")


def test_replay_labels_its_units_and_scales_to_volts(tmp_path):
    rng = np.random.default_rng(0)
    volts = rng.normal(scale=20e-6, size=(2, 512))
    raw = mne.io.RawArray(volts, mne.create_info(["C3", "C4"], 256.0, "eeg"), verbose="error")
    path = tmp_path / "two_raw.fif"
    raw.save(path, verbose="error")

    micro = Replay(ReplayConfig(path=str(path), speed=0, chunk_size=512))
    assert micro.info().channel_units == ("uV", "uV")
    in_volts = Replay(ReplayConfig(path=str(path), speed=0, chunk_size=512, units="volts"))
    assert in_volts.info().channel_units == ("V", "V")
    a, b = micro.recording.data, in_volts.recording.data
    np.testing.assert_allclose(a, volts.T * 1e6, rtol=1e-5)
    np.testing.assert_allclose(b, volts.T, rtol=1e-5)


def test_replay_refuses_a_unit_that_is_not_a_voltage(tmp_path):
    from bci_bridge.errors import ConfigError

    with pytest.raises(ConfigError, match="units"):
        ReplayConfig(path=str(tmp_path / "x.fif"), units="furlongs")
