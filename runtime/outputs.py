"""Output side of the runtime: node results out over ZeroMQ (XPUB) and LSL.

A ZeroMQ output publishes ``out.<pipeline>.<node>`` frames in the same wire format as the
bridge, and greets each new subscriber with ``info.out.<pipeline>.<node>``. An LSL output is
an outlet carrying the node's output with the timestamps of the inputs behind it, so any LSL
app or LabRecorder can use (and time) the decoder's results.
"""

from __future__ import annotations

import ctypes
import logging
import time
from typing import Any

import numpy as np
import pylsl
import zmq
from pylsl.util import handle_error

from bci_bridge.curve import ServerGuard, ServerKeys, serve
from bci_bridge.endpoints import bind
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock, to_lsl
from bci_bridge.queue_bound import DEFAULT_QUEUE_BYTES, hwm_for
from bci_bridge.session import new_session
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import FLAG_STALE, DataEncoder, encode_eos, encode_info, encode_json, send
from runtime.histogram import Histogram

__all__ = ["OUTPUT_FRAME_SAMPLES", "STAGE_BYTES", "LslOutput", "Publisher", "ZmqOutput"]

#: Chunks of up to this many bytes go to an LSL outlet through its staging buffers.
STAGE_BYTES = 16384
_ONE = ctypes.c_int(1)  # lsl_push_chunk_*tnp: pushthrough

#: float32 values per output frame assumed when deriving the HWM (a decoder's few classes
#: per row, a filter's channels for a few rows): 256 values, about 1.5 KiB a frame.
OUTPUT_FRAME_SAMPLES = 256

log = logging.getLogger(__name__)


class Publisher:
    """One bound XPUB socket, shared by the outputs (and metrics) that name its endpoint.

    Parameters
    ----------
    ctx : zmq.Context
        The context to make the socket in.
    endpoint : str
        Where to bind.
    max_queue_bytes : int
        About the most bytes queued for a subscriber that stopped reading (see
        :mod:`bci_bridge.queue_bound`); the frames are sized for :data:`OUTPUT_FRAME_SAMPLES`
        values, since the outputs' shapes are known only after the socket is bound.
    curve : ServerKeys, optional
        Serve CURVE, admitting only the allowed clients (see :mod:`bci_bridge.curve`).

    Raises
    ------
    ConfigError
        If the endpoint cannot be bound (one line naming it), or a key is bad.
    """

    def __init__(
        self,
        ctx: zmq.Context[Any],
        endpoint: str,
        max_queue_bytes: int = DEFAULT_QUEUE_BYTES,
        *,
        curve: ServerKeys | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.socket = ctx.socket(zmq.XPUB)
        self.sndhwm = hwm_for(max_queue_bytes, OUTPUT_FRAME_SAMPLES, 4, 0.0)
        self.socket.setsockopt(zmq.SNDHWM, self.sndhwm)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        self.socket.setsockopt(zmq.LINGER, 1000)
        self.guard: ServerGuard | None = None
        try:
            if curve is not None:
                self.guard = serve(self.socket, curve)
            bind(self.socket, endpoint)
        except ConfigError:
            self.socket.close(linger=0)
            if self.guard is not None:
                self.guard.close()
            raise
        self.subscribers = 0
        self.greeters: list[ZmqOutput] = []
        self._json_seq = 0

    def poll_subscriptions(self) -> None:
        """Count (un)subscriptions; greet new subscribers with the outputs' infos."""
        greet = False
        while True:
            try:
                msg = self.socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if not msg:
                continue
            if msg[0] == 1:
                self.subscribers += 1
                greet = True
            elif self.subscribers > 0:
                self.subscribers -= 1
        if greet:
            for out in self.greeters:
                out.send_info()

    def send_json(self, topic: bytes, payload: bytes) -> None:
        """Publish a JSON object (metrics, events)."""
        self.socket.send_multipart(encode_json(topic, payload, self._json_seq, local_clock()))
        self._json_seq += 1

    def close(self) -> None:
        """Close the socket (lingering up to 1 s to deliver what is queued), then its guard."""
        self.socket.close()
        if self.guard is not None:
            self.guard.close()


class ZmqOutput:
    """Publish a node's output chunks on ``out.<pipeline>.<node>``.

    Calling the instance with a chunk sends it (hot path) and records its age (LSL clock now
    minus the newest input timestamp behind it) and how long the send took. A stale stand-in
    (``on_overrun = "fallback"``) goes out with :data:`~bci_bridge.wire.FLAG_STALE`. The
    chunks are a node's checked outputs (:class:`~runtime.output_check.OutputCheck`), so the
    encoder does not check them again.
    """

    __slots__ = (
        "_clock",
        "_encode",
        "_info_topic",
        "_perf",
        "_send",
        "_socket",
        "age_ns",
        "index",
        "info",
        "publisher",
        "send_ns",
        "seq",
        "session",
        "stale",
        "topic",
    )

    def __init__(self, publisher: Publisher, topic: str, info: StreamInfo) -> None:
        self.publisher = publisher
        self.topic = topic.encode()
        self._info_topic = b"info." + self.topic
        # Each start of the runtime is a new session of its output streams.
        self.info = info.renamed(name=topic, session=new_session())
        self.session = self.info.session
        self._encode = DataEncoder(self.topic, self.info)
        self._send = publisher.socket.send_multipart
        self._socket = publisher.socket
        self._clock = local_clock
        self._perf = time.perf_counter_ns
        self.seq = 0
        self.index = 0
        self.stale = 0
        self.age_ns = Histogram()
        self.send_ns = Histogram()
        publisher.greeters.append(self)

    def __call__(self, chunk: Chunk) -> None:
        """Send ``chunk`` (its arrays are referenced, not copied)."""
        t0 = self._perf()
        now = self._clock()
        ts = chunk.timestamps
        flags = 0
        if chunk.stale:
            flags = FLAG_STALE
            self.stale += 1
        data = chunk.data
        send(self._socket, self._encode(data, ts, self.seq, self.index, now, flags))
        self.seq += 1
        self.index += data.shape[0]
        self.age_ns.add((now - float(ts[-1])) * 1e9)
        self.send_ns.add(self._perf() - t0)

    def send_info(self) -> None:
        """Publish this output's stream info."""
        self._send(encode_info(self._info_topic, self.info, self._clock()))

    def send_eos(self) -> None:
        """Publish the end of this output stream, with the number of samples sent."""
        self._send(encode_eos(self.topic, self.seq, self.index, self._clock(), self.session))


class LslOutput:
    """Push a node's output chunks to an LSL outlet, each sample with its input's timestamp.

    The chunk goes to liblsl in one call with one timestamp per sample, from numpy buffers
    (pylsl's ``push_chunk`` would rebuild a ctypes array of the timestamps each time). A chunk
    of up to :data:`STAGE_BYTES` is copied into two staging buffers whose addresses are known
    (liblsl copies what it is pushed before it returns): a copy of a small chunk costs a fifth
    of asking numpy for the address of its arrays (``__array_interface__``, a dict each time).
    LSL has no per-sample metadata to mark a stale stand-in, so those are counted and not
    pushed: an LSL consumer only ever sees outputs the module computed.
    """

    __slots__ = (
        "_clock",
        "_dtype",
        "_n_channels",
        "_obj",
        "_perf",
        "_push_n",
        "_stage",
        "_stage_ptr",
        "_stage_ts",
        "_stage_ts_ptr",
        "age_ns",
        "index",
        "name",
        "outlet",
        "send_ns",
        "stale_not_pushed",
    )

    def __init__(self, name: str, info: StreamInfo, source_id: str) -> None:
        lsl_info = info.renamed(name=name, source_id=source_id)
        self.outlet = pylsl.StreamOutlet(to_lsl(lsl_info), chunk_size=0, max_buffered=360)
        self._dtype = lsl_info.np_dtype
        self._obj = self.outlet.obj
        self._push_n = self.outlet.do_push_chunk_n  # lsl_push_chunk_<t>tnp: per-sample stamps
        self._n_channels = lsl_info.n_channels
        rows = max(1, STAGE_BYTES // max(1, lsl_info.n_channels * self._dtype.itemsize))
        self._stage = np.empty((rows, lsl_info.n_channels), self._dtype)
        self._stage_ts = np.empty(rows, np.float64)
        self._stage_ptr = ctypes.c_void_p(self._stage.ctypes.data)
        self._stage_ts_ptr = ctypes.c_void_p(self._stage_ts.ctypes.data)
        self._clock = local_clock
        self._perf = time.perf_counter_ns
        self.name = name
        self.index = 0
        self.stale_not_pushed = 0
        self.age_ns = Histogram()
        self.send_ns = Histogram()

    def __call__(self, chunk: Chunk) -> None:
        """Push ``chunk`` with its timestamps."""
        if chunk.stale:
            self.stale_not_pushed += 1
            return
        t0 = self._perf()
        data = chunk.data
        ts = chunk.timestamps
        n = data.shape[0]
        if n <= self._stage_ts.shape[0]:
            # Slice assignment casts like copyto(casting="unsafe"), without its Python wrapper.
            self._stage[:n] = data
            self._stage_ts[:n] = ts
            err = self._push_n(
                self._obj, self._stage_ptr, ctypes.c_ulong(data.size), self._stage_ts_ptr, _ONE
            )
        else:
            if data.dtype != self._dtype or not data.flags.c_contiguous:
                data = np.ascontiguousarray(data, dtype=self._dtype)
            if ts.dtype != np.float64 or not ts.flags.c_contiguous:
                ts = np.ascontiguousarray(ts, dtype=np.float64)
            err = self._push_n(
                self._obj,
                ctypes.c_void_p(data.__array_interface__["data"][0]),
                ctypes.c_ulong(data.size),
                ctypes.c_void_p(ts.__array_interface__["data"][0]),
                _ONE,
            )
        if err:
            handle_error(err)
        self.index += n
        self.age_ns.add((self._clock() - float(ts[-1])) * 1e9)
        self.send_ns.add(self._perf() - t0)

    def close(self) -> None:
        """Destroy the outlet."""
        del self.outlet
