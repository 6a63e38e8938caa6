"""A ZeroMQ XPUB playing `bci-bridge bridge` for one 3-channel stream, for runtime tests."""

from __future__ import annotations

import numpy as np
import zmq

from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_eos, encode_info

INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)
#: The first sample of a chunk that should make a test module misbehave.
SENTINEL = 666.0


class FakeBridge:
    """Send the info to the first subscriber of ``data.eeg``, then the chunks it is told to."""

    def __init__(self, endpoint: str) -> None:
        self.pub = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.LINGER, 2000)
        self.pub.bind(endpoint)
        self.topic = b"data.eeg"

    def wait_subscriber(self, timeout_s: float = 60.0) -> None:
        self.pub.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
        while self.pub.recv() != b"\x01" + self.topic:
            pass
        self.pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))

    def send_chunks(
        self, n_chunks: int, size: int, bad: set[int], *, eos: bool = True
    ) -> np.ndarray:
        """Send ``n_chunks`` chunks of ``size`` samples (those in ``bad`` lead with SENTINEL).

        Returns the samples sent, shape (n_chunks * size, 3).
        """
        rng = np.random.default_rng(0)
        data = rng.standard_normal((n_chunks * size, 3)).astype(np.float32)
        stamps = 1000.0 + np.arange(n_chunks * size) / 250.0
        for seq in range(n_chunks):
            sl = slice(seq * size, (seq + 1) * size)
            if seq in bad:
                data[sl.start, 0] = SENTINEL
            self.pub.send_multipart(
                encode_data(self.topic, data[sl], stamps[sl], seq, sl.start, local_clock())
            )
        if eos:
            self.pub.send_multipart(
                encode_eos(self.topic, n_chunks, n_chunks * size, local_clock())
            )
        return data

    def close(self) -> None:
        self.pub.close()
