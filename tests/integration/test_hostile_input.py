"""A live runtime fed forged, mutated and non-finite frames over real ZeroMQ keeps working."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zmq
from fuzz_frames import make_batch, parts_of
from helpers import Worker, collect

from bci_bridge.cli.main import main
from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.errors import WireError
from bci_bridge.lsl import local_clock
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import (
    HEADER,
    MAGIC,
    WIRE_VERSION,
    Kind,
    check_against,
    decode,
    encode_data,
    encode_eos,
    encode_info,
)
from runtime.inputs import InputState
from runtime.runner import Runtime, RuntimeOptions

SFREQ = 250.0
SESSION = 0x0BC1B
INFO = StreamInfo(name="eeg", channel_names=("C3", "C4", "Cz"), sfreq=SFREQ, session=SESSION)


def _pipeline(
    tmp: Path, ipc: Path, nodes: str, *, inputs: str = "", out: bool = True
) -> PipelineConfig:
    path = tmp / "p.toml"
    text = textwrap.dedent(
        f"""
        [pipeline]
        name = "t"
        [[inputs]]
        stream = "eeg"
        endpoint = "ipc://{ipc}/in"
        """
    )
    text += textwrap.dedent(inputs) + textwrap.dedent(nodes)
    if out:
        text += f'\n[[outputs]]\nzmq = "ipc://{ipc}/out"\n'
    path.write_text(text)
    return load_pipeline(path)


class Sender:
    """An XPUB that never drops (no HWM) and greets the runtime with the stream info."""

    def __init__(self, endpoint: str, info: StreamInfo = INFO) -> None:
        self.pub = zmq.Context.instance().socket(zmq.XPUB)
        self.pub.setsockopt(zmq.SNDHWM, 0)
        self.pub.setsockopt(zmq.LINGER, 5000)
        self.pub.bind(endpoint)
        self.info = info
        self.topic = f"data.{info.name}".encode()

    def wait_subscriber(self) -> None:
        self.pub.setsockopt(zmq.RCVTIMEO, 20_000)
        while True:
            msg = self.pub.recv()
            if msg[0] == 1 and msg[1:] == self.topic:
                break
        self.pub.send_multipart(encode_info(b"info.eeg", self.info, local_clock()))

    def data(self, index: int, n: int, *, session: int = SESSION, t0: float = 1000.0) -> None:
        rows = np.arange(index, index + n, dtype=np.float32)[:, None] * np.ones(3, np.float32)
        stamps = t0 + np.arange(index, index + n) / SFREQ
        self.pub.send_multipart(encode_data(self.topic, rows, stamps, 0, index, 0.0, session))

    def close(self) -> None:
        self.pub.close()


def _client(endpoint: str, topic: bytes) -> zmq.Socket[bytes]:
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(endpoint)
    return sub


def _start(pipeline: PipelineConfig, *, wait_subscribers: int = 1) -> tuple[Runtime, Worker]:
    options = RuntimeOptions(exit_on_eos=True, wait_subscribers=wait_subscribers, info_timeout_s=20)
    runtime = Runtime(pipeline, options)
    worker = Worker(runtime.run)
    worker.start()
    return runtime, worker


PICK = """
[[nodes]]
module = "pick"
params = { channels = ["C3", "C4", "Cz"] }
"""


def test_forged_index_eos_and_info_frames_leave_it_working(tmp_path: Path, ipc_dir: Path) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, PICK)
    sender = Sender(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.pick")
    _, worker = _start(pipeline)
    sender.wait_subscriber()
    for i in range(0, 100, 10):
        sender.data(i, 10)
    sender.data(2**62, 10)  # a forged index
    sender.pub.send_multipart(encode_eos(sender.topic, 0, 2**63, 0.0, SESSION))  # a forged EOS
    huge = (
        '{"name": "eeg", "type": "EEG", "channel_names": ["C3", "C4", "Cz"], "sfreq": '
        + "9" * 401
        + ', "dtype": "float32"}'
    ).encode()
    header = HEADER.pack(MAGIC, WIRE_VERSION, Kind.INFO, 0, 0, 0, 0, 0, 0, 0.0, SESSION)
    sender.pub.send_multipart([b"info.eeg", header, huge, b""])  # an info that overflows
    for i in range(100, 1100, 10):
        sender.data(i, 10)
    sender.pub.send_multipart(encode_eos(sender.topic, 0, 1100, 0.0, SESSION))
    frames = collect(client, b"out.t.pick")
    summary = worker.finish()
    sender.close()
    client.close()

    (inp,) = summary["inputs"]
    assert inp["frames_malformed"] == 3
    assert (inp["samples_received"], inp["samples_lost"], inp["frames_late"]) == (1100, 0, 0)
    assert inp["ended"]
    got = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    np.testing.assert_array_equal(got[:, 0], np.arange(1100))
    reasons = " ".join(inp["malformed_reasons"])
    assert "jumps" in reasons
    assert "EOS announces" in reasons
    assert "OverflowError" in reasons


def test_a_restarted_sender_is_followed_and_its_gap_counted(tmp_path: Path, ipc_dir: Path) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, PICK)
    sender = Sender(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.pick")
    _, worker = _start(pipeline)
    sender.wait_subscriber()
    for i in range(0, 500, 10):
        sender.data(i, 10)  # samples 0..499 at 1000 s + i / 250
    # A new session from index 0, whose first sample is stream sample 1234 by its timestamp.
    t_restart = 1000.0 + 1234 / SFREQ
    for i in range(0, 300, 10):
        sender.data(i, 10, session=SESSION + 1, t0=t_restart)
    sender.pub.send_multipart(encode_eos(sender.topic, 0, 300, 0.0, SESSION + 1))
    frames = collect(client, b"out.t.pick")
    summary = worker.finish()
    sender.close()
    client.close()

    (inp,) = summary["inputs"]
    assert inp["samples_lost"] == 1234 - 500
    assert (inp["samples_received"], inp["frames_late"], inp["sessions"]) == (800, 0, 1)
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 800


BANDPASS = """
[[nodes]]
module = "bandpass"
params = { low = 8.0, high = 30.0 }
"""


@pytest.mark.parametrize(("policy", "resets"), [("hold", 0), ("pass", 1)])
def test_a_nan_row_does_not_poison_the_bandpass(
    tmp_path: Path, ipc_dir: Path, policy: str, resets: int
) -> None:
    inputs = f'on_nonfinite = "{policy}"\n'
    pipeline = _pipeline(tmp_path, ipc_dir, BANDPASS, inputs=inputs)
    sender = Sender(f"ipc://{ipc_dir}/in")
    client = _client(f"ipc://{ipc_dir}/out", b"out.t.bandpass")
    _, worker = _start(pipeline)
    sender.wait_subscriber()
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3000, 3)).astype(np.float32)
    data[1500] = np.nan  # one row of 3,000, every channel (an amplifier's dropped sample)
    stamps = 1000.0 + np.arange(3000) / SFREQ
    for seq, i in enumerate(range(0, 3000, 10)):
        sender.pub.send_multipart(
            encode_data(sender.topic, data[i : i + 10], stamps[i : i + 10], seq, i, 0.0, SESSION)
        )
    sender.pub.send_multipart(encode_eos(sender.topic, 300, 3000, 0.0, SESSION))
    frames = collect(client, b"out.t.bandpass")
    summary = worker.finish()
    sender.close()
    client.close()

    out = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    assert out.shape == (3000, 3)
    assert np.isfinite(out[1510:]).all()  # every chunk after the bad one is finite
    assert np.isfinite(out[:1500]).all()
    assert np.isfinite(out[1500:1510]).all() == (policy == "hold")
    assert summary["inputs"][0]["samples_nonfinite"] == 1
    assert summary["nodes"]["bandpass"]["module_stats"] == {"state_resets": 3 * resets}


def _reference(batches: list[list[list[Any]]], info: StreamInfo, config: Any) -> InputState:
    """What the runtime must count for these frames: its own checks, run here."""
    state = InputState(config=config, info=info)
    for frames in batches:
        for parts in frames:
            try:
                frame = decode(parts)
                if frame.kind is Kind.EOS:
                    state.end(frame.sample_index, session=frame.session)
                    continue
                if frame.kind is not Kind.DATA and frame.kind is not Kind.MARKERS:
                    raise WireError("not data")
                check_against(frame, info)
            except WireError as exc:
                state.malformed(str(exc))
                continue
            ts = frame.timestamps
            state.accept(
                frame.sample_index,
                ts.shape[0],
                session=frame.session,
                first_time=float(ts[0]),
                last_time=float(ts[-1]),
            )
    return state


def test_a_live_runtime_counts_100k_mutated_frames_exactly(tmp_path: Path, ipc_dir: Path) -> None:
    info = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=SFREQ, session=SESSION)
    nodes = '[[nodes]]\nmodule = "pick"\nparams = { channels = ["a", "b"] }\n'
    pipeline = _pipeline(tmp_path, ipc_dir, nodes, out=False)
    sender = Sender(f"ipc://{ipc_dir}/in", info)
    runtime, worker = _start(pipeline, wait_subscribers=0)
    sender.wait_subscriber()
    rng = np.random.default_rng(8)
    batch = make_batch(rng, 100_000, n_channels=2, session=SESSION, mutate=0.3)
    data = memoryview(bytes(8 * 2 * 4 + 64))
    frames = [[bytes(p) for p in parts] for parts in parts_of(batch, b"data.eeg", data, SFREQ)]
    ref = _reference([frames], info, pipeline.inputs[0])
    final = encode_eos(b"data.eeg", 0, ref.next_index, 0.0, ref.session or 0)
    ref.end(ref.next_index, session=ref.session or 0)
    assert ref.ended
    for parts in frames:
        sender.pub.send_multipart(parts)
    sender.pub.send_multipart(final)
    worker.join(60)
    summary = worker.finish()
    sender.close()

    (got,) = summary["inputs"]
    want = ref.summary()
    keys = [
        "samples_received",
        "samples_lost",
        "samples_lost_upstream",
        "frames_received",
        "frames_late",
        "frames_malformed",
        "sessions",
        "resyncs",
        "ended",
    ]
    assert {k: got[k] for k in keys} == {k: want[k] for k in keys}
    assert got["frames_received"] + got["frames_late"] + got["frames_malformed"] <= 100_001
    assert got["frames_malformed"] > 10_000
    assert summary["nodes"]["pick"]["calls"] == got["frames_received"]
    assert runtime.frames_foreign == 0


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [("tcp://127.0.0.1:99999", "bad port '99999'"), ("tcp://127.0.0.1:0", "bad port '0'")],
)
def test_a_bad_input_endpoint_is_named_not_waited_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], endpoint: str, message: str
) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        f'[pipeline]\nname = "t"\n[[inputs]]\nstream = "eeg"\nendpoint = "{endpoint}"\n'
        '[[nodes]]\nmodule = "pick"\nparams = { channels = ["C3"] }\n'
    )
    code = main(["run", str(path), "--info-timeout", "30"])
    err = capsys.readouterr().err
    assert code == 2
    assert endpoint in err
    assert message in err
    assert "no stream info" not in err
    assert "Traceback" not in err
    assert len([line for line in err.splitlines() if "error" in line]) == 1  # one clear line
