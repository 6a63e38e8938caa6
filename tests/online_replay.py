"""Replay a recording online: LSL, one bridge per stream, the runtime, a client of its output.

The online half of the online-equals-offline tests: every part real (LSL on the loopback
config, ZeroMQ on the test's ``ipc://`` endpoints, the runtime in a thread), the replay ending
by itself after its last sample, and the runtime stopping at end-of-stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zmq
from helpers import Worker, collect

from bci_bridge.bridge import Bridge, BridgeConfig
from bci_bridge.config import PipelineConfig
from bci_bridge.device_host import HostStats, host_device
from bci_bridge.wire import Frame
from devices.replay import Replay, ReplayConfig
from runtime.runner import Runtime, RuntimeOptions

__all__ = ["OnlineRun", "replay_online"]


@dataclass(frozen=True)
class OnlineRun:
    """What one online replay gave.

    Attributes
    ----------
    sent : HostStats
        What the device host pushed to LSL (samples, markers, first timestamp).
    replay_finished : bool
        Whether the replay reached the recording's end.
    frames : list of Frame
        Every frame the client got on the output topic, end-of-stream last.
    summary : dict
        The runtime's summary (inputs, nodes, losses).
    """

    sent: HostStats
    replay_finished: bool
    frames: list[Frame]
    summary: dict[str, Any]


def replay_online(
    pipeline: PipelineConfig,
    recording: Path,
    bridges: Sequence[tuple[str, str]],
    out_endpoint: str,
    topic: bytes,
    *,
    chunk: int,
    speed: float,
) -> OnlineRun:
    """Replay ``recording`` through ``pipeline`` and collect its output on ``topic``.

    Parameters
    ----------
    pipeline : PipelineConfig
        The runtime's pipeline, its inputs on the bridges' endpoints.
    recording : Path
        The recording to replay, under the LSL name of ``bridges[0]`` (its markers, if any,
        under ``NAME-Markers``).
    bridges : sequence of (str, str)
        One bridge per LSL stream: ``(stream name, endpoint it publishes on)``.
    out_endpoint : str
        The runtime's ZeroMQ output, where the client subscribes to ``topic``.
    chunk : int
        Samples per replayed chunk.
    speed : float
        Replay speed, times real time.

    Returns
    -------
    OnlineRun
        What was sent, and what came out.
    """
    client: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    client.setsockopt(zmq.LINGER, 0)
    client.setsockopt(zmq.SUBSCRIBE, topic)
    client.connect(out_endpoint)
    try:
        runtime = Runtime(
            pipeline, RuntimeOptions(exit_on_eos=True, wait_subscribers=1, info_timeout_s=20)
        )
        runtime_worker = Worker(runtime.run)
        runtime_worker.start()
        bridge_workers = [
            Worker(
                Bridge(
                    BridgeConfig(name=name, endpoint=ep, wait_subscribers=1, resolve_timeout_s=20)
                ).run
            )
            for name, ep in bridges
        ]
        for b in bridge_workers:
            b.start()
        replay = Replay(
            ReplayConfig(path=str(recording), name=bridges[0][0], chunk_size=chunk, speed=speed)
        )
        device = Worker(lambda stop: host_device(replay, stop=stop, wait_consumer_s=20))
        device.start()
        device.join(60)  # the replay ends by itself after its last sample
        sent = device.finish()
        for b in bridge_workers:
            b.finish()
        frames = collect(client, topic)
        summary = runtime_worker.finish()
    finally:
        client.close()
    return OnlineRun(sent=sent, replay_finished=replay.finished, frames=frames, summary=summary)
