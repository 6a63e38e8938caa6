"""Record LSL streams to an XDF file, crash-safely (what ``bci-bridge record`` runs).

The recorder resolves each stream by name (with the user's LSL configuration, like every LSL
app), opens an inlet on it, and writes as LabRecorder does: one StreamHeader per stream with
the full ``<info>`` XML (channel labels, types and units in its ``desc``), Samples chunks with
every sample's own timestamp, a ClockOffset chunk per stream every few seconds (so readers map
each stream onto the recording computer's clock), a Boundary chunk every 10 s, and a
StreamFooter per stream at the end. Everything reaches the disk in whole chunks, written and
``fsync``-ed at least every ``flush_interval`` seconds (see
:class:`~bci_bridge.record.xdf_writer.XdfWriter`): after ``kill -9`` the file reads back up to
the last flush; only the footers are missing, which readers do not need.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pylsl
from pylsl.util import TimeoutError as LslTimeoutError

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock, resolve
from bci_bridge.record.xdf_writer import XdfWriter, footer_xml

__all__ = ["RecordStats", "Recorder"]

log = logging.getLogger(__name__)

_FORMATS = {
    pylsl.cf_float32: "float32",
    pylsl.cf_double64: "double64",
    pylsl.cf_string: "string",
    pylsl.cf_int32: "int32",
    pylsl.cf_int16: "int16",
    pylsl.cf_int8: "int8",
    pylsl.cf_int64: "int64",
}
_BOUNDARY_INTERVAL_S = 10.0
_POLL_S = 0.005
_MAX_PULL = 4096


@dataclass(slots=True)
class StreamRecord:
    """What has been recorded of one stream."""

    name: str
    stream_id: int
    channel_format: str
    samples: int = 0
    first_timestamp: float = 0.0
    last_timestamp: float = 0.0
    offsets: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecordStats:
    """Totals of a recording.

    Parameters
    ----------
    path : str
        The XDF file written.
    samples : dict of str to int
        Samples recorded per stream name.
    flushes : int
        Writes (each followed by ``fsync``) of whole chunks to the file.
    seconds : float
        Time from the first flush of data to the end, in seconds.
    """

    path: str
    samples: dict[str, int]
    flushes: int
    seconds: float


class Recorder:
    """Record named LSL streams into one XDF file.

    Parameters
    ----------
    names : sequence of str
        LSL stream names, each resolved once (``resolve_timeout`` seconds at most).
    out : str or Path
        The ``.xdf`` file (replaced if it exists).
    resolve_timeout : float
        Seconds to wait for each stream to appear.
    flush_interval : float
        Longest time in seconds between two flushes of what was recorded (0 < x <= 1).
    offset_interval : float
        Seconds between two clock-offset measurements per stream.
    """

    def __init__(
        self,
        names: Sequence[str],
        out: str | Path,
        *,
        resolve_timeout: float = 10.0,
        flush_interval: float = 0.5,
        offset_interval: float = 5.0,
    ) -> None:
        if not names:
            raise ConfigError("name at least one LSL stream to record")
        if len(set(names)) != len(names):
            raise ConfigError(f"stream names repeat: {list(names)}")
        if not 0 < flush_interval <= 1:
            raise ConfigError(
                f"the flush interval must be in (0, 1] s, got {flush_interval}",
                key="flush_interval",
            )
        if not str(out).lower().endswith(".xdf"):
            raise ConfigError("the output must be an .xdf file", file=str(out))
        self._names = tuple(names)
        self._out = Path(out)
        self._resolve_timeout = resolve_timeout
        self._flush_interval = flush_interval
        self._offset_interval = offset_interval

    def run(
        self,
        stop: threading.Event,
        *,
        duration_s: float = 0.0,
        report: Callable[[dict[str, int]], None] | None = None,
    ) -> RecordStats:
        """Record until ``stop`` is set or ``duration_s`` (> 0) has passed, then write footers.

        Parameters
        ----------
        stop : threading.Event
            Set it (e.g. on Ctrl-C) to end the recording cleanly.
        duration_s : float
            Seconds to record after the streams are open (0: until ``stop``).
        report : callable, optional
            Called about once a second with the samples recorded so far per stream.

        Returns
        -------
        RecordStats
            Totals per stream.

        Raises
        ------
        StreamNotFoundError
            If a stream did not appear within ``resolve_timeout`` (no file is written).
        """
        infos = [resolve(name=n, timeout=self._resolve_timeout) for n in self._names]
        inlets = [pylsl.StreamInlet(i, max_buflen=360, recover=True) for i in infos]
        writer = XdfWriter(self._out)
        records: list[StreamRecord] = []
        flushes = 1
        try:
            for stream_id, (name, inlet) in enumerate(zip(self._names, inlets, strict=True), 1):
                full = inlet.info(timeout=self._resolve_timeout)
                fmt = _FORMATS.get(full.channel_format(), "")
                writer.stream_header(stream_id, full.as_xml(), fmt)
                records.append(StreamRecord(name, stream_id, fmt))
                inlet.open_stream(timeout=self._resolve_timeout)
            for record, inlet in zip(records, inlets, strict=True):
                self._measure_offset(writer, record, inlet, timeout=2.0)
            writer.flush()
            flushes += 1
            started = local_clock()
            deadline = started + duration_s if duration_s > 0 else float("inf")
            last_flush = last_offset = last_boundary = last_report = started
            while not stop.is_set() and local_clock() < deadline:
                for record, inlet in zip(records, inlets, strict=True):
                    self._pull(writer, record, inlet)
                now = local_clock()
                if now - last_offset >= self._offset_interval:
                    for record, inlet in zip(records, inlets, strict=True):
                        self._measure_offset(writer, record, inlet, timeout=0.5)
                    last_offset = now
                if now - last_boundary >= _BOUNDARY_INTERVAL_S:
                    writer.boundary()
                    last_boundary = now
                if now - last_flush >= self._flush_interval:
                    if writer.pending_bytes:
                        writer.flush()
                        flushes += 1
                    last_flush = now
                if report is not None and now - last_report >= 1.0:
                    report({r.name: r.samples for r in records})
                    last_report = now
                stop.wait(_POLL_S)
            for record, inlet in zip(records, inlets, strict=True):
                self._pull(writer, record, inlet)
                self._measure_offset(writer, record, inlet, timeout=0.5)
                writer.stream_footer(
                    record.stream_id,
                    footer_xml(
                        record.first_timestamp,
                        record.last_timestamp,
                        record.samples,
                        record.offsets,
                    ),
                )
            seconds = local_clock() - started
        finally:
            writer.close()
            flushes += 1
            for inlet in inlets:
                inlet.close_stream()
        return RecordStats(
            path=str(self._out),
            samples={r.name: r.samples for r in records},
            flushes=flushes,
            seconds=seconds,
        )

    @staticmethod
    def _pull(writer: XdfWriter, record: StreamRecord, inlet: pylsl.StreamInlet) -> None:
        """Move every sample the inlet holds into Samples chunks."""
        while True:
            if record.channel_format == "string":
                values, stamps = inlet.pull_chunk(timeout=0.0, max_samples=_MAX_PULL)
            else:
                values, stamps = inlet.pull_chunk(timeout=0.0, max_samples=_MAX_PULL, as_numpy=True)
            n = len(stamps)
            if n == 0:
                return
            ts = np.asarray(stamps, dtype=np.float64)
            writer.samples(record.stream_id, ts, values)
            if record.samples == 0:
                record.first_timestamp = float(ts[0])
            record.last_timestamp = float(ts[-1])
            record.samples += n
            if n < _MAX_PULL:
                return

    @staticmethod
    def _measure_offset(
        writer: XdfWriter, record: StreamRecord, inlet: pylsl.StreamInlet, *, timeout: float
    ) -> None:
        """Write one ClockOffset chunk: the source's clock offset, measured now."""
        try:
            offset = float(inlet.time_correction(timeout=timeout))
        except LslTimeoutError:
            log.warning("no clock offset for %r within %g s; next try later", record.name, timeout)
            return
        # Collection time on the source's clock, as LabRecorder writes it.
        collected = float(local_clock()) - offset
        writer.clock_offset(record.stream_id, collected, offset)
        record.offsets.append((collected, offset))
