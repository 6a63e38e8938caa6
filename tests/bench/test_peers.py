"""Peers of ``bci-bridge bench --peers``: found or cleanly absent, and when installed, every
sample relayed with its timestamp, and the decode and wearable work giving rows of the right
shape at the right samples, over real LSL."""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pylsl
import pytest

from bci_bridge.bench_extras.eegnet import eegnet_path
from bci_bridge.bench_extras.peers import PEERS, WORKS, available_peers
from bci_bridge.bench_extras.peers.venv import PEERS_DIR_ENV, RECIPE, REPO, peers_root

NAMES = ("ezmsg", "timeflux")
# Timeflux's LSL inlet always applies LSL's clock-sync (whatever its options say): on one host
# that adds the estimated offset of the clock to itself, tens of microseconds.
TOLERANCE_S = {"ezmsg": 1e-9, "timeflux": 2e-4}
#: Peer and work whose window node skips windows under load (see timeflux_decode.yaml).
SKIPS = {("timeflux", "decode")}


@pytest.fixture(autouse=True)
def _peer_modules() -> None:
    available_peers()  # imports the peer modules: fills PEERS


def _fake_venv(root: Path, name: str, *, complete: bool) -> Path:
    python = root / name / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("")
    if complete:
        (root / name / ".bci-bridge-peer-ok").write_text(f"{RECIPE}\n")
    return python


def test_both_peers_are_registered() -> None:
    assert set(NAMES) <= set(PEERS)


@pytest.mark.parametrize("work", WORKS)
@pytest.mark.parametrize("name", NAMES)
def test_absent_venv_gives_none_and_says_why(
    name: str,
    work: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    root = tmp_path / "no-such-dir"
    monkeypatch.setenv(PEERS_DIR_ENV, str(root))
    assert peers_root() == root
    with caplog.at_level(logging.INFO, logger="bci_bridge.bench_extras"):
        assert PEERS[name](work) is None
    assert str(root / name) in caplog.text
    assert "setup.sh" in caplog.text


@pytest.mark.parametrize("name", NAMES)
def test_unfinished_install_counts_as_absent(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_venv(tmp_path, name, complete=False)
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    with caplog.at_level(logging.INFO, logger="bci_bridge.bench_extras"):
        assert PEERS[name]("relay") is None
    assert "incomplete" in caplog.text


@pytest.mark.parametrize("name", NAMES)
def test_a_venv_of_an_older_recipe_counts_as_absent(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _fake_venv(tmp_path, name, complete=True)
    (tmp_path / name / ".bci-bridge-peer-ok").write_text("")  # setup.sh before recipe 2
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    with caplog.at_level(logging.INFO, logger="bci_bridge.bench_extras"):
        assert PEERS[name]("decode") is None
    assert "older setup.sh" in caplog.text


def test_available_peers_skips_the_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    python = _fake_venv(tmp_path, "ezmsg", complete=True)
    for work in WORKS:
        found = available_peers(work)
        assert "timeflux" not in found
        script = REPO / "benchmarks" / "peers" / f"ezmsg_{work}.py"
        assert script.is_file()
        assert found["ezmsg"] == [str(python), str(script)]


def test_available_peers_refuses_a_work_peers_do_not_run() -> None:
    with pytest.raises(ValueError, match="spikes"):
        available_peers("spikes")


def test_timeflux_argv_lends_it_our_liblsl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PEERS_DIR_ENV, str(tmp_path))
    python = _fake_venv(tmp_path, "timeflux", complete=True)
    peers = REPO / "benchmarks" / "peers"
    for work in WORKS:
        argv = PEERS["timeflux"](work)
        assert argv is not None
        assert argv[:4] == [
            str(python),
            str(peers / "timeflux_run.py"),
            "--app",
            str(peers / f"timeflux_{work}.yaml"),
        ]
        assert Path(argv[3]).is_file()
    assert argv[4] == "--pylsl-lib"
    liblsl = Path(argv[5])
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


def _stream_through(
    argv: list[str],
    stream_name: str,
    tmp_path: Path,
    *,
    pool: np.ndarray,
    rate: float,
    after_first: int,
    last_within_s: float,
) -> tuple[np.ndarray, _Client]:
    """Push samples on a regular grid through a peer until ``after_first`` samples followed its
    first output; return the stamps sent and the client (every output it saw).

    Sample ``k`` is row ``k % len(pool)`` of ``pool``, shape (samples, channels), stamped
    ``t0 + k / rate``. At the end, waits (at most 15 s) for an output stamped within
    ``last_within_s`` seconds of the last sample sent, then 0.3 s more.
    """
    n_ch = pool.shape[1]
    info = pylsl.StreamInfo(stream_name, "EEG", n_ch, rate, pylsl.cf_float32, stream_name)
    outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=60)
    out_name = f"{stream_name}-out"
    log_path = tmp_path / "peer.log"
    cmd = [*argv, "--in", stream_name, "--out", out_name, "--channels", str(n_ch)]
    cmd += ["--rate", str(rate)]
    with log_path.open("w") as log:
        peer = subprocess.Popen(cmd, stdout=log, stderr=log)
    client = _Client(out_name)
    client.start()
    stamps: list[float] = []
    try:
        assert outlet.wait_for_consumers(60.0), "the peer never opened an inlet"
        t0 = pylsl.local_clock() + 0.02
        first_seen: int | None = None
        deadline = time.monotonic() + 90.0
        while first_seen is None or len(stamps) < first_seen + after_first:
            assert peer.poll() is None, f"peer exited: {log_path.read_text()[-3000:]}"
            assert time.monotonic() < deadline, (
                f"no output from the peer within 90 s: {log_path.read_text()[-3000:]}"
            )
            due = t0 + len(stamps) / rate
            wait = due - pylsl.local_clock()
            if wait > 0:
                time.sleep(wait)
            outlet.push_chunk(pool[len(stamps) % pool.shape[0]][None, :], due)
            stamps.append(due)
            if first_seen is None and client.stamps:
                first_seen = len(stamps)
        end = time.monotonic() + 15.0
        while not client.stamps or client.stamps[-1] < stamps[-1] - last_within_s:
            if time.monotonic() > end:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the last outputs of a slow peer
    finally:
        client.stop.set()
        client.join(10.0)
        peer.terminate()
        try:
            peer.wait(20.0)
        except subprocess.TimeoutExpired:
            peer.kill()
            peer.wait()
    if client.error is not None:
        raise client.error
    return np.array(stamps), client


@pytest.mark.parametrize("name", NAMES)
def test_relay_passes_every_sample_with_its_timestamp(
    name: str, stream_name: str, tmp_path: Path
) -> None:
    prefix = PEERS[name]("relay")
    if prefix is None:
        pytest.skip(
            f"peer {name} is not installed in {peers_root() / name} (optional; "
            "benchmarks/peers/setup.sh installs it)"
        )
    rate, n_ch, measured = 250.0, 64, 500  # 2 s counted once the client sees output
    pool = np.random.default_rng(1).standard_normal((int(rate), n_ch)).astype(np.float32)
    sent, client = _stream_through(
        list(prefix),
        stream_name,
        tmp_path,
        pool=pool,
        rate=rate,
        after_first=measured,
        last_within_s=1e-3,
    )
    got = np.array(client.stamps)
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


def _expected_stamps(sent: np.ndarray, got: np.ndarray, window: int, hop: int) -> np.ndarray:
    """The input stamps that outputs from ``got[0]`` on must carry: the newest sample of each
    window, a window once ``window`` samples arrived, then one per ``hop`` samples."""
    due = sent[window - 1 :: hop]
    j = int(np.argmin(np.abs(due - got[0])))
    return due[j : j + got.shape[0]]


@pytest.mark.parametrize("work", ["decode", "wearable"])
@pytest.mark.parametrize("name", NAMES)
def test_peer_work_gives_rows_of_the_right_shape_at_the_right_samples(
    name: str, work: str, stream_name: str, tmp_path: Path
) -> None:
    prefix = PEERS[name](work)
    if prefix is None:
        pytest.skip(
            f"peer {name} is not installed in {peers_root() / name} (optional; "
            "benchmarks/peers/setup.sh installs it)"
        )
    rate, n_ch = 250, 8
    argv = list(prefix)
    if work == "decode":
        argv += ["--model", str(eegnet_path(n_ch, rate, float(rate), tmp_path))]
    hop = 1 if work == "decode" else 25  # every sample; every 0.1 s
    pool = np.random.default_rng(2).standard_normal((rate, n_ch)).astype(np.float32) * 10
    sent, client = _stream_through(
        argv,
        stream_name,
        tmp_path,
        pool=pool,
        rate=float(rate),
        after_first=250,
        last_within_s=0.2,
    )
    got = np.array(client.stamps)
    values = np.concatenate(client.rows)
    width = 2 if work == "decode" else 2 * n_ch  # class probabilities; 2 bands per channel
    assert values.shape == (got.shape[0], width)
    assert np.isfinite(values).all()
    if work == "decode":
        np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=0, atol=1e-5)
    # No output before the first full 1 s window; each output stamped with its window's newest
    # sample, in order.
    tol = TOLERANCE_S[name] + 1e-6
    assert got[0] >= sent[rate - 1] - tol
    assert np.all(np.diff(got) > 0)
    due = sent[rate - 1 :: hop]
    nearest = np.abs(due[None, :] - got[:, None]).min(axis=1)
    assert nearest.max() <= tol, nearest.max()
    if (name, work) in SKIPS:
        # The window node emits the latest full window of a graph pass: when a pass brings
        # several samples, the windows in between are skipped, never stamped wrong.
        assert got.shape[0] >= 250 // hop // 2
        return
    # From the first output the client saw, every later one.
    expected = _expected_stamps(sent, got, rate, hop)
    assert got.shape[0] >= 250 // hop - 1
    assert expected.shape == got.shape, (expected.shape, got.shape)
    np.testing.assert_allclose(got, expected, rtol=0, atol=tol)
