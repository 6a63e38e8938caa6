"""An append-only XDF 1.0 writer that survives being killed.

The file is a sequence of chunks (the XDF specification, as LabRecorder writes it)::

    "XDF:" FileHeader StreamHeader... (Samples | ClockOffset | Boundary)... StreamFooter...

Each chunk is ``[NumLengthBytes][Length][Tag][Content]``: the length is a variable-length
integer (1, 4 or 8 little-endian bytes, announced by the first byte) counting tag and content;
tags are 1 FileHeader (XML), 2 StreamHeader (stream id + XML), 3 Samples (stream id, sample
count, then per sample a timestamp and the values), 4 ClockOffset (stream id, collection time,
offset), 5 Boundary (a fixed 16-byte id, for readers to resynchronise) and 6 StreamFooter
(stream id + XML).

Chunks are assembled in memory and reach the file only in :meth:`XdfWriter.flush`, as one
``write`` of whole chunks followed by ``fsync``: a process killed at any moment leaves a file
that ends on a chunk boundary and holds everything up to its last flush.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = ["BOUNDARY_UUID", "XDF_FORMATS", "XdfWriter", "footer_xml"]

#: The Boundary chunk's content fixed by the XDF specification.
BOUNDARY_UUID = bytes.fromhex("43A546DCCBF5410FB30ED5467383CBE4")

#: numpy dtypes of the numeric XDF channel formats (little-endian, as XDF stores them).
XDF_FORMATS: dict[str, str] = {
    "float32": "<f4",
    "double64": "<f8",
    "int8": "<i1",
    "int16": "<i2",
    "int32": "<i4",
    "int64": "<i8",
}

_TAG_FILE_HEADER = 1
_TAG_STREAM_HEADER = 2
_TAG_SAMPLES = 3
_TAG_CLOCK_OFFSET = 4
_TAG_BOUNDARY = 5
_TAG_STREAM_FOOTER = 6


def _varlen(n: int) -> bytes:
    """Encode ``n`` as XDF's variable-length integer (1, 4 or 8 bytes after a width byte)."""
    if n < 1 << 8:
        return b"\x01" + struct.pack("<B", n)
    if n < 1 << 32:
        return b"\x04" + struct.pack("<I", n)
    return b"\x08" + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


def footer_xml(
    first_timestamp: float,
    last_timestamp: float,
    sample_count: int,
    offsets: Sequence[tuple[float, float]] = (),
) -> str:
    """Return a StreamFooter's XML (times in seconds, offsets as (collection time, offset))."""
    clock = "".join(f"<offset><time>{t!r}</time><value>{v!r}</value></offset>" for t, v in offsets)
    return (
        '<?xml version="1.0"?><info>'
        f"<first_timestamp>{first_timestamp!r}</first_timestamp>"
        f"<last_timestamp>{last_timestamp!r}</last_timestamp>"
        f"<sample_count>{sample_count}</sample_count>"
        f"<clock_offsets>{clock}</clock_offsets></info>"
    )


class XdfWriter:
    """Write one XDF file, append-only, whole chunks per flush.

    Creating the writer creates the file (replacing one that exists) with its magic and
    FileHeader, flushed at once.

    Parameters
    ----------
    path : str or Path
        The ``.xdf`` file to write.
    """

    __slots__ = ("_fd", "_formats", "_path", "_pending")

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._formats: dict[int, str] = {}
        self._pending = bytearray(b"XDF:")
        self._pending += _chunk(
            _TAG_FILE_HEADER,
            b'<?xml version="1.0"?><info><version>1.0</version>'
            b"<writer>bci-bridge record</writer></info>",
        )
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc}", file=str(self._path)) from exc
        self.flush()

    @property
    def path(self) -> Path:
        """The file being written."""
        return self._path

    def stream_header(self, stream_id: int, xml: str, channel_format: str) -> None:
        """Add a stream: its header XML (an LSL ``info`` document) and its sample format.

        Parameters
        ----------
        stream_id : int
            The stream's id in this file (>= 1, unique).
        xml : str
            The stream's ``<info>`` XML (e.g. ``pylsl.StreamInfo.as_xml()``).
        channel_format : str
            ``"string"`` or one of :data:`XDF_FORMATS`.
        """
        if channel_format != "string" and channel_format not in XDF_FORMATS:
            raise ConfigError(
                f"stream {stream_id}: channel format {channel_format!r} cannot be recorded; "
                f"known: string, {', '.join(XDF_FORMATS)}"
            )
        if stream_id in self._formats:
            raise ValueError(f"stream id {stream_id} already has a header")
        self._formats[stream_id] = channel_format
        self._pending += _chunk(
            _TAG_STREAM_HEADER, struct.pack("<I", stream_id) + xml.encode("utf-8")
        )

    def samples(
        self,
        stream_id: int,
        timestamps: npt.NDArray[np.float64],
        values: npt.NDArray[np.generic] | Sequence[Sequence[str]],
    ) -> None:
        """Add a Samples chunk: every sample with its own timestamp.

        Parameters
        ----------
        stream_id : int
            A stream with a header.
        timestamps : ndarray of float64, shape (n_samples,)
            Seconds on the source's LSL clock.
        values : ndarray, shape (n_samples, n_channels), or sequence of sequences of str
            Numeric samples (cast to the stream's format) or, for a string stream, the text of
            each channel of each sample.
        """
        fmt = self._formats[stream_id]
        ts = np.asarray(timestamps, dtype="<f8").reshape(-1)
        n = ts.shape[0]
        if n == 0:
            return
        head = struct.pack("<I", stream_id) + _varlen(n)
        if fmt == "string":
            parts = [head]
            for t, sample in zip(ts.tolist(), values, strict=True):
                parts.append(b"\x08" + struct.pack("<d", t))
                for text in sample:
                    raw = str(text).encode("utf-8")
                    parts.append(_varlen(len(raw)) + raw)
            content = b"".join(parts)
        else:
            arr = np.asarray(values)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(f"values of shape {arr.shape} for {n} timestamps")
            record = np.dtype(
                [("width", "u1"), ("t", "<f8"), ("v", XDF_FORMATS[fmt], (arr.shape[1],))]
            )
            rows = np.empty(n, dtype=record)
            rows["width"] = 8
            rows["t"] = ts
            rows["v"] = arr
            content = head + rows.tobytes()
        self._pending += _chunk(_TAG_SAMPLES, content)

    def clock_offset(self, stream_id: int, collection_time: float, offset: float) -> None:
        """Add a ClockOffset chunk (seconds: when it was measured, and remote-to-local offset)."""
        self._pending += _chunk(
            _TAG_CLOCK_OFFSET, struct.pack("<Idd", stream_id, collection_time, offset)
        )

    def boundary(self) -> None:
        """Add a Boundary chunk, where a reader of a damaged file can pick up again."""
        self._pending += _chunk(_TAG_BOUNDARY, BOUNDARY_UUID)

    def stream_footer(self, stream_id: int, xml: str) -> None:
        """Add a stream's StreamFooter (see :func:`footer_xml`)."""
        self._pending += _chunk(
            _TAG_STREAM_FOOTER, struct.pack("<I", stream_id) + xml.encode("utf-8")
        )

    @property
    def pending_bytes(self) -> int:
        """Bytes added since the last flush."""
        return len(self._pending)

    def flush(self) -> None:
        """Write every chunk added since the last flush, then ``fsync`` the file."""
        if self._fd is None:
            raise ValueError(f"{self._path} is closed")
        view = memoryview(self._pending)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fsync(self._fd)
        except OSError as exc:
            raise ConfigError(f"cannot write: {exc}", file=str(self._path)) from exc
        finally:
            view.release()
        self._pending.clear()

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._fd is None:
            return
        try:
            self.flush()
        finally:
            os.close(self._fd)
            self._fd = None
