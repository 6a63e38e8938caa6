"""The ZeroMQ wire format: round trips, zero-copy views, and refusal of malformed frames."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bci_bridge import wire
from bci_bridge.errors import WireError
from bci_bridge.stream import DTYPES, StreamInfo
from bci_bridge.wire import (
    DTYPE_CODES,
    FLAG_STALE,
    HEADER,
    MAGIC,
    MAX_CHANNELS,
    MAX_SAMPLES,
    WIRE_VERSION,
    Kind,
    check_against,
    decode,
    encode_data,
    encode_eos,
    encode_info,
    encode_json,
)

U64 = st.integers(min_value=0, max_value=2**64 - 1)
FINITE = st.floats(allow_nan=False, allow_infinity=False)


def as_buffers(parts: list[Any]) -> list[Any]:
    """What a receiver holds: one flat byte buffer per part (arrays viewed, not copied)."""
    return [p if isinstance(p, bytes) else memoryview(p).cast("B") for p in parts]


def as_bytes(parts: list[Any]) -> list[bytes]:
    return [bytes(b) for b in as_buffers(parts)]


def make_header(
    kind: int = Kind.DATA,
    code: int = DTYPE_CODES["float32"],
    n: int = 2,
    c: int = 3,
    seq: int = 0,
    index: int = 0,
    t: float = 0.0,
    magic: bytes = MAGIC,
    version: int = WIRE_VERSION,
    session: int = 0,
) -> bytes:
    return HEADER.pack(magic, version, kind, code, 0, n, c, seq, index, t, session)


def valid_data_parts(n: int = 2, c: int = 3) -> list[bytes]:
    data = np.arange(n * c, dtype=np.float32).reshape(n, c)
    ts = np.linspace(10.0, 11.0, n)
    return as_bytes(encode_data(b"data.eeg", data, ts, seq=5, sample_index=100, sent_time=12.5))


def random_data(rng: np.random.Generator, dtype_name: str, n: int, c: int) -> np.ndarray:
    # Random bit patterns: every value a dtype can hold (NaNs, infinities, -0.0 included).
    dtype = DTYPES[dtype_name]
    return np.frombuffer(rng.bytes(n * c * dtype.itemsize), dtype).reshape(n, c).copy()


# --- round trips -------------------------------------------------------------------------------


def test_header_is_48_bytes_with_the_session():
    assert HEADER.size == 48
    parts = encode_data(b"data.x", np.zeros((1, 1), np.float32), np.zeros(1), 0, 0, 0.0, 0xDEADBEEF)
    assert decode(as_buffers(parts)).session == 0xDEADBEEF


@settings(max_examples=60, deadline=None)
@given(
    dtype_name=st.sampled_from(sorted(DTYPE_CODES)),
    n=st.integers(1, 64),
    c=st.integers(1, 64),
    seed=st.integers(0, 2**32 - 1),
    seq=U64,
    sample_index=U64,
    sent_time=FINITE,
    as_memoryview=st.booleans(),
)
def test_data_round_trip(dtype_name, n, c, seed, seq, sample_index, sent_time, as_memoryview):
    rng = np.random.default_rng(seed)
    data = random_data(rng, dtype_name, n, c)
    ts = np.sort(rng.uniform(0.0, 1e6, n))
    parts = encode_data(b"data.eeg", data, ts, seq, sample_index, sent_time)
    received = as_buffers(parts) if as_memoryview else as_bytes(parts)

    frame = decode(received)

    assert frame.topic == b"data.eeg"
    assert frame.kind is Kind.DATA
    assert (frame.seq, frame.sample_index) == (seq, sample_index)
    assert frame.sent_time == sent_time
    assert frame.dtype == dtype_name
    assert frame.data.dtype == DTYPES[dtype_name]
    assert frame.data.shape == (n, c)
    assert frame.data.tobytes() == data.tobytes()  # bit-exact, NaN payloads included
    assert frame.timestamps.dtype == np.float64
    np.testing.assert_array_equal(frame.timestamps, ts)
    assert frame.payload == b""
    # Views on the received buffers, not copies.
    assert not frame.data.flags.owndata
    assert not frame.timestamps.flags.owndata
    assert frame.data.base is not None
    assert frame.timestamps.base is not None


def test_encode_data_does_not_copy_contiguous_arrays():
    data = np.zeros((4, 2), np.float32)
    ts = np.zeros(4)
    parts = encode_data(b"t", data, ts, 0, 0, 0.0)
    assert parts[2] is data
    assert parts[3] is ts


def test_encode_data_makes_non_contiguous_data_contiguous():
    big = np.arange(24, dtype=np.float64).reshape(4, 6)
    view = big[:, ::2]
    assert not view.flags.c_contiguous
    frame = decode(as_bytes(encode_data(b"t", view, np.zeros(4), 0, 0, 0.0)))
    np.testing.assert_array_equal(frame.data, view)


def test_decoded_arrays_are_views_on_the_received_buffer():
    data = np.arange(12, dtype=np.int32).reshape(4, 3)
    ts = np.arange(4, dtype=np.float64)
    topic, header, raw_data, raw_ts = as_bytes(encode_data(b"t", data, ts, 0, 0, 0.0))
    data_buf, ts_buf = bytearray(raw_data), bytearray(raw_ts)

    frame = decode([topic, header, data_buf, ts_buf])

    assert np.shares_memory(frame.data, np.frombuffer(data_buf, np.uint8))
    assert np.shares_memory(frame.timestamps, np.frombuffer(ts_buf, np.uint8))
    data_buf[0:4] = struct.pack("<i", 999)
    ts_buf[0:8] = struct.pack("<d", -1.5)
    assert frame.data[0, 0] == 999
    assert frame.timestamps[0] == -1.5


def test_decode_accepts_memoryview_parts_without_copy():
    data = np.arange(6, dtype=np.float64).reshape(3, 2)
    ts = np.arange(3, dtype=np.float64)
    parts = as_buffers(encode_data(b"t", data, ts, 1, 2, 3.0))
    frame = decode(parts)
    assert np.shares_memory(frame.data, data)
    assert np.shares_memory(frame.timestamps, ts)


@pytest.mark.parametrize("dtype", [np.uint8, np.int64, np.complex64, np.float16, np.bool_])
def test_encode_data_refuses_unsupported_dtypes(dtype):
    with pytest.raises(WireError):
        encode_data(b"t", np.zeros((2, 2), dtype), np.zeros(2), 0, 0, 0.0)


@pytest.mark.parametrize("shape", [(4,), (2, 2, 2)])
def test_encode_data_refuses_non_2d(shape):
    with pytest.raises(WireError):
        encode_data(b"t", np.zeros(shape, np.float32), np.zeros(shape[0]), 0, 0, 0.0)


@pytest.mark.parametrize(
    "ts",
    [np.zeros(3), np.zeros(5), np.zeros(4, np.float32), np.zeros((4, 1))],
    ids=["short", "long", "float32", "2d"],
)
def test_encode_data_refuses_bad_timestamps(ts):
    with pytest.raises(WireError):
        encode_data(b"t", np.zeros((4, 2), np.float32), ts, 0, 0, 0.0)


def test_info_round_trip():
    info = StreamInfo(
        name="SyntheticEEG", channel_names=("Fz", "Cz", "Pz"), sfreq=250.0, source_id="abc"
    )
    frame = decode(as_bytes(encode_info(b"info.SyntheticEEG", info, sent_time=42.0)))
    assert frame.kind is Kind.INFO
    assert frame.topic == b"info.SyntheticEEG"
    assert frame.sent_time == 42.0
    assert frame.data.size == 0
    assert frame.timestamps.size == 0
    assert frame.dtype == ""
    assert StreamInfo.from_json(frame.payload) == info


@given(seq=U64, total=U64, sent_time=FINITE)
@settings(max_examples=30, deadline=None)
def test_eos_round_trip(seq, total, sent_time):
    frame = decode(as_bytes(encode_eos(b"data.eeg", seq, total, sent_time)))
    assert frame.kind is Kind.EOS
    assert (frame.seq, frame.sample_index, frame.sent_time) == (seq, total, sent_time)
    assert frame.payload == b""
    assert frame.data.size == 0
    assert frame.timestamps.size == 0


def test_json_round_trip():
    payload = b'{"event": "cue", "code": 7}'
    frame = decode(as_bytes(encode_json(b"event.cue", payload, seq=3, sent_time=1.25)))
    assert frame.kind is Kind.JSON
    assert (frame.topic, frame.seq, frame.sent_time) == (b"event.cue", 3, 1.25)
    assert frame.payload == payload


# --- malformed frames --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 3, 5])
def test_decode_refuses_wrong_part_count(count):
    parts = valid_data_parts()
    parts = [*parts, b"", b""][:count]
    with pytest.raises(WireError, match="4 parts"):
        decode(parts)


@pytest.mark.parametrize("header", [b"", b"BCIB", b"x" * 39, b"x" * 41])
def test_decode_refuses_header_of_wrong_size(header):
    topic, _, data, ts = valid_data_parts()
    with pytest.raises(WireError, match="header"):
        decode([topic, header, data, ts])


def test_decode_refuses_truncated_and_padded_header():
    topic, header, data, ts = valid_data_parts()
    for bad in (header[:-1], header + b"\0"):
        with pytest.raises(WireError):
            decode([topic, bad, data, ts])


@pytest.mark.parametrize("magic", [b"XCIB", b"\0\0\0\0", b"bcib"])
def test_decode_refuses_bad_magic(magic):
    topic, _, data, ts = valid_data_parts()
    with pytest.raises(WireError, match="magic"):
        decode([topic, make_header(magic=magic), data, ts])


@pytest.mark.parametrize("version", [0, WIRE_VERSION + 1, 255])
def test_decode_refuses_other_wire_version(version):
    topic, _, data, ts = valid_data_parts()
    with pytest.raises(WireError, match="version"):
        decode([topic, make_header(version=version), data, ts])


@pytest.mark.parametrize("kind", [0, 6, 255])
def test_decode_refuses_unknown_kind(kind):
    topic, _, data, ts = valid_data_parts()
    with pytest.raises(WireError, match="kind"):
        decode([topic, make_header(kind=kind), data, ts])


@pytest.mark.parametrize("code", [0, 6, 255])
def test_decode_refuses_unknown_dtype_code(code):
    topic, _, data, ts = valid_data_parts()
    with pytest.raises(WireError, match="dtype"):
        decode([topic, make_header(code=code), data, ts])


@pytest.mark.parametrize("delta", [-1, 1, -4, 4])
def test_decode_refuses_data_size_mismatch(delta):
    topic, header, data, ts = valid_data_parts()
    bad = data[:delta] if delta < 0 else data + b"\0" * delta
    with pytest.raises(WireError, match="data is"):
        decode([topic, header, bad, ts])


def test_decode_refuses_data_of_another_dtype_size():
    topic, _, data, ts = valid_data_parts()  # 2x3 float32 = 24 bytes
    with pytest.raises(WireError):
        decode([topic, make_header(code=DTYPE_CODES["float64"]), data, ts])


@pytest.mark.parametrize("delta", [-8, -1, 1, 8])
def test_decode_refuses_timestamps_size_mismatch(delta):
    topic, header, data, ts = valid_data_parts()
    bad = ts[:delta] if delta < 0 else ts + b"\0" * delta
    with pytest.raises(WireError, match="timestamps"):
        decode([topic, header, data, bad])


@pytest.mark.parametrize(
    ("n", "c"),
    [(0, 3), (2, 0), (0, 0), (MAX_SAMPLES + 1, 1), (1, MAX_CHANNELS + 1), (2**32 - 1, 2**32 - 1)],
)
def test_decode_refuses_zero_and_implausible_shapes(n, c):
    with pytest.raises(WireError, match="shape"):
        decode([b"t", make_header(n=n, c=c), b"", b""])


@pytest.mark.parametrize(
    "parts",
    [
        [b"t", make_header(kind=Kind.INFO, code=1, n=0, c=0), b"{}", b""],
        [b"t", make_header(kind=Kind.INFO, code=0, n=2, c=0), b"{}", b""],
        [b"t", make_header(kind=Kind.EOS, code=0, n=0, c=0), b"", b"\0" * 8],
        [b"t", make_header(kind=Kind.EOS, code=0, n=1, c=1), b"\0" * 4, b"\0" * 8],
        [b"t", make_header(kind=Kind.JSON, code=1, n=2, c=3), b"\0" * 24, b"\0" * 16],
    ],
    ids=["info-dtype", "info-samples", "eos-timestamps", "eos-samples", "json-samples"],
)
def test_decode_refuses_non_data_kind_carrying_samples(parts):
    with pytest.raises(WireError, match="no samples"):
        decode(parts)


def _header_fields(header: bytes) -> tuple[Any, ...]:
    return HEADER.unpack(header)


def _assert_consistent(frame: wire.Frame, parts: list[bytes]) -> None:
    """A frame that decoded must agree with its header and its buffers."""
    _, _, kind, code, _, n, c, seq, index, sent, session = _header_fields(parts[1])
    assert frame.session == session
    assert frame.kind == kind
    assert isinstance(frame.kind, Kind)
    assert (frame.seq, frame.sample_index) == (seq, index)
    assert frame.sent_time == sent or (math.isnan(frame.sent_time) and math.isnan(sent))
    assert frame.topic == parts[0]
    if frame.kind is Kind.DATA:
        assert frame.dtype in DTYPE_CODES
        assert DTYPE_CODES[frame.dtype] == code
        assert frame.data.dtype == DTYPES[frame.dtype]
        assert frame.data.shape == (n, c)
        assert 0 < n <= MAX_SAMPLES
        assert 0 < c <= MAX_CHANNELS
        assert frame.data.nbytes == len(parts[2])
        assert frame.timestamps.shape == (n,)
        assert frame.timestamps.nbytes == len(parts[3])
        assert frame.payload == b""
    else:
        assert code == 0
        assert n == 0
        assert frame.data.size == 0
        assert frame.timestamps.size == 0
        assert len(parts[3]) == 0
        assert frame.payload == parts[2]


def _valid_frames() -> list[list[bytes]]:
    info = StreamInfo(name="S", channel_names=("a", "b"), sfreq=100.0)
    return [
        valid_data_parts(2, 3),
        valid_data_parts(1, 1),
        as_bytes(
            encode_data(b"d", np.ones((3, 2), np.int16), np.arange(3.0), 7, 9, 1.0),
        ),
        as_bytes(encode_info(b"info.S", info, 3.0)),
        as_bytes(encode_eos(b"data.S", 4, 1000, 5.0)),
        as_bytes(encode_json(b"metrics.x", b'{"a": 1}', 2, 6.0)),
    ]


@st.composite
def mutated_frames(draw: st.DrawFn) -> list[bytes]:
    parts = [bytearray(p) for p in draw(st.sampled_from(_valid_frames()))]
    for _ in range(draw(st.integers(1, 4))):
        which = draw(st.sampled_from([1, 1, 1, 1, 2, 3]))  # mostly the header
        part = parts[which]
        op = draw(st.sampled_from(["set", "set", "set", "truncate", "extend"]))
        if op == "set" and part:
            pos = draw(st.integers(0, len(part) - 1))
            part[pos] = draw(st.integers(0, 255))
        elif op == "truncate" and part:
            del part[draw(st.integers(0, len(part) - 1)) :]
        else:
            part.extend(draw(st.binary(min_size=1, max_size=16)))
    count = draw(st.sampled_from([4, 4, 4, 4, 3, 5]))
    out = [bytes(p) for p in parts]
    return [*out, b""][:count]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts=mutated_frames())
def test_mutated_frames_decode_consistently_or_raise_wire_error(parts):
    try:
        frame = decode(parts)
    except WireError:
        return
    assert len(parts) == 4
    _assert_consistent(frame, parts)


@settings(max_examples=200, deadline=None)
@given(header=st.binary(min_size=HEADER.size, max_size=HEADER.size), data=st.binary(max_size=64))
def test_random_headers_decode_consistently_or_raise_wire_error(header, data):
    # Keep magic and version valid half of the time so the deeper checks get exercised.
    parts = [b"t", MAGIC + bytes([WIRE_VERSION]) + header[5:], data, data[: len(data) // 8 * 8]]
    for candidate in (parts, [b"t", header, data, b""]):
        try:
            frame = decode(candidate)
        except WireError:
            continue
        _assert_consistent(frame, candidate)


# --- check_against -----------------------------------------------------------------------------

INFO3 = StreamInfo(name="eeg", channel_names=("a", "b", "c"), sfreq=250.0, dtype="float32")


def _frame(data: np.ndarray, ts: np.ndarray) -> wire.Frame:
    return decode(as_bytes(encode_data(b"data.eeg", data, ts, 0, 0, 0.0)))


def test_check_against_accepts_a_matching_frame():
    check_against(_frame(np.zeros((2, 3), np.float32), np.array([1.0, 2.0])), INFO3)


def test_check_against_refuses_channel_count_mismatch():
    with pytest.raises(WireError, match="channels"):
        check_against(_frame(np.zeros((2, 4), np.float32), np.array([1.0, 2.0])), INFO3)


def test_check_against_refuses_dtype_mismatch():
    with pytest.raises(WireError, match="dtype"):
        check_against(_frame(np.zeros((2, 3), np.float64), np.array([1.0, 2.0])), INFO3)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_check_against_refuses_non_finite_timestamps(bad):
    with pytest.raises(WireError, match="timestamp"):
        check_against(_frame(np.zeros((2, 3), np.float32), np.array([1.0, bad])), INFO3)


# --- real ZeroMQ sockets -----------------------------------------------------------------------


@pytest.fixture
def push_pull():
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    pull.setsockopt(zmq.LINGER, 0)
    push.setsockopt(zmq.LINGER, 0)
    pull.setsockopt(zmq.RCVTIMEO, 10_000)  # only so a broken test cannot hang
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{port}")
    yield push, pull
    push.close()
    pull.close()
    ctx.term()


@pytest.mark.parametrize("dtype_name", sorted(DTYPE_CODES))
def test_frames_through_real_zmq_push_pull(push_pull, dtype_name):
    push, pull = push_pull
    rng = np.random.default_rng(1)
    info = StreamInfo(name="S", channel_names=("a", "b", "c", "d", "e"), sfreq=500.0)
    push.send_multipart(encode_info(b"info.S", info, 0.0), copy=False)
    sent = []
    index = 0
    for seq in range(20):
        n = int(rng.integers(1, 33))
        data = random_data(rng, dtype_name, n, 5)
        ts = np.arange(index, index + n) / 500.0
        sent.append((data, ts, index))
        push.send_multipart(encode_data(b"data.S", data, ts, seq, index, 1.0), copy=False)
        index += n
    push.send_multipart(encode_eos(b"data.S", 20, index, 2.0), copy=False)

    head = decode(pull.recv_multipart(copy=False))
    assert head.kind is Kind.INFO
    assert StreamInfo.from_json(head.payload) == info
    for seq, (data, ts, first) in enumerate(sent):
        msg = pull.recv_multipart(copy=False)
        assert all(isinstance(p, zmq.Frame) for p in msg)
        frame = decode(msg)
        assert frame.kind is Kind.DATA
        assert (frame.seq, frame.sample_index) == (seq, first)
        assert frame.dtype == dtype_name
        assert frame.data.tobytes() == data.tobytes()
        np.testing.assert_array_equal(frame.timestamps, ts)
        # Zero copy on the receiving side too: views on the ZeroMQ frames' memory.
        assert np.shares_memory(frame.data, np.frombuffer(msg[2].buffer, np.uint8))
        assert np.shares_memory(frame.timestamps, np.frombuffer(msg[3].buffer, np.uint8))
    end = decode(pull.recv_multipart(copy=False))
    assert end.kind is Kind.EOS
    assert end.sample_index == index


# --- bugs found in bci_bridge/wire.py (these fail until fixed) ---------------------------------


def test_encode_data_sends_big_endian_data_as_little_endian():
    """BUG: encode_data looks the code up by ``dtype.name``, which ignores byte order.

    A big-endian ``>f4`` array is sent as its raw bytes under the little-endian float32 code,
    so the receiver decodes garbage. It must either be refused or converted.
    """
    data = np.arange(6, dtype=">f4").reshape(3, 2)
    try:
        parts = encode_data(b"t", data, np.zeros(3), 0, 0, 0.0)
    except WireError:
        return
    frame = decode(as_bytes(parts))
    np.testing.assert_array_equal(frame.data, data)


def test_encode_data_sends_non_contiguous_timestamps(push_pull):
    """BUG: encode_data makes ``data`` contiguous but not ``timestamps``.

    A strided timestamps view passes encode_data, then ``send_multipart(copy=False)`` raises
    BufferError (not a WireError) in the sender.
    """
    push, pull = push_pull
    data = np.zeros((4, 2), np.float32)
    ts = np.arange(8, dtype=np.float64)[::2]
    try:
        parts = encode_data(b"t", data, ts, 0, 0, 0.0)
    except WireError:
        return
    push.send_multipart(parts, copy=False)
    frame = decode(pull.recv_multipart(copy=False))
    np.testing.assert_array_equal(frame.timestamps, ts)


def test_markers_round_trip_with_their_timestamps():
    from bci_bridge.wire import encode_markers

    stamps = np.array([1.5, 2.25, 3.0])
    parts = encode_markers(b"data.cues", ["left", "rest", "ünïcode"], stamps, 4, 10, 9.0)
    frame = decode([bytes(memoryview(p)) for p in parts])
    assert frame.kind is Kind.MARKERS
    assert frame.labels == ("left", "rest", "ünïcode")
    np.testing.assert_array_equal(frame.timestamps, stamps)
    assert (frame.seq, frame.sample_index) == (4, 10)


@pytest.mark.parametrize(
    "payload",
    [b"not json", b'["a", 1, "c"]', b'["a", "b"]', b'{"a": 1}'],
    ids=["garbage", "non-string", "too-few", "object"],
)
def test_malformed_markers_are_refused(payload):
    from bci_bridge.wire import encode_markers

    topic, header, _, stamps = encode_markers(b"data.cues", ["a", "b", "c"], np.zeros(3), 0, 0, 0.0)
    with pytest.raises(WireError):
        decode([topic, header, payload, bytes(memoryview(stamps))])


def test_the_stale_flag_travels_in_the_header() -> None:
    data = np.ones((2, 3), np.float32)
    stamps = np.array([1.0, 2.0])
    fresh = decode(encode_data(b"out.p.n", data, stamps, 0, 0, 0.0))
    stale = decode(encode_data(b"out.p.n", data, stamps, 1, 2, 0.0, flags=FLAG_STALE))
    assert (fresh.flags, fresh.stale) == (0, False)
    assert (stale.flags, stale.stale) == (FLAG_STALE, True)
    np.testing.assert_array_equal(stale.data, data)


# --- the runtime's lean send, receive and encoder ------------------------------------------------


def test_send_uses_the_backend_socket_that_zmq_socket_subclasses():
    """``wire.send`` calls pyzmq's backend ``send`` directly: an upgrade that moves it fails."""
    assert issubclass(zmq.Socket, zmq.backend.Socket)
    assert wire._put is zmq.backend.Socket.send


def test_send_and_receive_carry_every_part_without_copies(push_pull):
    push, pull = push_pull
    data = np.arange(40_000, dtype=np.float32).reshape(-1, 4)  # big: sent without a copy
    ts = np.arange(10_000, dtype=np.float64)
    wire.send(push, encode_data(b"data.S", data, ts, 7, 70, 1.5, 3))
    wire.send(push, encode_data(b"data.S", data[:1], ts[:1], 8, 10_070, 1.6, 3))
    push.send_multipart([b"a", b"b", b"c", b"d", b"e"])  # any part count comes whole
    first = wire.receive(pull)
    assert len(first) == 4
    assert all(isinstance(p, zmq.Frame) for p in first)
    frame = decode(first)
    assert (frame.seq, frame.sample_index, frame.sent_time, frame.session) == (7, 70, 1.5, 3)
    np.testing.assert_array_equal(frame.data, data)
    np.testing.assert_array_equal(frame.timestamps, ts)
    small = decode(wire.receive(pull))
    np.testing.assert_array_equal(small.data, data[:1])
    assert [p.bytes for p in wire.receive(pull)] == [b"a", b"b", b"c", b"d", b"e"]
    with pytest.raises(zmq.Again):
        wire.receive(pull, zmq.NOBLOCK)


@pytest.mark.parametrize("dtype_name", sorted(DTYPE_CODES))
def test_data_encoder_frames_equal_encode_data_frames(dtype_name):
    info = StreamInfo(name="S", channel_names=("a", "b", "c"), sfreq=100.0, dtype=dtype_name)
    info = info.renamed(session=0x1234ABCD)
    rng = np.random.default_rng(3)
    encoder = wire.DataEncoder(b"out.p.n", info)
    for n in (1, 5):
        data = random_data(rng, dtype_name, n, 3)
        ts = np.arange(n, dtype=np.float64) + 0.5
        want = encode_data(b"out.p.n", data, ts, 9, 90, 2.5, info.session, flags=FLAG_STALE)
        got = encoder(data, ts, 9, 90, 2.5, FLAG_STALE)
        assert as_bytes(got) == as_bytes(want)
        assert got[2] is data  # referenced, not copied
        assert got[3] is ts


def test_data_encoder_takes_the_long_way_for_what_it_cannot_vouch_for():
    """Strided arrays, another dtype or channel count: encode_data converts or refuses them."""
    info = StreamInfo(name="S", channel_names=("a", "b"), sfreq=100.0)
    encoder = wire.DataEncoder(b"t", info)
    strided = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    frame = decode(as_bytes(encoder(strided, np.arange(3.0), 0, 0, 0.0)))
    np.testing.assert_array_equal(frame.data, strided)
    frame = decode(as_bytes(encoder(np.zeros((2, 2)), np.arange(6.0)[::3], 0, 0, 0.0)))
    assert frame.dtype == "float64"
    np.testing.assert_array_equal(frame.timestamps, [0.0, 3.0])
    frame = decode(as_bytes(encoder(np.zeros((2, 5), np.float32), np.zeros(2), 0, 0, 0.0)))
    assert frame.data.shape == (2, 5)
    with pytest.raises(WireError):
        encoder(np.zeros((2, 2), np.float32), np.zeros(3), 0, 0, 0.0)
