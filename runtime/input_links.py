"""The runtime's connections to its bridges: count failed handshakes, and dial again.

libzmq reconnects a dropped TCP connection by itself, but not one whose handshake failed (a
peer that speaks another mechanism, a server whose key is not the pinned one, a ZAP refusal):
it gives that endpoint up for good. So a process that took over a bridge's port for a moment,
or a bridge restarted without its keys, would cut the runtime off from the real bridge once it
is back. This watches the SUB socket's monitor for failed handshakes, counts them per input
(``handshakes_failed``, in the summary: each is someone at the endpoint who could not prove to
be the bridge) and dials the endpoint again after :data:`REDIAL_S`, with the same pinned key.

Events arrive only when connections change; nothing here runs per frame.
"""

from __future__ import annotations

import errno
import logging
import struct
import time
from dataclasses import dataclass
from typing import Any

import zmq

from bci_bridge.curve import HANDSHAKE_FAILED, ClientKeys, dial
from bci_bridge.endpoints import connect

__all__ = ["REDIAL_S", "InputLinks", "Link"]

log = logging.getLogger(__name__)
#: A monitor event's first frame: event id (uint16) and value (uint32), native byte order
#: (libzmq's ``zmq_socket_monitor``); the second frame is the endpoint. Parsed here rather than
#: with ``zmq.utils.monitor``, which imports ``zmq.asyncio`` and asyncio (~6 MB, ~12 ms).
_EVENT = struct.Struct("=HI")

#: How long after a failed handshake the endpoint is dialled again, seconds.
REDIAL_S = 1.0


@dataclass(slots=True)
class Link:
    """One input endpoint of the SUB socket: its keys, and its failed handshakes."""

    name: str
    endpoint: str
    curve: ClientKeys | None
    key: str
    handshakes_failed: int = 0
    redial_at: float | None = None


class InputLinks:
    """Connect the SUB socket to each input endpoint; dial again after a failed handshake.

    Parameters
    ----------
    sub : zmq.Socket
        The runtime's SUB socket (subscriptions are the socket's: a new connection gets them).
    links : list of Link
        The inputs that come over ZeroMQ.
    """

    def __init__(self, sub: zmq.Socket[Any], links: list[Link]) -> None:
        self._sub = sub
        self.links = links
        self._by_endpoint = {link.endpoint: link for link in links}
        self._monitor: zmq.Socket[Any] | None = (
            sub.get_monitor_socket(HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
            if links
            else None
        )
        try:
            for link in links:
                self._dial(link)
        except BaseException:  # a bad endpoint: close the monitor, report the error
            self.close()
            raise

    def _dial(self, link: Link) -> None:
        dial(self._sub, link.curve)  # libzmq takes the socket's keys at each connect
        connect(self._sub, link.endpoint, key=link.key)

    def poll(self) -> None:
        """Read the monitor's events; dial again the endpoints due (call between turns)."""
        monitor = self._monitor
        if monitor is None:
            return
        while True:
            try:
                frames = monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            event_id, _ = _EVENT.unpack(frames[0][: _EVENT.size])
            endpoint = frames[1].decode(errors="replace")
            link = self._by_endpoint.get(endpoint)
            if link is None:
                continue
            if event_id & HANDSHAKE_FAILED:
                link.handshakes_failed += 1
                if link.handshakes_failed == 1 or link.redial_at is None:
                    log.warning(
                        "input %s: the handshake with %s failed (%s): %s; dialling again every "
                        "%g s",
                        link.name,
                        endpoint,
                        zmq.Event(event_id).name,
                        "not the bridge whose public key is pinned, or a bridge without keys "
                        "(CURVE on one side only)"
                        if link.curve is not None
                        else "a bridge with CURVE keys? give this input client_key and "
                        "server_public_key",
                        REDIAL_S,
                    )
                link.redial_at = time.monotonic() + REDIAL_S
            elif link.handshakes_failed:
                log.warning(
                    "input %s: handshake with %s succeeded (after %d failed)",
                    link.name,
                    endpoint,
                    link.handshakes_failed,
                )
        now = time.monotonic()
        for link in self.links:
            if link.redial_at is not None and now >= link.redial_at:
                link.redial_at = None
                try:
                    self._sub.disconnect(link.endpoint)
                except zmq.ZMQError as exc:
                    if exc.errno != errno.ENOENT:  # ENOENT: libzmq already gave the endpoint up
                        raise
                self._dial(link)

    def failed(self, name: str) -> int:
        """Return the failed handshakes of input ``name`` so far."""
        return sum(link.handshakes_failed for link in self.links if link.name == name)

    def close(self) -> None:
        """Stop monitoring (before the SUB socket closes)."""
        if self._monitor is not None:
            self._sub.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
