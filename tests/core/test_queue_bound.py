"""Send queues bounded in bytes, and endpoints checked before use."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import zmq

from bci_bridge.endpoints import bind, check_endpoint, connect
from bci_bridge.errors import ConfigError
from bci_bridge.queue_bound import FRAME_OVERHEAD, MARKER_SAMPLE_BYTES, hwm_for, receive_hwm
from bci_bridge.stream import MARKER_DTYPE, StreamInfo
from bci_bridge.wire import decode, encode_data, send
from runtime.outputs import Publisher


def test_hwm_is_the_byte_bound_over_the_frame_size() -> None:
    # 64 ch float32 at 1 kHz: 1 sample a frame (1 ms) of (64 * 4 + 8) bytes, plus overhead.
    frame = FRAME_OVERHEAD + 1 * (64 * 4 + 8)
    assert hwm_for(64 << 20, 64, 4, 1000.0) == (64 << 20) // frame
    # 1024 ch at 30 kHz: 30 samples a frame; 64 MiB holds about half a second of them.
    frame = FRAME_OVERHEAD + 30 * (1024 * 4 + 8)
    assert hwm_for(64 << 20, 1024, 4, 30000.0) == (64 << 20) // frame
    assert hwm_for(1 << 20, 8, 4, 0.0) == (1 << 20) // (FRAME_OVERHEAD + 8 * 4 + 8)
    assert hwm_for(1, 64, 4, 1000.0) == 16  # a floor, so a brief stall costs nothing
    assert hwm_for(1 << 40, 1, 1, 0.0) == 1_000_000


def test_a_subscriber_that_stops_reading_holds_a_bounded_queue(tmp_path: Path) -> None:
    ctx = zmq.Context.instance()
    endpoint = f"ipc://{tmp_path}/pub"
    pub = Publisher(ctx, endpoint, max_queue_bytes=256 << 10)
    stalled = ctx.socket(zmq.SUB)
    stalled.setsockopt(zmq.RCVHWM, 16)
    stalled.setsockopt(zmq.LINGER, 0)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.connect(endpoint)
    try:
        deadline = time.monotonic() + 10
        while pub.subscribers == 0 and time.monotonic() < deadline:
            pub.poll_subscriptions()
            time.sleep(0.01)
        rows = np.zeros((4, 256), np.float32)  # 4 KiB a frame
        sent = 5000  # 20 MiB, far beyond the bound
        for i in range(sent):
            send(pub.socket, encode_data(b"out.x", rows, np.zeros(4), i, 4 * i, 0.0))
        got = []
        while True:
            try:
                got.append(decode(stalled.recv_multipart(flags=zmq.NOBLOCK, copy=False)))
            except zmq.Again:
                if not stalled.poll(300):
                    break
        # The subscriber reads again: the next frame shows what ZeroMQ dropped as a gap.
        send(pub.socket, encode_data(b"out.x", rows, np.zeros(4), sent, 4 * sent, 0.0))
        assert stalled.poll(5000)
        after = decode(stalled.recv_multipart(copy=False))
    finally:
        stalled.close()
        pub.close()
    queued = len(got)
    # What the stalled subscriber still got is bounded by the HWMs and the kernel's socket
    # buffers, not by what was sent.
    assert pub.sndhwm == (256 << 10) // (FRAME_OVERHEAD + 256 * 4 + 8)
    assert queued < sent // 4
    indices = [f.sample_index for f in got]
    assert indices == sorted(indices)
    assert after.sample_index - (indices[-1] + 4) == 4 * (sent - queued)


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("tcp://127.0.0.1:99999", "bad port '99999'"),
        ("tcp://127.0.0.1:x", "bad port 'x'"),
        ("tcp://127.0.0.1", "tcp://host:port"),
        ("udp://127.0.0.1:5", "not a ZeroMQ endpoint"),
        ("tcp://*:5555", "'*' binds every interface"),
    ],
)
def test_connect_refuses_bad_endpoints_by_name(endpoint: str, message: str) -> None:
    sock = zmq.Context.instance().socket(zmq.SUB)
    try:
        with pytest.raises(ConfigError) as err:
            connect(sock, endpoint, key="inputs[0].endpoint")
    finally:
        sock.close(linger=0)
    assert message in str(err.value)
    assert "inputs[0].endpoint" in str(err.value)


def test_bind_names_the_endpoint_in_use() -> None:
    ctx = zmq.Context.instance()
    a, b = ctx.socket(zmq.PUB), ctx.socket(zmq.PUB)
    try:
        port = a.bind_to_random_port("tcp://127.0.0.1")
        with pytest.raises(
            ConfigError, match=f"cannot bind ZeroMQ endpoint tcp://127.0.0.1:{port}"
        ):
            bind(b, f"tcp://127.0.0.1:{port}")
    finally:
        a.close(linger=0)
        b.close(linger=0)


def test_wildcards_are_for_binding() -> None:
    check_endpoint("tcp://*:*", for_bind=True)
    check_endpoint("tcp://[::1]:5555", for_bind=False)
    check_endpoint("ipc:///tmp/x", for_bind=False)


def test_the_receive_hwm_serves_the_stream_with_the_biggest_frames() -> None:
    eeg = StreamInfo(name="eeg", channel_names=tuple(f"E{i}" for i in range(64)), sfreq=1000.0)
    emg = StreamInfo(name="emg", channel_names=("A", "B"), sfreq=4000.0, dtype="float64")
    cues = StreamInfo(name="cues", channel_names=("label",), sfreq=0.0, dtype=MARKER_DTYPE)
    bound = 8 << 20
    assert receive_hwm(bound, [eeg]) == hwm_for(bound, 64, 4, 1000.0)
    assert receive_hwm(bound, [emg]) == hwm_for(bound, 2, 8, 4000.0)
    assert receive_hwm(bound, [cues]) == hwm_for(bound, 1, MARKER_SAMPLE_BYTES, 0.0)
    # One socket, several streams: each endpoint's queue stays within the bound.
    assert receive_hwm(bound, [cues, eeg, emg]) == hwm_for(bound, 64, 4, 1000.0)
    # Before any info: a bound on the count, reckoned for the smallest frame.
    assert receive_hwm(bound, []) == bound // (FRAME_OVERHEAD + 1 + 8)
