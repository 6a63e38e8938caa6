"""Fan-in: one node reading several streams, aligned sample by sample on the LSL clock.

A node with ``inputs = ["eeg", "emg"]`` gets ONE chunk per step whose rows are samples of all
its sources taken at the same moment: the channels of each source side by side, in the order
listed. The sources (inputs or earlier nodes) must be regular streams of the same rate. How
samples are paired, and counted when they cannot be, is :mod:`runtime.aligner`'s: the first
source listed is the reference clock, the tolerance defaults to half a sample period, and each
source waits at most ``align_max_mb`` for its partners.

Channel names are kept when they are unique across the sources; otherwise every channel is
prefixed with its source's name (``eeg:C3``, ``emg:C3``), so that names stay unique. Samples
are converted to the sources' common dtype (``numpy.result_type``: float32 and int16 give
float32).

The aligned chunk is a view of the aligner's row buffer, valid during the step; an output the
module builds on it (its input's timestamps or data passed through) is copied once before it
leaves the node, since outputs and recorders keep what they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.stream import DTYPES, Chunk, StreamInfo
from runtime.aligner import Aligner
from runtime.node import Node

__all__ = ["FanIn", "FanInPort", "combined_info"]

#: Separator of the source name and the channel name when names are prefixed.
PREFIX_SEP = ":"


def combined_info(name: str, sources: Sequence[str], infos: Sequence[StreamInfo]) -> StreamInfo:
    """Describe the stream a fan-in node's module gets: the sources side by side.

    Parameters
    ----------
    name : str
        The node's name (the combined stream's name).
    sources : sequence of str
        The sources' names, in the order listed (used to prefix clashing channel names).
    infos : sequence of StreamInfo
        Their streams, same order.

    Raises
    ------
    ConfigError
        Under key ``inputs``: a marker or irregular source, or rates that differ.
    """
    for src, info in zip(sources, infos, strict=True):
        if info.is_markers:
            raise ConfigError(
                f"{src!r} is a marker stream; fan-in aligns regular streams (give it as markers)",
                key="inputs",
            )
        if info.sfreq <= 0:
            raise ConfigError(
                f"{src!r} is an irregular stream (0 Hz); fan-in aligns regular streams",
                key="inputs",
            )
    rates = {info.sfreq for info in infos}
    if len(rates) > 1:
        listed = ", ".join(f"{s} {i.sfreq:g} Hz" for s, i in zip(sources, infos, strict=True))
        raise ConfigError(
            f"fan-in needs one rate for all its sources, got {listed} (resample one of them)",
            key="inputs",
        )
    names = [ch for info in infos for ch in info.channel_names]
    if len(set(names)) < len(names):
        names = [
            f"{src}{PREFIX_SEP}{ch}"
            for src, info in zip(sources, infos, strict=True)
            for ch in info.channel_names
        ]
    dtype = np.result_type(*(info.np_dtype for info in infos))
    types = list(dict.fromkeys(info.type for info in infos))
    return StreamInfo(
        name=name,
        type="+".join(types),
        channel_names=tuple(names),
        sfreq=infos[0].sfreq,
        dtype=next(k for k, v in DTYPES.items() if v == dtype),
        source_id="fan-in:" + "+".join(info.source_id or info.name for info in infos),
        channel_types=tuple(t for info in infos for t in info.channel_types),
        channel_units=tuple(u for info in infos for u in info.channel_units),
    )


class FanInPort:
    """One source of a fan-in node, standing among that source's consumers."""

    __slots__ = ("_fan", "_index")

    def __init__(self, fan: FanIn, index: int) -> None:
        self._fan = fan
        self._index = index

    def run(self, chunks: Sequence[Chunk]) -> None:
        """Hand a batch of the source's chunks (oldest first) to the aligner."""
        fan, index = self._fan, self._index
        for chunk in chunks:
            fan.take(index, chunk)


class FanIn:
    """The fan-in of one node: its ports, its aligner, its counters.

    Parameters
    ----------
    node : Node
        The node whose module gets the aligned chunks; its config lists ``inputs``.
    key : str
        The node's key path in the pipeline file (``nodes[2]``), for errors.
    """

    __slots__ = ("_emit", "aligner", "key", "node", "ports", "sources")

    def __init__(self, node: Node, key: str) -> None:
        self.node = node
        self.key = key
        self.sources: tuple[str, ...] = node.config.inputs
        self.ports = [FanInPort(self, i) for i in range(len(self.sources))]
        self.aligner: Aligner | None = None
        self._emit = node.push
        node.wrap_step(self._guard)

    def prepare(self, infos: Mapping[str, StreamInfo]) -> StreamInfo:
        """Check the sources, allocate the aligner, return the stream the module gets.

        Raises
        ------
        ConfigError
            Naming the node's key (``nodes[2].inputs``, ``nodes[2].align_tolerance_ms``).
        """
        cfg = self.node.config
        src = [infos[s] for s in self.sources]
        try:
            info = combined_info(self.node.name, self.sources, src)
            period_ms = 1000.0 / info.sfreq
            tol_ms = cfg.align_tolerance_ms if cfg.align_tolerance_ms is not None else period_ms / 2
            if tol_ms >= period_ms:
                raise ConfigError(
                    f"must be less than one sample period ({period_ms:g} ms at "
                    f"{info.sfreq:g} Hz), got {tol_ms:g}",
                    key="align_tolerance_ms",
                )
        except ConfigError as exc:
            raise exc.within(key=self.key) from exc.__cause__
        self.aligner = Aligner(
            src,
            tolerance_s=tol_ms / 1000.0,
            max_bytes=int(cfg.align_max_mb * 2**20),
            dtype=info.np_dtype,
        )
        return info

    def take(self, index: int, chunk: Chunk) -> None:
        """Align one chunk of source ``index``; step the node on what can be aligned."""
        aligner = self.aligner
        assert aligner is not None, f"{self.node.name}: data before prepare()"
        aligner.push_all(index, chunk.data, chunk.timestamps, self._emit)

    def _guard(self, step: Callable[[Chunk], Chunk | None]) -> Callable[[Chunk], Chunk | None]:
        """Wrap the module's step: an output built on the aligner's buffers is copied."""

        def guarded(chunk: Chunk) -> Chunk | None:
            out = step(chunk)
            aligner = self.aligner
            if out is None or aligner is None:
                return out
            data, stamps = out.data, out.timestamps
            if aligner.owns(data):
                out = Chunk(data.copy(), out.timestamps, out.seq, out.stale)
            if aligner.owns(stamps):
                out = Chunk(out.data, stamps.copy(), out.seq, out.stale)
            return out

        return guarded

    def summary(self) -> dict[str, Any]:
        """Return the fan-in counters as a JSON-ready dict (``nodes.<name>.fan_in``)."""
        aligner = self.aligner
        per = aligner.counters() if aligner is not None else [{} for _ in self.sources]
        return {
            "inputs": list(self.sources),
            "tolerance_ms": aligner.tolerance_s * 1000.0 if aligner is not None else None,
            "aligned": aligner.aligned if aligner is not None else 0,
            "misaligned": sum(c.get("misaligned", 0) for c in per),
            "dropped": sum(c.get("dropped", 0) for c in per),
            "waiting": sum(c.get("waiting", 0) for c in per),
            "per_input": dict(zip(self.sources, per, strict=True)),
        }
