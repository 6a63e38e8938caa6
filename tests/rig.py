"""A running setup of real processes, started from the CLI, for the fault and soak tests.

A device host (``bci-bridge stream synthetic``), a bridge, a runtime (``bci-bridge run``), a
client of the runtime's output (``subscriber_proc.py``) and a recorder (``bci-bridge record``),
each a subprocess on the loopback LSL config, with endpoints under the test's own ``ipc://``
folder, so that any of them can be killed with SIGKILL and started again. The test process
itself reads the runtime's output too (:class:`Collector`, a thread), as the truth of what
the runtime sent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import zmq

from bci_bridge.wire import Frame, Kind, decode

__all__ = ["CLI", "Collector", "Proc", "Rig", "read_json", "rss_mb", "wait_for"]

CLI = (sys.executable, "-m", "bci_bridge")
SUBSCRIBER = Path(__file__).resolve().parent / "subscriber_proc.py"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Return a process's resident memory (``VmRSS``, or ``VmHWM``: its peak), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def wait_for(
    condition: Callable[[], bool], what: str, procs: Sequence[Proc] = (), timeout: float = 60.0
) -> None:
    """Wait until ``condition()``; fail at once if one of ``procs`` exited, else after timeout."""
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            assert proc.alive, f"{proc.name} exited ({proc.returncode}) waiting for {what}:\n" + (
                proc.log()
            )
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


class Proc:
    """One CLI process, its output kept in a log file of its own."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                list(argv), stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()
            )
        self.pid = self.popen.pid

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill9(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or closed."""
        self.popen.send_signal(signal.SIGKILL)
        assert self.popen.wait(20) == -signal.SIGKILL

    def interrupt(self, timeout: float = 40.0) -> int:
        """Ctrl-C; return the exit code."""
        self.popen.send_signal(signal.SIGINT)
        return self.popen.wait(timeout)

    def wait(self, timeout: float = 40.0) -> int:
        return self.popen.wait(timeout)

    def close(self) -> None:
        if self.alive:
            self.popen.kill()
            self.popen.wait(10)


class Collector(threading.Thread):
    """Read a runtime's output in the test process, all along, until its EOS."""

    def __init__(self, endpoint: str, topic: bytes) -> None:
        super().__init__(daemon=True)
        self.topic = topic
        self.frames: list[Frame] = []
        self.samples = 0
        self.eos = threading.Event()
        self._halt = threading.Event()
        self.sub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.RCVHWM, 0)
        self.sub.setsockopt(zmq.RCVTIMEO, 100)
        self.sub.setsockopt(zmq.SUBSCRIBE, topic)
        self.sub.connect(endpoint)
        self.start()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                frame = decode(self.sub.recv_multipart(copy=False))
            except zmq.Again:
                continue
            if frame.topic != self.topic:
                continue
            if frame.kind is Kind.DATA:
                self.frames.append(frame)
                self.samples += frame.data.shape[0]
            elif frame.kind is Kind.EOS:
                self.frames.append(frame)
                self.eos.set()
                return

    def close(self) -> None:
        self._halt.set()
        self.join(5)
        self.sub.close()


class Rig:
    """Start the processes of one setup; each start gets its own log and summary file.

    Parameters
    ----------
    folder : Path
        Logs, summaries, the pipeline file and recordings go here.
    ipc_dir : Path
        A short folder for the ``ipc://`` endpoints.
    stream : str
        The device's LSL stream name (unique per test).
    """

    def __init__(self, folder: Path, ipc_dir: Path, stream: str) -> None:
        self.folder = folder
        self.stream = stream
        self.bridge_endpoint = f"ipc://{ipc_dir}/bridge"
        self.out_endpoint = f"ipc://{ipc_dir}/out"
        self.metrics_endpoint = f"ipc://{ipc_dir}/metrics"
        self.procs: list[Proc] = []
        self._starts: dict[str, int] = {}

    def _next(self, kind: str, suffix: str = ".json") -> tuple[str, Path]:
        """The name of the next start of ``kind`` (``bridge2``) and its result file."""
        n = self._starts[kind] = self._starts.get(kind, 0) + 1
        return f"{kind}{n}", self.folder / f"{kind}{n}{suffix}"

    def _start(self, name: str, argv: Sequence[str], result: Path) -> tuple[Proc, Path]:
        proc = Proc(name, argv, self.folder / f"{name}.log")
        self.procs.append(proc)
        return proc, result

    def device(self, *, channels: int, rate: float, chunk: int, seed: int) -> tuple[Proc, Path]:
        """``bci-bridge stream synthetic``: the device host."""
        name, summary = self._next("device")
        return self._start(
            name,
            [
                *CLI,
                *("stream", "synthetic", "--name", self.stream),
                *("--channels", str(channels), "--rate", f"{rate:g}", "--chunk", str(chunk)),
                *("-p", f"seed={seed}", "--summary", str(summary)),
            ],
            summary,
        )

    def bridge(self) -> tuple[Proc, Path]:
        """``bci-bridge bridge``: waits for one subscriber, then bridges."""
        name, summary = self._next("bridge")
        return self._start(
            name,
            [
                *CLI,
                *("bridge", "--name", self.stream, "--endpoint", self.bridge_endpoint),
                *("--timeout", "30", "--wait-subscribers", "1", "--summary", str(summary)),
            ],
            summary,
        )

    def pipeline(self, nodes: str, output: str, *, max_queue_mb: float = 64.0) -> Path:
        """Write the pipeline file: input ``eeg`` from the bridge, ``nodes``, one output."""
        path = self.folder / "pipeline.toml"
        path.write_text(
            f'[pipeline]\nname = "rig"\nmetrics = "{self.metrics_endpoint}"\n'
            f"max_queue_mb = {max_queue_mb}\n"
            f'[[inputs]]\nname = "eeg"\nstream = "{self.stream}"\n'
            f'endpoint = "{self.bridge_endpoint}"\n'
            f"{nodes}\n"
            f'[[outputs]]\nnode = "{output}"\nzmq = "{self.out_endpoint}"\n'
        )
        return path

    def runtime(self, pipeline: Path) -> tuple[Proc, Path]:
        """``bci-bridge run``: waits for one client of its output, ends at the inputs' EOS."""
        name, summary = self._next("runtime")
        return self._start(
            name,
            [
                *CLI,
                *("run", str(pipeline), "--exit-on-eos", "--wait-subscribers", "1"),
                *("--info-timeout", "60", "--summary", str(summary)),
            ],
            summary,
        )

    def subscriber(self, topic: str, *, keep: bool = False) -> tuple[Proc, Path]:
        """``subscriber_proc.py``: a client of the runtime's output; its result is an npz."""
        name, out = self._next("subscriber", ".npz")
        argv = [sys.executable, str(SUBSCRIBER), self.out_endpoint, topic, str(out)]
        return self._start(name, [*argv, *(["--keep"] if keep else [])], out)

    def recorder(self) -> tuple[Proc, Path]:
        """``bci-bridge record``: the device's stream to XDF, flushed every 0.2 s."""
        name, out = self._next("recorder", ".xdf")
        argv = [*CLI, "record", self.stream, "--out", str(out), "--flush-interval", "0.2"]
        return self._start(name, argv, out)

    def close(self) -> None:
        """Kill whatever is still running (a failed test)."""
        for proc in self.procs:
            proc.close()


def read_json(path: Path) -> dict[str, Any]:
    """Read a summary a process wrote at exit."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data
