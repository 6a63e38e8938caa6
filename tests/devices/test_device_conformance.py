"""The synthetic device passes the device conformance kit; the kit catches broken devices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.testing import check_device
from devices.synthetic import Synthetic, SyntheticConfig


@pytest.mark.parametrize("realtime", [False, True])
def test_synthetic_conforms(realtime: bool) -> None:
    config = SyntheticConfig(n_channels=4, sfreq=500.0, chunk_size=10, realtime=realtime)
    check_device(Synthetic, config, n_reads=20)


@dataclass(frozen=True)
class _FakeConfig:
    backwards: bool = False
    close_raises: bool = False


class _Device:
    """A device with settable faults; it produces real arrays, not mocks of anything."""

    Config = _FakeConfig

    def __init__(self, config: _FakeConfig) -> None:
        self.config = config
        self.n = 0
        self.closed = 0

    def info(self) -> StreamInfo:
        return StreamInfo(name="fake", channel_names=("a", "b"), sfreq=100.0)

    def open(self) -> None:
        self.n = 0

    def read(self, timeout: float) -> Chunk | None:
        stamps = (self.n + np.arange(5)) / 100.0
        if self.config.backwards:
            stamps = -stamps
        self.n += 5
        return Chunk(np.zeros((5, 2), np.float32), stamps, self.n)

    def close(self) -> None:
        self.closed += 1
        if self.config.close_raises and self.closed > 1:
            raise RuntimeError("already closed")


def test_kit_accepts_a_good_device_and_catches_faults() -> None:
    check_device(_Device, _FakeConfig())
    with pytest.raises(AssertionError, match="timestamps are not increasing"):
        check_device(_Device, _FakeConfig(backwards=True))
    with pytest.raises(AssertionError, match="close\\(\\) called twice raised"):
        check_device(_Device, _FakeConfig(close_raises=True))
