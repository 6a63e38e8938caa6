"""The bridge names a bad or busy endpoint in one line, and announces its session."""

from __future__ import annotations

from pathlib import Path

import pylsl
import pytest
import zmq
from helpers import Worker

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, decode


def test_a_bad_port_fails_before_looking_for_the_stream() -> None:
    bridge = Bridge(BridgeConfig(name="nothing", endpoint="tcp://127.0.0.1:70000"))
    worker = Worker(bridge.run)
    worker.start()
    worker.join(10)
    assert isinstance(worker.error, ConfigError)
    assert "tcp://127.0.0.1:70000: bad port '70000'" in str(worker.error)


def test_a_busy_port_is_named(stream_name: str) -> None:
    info = StreamInfo(name=stream_name, channel_names=("a",), sfreq=100.0)
    outlet = pylsl.StreamOutlet(to_lsl(info))
    taken = zmq.Context.instance().socket(zmq.PUB)
    port = taken.bind_to_random_port("tcp://127.0.0.1")
    try:
        bridge = Bridge(
            BridgeConfig(name=stream_name, endpoint=f"tcp://127.0.0.1:{port}", resolve_timeout_s=20)
        )
        worker = Worker(bridge.run)
        worker.start()
        worker.join(30)
    finally:
        taken.close(linger=0)
        del outlet
    assert isinstance(worker.error, ConfigError)
    assert f"cannot bind ZeroMQ endpoint tcp://127.0.0.1:{port}" in str(worker.error)


def test_frames_and_info_carry_the_bridge_session(stream_name: str, ipc_dir: Path) -> None:
    info = StreamInfo(name=stream_name, channel_names=("a", "b"), sfreq=100.0)
    outlet = pylsl.StreamOutlet(to_lsl(info))
    endpoint = f"ipc://{ipc_dir}/b"
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(endpoint)
    bridge = Bridge(BridgeConfig(name=stream_name, endpoint=endpoint, wait_subscribers=1))
    worker = Worker(bridge.run)
    worker.start()
    try:
        assert outlet.wait_for_consumers(20.0)
        outlet.push_chunk([[1.0, 2.0]] * 10)
        kinds: dict[Kind, int] = {}
        sessions: set[int] = set()
        while Kind.DATA not in kinds or Kind.INFO not in kinds:
            assert sub.poll(10_000), "nothing from the bridge"
            frame = decode(sub.recv_multipart())
            kinds[frame.kind] = kinds.get(frame.kind, 0) + 1
            sessions.add(frame.session)
            if frame.kind is Kind.INFO:
                sessions.add(StreamInfo.from_json(frame.payload).session)
        stats = worker.finish()
    finally:
        sub.close()
        del outlet
    assert sessions == {stats.session}
    assert stats.session != 0
    assert stats.sndhwm > 1000  # 64 MiB of 2-channel frames: far more than a few messages


@pytest.mark.parametrize("mb", [0.001, 1.0])
def test_the_queue_bound_sets_the_hwm(stream_name: str, ipc_dir: Path, mb: float) -> None:
    info = StreamInfo(name=stream_name, channel_names=("a",), sfreq=1000.0)
    outlet = pylsl.StreamOutlet(to_lsl(info))
    config = BridgeConfig(
        name=stream_name, endpoint=f"ipc://{ipc_dir}/q", max_queue_bytes=int(mb * 2**20)
    )
    bridge = Bridge(config)
    worker = Worker(bridge.run)
    worker.start()
    try:
        assert outlet.wait_for_consumers(20.0)
        stats = worker.finish()
    finally:
        del outlet
    # 1 ms of 1 channel at 1 kHz: 1 * (4 + 8) bytes a frame, plus 512 of overhead.
    assert stats.sndhwm == max(16, int(mb * 2**20) // (512 + 1 * 12))
