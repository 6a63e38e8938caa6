"""A pipeline's ``[record]`` table at run time: inputs and node outputs into one XDF file.

Each recorded input and node output is one XDF stream, its header the stream's LSL info (node
outputs are named ``<pipeline>.<node>``), its samples written with their own timestamps as
they pass through the runtime: inputs as received (after the accounting check, so a dropped or
malformed frame is not recorded), node outputs as emitted. The file is written by
:class:`~bci_bridge.record.xdf_writer.XdfWriter`: whole chunks, written and ``fsync``-ed by
:meth:`PipelineRecording.tick` at least every ``flush_interval``; :meth:`PipelineRecording.close`
adds the footers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from bci_bridge.lsl import to_lsl
from bci_bridge.record.pipeline_config import RecordConfig
from bci_bridge.record.xdf_writer import XdfWriter, footer_xml
from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["InputTap", "PipelineRecording"]

_XDF_FORMAT = {
    "float32": "float32",
    "float64": "double64",
    "int32": "int32",
    "int16": "int16",
    "int8": "int8",
}


class _Stream:
    """One recorded stream: its id in the file and what has been written of it."""

    __slots__ = ("first", "last", "samples", "stream_id", "writer")

    def __init__(self, writer: XdfWriter, stream_id: int) -> None:
        self.writer = writer
        self.stream_id = stream_id
        self.samples = 0
        self.first = 0.0
        self.last = 0.0

    def write(self, timestamps: Any, values: Any) -> None:
        n = len(timestamps)
        if n == 0:
            return
        self.writer.samples(self.stream_id, timestamps, values)
        if self.samples == 0:
            self.first = float(timestamps[0])
        self.last = float(timestamps[-1])
        self.samples += n

    def __call__(self, chunk: Chunk) -> None:
        """Record a node's output chunk (a node sink)."""
        self.write(chunk.timestamps, chunk.data)


class InputTap:
    """Stands among an input's consumers and records what the runtime hands them."""

    __slots__ = ("_stream",)

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream

    def push(self, chunk: Chunk) -> None:
        """Record a data chunk ``(n_samples, n_channels)``."""
        self._stream.write(chunk.timestamps, chunk.data)

    def run(self, chunks: Sequence[Chunk]) -> None:
        """Record a batch of data chunks, as the runtime hands its nodes (oldest first)."""
        for chunk in chunks:
            self._stream.write(chunk.timestamps, chunk.data)

    def markers(self, labels: tuple[str, ...], timestamps: Any) -> None:
        """Record markers: one label per timestamp."""
        self._stream.write(np.asarray(timestamps, dtype=np.float64), [[x] for x in labels])


class PipelineRecording:
    """The XDF file of one pipeline run.

    Parameters
    ----------
    config : RecordConfig
        The validated ``[record]`` table.
    pipeline : str
        The pipeline's name (node output streams are ``<pipeline>.<node>``).
    """

    def __init__(self, config: RecordConfig, pipeline: str) -> None:
        self.config = config
        self._pipeline = pipeline
        self._writer = XdfWriter(config.out)
        self._streams: dict[str, _Stream] = {}
        self._next_flush = 0.0
        self._closed = False

    def add_input(self, name: str, info: StreamInfo) -> InputTap:
        """Add an input's stream; return the tap to put among the input's consumers."""
        return InputTap(self._add(name, info))

    def add_node(self, name: str, info: StreamInfo) -> _Stream:
        """Add a node's output stream; return the sink to append to the node's sinks."""
        return self._add(name, dataclasses.replace(info, name=f"{self._pipeline}.{name}"))

    def tick(self, now: float) -> None:
        """Flush to disk if ``flush_interval`` has passed since the last flush.

        Parameters
        ----------
        now : float
            ``time.monotonic()``, in seconds.
        """
        if now >= self._next_flush:
            self._next_flush = now + self.config.flush_interval
            if self._writer.pending_bytes:
                self._writer.flush()

    def samples(self) -> dict[str, int]:
        """Return the samples recorded so far, per input or node name."""
        return {name: s.samples for name, s in self._streams.items()}

    def close(self) -> None:
        """Write every stream's footer, flush and close; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for s in self._streams.values():
            self._writer.stream_footer(s.stream_id, footer_xml(s.first, s.last, s.samples))
        self._writer.close()

    def _add(self, name: str, info: StreamInfo) -> _Stream:
        stream_id = len(self._streams) + 1
        fmt = "string" if info.is_markers else _XDF_FORMAT[info.dtype]
        self._writer.stream_header(stream_id, to_lsl(info).as_xml(), fmt)
        stream = self._streams[name] = _Stream(self._writer, stream_id)
        return stream
