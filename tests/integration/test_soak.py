"""Soak: 64 channels at 1 kHz through bridge, runtime (band-pass, band power) and a client.

Real processes (:mod:`rig`): the synthetic device host, ``bci-bridge bridge``, ``bci-bridge
run`` with a band-pass and a band-power node, and a client of the runtime's output. While it
runs, the runtime's resident memory is sampled from ``/proc/PID/status``; after a warm-up its
growth must stay below :data:`GROWTH_MB`. At the end nothing is lost anywhere and the outputs
are counted exactly against the inputs: every sample the bridge sent reached the band-pass,
and the band power emitted one row per hop once its first window was full, all of which the
client received, in order.

The CI-sized run (25 s) always runs; the 10-minute one is marked ``soak`` and runs only when
asked (``pytest -m soak``, or ``BCI_BRIDGE_SOAK=1``; see README, "Faults and soak tests").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from rig import Rig, read_json, rss_mb, wait_for

pytestmark = pytest.mark.slow

N_CH = 64
SFREQ = 1000.0
CHUNK = 10  # samples per push of the device host (10 ms)
WINDOW, HOP = 1000, 100  # band power: 1 s windows every 0.1 s (NODES), in samples
#: Largest growth of the runtime's resident memory after the warm-up, MiB.
GROWTH_MB = 8.0

NODES = """
[[nodes]]
name = "filter"
module = "bandpass"
params = { low = 1.0, high = 40.0, order = 4 }

[[nodes]]
name = "power"
module = "bandpower"
params = { bands = [[8.0, 13.0], [13.0, 30.0]], window_s = 1.0, hop_s = 0.1 }
"""


@pytest.fixture
def rig(tmp_path: Path, ipc_dir: Path, stream_name: str) -> Iterator[Rig]:
    setup = Rig(tmp_path, ipc_dir, stream_name)
    try:
        yield setup
    finally:
        setup.close()


def soak(rig: Rig, duration_s: float, warmup_s: float) -> dict[str, float]:
    """Run the setup ``duration_s`` after a warm-up of ``warmup_s``; check it; return memory."""
    pipeline = rig.pipeline(NODES, "power")
    client, out = rig.subscriber("out.rig.power")
    device, _ = rig.device(channels=N_CH, rate=SFREQ, chunk=CHUNK, seed=5)
    bridge, bridge_summary = rig.bridge()
    runtime, runtime_summary = rig.runtime(pipeline)
    procs = (client, device, bridge, runtime)
    wait_for(lambda: Path(f"{out}.ready").exists(), "the first band power row", procs)
    time.sleep(warmup_s)
    warm = rss_mb(runtime.pid)
    peak = warm
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        for proc in procs:
            assert proc.alive, f"{proc.name} exited ({proc.returncode}):\n{proc.log()}"
        peak = max(peak, rss_mb(runtime.pid))
        time.sleep(0.5)
    last = rss_mb(runtime.pid)
    gone = bridge.log().count("is gone")
    assert device.interrupt() == 0, device.log()
    wait_for(lambda: bridge.log().count("is gone") > gone, "the bridge to see the device go")
    assert bridge.interrupt() == 0, bridge.log()
    assert runtime.wait() == 0, runtime.log()
    assert client.wait() == 0, client.log()

    sent = read_json(bridge_summary)["samples"]
    summary = read_json(runtime_summary)
    (inp,) = summary["inputs"]
    # Nothing lost, dropped or left behind anywhere.
    assert inp["samples_received"] == sent
    assert sent >= (warmup_s + duration_s) * SFREQ * 0.5
    lost = ("samples_lost", "samples_lost_upstream", "samples_dropped_queue", "samples_unprocessed")
    assert {k: inp[k] for k in lost} == dict.fromkeys(lost, 0)
    assert (inp["frames_malformed"], inp["frames_late"], inp["samples_nonfinite"]) == (0, 0, 0)
    nodes = summary["nodes"]
    assert nodes["filter"]["samples_in"] == nodes["filter"]["outputs"] == sent
    # One band power row per hop once the first window is full, every one received in order.
    rows = 1 + (sent - WINDOW) // HOP
    assert nodes["power"]["outputs"] == rows
    assert nodes["filter"]["errors"] == nodes["power"]["errors"] == 0
    (output,) = summary["outputs"]
    assert output["sent"] == rows
    frames, samples, gaps, first = np.load(out)["counts"]
    assert (int(samples), int(gaps), int(first)) == (rows, 0, 0)
    assert frames <= rows
    # Memory: flat after the warm-up (shown with pytest -s).
    print(f"runtime RSS: {warm:.1f} MiB after the warm-up, peak {peak:.1f}, last {last:.1f}")
    assert peak - warm < GROWTH_MB, f"runtime grew {peak - warm:.1f} MiB after the warm-up"
    return {"warm_mb": warm, "peak_mb": peak, "last_mb": last}


def test_soak_ci_sized(rig: Rig) -> None:
    soak(rig, duration_s=20.0, warmup_s=5.0)


@pytest.mark.soak
def test_soak_ten_minutes(rig: Rig) -> None:
    soak(rig, duration_s=600.0, warmup_s=30.0)
