"""Feature modules state the units of what they compute, derived from their input's units."""

from __future__ import annotations

from bci_bridge.stream import StreamInfo
from decoders.bandpower import BandPower, BandPowerConfig
from decoders.covariance import Covariance, CovarianceConfig
from decoders.logvar import LogVar, LogVarConfig


def _info(units: tuple[str, ...]) -> StreamInfo:
    return StreamInfo(
        name="eeg", channel_names=("C3", "C4"), sfreq=250.0, channel_units=units, dtype="float32"
    )


def test_bandpower_states_log_power_density_units():
    config = BandPowerConfig(bands=((8.0, 13.0), (13.0, 30.0)), band_names=("mu", "beta"))
    out = BandPower(config).prepare(_info(("uV", "V")))
    assert out.channel_names == ("C3_mu", "C3_beta", "C4_mu", "C4_beta")
    assert out.channel_units == (
        "log10(uV^2/Hz)",
        "log10(uV^2/Hz)",
        "log10(V^2/Hz)",
        "log10(V^2/Hz)",
    )
    linear = BandPower(BandPowerConfig(log=False)).prepare(_info(("uV", "uV")))
    assert set(linear.channel_units) == {"uV^2/Hz"}
    unknown = BandPower(config).prepare(_info(("", "")))
    assert set(unknown.channel_units) == {""}


def test_variance_features_state_squared_units():
    logvar = LogVar(LogVarConfig(window_s=0.5, hop_s=0.1)).prepare(_info(("uV", "uV")))
    assert logvar.channel_units == ("ln(uV^2)", "ln(uV^2)")
    cov = Covariance(CovarianceConfig(window_s=0.5, hop_s=0.1)).prepare(_info(("uV", "mV")))
    assert dict(zip(cov.channel_names, cov.channel_units, strict=True))["C3:C3"] == "uV^2"
    assert dict(zip(cov.channel_names, cov.channel_units, strict=True))["C3:C4"] == ""
