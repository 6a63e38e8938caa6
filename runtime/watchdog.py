"""The runtime's watchdog: report steps stuck in a module, and end a run that cannot end itself.

One daemon thread, waking every 0.1 s, does two things.

**Stuck steps.** An inline node records when its running step began (``Node.stepping_since``,
perf-counter ns, 0 between steps). A step running for more than :func:`stuck_after_ms` (50
times the node's budget, at least 1 s) is counted once in the node's ``stuck`` and reported in
one log line; the step itself is left alone (an inline module cannot be interrupted safely; use
``isolation = "process"`` for a hard deadline).

**Stops that cannot happen.** Ctrl-C sets the runtime's stop event through a Python signal
handler, and the runtime's thread finishes cleanly: it drains, sends ``EOS``, returns the
summary. That thread can be stuck in a module's step, though, and if the step is in C code the
Python handler never even runs. So, when the thread that runs the runtime is the main thread,
the watchdog also registers a socket with :func:`signal.set_wakeup_fd`: the C-level handler
writes the signal's number there whatever the main thread is doing, and the watchdog takes it
as a stop request. (It leaves the stop event to the Python handler, which takes a stop event
already set as a second Ctrl-C.) If the runtime has not reached its final stage ``grace_s``
(1 s) after the request, and an ``abort`` callback was given (``bci-bridge run`` gives one),
the watchdog finalises from its own thread and ends the process with ``os._exit(130)``.

ZeroMQ sockets must not be used by two threads at once. The watchdog sends ``EOS`` on them only
when it knows the runtime's thread is inside a module step and will not touch them again: it
first detaches every node's sinks (so a step that returns late sends nothing), then checks that
some node is still in its step; the GIL hand-over between the threads is the full memory
barrier ZeroMQ asks for when a socket changes threads. A runtime that reached its final stage
(:meth:`Watchdog.claim`) is never aborted; a runtime stuck anywhere else is aborted without
``EOS`` after ``hard_s`` (1.7 s), with its summary.

One case is out of reach of any Python thread: a module that holds the GIL forever in C (a
native loop that never releases it). The watchdog cannot run then; such a module belongs in
``isolation = "process"``, whose deadline is enforced from another process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence

from runtime.node import Node

__all__ = ["Watchdog", "stuck_after_ms"]

log = logging.getLogger(__name__)

#: Exit status of a run ended by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


def stuck_after_ms(budget_ms: float) -> float:
    """How long an inline step may run before it is reported stuck: 50x its budget, >= 1 s."""
    return max(50.0 * budget_ms, 1000.0)


class Watchdog:
    """Watch a running runtime's nodes and its stop (see the module docstring).

    Parameters
    ----------
    nodes : sequence of Node
        The inline nodes to watch.
    stop : threading.Event
        The runtime's stop event.
    abort : callable, optional
        ``abort(eos)``, called from the watchdog's thread to finalise a run whose thread cannot:
        build and hand out the summary and, when ``eos`` is true, send ``EOS`` on the outputs.
        The process then exits with status 130. Without it, the watchdog only reports.
    grace_s, hard_s : float
        Seconds after the stop before aborting a run stuck in a step, and one stuck elsewhere.
    """

    def __init__(
        self,
        nodes: Sequence[Node],
        stop: threading.Event,
        *,
        abort: Callable[[bool], None] | None = None,
        grace_s: float = 1.0,
        hard_s: float = 1.7,
    ) -> None:
        self._nodes = list(nodes)
        self._stop = stop
        self._abort = abort
        self._grace_s = grace_s
        self._hard_s = hard_s
        self._limits = {n.name: stuck_after_ms(n.config.budget_ms) * 1e6 for n in self._nodes}
        self._reported: dict[str, int] = {}
        self._lock = threading.Lock()
        self._claimed = False
        self._aborting = False
        self._closed = threading.Event()
        self._signalled = False
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._old_wakeup_fd = -1
        self._thread = threading.Thread(target=self._run, name="bci-bridge watchdog", daemon=True)

    def start(self) -> None:
        """Start watching (call from the thread that runs the runtime)."""
        if threading.current_thread() is threading.main_thread():
            r, w = socket.socketpair()
            r.setblocking(False)
            w.setblocking(False)
            self._old_wakeup_fd = signal.set_wakeup_fd(w.fileno(), warn_on_full_buffer=False)
            self._wake = (r, w)
        self._thread.start()

    def claim(self) -> bool:
        """Enter the final stage (drained, about to send ``EOS``): no abort from now on.

        Returns False if the watchdog is already finalising; the caller must then leave the
        outputs alone (the process is about to exit).
        """
        with self._lock:
            if self._aborting:
                return False
            self._claimed = True
            return True

    def close(self) -> None:
        """Stop watching (from the thread that called :meth:`start`)."""
        self._closed.set()
        if self._thread.is_alive():
            self._thread.join(1.0)
        if self._wake is not None:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            for s in self._wake:
                s.close()
            self._wake = None

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        stop_seen: float | None = None
        while not self._closed.is_set():
            self._wait(0.1)
            self._check_stuck()
            if not (self._stop.is_set() or self._signalled) or self._abort is None:
                continue
            now = time.monotonic()
            if stop_seen is None:
                stop_seen = now
            waited = now - stop_seen
            if waited > self._grace_s and (self._in_step() or waited > self._hard_s):
                self._finalise()
                return

    def _wait(self, timeout: float) -> None:
        if self._wake is None:
            self._closed.wait(timeout)
            return
        r = self._wake[0]
        ready, _, _ = select.select([r], [], [], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                got = r.recv(64)
                if signal.SIGINT in got or signal.SIGTERM in got:
                    self._signalled = True

    def _in_step(self) -> bool:
        return any(n.stepping_since for n in self._nodes)

    def _check_stuck(self) -> None:
        now = time.perf_counter_ns()
        for node in self._nodes:
            since = node.stepping_since
            if since and now - since > self._limits[node.name]:
                if self._reported.get(node.name) == since:
                    continue
                self._reported[node.name] = since
                node.stuck += 1
                log.warning(
                    "node %r has been in one step for %.1f s (budget %.3g ms); it is not "
                    "interrupted (isolation = 'process' gives a hard deadline)",
                    node.name,
                    (now - since) / 1e9,
                    node.config.budget_ms,
                )

    def _finalise(self) -> None:
        with self._lock:
            if self._claimed:
                return
            self._aborting = True
        for node in self._nodes:
            node.sinks.clear()  # a step that returns now sends nothing
        eos = self._in_step()
        log.error(
            "the runtime did not stop within %.1f s of the request (%s); finalising from the "
            "watchdog%s",
            self._grace_s,
            "a module is stuck in a step" if eos else "stuck outside a module",
            "" if eos else ", without EOS",
        )
        assert self._abort is not None
        try:
            self._abort(eos)
        except Exception:  # the process still ends; the failure is logged with its traceback
            log.exception("finalising from the watchdog failed")
        finally:
            logging.shutdown()
            os._exit(EXIT_INTERRUPTED)
