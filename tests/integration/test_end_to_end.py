"""The whole path on real parts: synthetic array -> LSL -> bridge -> ZeroMQ -> runtime -> client.

Run in one process with threads (so the test can see everything), on real LSL outlets and
inlets, real ZeroMQ sockets on ipc://, and the demo's real ONNX decoder.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.config import load_pipeline
from bci_bridge.device_host import host_device
from bci_bridge.wire import Kind
from decoders.offline import run_chain
from devices.synthetic import Synthetic, SyntheticConfig
from runtime.runner import Runtime, RuntimeOptions

PIPELINE = Path(str(files("decoders") / "demo" / "pipeline.toml"))


def test_every_sample_is_accounted_for_and_online_equals_offline(
    stream_name: str, ipc_dir: Path
) -> None:
    in_ep, out_ep = f"ipc://{ipc_dir}/in", f"ipc://{ipc_dir}/out"
    pipeline = load_pipeline(
        PIPELINE,
        [
            f"inputs[0].endpoint={in_ep}",
            f"inputs[0].stream={stream_name}",
            f"outputs[0].zmq={out_ep}",
            "outputs[0].lsl=",
        ],
    )
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.demo.classifier")
    client.connect(out_ep)

    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
    )
    runtime_worker = Worker(runtime.run)
    runtime_worker.start()
    bridge = Bridge(
        BridgeConfig(name=stream_name, endpoint=in_ep, wait_subscribers=1, resolve_timeout_s=20)
    )
    bridge_worker = Worker(bridge.run)
    bridge_worker.start()
    config = SyntheticConfig(name=stream_name, seed=7, chunk_size=5)
    device_worker = Worker(
        lambda stop: host_device(Synthetic(config), stop=stop, duration_s=3.0, wait_consumer_s=20)
    )
    device_worker.start()

    device_worker.join(30)
    sent = device_worker.finish()
    bridge_worker.finish()  # drains the inlet, then ends the stream
    frames = collect(client, b"out.demo.classifier")
    summary = runtime_worker.finish()
    client.close()

    assert sent.samples_sent >= 3 * 250 - 5
    assert summary["samples_received"] == sent.samples_sent
    assert summary["samples_lost"] == 0
    assert summary["frames_malformed"] == 0

    outputs = [f for f in frames if f.kind is Kind.DATA]
    got = np.concatenate([f.data for f in outputs])
    got_ts = np.concatenate([f.timestamps for f in outputs])
    assert got.shape[1] == 3
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)  # class probabilities

    # Each output carries the timestamp of a real input sample: the newest one behind it.
    k = (got_ts - sent.first_timestamp) * 250.0
    np.testing.assert_allclose(k, np.round(k), atol=1e-3)
    assert np.all(np.diff(got_ts) > 0)

    # The same samples, made offline by the same seed, through the same modules.
    device = Synthetic(SyntheticConfig(name=stream_name, seed=7, realtime=False))
    device.open()
    data, _, _ = device.generate(sent.samples_sent)
    stamps = sent.first_timestamp + np.arange(sent.samples_sent) / 250.0
    expected, expected_ts, _ = run_chain(pipeline.nodes, device.info(), data, stamps, chunk_size=5)
    assert len(expected) == len(got)
    np.testing.assert_allclose(got_ts, expected_ts, atol=1e-6)
    np.testing.assert_allclose(got, expected, atol=1e-4)
