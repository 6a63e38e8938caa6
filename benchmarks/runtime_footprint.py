"""Start-up and memory of `bci-bridge run` on the wearable scenario's pipeline.

Plays the ``wearable-8x250`` stream (8 channels at 250 Hz, one sample a push) from an LSL
outlet in this process, starts ``python -X importtime -m bci_bridge run`` on the scenario's own
pipeline (band-pass, then band power; the runtime reads LSL itself, ZeroMQ out), and reports
for the runtime process:

- ``import_ms``: the time its imports took (sum of the top-level ``-X importtime``
  cumulative times: every import the run made, wherever it happened), and the largest ones;
- ``first_output_s``: from the process's spawn to the first output frame at a subscriber
  (wall time: on a loaded machine it varies with the load), and ``startup_cpu_s``: the CPU
  time (user + system) the process had used by then, which varies much less;
- ``peak_rss_mib``: its peak resident memory (``ru_maxrss`` from ``wait4``), and
  ``rss_mib``: its resident memory while streaming (``VmRSS``, the last reading before stop);
- which heavy packages it imported (never mne, scikit-learn, matplotlib, psutil; onnxruntime
  only for a pipeline with an ``onnx`` node).

Medians over ``--runs`` runs::

    LSLAPICFG=bci_bridge/lsl_api.cfg .venv/bin/python benchmarks/runtime_footprint.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pylsl
import zmq

from bci_bridge.bench.pipelines import pipeline_toml
from bci_bridge.bench.scenarios import SCENARIOS
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, decode

#: Packages whose presence in the runtime's imports is reported.
WATCHED = ("scipy", "onnxruntime", "onnx", "mne", "sklearn", "matplotlib", "psutil", "pylsl")


def _play(outlet: pylsl.StreamOutlet, rate: float, n_channels: int, stop: threading.Event) -> None:
    """Push one sample every 1/rate s (catching up after a late wake-up) until ``stop``."""
    rng = np.random.default_rng(0)
    period = 1.0 / rate
    start = time.monotonic()
    sent = 0
    while not stop.is_set():
        due = int((time.monotonic() - start) / period) + 1
        for _ in range(due - sent):
            outlet.push_sample(rng.standard_normal(n_channels).astype(np.float32).tolist())
        sent = due
        time.sleep(period / 2)


def _imports(stderr: str) -> tuple[float, list[tuple[str, float]], set[str]]:
    """Parse ``-X importtime`` output: total ms, top-level imports by ms, packages seen."""
    top: list[tuple[str, float]] = []
    seen: set[str] = set()
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, name = line[len("import time:") :].split("|")
        if not cumulative.strip().isdigit():
            continue  # the header line
        seen.add(name.strip().split(".")[0])
        if not name.startswith("  "):  # a top-level import (nested ones are indented)
            top.append((name.strip(), int(cumulative) / 1000.0))
    return sum(ms for _, ms in top), sorted(top, key=lambda t: -t[1]), seen


def _rss_mib(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return None


def _cpu_s(pid: int) -> float | None:
    """CPU time (user + system) a process used so far, seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(seconds: float, folder: Path) -> dict[str, Any]:
    """Start the runtime on the wearable pipeline once; return what it cost."""
    scenario = SCENARIOS["wearable-8x250"]
    stream = f"footprint-{uuid.uuid4().hex[:8]}"
    out = f"ipc://{folder}/out"
    toml = folder / "wearable.toml"
    toml.write_text(pipeline_toml(scenario, stream=stream, in_endpoint=None, out=out))
    toml.write_text(
        toml.read_text().replace(
            '[pipeline]\nname = "bench"', f'[pipeline]\nname = "bench"\nmetrics = "{out}-m"'
        )
    )
    info = StreamInfo(
        name=stream,
        channel_names=tuple(f"ch{i}" for i in range(scenario.channels)),
        sfreq=scenario.rate,
    )
    outlet = pylsl.StreamOutlet(to_lsl(info))
    stop = threading.Event()
    player = threading.Thread(
        target=_play, args=(outlet, scenario.rate, scenario.channels, stop), daemon=True
    )
    player.start()
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"out.")
    sub.connect(out)
    err_path = folder / "stderr.txt"
    cmd = [sys.executable, "-X", "importtime", "-m", "bci_bridge", "run", str(toml)]
    cmd += ["--duration", str(seconds)]
    with err_path.open("w") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    first_output = None
    startup_cpu = None
    rss = None
    usage = None
    try:
        while usage is None:  # os.wait4, not Popen.poll: its rusage has the peak RSS
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                usage, proc.returncode = rusage, os.waitstatus_to_exitcode(status)
                break
            rss = _rss_mib(proc.pid) or rss
            if first_output is None and sub.poll(100):
                frame = decode(sub.recv_multipart())
                if frame.kind is Kind.DATA:
                    first_output = time.monotonic() - t0
                    startup_cpu = _cpu_s(proc.pid)
            elif first_output is not None:
                time.sleep(0.2)
            if time.monotonic() - t0 > seconds + 120:
                raise RuntimeError("the runtime did not stop")
    finally:
        if usage is None:
            proc.kill()
            proc.wait()
        stop.set()
        player.join(5)
        sub.close()
        del outlet
    stderr = err_path.read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"bci-bridge run exited {proc.returncode}:\n{stderr[-3000:]}")
    import_ms, top, seen = _imports(stderr)
    return {
        "import_ms": round(import_ms, 1),
        "largest_imports_ms": {name: round(ms, 1) for name, ms in top[:8]},
        "first_output_s": round(first_output, 3) if first_output is not None else None,
        "startup_cpu_s": round(startup_cpu, 2) if startup_cpu is not None else None,
        "peak_rss_mib": round(usage.ru_maxrss / 1024.0, 1),
        "rss_mib": round(rss, 1) if rss is not None else None,
        "imported": sorted(p for p in WATCHED if p in seen),
    }


def main() -> None:
    """Run the measurement ``--runs`` times and print each run and the medians as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--seconds", type=float, default=3.0, help="streaming per run, s")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="bb-fp-", dir="/tmp") as folder:
            runs.append(run_once(args.seconds, Path(folder)))
        print(json.dumps(runs[-1]), file=sys.stderr)
    keys = ("import_ms", "first_output_s", "startup_cpu_s", "peak_rss_mib", "rss_mib")
    medians = {
        k: statistics.median(r[k] for r in runs if r[k] is not None)
        for k in keys
        if any(r[k] is not None for r in runs)
    }
    print(json.dumps({"scenario": "wearable-8x250", "runs": runs, "median": medians}, indent=2))


if __name__ == "__main__":
    main()
