"""CURVE over real ZeroMQ on 127.0.0.1: who lacks an allowed key neither receives nor injects.

Everything here runs on ``tcp://127.0.0.1`` (ZAP authenticates TCP peers; loopback keeps the
traffic on this machine). A keyed server (the bridge, the runtime's outputs) serves nobody
whose public key is not in its allowed folder; a keyed client (the runtime's inputs) pins the
bridge's public key, so a process that takes over the bridge's port (with keys of its own or
none) completes no handshake and injects nothing. A plain runtime, as a control, is fooled by
the same impostor: the test would catch CURVE being off.
"""

from __future__ import annotations

import errno
import socket
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pylsl
import pytest
import zmq
from helpers import Worker, collect
from zmq.utils.monitor import recv_monitor_message

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.cli.keys_cmd import write_key_pair
from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.curve import HANDSHAKE_FAILED, ClientKeys, ServerGuard, ServerKeys, dial, serve
from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock, to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, encode_data, encode_eos, encode_info
from runtime.runner import Runtime, RuntimeOptions

SFREQ = 250.0
INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=SFREQ, session=0xC0)
#: What the impostor's samples hold: never a genuine sample's value (those are their index).
FORGED = -7.0


@dataclass(frozen=True)
class Keys:
    """Key pairs and allowed-key folders of one test (``bci-bridge keys`` made them)."""

    root: Path

    def secret(self, name: str) -> Path:
        return self.root / f"{name}.key_secret"

    def public(self, name: str) -> Path:
        return self.root / f"{name}.key"

    def server(self, name: str) -> ServerKeys:
        return ServerKeys(secret_key=self.secret(name), client_keys=self.root / f"{name}-clients")

    def client(self, name: str, server: str) -> ClientKeys:
        return ClientKeys(server_public_key=self.public(server), client_key=self.secret(name))


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    """bridge admits runtime; runtime admits app; stranger and impostor are admitted nowhere."""
    root = tmp_path / "keys"
    for name in ("bridge", "runtime", "app", "stranger", "impostor"):
        write_key_pair(name, root)
    for server, clients in (("bridge", ["runtime"]), ("runtime", ["app"]), ("impostor", [])):
        folder = root / f"{server}-clients"
        folder.mkdir()
        # The impostor admits the runtime: a public key is public, anyone can have it.
        for client in clients or ["runtime"]:
            (folder / f"{client}.key").write_bytes((root / f"{client}.key").read_bytes())
    return Keys(root)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Sender:
    """An XPUB on ``endpoint`` playing a bridge: keyed with ``curve``, plain without."""

    def __init__(self, endpoint: str, curve: ServerKeys | None) -> None:
        self.pub = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.SNDHWM, 0)
        self.pub.setsockopt(zmq.LINGER, 2000)
        self.guard: ServerGuard | None = serve(self.pub, curve) if curve is not None else None
        self.monitor = self.pub.get_monitor_socket(zmq.EVENT_ALL)
        deadline = time.monotonic() + 10.0
        while True:  # the previous holder's listener closes in its I/O thread, soon after close
            try:
                self.pub.bind(endpoint)
                break
            except zmq.ZMQError as exc:
                if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.topic = b"data.eeg"

    def wait_attempt(self, timeout_s: float = 30.0) -> str:
        """Wait for a subscriber (``"subscribed"``) or a failed handshake (``"refused"``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.pub.poll(10):
                msg = self.pub.recv()
                if msg == b"\x01" + self.topic:
                    self.pub.send_multipart(encode_info(b"info.eeg", INFO, local_clock()))
                    return "subscribed"
            while self.monitor.poll(0):
                if recv_monitor_message(self.monitor)["event"] & HANDSHAKE_FAILED:
                    return "refused"
        raise AssertionError("no one tried to connect")

    def data(self, index: int, n: int, *, value: float | None = None, t0: float = 1000.0) -> None:
        rows = np.arange(index, index + n, dtype=np.float32)[:, None] * np.ones(3, np.float32)
        if value is not None:
            rows[:] = value
        stamps = t0 + np.arange(index, index + n) / SFREQ
        self.pub.send_multipart(encode_data(self.topic, rows, stamps, 0, index, 0.0, INFO.session))

    def eos(self, n: int) -> None:
        self.pub.send_multipart(encode_eos(self.topic, 0, n, 0.0, INFO.session))

    def close(self) -> None:
        self.pub.disable_monitor()
        self.monitor.close(linger=0)
        self.pub.close()
        if self.guard is not None:
            self.guard.close()


def _pipeline(tmp: Path, keys: Keys, port_in: int, port_out: int, *, keyed: bool) -> PipelineConfig:
    text = textwrap.dedent(
        f"""
        [pipeline]
        name = "curve"
        [[inputs]]
        stream = "eeg"
        endpoint = "tcp://127.0.0.1:{port_in}"
        [[nodes]]
        module = "pick"
        params = {{ channels = ["C3", "C4", "Cz"] }}
        [[outputs]]
        zmq = "tcp://127.0.0.1:{port_out}"
        """
    )
    if keyed:
        # Paths relative to the pipeline file.
        text += textwrap.dedent(
            """
            [security]
            server_key = "keys/runtime.key_secret"
            client_keys = "keys/runtime-clients"
            client_key = "keys/runtime.key_secret"
            server_public_key = "keys/bridge.key"
            """
        )
    path = tmp / "p.toml"
    path.write_text(text)
    return load_pipeline(path)


def _subscriber(endpoint: str, topic: bytes, curve: ClientKeys | None) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.setsockopt(zmq.SUBSCRIBE, b"info." + topic)
    dial(sub, curve)
    sub.connect(endpoint)
    return sub


def _nothing_for(sub: zmq.Socket[bytes], seconds: float) -> int:
    """Return how many messages ``sub`` gets within ``seconds`` (the point is: none)."""
    n = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if sub.poll(int(left * 1000) + 1):
            sub.recv_multipart()
            n += 1
    return n


@pytest.fixture
def ports() -> tuple[int, int]:
    return _free_port(), _free_port()


def test_a_keyed_output_serves_only_allowed_subscribers(
    tmp_path: Path, keys: Keys, ports: tuple[int, int]
) -> None:
    port_in, port_out = ports
    pipeline = _pipeline(tmp_path, keys, port_in, port_out, keyed=True)
    out_ep, topic = f"tcp://127.0.0.1:{port_out}", b"out.curve.pick"
    bridge = Sender(f"tcp://127.0.0.1:{port_in}", keys.server("bridge"))
    app = _subscriber(out_ep, topic, keys.client("app", "runtime"))
    stranger = _subscriber(out_ep, topic, keys.client("stranger", "runtime"))  # not allowed
    plain = _subscriber(out_ep, topic, None)  # no CURVE at all
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=30)
    )
    worker = Worker(runtime.run)
    worker.start()
    try:
        assert bridge.wait_attempt() == "subscribed"
        guard = runtime.publishers[out_ep].guard  # bound before the inputs connect
        assert guard is not None
        deadline = time.monotonic() + 30
        while guard.denied == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the stranger's handshake reaches the ZAP handler
        assert guard.denied >= 1, "the stranger never tried"
        for i in range(0, 1000, 10):
            bridge.data(i, 10)
        bridge.eos(1000)
        frames = collect(app, topic)
        summary = worker.finish()
        stranger_got, plain_got = _nothing_for(stranger, 0.5), _nothing_for(plain, 0.1)
    finally:
        for sock in (app, stranger, plain):
            sock.close()
        bridge.close()
    got = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    np.testing.assert_array_equal(got[:, 0], np.arange(1000))
    assert summary["samples_received"] == 1000
    assert (stranger_got, plain_got) == (0, 0)
    assert guard.allowed >= 1  # the app


def _takeover(tmp: Path, keys: Keys, ports: tuple[int, int], *, keyed: bool) -> dict[str, Any]:
    """Bridge sends 0..499, dies; two impostors take its port; bridge is back with 500..999."""
    port_in, port_out = ports
    pipeline = _pipeline(tmp, keys, port_in, port_out, keyed=keyed)
    in_ep, out_ep, topic = (
        f"tcp://127.0.0.1:{port_in}",
        f"tcp://127.0.0.1:{port_out}",
        b"out.curve.pick",
    )
    app = _subscriber(out_ep, topic, keys.client("app", "runtime") if keyed else None)
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=30)
    )
    worker = Worker(runtime.run)
    worker.start()
    attempts = []
    try:
        bridge = Sender(in_ep, keys.server("bridge") if keyed else None)
        assert bridge.wait_attempt() == "subscribed"
        for i in range(0, 500, 10):
            bridge.data(i, 10)
        bridge.close()  # the bridge dies (no EOS); its port is free
        for impostor_keys in (None, keys.server("impostor")):
            impostor = Sender(in_ep, impostor_keys)
            attempts.append(impostor.wait_attempt())  # the runtime reconnected to it
            for i in range(500, 1500, 10):
                impostor.data(i, 10, value=FORGED, t0=1000.0)
            impostor.close()
        bridge = Sender(in_ep, keys.server("bridge") if keyed else None)
        assert bridge.wait_attempt() == "subscribed"
        for i in range(500, 1000, 10):
            bridge.data(i, 10)
        bridge.eos(1000)
        frames = collect(app, topic)
        summary: dict[str, Any] = worker.finish()
        bridge.close()
    finally:
        app.close()
        if worker.is_alive():
            worker.finish()
    data = [f.data for f in frames if f.kind is Kind.DATA]
    summary["values"] = np.concatenate(data)[:, 0] if data else np.empty(0)
    summary["attempts"] = attempts
    return summary


def test_a_port_takeover_cannot_inject_into_a_keyed_runtime(
    tmp_path: Path, keys: Keys, ports: tuple[int, int]
) -> None:
    summary = _takeover(tmp_path, keys, ports, keyed=True)
    # The runtime did try each impostor (it reconnects to the port), and each handshake failed.
    assert summary["attempts"] == ["refused", "refused"]
    # The runtime saw the plain impostor's mechanism mismatch (the keyed one just hangs up on
    # a hello it cannot decrypt, a plain disconnect to the runtime), counted it, and dialled
    # again: else libzmq gives the endpoint up for good and the real bridge is never heard.
    assert summary["inputs"][0]["handshakes_failed"] >= 1
    assert FORGED not in summary["values"]
    np.testing.assert_array_equal(summary["values"], np.arange(1000))
    assert summary["samples_received"] == 1000
    assert summary["frames_malformed"] == 0
    assert summary["samples_lost"] == 0


def test_a_port_takeover_injects_into_a_plain_runtime(
    tmp_path: Path, keys: Keys, ports: tuple[int, int]
) -> None:
    # The control: without keys, the same impostor gets in. The keyed test is not vacuous.
    summary = _takeover(tmp_path, keys, ports, keyed=False)
    assert summary["attempts"][0] == "subscribed"
    assert FORGED in summary["values"]


def test_a_keyed_bridge_serves_a_keyed_runtime_and_no_stranger(
    stream_name: str, tmp_path: Path, keys: Keys
) -> None:
    port = _free_port()
    endpoint = f"tcp://127.0.0.1:{port}"
    info = StreamInfo(name=stream_name, channel_names=("C3", "C4", "Cz"), sfreq=SFREQ)
    outlet = pylsl.StreamOutlet(to_lsl(info))
    config = BridgeConfig(
        name=stream_name,
        endpoint=endpoint,
        wait_subscribers=1,
        resolve_timeout_s=10,
        curve=keys.server("bridge"),
    )
    bridge = Bridge(config)
    topic = f"data.{stream_name}".encode()
    stranger = _subscriber(endpoint, topic, keys.client("stranger", "bridge"))
    wrong_pin = _subscriber(endpoint, topic, keys.client("runtime", "impostor"))
    runtime = _subscriber(endpoint, topic, keys.client("runtime", "bridge"))
    worker = Worker(bridge.run)
    worker.start()
    try:
        assert outlet.wait_for_consumers(10.0), "bridge never opened its inlet"
        deadline = time.monotonic() + 30
        while bridge.stats.clients_refused == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the stranger's handshake reaches the ZAP handler
        data = np.arange(3000, dtype=np.float32).reshape(1000, 3)
        stamps = pylsl.local_clock() + np.arange(1000) / SFREQ
        for start in range(0, 1000, 10):
            outlet.push_chunk(data[start : start + 10], float(stamps[start + 9]))
        deadline = time.monotonic() + 20
        while bridge.stats.samples < 1000 and time.monotonic() < deadline:
            runtime.poll(10)
        stats = worker.finish()
        frames = collect(runtime, topic)
        stranger_got, wrong_pin_got = _nothing_for(stranger, 0.5), _nothing_for(wrong_pin, 0.1)
    finally:
        for sock in (stranger, wrong_pin, runtime):
            sock.close()
        if worker.is_alive():
            worker.finish()
    got = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    np.testing.assert_array_equal(got, data)
    assert (stranger_got, wrong_pin_got) == (0, 0)
    assert stats.subscribers == 1
    assert stats.clients_refused >= 1


def test_a_keyed_input_facing_a_plain_bridge_says_which_keys_to_check(
    tmp_path: Path, keys: Keys, ports: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    port_in, port_out = ports
    pipeline = _pipeline(tmp_path, keys, port_in, port_out, keyed=True)
    plain = Sender(f"tcp://127.0.0.1:{port_in}", None)  # a bridge started without its keys
    runtime = Runtime(pipeline, RuntimeOptions(info_timeout_s=3))
    worker = Worker(runtime.run)
    worker.start()
    try:
        assert plain.wait_attempt() == "refused"
        worker.join(60)  # it gives up after info_timeout_s by itself
    finally:
        plain.close()
    assert not worker.is_alive()
    assert isinstance(worker.error, ConfigError)
    assert "no stream info within 3 s" in str(worker.error)
    assert "does it serve with the secret key of server_public_key" in str(worker.error)
    assert runtime.links is not None
    assert runtime.links.failed(pipeline.inputs[0].name) >= 1
    assert "handshake with tcp://127.0.0.1" in caplog.text
    assert "HANDSHAKE_FAILED_PROTOCOL" in caplog.text
