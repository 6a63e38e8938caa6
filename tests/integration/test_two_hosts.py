"""Two hosts over CURVE: bridge and runtime in two network namespaces, the link cut and restored.

Host A (a fresh network namespace) runs a synthetic LSL source and the bridge, keyed, bound to
A's address on a veth pair; host B (another namespace) runs the runtime, which pins the
bridge's public key. The two namespaces are joined only by that veth pair (private /30
addresses, no route to the machine's own interfaces), so nothing leaves the machine; LSL stays
on A's own loopback (the shipped config). While data flows the link goes down for 2 s and comes
back: the runtime resumes, and every sample the bridge sent is received or counted lost.

Needs root and ``ip netns``; skipped with the reason otherwise. The namespaces (and the veth
pair with them) are deleted whatever happens.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import zmq

from bci_bridge.cli.keys_cmd import write_key_pair
from bci_bridge.wire import Kind, decode

ROOT = Path(__file__).resolve().parents[2]
LSL_CFG = ROOT / "bci_bridge" / "lsl_api.cfg"
ADDR_A, ADDR_B = "10.231.0.1", "10.231.0.2"
PORT = 5555
RATE, CHANNELS, DURATION_S = 500.0, 64, 10.0
#: The bridge's queue for a subscriber, MiB: 2 s of this stream (about 256 KB) do not fit in it,
#: so a cut that outlasts the kernel's socket buffers loses frames (counted, not silent).
QUEUE_MB = 0.05


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "needs the `ip` tool (iproute2)"
    probe = f"bbprobe{uuid.uuid4().hex[:6]}"
    made = _ip("netns", "add", probe)
    if made.returncode != 0:
        return f"`ip netns add` failed: {made.stderr.strip()}"
    _ip("netns", "del", probe)
    return None


@dataclass(frozen=True)
class Hosts:
    """Two namespaces joined by one veth pair (``veth_a`` in ``a``, ``veth_b`` in ``b``)."""

    a: str
    b: str
    veth_a: str

    def run(self, ns: str, argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        env = {**os.environ, "LSLAPICFG": str(LSL_CFG)}
        with log.open("wb") as fh:
            return subprocess.Popen(
                ["ip", "netns", "exec", ns, *argv],
                stdout=fh,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
            )

    def link(self, up: bool) -> None:
        done = _ip("-n", self.a, "link", "set", self.veth_a, "up" if up else "down")
        assert done.returncode == 0, done.stderr


@pytest.fixture
def hosts() -> Iterator[Hosts]:
    reason = _why_not()
    if reason is not None:
        pytest.skip(reason)
    tag = uuid.uuid4().hex[:6]
    a, b, va, vb = f"bbA{tag}", f"bbB{tag}", f"bba{tag}", f"bbb{tag}"
    try:
        steps = [
            ("netns", "add", a),
            ("netns", "add", b),
            ("link", "add", va, "netns", a, "type", "veth", "peer", "name", vb, "netns", b),
            ("-n", a, "addr", "add", f"{ADDR_A}/30", "dev", va),
            ("-n", b, "addr", "add", f"{ADDR_B}/30", "dev", vb),
            ("-n", a, "link", "set", "lo", "up"),
            ("-n", b, "link", "set", "lo", "up"),
            ("-n", a, "link", "set", va, "up"),
            ("-n", b, "link", "set", vb, "up"),
        ]
        for step in steps:
            done = _ip(*step)
            assert done.returncode == 0, f"ip {' '.join(step)}: {done.stderr}"
        yield Hosts(a, b, va)
    finally:
        _ip("netns", "del", a)  # takes its end of the veth pair, and so the pair, with it
        _ip("netns", "del", b)


def _received(sub: zmq.Socket[bytes], timeout_s: float) -> int | None:
    """Return ``samples_received`` of the next metrics snapshot (None if none came)."""
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        if not sub.poll(int(left * 1000) + 1):
            return None
        frame = decode(sub.recv_multipart())
        if frame.kind is Kind.JSON:
            received: int = json.loads(frame.payload)["samples_received"]
            return received
    return None


def _wait_until(sub: zmq.Socket[bytes], more_than: int, timeout_s: float) -> int:
    deadline = time.monotonic() + timeout_s
    got = 0
    while time.monotonic() < deadline:
        got = _received(sub, 2.0) or got
        if got > more_than:
            return got
    raise AssertionError(f"the runtime received {got} samples, not more than {more_than}")


def test_bridge_and_runtime_on_two_hosts_over_curve_survive_a_cut_link(
    hosts: Hosts, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    for name in ("bridge", "runtime"):
        write_key_pair(name, keys)
    (keys / "bridge-clients").mkdir()
    shutil.copy(keys / "runtime.key", keys / "bridge-clients" / "runtime.key")
    stream = f"twohost-{uuid.uuid4().hex[:8]}"
    metrics = f"ipc://{tmp_path}/metrics"  # a file socket: readable here, whatever the netns
    pipeline = tmp_path / "p.toml"
    pipeline.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "twohost"
            metrics = "{metrics}"
            [[inputs]]
            stream = "{stream}"
            endpoint = "tcp://{ADDR_A}:{PORT}"
            [[nodes]]
            module = "pick"
            params = {{ channels = ["C3", "C4"] }}
            [security]
            client_key = "keys/runtime.key_secret"
            server_public_key = "keys/bridge.key"
            """
        )
    )
    py = [sys.executable, "-m", "bci_bridge", "-v"]
    device = [*py, "stream", "synthetic", "--channels", str(CHANNELS), "--rate", f"{RATE:g}"]
    device += ["--chunk", "10", "--name", stream, "--duration", f"{DURATION_S:g}"]
    device += ["--wait-consumer", "30", "--summary", str(tmp_path / "device.json")]
    bridge = [*py, "bridge", "--name", stream, "--endpoint", f"tcp://{ADDR_A}:{PORT}"]
    bridge += ["--server-key", str(keys / "bridge.key_secret")]
    bridge += ["--client-keys", str(keys / "bridge-clients"), "--wait-subscribers", "1"]
    bridge += ["--source-timeout", "2", "--max-queue-mb", f"{QUEUE_MB:g}"]
    bridge += ["--summary", str(tmp_path / "bridge.json")]
    runtime = [*py, "run", str(pipeline), "--exit-on-eos", "--info-timeout", "60"]
    runtime += ["--report", str(tmp_path / "runtime.json")]
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"metrics.")
    sub.connect(metrics)
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        procs["runtime"] = hosts.run(hosts.b, runtime, tmp_path / "runtime.log")
        procs["bridge"] = hosts.run(hosts.a, bridge, tmp_path / "bridge.log")
        procs["device"] = hosts.run(hosts.a, device, tmp_path / "device.log")
        before_cut = _wait_until(sub, 0, 60.0)  # data crosses from A to B over CURVE
        hosts.link(up=False)
        time.sleep(2.0)
        hosts.link(up=True)
        cut_over = _received(sub, 5.0) or before_cut
        resumed = _wait_until(sub, cut_over, 30.0)  # and crosses again once the link is back
        for name in ("device", "bridge", "runtime"):
            assert procs[name].wait(60) == 0, _logs(tmp_path)
    finally:
        sub.close()
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    sent = json.loads((tmp_path / "device.json").read_text())["samples_sent"]
    bridged = json.loads((tmp_path / "bridge.json").read_text())
    report: dict[str, Any] = json.loads((tmp_path / "runtime.json").read_text())
    (inp,) = report["inputs"]
    assert bridged["samples"] == sent  # LSL on A's loopback lost nothing
    assert resumed > cut_over >= before_cut > 0
    # Every sample the bridge sent across the cut link was received or counted lost.
    assert inp["samples_received"] + inp["samples_lost"] == sent, _logs(tmp_path)
    assert inp["samples_received"] > 0
    assert inp["ended"]
    assert inp["frames_malformed"] == 0
    assert bridged["clients_refused"] == 0


def _logs(tmp: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in tmp.glob("*.log")
    )
