"""The bridge over real LSL (an outlet made here) and real ZeroMQ (a SUB socket here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pylsl
import pytest
import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.errors import ConfigError, StreamNotFoundError
from bci_bridge.lsl import from_lsl, to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind


def _outlet(
    name: str, n_channels: int = 4, sfreq: float = 500.0
) -> tuple[pylsl.StreamOutlet, StreamInfo]:
    info = StreamInfo(
        name=name,
        channel_names=tuple(f"E{i}" for i in range(n_channels)),
        sfreq=sfreq,
        channel_units=("microvolts",) * n_channels,
    )
    return pylsl.StreamOutlet(to_lsl(info)), info


def _subscriber(endpoint: str, stream: str) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, f"data.{stream}".encode())
    sub.setsockopt(zmq.SUBSCRIBE, f"info.{stream}".encode())
    sub.connect(endpoint)
    return sub


def test_every_sample_crosses_in_order_with_its_timestamp(stream_name: str, ipc_dir: Path) -> None:
    outlet, info = _outlet(stream_name)
    endpoint = f"ipc://{ipc_dir}/eeg"
    sub = _subscriber(endpoint, stream_name)
    bridge = Bridge(
        BridgeConfig(name=stream_name, endpoint=endpoint, wait_subscribers=1, resolve_timeout_s=10)
    )
    worker = Worker(bridge.run)
    worker.start()
    assert outlet.wait_for_consumers(10.0), "bridge never opened its inlet"
    rng = np.random.default_rng(0)
    data = rng.standard_normal((1000, 4)).astype(np.float32)
    t0 = pylsl.local_clock()
    stamps = t0 + np.arange(1000) / 500.0
    for start in range(0, 1000, 7):  # uneven chunks
        stop = min(start + 7, 1000)
        outlet.push_chunk(data[start:stop], float(stamps[stop - 1]))
    # Stop only once the bridge has pulled everything, then it drains and ends the stream.
    deadline = pylsl.local_clock() + 10
    while bridge.stats.samples < 1000 and pylsl.local_clock() < deadline:
        sub.poll(10)
    stats = worker.finish()
    frames = collect(sub, f"data.{stream_name}".encode())
    sub.close()

    infos = [f for f in frames if f.kind is Kind.INFO]
    assert infos, "the bridge never sent the stream info"
    got_info = StreamInfo.from_json(infos[0].payload)
    assert got_info.channel_names == info.channel_names
    assert got_info.channel_units == info.channel_units
    assert got_info.sfreq == 500.0

    data_frames = [f for f in frames if f.kind is Kind.DATA]
    assert [f.seq for f in data_frames] == list(range(len(data_frames)))
    indices = [f.sample_index for f in data_frames]
    sizes = [f.data.shape[0] for f in data_frames]
    assert indices == list(np.cumsum([0, *sizes[:-1]]))
    np.testing.assert_array_equal(np.concatenate([f.data for f in data_frames]), data)
    np.testing.assert_allclose(
        np.concatenate([f.timestamps for f in data_frames]), stamps, atol=1e-6
    )
    eos = frames[-1]
    assert eos.kind is Kind.EOS
    assert eos.sample_index == 1000
    assert stats.samples == 1000
    assert stats.frames == len(data_frames)


def test_a_late_subscriber_is_greeted_with_the_info(stream_name: str, ipc_dir: Path) -> None:
    outlet, _ = _outlet(stream_name, n_channels=2)
    endpoint = f"ipc://{ipc_dir}/eeg"
    bridge = Bridge(BridgeConfig(name=stream_name, endpoint=endpoint, info_period_s=3600))
    worker = Worker(bridge.run)
    worker.start()
    assert outlet.wait_for_consumers(10.0)
    sub = _subscriber(endpoint, stream_name)
    sub.setsockopt(zmq.RCVTIMEO, 10_000)
    from bci_bridge.wire import decode

    frame = decode(sub.recv_multipart())
    worker.finish()
    sub.close()
    assert frame.kind is Kind.INFO
    assert StreamInfo.from_json(frame.payload).channel_names == ("E0", "E1")


def test_a_missing_stream_is_reported_with_what_is_visible(stream_name: str, ipc_dir: Path) -> None:
    bridge = Bridge(
        BridgeConfig(name=stream_name, endpoint=f"ipc://{ipc_dir}/x", resolve_timeout_s=0.5)
    )
    worker = Worker(bridge.run)
    worker.start()
    worker.join(15)
    assert isinstance(worker.error, StreamNotFoundError)
    assert stream_name in str(worker.error)
    # It names the LSL config in effect (conftest's loopback file), its SessionID, and the fix.
    assert "lsl_api.cfg" in str(worker.error)
    assert "SessionID 'bci-bridge-loopback-7f3a'" in str(worker.error)
    assert "set LSLAPICFG" in str(worker.error)


def test_bridge_config_needs_a_name_or_type() -> None:
    with pytest.raises(ConfigError, match="name or type"):
        BridgeConfig()


def test_lsl_info_round_trip_keeps_channel_metadata(stream_name: str) -> None:
    info = StreamInfo(
        name=stream_name,
        channel_names=("C3", "C4"),
        sfreq=250.0,
        channel_types=("eeg", "eog"),
        channel_units=("microvolts", "microvolts"),
        source_id="abc",
    )
    outlet = pylsl.StreamOutlet(to_lsl(info))
    found = pylsl.resolve_byprop("name", stream_name, 1, 5.0)
    inlet = pylsl.StreamInlet(found[0])
    back = from_lsl(inlet.info(5.0))
    del outlet
    assert back == info
