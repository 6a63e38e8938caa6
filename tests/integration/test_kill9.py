"""``kill -9`` of each process of a running setup, then a restart: every gap against the truth.

A running setup of real CLI processes (:mod:`rig`): a device host streaming the synthetic
array (``bci-bridge stream synthetic``), a bridge, a runtime passing every channel through,
and the test reading the runtime's output all along; plus, where it is the one killed, a
client of that output (a process) or a recorder. One process is killed with SIGKILL while
data flows, started again about a second later, data flows again, and everything is stopped
cleanly (Ctrl-C, in the order a user would: device, bridge; the runtime ends at EOS).

The truth: the synthetic array is deterministic from its seed, so each sample received is
found in a reference generated offline, which gives its index in the device's stream. A
device session is one contiguous run of the reference (nothing lost inside it); the samples
between two runs are the real gap. The runtime's and the recorder's counters (their
``--summary`` JSON, the XDF files) are compared with it:

- bridge killed: the runtime counts the gap (device indices the bridges never sent) lost;
- device killed: the gap is upstream of the bridge, counted from the LSL timestamps;
- runtime killed: the new runtime reports where it joined and counts nothing before as lost;
- subscriber killed: the runtime loses nothing and its memory stays flat;
- recorder killed: its file reads back with pyxdf up to its last flush, and the restarted
  recorder's file is complete, footer included.

The restart of the bridge with the runtime in the test's process, and the recorder's file
read by bci-bridge's own readers after a kill, are in ``test_bridge_restart.py`` and
``test_record.py``; here every part is its own process.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import pyxdf
from rig import Collector, Proc, Rig, read_json, rss_mb, wait_for

from bci_bridge.wire import Kind
from devices.signals import channel_names
from devices.synthetic import Synthetic, SyntheticConfig

pytestmark = pytest.mark.slow

SFREQ = 250.0
N_CH = 4
CHUNK = 5  # samples per push of the device host
SEED = 11
FLOW = 250  # samples that flow before a kill, and again after the restart (1 s)
RESTART_AFTER_S = 1.0
#: How much a runtime may grow while a client of its output is killed and replaced, MiB.
RSS_SLACK_MB = 10.0


@cache
def reference() -> npt.NDArray[np.float32]:
    """The first 10 minutes of the device's samples, shape (150,000, N_CH), microvolts."""
    device = Synthetic(
        SyntheticConfig(n_channels=N_CH, sfreq=SFREQ, seed=SEED, chunk_size=CHUNK, realtime=False)
    )
    return device.generate(int(600 * SFREQ))[0]


@dataclass(frozen=True)
class Run:
    """A contiguous run of the device's samples: ``n`` of them from index ``start``."""

    start: int
    n: int
    first_time: float  # LSL timestamps of its first and last samples, seconds
    last_time: float

    @property
    def end(self) -> int:
        return self.start + self.n


def runs(data: npt.NDArray[np.float32], stamps: npt.NDArray[np.float64]) -> list[Run]:
    """Split received samples where their timestamps jump; find each part in the reference.

    Fails unless each part is exactly a contiguous piece of the device's stream, regularly
    stamped: nothing lost, duplicated or reordered inside it.
    """
    ref = reference()
    cuts = np.flatnonzero(np.diff(stamps) > 1.5 / SFREQ) + 1
    found = []
    for lo, hi in zip([0, *cuts], [*cuts, len(stamps)], strict=True):
        (at,) = np.flatnonzero((ref == data[lo]).all(axis=1))  # the first sample, once
        np.testing.assert_array_equal(data[lo:hi], ref[at : at + hi - lo])
        np.testing.assert_allclose(
            stamps[lo:hi], stamps[lo] + np.arange(hi - lo) / SFREQ, rtol=0, atol=1e-6
        )
        found.append(Run(int(at), int(hi - lo), float(stamps[lo]), float(stamps[hi - 1])))
    return found


def received(frames: list[Any]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]:
    data = [f for f in frames if f.kind is Kind.DATA]
    return np.concatenate([f.data for f in data]), np.concatenate([f.timestamps for f in data])


def time_gap(before: Run, after: Run) -> int:
    """Samples missing between two runs by their timestamps, at the nominal rate."""
    return round((after.first_time - before.last_time) * SFREQ) - 1


@dataclass
class Setup:
    rig: Rig
    device: Proc
    device_summary: Path
    bridge: Proc
    bridge_summary: Path
    runtime: Proc
    runtime_summary: Path
    collector: Collector

    def flow(self, samples: int = FLOW, *also: Proc) -> None:
        """Wait until ``samples`` more samples came out of the runtime."""
        target = self.collector.samples + samples
        procs = (self.device, self.bridge, self.runtime, *also)
        wait_for(lambda: self.collector.samples >= target, f"{target} samples out", procs)

    def stop(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """Stop the device, then (once the bridge saw it go) the bridge; the runtime follows.

        Returns the device's, the bridge's and the runtime's summaries.
        """
        gone = self.bridge.log().count("is gone")
        assert self.device.interrupt() == 0, self.device.log()
        wait_for(lambda: self.bridge.log().count("is gone") > gone, "the bridge to see it go")
        assert self.bridge.interrupt() == 0, self.bridge.log()
        assert self.runtime.wait() == 0, self.runtime.log()
        assert self.collector.eos.wait(20), "no EOS from the runtime"
        return (
            read_json(self.device_summary),
            read_json(self.bridge_summary),
            read_json(self.runtime_summary),
        )


@pytest.fixture
def setup(tmp_path: Path, ipc_dir: Path, stream_name: str) -> Iterator[Setup]:
    rig = Rig(tmp_path, ipc_dir, stream_name)
    channels = ", ".join(f'"{c}"' for c in channel_names(N_CH))
    pipeline = rig.pipeline(
        f'[[nodes]]\nname = "all"\nmodule = "pick"\nparams = {{ channels = [{channels}] }}',
        "all",
    )
    collector = Collector(rig.out_endpoint, b"out.rig.all")
    try:
        device, device_summary = rig.device(channels=N_CH, rate=SFREQ, chunk=CHUNK, seed=SEED)
        bridge, bridge_summary = rig.bridge()
        runtime, runtime_summary = rig.runtime(pipeline)
        yield Setup(
            rig, device, device_summary, bridge, bridge_summary, runtime, runtime_summary, collector
        )
    finally:
        rig.close()
        collector.close()


def _assert_device_tail_arrived(device: dict[str, Any], last: Run) -> None:
    # Stopped cleanly, the device's last samples reach the runtime (all but one chunk at most).
    assert 0 <= device["samples_sent"] - last.end <= CHUNK


def test_kill_9_of_the_bridge(setup: Setup) -> None:
    setup.flow()
    setup.bridge.kill9()
    time.sleep(RESTART_AFTER_S)
    setup.bridge, setup.bridge_summary = setup.rig.bridge()
    setup.flow()
    device, bridge, summary = setup.stop()

    first, second = runs(*received(setup.collector.frames))
    gap = second.start - first.end  # device samples no bridge sent
    assert gap >= RESTART_AFTER_S * SFREQ * 0.5
    (inp,) = summary["inputs"]
    assert inp["samples_lost"] == gap == time_gap(first, second)
    assert (inp["samples_lost_upstream"], inp["frames_late"], inp["frames_malformed"]) == (0, 0, 0)
    assert (inp["sessions"], inp["samples_received"]) == (1, first.n + second.n)
    assert bridge["samples"] == second.n  # the second bridge's count starts at its start
    _assert_device_tail_arrived(device, second)


def test_kill_9_of_the_device_host(setup: Setup) -> None:
    setup.flow()
    setup.device.kill9()
    time.sleep(RESTART_AFTER_S)
    setup.device, setup.device_summary = setup.rig.device(
        channels=N_CH, rate=SFREQ, chunk=CHUNK, seed=SEED
    )
    setup.flow()
    device, bridge, summary = setup.stop()

    first, second = runs(*received(setup.collector.frames))
    # The restarted device starts its stream again; what it sent before the bridge found it
    # (second.start samples) is part of the gap, with the time no device was running.
    gap = time_gap(first, second)
    assert gap > second.start
    assert gap >= RESTART_AFTER_S * SFREQ
    (inp,) = summary["inputs"]
    assert inp["samples_lost_upstream"] == gap
    assert (inp["samples_lost"], inp["frames_late"], inp["frames_malformed"]) == (0, 0, 0)
    assert inp["samples_received"] == bridge["samples"] == first.n + second.n
    assert bridge["source_lost"] == 2  # the kill, and the clean stop at the end
    _assert_device_tail_arrived(device, second)


def test_kill_9_of_the_runtime(setup: Setup) -> None:
    setup.flow()
    setup.runtime.kill9()
    time.sleep(RESTART_AFTER_S)
    pipeline = setup.rig.folder / "pipeline.toml"
    setup.runtime, setup.runtime_summary = setup.rig.runtime(pipeline)
    setup.flow()
    device, bridge, summary = setup.stop()

    sessions = [f.session for f in setup.collector.frames if f.kind is Kind.DATA]
    assert len(set(sessions)) == 2  # each runtime start is a new session of its output
    cut = sessions.index(sessions[-1])
    (before,) = runs(*received(setup.collector.frames[:cut]))
    (after,) = runs(*received(setup.collector.frames[cut:]))
    (inp,) = summary["inputs"]
    joined = inp["joined_at_index"]
    # The first runtime joined at the bridge's first sample: bridge index = device index - that.
    assert joined == after.start - before.start
    assert joined >= before.n + RESTART_AFTER_S * SFREQ * 0.5
    # The new runtime counts from where it joined: nothing before is its loss, nothing after lost.
    assert (inp["samples_lost"], inp["samples_lost_upstream"], inp["frames_malformed"]) == (0, 0, 0)
    assert inp["samples_received"] == after.n == bridge["samples"] - joined
    _assert_device_tail_arrived(device, after)


def test_kill_9_of_a_subscriber(setup: Setup) -> None:
    setup.flow()
    sub, _ = setup.rig.subscriber("out.rig.all")
    wait_for(lambda: Path(f"{_}.ready").exists(), "the first subscriber to receive", [sub])
    setup.flow(FLOW, sub)
    rss_before = rss_mb(setup.runtime.pid)
    sub.kill9()
    time.sleep(RESTART_AFTER_S)
    sub, out = setup.rig.subscriber("out.rig.all", keep=True)
    wait_for(lambda: Path(f"{out}.ready").exists(), "the second subscriber to receive", [sub])
    setup.flow(FLOW, sub)
    rss_after = rss_mb(setup.runtime.pid)
    device, bridge, summary = setup.stop()
    assert sub.wait() == 0, sub.log()

    # The runtime was not disturbed: one unbroken run, nothing lost, memory flat.
    (run,) = runs(*received(setup.collector.frames))
    (inp,) = summary["inputs"]
    assert (inp["samples_lost"], inp["samples_lost_upstream"], inp["frames_malformed"]) == (0, 0, 0)
    assert inp["samples_received"] == run.n == bridge["samples"]
    (output,) = summary["outputs"]
    assert output["sent"] == run.n
    assert rss_after - rss_before < RSS_SLACK_MB, (rss_before, rss_after)
    # The new subscriber got an unbroken tail of the output, up to its end.
    got = np.load(out)
    _frames, samples, gaps, first = got["counts"]
    assert (gaps, first + samples) == (0, run.n)
    data, stamps = received(setup.collector.frames)
    np.testing.assert_array_equal(got["data"], data[first:])
    np.testing.assert_array_equal(got["timestamps"], stamps[first:])
    _assert_device_tail_arrived(device, run)


def _on_disk(path: Path) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], Any]:
    """The device's samples, timestamps and footer (None) a recorder's file holds now."""
    if not path.exists():
        return np.zeros((0, N_CH), np.float32), np.zeros(0), None
    streams, _ = pyxdf.load_xdf(
        io.BytesIO(path.read_bytes()), synchronize_clocks=False, dejitter_timestamps=False
    )
    if not streams or len(streams[0]["time_stamps"]) == 0:
        return np.zeros((0, N_CH), np.float32), np.zeros(0), None
    (eeg,) = streams
    return eeg["time_series"], eeg["time_stamps"], eeg.get("footer")


def test_kill_9_of_the_recorder(setup: Setup) -> None:
    rec, first_file = setup.rig.recorder()
    wait_for(lambda: len(_on_disk(first_file)[1]) >= FLOW, "samples in the first file", [rec])
    rec.kill9()
    time.sleep(RESTART_AFTER_S)
    rec, second_file = setup.rig.recorder()
    wait_for(lambda: len(_on_disk(second_file)[1]) >= FLOW, "samples in the second file", [rec])
    gone = setup.bridge.log().count("is gone")
    assert setup.device.interrupt() == 0
    device = read_json(setup.device_summary)
    # Everything the device sent reaches the second file (flushed every 0.2 s); then Ctrl-C.
    wait_for(
        lambda: runs(*_on_disk(second_file)[:2])[-1].end >= device["samples_sent"] - CHUNK,
        "the device's last samples in the second file",
        [rec],
    )
    assert rec.interrupt() == 0, rec.log()
    wait_for(lambda: setup.bridge.log().count("is gone") > gone, "the bridge to see it go")
    assert setup.bridge.interrupt() == 0
    assert setup.runtime.wait() == 0

    # The killed recorder's file: an unbroken piece of the stream up to its last flush.
    data, stamps, footer = _on_disk(first_file)
    (killed,) = runs(data, stamps)
    assert killed.n >= FLOW
    assert footer is None
    # The restarted recorder's file: unbroken, up to the device's last sample, with a footer.
    data, stamps, footer = _on_disk(second_file)
    (complete,) = runs(data, stamps)
    assert complete.start > killed.start
    _assert_device_tail_arrived(device, complete)
    assert footer["info"]["sample_count"] == [str(complete.n)]
    # Meanwhile the runtime lost nothing.
    (inp,) = read_json(setup.runtime_summary)["inputs"]
    assert (inp["samples_lost"], inp["samples_lost_upstream"]) == (0, 0)
    (run,) = runs(*received(setup.collector.frames))
    assert inp["samples_received"] == run.n
