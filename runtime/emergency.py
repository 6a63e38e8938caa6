"""Finalise a runtime from the watchdog's thread, when its own thread is stuck in a module.

Called by :class:`runtime.watchdog.Watchdog` (see its docstring for when and why this is safe)
just before the process exits: hand the summary to the runtime's ``abort_hook`` (the CLI
writes it), kill the isolated workers, send ``EOS`` on every ZeroMQ output, then close every
socket of the runtime's ZeroMQ context and terminate it, which returns once what is queued has
been delivered (or after ``FLUSH_S``).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from runtime.isolated import IsolatedNode

if TYPE_CHECKING:
    from runtime.runner import Runtime

__all__ = ["finalise"]

log = logging.getLogger(__name__)

#: Seconds left to ZeroMQ to deliver the EOS frames before the process exits, at most.
FLUSH_S = 0.6


def finalise(runtime: Runtime, eos: bool) -> None:
    """Hand out the summary, stop the workers and, if ``eos``, end the ZeroMQ outputs.

    Parameters
    ----------
    runtime : Runtime
        The stuck runtime (its thread is inside a module step when ``eos`` is true).
    eos : bool
        Whether the outputs may be used from this thread (see :mod:`runtime.watchdog`).
    """
    for node in runtime.nodes.values():
        if isinstance(node, IsolatedNode):
            node.kill_worker()
    summary = runtime.summary()
    summary["aborted"] = True
    if runtime.abort_hook is not None:
        try:
            runtime.abort_hook(summary)
        except Exception:  # the EOS still goes out; the failure is logged with its traceback
            log.exception("the runtime's abort hook failed")
    if not eos:
        return
    for outs in runtime.zmq_outputs.values():
        for zout in outs:
            zout.send_eos()
    # Context.destroy closes every socket (the runtime's thread is stuck in a module and uses
    # none) and terminates the context, which waits for queued frames up to the linger time.
    ctx = runtime.context
    flusher = threading.Thread(
        target=ctx.destroy, kwargs={"linger": int(FLUSH_S * 1000)}, daemon=True
    )
    flusher.start()
    flusher.join(FLUSH_S + 0.1)
