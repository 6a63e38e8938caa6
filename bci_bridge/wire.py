"""The versioned ZeroMQ wire format: ``[topic, header, data, timestamps]``, no pickle, no copies.

Header (48 bytes, little-endian; wire version 2)::

    offset  size  field
    0       4     magic          b"BCIB"
    4       1     version        WIRE_VERSION
    5       1     kind           Kind (DATA, INFO, EOS, JSON)
    6       1     dtype          DTYPE_CODES code of the data buffer, 0 when not samples
    7       1     flags          bit 0: FLAG_STALE (a stand-in output, see below); else 0
    8       4     n_samples      rows in the data buffer
    12      4     n_channels     columns in the data buffer
    16      8     seq            frame sequence number, per topic, from 0
    24      8     sample_index   index in the stream of the first sample of this frame
    32      8     sent_time      sender's LSL clock when the frame left, seconds
    40      4     session        the sender's stream session (random, new at each start)
    44      4     reserved       0

Version 2 added ``session``: each start of a bridge (or runtime output) is a new session,
announced in the stream's info (:attr:`StreamInfo.session`) and stamped on every frame, so a
receiver tells a restarted sender (whose ``sample_index`` starts again from 0) from late or
forged frames. Version 1 receivers refuse version 2 frames (and vice versa) by the version
byte.

``data`` is the raw C-ordered ``(n_samples, n_channels)`` buffer; ``timestamps`` the raw
float64 LSL timestamps, one per sample. ``MARKERS`` frames carry a marker stream's samples: the
data slot is a UTF-8 JSON array of ``n_samples`` text labels (one channel), the timestamps
slot as for ``DATA``. ``INFO`` frames carry a :class:`StreamInfo` as JSON in
the data slot; ``JSON`` frames (events, metrics) carry a JSON object; ``EOS`` ends a stream and
its ``sample_index`` is the total number of samples the sender sent, so a receiver can count
what it lost at the very end.

Flags: a runtime node whose ``on_overrun = "fallback"`` stands in for input it had no time to
process by re-emitting its last good output; that ``DATA`` frame carries ``FLAG_STALE``
(:attr:`Frame.stale`). A receiver that ignores the flags still gets well-formed data.

:func:`decode` checks every field against the buffers it came with, and
:func:`check_against` checks a data frame against its stream's info: a frame that fails either
raises :class:`~bci_bridge.errors.WireError`, which receivers count and drop.
"""

from __future__ import annotations

import enum
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import zmq

from bci_bridge.errors import WireError
from bci_bridge.stream import DTYPES, StreamInfo

__all__ = [
    "DTYPE_CODES",
    "FLAG_STALE",
    "HEADER",
    "MAGIC",
    "WIRE_VERSION",
    "DataEncoder",
    "Frame",
    "Kind",
    "check_against",
    "decode",
    "encode_data",
    "encode_eos",
    "encode_info",
    "encode_json",
    "encode_markers",
    "receive",
    "send",
]

MAGIC = b"BCIB"
WIRE_VERSION = 2
HEADER = struct.Struct("<4sBBBBIIQQdI4x")
MAX_SAMPLES = 1 << 24
MAX_CHANNELS = 1 << 16
#: Header flag of a ``DATA`` frame that re-emits an earlier output (a stale stand-in).
FLAG_STALE = 1


class Kind(enum.IntEnum):
    """What a frame carries."""

    DATA = 1
    INFO = 2
    EOS = 3
    JSON = 4
    MARKERS = 5


#: Wire code of each sample dtype (0 = no samples).
DTYPE_CODES: dict[str, int] = {"float32": 1, "float64": 2, "int32": 3, "int16": 4, "int8": 5}
_CODE_DTYPES: dict[int, np.dtype[Any]] = {c: DTYPES[n] for n, c in DTYPE_CODES.items()}
_CODE_NAMES: dict[int, str] = {c: n for n, c in DTYPE_CODES.items()}
_EMPTY = b""
_F8 = np.dtype("<f8")
# Hot-path lookups: by dtype object (hashing a dtype is cheaper than building its name) and
# by kind number (cheaper than the enum constructor).
_DTYPE_OBJECT_CODES: dict[np.dtype[Any], int] = {np.dtype(n): c for n, c in DTYPE_CODES.items()}
_KINDS: dict[int, Kind] = {k.value: k for k in Kind}


@dataclass(slots=True)
class Frame:
    """A decoded frame. ``data`` and ``timestamps`` are views on the received buffers."""

    topic: bytes
    kind: Kind
    seq: int
    sample_index: int
    sent_time: float
    dtype: str
    data: npt.NDArray[Any]
    timestamps: npt.NDArray[np.float64]
    payload: bytes
    labels: tuple[str, ...] = ()
    flags: int = 0

    @property
    def stale(self) -> bool:
        """Whether the sender marked this frame a stale stand-in (:data:`FLAG_STALE`)."""
        return bool(self.flags & FLAG_STALE)

    session: int = 0


def _header(
    kind: Kind,
    dtype_code: int,
    n_samples: int,
    n_channels: int,
    seq: int,
    index: int,
    t: float,
    flags: int = 0,
    session: int = 0,
) -> bytes:
    return HEADER.pack(
        MAGIC, WIRE_VERSION, kind, dtype_code, flags, n_samples, n_channels, seq, index, t, session
    )


def encode_data(
    topic: bytes,
    data: npt.NDArray[Any],
    timestamps: npt.NDArray[np.float64],
    seq: int,
    sample_index: int,
    sent_time: float,
    session: int = 0,
    *,
    flags: int = 0,
) -> list[Any]:
    """Encode samples as the four parts of a ``DATA`` message, without copying the arrays.

    Parameters
    ----------
    topic : bytes
        ``data.<stream>`` or ``out.<pipeline>.<node>``.
    data : ndarray, shape (n_samples, n_channels)
        C-contiguous samples in one of :data:`DTYPE_CODES`' dtypes.
    timestamps : ndarray of float64, shape (n_samples,)
        LSL timestamps, seconds.
    seq : int
        Frame sequence number on this topic.
    sample_index : int
        Index in the stream of ``data[0]``.
    sent_time : float
        Sender's LSL clock now, seconds.
    session : int
        The sender's stream session (32 bits), as in its info.
    flags : int
        Header flags, e.g. :data:`FLAG_STALE`.

    Returns
    -------
    list
        Parts for ``socket.send_multipart(parts, copy=False)``; the arrays are referenced, not
        copied, so the caller must not modify them afterwards.
    """
    code = _DTYPE_OBJECT_CODES.get(data.dtype) or DTYPE_CODES.get(data.dtype.name)
    if code is None or data.ndim != 2:
        raise WireError(
            f"cannot send a {data.ndim}-d {data.dtype} array; need 2-d {sorted(DTYPE_CODES)}"
        )
    n, c = data.shape
    if n == 0 or c == 0:
        raise WireError(f"cannot send an empty ({n}, {c}) array")
    if timestamps.shape != (n,) or timestamps.dtype.kind != "f" or timestamps.dtype.itemsize != 8:
        raise WireError(
            f"timestamps must be float64 of shape ({n},), got {timestamps.dtype} {timestamps.shape}"
        )
    want = _CODE_DTYPES[code]
    if data.dtype != want or not data.flags.c_contiguous:
        data = np.ascontiguousarray(
            data, dtype=want
        )  # little-endian, C order: what the header says
    if timestamps.dtype != _F8 or not timestamps.flags.c_contiguous:
        timestamps = np.ascontiguousarray(timestamps, dtype=_F8)
    header = _header(
        Kind.DATA, code, n, c, seq, sample_index, sent_time, flags=flags, session=session
    )
    return [topic, header, data, timestamps]


class DataEncoder:
    """Encode the ``DATA`` frames of one stream whose arrays were checked against its info.

    :func:`encode_data` checks every array it is given; a runtime output's chunks were checked
    already (dtype, shape, timestamps: :class:`runtime.output_check.OutputCheck`), so this
    encoder, built once per stream, checks only what that check leaves open (the arrays'
    layout and the dtype object) and packs the header. Anything else goes the long way,
    through :func:`encode_data`, so a frame is never mislabelled.

    Parameters
    ----------
    topic : bytes
        The frames' topic.
    info : StreamInfo
        The stream: its dtype and channel count are the header's; its session is stamped.
    """

    __slots__ = ("_code", "_dtype", "_n_channels", "_row_shape", "session", "topic")

    def __init__(self, topic: bytes, info: StreamInfo) -> None:
        self.topic = topic
        self.session = info.session
        self._n_channels = info.n_channels
        self._row_shape = (info.n_channels,)
        code = DTYPE_CODES.get(info.dtype, 0)
        # On a big-endian machine the native dtype is not the wire's: the long way, always.
        native = bool(code) and info.np_dtype == _CODE_DTYPES[code] and info.np_dtype.isnative
        self._dtype: np.dtype[Any] | None = info.np_dtype if native else None
        self._code = code

    def __call__(
        self,
        data: npt.NDArray[Any],
        timestamps: npt.NDArray[np.float64],
        seq: int,
        sample_index: int,
        sent_time: float,
        flags: int = 0,
    ) -> list[Any]:
        """Return the four parts of one frame (see :func:`encode_data`; arrays not copied)."""
        shape = data.shape
        if (
            data.dtype is self._dtype
            and timestamps.dtype is _F8
            and shape[1:] == self._row_shape
            and timestamps.shape == shape[:1]
            and shape[0]
            and data.flags.c_contiguous
            and timestamps.flags.c_contiguous
        ):
            head = HEADER.pack(
                MAGIC,
                WIRE_VERSION,
                _DATA,
                self._code,
                flags,
                shape[0],
                self._n_channels,
                seq,
                sample_index,
                sent_time,
                self.session,
            )
            return [self.topic, head, data, timestamps]
        return encode_data(
            self.topic, data, timestamps, seq, sample_index, sent_time, self.session, flags=flags
        )


def encode_info(topic: bytes, info: StreamInfo, sent_time: float) -> list[bytes]:
    """Encode a stream description for ``info.<stream>`` (its session in the header too)."""
    head = _header(Kind.INFO, 0, 0, 0, 0, 0, sent_time, session=info.session)
    return [topic, head, info.to_json(), _EMPTY]


def encode_eos(
    topic: bytes, seq: int, total_samples: int, sent_time: float, session: int = 0
) -> list[bytes]:
    """Encode the end of a stream: ``total_samples`` is how many the sender sent in all."""
    head = _header(Kind.EOS, 0, 0, 0, seq, total_samples, sent_time, session=session)
    return [topic, head, _EMPTY, _EMPTY]


def encode_markers(
    topic: bytes,
    labels: Sequence[str],
    timestamps: npt.NDArray[np.float64],
    seq: int,
    sample_index: int,
    sent_time: float,
    session: int = 0,
) -> list[Any]:
    """Encode marker samples (text labels with their LSL timestamps) as a ``MARKERS`` message.

    Parameters
    ----------
    topic : bytes
        ``data.<stream>`` of the marker stream.
    labels : sequence of str, length n_samples
        One label per marker.
    timestamps : ndarray of float64, shape (n_samples,)
        LSL timestamp of each marker, seconds.
    seq : int
        Frame sequence number on this topic.
    sample_index : int
        Index in the stream of the first marker.
    sent_time : float
        Sender's LSL clock now, seconds.
    session : int
        The sender's stream session.
    """
    n = len(labels)
    if n == 0 or timestamps.shape != (n,):
        raise WireError(f"need one timestamp per label, got {n} labels, {timestamps.shape} stamps")
    payload = json.dumps(list(labels)).encode()
    stamps = np.ascontiguousarray(timestamps, dtype=_F8)
    head = _header(Kind.MARKERS, 0, n, 1, seq, sample_index, sent_time, session=session)
    return [topic, head, payload, stamps]


def encode_json(topic: bytes, payload: bytes, seq: int, sent_time: float) -> list[bytes]:
    """Encode a JSON object (events, metrics); ``payload`` must be UTF-8 JSON bytes."""
    return [topic, _header(Kind.JSON, 0, 0, 0, seq, 0, sent_time), payload, _EMPTY]


_NO_DATA: npt.NDArray[Any] = np.empty((0, 0), np.float32)
_NO_TS: npt.NDArray[np.float64] = np.empty(0, np.float64)


def decode(parts: Sequence[Any]) -> Frame:
    """Decode and check a received message.

    Parameters
    ----------
    parts : sequence of bytes, memoryview or zmq.Frame
        What ``socket.recv_multipart(copy=False)`` returned.

    Returns
    -------
    Frame
        With ``data`` and ``timestamps`` as zero-copy views on the received buffers.

    Raises
    ------
    WireError
        If the message has the wrong number of parts, a bad magic, version, kind or dtype,
        or buffers whose sizes disagree with the header.
    """
    if len(parts) != 4:
        raise WireError(f"expected 4 parts [topic, header, data, timestamps], got {len(parts)}")
    # Buffers as they came (a zmq.Frame, bytes, a memoryview), with their sizes in bytes,
    # whatever the buffer's format; struct and numpy read raw bytes.
    p0, p1, p2, p3 = parts
    header, size = _buffer(p1)
    if size != HEADER.size:
        raise WireError(f"header is {size} bytes, expected {HEADER.size}")
    data, data_size = _buffer(p2)
    stamps, stamps_size = _buffer(p3)
    magic, version, kind, code, flags, n, c, seq, index, sent, session = HEADER.unpack(header)
    if magic != MAGIC:
        raise WireError(f"bad magic {bytes(magic)!r}")
    if version != WIRE_VERSION:
        raise WireError(f"wire version {version}, this receiver speaks {WIRE_VERSION}")
    k = _KINDS.get(kind)
    if k is None:
        raise WireError(f"unknown frame kind {kind}")
    topic_b = p0.bytes if type(p0) is zmq.Frame else bytes(p0)  # a Frame caches its bytes
    if k is Kind.MARKERS:
        return _decode_markers(
            topic_b, n, c, code, seq, index, sent, data, stamps, stamps_size, session
        )
    if k is not Kind.DATA:
        if code != 0 or n != 0 or c != 0 or stamps_size != 0:
            raise WireError(f"{k.name} frame must carry no samples")
        return Frame(
            topic_b, k, seq, index, sent, "", _NO_DATA, _NO_TS, bytes(data), (), session=session
        )
    dtype = _CODE_DTYPES.get(code)
    if dtype is None:
        raise WireError(f"unknown dtype code {code}")
    if n == 0 or c == 0 or n > MAX_SAMPLES or c > MAX_CHANNELS:
        raise WireError(f"implausible shape ({n}, {c})")
    if data_size != n * c * dtype.itemsize:
        raise WireError(f"data is {data_size} bytes, header says {n}x{c} {dtype.name}")
    if stamps_size != 8 * n:
        raise WireError(f"timestamps are {stamps_size} bytes, header says {n} samples")
    # The sizes were checked above: views of the received buffers, shaped in one call each.
    arr = np.ndarray((n, c), dtype, data)
    ts = np.ndarray((n,), _F8, stamps)
    return Frame(
        topic_b, k, seq, index, sent, _CODE_NAMES[code], arr, ts, _EMPTY, (), flags, session
    )


def _buffer(part: Any) -> tuple[Any, int]:
    """Return a received part as a contiguous buffer and its size in bytes.

    A zmq.Frame and bytes are contiguous and ``len`` is their size: used as they are (a
    Frame's ``.buffer`` costs a new memoryview each time). Anything else is viewed.

    Raises
    ------
    WireError
        If the part is not a contiguous buffer.
    """
    kind = type(part)
    if kind is zmq.Frame or kind is bytes:
        return part, len(part)
    view = memoryview(part)
    if not view.c_contiguous:
        raise WireError("every part must be a contiguous buffer")
    return view, view.nbytes


def _decode_markers(
    topic: bytes,
    n: int,
    c: int,
    code: int,
    seq: int,
    index: int,
    sent: float,
    data: Any,
    stamps: Any,
    stamps_size: int,
    session: int,
) -> Frame:
    if code != 0 or c != 1 or n == 0 or n > MAX_SAMPLES:
        raise WireError(f"MARKERS frame must have 1 channel and dtype 0, got {n}x{c} code {code}")
    if stamps_size != 8 * n:
        raise WireError(f"timestamps are {stamps_size} bytes, header says {n} markers")
    try:
        labels = json.loads(bytes(data))
    except (ValueError, RecursionError, OverflowError) as exc:
        raise WireError(f"marker labels are not JSON: {exc}") from None
    if (
        not isinstance(labels, list)
        or len(labels) != n
        or not all(isinstance(x, str) for x in labels)
    ):
        raise WireError(f"marker payload must be a JSON array of {n} strings")
    ts = np.frombuffer(stamps, dtype=_F8)
    labels_t = tuple(labels)
    return Frame(
        topic,
        Kind.MARKERS,
        seq,
        index,
        sent,
        "string",
        _NO_DATA,
        ts,
        b"",
        labels_t,
        session=session,
    )


_MORE = int(zmq.SNDMORE)
_DATA = int(Kind.DATA)
#: pyzmq's send without the wrapper that ``zmq.Socket`` puts over it for routing ids and groups
#: (which a frame never uses): a quarter of the cost of a part. ``zmq.Socket`` subclasses this
#: backend class; tests/core/test_wire.py fails loudly if an upgrade changes that.
_put = zmq.backend.Socket.send
#: Below this many bytes a copy is cheaper than tracking a zero-copy buffer (pyzmq's default).
_COPY_BELOW = 65536


def send(socket: zmq.Socket[Any], parts: Sequence[Any]) -> None:
    """Send the four parts of a message: like ``send_multipart``, with less Python per frame.

    Arrays of ``_COPY_BELOW`` bytes or more are sent without a copy (the caller must not
    modify them afterwards); smaller ones are copied, which is cheaper than tracking them.
    """
    put = _put
    put(socket, parts[0], _MORE)
    put(socket, parts[1], _MORE)
    data, stamps = parts[2], parts[3]
    put(socket, data, _MORE, _nbytes(data) < _COPY_BELOW)
    put(socket, stamps, 0, _nbytes(stamps) < _COPY_BELOW)


def receive(socket: zmq.Socket[Any], flags: int = 0) -> list[Any]:
    """Receive one message's parts without copies: like ``recv_multipart(copy=False)``, leaner.

    Each part's ``more`` flag says whether another follows (pyzmq's ``recv_multipart`` asks
    the socket for ``RCVMORE`` after each part instead, several times the cost per frame).

    Parameters
    ----------
    socket : zmq.Socket
        The socket to read.
    flags : int
        ``zmq.NOBLOCK`` to raise ``zmq.Again`` at once when no message is waiting; else 0.

    Returns
    -------
    list of zmq.Frame
        Every part of the message (a multipart message is delivered whole or not at all).
    """
    recv = socket.recv
    part = recv(flags, copy=False)
    parts = [part]
    while part.more:
        part = recv(0, copy=False)
        parts.append(part)
    return parts


def _nbytes(part: Any) -> int:
    return int(part.nbytes) if isinstance(part, np.ndarray) else len(part)


def _check_stamps(ts: npt.NDArray[np.float64]) -> None:
    # One sample per frame is the common low-latency case: a scalar test beats a ufunc.
    if ts.shape[0] == 1:
        if not math.isfinite(ts[0]):
            raise WireError("non-finite timestamp")
    elif not np.isfinite(ts).all():
        raise WireError("non-finite timestamp")


def check_against(frame: Frame, info: StreamInfo) -> None:
    """Check that a ``DATA`` frame fits its stream's info.

    Raises
    ------
    WireError
        If the dtype or channel count differ from ``info``, or a timestamp is not finite.
    """
    if frame.dtype != info.dtype:
        raise WireError(f"dtype {frame.dtype}, stream {info.name!r} is {info.dtype}")
    if frame.kind is Kind.MARKERS:
        _check_stamps(frame.timestamps)
        return
    if frame.data.shape[1] != info.n_channels:
        raise WireError(
            f"{frame.data.shape[1]} channels, stream {info.name!r} has {info.n_channels}"
        )
    _check_stamps(frame.timestamps)
