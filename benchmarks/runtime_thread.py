"""Run a :class:`runtime.runner.Runtime` in a thread and measure that thread's CPU time.

Used by ``runtime_loop_cost.py``, which imports it as a sibling module (it runs as a script
from this folder).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from runtime.runner import Runtime


def start(runtime: Runtime) -> tuple[threading.Thread, dict[str, Any]]:
    """Start ``runtime.run`` in a thread.

    Returns
    -------
    thread : threading.Thread
        Started; join it to wait for the runtime's end.
    result : dict
        Filled when the run ends: ``summary`` (the runtime's summary) and ``cpu_s`` (CPU seconds
        of the runtime's thread, from :func:`time.thread_time`).
    """
    result: dict[str, Any] = {}

    def target() -> None:
        t0 = time.thread_time()
        result["summary"] = runtime.run(threading.Event())
        result["cpu_s"] = time.thread_time() - t0

    thread = threading.Thread(target=target)
    thread.start()
    return thread, result
