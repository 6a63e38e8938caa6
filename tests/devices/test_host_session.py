"""Each start of a device host is a new stream session, announced in the outlet's metadata."""

from __future__ import annotations

import pylsl
from helpers import Worker

from bci_bridge.device_host import host_device
from bci_bridge.lsl import from_lsl, resolve
from devices.synthetic import Synthetic, SyntheticConfig


def _session_of_one_start(name: str) -> int:
    device = Synthetic(SyntheticConfig(name=name, n_channels=2))
    worker = Worker(lambda stop: host_device(device, stop=stop))
    worker.start()
    try:
        inlet = pylsl.StreamInlet(resolve(name=name, timeout=20.0))
        session = from_lsl(inlet.info(timeout=10.0)).session
        inlet.close_stream()
    finally:
        worker.finish()
    return session


def test_every_start_draws_a_new_session(stream_name: str) -> None:
    first = _session_of_one_start(stream_name)
    second = _session_of_one_start(stream_name)
    assert first != 0
    assert second != 0
    assert first != second
