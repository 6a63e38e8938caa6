"""Shared helpers of the tests that run real LSL, ZeroMQ and threads."""

from __future__ import annotations

import importlib.util
import sys
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import zmq

from bci_bridge.wire import Frame, Kind, decode


class Worker(threading.Thread):
    """Run ``target(stop)`` in a thread; keep its return value or exception."""

    def __init__(self, target: Callable[[threading.Event], Any]) -> None:
        super().__init__(daemon=True)
        self._target_fn = target
        self.stop = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._target_fn(self.stop)
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = 20.0) -> Any:
        """Ask the worker to stop, wait for it, re-raise its error, return its result."""
        self.stop.set()
        self.join(timeout)
        assert not self.is_alive(), "worker did not stop"
        if self.error is not None:
            raise self.error
        return self.result


def collect(sub: zmq.Socket[Any], until_eos: bytes, timeout_s: float = 30.0) -> list[Frame]:
    """Receive and decode frames until an EOS on topic ``until_eos`` (or fail after timeout)."""
    frames: list[Frame] = []
    sub.setsockopt(zmq.RCVTIMEO, int(timeout_s * 1000))
    while True:
        try:
            frame = decode(sub.recv_multipart(copy=False))
        except zmq.Again:
            raise AssertionError(
                f"no EOS on {until_eos!r} within {timeout_s} s; got {len(frames)} frames"
            ) from None
        frames.append(frame)
        if frame.kind is Kind.EOS and frame.topic == until_eos:
            return frames


def fresh_module(
    source: str, prefix: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    """Write ``source`` as a new module ``PREFIX_<random hex>`` in ``folder`` and import it.

    Each call gives a module of its own (its own globals: instance lists, events), importable
    by name (``folder`` joins ``sys.path``) until the test ends, when ``monkeypatch`` takes it
    out of ``sys.modules`` and ``folder`` out of ``sys.path`` again.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    path = folder / f"{name}.py"
    path.write_text(source)
    monkeypatch.syspath_prepend(str(folder))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load a module from {path}")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
