"""The bridge: one LSL stream in, versioned ZeroMQ frames out.

The bridge resolves an LSL stream by name or type, opens an inlet, and publishes every chunk
it pulls as a ``data.<stream>`` frame on a ZeroMQ XPUB socket, numpy end to end, without
copies. The XPUB socket sees each new subscription, so a subscriber that joins late gets the
stream's ``info.<stream>`` at once (and again every ``info_period_s``). With
``wait_subscribers`` the bridge opens the inlet only once that many subscribers are there, so
a pipeline started first misses nothing. At stop it drains what the inlet still holds and
sends ``EOS`` with the total sample count, so receivers can count any loss up to the end.

When the source goes away, the bridge looks for it again (same name and type, same channel
layout) and carries on when it is back. With ``source_timeout_s`` it gives up after that long
instead: it ends the stream (``EOS`` with the exact total) and returns, as at a stop.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pylsl
import zmq
from pylsl.util import LostError

from bci_bridge.curve import ServerGuard, ServerKeys, require_keys, serve
from bci_bridge.endpoints import bind, check_endpoint
from bci_bridge.errors import ConfigError, StreamNotFoundError
from bci_bridge.lsl import from_lsl, local_clock
from bci_bridge.lsl_config import describe_lsl_config
from bci_bridge.queue_bound import DEFAULT_QUEUE_BYTES, hwm_for
from bci_bridge.session import new_session
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_eos, encode_info, encode_markers, send

__all__ = ["Bridge", "BridgeConfig", "BridgeStats"]

log = logging.getLogger(__name__)

#: Bytes per sample of each LSL channel format (strings: a guess of a short label).
_SAMPLE_BYTES = {
    pylsl.cf_float32: 4,
    pylsl.cf_double64: 8,
    pylsl.cf_int32: 4,
    pylsl.cf_int16: 2,
    pylsl.cf_int8: 1,
    pylsl.cf_string: 16,
}

#: Longest single wait of a stream lookup, seconds (see ``Bridge._resolve``).
_RESOLVE_WAIT_S = 2.0
#: How to key the bridge, for the refusal of an endpoint off loopback without keys.
SERVER_FLAGS = "--server-key NAME.key_secret --client-keys DIR"


@dataclass(frozen=True, slots=True, kw_only=True)
class BridgeConfig:
    """How to find the LSL stream and where to publish it.

    Parameters
    ----------
    name, type : str
        LSL stream name and/or type to look for (at least one).
    endpoint : str
        ZeroMQ endpoint to bind (``tcp://127.0.0.1:5555``, ``ipc:///tmp/eeg``).
    resolve_timeout_s : float
        How long to look for the stream before giving up, seconds.
    wait_subscribers : int
        Open the inlet only once this many ``data.<stream>`` subscribers joined (0 = don't wait).
    max_chunk : int
        Most samples per frame.
    info_period_s : float
        Re-send ``info.<stream>`` this often, seconds.
    sndhwm : int
        ZeroMQ send high-water mark, messages per subscriber; 0 (default): derived from
        ``max_queue_bytes`` and the stream's frame size (see :mod:`bci_bridge.queue_bound`).
    max_queue_bytes : int
        Most bytes queued for one subscriber that stopped reading (about; see
        :mod:`bci_bridge.queue_bound`); beyond, ZeroMQ drops that subscriber's frames, and the
        subscriber counts them lost from the gap in ``sample_index``.
    drain_s : float
        At stop, keep pulling what the source already sent for at most this long, seconds.
    source_timeout_s : float or None
        When the source is gone this long, seconds, end the stream and return; None: wait
        for it to come back, however long.
    clocksync : {"auto", "on", "off"}
        Correct timestamps to this machine's LSL clock with liblsl's clock synchronisation.
        ``auto``: only for a source on another host (on one host the clocks are the same, and
        the estimated offset would only add noise).
    curve : ServerKeys or None
        Serve CURVE: the bridge's secret key and the folder of the subscribers' public keys it
        admits (see :mod:`bci_bridge.curve`). None: plain, refused off loopback unless
        ``insecure``.
    insecure : bool
        Allow plain TCP on an endpoint off loopback (``--insecure``).
    """

    name: str = ""
    type: str = ""
    endpoint: str = "tcp://127.0.0.1:5555"
    resolve_timeout_s: float = 30.0
    wait_subscribers: int = 0
    max_chunk: int = 4096
    info_period_s: float = 2.0
    sndhwm: int = 0
    max_queue_bytes: int = DEFAULT_QUEUE_BYTES
    clocksync: str = "auto"
    drain_s: float = 1.0
    source_timeout_s: float | None = None
    curve: ServerKeys | None = None
    insecure: bool = False

    def __post_init__(self) -> None:
        require_keys(
            self.endpoint,
            keyed=self.curve is not None,
            insecure=self.insecure,
            flags=SERVER_FLAGS,
            key="endpoint",
        )
        if not self.name and not self.type:
            raise ConfigError("give a stream name or type to bridge", key="name")
        if self.max_chunk < 1:
            raise ConfigError("must be >= 1", key="max_chunk")
        if self.sndhwm < 0:
            raise ConfigError("must be >= 0 (0: from max_queue_bytes)", key="sndhwm")
        if self.max_queue_bytes < 1:
            raise ConfigError("must be >= 1 byte", key="max_queue_bytes")
        if self.wait_subscribers < 0:
            raise ConfigError("must be >= 0", key="wait_subscribers")
        if self.source_timeout_s is not None and not self.source_timeout_s > 0:
            raise ConfigError(f"must be > 0 s, got {self.source_timeout_s}", key="source_timeout")
        if self.clocksync not in ("auto", "on", "off"):
            raise ConfigError(f"must be auto, on or off, got {self.clocksync!r}", key="clocksync")


@dataclass(slots=True)
class BridgeStats:
    """Running totals of a bridge."""

    stream: str = ""
    session: int = 0
    sndhwm: int = 0
    samples: int = 0
    frames: int = 0
    subscribers: int = 0
    source_lost: int = 0
    clients_refused: int = 0  # CURVE handshakes refused (a client retries: not distinct peers)


class Bridge:
    """Publish one LSL stream as ZeroMQ frames.

    Parameters
    ----------
    config : BridgeConfig
        What to bridge and where.
    context : zmq.Context, optional
        Share a context (for ``inproc://`` endpoints); default: the global instance.
    """

    def __init__(
        self, config: BridgeConfig, context: zmq.Context[zmq.Socket[bytes]] | None = None
    ) -> None:
        self.config = config
        self._ctx = context or zmq.Context.instance()
        self.stats = BridgeStats()
        self.info: StreamInfo | None = None
        self._guard: ServerGuard | None = None  # with CURVE: who the ZAP handler refused
        clauses = [f"{k}='{v}'" for k, v in (("name", config.name), ("type", config.type)) if v]
        self._pred = " and ".join(clauses)

    def run(
        self,
        stop: threading.Event,
        *,
        report: Callable[[BridgeStats], None] | None = None,
        report_every_s: float = 1.0,
    ) -> BridgeStats:
        """Bridge until ``stop`` is set, then drain, send ``EOS`` and return the totals.

        Raises
        ------
        StreamNotFoundError
            If no stream matched within ``resolve_timeout_s``.
        """
        cfg = self.config
        pub = self._ctx.socket(zmq.XPUB)
        pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        pub.setsockopt(zmq.LINGER, 1000)
        guard = self._guard = None
        try:
            check_endpoint(cfg.endpoint, for_bind=True, key="endpoint")
            if cfg.curve is not None:
                guard = self._guard = serve(pub, cfg.curve)  # bad keys: refused before the lookup
            found = self._resolve(stop)
            if found is None:
                return self.stats
            # The HWM applies to connections made after it is set: set it, then bind.
            width = _SAMPLE_BYTES.get(found.channel_format(), 8)
            hwm = cfg.sndhwm or hwm_for(
                cfg.max_queue_bytes, found.channel_count(), width, found.nominal_srate()
            )
            pub.setsockopt(zmq.SNDHWM, hwm)
            self.stats.sndhwm = hwm
            bind(pub, cfg.endpoint, key="endpoint")
            inlet = self._inlet(found)
            # Each start of a bridge is a new stream session (see bci_bridge.session).
            info = from_lsl(inlet.info(timeout=5.0)).renamed(session=new_session())
            self.info = info
            self.stats.session = info.session
            self.stats.stream = info.name
            data_topic = f"data.{info.name}".encode()
            info_topic = f"info.{info.name}".encode()
            log.info(
                "bridging LSL %r (%d ch, %g Hz, %s) to %s",
                info.name,
                info.n_channels,
                info.sfreq,
                info.dtype,
                cfg.endpoint,
            )
            subs = _Subscriptions(pub, data_topic, info_topic, info)
            if cfg.wait_subscribers:
                log.info("waiting for %d subscriber(s) on %s", cfg.wait_subscribers, cfg.endpoint)
                while not stop.is_set() and subs.count < cfg.wait_subscribers:
                    if pub.poll(100):
                        subs.handle()
            inlet.open_stream(timeout=10.0)
            self._pump(inlet, pub, subs, data_topic, stop, report, report_every_s)
            return self.stats
        finally:
            pub.close()
            if guard is not None:
                self.stats.clients_refused = guard.denied
                guard.close()

    def _inlet(self, found: pylsl.StreamInfo) -> pylsl.StreamInlet:
        """Open an inlet on ``found`` that reports the source's loss (the bridge recovers).

        Not liblsl's own recovery: with it a lost source is never reported, so the bridge
        could neither say so nor end the stream. The price: once liblsl sees the connection
        end, it drops what it had received and not yet handed out. The bridge pulls
        continuously, and ``bci-bridge stream`` lingers 0.3 s before closing its outlet so
        that consumers get the tail; a source that closes at once, or is killed mid-send, can
        lose its last chunk at the bridge, as at any LSL inlet that does not recover (the
        runtime's direct LSL input with ``exit_on_eos`` included).
        """
        cfg = self.config
        remote = found.hostname() != socket.gethostname()
        sync = cfg.clocksync == "on" or (cfg.clocksync == "auto" and remote)
        return pylsl.StreamInlet(
            found,
            max_buflen=360,
            max_chunklen=0,
            recover=False,
            processing_flags=pylsl.proc_clocksync if sync else 0,
        )

    def _reconnect(self, subs: _Subscriptions, stop: threading.Event) -> pylsl.StreamInlet | None:
        """Wait for the lost source to come back; None when stopped or past the timeout.

        Says so in one log line. A stream of the same name with another channel layout is not
        the source: it is skipped (one more log line) and the wait goes on.
        """
        cfg, name = self.config, self.stats.stream
        self.stats.source_lost += 1
        timeout = cfg.source_timeout_s
        if timeout is None:
            log.warning(
                "LSL source %r is gone; waiting for it to come back (Ctrl-C ends the stream; "
                "--source-timeout S ends it when the source is gone S seconds)",
                name,
            )
        else:
            log.warning(
                "LSL source %r is gone; ending the stream unless it is back within %g s",
                name,
                timeout,
            )
        deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
        skipped: set[str] = set()
        while not stop.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("LSL source %r gone for %g s: end of stream", name, timeout)
                return None
            found = pylsl.resolve_bypred(self._pred, 1, max(0.1, min(_RESOLVE_WAIT_S, left)))
            subs.handle()
            for candidate in found:
                inlet = self._inlet(candidate)
                try:
                    info = from_lsl(inlet.info(timeout=5.0))
                    if self.info is not None and _same_layout(info, self.info):
                        inlet.open_stream(timeout=10.0)
                        log.warning("LSL source %r is back", name)
                        return inlet
                except (LostError, TimeoutError) as exc:
                    # An answer from the outlet that just went away (lookups can lag its
                    # end): not the source back. The wait goes on.
                    log.debug("LSL source %r: a stale lookup answer (%s)", name, exc)
                    inlet.close_stream()
                    continue
                inlet.close_stream()
                if candidate.uid() not in skipped:
                    skipped.add(candidate.uid())
                    log.warning(
                        "a stream matching %s has another layout (%d ch, %g Hz, %s): not the "
                        "source; still waiting",
                        self._pred,
                        info.n_channels,
                        info.sfreq,
                        info.dtype,
                    )
        return None

    def _resolve(self, stop: threading.Event) -> pylsl.StreamInfo | None:
        cfg = self.config
        pred = self._pred
        log.info("looking for an LSL stream with %s", pred)
        deadline = time.monotonic() + cfg.resolve_timeout_s
        while not stop.is_set():
            # Each wait must outlast liblsl's first query round (MulticastMinRTT, 0.5 s): only
            # after it does liblsl probe every outlet's own port, the lookup that always
            # reaches it. A shorter wait relies on the shared port alone, which on a machine
            # with other LSL processes often answers for someone else.
            left = deadline - time.monotonic()
            found = pylsl.resolve_bypred(pred, 1, max(0.1, min(_RESOLVE_WAIT_S, left)))
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise StreamNotFoundError(
                    f"no LSL stream with {pred} appeared within {cfg.resolve_timeout_s:g} s "
                    "(is the source running?). " + describe_lsl_config()
                )
        return None

    def _pump(
        self,
        inlet: pylsl.StreamInlet,
        pub: zmq.Socket[bytes],
        subs: _Subscriptions,
        topic: bytes,
        stop: threading.Event,
        report: Callable[[BridgeStats], None] | None,
        report_every_s: float,
    ) -> None:
        cfg = self.config
        stats = self.stats
        pull = inlet.pull_chunk
        gone = False
        seq = 0
        index = 0
        next_housekeeping = time.monotonic()
        next_info = next_housekeeping + cfg.info_period_s
        next_report = next_housekeeping + report_every_s
        markers = self.info is not None and self.info.is_markers
        session = self.info.session if self.info is not None else 0
        subs.handle()  # greet who is already there with the info before the first frame
        draining = False
        drain_until = 0.0
        while True:
            if stop.is_set() and not draining:
                # Take what the source already sent, then stop even if it keeps sending.
                draining = True
                drain_until = time.monotonic() + cfg.drain_s
            try:
                data, ts = pull(
                    timeout=0.2 if draining else 0.05,
                    max_samples=cfg.max_chunk,
                    min_samples=1,
                    as_numpy=not markers,
                )
            except LostError:
                # Everything the source sent before it went has been pulled: nothing is lost.
                inlet.close_stream()
                back = None if draining else self._reconnect(subs, stop)
                if back is None:
                    gone = True
                    break
                inlet, pull = back, back.pull_chunk
                continue
            n = len(ts)
            if n and markers:  # text labels, rare: lists are fine here
                labels = [row[0] for row in data]
                stamps = np.asarray(ts)
                send(pub, encode_markers(topic, labels, stamps, seq, index, local_clock(), session))
            elif n:
                send(pub, encode_data(topic, data, ts, seq, index, local_clock(), session))
            if n:
                seq += 1
                index += n
                stats.frames = seq
                stats.samples = index
            if draining and (not n or time.monotonic() > drain_until):
                break
            now = time.monotonic()
            if now >= next_housekeeping:
                next_housekeeping = now + 0.05
                subs.handle()
                stats.subscribers = subs.count
                if self._guard is not None:
                    stats.clients_refused = self._guard.denied
                if now >= next_info:
                    subs.send_info()
                    next_info = now + cfg.info_period_s
                if report is not None and now >= next_report:
                    report(stats)
                    next_report = now + report_every_s
        if not gone:
            inlet.close_stream()
        send(pub, encode_eos(topic, seq, index, local_clock(), session))
        log.info("sent %d samples in %d frames; end of stream", index, seq)


def _same_layout(a: StreamInfo, b: StreamInfo) -> bool:
    """Whether two stream infos carry the same channels at the same rate and dtype."""
    return (a.channel_names, a.sfreq, a.dtype) == (b.channel_names, b.sfreq, b.dtype)


class _Subscriptions:
    """Track subscribers of an XPUB socket and greet each with the stream info."""

    __slots__ = ("_info", "_info_topic", "_pub", "_topic", "count")

    def __init__(
        self, pub: zmq.Socket[bytes], topic: bytes, info_topic: bytes, info: StreamInfo
    ) -> None:
        self._pub = pub
        self._topic = topic
        self._info_topic = info_topic
        self._info = info
        self.count = 0

    def handle(self) -> None:
        """Read pending (un)subscriptions; send the info to anyone who subscribed to it."""
        greet = False
        while True:
            try:
                msg = self._pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if not msg:
                continue
            subscribe, prefix = msg[0] == 1, msg[1:]
            if self._topic.startswith(prefix):
                self.count += 1 if subscribe else -1
            if subscribe and self._info_topic.startswith(prefix):
                greet = True
        if greet:
            self.send_info()

    def send_info(self) -> None:
        """Publish the stream info on ``info.<stream>``."""
        self._pub.send_multipart(encode_info(self._info_topic, self._info, local_clock()))
