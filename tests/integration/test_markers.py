"""Markers over the whole path: a marker stream bridged beside the data triggers epochs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.config import parse_pipeline
from bci_bridge.device_host import host_device
from bci_bridge.wire import Kind
from devices.synthetic import Synthetic, SyntheticConfig
from runtime.runner import Runtime, RuntimeOptions


def test_marker_stream_triggers_one_epoch_per_trial(stream_name: str, ipc_dir: Path) -> None:
    eeg_ep, cue_ep, out_ep = (f"ipc://{ipc_dir}/{n}" for n in ("eeg", "cues", "out"))
    pipeline = parse_pipeline(
        {
            "pipeline": {"name": "ep"},
            "inputs": [
                {"name": "eeg", "stream": stream_name, "endpoint": eeg_ep},
                {"name": "cues", "stream": f"{stream_name}-Markers", "endpoint": cue_ep},
            ],
            "nodes": [
                {
                    "name": "epoch",
                    "module": "epoch",
                    "markers": "cues",
                    "params": {"tmin": 0.0, "tmax": 0.5},
                },
            ],
            "outputs": [{"node": "epoch", "zmq": out_ep}],
        }
    )
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.ep.epoch")
    client.connect(out_ep)
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
    )
    runtime_worker = Worker(runtime.run)
    runtime_worker.start()
    bridges = [
        Worker(
            Bridge(
                BridgeConfig(name=name, endpoint=ep, wait_subscribers=1, resolve_timeout_s=20)
            ).run
        )
        for name, ep in ((stream_name, eeg_ep), (f"{stream_name}-Markers", cue_ep))
    ]
    for b in bridges:
        b.start()
    config = SyntheticConfig(name=stream_name, seed=3, chunk_size=5, trial_s=1.0)
    device = Worker(
        lambda stop: host_device(Synthetic(config), stop=stop, duration_s=4.6, wait_consumer_s=20)
    )
    device.start()
    device.join(30)
    sent = device.finish()
    for b in bridges:
        b.finish()
    frames = collect(client, b"out.ep.epoch")
    summary = runtime_worker.finish()
    client.close()

    assert sent.markers_sent == 5  # trials start at 0, 1, 2, 3, 4 s
    assert summary["samples_lost"] == 0
    data = np.concatenate([f.data for f in frames if f.kind is Kind.DATA])
    stamps = np.concatenate([f.timestamps for f in frames if f.kind is Kind.DATA])
    epochs = data.reshape(-1, 125, data.shape[1])
    assert len(epochs) == 5
    assert summary["nodes"]["epoch"]["module_stats"] == {"epochs": 5, "missed": 0, "pending": 0}

    # Each epoch is the 0.5 s of samples from its trial's first sample: same as offline.
    offline = Synthetic(SyntheticConfig(name=stream_name, seed=3, trial_s=1.0, realtime=False))
    offline.open()
    signal, _, _ = offline.generate(sent.samples_sent)
    for k, epoch in enumerate(epochs):
        np.testing.assert_allclose(epoch, signal[k * 250 : k * 250 + 125], atol=1e-4)
    np.testing.assert_allclose(stamps[::125], sent.first_timestamp + np.arange(5), atol=1e-6)
