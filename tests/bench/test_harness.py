"""The harness's own parts: topologies, the client's pull format, CPU of a process tree.

No timing assertions: CPU is checked as CPU seconds a child was made to spend (a lower bound),
never as wall time.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import psutil
import pylsl
import pytest

from bci_bridge.bench.children import Child, CpuMeter
from bci_bridge.bench.client import _lsl_dtype
from bci_bridge.bench.pipelines import pipeline_toml
from bci_bridge.bench.scenarios import SCENARIOS
from bci_bridge.config import parse_pipeline


def test_relay_and_wearable_read_lsl_in_the_runtime_the_rest_through_a_bridge(
    tmp_path: Path,
) -> None:
    for s in SCENARIOS.values():
        in_ep = None if s.one_process else "ipc:///tmp/x-in"
        out = "x-out" if s.output == "lsl" else "ipc:///tmp/x-out"
        text = pipeline_toml(s, stream="x", in_endpoint=in_ep, out=out, cache_dir=tmp_path)
        (inp,) = parse_pipeline(tomllib.loads(text)).inputs
        assert (inp.stream, inp.lsl, inp.endpoint) == ("x", s.one_process, in_ep)
        assert set(s.topology) == {"bci-bridge", "floor"}
        assert all(t.startswith("one process") == s.one_process for t in s.topology.values())
    one = {name for name, s in SCENARIOS.items() if s.one_process}
    assert one == {"relay-64x250", "relay-64x1000", "wearable-8x250"}


def test_lsl_formats_map_to_their_numpy_dtypes() -> None:
    assert _lsl_dtype(pylsl.cf_float32) is np.float32
    assert _lsl_dtype(pylsl.cf_double64) is np.float64
    assert _lsl_dtype(pylsl.cf_int16) is np.int16
    with pytest.raises(SystemExit, match="not numeric"):
        _lsl_dtype(pylsl.cf_string)


@pytest.mark.slow
def test_client_times_a_float64_stream_sample_by_sample(stream_name: str, tmp_path: Path) -> None:
    # Timeflux and ezmsg push float64: the client must pull them as such, every sample.
    info = pylsl.StreamInfo(stream_name, "EEG", 3, 250.0, pylsl.cf_double64, stream_name)
    outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)
    ages = tmp_path / "ages.npz"
    client = Child(
        "client",
        [
            sys.executable,
            "-m",
            "bci_bridge.bench.client",
            "--lsl",
            stream_name,
            "--out",
            str(ages),
        ],
        tmp_path / "client.log",
    )
    try:
        client.expect("ready", 30.0)
        assert outlet.wait_for_consumers(10.0)
        data = np.arange(40 * 3, dtype=np.float64).reshape(40, 3) + 1e9  # not float32-exact
        stamps = pylsl.local_clock() - np.arange(40)[::-1] * 0.004
        for row, ts in zip(data, stamps, strict=True):
            outlet.push_sample(row, float(ts))
        client.send("end 40")
        result = client.expect_json("outputs", 30.0)
    finally:
        client.close()
    assert (result["outputs"], result["samples"], result["malformed"]) == (40, 40, 0)
    with np.load(ages) as z:
        assert z["age_ms"].shape == (40,)
        # The oldest sample was stamped 156 ms before the newest: ages keep that order.
        assert z["age_ms"][0] > z["age_ms"][-1]


_TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", '''
import pathlib, sys, time
go, spent = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
until = time.process_time() + 0.4
while time.process_time() < until:
    pass
spent.write_text("spent")
time.sleep(60)
''', *sys.argv[1:]])
print("ready", flush=True)
child.wait()
time.sleep(60)
"""


@pytest.mark.slow
def test_cpu_meter_counts_grandchildren_and_keeps_those_that_vanish(tmp_path: Path) -> None:
    go, spent_flag = tmp_path / "go", tmp_path / "spent"
    argv = [sys.executable, "-c", _TREE, str(go), str(spent_flag)]
    root = Child("tree", argv, tmp_path / "tree.log")
    try:
        root.expect("ready", 20.0)
        meter = CpuMeter([root])
        meter.start()
        go.write_text("go")  # the grandchild spends 0.4 s of CPU only after this
        deadline = time.monotonic() + 30.0
        while not spent_flag.exists() and time.monotonic() < deadline:
            meter.sample_rss()
            time.sleep(0.05)
        assert spent_flag.exists(), root.tail()
        cores, wall = meter.cores()
        spent = cores * wall
        assert spent >= 0.35, json.dumps({"cpu_s": spent, "wall_s": wall})  # 10 ms ticks
        assert meter.rss_peak_mb > 0
        (grandchild,) = psutil.Process(root.pid).children()
        grandchild.kill()
        grandchild.wait(10.0)
        cores_after, wall_after = meter.cores()  # it vanished: no error, its time kept
        assert cores_after * wall_after >= spent
    finally:
        root.close()
