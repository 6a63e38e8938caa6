"""A NaN into a stateful filter (bandpass, highpass, notch) costs its chunk, not the run."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.params import build_config
from bci_bridge.stream import Chunk, StreamInfo
from decoders.bandpass import BandPass
from decoders.highpass import HighPass
from decoders.notch import Notch

SFREQ = 250.0
INFO = StreamInfo(name="eeg", channel_names=("a", "b", "c"), sfreq=SFREQ)

MODULES = [
    (BandPass, {"low": 8.0, "high": 30.0}),
    (HighPass, {"cutoff": 1.0}),
    (Notch, {"freq": 50.0}),
]


@pytest.mark.parametrize(("cls", "params"), MODULES, ids=["bandpass", "highpass", "notch"])
def test_a_nan_sample_resets_only_its_channel_and_is_counted(cls, params):
    module = cls(build_config(cls.Config, params))
    module.prepare(INFO)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3000, 3)).astype(np.float32)
    x[1000, 1] = np.nan
    outs = []
    for start in range(0, 3000, 10):
        got = module.step(Chunk(x[start : start + 10], np.zeros(10), start // 10))
        assert got is not None
        outs.append(got.data)
    y = np.concatenate(outs)
    assert np.isnan(y[1000:1010, 1]).any()  # the chunk that held it shows it
    assert np.isfinite(y[1010:]).all()  # every chunk after is finite
    assert np.isfinite(y[:, [0, 2]]).all()  # the other channels never saw it
    assert module.stats() == {"state_resets": 1}


def test_clean_input_resets_nothing():
    module = BandPass(build_config(BandPass.Config, {"low": 8.0, "high": 30.0}))
    module.prepare(INFO)
    x = np.random.default_rng(2).standard_normal((500, 3)).astype(np.float32)
    for start in range(0, 500, 25):
        module.step(Chunk(x[start : start + 25], np.zeros(25), 0))
    assert module.stats() == {"state_resets": 0}


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_an_infinite_sample_resets_its_channel_without_a_warning(bad):
    """Infinities of both signs reach the state (tests turn warnings into errors)."""
    module = BandPass(build_config(BandPass.Config, {"low": 8.0, "high": 30.0}))
    module.prepare(INFO)
    x = np.random.default_rng(3).standard_normal((200, 3)).astype(np.float32)
    x[50, 2] = bad
    outs = [module.step(Chunk(x[s : s + 10], np.zeros(10), 0)) for s in range(0, 200, 10)]
    y = np.concatenate([o.data for o in outs if o is not None])
    assert y.shape == (200, 3)
    assert np.isfinite(y[60:]).all()
    assert np.isfinite(y[:, :2]).all()
    assert module.stats() == {"state_resets": 1}
