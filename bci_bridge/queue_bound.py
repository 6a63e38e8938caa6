"""Send queues bounded in bytes: a ZeroMQ high-water mark derived from a byte bound.

ZeroMQ bounds a PUB/XPUB socket's queue per subscriber in messages (``SNDHWM``), not bytes,
and a subscriber that stops reading lets that queue fill. :func:`hwm_for` turns a byte bound
into a message count from the stream's frame size, so that a stalled subscriber holds about
``max_queue_bytes`` of the sender's memory, then ZeroMQ drops its newest frames.

The frame size is estimated small on purpose (:data:`FRAME_S`, 1 ms of samples: a bridge pulls
and sends what LSL delivers, often one amplifier packet): a bound reckoned on big frames holds
only a few of the small ones a fast stream really sends, and a receiver's 30 ms scheduling
hiccup at 1024 channels x 30 kHz would then cost samples. The price: the bound is a bound on
frames of that size.

The receive side is bounded the same way (:func:`receive_hwm`): a receiver whose thread stops
reading (a module stuck in a step, a pipeline slower than its input) lets ZeroMQ's I/O thread
fill its SUB socket's queue up to ``RCVHWM`` messages per connected endpoint; beyond, ZeroMQ
stops reading that connection, the sender's queue fills, and the sender drops. So a stalled
receiver holds about ``max_queue_bytes`` per endpoint in its socket, and its losses show, as on
the send side, as gaps in ``sample_index`` once it reads again.

What ZeroMQ does not let a sender see: which subscriber dropped, and how many frames (PUB
sockets drop silently; ``XPUB_NODROP`` would instead stall every subscriber for the slowest).
The drops are counted where they become visible, at the subscriber: each dropped frame is a
gap in ``sample_index``, counted in ``samples_lost``. The bound holds for frames of the
estimated size (:data:`FRAME_S` of samples); a sender catching up after a stall sends bigger
frames, so the worst case is the HWM times the largest frame (``max_chunk`` samples).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from bci_bridge.stream import StreamInfo

__all__ = [
    "DEFAULT_QUEUE_BYTES",
    "FRAME_OVERHEAD",
    "FRAME_S",
    "MARKER_SAMPLE_BYTES",
    "hwm_for",
    "receive_hwm",
]

#: Default bound per subscriber: 64 MiB.
DEFAULT_QUEUE_BYTES = 64 << 20
#: Bytes a queued frame costs beyond its samples (topic, header, four message parts).
FRAME_OVERHEAD = 512
#: Samples per frame assumed for a regular stream: this many seconds of them.
FRAME_S = 0.001
#: Floor and ceiling of the derived HWM, messages.
_MIN_HWM, _MAX_HWM = 16, 1_000_000


def hwm_for(max_queue_bytes: int, n_channels: int, sample_bytes: int, sfreq: float) -> int:
    """Return the send HWM (messages) that keeps a subscriber's queue near a byte bound.

    Parameters
    ----------
    max_queue_bytes : int
        The bound, bytes.
    n_channels : int
        Channels per sample.
    sample_bytes : int
        Bytes per value (4 for float32).
    sfreq : float
        Nominal rate, Hz (0: irregular, one sample per frame).

    Returns
    -------
    int
        ``max_queue_bytes`` over the estimated frame size, within [16, 1,000,000].
    """
    rows = max(1, math.ceil(sfreq * FRAME_S)) if sfreq > 0 and math.isfinite(sfreq) else 1
    frame = FRAME_OVERHEAD + rows * (n_channels * sample_bytes + 8)
    return max(_MIN_HWM, min(_MAX_HWM, max_queue_bytes // frame))


#: Bytes a marker (text) sample is reckoned at: a short label.
MARKER_SAMPLE_BYTES = 16


def receive_hwm(max_queue_bytes: int, infos: Iterable[StreamInfo]) -> int:
    """Return the receive HWM (messages) that keeps a SUB socket's queue near a byte bound.

    One value serves a socket that reads several streams: the smallest of their
    :func:`hwm_for`, so that the queue of each connected endpoint stays within
    ``max_queue_bytes`` whichever of the streams it carries (for frames of the estimated size).

    Parameters
    ----------
    max_queue_bytes : int
        The bound per connected endpoint, bytes.
    infos : iterable of StreamInfo
        The streams the socket reads; none: reckoned for the smallest frame
        (:data:`FRAME_OVERHEAD` plus one one-byte sample), a bound on the count of messages.

    Returns
    -------
    int
        Messages, within [16, 1,000,000].
    """
    hwms = [
        hwm_for(
            max_queue_bytes,
            info.n_channels,
            MARKER_SAMPLE_BYTES if info.is_markers else info.np_dtype.itemsize,
            info.sfreq,
        )
        for info in infos
    ]
    return min(hwms) if hwms else hwm_for(max_queue_bytes, 1, 1, 0.0)
