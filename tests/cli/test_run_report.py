"""``bci-bridge run --duration S --report PATH`` and ``bci-bridge top --once`` as users run them.

A runtime process runs a slow module (``skip``) beside a built-in filter; this test plays the
bridge, watches the runtime with ``top --once`` while it runs, and checks the report's counts
against what it sent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import zmq

from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import encode_data, encode_info

CLI = [sys.executable, "-m", "bci_bridge"]
INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=250.0)
N = 300

SLOW = """
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0


class Slow:
    Config = Config

    def __init__(self, config):
        pass

    def prepare(self, info):
        return info

    def step(self, chunk):
        time.sleep(0.002)
        return chunk
"""


def test_run_report_counts_what_was_sent_and_top_renders_it_live(
    tmp_path: Path, ipc_dir: Path
) -> None:
    (tmp_path / "slow_mod.py").write_text(SLOW)
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "rep"
            metrics = "ipc://{ipc_dir}/metrics"
            [[inputs]]
            stream = "eeg"
            endpoint = "ipc://{ipc_dir}/in"
            [[nodes]]
            name = "slow"
            module = "slow_mod:Slow"
            input = "eeg"
            on_overrun = "skip"
            [[nodes]]
            name = "bandpass"
            module = "bandpass"
            input = "eeg"
            params = {{ low = 8.0, high = 30.0 }}
            [[outputs]]
            node = "slow"
            zmq = "ipc://{ipc_dir}/out"
            """
        )
    )
    report = tmp_path / "report.json"
    pub = zmq.Context.instance().socket(zmq.XPUB)
    pub.setsockopt(zmq.LINGER, 2000)
    pub.setsockopt(zmq.SNDHWM, 0)
    pub.setsockopt(zmq.RCVTIMEO, 30_000)
    pub.bind(f"ipc://{ipc_dir}/in")
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    runtime = subprocess.Popen(
        [*CLI, "run", str(pipeline), "--duration", "4", "--report", str(report)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while True:  # the runtime subscribed: greet it with the info, then send the samples
            msg = pub.recv()
            if msg[0] == 1 and msg[1:] == b"data.eeg":
                break
        pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))
        data = np.random.default_rng(0).standard_normal((N, 3)).astype(np.float32)
        stamps = 1000.0 + np.arange(N) / 250.0
        for i in range(N):
            sl = slice(i, i + 1)
            pub.send_multipart(encode_data(b"data.eeg", data[sl], stamps[sl], i, i, 0.0))
        top = subprocess.run(
            [*CLI, "top", f"ipc://{ipc_dir}/metrics", "--once"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        _, err = runtime.communicate(timeout=60)
    finally:
        if runtime.poll() is None:
            runtime.kill()
            runtime.wait()
        pub.close()

    assert top.returncode == 0, top.stderr
    screen = top.stdout
    assert "pipeline rep" in screen
    for line_start in ("slow", "bandpass", "eeg", "out.rep.slow"):
        assert any(line.startswith(line_start) for line in screen.splitlines()), screen
    assert runtime.returncode == 0, err
    assert f"metrics.rep on ipc://{ipc_dir}/metrics" in err

    rep = json.loads(report.read_text())
    assert rep["samples_received"] == N
    assert rep["samples_lost"] == 0
    for key in ("p50", "p99", "max"):
        assert rep["e2e_ms"][key] >= 0
    for name in ("slow", "bandpass"):
        node = rep["nodes"][name]
        for key in ("calls", "budget_ms", "overruns", "policy_actions", "errors", "restarts"):
            assert key in node
        assert node["step_us"]["p50"] <= node["step_us"]["p99"] <= node["step_us"]["max"]
        # Each step is cold (after an idle gap; the first is) or warm (back to back).
        cold, warm = node["step_us_cold"], node["step_us_warm"]
        assert cold["count"] + warm["count"] == node["calls"] == node["step_us"]["count"]
        assert cold["count"] >= 1
        assert max(cold["max"], warm.get("max", 0.0)) == node["step_us"]["max"]
        assert node["errors"] == node["restarts"] == 0
    slow, bandpass = rep["nodes"]["slow"], rep["nodes"]["bandpass"]
    # calls + skipped samples account for every input sample (one sample a frame).
    assert slow["calls"] + slow["policy_actions"]["skipped_samples"] == N
    assert slow["overruns"] == slow["calls"]
    assert bandpass["calls"] == N
    (out,) = rep["outputs"]
    assert out["sent"] == slow["calls"]
    assert list(out["stages"]) == ["arrival.eeg", "queue.eeg", "step.slow", "send"]
    assert out["stages"]["step.slow"]["count"] == slow["calls"]


def test_the_cli_loads_top_only_when_top_runs() -> None:
    probe = (
        "import sys; from bci_bridge.cli.main import build_parser; "
        "build_parser().parse_args(['run', 'p.toml']); "
        "print(sorted(m for m in ('curses', 'bci_bridge.cli.top_view') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_top_once_without_a_runtime_says_so_and_fails(ipc_dir: Path) -> None:
    result = subprocess.run(
        [*CLI, "top", f"ipc://{ipc_dir}/nothing", "--once", "--timeout", "0.5"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no metrics from" in result.stderr
