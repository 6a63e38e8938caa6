"""mne-lsl's one-hot annotation streams work as marker inputs, read directly or bridged."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pylsl
import pytest
import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.config import parse_pipeline
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind
from runtime.annotations import is_onehot_markers, onehot_labels
from runtime.runner import Runtime, RuntimeOptions

DESCRIPTIONS = ("left", "right", "blink")


def test_onehot_rows_become_labels_in_time_then_channel_order() -> None:
    data = np.array(
        [[0, 0, 0], [1.5, 0, 0], [0, 2.0, 0.1], [0, np.nan, 0], [0, 0, -1]], dtype=np.float32
    )
    stamps = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    labels, at = onehot_labels(data, stamps, DESCRIPTIONS)
    assert labels == ("left", "right", "blink", "blink")
    np.testing.assert_array_equal(at, [2.0, 3.0, 3.0, 5.0])
    none, empty = onehot_labels(np.zeros((2, 3), np.float32), stamps[:2], DESCRIPTIONS)
    assert none == ()
    assert empty.shape == (0,)


def test_only_irregular_float_streams_are_onehot_markers() -> None:
    names = DESCRIPTIONS
    assert is_onehot_markers(StreamInfo(name="a", channel_names=names, sfreq=0.0))
    assert is_onehot_markers(StreamInfo(name="a", channel_names=names, sfreq=0.0, dtype="float64"))
    assert not is_onehot_markers(StreamInfo(name="a", channel_names=names, sfreq=250.0))
    assert not is_onehot_markers(StreamInfo(name="a", channel_names=names, sfreq=0, dtype="int32"))


@pytest.mark.parametrize("route", ["lsl", "bridge"])
def test_onehot_annotations_trigger_epochs_by_description(
    route: str, stream_name: str, ipc_dir: Path
) -> None:
    info = StreamInfo(name=stream_name, channel_names=("C3", "C4"), sfreq=100.0)
    # As mne-lsl's player streams annotations: irregular float32, one channel per description.
    ann = StreamInfo(
        name=f"{stream_name}-annotations",
        type="annotations",
        channel_names=DESCRIPTIONS,
        sfreq=0.0,
    )
    outlet = pylsl.StreamOutlet(to_lsl(info))
    ann_outlet = pylsl.StreamOutlet(to_lsl(ann))
    out_ep, ann_ep = f"ipc://{ipc_dir}/out", f"ipc://{ipc_dir}/ann"
    markers_input = (
        {"name": "ann", "lsl": ann.name}
        if route == "lsl"
        else {"name": "ann", "stream": ann.name, "endpoint": ann_ep}
    )
    pipeline = parse_pipeline(
        {
            "pipeline": {"name": "onehot"},
            "inputs": [{"name": "eeg", "lsl": stream_name}, markers_input],
            "nodes": [
                {
                    "name": "epoch",
                    "module": "epoch",
                    "input": "eeg",
                    "markers": "ann",
                    "params": {"tmax": 0.2, "labels": ["left", "right"]},
                }
            ],
            "outputs": [{"node": "epoch", "zmq": out_ep}],
        }
    )
    client = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, b"out.onehot.epoch")
    client.connect(out_ep)
    runtime = Runtime(
        pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
    )
    worker = Worker(runtime.run)
    bridge = None
    if route == "bridge":
        bridge = Worker(
            Bridge(BridgeConfig(name=ann.name, endpoint=ann_ep, wait_subscribers=1)).run
        )
        bridge.start()
    worker.start()
    assert outlet.wait_for_consumers(20)
    assert ann_outlet.wait_for_consumers(20)

    rng = np.random.default_rng(2)
    data = rng.standard_normal((400, 2)).astype(np.float32)
    stamps = 50.0 + np.arange(400) / 100.0
    # left at sample 50, a blink (not an epoch label) at 120, right at 200, right+blink at 300.
    for k, row in ((50, [1.0, 0, 0]), (120, [0, 0, 0.3]), (200, [0, 2.0, 0]), (300, [0, 1, 1])):
        ann_outlet.push_sample(np.asarray(row, np.float32), float(stamps[k]))
    for k in range(0, 400, 4):
        outlet.push_chunk(data[k : k + 4], float(stamps[k + 3]))
    deadline = time.monotonic() + 20
    while runtime.inputs["eeg"].samples_received < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    deadline = time.monotonic() + 20
    while runtime.inputs["ann"].samples_received < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    del outlet, ann_outlet  # the sources go: the direct inputs end
    if bridge is not None:
        bridge.finish()  # the bridged input ends with EOS
    frames = collect(client, b"out.onehot.epoch")
    summary = worker.finish()
    client.close()

    assert summary["samples_lost"] == 0
    epochs = np.concatenate([f.data for f in frames if f.kind is Kind.DATA]).reshape(-1, 20, 2)
    np.testing.assert_array_equal(epochs, np.stack([data[50:70], data[200:220], data[300:320]]))
    assert summary["nodes"]["epoch"]["module_stats"]["epochs"] == 3
