"""The runtime: receive frames, run the module graph, publish results, report metrics.

One thread, one SUB socket connected to every input endpoint. Each turn of the loop: wait
briefly for input, drain what the socket and the LSL inlets hold (bounded) into one
:class:`~runtime.input_queue.InputQueue` per input (decoded zero-copy, checked, accounted),
then run each input's nodes on its batch, so that a node that is behind can skip to the
newest data (:mod:`runtime.policy`). Housekeeping (subscriptions, metrics on
``metrics.<pipeline>`` at the pipeline's metrics endpoint, the report hook) runs between turns.
At a stop the backlog is worked on for at most :data:`STOP_WITHIN_S` and the rest counted as
unprocessed; at the end of every input (``exit_on_eos``) it is worked off in full.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import zmq

from bci_bridge.config import PipelineConfig
from bci_bridge.curve_config import transport_problems
from bci_bridge.errors import ConfigError, WireError
from bci_bridge.lsl import local_clock
from bci_bridge.queue_bound import DEFAULT_QUEUE_BYTES, receive_hwm
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import Kind, check_against, decode, receive
from runtime import emergency
from runtime.annotations import is_onehot_markers, onehot_labels
from runtime.cost_model import LoadEstimate, check_load
from runtime.fan_in import FanIn
from runtime.histogram import Histogram
from runtime.input_links import InputLinks, Link
from runtime.input_queue import InputQueue
from runtime.inputs import InputState
from runtime.isolated import IsolatedNode, drain, make_node
from runtime.isolated import close_all as close_isolated
from runtime.isolated import wait as wait_isolated
from runtime.lsl_input import LslInput
from runtime.node import Consumer, Node
from runtime.outputs import LslOutput, Publisher, ZmqOutput
from runtime.prewarm import Prewarmer
from runtime.recording import InputTap, PipelineRecording
from runtime.stages import merged, output_stages, path_to
from runtime.watchdog import Watchdog

__all__ = ["STOP_WITHIN_S", "Runtime", "RuntimeOptions"]

log = logging.getLogger(__name__)

#: At a stop, how long the runtime keeps working on what it already received, seconds.
STOP_WITHIN_S = 0.8
#: Frames drained from the socket (and pulls from each LSL inlet) per turn of the loop, at most.
_DRAIN_FRAMES = 1000
_DRAIN_PULLS = 64
#: Chunks run per slice of an input's queue (see ``Runtime._run_queued``).
_SLICE = 16
#: The longest the loop waits for input before it looks at stop, metrics and the rest, ms.
_WAIT_MS = 50
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeOptions:
    """How the runtime runs (as opposed to what: that is the pipeline config).

    Parameters
    ----------
    exit_on_eos : bool
        Stop once every input has ended (``EOS``), after forwarding ``EOS`` on the outputs.
    wait_subscribers : int
        Subscribe to the inputs only once this many subscribers joined the ZeroMQ outputs.
    info_timeout_s : float
        How long to wait for every input's ``info.<stream>``.
    duration_s : float
        Stop after this long processing data (0 = until stopped).
    metrics_every_s : float
        Publish ``metrics.<pipeline>`` and call the report hook this often.
    insecure : bool
        Allow plain TCP off loopback (``run --insecure``; see :mod:`bci_bridge.curve_config`).
    """

    exit_on_eos: bool = False
    wait_subscribers: int = 0
    info_timeout_s: float = 30.0
    duration_s: float = 0.0
    metrics_every_s: float = 1.0
    insecure: bool = False


@dataclass(slots=True)
class _Route:
    state: InputState
    queue: InputQueue
    nodes: list[Consumer] = field(default_factory=list)
    coalesce: bool = False
    marker_nodes: list[Node | InputTap] = field(default_factory=list)
    lsl: LslInput | None = None


class Runtime:
    """Run a validated pipeline.

    Parameters
    ----------
    pipeline : PipelineConfig
        What to run.
    options : RuntimeOptions
        How to run it.
    context : zmq.Context, optional
        Share a context (for ``inproc://`` endpoints).
    """

    def __init__(
        self,
        pipeline: PipelineConfig,
        options: RuntimeOptions | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.options = options or RuntimeOptions()
        self._ctx = self.context = context or zmq.Context.instance()
        self.inputs = {i.name: InputState(config=i) for i in pipeline.inputs}
        self.nodes = {n.name: make_node(n) for n in pipeline.nodes}
        self.fan_ins = {  # nodes reading several sources, aligned (runtime.fan_in)
            n.name: FanIn(self.nodes[n.name], f"nodes[{i}]")
            for i, n in enumerate(pipeline.nodes)
            if n.inputs
        }
        # Isolation and watchdog hooks (runtime.isolated, runtime.watchdog): with abort_hook set,
        # a stop the runtime's thread cannot honour (a module hung in a step) is finalised by the
        # watchdog: the summary goes to abort_hook, EOS goes out, the process exits with 130.
        self.isolated = [n for n in self.nodes.values() if isinstance(n, IsolatedNode)]
        self.abort_hook: Callable[[dict[str, Any]], None] | None = None
        self._watchdog: Watchdog | None = None
        self._routes: dict[bytes, _Route] = {}
        self._zmq_queues: list[InputQueue] = []  # queues of the inputs read from the socket
        self._info_topics: dict[bytes, InputState] = {}
        self.publishers: dict[str, Publisher] = {}
        self.zmq_outputs: dict[str, list[ZmqOutput]] = {}
        self.lsl_outputs: list[LslOutput] = []
        self.recording: PipelineRecording | None = None  # the [record] table, once prepared
        self._lsl_by_node: dict[str, list[LslOutput]] = {}
        self.metrics: Publisher | None = None
        self.frames_foreign = 0
        self.started_at = 0.0
        self.links: InputLinks | None = None  # the SUB socket's connections (failed handshakes)
        self.load: LoadEstimate | None = None  # measured at prepare (runtime.cost_model)

    # -- set-up ----------------------------------------------------------------------------------

    def _wire_graph(self) -> None:
        max_bytes = int(self.pipeline.max_queue_mb * 2**20)
        for state in self.inputs.values():
            route = _Route(state, InputQueue(max_bytes))
            if state.config.lsl:
                # Pulls of at most 64 samples: pylsl allocates max_samples rows on every pull.
                route.lsl = LslInput(
                    state.config.stream, recover=not self.options.exit_on_eos, max_chunk=64
                )
            else:
                self._zmq_queues.append(route.queue)
            self._routes[f"data.{state.config.stream}".encode()] = route
            self._info_topics[f"info.{state.config.stream}".encode()] = state
        for node in self.nodes.values():
            src = node.config.input
            fan = self.fan_ins.get(node.name)
            if fan is not None:  # each source feeds the node's port for it
                for source, port in zip(fan.sources, fan.ports, strict=True):
                    if source in self.inputs:
                        self._routes[self._data_topic(source)].nodes.append(port)
                    else:
                        self.nodes[source].children.append(port)
            elif src in self.inputs:
                route = self._routes[self._data_topic(src)]
                route.nodes.append(node)
                route.coalesce |= node.config.on_overrun in ("skip", "fallback")
            else:
                self.nodes[src].children.append(node)
            if node.config.markers is not None:
                self._routes[self._data_topic(node.config.markers)].marker_nodes.append(node)

    def _data_topic(self, input_name: str) -> bytes:
        return f"data.{self.inputs[input_name].config.stream}".encode()

    def _prepare(self) -> None:
        infos: dict[str, StreamInfo] = {n: s.info for n, s in self.inputs.items() if s.info}
        combined: dict[str, StreamInfo] = {}  # fan-in nodes' sources side by side
        for node in self.nodes.values():
            src, markers = infos[node.config.input], node.config.markers
            fan = self.fan_ins.get(node.name)
            if fan is not None:  # its sources side by side
                try:
                    src = combined[node.name] = fan.prepare(infos)
                except ConfigError as exc:
                    raise exc.within(file=self.pipeline.source) from exc.__cause__
            if src.is_markers:
                raise ConfigError(
                    f"input {node.config.input!r} is a marker stream; give it as `markers`",
                    key=f"node {node.name!r}",
                    file=self.pipeline.source,
                )
            if markers is not None and not (
                infos[markers].is_markers or is_onehot_markers(infos[markers])
            ):
                raise ConfigError(
                    f"input {markers!r} is not a marker stream: neither text markers nor "
                    f"one-hot annotations (an irregular float stream), it is "
                    f"{infos[markers].dtype} at {infos[markers].sfreq:g} Hz",
                    key=f"node {node.name!r}",
                    file=self.pipeline.source,
                )
            try:
                infos[node.name] = node.prepare(src)
            except ConfigError as exc:
                raise exc.within(key=f"node {node.name!r}", file=self.pipeline.source) from exc
            except Exception as exc:
                raise ConfigError(
                    f"prepare() failed: {type(exc).__name__}: {exc}",
                    key=f"node {node.name!r}",
                    file=self.pipeline.source,
                ) from exc
            log.info(
                "node %s (%s): %d ch at %g Hz -> %d ch at %g Hz, budget %.3g ms",
                node.name,
                node.config.module,
                src.n_channels,
                src.sfreq,
                infos[node.name].n_channels,
                infos[node.name].sfreq,
                node.config.budget_ms,
            )
        # Refuse a pipeline whose nodes cannot keep up with their inputs (runtime.cost_model).
        p = self.pipeline
        self.load = check_load(p.nodes, infos, p.max_load, p.source, combined)
        for out in self.pipeline.outputs:
            node = self.nodes[out.node]
            info = infos[out.node]
            stream = f"{self.pipeline.name}.{out.node}"
            if out.zmq:
                pub = self.publishers.get(out.zmq)
                if pub is None:
                    pub = self.publishers[out.zmq] = self._publisher(out.zmq, out.max_queue_bytes)
                zout = ZmqOutput(pub, f"out.{stream}", info)
                self.zmq_outputs.setdefault(out.node, []).append(zout)
                node.sinks.append(zout)
            if out.lsl:
                lout = LslOutput(out.lsl, info, source_id=f"bci-bridge:{stream}")
                self.lsl_outputs.append(lout)
                self._lsl_by_node.setdefault(out.node, []).append(lout)
                node.sinks.append(lout)
        if self.pipeline.record is not None:
            self.recording = rec = PipelineRecording(self.pipeline.record, self.pipeline.name)
            for name in self.pipeline.record.inputs:
                route = self._routes[self._data_topic(name)]
                consumers = route.marker_nodes if infos[name].is_markers else route.nodes
                consumers.append(rec.add_input(name, infos[name]))
            for name in self.pipeline.record.nodes:
                self.nodes[name].sinks.append(rec.add_node(name, infos[name]))

    # -- running ---------------------------------------------------------------------------------

    def run(
        self, stop: threading.Event, *, report: Callable[[dict[str, Any]], None] | None = None
    ) -> dict[str, Any]:
        """Run until stopped (or every input ended, with ``exit_on_eos``); return the summary.

        Raises
        ------
        ConfigError
            If a module refuses its input at ``prepare`` (before any data is processed), an
            input's info does not arrive in time, or an endpoint off loopback has no CURVE keys
            (before anything is bound).
        """
        for problem in transport_problems(self.pipeline, insecure=self.options.insecure):
            raise problem
        self._wire_graph()
        sub = self._ctx.socket(zmq.SUB)
        # The socket's queue per endpoint is bounded in bytes like the input queues (see
        # bci_bridge.queue_bound): reckoned for the smallest frames until the infos tell their
        # size, then set for the streams (libzmq applies it to the pipes already connected).
        max_bytes = int(self.pipeline.max_queue_mb * 2**20)
        sub.setsockopt(zmq.RCVHWM, receive_hwm(max_bytes, ()))
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVTIMEO, _WAIT_MS)
        try:
            # Outputs are bound first so that a client can be connected before data flows.
            for out in self.pipeline.outputs:
                if out.zmq and out.zmq not in self.publishers:
                    self.publishers[out.zmq] = self._publisher(out.zmq, out.max_queue_bytes)
            self._bind_metrics()
            self._wait_output_subscribers(stop)
            links: list[Link] = []
            for i, state in enumerate(self.inputs.values()):
                if state.config.endpoint is not None:
                    sub.setsockopt(zmq.SUBSCRIBE, f"info.{state.config.stream}".encode())
                    sub.setsockopt(zmq.SUBSCRIBE, f"data.{state.config.stream}".encode())
                    link = Link(
                        state.config.name,
                        state.config.endpoint,
                        state.config.curve,
                        f"inputs[{i}].endpoint",
                    )
                    links.append(link)
            self.links = InputLinks(sub, links)
            for route in self._lsl_routes():
                assert route.lsl is not None
                route.state.info = route.lsl.open(stop, self.options.info_timeout_s)
                if route.state.info is None:
                    return self.summary()
            if not self._wait_infos(sub, stop):
                return self.summary()
            infos = [s.info for s in self.inputs.values() if s.config.endpoint and s.info]
            sub.setsockopt(zmq.RCVHWM, receive_hwm(max_bytes, infos))
            self._prepare()
            self._send_infos()
            self._watchdog = Watchdog(
                list(self.nodes.values()),
                stop,
                abort=(lambda eos: emergency.finalise(self, eos)) if self.abort_hook else None,
            )
            self._watchdog.start()
            self._loop(sub, stop, report)
            return self.summary()
        except ConfigError as exc:  # a bad endpoint, say: name the pipeline file too
            raise exc.within(file=self.pipeline.source) from exc.__cause__
        finally:
            if self._watchdog is not None:
                self._watchdog.close()
            close_isolated(self.isolated)
            if self.links is not None:
                self.links.close()
            sub.close()
            for route in self._lsl_routes():
                assert route.lsl is not None
                route.lsl.close()
            for pub in self.publishers.values():
                pub.close()
            if self.metrics is not None and self.metrics.endpoint not in self.publishers:
                self.metrics.close()
            for lout in self.lsl_outputs:
                lout.close()
            self.lsl_outputs.clear()
            if self.recording is not None:
                self.recording.close()

    def _bind_metrics(self) -> None:
        endpoint = self.pipeline.metrics
        pub = self.publishers.get(endpoint)
        self.metrics = pub if pub is not None else self._publisher(endpoint)
        log.info("metrics.%s on %s", self.pipeline.name, endpoint)

    def _publisher(self, endpoint: str, max_queue_bytes: int = DEFAULT_QUEUE_BYTES) -> Publisher:
        """Bind an output (or metrics) socket, keyed as ``[security]`` says."""
        return Publisher(self._ctx, endpoint, max_queue_bytes, curve=self.pipeline.security.server)

    def _lsl_routes(self) -> list[_Route]:
        return [r for r in self._routes.values() if r.lsl is not None]

    def _send_infos(self) -> None:
        for outs in self.zmq_outputs.values():
            for zout in outs:
                zout.send_info()

    def _wait_output_subscribers(self, stop: threading.Event) -> None:
        need = self.options.wait_subscribers
        if not need or not self.publishers:
            return
        log.info("waiting for %d subscriber(s) on the outputs", need)
        while not stop.is_set():
            for pub in self.publishers.values():
                pub.poll_subscriptions()
            if sum(p.subscribers for p in self.publishers.values()) >= need:
                return
            time.sleep(0.01)

    def _wait_infos(self, sub: zmq.Socket[Any], stop: threading.Event) -> bool:
        deadline = time.monotonic() + self.options.info_timeout_s
        pending = {s.config.stream for s in self.inputs.values() if s.info is None}
        if pending:
            log.info("waiting for stream info of %s", ", ".join(sorted(pending)))
        while pending and not stop.is_set():
            if time.monotonic() > deadline:
                where = ", ".join(
                    f"{s.config.stream} at {s.config.endpoint}"
                    for s in self.inputs.values()
                    if s.info is None
                )
                keyed = any(s.config.curve for s in self.inputs.values() if s.info is None)
                raise ConfigError(
                    f"no stream info within {self.options.info_timeout_s:g} s from {where} "
                    "(is `bci-bridge bridge` running there?"
                    + (
                        " With CURVE: does it serve with the secret key of server_public_key, "
                        "and is client_key's public key among its --client-keys?)"
                        if keyed
                        else ")"
                    ),
                    file=self.pipeline.source,
                )
            if self.links is not None:
                self.links.poll()
            try:
                parts = receive(sub)
            except zmq.Again:
                continue
            self._handle(parts)
            pending = {s.config.stream for s in self.inputs.values() if s.info is None}
        return not pending

    def _loop(
        self,
        sub: zmq.Socket[Any],
        stop: threading.Event,
        report: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        opts = self.options
        handle = self._handle
        tick = self._tick_zmq
        waiting = _waiting
        lsl_routes = self._lsl_routes()
        # The loop waits on its first input: an LSL inlet, or else the ZeroMQ socket. Then it
        # drains, without waiting, the socket and every LSL inlet, and runs what came.
        first = self._routes[self._data_topic(self.pipeline.inputs[0].name)]
        primary = first if first.lsl is not None else None
        others = [r for r in lsl_routes if r is not primary]
        zmq_inputs = any(s.config.endpoint is not None for s in self.inputs.values())
        pull = self._pull_lsl
        primary_max = primary.lsl.max_chunk if primary is not None and primary.lsl else 0
        self.started_at = time.monotonic()
        end = self.started_at + opts.duration_s if opts.duration_s > 0 else float("inf")
        next_tick = self.started_at + opts.metrics_every_s
        next_info = self.started_at + 2.0
        states = list(self.inputs.values())
        recording = self.recording
        all_ended = False
        isolated = self.isolated
        prewarm = Prewarmer(list(self.nodes.values()))
        # With isolated nodes or prewarms the loop waits on a poll, then reads without blocking.
        recv_flags = zmq.NOBLOCK if isolated or prewarm else 0
        while not stop.is_set():
            wait_ms = prewarm.run_due(_WAIT_MS) if prewarm else _WAIT_MS
            if primary is not None:
                # The pull each turn notices a lost source. It takes everything the inlet holds
                # up to its bound, so only a full pull leaves more to drain (the drain asks the
                # inlet first); at a real-time rate a turn brings one sample and no more calls.
                if pull(primary, wait_ms / 1e3) >= primary_max:
                    self._drain_lsl(primary, ask_first=True)
            else:
                if isolated:  # wake for a frame or for an isolated node's answer
                    wait_isolated(sub, isolated, wait_ms)
                elif prewarm:  # wake for a frame or for the next prewarm
                    sub.poll(wait_ms)
                with contextlib.suppress(zmq.Again):
                    parts = receive(sub, recv_flags)
                    tick()
                    handle(parts)
            # Asking the socket whether more waits costs less than the zmq.Again of an empty
            # read, and at a real-time rate a turn usually brings one frame.
            if zmq_inputs and waiting(sub):
                tick()
                self._drain_zmq(sub)
            for route in others:
                self._drain_lsl(route)
            self._run_queued(stop)
            for node in isolated:
                node.poll()
            now = time.monotonic()
            if recording is not None:
                recording.tick(now)
            if now >= next_tick:
                next_tick = now + opts.metrics_every_s
                for pub in self.publishers.values():
                    pub.poll_subscriptions()
                if self.links is not None:
                    self.links.poll()
                if now >= next_info:
                    next_info = now + 2.0
                    self._send_infos()
                self._publish_metrics(report)
            if now >= end:
                break
            if opts.exit_on_eos and _all_ended(states):
                log.info("every input ended; stopping")
                all_ended = True
                break
        self._finish(sub, stop, work_off=all_ended)
        # Isolated nodes hand back what they hold: briefly on a requested stop, fully at the end.
        drain(isolated, 0.5 if stop.is_set() else 30.0)
        if self._watchdog is not None and not self._watchdog.claim():
            while True:  # the watchdog is finalising and about to end the process
                time.sleep(1.0)
        for outs in self.zmq_outputs.values():
            for zout in outs:
                zout.send_eos()

    def _publish_metrics(self, report: Callable[[dict[str, Any]], None] | None) -> None:
        summary = self.summary()
        payload = json.dumps(summary).encode()
        topic = f"metrics.{self.pipeline.name}".encode()
        for pub in self.publishers.values():
            pub.send_json(topic, payload)
        if self.metrics is not None and self.metrics.endpoint not in self.publishers:
            self.metrics.send_json(topic, payload)
        if report is not None:
            report(summary)

    def _run_queued(self, stop: threading.Event, *, once: bool = False) -> bool:
        """Run each input's nodes on what its queue holds; return whether anything ran.

        An input read by a ``skip`` or ``fallback`` node hands over its whole queue at once, so
        that such a node can skip to the newest chunk. Others go in slices of
        :data:`_SLICE` chunks, with a look at ``stop`` between slices, so that a stop is not
        held up by a long backlog before a slow node. With ``once``, one slice per input.
        """
        ran = False
        for route in self._routes.values():
            queue = route.queue
            while queue.chunks:
                chunks = queue.take(None if route.coalesce and not once else _SLICE)
                for node in route.nodes:
                    node.run(chunks)
                ran = True
                if once or stop.is_set():
                    break
        return ran

    def _finish(self, sub: zmq.Socket[Any], stop: threading.Event, *, work_off: bool) -> None:
        """Work on what already arrived, then count what is left as unprocessed.

        With ``work_off`` (every input ended) the backlog is worked off unless a stop is asked
        for; otherwise for at most :data:`STOP_WITHIN_S`, in small batches.
        """
        deadline = time.monotonic() + STOP_WITHIN_S
        lsl_routes = self._lsl_routes()
        while True:
            self._tick_zmq()
            got = self._drain_zmq(sub) > 0
            for route in lsl_routes:
                got = self._drain_lsl(route) or got
            ran = self._run_queued(stop, once=not work_off)
            if not (got or ran):
                break
            if (work_off and stop.is_set()) or (not work_off and time.monotonic() > deadline):
                break
        for route in self._routes.values():
            route.queue.discard()

    def _tick_zmq(self) -> None:
        """Read the LSL clock once for the frames about to be taken off the socket."""
        now = local_clock()
        for queue in self._zmq_queues:
            queue.now_lsl = now

    def _drain_zmq(self, sub: zmq.Socket[Any], limit: int = _DRAIN_FRAMES) -> int:
        """Handle what the socket holds, at most ``limit`` frames; return how many."""
        handle = self._handle
        n = 0
        while n < limit:
            try:
                handle(receive(sub, zmq.NOBLOCK))
            except zmq.Again:
                break
            n += 1
        return n

    def _drain_lsl(self, route: _Route, *, ask_first: bool = False) -> bool:
        """Pull an LSL input until it has nothing more (at most a bound); return if any came.

        With ``ask_first``, the inlet is asked whether samples wait before each pull: an empty
        pull costs about 100 times as much. Only for an input also pulled otherwise (the
        loop's primary), since only a pull notices a lost source.
        """
        assert route.lsl is not None
        available = route.lsl.available
        n = 0
        while n < _DRAIN_PULLS and (not ask_first or available()) and self._pull_lsl(route, 0.0):
            n += 1
        return n > 0

    def _pull_lsl(self, route: _Route, timeout: float) -> int:
        """Pull an LSL input once and queue what came; return how many samples came."""
        assert route.lsl is not None
        got = route.lsl.pull(timeout)
        state = route.state
        if got is None:
            if route.lsl.ended and not state.ended:
                state.end(state.next_index, session=state.session or 0)
            return 0
        data, stamps = got
        n: int = stamps.shape[0]
        # The index is ours (always contiguous): gaps in the timestamps are upstream losses.
        session = state.info.session if state.info is not None else 0
        state.accept(
            state.next_index,
            n,
            session=session,
            first_time=float(stamps[0]),
            last_time=float(stamps[-1]),
        )
        if isinstance(data, tuple):
            for node in route.marker_nodes:
                node.markers(data, stamps)
            return n
        if route.marker_nodes:
            self._onehot_markers(route, data, stamps)
        cleaned = state.clean(data, stamps)
        if cleaned is None:
            return n
        route.queue.now_lsl = local_clock()
        route.queue.put(Chunk(cleaned[0], cleaned[1], state.frames_received - 1))
        return n

    def _handle(self, parts: list[Any]) -> None:
        topic = parts[0].bytes if parts else b""  # zmq.Frame caches its bytes
        route = self._routes.get(topic)
        if route is None:
            state = self._info_topics.get(topic)
            if state is not None:
                self._handle_info(state, parts)
            else:
                self.frames_foreign += 1
            return
        state = route.state
        try:
            frame = decode(parts)
            if frame.kind is Kind.EOS:
                state.end(frame.sample_index, session=frame.session)
                return
            if frame.kind is not Kind.DATA and frame.kind is not Kind.MARKERS:
                raise WireError(f"{frame.kind.name} frame on a data topic")
            if state.info is None:
                state.frames_before_info += 1
                return
            check_against(frame, state.info)
        except WireError as exc:
            state.malformed(str(exc))
            return
        except Exception as exc:  # whatever else a hostile frame provokes: counted, never fatal
            state.malformed(f"{type(exc).__name__}: {exc}")
            return
        ts = frame.timestamps
        if not state.accept(
            frame.sample_index,
            ts.shape[0],
            session=frame.session,
            first_time=float(ts[0]),
            last_time=float(ts[-1]),
        ):
            return
        if frame.kind is Kind.MARKERS:
            for node in route.marker_nodes:
                node.markers(frame.labels, ts)
            return
        if route.marker_nodes:
            self._onehot_markers(route, frame.data, ts)
        cleaned = state.clean(frame.data, ts)
        if cleaned is None:
            return
        route.queue.put(Chunk(cleaned[0], cleaned[1], frame.seq))

    def _onehot_markers(self, route: _Route, data: Any, stamps: Any) -> None:
        """Hand the labels of one-hot annotation samples to the route's marker nodes."""
        info = route.state.info
        if info is None or not is_onehot_markers(info):
            return
        labels, at = onehot_labels(data, stamps, info.channel_names)
        if labels:
            for node in route.marker_nodes:
                node.markers(labels, at)

    def _handle_info(self, state: InputState, parts: list[Any]) -> None:
        try:
            frame = decode(parts)
            if frame.kind is not Kind.INFO:
                raise WireError(f"{frame.kind.name} frame on an info topic")
            info = StreamInfo.from_json(frame.payload)
        except (WireError, ConfigError) as exc:
            state.malformed(f"info: {exc}")
            return
        except Exception as exc:  # whatever else a hostile info provokes: counted, never fatal
            state.malformed(f"info: {type(exc).__name__}: {exc}")
            return
        if state.info is None:
            state.info = info
            log.info(
                "input %s: %d ch at %g Hz (%s)", info.name, info.n_channels, info.sfreq, info.dtype
            )
        elif (info.n_channels, info.sfreq, info.dtype) != (
            state.info.n_channels,
            state.info.sfreq,
            state.info.dtype,
        ):
            state.malformed(
                f"info changed mid-run to {info.n_channels} ch at {info.sfreq} Hz; "
                "frames will be refused"
            )
        elif info.session != state.info.session:
            state.info = info  # a restarted sender, same stream: frames say when it starts

    # -- reporting -------------------------------------------------------------------------------

    def _node_summary(self, name: str) -> dict[str, object]:
        summary = self.nodes[name].summary()
        fan = self.fan_ins.get(name)
        if fan is not None:
            summary["fan_in"] = fan.summary()
        return summary

    def summary(self) -> dict[str, Any]:
        """Return inputs, nodes and outputs counters as a JSON-ready dict (the metrics, the report).

        A sample sent is received or lost (``samples_lost``: gaps, the total ``EOS``
        announced); a sample received reaches the nodes, or is dropped from a full input queue
        (``samples_dropped_queue``), or is left queued at a stop (``samples_unprocessed``).
        Each input has the same counters beside its own.
        """
        queues = {name: self._routes[self._data_topic(name)].queue for name in self.inputs}
        links = self.links
        inputs = [
            {
                "name": name,
                **s.summary(),
                **queues[name].summary(),
                "handshakes_failed": links.failed(name) if links is not None else 0,
            }
            for name, s in self.inputs.items()
        ]

        def stages(node: str, send: Histogram) -> dict[str, Any]:
            root, path = path_to(node, self.nodes)
            return output_stages(queues[root], root, path, send)

        outputs = [
            {
                "node": node,
                "topic": zout.topic.decode(),
                "endpoint": zout.publisher.endpoint,
                "sent": zout.index,
                "stale": zout.stale,
                "age_ms": zout.age_ns.summary_ms(),
                "stages": stages(node, zout.send_ns),
            }
            for node, outs in self.zmq_outputs.items()
            for zout in outs
        ]
        lsl_outputs = [
            {
                "node": node,
                "lsl": lout.name,
                "sent": lout.index,
                "stale_not_pushed": lout.stale_not_pushed,
                "age_ms": lout.age_ns.summary_ms(),
                "stages": stages(node, lout.send_ns),
            }
            for node, louts in self._lsl_by_node.items()
            for lout in louts
        ]
        ages = [z.age_ns for zs in self.zmq_outputs.values() for z in zs]
        ages += [lo.age_ns for los in self._lsl_by_node.values() for lo in los]
        e2e = merged(ages).summary_ms()
        lost = sum(s.samples_lost for s in self.inputs.values())
        dropped = sum(q.samples_dropped for q in queues.values())
        unprocessed = sum(q.samples_unprocessed for q in queues.values())
        return {
            "pipeline": self.pipeline.name,
            "time": local_clock(),
            "uptime_s": round(time.monotonic() - self.started_at, 3) if self.started_at else 0.0,
            "metrics_endpoint": self.pipeline.metrics,
            "samples_received": sum(s.samples_received for s in self.inputs.values()),
            "samples_lost": lost,
            "samples_lost_upstream": sum(s.samples_lost_upstream for s in self.inputs.values()),
            "samples_dropped_queue": dropped,
            "samples_unprocessed": unprocessed,
            "frames_malformed": sum(s.frames_malformed for s in self.inputs.values()),
            "frames_foreign": self.frames_foreign,
            "e2e_ms": {k: e2e[k] for k in ("count", "p50", "p99", "max") if k in e2e},
            "inputs": inputs,
            "nodes": {name: self._node_summary(name) for name in self.nodes},
            "outputs": outputs,
            "lsl_outputs": lsl_outputs,
        }


def _all_ended(states: list[InputState]) -> bool:
    """Whether every input ended (a loop: each turn, 5x cheaper than ``all`` of a generator)."""
    for state in states:  # noqa: SIM110
        if not state.ended:
            return False
    return True


def _waiting(sub: zmq.Socket[Any]) -> bool:
    """Whether a message waits on the socket (asked without reading it)."""
    events: int = sub.get(_EVENTS)  # type: ignore[assignment]  # an int option
    return bool(events & _POLLIN)
