"""The load check at prepare (runtime.cost_model): a pipeline that cannot keep up is refused with
its numbers, a cheap one runs, ``max_load = 0`` turns the check off; over real ZeroMQ."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
import zmq
from fake_bridge import INFO, FakeBridge
from helpers import Worker, collect, fresh_module

from bci_bridge.config import PipelineConfig, load_pipeline, parse_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind
from runtime.cost_model import check_load, estimate_load
from runtime.runner import Runtime, RuntimeOptions

# A module that sleeps SECONDS per input sample: at 250 Hz it needs 0.1 s x 250 = 25 cores
# (a sleep never ends early, so its measured cost cannot be lower), 25x the default budget.
SLEEPY = """
import time
from dataclasses import dataclass

INSTANCES = []

@dataclass(frozen=True)
class Config:
    budget_ms: float = 1.0
    seconds_per_sample: float = 0.1

class Sleepy:
    Config = Config
    def __init__(self, config):
        self.config = config
        INSTANCES.append(self)
    def prepare(self, info):
        return info
    def step(self, chunk):
        time.sleep(self.config.seconds_per_sample * chunk.data.shape[0])
        return chunk
"""

BANDPASS = """
[[nodes]]
name = "bandpass"
module = "bandpass"
params = { low = 8.0, high = 30.0 }
"""


@pytest.fixture
def sleepy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh module of the sleepy plugin (its own instance list), importable by name."""
    return fresh_module(SLEEPY, "sleepy", tmp_path, monkeypatch)


def _sleepy_node(module: ModuleType, extra: str = "") -> str:
    return f"""
    [[nodes]]
    name = "slow"
    module = "{module.__name__}:Sleepy"
    {extra}
    """


def _pipeline(tmp: Path, ipc: Path, nodes: str, head: str = "") -> PipelineConfig:
    path = tmp / "p.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            [pipeline]
            name = "t"
            {head}
            [[inputs]]
            stream = "eeg"
            endpoint = "ipc://{ipc}/in"
            """
        )
        + textwrap.dedent(nodes)
        + f'\n[[outputs]]\nzmq = "ipc://{ipc}/out"\n'
    )
    return load_pipeline(path)


def _run(
    pipeline: PipelineConfig, ipc: Path, chunks: int, out: str
) -> tuple[Runtime, Worker, list]:
    """Run the pipeline behind a fake bridge on ``chunks`` one-sample chunks then EOS.

    Returns the runtime, its finished worker and the frames a client received on output node
    ``out``'s topic until its EOS; if the runtime
    stops early (refused at prepare), nothing is sent and no frame is received.
    """
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.t.")
    client.connect(f"ipc://{ipc}/out")
    bridge = FakeBridge(f"ipc://{ipc}/in")
    options = RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=10)
    runtime = Runtime(pipeline, options)
    worker = Worker(runtime.run)
    worker.start()
    frames: list = []
    try:
        bridge.wait_subscriber()
        bridge.send_chunks(chunks, 1, set())
        # A refused pipeline ends its worker with nothing sent; a running one sends its
        # outputs, then the EOS it forwards.
        poller = zmq.Poller()
        poller.register(client, zmq.POLLIN)
        while worker.is_alive() and not poller.poll(200):
            pass
        if poller.poll(1000):
            frames = collect(client, f"out.t.{out}".encode())
        worker.join(30.0)
    finally:
        bridge.close()
        client.close()
    return runtime, worker, frames


def test_a_pipeline_that_cannot_keep_up_is_refused_at_prepare_with_the_numbers(
    tmp_path: Path, ipc_dir: Path, sleepy: ModuleType
) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, BANDPASS + _sleepy_node(sleepy))
    _runtime, worker, frames = _run(pipeline, ipc_dir, 10, "slow")
    assert not worker.is_alive()
    err = worker.error
    assert isinstance(err, ConfigError), err
    assert err.key == "pipeline.max_load"
    assert err.file == str(tmp_path / "p.toml")
    text = str(err)
    assert "cannot keep up" in text
    assert "max_load = 1" in text
    # Per node: cost per sample, rate and load; the sleepy one at least its sleep.
    m = re.search(r"slow: ([0-9.e+]+) us/sample x 250 samples/s = ([0-9.e+]+) core", text)
    assert m, text
    assert float(m.group(1)) >= 1e5
    assert float(m.group(2)) >= 25.0
    assert re.search(r"bandpass: [0-9.e+-]+ us/sample x 250 samples/s = [0-9.e+-]+ core", text)
    for fix in ("fewer channels", "decimate first", "lighter filter", "isolate"):
        assert fix in text
    assert frames == []  # refused before any output was set up


def test_a_cheap_pipeline_passes_and_keeps_its_estimate(tmp_path: Path, ipc_dir: Path) -> None:
    pipeline = _pipeline(tmp_path, ipc_dir, BANDPASS)
    runtime, worker, frames = _run(pipeline, ipc_dir, 20, "bandpass")
    assert worker.error is None, worker.error
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 20
    assert runtime.load is not None
    (cost,) = runtime.load.nodes
    assert cost.node == "bandpass"
    assert cost.counted
    assert cost.samples_per_s == 250.0
    assert cost.us_per_sample is not None
    assert cost.us_per_sample > 0
    assert runtime.load.total == cost.load
    assert runtime.load.total < 1.0


def test_max_load_zero_turns_the_check_off(
    tmp_path: Path, ipc_dir: Path, sleepy: ModuleType
) -> None:
    slow = _sleepy_node(sleepy, "params = { seconds_per_sample = 0.01 }")
    pipeline = _pipeline(tmp_path, ipc_dir, slow, head="max_load = 0")
    assert pipeline.max_load == 0.0
    runtime, worker, frames = _run(pipeline, ipc_dir, 5, "slow")
    assert worker.error is None, worker.error
    assert runtime.load is None
    assert len(sleepy.INSTANCES) == 1  # nothing was measured: no throwaway instance
    assert sum(f.data.shape[0] for f in frames if f.kind is Kind.DATA) == 5


def _parsed(nodes: str, head: str = "") -> PipelineConfig:
    text = f'[pipeline]\nname = "u"\n{head}\n[[inputs]]\nname = "eeg"\nstream = "eeg"\n'
    text += 'endpoint = "ipc:///tmp/bci-bridge-test-unused"\n' + textwrap.dedent(nodes)
    return parse_pipeline(tomllib.loads(text))


def _infos(pipeline: PipelineConfig, info: StreamInfo = INFO) -> dict[str, StreamInfo]:
    infos = {"eeg": info}
    for node in pipeline.nodes:
        infos[node.name] = node.plugin(node.config).prepare(infos[node.input])
    return infos


def test_nodes_that_shed_load_or_run_elsewhere_are_not_counted(sleepy: ModuleType) -> None:
    nodes = (
        _sleepy_node(sleepy, 'on_overrun = "skip"').replace('"slow"', '"skipper"')
        + _sleepy_node(sleepy, 'isolation = "process"').replace('"slow"', '"isolated"')
        + BANDPASS
    )
    pipeline = _parsed(nodes)
    estimate = estimate_load(pipeline.nodes, _infos(pipeline), 1.0)
    by_name = {c.node: c for c in estimate.nodes}
    assert not by_name["skipper"].counted
    assert "sheds load" in by_name["skipper"].note
    assert not by_name["isolated"].counted
    assert "own process" in by_name["isolated"].note
    assert by_name["bandpass"].counted
    assert estimate.total == by_name["bandpass"].load
    assert len(sleepy.INSTANCES) == 2  # the two made by _infos: neither was measured


def test_a_node_whose_step_fails_on_synthetic_data_is_reported_not_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "raising_mod.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Config:
                budget_ms: float = 1.0

            class Raising:
                Config = Config
                def __init__(self, config): pass
                def prepare(self, info): return info
                def step(self, chunk): raise RuntimeError("no synthetic data, please")
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    pipeline = _parsed('[[nodes]]\nname = "r"\nmodule = "raising_mod:Raising"\n')
    estimate = check_load(pipeline.nodes, _infos(pipeline), 1.0)
    assert estimate is not None
    (cost,) = estimate.nodes
    assert not cost.counted
    assert "RuntimeError" in cost.note
    assert estimate.total == 0.0


def test_an_irregular_input_has_no_rate_to_check() -> None:
    pipeline = _parsed(
        '[[nodes]]\nname = "pick"\nmodule = "pick"\nparams = { channels = ["C3"] }\n'
    )
    irregular = StreamInfo(name="eeg", channel_names=("C3", "C4"), sfreq=0.0)
    estimate = estimate_load(pipeline.nodes, _infos(pipeline, irregular), 1.0)
    (cost,) = estimate.nodes
    assert not cost.counted
    assert "irregular" in cost.note


@pytest.mark.parametrize("value", ["-1", '"x"', "true", "inf"])
def test_max_load_must_be_a_number_of_cores(value: str) -> None:
    head = f"max_load = {value}"
    with pytest.raises(ConfigError, match="cores") as info:
        _parsed(BANDPASS, head=head)
    assert info.value.key == "pipeline.max_load"


def test_run_check_prints_the_estimate_and_refuses_what_prepare_would(
    tmp_path: Path, sleepy: ModuleType
) -> None:
    cheap = tmp_path / "cheap.toml"
    head = '[pipeline]\nname = "c"\n[[inputs]]\nname = "eeg"\nstream = "eeg"\n'
    head += 'endpoint = "ipc:///tmp/bci-bridge-test-unused"\n'
    cheap.write_text(head + BANDPASS)
    slow = tmp_path / "slow.toml"
    slow.write_text(head + BANDPASS + textwrap.dedent(_sleepy_node(sleepy)))
    env_path = f"{tmp_path}"

    def check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bci_bridge", "run", str(path), "--check", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONPATH": env_path},
        )

    out = check(cheap, "--assume-input", "64x1000")
    assert out.returncode == 0, out.stderr
    assert re.search(r"load: bandpass: [0-9.e+-]+ us/sample x 1000 samples/s", out.stdout)
    assert "load: total" in out.stdout
    unknown = check(cheap)
    assert unknown.returncode == 0, unknown.stderr
    assert "load: not estimated: a stream is unknown without data" in unknown.stdout
    assert "load: total" not in unknown.stdout
    refused = check(slow, "--assume-input", "3x250")
    assert refused.returncode == 2
    assert refused.stdout == ""
    assert "pipeline.max_load: this pipeline cannot keep up" in refused.stderr
    assert re.search(r"slow: [0-9.e+]+ us/sample x 250 samples/s", refused.stderr)
    bad = check(cheap, "--assume-input", "64at250")
    assert bad.returncode == 2
    assert "CHANNELSxHZ" in bad.stderr


def test_a_fan_in_node_is_measured_on_its_sources_side_by_side() -> None:
    """A fan-in node's module sees every source's channels; so must its load measurement."""
    pipeline = parse_pipeline(
        tomllib.loads(
            textwrap.dedent(
                """
                [pipeline]
                name = "t"
                [[inputs]]
                name = "eeg"
                stream = "eeg"
                endpoint = "ipc:///tmp/unused-eeg"
                [[inputs]]
                name = "emg"
                stream = "emg"
                endpoint = "ipc:///tmp/unused-emg"
                [[nodes]]
                name = "both"
                module = "pick"
                inputs = ["eeg", "emg"]
                params = { channels = ["C3", "EMG1"] }
                """
            )
        )
    )
    eeg = StreamInfo(name="eeg", channel_names=("C3", "C4"), sfreq=250.0)
    emg = StreamInfo(name="emg", channel_names=("EMG1",), sfreq=250.0)
    both = StreamInfo(name="both", channel_names=("C3", "C4", "EMG1"), sfreq=250.0)
    infos = {"eeg": eeg, "emg": emg}
    (alone,) = estimate_load(pipeline.nodes, infos, 1.0).nodes
    assert not alone.counted  # EMG1 is not in the first source: prepare refuses it
    (cost,) = estimate_load(pipeline.nodes, infos, 1.0, {"both": both}).nodes
    assert cost.counted, cost.note
    assert cost.samples_per_s == 250.0
