"""Relay peers of ``bci-bridge bench --peers``: found or cleanly absent, and when installed,
every sample relayed with its timestamp over real LSL."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from bci_bridge.bench.peer_venv import PEERS_DIR_ENV, REPO, peers_root
from bci_bridge.bench.peers import PEERS, available_peers

NAMES = ("ezmsg", "timeflux")
# Timeflux's LSL inlet always applies LSL's clock-sync (whatever its options say): on one host
# that adds the estimated offset of the clock to itself, tens of microseconds.
TOLERANCE_S = {"ezmsg": 1e-9, "timeflux": 2e-4}


@pytest.fixture(autouse=True)
def _peer_modules() -> None:
    available_peers()  # imports bci_bridge.bench.peer_*: fills PEERS


def _fake_venv(root: Path, name: str, *, complete: bool) -> Path:
    python = root / name / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    if complete:
        (root / name / ".bci-bridge-peer-ok").write_text("")
    return python


def test_both_peers_are_registered() -> None:
    assert set(NAMES) <= set(PEERS)


@pytest.mark.parametrize("name", NAMES)
def test_absent_venv_gives_none_and_says_why(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "no-such-dir"
    monkeypatch.setenv(PEERS_DIR_ENV, str(root))
    assert peers_root() == root
    with caplog.at_level(logging.INFO, logger="bci_bridge.bench"):
        assert PEERS[name]() is None
    assert str(root / name) in caplog.text
    assert "setup.sh" in caplog.text


@pytest.mark.parametrize("name", NAMES)
def test_unfinished_install_counts_as_absent(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_venv(tmp_path, name, complete=False)
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    with caplog.at_level(logging.INFO, logger="bci_bridge.bench"):
        assert PEERS[name]() is None
    assert "incomplete" in caplog.text


def test_available_peers_skips_the_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    python = _fake_venv(tmp_path, "ezmsg", complete=True)
    found = available_peers()
    assert "timeflux" not in found
    assert found["ezmsg"] == [str(python), str(REPO / "benchmarks" / "peers" / "ezmsg_relay.py")]


def test_timeflux_argv_lends_it_our_liblsl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    python = _fake_venv(tmp_path, "timeflux", complete=True)
    argv = PEERS["timeflux"]()
    assert argv is not None
    assert argv[:2] == [str(python), str(REPO / "benchmarks" / "peers" / "timeflux_relay.py")]
    assert argv[2] == "--pylsl-lib"
    liblsl = Path(argv[3])
    assert liblsl.is_file()
    assert liblsl.name.startswith("liblsl")
    assert liblsl.parent.parent == Path(pylsl.__file__).parent


class _Client(threading.Thread):
    """Pull every sample of LSL stream ``name``: timestamps and values."""

    def __init__(self, name: str) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.stamps: list[float] = []
        self.rows: list[np.ndarray] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            found = pylsl.resolve_byprop("name", self.name, 1, 60.0)
            assert found, f"the relay made no outlet {self.name!r} within 60 s"
            inlet = pylsl.StreamInlet(found[0], max_buflen=60, recover=False)
            inlet.open_stream(timeout=10.0)
            while not self.stop.is_set():
                data, ts = inlet.pull_chunk(timeout=0.1, max_samples=512, as_numpy=True)
                if len(ts):
                    self.rows.append(np.array(data))
                    self.stamps.extend(ts.tolist())
        except BaseException as exc:
            self.error = exc


@pytest.mark.parametrize("name", NAMES)
def test_relay_passes_every_sample_with_its_timestamp(
    name: str, stream_name: str, tmp_path: Path
) -> None:
    prefix = PEERS[name]()
    if prefix is None:
        pytest.skip(
            f"peer {name} is not installed in {peers_root() / name} (optional; "
            "benchmarks/peers/setup.sh installs it)"
        )
    rate, n_ch, measured = 250.0, 64, 500  # 2 s counted once the client sees output
    info = pylsl.StreamInfo(stream_name, "EEG", n_ch, rate, pylsl.cf_float32, stream_name)
    outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)
    out_name = f"{stream_name}-out"
    log_path = tmp_path / "relay.log"
    argv = [*prefix, "--in", stream_name, "--out", out_name, "--channels", str(n_ch)]
    with log_path.open("w") as log:
        relay = subprocess.Popen([*argv, "--rate", str(rate)], stdout=log, stderr=log)
    client = _Client(out_name)
    client.start()
    rng = np.random.default_rng(1)
    pool = rng.standard_normal((int(rate), n_ch)).astype(np.float32)
    stamps: list[float] = []
    try:
        assert outlet.wait_for_consumers(60.0), "the relay never opened an inlet"
        t0 = pylsl.local_clock() + 0.02
        first_seen: int | None = None
        deadline = time.monotonic() + 60.0
        # Push on a regular grid (each stamp exactly t0 + k / rate) until the client has seen
        # output, then `measured` more samples.
        while first_seen is None or len(stamps) < first_seen + measured:
            assert relay.poll() is None, f"relay exited: {log_path.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "no output from the relay within 60 s"
            due = t0 + len(stamps) / rate
            wait = due - pylsl.local_clock()
            if wait > 0:
                time.sleep(wait)
            outlet.push_chunk(pool[len(stamps) % pool.shape[0]][None, :], due)
            stamps.append(due)
            if first_seen is None and client.stamps:
                first_seen = len(stamps)
        end = time.monotonic() + 10.0
        while len(client.stamps) and client.stamps[-1] < stamps[-1] - 1e-3:
            if time.monotonic() > end:
                break
            time.sleep(0.05)
    finally:
        client.stop.set()
        client.join(10.0)
        relay.terminate()
        try:
            relay.wait(20.0)
        except subprocess.TimeoutExpired:
            relay.kill()
            relay.wait()
    if client.error is not None:
        raise client.error
    got = np.array(client.stamps)
    sent = np.array(stamps)
    # The client joined mid-stream: from the first sample it got, it must get every later one,
    # in order, each with the timestamp it was sent with.
    j = int(np.argmin(np.abs(sent - got[0])))
    assert got.shape[0] == sent.shape[0] - j, (got.shape, sent.shape, j)
    assert sent.shape[0] - j >= measured
    np.testing.assert_allclose(got, sent[j:], rtol=0, atol=TOLERANCE_S[name])
    values = np.concatenate(client.rows)
    assert values.shape == (got.shape[0], n_ch)
    assert np.isfinite(values).all()
    assert not np.allclose(values, pool[np.arange(j, sent.shape[0]) % pool.shape[0]], atol=1e-3)
