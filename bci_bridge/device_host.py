"""Run a :class:`~bci_bridge.contracts.Device` and expose it as an LSL outlet.

The host owns the LSL side so that a driver only reads samples: it opens the outlet (and a
marker outlet when the device is a :class:`~bci_bridge.contracts.MarkerSource`), optionally
waits for a consumer so that nothing is sent into the void, pushes each chunk with the
device's own timestamps, and counts what it sent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pylsl

from bci_bridge.contracts import Device, MarkerSource
from bci_bridge.lsl import to_lsl
from bci_bridge.session import new_session

__all__ = ["HostStats", "host_device"]

log = logging.getLogger(__name__)


_MARKER_GRACE_S = 2.0


def _wait_consumer(outlet: pylsl.StreamOutlet, stop: threading.Event, deadline: float) -> bool:
    while not stop.is_set() and time.monotonic() < deadline:
        if outlet.wait_for_consumers(0.1):
            return True
    return False


@dataclass(slots=True)
class HostStats:
    """What a device host has done so far."""

    samples_sent: int = 0
    chunks_sent: int = 0
    markers_sent: int = 0
    first_timestamp: float = float("nan")
    last_timestamp: float = float("nan")


def host_device(
    device: Device,
    *,
    stop: threading.Event,
    duration_s: float = 0.0,
    wait_consumer_s: float = 0.0,
    report: Callable[[HostStats], None] | None = None,
    report_every_s: float = 1.0,
) -> HostStats:
    """Stream ``device`` to LSL until ``stop`` is set, ``duration_s`` has passed, or it ends.

    A device whose source is finite (a file replay) says it has ended with a true ``finished``
    attribute and ``read`` returning ``None``.

    Parameters
    ----------
    device : Device
        A device that has not been opened yet; it is opened and closed here.
    stop : threading.Event
        Set it (from a signal handler, say) to stop cleanly.
    duration_s : float
        Stop after this many seconds of streaming (0 = until stopped).
    wait_consumer_s : float
        Before opening the device, wait up to this long for an LSL consumer (0 = don't
        wait). Nothing is counted as sent before a consumer could have received it.
    report : callable, optional
        Called with the running totals about every ``report_every_s`` seconds.
    report_every_s : float
        Seconds between two calls of ``report``.

    Returns
    -------
    HostStats
        Totals at the end.
    """
    # Each start is a new session, announced in the outlet's desc (see bci_bridge.lsl).
    info = device.info().renamed(session=new_session())
    outlet = pylsl.StreamOutlet(to_lsl(info), chunk_size=0, max_buffered=360)
    markers: MarkerSource | None = device if isinstance(device, MarkerSource) else None
    marker_outlet = (
        pylsl.StreamOutlet(to_lsl(markers.marker_info(), string_format=True), 0, 360)
        if markers is not None
        else None
    )
    stats = HostStats()
    try:
        if wait_consumer_s > 0:
            log.info(
                "waiting up to %.0f s for a consumer of LSL stream %r", wait_consumer_s, info.name
            )
            deadline = time.monotonic() + wait_consumer_s
            if not _wait_consumer(outlet, stop, deadline) and not stop.is_set():
                log.warning("no consumer after %.0f s; streaming anyway", wait_consumer_s)
            if marker_outlet is not None:
                # Markers are often read by a second consumer that connects a moment later;
                # give it a short grace so the first trial's marker is not sent unseen.
                grace = min(deadline, time.monotonic() + _MARKER_GRACE_S)
                _wait_consumer(marker_outlet, stop, grace)
        if stop.is_set():
            return stats
        device.open()
        started = time.monotonic()
        next_report = started + report_every_s
        end = started + duration_s if duration_s > 0 else float("inf")
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= end:
                    break
                chunk = device.read(min(0.1, end - now))
                if chunk is None and getattr(device, "finished", False):
                    break  # a finite source (a file) has ended
                if chunk is not None and chunk.n_samples:
                    ts = chunk.timestamps
                    outlet.push_chunk(chunk.data, float(ts[-1]))
                    if stats.samples_sent == 0:
                        stats.first_timestamp = float(ts[0])
                    stats.samples_sent += chunk.n_samples
                    stats.chunks_sent += 1
                    stats.last_timestamp = float(ts[-1])
                if marker_outlet is not None and markers is not None:
                    for label, stamp in markers.read_markers():
                        marker_outlet.push_sample([label], stamp)
                        stats.markers_sent += 1
                if report is not None and now >= next_report:
                    report(stats)
                    next_report = now + report_every_s
        finally:
            device.close()
        # Give liblsl's sender a moment to hand the last chunks to connected inlets before the
        # outlet is destroyed; otherwise a consumer could miss the tail.
        if outlet.have_consumers():
            time.sleep(0.3)
        return stats
    finally:
        del outlet, marker_outlet
