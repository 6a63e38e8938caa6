"""The amplifier's packet: a 12-byte little-endian header, then float32 samples.

::

    magic    4s   b"NAMP"
    seq      u32  packet number, +1 per packet (gaps are lost packets)
    samples  u16  samples in this packet
    channels u16  channels per sample
    data     samples * channels float32, sample-major, microvolts
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["HEADER", "MAGIC", "PacketError", "decode", "encode"]

MAGIC = b"NAMP"
HEADER = struct.Struct("<4sIHH")


class PacketError(ValueError):
    """A datagram that is not an amplifier packet (the device counts and drops it)."""


def encode(seq: int, samples: npt.NDArray[np.float32]) -> bytes:
    """Encode ``samples`` (n_samples, n_channels) float32 as packet number ``seq``."""
    n, c = samples.shape
    return HEADER.pack(MAGIC, seq & 0xFFFFFFFF, n, c) + samples.astype("<f4", copy=False).tobytes()


def decode(packet: Any, n_channels: int) -> tuple[int, npt.NDArray[np.float32]]:
    """Return ``(seq, samples)`` of a packet with ``n_channels`` channels.

    Raises
    ------
    PacketError
        If the magic, channel count or length is wrong.
    """
    view = memoryview(packet)
    if len(view) < HEADER.size:
        raise PacketError(f"{len(view)} bytes is shorter than the {HEADER.size}-byte header")
    magic, seq, n, c = HEADER.unpack_from(view)
    if magic != MAGIC:
        raise PacketError(f"bad magic {bytes(magic)!r}")
    if c != n_channels:
        raise PacketError(f"{c} channels, expected {n_channels}")
    if len(view) != HEADER.size + 4 * n * c:
        raise PacketError(f"{len(view)} bytes for {n} x {c} samples")
    data = np.frombuffer(view, dtype="<f4", count=n * c, offset=HEADER.size).reshape(n, c)
    return int(seq), data.astype(np.float32)  # a copy in native order: the buffer is reused
