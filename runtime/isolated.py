"""A node whose module runs in its own worker process (``isolation = "process"``).

The runtime's thread hands the node a chunk and goes on: :meth:`IsolatedNode.push` copies it
into a shared-memory ring (:mod:`runtime.shm_ring`) and sends a 25-byte message down a pipe;
the worker (:mod:`runtime.worker`) steps the module on a view of the ring and writes the output
into a second ring. :meth:`IsolatedNode.poll`, called on every turn of the runtime's loop,
collects what is ready (copied once out of the ring, since sinks and children may keep it) and
passes it to the node's sinks and children, so one slow branch never delays another.

Each step has a hard deadline (``deadline_ms``; default 50 times the budget, at least 1 s),
counted from when the step could start (its dispatch, or the previous step's reply). A step
past its deadline is killed with its worker; a worker that dies (an exception escaping the
process, a segfault, ``os._exit``) is noticed on the next poll. Either way the step in hand is
counted in ``missed``, the worker is restarted (``restarts``; its module re-prepared) and the
chunks queued behind it are handed to the new worker, so they are not lost. A chunk that finds
the queue full (``MAX_PENDING`` steps or a full ring) is counted in ``missed`` too, and so are
chunks still queued when the runtime closes the node.
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import struct
import time
from collections import deque
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, NamedTuple

import zmq

from bci_bridge.config import NodeConfig
from bci_bridge.errors import ConfigError, ModuleStepError
from bci_bridge.stream import Chunk, StreamInfo
from runtime.node import Node
from runtime.output_check import OutputCheck
from runtime.shm_ring import ShmRing
from runtime.worker import (
    ATTACH,
    ERROR,
    ERROR_FMT,
    FAILED,
    OUT,
    OUT_FMT,
    READY,
    STEP,
    STEP_FMT,
    STOP,
    WorkerSpec,
    serve,
)

__all__ = [
    "MAX_PENDING",
    "IsolatedNode",
    "WorkerError",
    "close_all",
    "default_deadline_ms",
    "drain",
    "make_node",
    "wait",
]

log = logging.getLogger(__name__)

#: Steps handed to a worker and not yet answered, at most (the pipe never fills).
MAX_PENDING = 256
#: How long a worker may take to import and prepare its module, seconds.
START_TIMEOUT_S = 120.0


def default_deadline_ms(budget_ms: float) -> float:
    """Return the per-step deadline of an isolated node without ``deadline_ms``: 50x, >= 1 s."""
    return max(50.0 * budget_ms, 1000.0)


def make_node(config: NodeConfig) -> Node:
    """Build the run-time node ``config`` asks for: inline, or isolated in a process."""
    return IsolatedNode(config) if config.isolation == "process" else Node(config)


class _Pending(NamedTuple):
    seq: int
    start: int
    n: int


class IsolatedNode(Node):
    """Run one module in a worker process, asynchronously (see the module docstring).

    Parameters
    ----------
    config : NodeConfig
        The validated node, with ``isolation = "process"``.
    """

    __slots__ = (
        "_conn",
        "_deadline_ns",
        "_in",
        "_in_info",
        "_out",
        "_pending",
        "_proc",
        "_ready",
        "_started_ns",
        "missed",
        "restarts",
    )

    def __init__(self, config: NodeConfig) -> None:
        super().__init__(config)
        self.module = None  # it lives in the worker
        deadline = config.deadline_ms or default_deadline_ms(config.budget_ms)
        self._deadline_ns = deadline * 1e6
        self.restarts = 0
        self.missed = 0
        self._pending: deque[_Pending] = deque()
        self._in: ShmRing | None = None
        self._out: ShmRing | None = None
        self._in_info: StreamInfo | None = None
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready = False
        self._started_ns = 0

    # -- life cycle ------------------------------------------------------------------------------

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Start the worker, let it prepare the module, return its output info.

        Raises
        ------
        ConfigError
            If the module refuses its input, or the worker does not start.
        """
        self._in_info = info
        self._in = ShmRing.create(_capacity(info.sfreq, info), info.n_channels, info.np_dtype)
        self._start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready:
            if time.monotonic() > deadline:
                raise ConfigError(f"the worker did not start within {START_TIMEOUT_S:g} s")
            self._receive(0.1)
            if self._proc is None or (not self._proc.is_alive() and not self._ready):
                if self.first_error is not None:
                    raise ConfigError(str(self.first_error.__cause__))
                raise ConfigError("the worker process ended before its module was prepared")
        assert self.info is not None
        return self.info

    def _start(self) -> None:
        assert self._in is not None
        assert self._in_info is not None
        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe(duplex=True)
        spec = WorkerSpec(
            node=self.name,
            module=self.config.module,
            config=self.config.config,
            info_json=self._in_info.to_json(),
            in_ring=self._in.spec,
        )
        proc = ctx.Process(target=serve, args=(spec, child), name=f"bci-bridge {self.name}")
        proc.daemon = True
        proc.start()
        child.close()
        self._proc, self._conn, self._ready = proc, parent, False
        self._started_ns = self._perf()

    def close(self) -> None:
        """Stop the worker (killed if it does not stop within 0.5 s) and free the rings.

        Steps still queued are counted in ``missed``.
        """
        self.missed += len(self._pending)
        self._pending.clear()
        self._stop_worker(graceful=True)
        for ring in (self._in, self._out):
            if ring is not None:
                ring.close()
        self._in = self._out = None

    def kill_worker(self) -> None:
        """Kill the worker at once (for an emergency exit: no messages, no waiting)."""
        if self._proc is not None and self._proc.is_alive():
            self._proc.kill()

    def request_stop(self) -> None:
        """Ask the worker to stop after its current step (see :func:`close_all`)."""
        if self._conn is not None and self._proc is not None and self._proc.is_alive():
            with contextlib.suppress(OSError):  # already gone; close() joins it
                self._conn.send_bytes(STOP)

    def _stop_worker(self, *, graceful: bool) -> None:
        if graceful:
            self.request_stop()
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        self._ready = False
        if conn is not None:
            conn.close()
        if proc is not None:
            proc.join(0.5 if graceful else 0.0)
            if proc.is_alive():
                proc.kill()
                proc.join(5.0)
            proc.close()

    # -- hot path --------------------------------------------------------------------------------

    def run(self, chunks: list[Chunk]) -> None:
        """Queue the chunks for the worker (oldest first) and return at once.

        The overrun policy's ``disable`` applies as inline (a disabled node's input is counted
        as not run); ``skip`` and ``fallback`` need no coalescing here: the worker's queue is
        bounded (``MAX_PENDING``) and the runtime never waits for it.
        """
        if self.policy.disabled and not self.policy.active(chunks):
            return
        for chunk in chunks:
            self.push(chunk)

    def push(self, chunk: Chunk) -> None:
        """Queue ``chunk`` for the worker and return at once (its output comes by :meth:`poll`)."""
        if self.disabled:
            return
        self.samples_processed += chunk.n_samples
        ring = self._in
        assert ring is not None, f"{self.name}: push() before prepare()"
        n = chunk.n_samples
        try:
            start = ring.write(chunk.data, chunk.timestamps) if self.pending < MAX_PENDING else None
        except ValueError as exc:  # a chunk larger than the ring, or of another shape
            self._failed(ModuleStepError(self.name, exc), exc)
            start = None
        if start is None:
            self.missed += 1
            return
        item = _Pending(chunk.seq, start, n)
        if not self._pending:
            self._started_ns = self._perf()
        self._pending.append(item)
        if self._ready:
            self._send(item)

    def _send(self, item: _Pending) -> None:
        assert self._conn is not None
        # If the worker died, the next poll notices, restarts it and re-sends the queue.
        with contextlib.suppress(OSError):
            self._conn.send_bytes(STEP + STEP_FMT.pack(*item))

    def poll(self) -> None:
        """Pass on the outputs that are ready; enforce the deadline; restart a dead worker."""
        if self._proc is None:
            return
        self._receive(0.0)
        proc = self._proc
        if proc is None:
            return
        waited = self._perf() - self._started_ns
        if not proc.is_alive():
            self._receive(0.0)  # what it said before it died
            if not self._ready:
                self._give_up(f"its worker died while preparing (exit code {proc.exitcode})")
                return
            self._restart(f"its worker died (exit code {proc.exitcode})")
        elif not self._ready and waited > START_TIMEOUT_S * 1e9:
            self._give_up(f"its worker did not prepare within {START_TIMEOUT_S:g} s")
        elif self._ready and self._pending and waited > self._deadline_ns:
            self.stuck += 1
            self._restart(
                f"a step passed its {self._deadline_ns / 1e6:g} ms deadline; worker killed"
            )

    def _receive(self, timeout: float) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll(timeout):
                timeout = 0.0
                self._handle(conn.recv_bytes())
        except (EOFError, OSError):
            return  # the worker is gone; poll() restarts it

    def _handle(self, msg: bytes) -> None:
        kind = msg[:1]
        if kind == OUT:
            _seq, step_ns, start, n, out_seq = OUT_FMT.unpack_from(msg, 1)
            # Cold or warm as seen from here: idle from the previous reply to this step's
            # dispatch, or back to back (dispatched before that reply: it started on it).
            gap = self._started_ns - self.step_ended_ns
            self._done()
            self.count_step(step_ns, gap)
            if n >= 0:
                assert self._out is not None
                data, stamps = self._out.read(start, n)
                out = Chunk(data.copy(), stamps.copy(), out_seq)
                self._out.release(start + n)
                if self._accept(out):
                    self._pass_on(out)
        elif kind == ERROR:
            self._done()  # a step that raised is an error, not a call (as inline)
            err = WorkerError(msg[1 + ERROR_FMT.size :].decode(errors="replace"))
            self._failed(ModuleStepError(self.name, err), None)
        elif kind == READY:
            self._on_ready(StreamInfo.from_json(msg[1:]))
        elif kind == FAILED:
            err = WorkerError(msg[1:].decode(errors="replace"))
            self._failed(ModuleStepError(self.name, err), None)
            if self.info is not None:  # a restart could not re-prepare: take the node out
                self._give_up("its restarted worker failed to prepare its module")
            else:
                self._stop_worker(graceful=False)

    def _give_up(self, why: str) -> None:
        log.error("node %r: %s; disabled", self.name, why)
        self.policy.disabled = True  # for good: reenable_s does not bring back a dead worker
        self.policy.disabled_at = math.inf
        self.missed += len(self._pending)
        self._pending.clear()
        self._stop_worker(graceful=False)

    def _done(self) -> None:
        item = self._pending.popleft()
        assert self._in is not None
        self._in.release(item.start + item.n)
        self._started_ns = self.step_ended_ns = self._perf()

    def _on_ready(self, info: StreamInfo) -> None:
        assert self._conn is not None
        if self._out is None:
            self.info = info
            self._check = OutputCheck(info)
            sfreq = self._in_info.sfreq if self._in_info else info.sfreq
            self._out = ShmRing.create(_capacity(sfreq, info), info.n_channels, info.np_dtype)
        self._out.reset()
        spec = self._out.spec
        self._conn.send_bytes(ATTACH + struct.pack("<q", spec.capacity) + spec.name.encode())
        self._ready = True
        self._started_ns = self._perf()
        for item in self._pending:
            self._send(item)

    def _restart(self, why: str) -> None:
        if self._pending:
            item = self._pending.popleft()
            assert self._in is not None
            self._in.release(item.start + item.n)
            self.missed += 1
        self._stop_worker(graceful=False)
        self.restarts += 1
        log.warning(
            "node %r: %s; restarting it (restart %d, %d missed calls so far)",
            self.name,
            why,
            self.restarts,
            self.missed,
        )
        self._start()

    @property
    def fileno(self) -> int:
        """The control pipe's file descriptor (-1 while there is no worker), to wait on."""
        return self._conn.fileno() if self._conn is not None else -1

    @property
    def pending(self) -> int:
        """Steps handed to the worker and not yet answered."""
        return len(self._pending)

    def summary(self) -> dict[str, object]:
        """Return an inline node's summary plus ``restarts`` and ``missed``."""
        out = super().summary()
        out["restarts"] = self.restarts
        out["missed"] = self.missed
        return out


class WorkerError(RuntimeError):
    """An exception raised in a worker process, carried back as its text."""


def _capacity(sfreq: float, info: StreamInfo) -> int:
    """Rows of a ring of ``info``'s samples: 4 s at ``sfreq``, >= 4096 rows, <= 32 MiB."""
    row_bytes = info.n_channels * info.np_dtype.itemsize
    return max(16, min(max(4096, math.ceil(4.0 * sfreq)), (32 << 20) // row_bytes))


def wait(sub: zmq.Socket[Any], nodes: list[IsolatedNode], timeout_ms: int) -> None:
    """Block until ``sub`` has a frame or an isolated node's worker answered, or a timeout."""
    items: list[Any] = [(sub, zmq.POLLIN)]
    items += [(n.fileno, zmq.POLLIN) for n in nodes if n.fileno >= 0]
    zmq.zmq_poll(items, timeout_ms)


def close_all(nodes: list[IsolatedNode]) -> None:
    """Close isolated nodes together: every worker gets the same 0.5 s to stop, not 0.5 s each."""
    for node in nodes:
        node.request_stop()
    end = time.monotonic() + 0.5
    for node in nodes:
        proc = node._proc
        if proc is not None:
            proc.join(max(0.0, end - time.monotonic()))
            if proc.is_alive():
                proc.kill()
        node.close()


def drain(nodes: list[IsolatedNode], timeout_s: float) -> None:
    """Poll isolated nodes until none has a step pending, or ``timeout_s`` passes.

    Outputs of one isolated node may feed another, so every node is polled on each turn.
    """
    end = time.monotonic() + timeout_s
    while any(n.pending for n in nodes) and time.monotonic() < end:
        for node in nodes:
            node.poll()
        time.sleep(0.001)
