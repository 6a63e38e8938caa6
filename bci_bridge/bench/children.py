"""The benchmark's child processes: started, talked to by lines, measured, always stopped."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bci_bridge.errors import BciBridgeError

__all__ = ["BenchError", "Child", "CpuMeter"]


class BenchError(BciBridgeError):
    """A benchmark block could not run to the end (a process failed, stalled or lied)."""


class Child:
    """A process whose stdout is read line by line (in a thread) and whose stderr goes to a log.

    Parameters
    ----------
    name : str
        Short name, for messages.
    argv : list of str
        The command.
    log : Path
        File receiving its stderr.
    env : dict, optional
        Environment (default: this process's).
    """

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str] | None = None):
        self.name = name
        self.argv = argv
        self.log = log
        self.lines: queue.Queue[str] = queue.Queue()
        self.interrupted = False  # stopped by us with SIGINT: exit status 130 is its clean end
        with log.open("wb") as err:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                bufsize=1,
                env=env if env is not None else dict(os.environ),
            )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    @property
    def pid(self) -> int:
        """Process id."""
        return self.proc.pid

    def alive(self) -> bool:
        """Whether it is still running."""
        return self.proc.poll() is None

    def tail(self, n: int = 12) -> str:
        """Return the last lines of its stderr, indented, for error messages."""
        text = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(f"    {line}" for line in text[-n:]) or "    (no output)"

    def send(self, line: str) -> None:
        """Write one line to its stdin (ignored if it already exited)."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def failed(self) -> str | None:
        """Return a message if it exited with an error, else None."""
        code = self.proc.poll()
        if code not in (None, 0) and not (self.interrupted and code == 130):
            return f"{self.name} exited with code {code}:\n{self.tail()}"
        return None

    def expect(self, want: str, timeout: float, watch: tuple[Child, ...] = ()) -> str:
        """Wait for a stdout line starting with ``want``; return it.

        Raises
        ------
        BenchError
            If it (or a process in ``watch``) exits first, or ``timeout`` seconds pass.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                for c in (self, *watch):
                    msg = c.failed() or (None if c.alive() else f"{c.name} exited early")
                    if msg and (c is not self or self.lines.empty()):
                        raise BenchError(msg + ("" if c.failed() else f"\n{c.tail()}")) from None
                continue
            if line.startswith(want):
                return line
        raise BenchError(f"{self.name}: no {want!r} within {timeout:g} s:\n{self.tail()}")

    def expect_json(
        self, key: str, timeout: float, watch: tuple[Child, ...] = ()
    ) -> dict[str, Any]:
        """Wait for a JSON line holding ``key`` (or ``error``); return it parsed."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.expect("{", max(0.0, deadline - time.monotonic()), watch)
            obj: dict[str, Any] = json.loads(line)
            if "error" in obj:
                raise BenchError(f"{self.name}: {obj['error']}")
            if key in obj:
                return obj

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Signal it, wait; escalate to SIGTERM then SIGKILL. Return its exit code."""
        if self.alive():
            self.interrupted = sig == signal.SIGINT
            self.proc.send_signal(sig)
        for nxt, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 3.0)):
            try:
                return self.proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(nxt)
        return self.proc.wait()

    def close(self) -> None:
        """Stop it if needed and close its pipes."""
        if self.alive():
            self.stop(signal.SIGTERM, 3.0)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()


class CpuMeter:
    """CPU time (user + system) and resident memory of a set of processes and their children.

    Children are found again at each reading (``children(recursive=True)``: Timeflux runs a
    worker process, ezmsg a GraphServer). A process that vanished between two readings keeps
    the CPU time last read from it; one that appears counts from zero, or from its first
    reading if it already ran at :meth:`start`.
    """

    def __init__(self, children: list[Child], main: Child | None = None) -> None:
        self._roots = [psutil.Process(c.pid) for c in children]
        self._main = psutil.Process(main.pid) if main is not None else None
        self._cpu_by: dict[tuple[int, float], float] = {}
        self._t0 = 0.0
        self._cpu0 = 0.0
        self.rss_peak_mb = 0.0
        self.main_rss_peak_mb = 0.0

    def _tree(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        for root in self._roots:
            procs.append(root)
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                procs += root.children(recursive=True)
        return procs

    def _cpu(self) -> float:
        """Read every live process's CPU time; return the total over all ever seen (s)."""
        for p in self._tree():
            try:
                with p.oneshot():
                    key = (p.pid, p.create_time())
                    t = p.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
            self._cpu_by[key] = t.user + t.system
        return sum(self._cpu_by.values())

    def start(self) -> None:
        """Mark the start of the measured interval."""
        self._t0 = time.monotonic()
        self._cpu0 = self._cpu()

    def sample_rss(self) -> None:
        """Record the peaks of resident memory (MB): all processes summed, the main one alone.

        Reads CPU too.
        """
        main = self._main.pid if self._main is not None else -1
        total = 0
        for p in self._tree():
            with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                rss = p.memory_info().rss
                total += rss
                if p.pid == main:
                    self.main_rss_peak_mb = max(self.main_rss_peak_mb, rss / 2**20)
        self.rss_peak_mb = max(self.rss_peak_mb, total / 2**20)
        self._cpu()  # so that a child ending before :meth:`cores` keeps most of its time

    def cores(self) -> tuple[float, float]:
        """Return (CPU cores used on average since ``start``, wall seconds)."""
        wall = time.monotonic() - self._t0
        return (self._cpu() - self._cpu0) / wall if wall > 0 else 0.0, wall
