"""What the parts of the runtime's frame path cost, each alone: the alternatives side by side.

Each line times one operation (best of 5 repeats, in ns or us per call) against the one it
replaced or avoids, on real ZeroMQ sockets (inproc) and a real LSL outlet and inlet (loopback)::

    LSLAPICFG=bci_bridge/lsl_api.cfg nice -n 10 .venv/bin/python benchmarks/frame_path_parts.py
"""

from __future__ import annotations

import contextlib
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
import pylsl
import zmq

from bci_bridge.wire import encode_data, receive

N = 20000


def best_us(fn: Callable[[], Any], number: int = N) -> float:
    """Return the best of five runs of ``number`` calls, microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def line(what: str, us: float) -> None:
    """Print one measurement."""
    print(f"{what:58s} {us:8.2f} us")


def zmq_parts() -> None:
    """Time receiving, asking for more and sending: pyzmq's ways and the runtime's."""
    ctx = zmq.Context()
    a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
    a.bind("inproc://parts")
    b.connect("inproc://parts")
    msg = encode_data(b"data.eeg", np.zeros((1, 64), np.float32), np.ones(1), 0, 0, 0.0)

    def send_recv_multipart() -> None:
        a.send_multipart(msg)
        b.recv_multipart(copy=False)

    def send_receive() -> None:
        a.send_multipart(msg)
        receive(b)

    def empty_read() -> None:
        with contextlib.suppress(zmq.Again):
            receive(b, zmq.NOBLOCK)

    line("send_multipart + recv_multipart(copy=False)", best_us(send_recv_multipart))
    line("send_multipart + wire.receive", best_us(send_receive))
    line("empty read (zmq.Again)", best_us(empty_read))
    line("ask the socket (EVENTS)", best_us(lambda: b.get(zmq.EVENTS)))
    sugar, backend = a.send, zmq.backend.Socket.send
    pub = ctx.socket(zmq.PUB)
    pub.bind("inproc://pub")
    line("zmq.Socket.send of one part", best_us(lambda: sugar(b"x", zmq.SNDMORE)))
    line("zmq.backend.Socket.send of one part", best_us(lambda: backend(pub, b"x", zmq.SNDMORE)))
    for s in (a, b, pub):
        s.close(linger=0)
    ctx.term()


def lsl_parts() -> None:
    """Time an empty pull against asking the inlet, an array's address against a copy."""
    info = pylsl.StreamInfo("frame-path-parts", "EEG", 64, 1000, "float32", "frame-path-parts")
    outlet = pylsl.StreamOutlet(info)
    inlet = pylsl.StreamInlet(pylsl.resolve_byprop("name", "frame-path-parts", 1, 10.0)[0])
    inlet.open_stream(timeout=10.0)

    def empty_pull() -> None:
        inlet.pull_chunk(timeout=0.0, max_samples=64, as_numpy=True)

    line("empty pull_chunk (64 x 64 float32)", best_us(empty_pull, 2000))
    line("samples_available", best_us(inlet.samples_available, 2000))
    data = np.zeros((1, 64), np.float32)
    stage = np.empty((256, 64), np.float32)
    line("__array_interface__ address of a 1 x 64 array", best_us(lambda: data.__array_interface__))
    line("copy 1 x 64 into a staging buffer", best_us(lambda: np.copyto(stage[:1], data)))
    inlet.close_stream()
    del outlet


def numpy_parts() -> None:
    """Time a band-pass state's finiteness check: a sum against a dot product."""
    state = np.random.default_rng(0).standard_normal((64, 2, 2))  # 64 channels, order 4
    flat = state.reshape(-1)
    line("sum of a 64 x 2 x 2 filter state", best_us(state.sum))
    line("dot product of it with itself", best_us(lambda: flat.dot(flat)))


if __name__ == "__main__":
    zmq_parts()
    lsl_parts()
    numpy_parts()
