"""Deterministic counters of a scenario's hot path: allocations per frame, measured in-process.

The scenario's pipeline runs in this process on the runtime's own code path: seeded frames are
encoded in the wire format, sent over an ``inproc://`` ZeroMQ socket, received zero-copy and
handed to the runtime's frame handler (decode, checks, sample accounting, every node, the
output's encode and send). After a warm-up (windows full, buffers grown), each measured frame
is traced with :mod:`tracemalloc`:

``allocs_per_frame``
    The number of numpy array buffers (numpy's :mod:`tracemalloc` domain) alive when the output
    leaves (a probe sink called after the real output sinks) that were not alive before the
    frame: every array the path made and still holds at that moment, the decoded frame's
    views excluded (they borrow ZeroMQ's buffer). Median over frames that produced an output.
``bytes_allocated_per_frame``
    Their total size, bytes. A new copy of the data on the hot path adds one buffer and its
    size to both.
``peak_bytes_per_frame``
    The high-water mark of all traced memory above its level before the frame while the
    frame is handled, transient temporaries included (median over frames). Reported, not
    gated: Python objects whose lifetime depends on the interpreter's free lists move it by a
    few hundred bytes from run to run.

The first two are pure functions of the code path and the frame shapes: the runtime's clocks
are replaced by fixed ticks during the replay, so that no timing-dependent branch changes what
is allocated, no cyclic collection can strike mid-frame, and each probed frame starts once the
outputs that left without a copy were released by pyzmq's thread. So the gate holds them to the
baseline with no tolerance. The relay and wearable scenarios read LSL in the runtime process
when timed; here every scenario enters through the ZeroMQ input, the frame format they share.
"""

from __future__ import annotations

import gc
import itertools
import math
import threading
import time
import tomllib
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import zmq

from bci_bridge.bench.pipelines import output_node, pipeline_toml
from bci_bridge.bench.scenarios import Scenario
from bci_bridge.config import parse_pipeline
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.wire import encode_data
from runtime.runner import Runtime, RuntimeOptions

__all__ = ["measure_counters"]

#: Frames measured after the warm-up.
MEASURED = 24
#: Longest wait for buffers sent without a copy to be released (seconds).
SETTLE_S = 0.2
#: At most this many frames in the probe's pass.
MAX_PROBED = 2000
#: Distinct seeded chunks cycled through (so that no frame's data is allocated while measured).
POOL = 16


def _warmup_frames(s: Scenario) -> int:
    """Frames to run before measuring: windowed work needs its 1 s window full, then some."""
    per_second = math.ceil(s.rate / s.chunk_size)
    return per_second + 64 if s.work in ("decode", "wearable") else 64


def measure_counters(
    s: Scenario, *, measured: int = MEASURED, cache_dir: Path | None = None
) -> dict[str, int]:
    """Replay seeded frames through the scenario's pipeline; return the allocation counters.

    Parameters
    ----------
    s : Scenario
        The scenario whose pipeline to run.
    measured : int
        Frames to trace after the warm-up.
    cache_dir : Path, optional
        Where the scenario's ONNX model is cached.

    Raises
    ------
    RuntimeError
        If the runtime refused a replayed frame, a node raised, or no output came.

    Returns
    -------
    dict
        ``allocs_per_frame`` (numpy buffers) and ``bytes_allocated_per_frame`` (bytes), see
        the module docstring; ``peak_bytes_per_frame`` (reported, not gated: small Python
        objects move it by a few hundred bytes); ``frames_probed`` and the ``outputs_probed``
        among them.
    """
    ctx: zmq.Context[Any] = zmq.Context()
    tag = f"{id(ctx):x}"
    stream = f"bench-counters-{s.name}"
    in_ep = f"inproc://counters-in-{tag}"
    out = f"bench-counters-{tag}-out" if s.output == "lsl" else f"inproc://counters-out-{tag}"
    text = pipeline_toml(s, stream=stream, in_endpoint=in_ep, out=out, cache_dir=cache_dir)
    pipeline = parse_pipeline(tomllib.loads(text), source=f"<bench {s.name}>")
    runtime = Runtime(pipeline, RuntimeOptions(), context=ctx)
    send = ctx.socket(zmq.PAIR)
    recv = ctx.socket(zmq.PAIR)
    try:
        send.bind(in_ep)
        recv.connect(in_ep)
        return _replay(s, runtime, stream, send, recv, measured)
    finally:
        for pub in runtime.publishers.values():
            pub.socket.close(linger=0)
        for lout in runtime.lsl_outputs:
            lout.close()
        send.close(linger=0)
        recv.close(linger=0)
        ctx.term()


def _replay(
    s: Scenario,
    runtime: Runtime,
    stream: str,
    send: zmq.Socket[Any],
    recv: zmq.Socket[Any],
    measured: int,
) -> dict[str, int]:
    # The runtime's set-up and frame handler, without its receive loop (in-process, no timing).
    runtime._wire_graph()
    state = runtime.inputs["eeg"]
    state.info = StreamInfo(
        name=stream,
        channel_names=tuple(f"ch{i}" for i in range(s.channels)),
        sfreq=s.rate,
        dtype="float32",
    )
    runtime._prepare()
    _steady_clocks(runtime)
    probe = _Probe()
    runtime.nodes[output_node(s)].sinks.append(probe)
    rng = np.random.default_rng(0)
    k = s.chunk_size
    pool = [(rng.standard_normal((k, s.channels)) * 10.0).astype(np.float32) for _ in range(POOL)]
    topic = f"data.{stream}".encode()
    handle = _frame_handler(runtime)
    warmup = _warmup_frames(s)
    peaks: list[int] = []
    blocks: list[int] = []
    held: list[int] = []
    # Two passes after the warm-up: peaks with the probe idle (its snapshots allocate), then
    # the probe's counts, until ``measured`` frames gave an output (band power: every hop).
    total = warmup + measured + MAX_PROBED
    probed = quiet = 0
    try:
        for i, data in zip(range(total), itertools.cycle(pool), strict=False):
            if len(blocks) >= measured:
                break
            ts = (np.arange(i * k, (i + 1) * k, dtype=np.float64) + 1.0) / s.rate
            send.send_multipart(encode_data(topic, data, ts, i, i * k, 0.0), copy=False)
            del ts
            if i < warmup:
                handle(recv.recv_multipart(copy=False))
                continue
            if i == warmup:  # no cyclic collection mid-frame: it would free blocks at random
                gc.collect()
                gc.disable()
                tracemalloc.start()
            if i < warmup + measured:
                tracemalloc.reset_peak()
                before = tracemalloc.get_traced_memory()[0]
                handle(recv.recv_multipart(copy=False))
                peaks.append(tracemalloc.get_traced_memory()[1] - before)
                continue
            if probed == 0:
                time.sleep(SETTLE_S)
                quiet = _arrays()[0]
            _settle(quiet)
            probe.arm()
            handle(recv.recv_multipart(copy=False))
            probed += 1
            if probe.blocks is not None:
                blocks.append(probe.blocks)
                held.append(probe.bytes)
            probe.disarm()
    finally:
        tracemalloc.stop()
        gc.enable()
    if state.frames_malformed or state.samples_lost or runtime.nodes[output_node(s)].errors:
        raise RuntimeError(f"{s.name}: the replay was refused: {runtime.summary()}")
    if not blocks:
        raise RuntimeError(f"{s.name}: no output in {probed} replayed frames: {runtime.summary()}")
    return {
        "allocs_per_frame": int(np.median(blocks)),
        "bytes_allocated_per_frame": int(np.median(held)),
        "peak_bytes_per_frame": int(np.median(peaks)),
        "frames_probed": probed,
        "outputs_probed": len(blocks),
    }


def _frame_handler(runtime: Runtime) -> Callable[[list[Any]], None]:
    """Return the runtime's handling of one received frame, nodes and outputs included.

    The runtime's receive loop is not used (it blocks and times); its per-frame steps are,
    through private methods: this adapter is the one place that knows them, and the counter
    tests fail loudly (no output probed, or a refused replay) if they move. A runtime that
    queues frames on receive and runs its nodes on the queue (``_run_queued``) gets that
    second step called after each frame.
    """
    handle: Callable[[list[Any]], None] = runtime._handle
    run_queued: Callable[..., Any] | None = getattr(runtime, "_run_queued", None)
    tick: Callable[[], None] | None = getattr(runtime, "_tick_zmq", None)
    if run_queued is None:
        return handle
    never = threading.Event()

    def handle_and_run(parts: list[Any]) -> None:
        if tick is not None:
            tick()
        handle(parts)
        run_queued(never)

    return handle_and_run


def _settle(quiet: int) -> None:
    """Wait (up to :data:`SETTLE_S`) until no more numpy buffers are alive than ``quiet``.

    An output of 64 KiB or more leaves without a copy: pyzmq holds it until libzmq is done
    with it and releases it from its own thread, a moment later. Counting before that would
    count it in the next frame's baseline.
    """
    deadline = time.monotonic() + SETTLE_S
    while _arrays()[0] > quiet and time.monotonic() < deadline:
        time.sleep(0.001)


class _Ticks:
    """A clock that advances by a fixed step per reading.

    Timing-dependent branches of the runtime (a new maximum in a histogram, a budget overrun)
    then take the same path on every run, so that the counters depend on the code path only.
    """

    def __init__(self, start: float, step: float) -> None:
        self.now = start
        self.step = step

    def ns(self) -> int:
        """Return the next reading as integer nanoseconds."""
        self.now += self.step
        return int(self.now)

    def s(self) -> float:
        """Return the next reading in seconds."""
        self.now += self.step
        return self.now


def _steady_clocks(runtime: Runtime) -> None:
    """Give the runtime's nodes and ZeroMQ outputs :class:`_Ticks` clocks (1 us per call)."""
    for node in runtime.nodes.values():
        node._perf = _Ticks(1e9, 1000.0).ns
    for outs in runtime.zmq_outputs.values():
        for zout in outs:
            zout._clock = _Ticks(1.0, 1e-6).s


class _Probe:
    """A sink that counts the traced blocks alive when the output leaves, less those before."""

    def __init__(self) -> None:
        self.start = (0, 0)
        self.blocks: int | None = None
        self.bytes = 0

        self.armed = False

    def arm(self) -> None:
        """Count the blocks alive now (before the frame); count again at the output."""
        self.blocks = None
        self.start = _arrays()
        self.armed = True

    def disarm(self) -> None:
        """Stop counting (the sink does nothing)."""
        self.armed = False

    def __call__(self, chunk: Chunk) -> None:
        if self.armed:
            n, size = _arrays()
            self.blocks, self.bytes = n - self.start[0], size - self.start[1]


#: The :mod:`tracemalloc` domain numpy reports its array buffers in.
NUMPY_DOMAIN = 389047


def _arrays() -> tuple[int, int]:
    """Return the number and total size (bytes) of the numpy buffers traced now."""
    snap = tracemalloc.take_snapshot().filter_traces(
        (tracemalloc.DomainFilter(True, NUMPY_DOMAIN),)
    )
    traces = snap.traces
    return len(traces), sum(t.size for t in traces)
