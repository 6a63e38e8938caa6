"""The floor's own minimal ZeroMQ framing: ``[header, data, timestamps]``, nothing else.

Header: ``<IId``: n_samples, n_channels, the sender's LSL clock when the frame left (seconds).
Data: raw float32 (n_samples, n_channels); timestamps: raw float64 (n_samples,). This is what a
careful hand-written chain would send: no topic, no version, no checks beyond the sizes.
"""

from __future__ import annotations

import struct

__all__ = ["RAW_HEADER"]

RAW_HEADER = struct.Struct("<IId")
