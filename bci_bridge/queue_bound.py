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

What ZeroMQ does not let a sender see: which subscriber dropped, and how many frames (PUB
sockets drop silently; ``XPUB_NODROP`` would instead stall every subscriber for the slowest).
The drops are counted where they become visible, at the subscriber: each dropped frame is a
gap in ``sample_index``, counted in ``samples_lost``. The bound holds for frames of the
estimated size (:data:`FRAME_S` of samples); a sender catching up after a stall sends bigger
frames, so the worst case is the HWM times the largest frame (``max_chunk`` samples).
"""

from __future__ import annotations

import math

__all__ = ["DEFAULT_QUEUE_BYTES", "FRAME_OVERHEAD", "FRAME_S", "hwm_for"]

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
