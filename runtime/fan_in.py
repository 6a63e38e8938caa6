"""Fan-in: one node reading several streams, aligned sample by sample on the LSL clock.

A node with ``inputs = ["eeg", "emg"]`` gets ONE chunk per step whose rows are samples of all
its sources taken at the same moment: the channels of each source side by side, in the order
listed. The sources (inputs or earlier nodes) must be regular streams of the same rate.

How samples are paired (:class:`Aligner`). The first source listed is the *reference*. Each
source's samples wait in a preallocated buffer until every source has some; then, oldest
first, a row is made of one sample of each source when each is within ``tolerance_s`` of the
reference's (default: half a sample period). Timestamps only grow, so a sample that finds the
head of another source already more than ``tolerance_s`` later than itself can never be paired
any more: it is dropped and counted as *misaligned* (a gap in one stream costs the other
streams' samples over the gap, one each). A source that runs ahead waits, bounded in bytes per
source; when the bound is reached its oldest waiting samples are dropped and counted as
*dropped*. Rows carry the reference's timestamps. For every source, the samples handed to the
aligner are ``aligned + misaligned + dropped + waiting``.

Channel names are kept when they are unique across the sources; otherwise every channel is
prefixed with its source's name (``eeg:C3``, ``emg:C3``), so that names stay unique. Samples
are converted to the sources' common dtype (``numpy.result_type``: float32 and int16 give
float32).

In steady state nothing is allocated: the waiting buffers, the aligned rows and the scratch of
the timestamp comparison are allocated once, at prepare. The aligned chunk is a view of the
node's row buffer, valid during the step; an output the module builds on it (its input's
timestamps or data passed through) is copied once before it leaves the node, since outputs
and recorders keep what they are given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import DTYPES, Chunk, StreamInfo
from runtime.node import Node

__all__ = ["Aligner", "FanIn", "FanInPort", "combined_info"]

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


class _Waiting:
    """One source's samples waiting for their partners: a preallocated buffer, oldest first.

    The waiting samples are ``data[start:end]``; new samples go at ``end``, and the waiting
    ones are moved to the front when the tail is full (through flat 1-D views, so numpy copies
    in place without a temporary).
    """

    __slots__ = (
        "capacity",
        "data",
        "dropped",
        "end",
        "flat",
        "misaligned",
        "n_channels",
        "received",
        "stamps",
        "start",
    )

    def __init__(self, capacity: int, n_channels: int, dtype: np.dtype[Any]) -> None:
        self.capacity = capacity
        self.n_channels = n_channels
        self.data = np.zeros((capacity, n_channels), dtype)
        self.flat = self.data.reshape(-1)
        self.stamps = np.zeros(capacity, np.float64)
        self.start = 0
        self.end = 0
        self.received = 0
        self.misaligned = 0
        self.dropped = 0

    @property
    def waiting(self) -> int:
        """Samples waiting."""
        return self.end - self.start

    def append(self, data: npt.NDArray[Any], stamps: npt.NDArray[np.float64]) -> None:
        """Add ``n <= capacity`` samples, dropping (and counting) the oldest waiting if full."""
        n = stamps.shape[0]
        over = self.end - self.start + n - self.capacity
        if over > 0:
            self.start += over
            self.dropped += over
        if self.end + n > self.capacity:
            m, c = self.end - self.start, self.n_channels
            self.flat[: m * c] = self.flat[self.start * c : self.end * c]
            self.stamps[:m] = self.stamps[self.start : self.end]
            self.start, self.end = 0, m
        self.data[self.end : self.end + n] = data
        self.stamps[self.end : self.end + n] = stamps
        self.end += n
        self.received += n

    def drop_before(self, t: float) -> bool:
        """Drop the waiting samples stamped before ``t`` as misaligned; return whether any."""
        cut = int(np.searchsorted(self.stamps[self.start : self.end], t))
        if cut:
            self.start += cut
            self.misaligned += cut
        return cut > 0


class Aligner:
    """Pair the samples of several regular streams by timestamp (see the module docstring).

    Parameters
    ----------
    infos : sequence of StreamInfo
        The sources, the reference first; at least two, all regular at one rate.
    tolerance_s : float
        How far a sample's timestamp may be from the reference's to be paired with it, in
        seconds; less than one sample period.
    max_bytes : int
        Bound on each source's waiting samples (their data and timestamps), in bytes.
    dtype : numpy dtype
        The dtype of the aligned rows.

    Attributes
    ----------
    aligned : int
        Rows made (each one sample of every source).
    """

    __slots__ = (
        "_d",
        "_ok",
        "_ok_j",
        "_others",
        "_out",
        "_out_ts",
        "_ref",
        "_slices",
        "_sources",
        "aligned",
        "tolerance_s",
    )

    def __init__(
        self,
        infos: Sequence[StreamInfo],
        *,
        tolerance_s: float,
        max_bytes: int,
        dtype: np.dtype[Any],
    ) -> None:
        if len(infos) < 2:
            raise ValueError("an aligner needs at least two sources")
        if not 0 < tolerance_s < math.inf:
            raise ValueError(f"tolerance must be a positive number of seconds, got {tolerance_s}")
        self.tolerance_s = tolerance_s
        self._sources = [
            _Waiting(
                max(1, max_bytes // (info.n_channels * dtype.itemsize + 8)),
                info.n_channels,
                dtype,
            )
            for info in infos
        ]
        self._ref = self._sources[0]
        self._others = self._sources[1:]
        rows = min(s.capacity for s in self._sources)  # never more aligned rows than that
        self._out = np.zeros((rows, sum(i.n_channels for i in infos)), dtype)
        self._out_ts = np.zeros(rows, np.float64)
        self._d = np.zeros(rows, np.float64)
        self._ok = np.zeros(rows, np.bool_)
        self._ok_j = np.zeros(rows, np.bool_)
        edges = itertools.accumulate((i.n_channels for i in infos), initial=0)
        self._slices = [slice(a, b) for a, b in itertools.pairwise(edges)]
        self.aligned = 0

    @property
    def capacity(self) -> int:
        """Most rows one aligned chunk has."""
        return int(self._out.shape[0])

    def push(
        self, source: int, data: npt.NDArray[Any], stamps: npt.NDArray[np.float64]
    ) -> Chunk | None:
        """Take samples of one source; return the rows that can now be made, if any.

        Parameters
        ----------
        source : int
            The source's position in ``infos``.
        data : ndarray, shape (n_samples, n_channels)
            Its samples.
        stamps : ndarray of float64, shape (n_samples,)
            Their LSL timestamps, seconds, increasing.

        Returns
        -------
        Chunk or None
            The aligned rows, shape ``(n_rows, total channels)``, with the reference's
            timestamps: a view of the aligner's buffer, valid until the next ``push``. None
            when no row could be made. A push of more samples than a source's buffer holds is
            taken in parts; use :meth:`push_all` for such.
        """
        w = self._sources[source]
        n = stamps.shape[0]
        if n > w.capacity:
            raise ValueError(f"{n} samples at once; this source holds at most {w.capacity}")
        w.append(data, stamps)
        rows = self._match()
        if not rows:
            return None
        return Chunk(self._out[:rows], self._out_ts[:rows], self.aligned)

    def push_all(
        self,
        source: int,
        data: npt.NDArray[Any],
        stamps: npt.NDArray[np.float64],
        emit: Callable[[Chunk], None],
    ) -> None:
        """Take any number of samples of one source; hand each aligned chunk to ``emit``.

        ``emit`` gets views of the aligner's buffer, valid until it returns.
        """
        cap = self._sources[source].capacity
        n = stamps.shape[0]
        for i in range(0, n, cap):
            out = self.push(source, data[i : i + cap], stamps[i : i + cap])
            if out is not None:
                emit(out)

    def _match(self) -> int:
        """Make every row the waiting samples allow; return how many (in ``_out``)."""
        ref, others, tol = self._ref, self._others, self.tolerance_s
        rows = 0
        while ref.end > ref.start and all(w.end > w.start for w in others):
            head = float(ref.stamps[ref.start])
            # Samples of the others older than the reference's head by more than tol: orphans.
            dropped = False
            for w in others:
                dropped = w.drop_before(head - tol) or dropped
            if dropped:
                continue
            # Reference samples older than some other head by more than tol: orphans too.
            latest = max(float(w.stamps[w.start]) for w in others)
            if ref.drop_before(latest - tol):
                continue
            m = min(w.end - w.start for w in self._sources)
            m = min(m, self._out.shape[0] - rows)
            ok, ok_j, d = self._ok[:m], self._ok_j[:m], self._d[:m]
            ref_ts = ref.stamps[ref.start : ref.start + m]
            ok.fill(True)
            for w in others:
                np.subtract(w.stamps[w.start : w.start + m], ref_ts, out=d)
                np.abs(d, out=d)
                np.less_equal(d, tol, out=ok_j)  # NaN compares False: never paired
                np.logical_and(ok, ok_j, out=ok)
            p = m if ok.all() else int(ok.argmin())
            if p == 0:  # heads not comparable (a NaN timestamp): the reference's is an orphan
                ref.start += 1
                ref.misaligned += 1
                continue
            for w, cols in zip(self._sources, self._slices, strict=True):
                self._out[rows : rows + p, cols] = w.data[w.start : w.start + p]
                w.start += p
            self._out_ts[rows : rows + p] = ref_ts[:p]
            rows += p
            self.aligned += p
        return rows

    def counters(self) -> list[dict[str, int]]:
        """Return per source ``received``, ``misaligned``, ``dropped`` and ``waiting``."""
        return [
            {
                "received": w.received,
                "misaligned": w.misaligned,
                "dropped": w.dropped,
                "waiting": w.waiting,
            }
            for w in self._sources
        ]

    def owns(self, array: npt.NDArray[Any]) -> bool:
        """Whether ``array`` may share memory with the aligned rows or their timestamps."""
        return bool(
            np.may_share_memory(array, self._out) or np.may_share_memory(array, self._out_ts)
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
