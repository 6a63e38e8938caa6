"""The named benchmark scenarios: what streams in, what the chain does, where it goes out.

A scenario is data only; :mod:`bci_bridge.bench.pipelines` turns it into a bci-bridge pipeline
file and :mod:`bci_bridge.bench.floor` into the hand-written floor's work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bci_bridge.errors import ConfigError

__all__ = ["SCENARIOS", "Scenario", "pick_scenarios"]

Work = Literal["relay", "decode", "wide", "wearable", "spikes"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    """One benchmark scenario.

    Parameters
    ----------
    name : str
        ``<work>-<channels>x<rate>``, as given on the command line.
    work : {"relay", "decode", "wide", "wearable", "spikes"}
        ``relay``: 8th-order 8-30 Hz band-pass, LSL out. ``decode``: band-pass, then an
        EEGNet-style ONNX model on the latest 1 s window at every sample, ZeroMQ out. ``wide``:
        common average reference, ZeroMQ out. ``wearable``: band-pass and band power, ZeroMQ out.
        ``spikes``: common average reference, 250-5000 Hz band-pass, threshold crossings at
        -4.5 x a running RMS per channel, counts in 1 ms bins, ZeroMQ out.
    channels : int
        Channels of the stream.
    rate : float
        Sample rate in Hz.
    chunk_size : int
        Samples per LSL push (one push per ``chunk_size / rate`` seconds).
    block_s, quick_block_s : float
        Seconds of streaming per block, in a full and a ``--quick`` run.
    blocks, quick_blocks : int
        Blocks per chain (bci-bridge and floor alternate: ABAB...). The gate decides on the
        median of the per-block ratios: more, shorter blocks give it more to decide on. Each
        block is new processes, so it also samples anew where the scheduler puts them, which
        moves a block's latency and CPU by up to 2x on a 2-core machine (README, "Results").
    """

    name: str
    work: Work
    channels: int
    rate: float
    chunk_size: int = 1
    block_s: float = 4.0
    quick_block_s: float = 1.0
    blocks: int = 12
    quick_blocks: int = 3

    @property
    def output(self) -> Literal["lsl", "zmq"]:
        """Where the chain's result goes: an LSL outlet (relay) or a ZeroMQ PUB (the rest)."""
        return "lsl" if self.work == "relay" else "zmq"

    @property
    def one_process(self) -> bool:
        """Whether both chains read LSL in the process doing the work (no bridge, no ZeroMQ in).

        Relay and wearable: ``bci-bridge run`` with an ``lsl`` input, against a one-process
        floor. Decode and wide: producer, LSL, bridge, ZeroMQ, worker, ZeroMQ, client on both
        sides (the issue's floors for them are multi-process).
        """
        return self.work in ("relay", "wearable")

    @property
    def topology(self) -> dict[str, str]:
        """What each chain runs, for the JSON: chain name -> its processes and hops."""
        out = "LSL" if self.output == "lsl" else "ZeroMQ"
        if self.one_process:
            return {
                "bci-bridge": f"one process: bci-bridge run (lsl input) -> {out}",
                "floor": f"one process: pylsl in -> work -> {out}",
            }
        return {
            "bci-bridge": f"bci-bridge bridge -> ZeroMQ ipc -> bci-bridge run -> {out}",
            "floor": f"floor bridge (pylsl) -> ZeroMQ ipc -> floor worker -> {out}",
        }

    @property
    def period_s(self) -> float:
        """Time between two pushes of the producer, seconds."""
        return self.chunk_size / self.rate


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        # One-sample chunks at 250 Hz: every sample is a wake-up and per-block ratios spread
        # most (0.77-1.67 in one run), but no start-up tail shows past the warm-up: more,
        # shorter blocks for the same time narrow the median's interval (README, "Results").
        Scenario(
            name="relay-64x250", work="relay", channels=64, rate=250.0, block_s=2.0, blocks=24
        ),
        Scenario(name="relay-64x1000", work="relay", channels=64, rate=1000.0),
        # Decoding starts once the 1 s window is full: quick blocks are 1 s longer.
        Scenario(name="decode-64x250", work="decode", channels=64, rate=250.0, quick_block_s=2.0),
        Scenario(name="decode-64x1000", work="decode", channels=64, rate=1000.0, quick_block_s=2.0),
        Scenario(
            name="wide-1024x30000",
            work="wide",
            channels=1024,
            rate=30000.0,
            chunk_size=30,
            quick_block_s=1.0,
        ),
        # An intracortical array (Utah, 96 x 10+): BRAND's scale, 1 ms of samples per push.
        Scenario(
            name="spikes-1024x30000",
            work="spikes",
            channels=1024,
            rate=30000.0,
            chunk_size=30,
        ),
        # Band power starts once its 1 s window is full, like decode.
        Scenario(name="wearable-8x250", work="wearable", channels=8, rate=250.0, quick_block_s=2.0),
    )
}


def pick_scenarios(names: list[str]) -> list[Scenario]:
    """Return the scenarios named (all of them when ``names`` is empty), in the order given.

    Raises
    ------
    ConfigError
        For an unknown name, listing the known ones.
    """
    if not names:
        return list(SCENARIOS.values())
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ConfigError(
            f"unknown scenario {', '.join(map(repr, unknown))}; known: {', '.join(SCENARIOS)}",
            key="SCENARIO",
        )
    return [SCENARIOS[n] for n in dict.fromkeys(names)]
