"""The ``bci-bridge`` command as users run it: real processes, real LSL, real ZeroMQ."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import zmq
from helpers import collect

from bci_bridge.wire import Kind

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
CLI = [sys.executable, "-m", "bci_bridge"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


@pytest.mark.parametrize("command", ["demo", "stream", "bridge", "run", "list"])
def test_every_command_has_help(command: str) -> None:
    result = _run(command, "--help")
    assert result.returncode == 0
    assert "usage: bci-bridge " + command in result.stdout


def test_list_shows_the_built_ins() -> None:
    result = _run("list")
    assert "synthetic" in result.stdout
    for module in ("bandpass", "bandpower", "onnx", "pick"):
        assert module in result.stdout


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate(example: Path, tmp_path: Path) -> None:
    # --check binds the outputs: move them off the fixed ports other runs may hold.
    n_outputs = len(tomllib.loads(example.read_text()).get("outputs", []))
    moved = [f"--set=outputs[{i}].zmq=ipc://{tmp_path}/out{i}" for i in range(n_outputs)]
    result = _run("run", str(example), "--check", *moved)
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_a_bad_pipeline_names_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[pipeline]\nname = "x"\n[[inputs]]\nstream = "s"\nendpoint = "tcp://127.0.0.1:1"\n'
        '[[nodes]]\nmodule = "bandpass"\nparams = { low = 30.0, high = 8.0 }\n'
    )
    result = _run("run", str(bad))
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "nodes[0].params.low" in result.stderr


def test_an_unknown_device_lists_the_installed_ones() -> None:
    result = _run("stream", "nosuchdevice")
    assert result.returncode == 2
    assert "synthetic" in result.stderr


@pytest.mark.slow
def test_demo_writes_a_summary_that_adds_up(tmp_path: Path, stream_name: str) -> None:
    out = tmp_path / "demo.json"
    result = _run(
        "demo",
        "--name",
        stream_name,
        "--duration",
        "3",
        "--channels",
        "4",
        "--rate",
        "200",
        "--json",
        str(out),
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out.read_text())
    assert summary["samples_sent"] >= 3 * 200 - 1
    assert summary["samples_lost"] == summary["samples_sent"] - summary["samples_received"] == 0
    assert summary["outputs"] > 0
    assert summary["outputs"] == summary["outputs_sent"]
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p99"] <= lat["max"]
    assert summary["classes"] == ["rest", "left", "right"]
    assert summary["markers"] >= 1  # the client followed the array's cues over LSL
    assert 0.0 <= summary["cue_agreement"] <= 1.0
    assert "decoded" in result.stdout
    assert "summary" in result.stdout


@pytest.mark.slow
def test_any_lsl_source_through_bridge_and_runtime(
    tmp_path: Path, stream_name: str, ipc_dir: Path
) -> None:
    """pylsl's own SendData example, bridged and run through an example pipeline by the CLI."""
    in_ep, out_ep = f"ipc://{ipc_dir}/in", f"ipc://{ipc_dir}/out"
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.senddata.power")
    client.connect(out_ep)
    summary = tmp_path / "run.json"
    procs = [
        subprocess.Popen(
            [
                *CLI,
                "run",
                str(ROOT / "examples" / "senddata_bandpower.toml"),
                "--set",
                f"inputs[0].endpoint={in_ep}",
                "--set",
                f"inputs[0].stream={stream_name}",
                "--set",
                f"outputs[0].zmq={out_ep}",
                "--set",
                "outputs[0].lsl=",
                "--exit-on-eos",
                "--wait-subscribers",
                "1",
                "--summary",
                str(summary),
            ]
        ),
        subprocess.Popen(
            [*CLI, "bridge", "--name", stream_name, "--endpoint", in_ep, "--wait-subscribers", "1"]
        ),
        subprocess.Popen(
            [sys.executable, "-m", "pylsl.examples.SendData", "-n", stream_name, "-s", "100"],
            stdout=subprocess.DEVNULL,
        ),
    ]
    runtime, bridge, _sender = procs
    try:
        first = collect_first_output(client)
        assert first.data.shape == (1, 8 * 3)
        bridge.send_signal(signal.SIGINT)  # bridge drains and ends the stream; runtime follows
        frames = collect(client, b"out.senddata.power")
        assert bridge.wait(20) == 0
        assert runtime.wait(20) == 0
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        client.close()
    result = json.loads(summary.read_text())
    assert result["samples_lost"] == 0
    assert result["samples_received"] >= 100
    assert len([f for f in frames if f.kind is Kind.DATA]) + 1 == result["outputs"][0]["sent"]


def collect_first_output(client: zmq.Socket[bytes], timeout_s: float = 60.0):  # type: ignore[no-untyped-def]
    from bci_bridge.wire import decode

    deadline = time.monotonic() + timeout_s
    client.setsockopt(zmq.RCVTIMEO, 1000)
    while time.monotonic() < deadline:
        try:
            frame = decode(client.recv_multipart())
        except zmq.Again:
            continue
        if frame.kind is Kind.DATA:
            return frame
    raise AssertionError("no output from the pipeline")


@pytest.mark.slow
def test_ctrl_c_stops_the_demo_and_every_process_it_started(stream_name: str) -> None:
    """Ctrl-C in a terminal signals the whole foreground process group; nothing may survive."""
    with subprocess.Popen(
        [*CLI, "demo", "--duration", "60", "--name", stream_name],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as proc:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        seen = []
        for line in proc.stdout:  # wait until decoding is under way
            seen.append(line)
            if "decoded" in line or time.monotonic() > deadline:
                break
        children = _descendants(proc.pid)
        assert len(children) == 3, f"expected device, bridge and runtime, got {children}: {seen}"
        os.killpg(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(30)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert code == 130
    survivors = [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert survivors == [], f"processes left behind: {survivors}"


def _descendants(pid: int) -> list[int]:
    import psutil

    return [p.pid for p in psutil.Process(pid).children(recursive=True)]
