"""Replay a recorded file as a live device, with its events as markers.

Any file :func:`bci_bridge.recordings.read_recording` reads (``.ts``, ``.npz``, ``.xdf``,
every MNE-readable format) streams like an amplifier: paced to the sample clock (or faster, or as
fast as the consumer takes it), in chunks, optionally looping, with one marker per event at the
timestamp of the event's sample. When a non-looping replay has sent its last sample,
:attr:`Replay.finished` turns true and :meth:`Replay.read` returns ``None`` from then on.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.recordings import Recording, read_recording
from bci_bridge.stream import Chunk, StreamInfo
from bci_bridge.units import VOLTS_PER_UNIT, is_voltage, normalise_unit, scale_factor
from devices.pacing import wait_until

__all__ = ["Replay", "ReplayConfig"]

_MAX_CATCHUP_S = 0.25  # a late read() returns at most this much recording; the next ones catch up


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplayConfig:
    """Configuration of :class:`Replay`.

    Parameters
    ----------
    path : str
        The file to replay (relative paths in a pipeline file are resolved against its folder).
    name : str
        Stream name (default: the file's stem); the marker stream is ``<name>-Markers``.
    chunk_size : int
        Samples per :meth:`Replay.read` (>= 1); the very last chunk of a non-looping replay may
        be shorter, so that every sample is sent.
    speed : float
        Pace as a multiple of real time: 1 = the recording's own rate, 2 = twice as fast,
        0 = no pacing at all (each read returns the next chunk at once).
    loop : bool
        Start again from the first sample after the last one, forever.
    channels : tuple of str
        Stream only these channels, in this order (empty = all).
    units : str
        Units to stream in: ``"uV"``, ``"mV"`` or ``"V"``; empty = as read (microvolts: the
        readers give ``.ts``/``.npz`` files in their known units and MNE files scaled to
        microvolts). ``"V"`` streams an MNE file in volts, as MNE holds it.
    stream : str
        ``.xdf`` files: the data stream to replay, by name or type (empty: the only one).
    markers : str
        ``.xdf`` files: the marker stream whose markers are replayed (empty: the only one).
    """

    path: str = field(metadata={"path": True})
    name: str = ""
    chunk_size: int = 1
    speed: float = 1.0
    loop: bool = False
    channels: tuple[str, ...] = ()
    units: str = ""
    stream: str = ""
    markers: str = ""

    def __post_init__(self) -> None:
        if not self.path:
            raise ConfigError("must name a file", key="path")
        if self.chunk_size < 1:
            raise ConfigError(f"must be >= 1, got {self.chunk_size}", key="chunk_size")
        if not (math.isfinite(self.speed) and self.speed >= 0):
            raise ConfigError(
                f"must be >= 0 (1 = real time, 0 = as fast as possible), got {self.speed}",
                key="speed",
            )
        if len(set(self.channels)) != len(self.channels) or not all(self.channels):
            raise ConfigError(
                f"names must be non-empty and distinct, got {self.channels}", key="channels"
            )
        if self.units and not is_voltage(normalise_unit(self.units)):
            raise ConfigError(
                f"must be one of {', '.join(VOLTS_PER_UNIT)} (or empty: as read), "
                f"got {self.units!r}",
                key="units",
            )


class Replay:
    """A recorded file streamed as a device (``Device`` and ``MarkerSource`` contracts).

    Sample ``i`` of the replay (counting on across loops) has the timestamp
    ``t0 + i / sfreq`` on the LSL clock, with ``t0`` taken at :meth:`open`: sample spacing is
    always the recording's ``1 / sfreq``, whatever ``speed`` is (at ``speed != 1`` timestamps
    follow the recording's clock, not the wall clock).

    The file is read once, by the first of :meth:`info` or :meth:`open` (``__init__`` does no
    I/O); ``info`` needs the channel names and rate, which every supported format only gives
    with its data. A bad file raises :class:`~bci_bridge.errors.ConfigError` naming it.

    Parameters
    ----------
    config : ReplayConfig
        What to replay and how.
    """

    Config = ReplayConfig

    __slots__ = (
        "_config",
        "_data",
        "_emitted",
        "_event_samples",
        "_finished",
        "_labels",
        "_marker_next",
        "_max_catchup",
        "_opened",
        "_recording",
        "_seq",
        "_t0",
    )

    def __init__(self, config: ReplayConfig) -> None:
        self._config = config
        self._recording: Recording | None = None
        self._data = np.empty((0, 0), dtype=np.float32)
        self._event_samples = np.empty(0, dtype=np.int64)
        self._labels: tuple[str, ...] = ()
        self._max_catchup = config.chunk_size
        self._opened = False
        self._finished = False
        self._t0 = 0.0
        self._emitted = 0
        self._seq = 0
        self._marker_next = 0

    # -- Device ------------------------------------------------------------------------------

    @property
    def recording(self) -> Recording:
        """The recording being replayed, with ``channels`` picked (read on first use)."""
        if self._recording is None:
            self._load()
        assert self._recording is not None
        return self._recording

    def info(self) -> StreamInfo:
        """Describe the stream: float32 samples, the file's channel names and rate.

        Reads the file on the first call (see the class docstring).
        """
        rec = self.recording
        n = len(rec.channel_names)
        return StreamInfo(
            name=self._name(),
            type="EEG",
            channel_names=rec.channel_names,
            sfreq=rec.sfreq,
            dtype="float32",
            source_id=f"replay-{self._name()}-{rec.sha256[:16]}",
            channel_types=("eeg",) * n,
            channel_units=rec.channel_units or (rec.unit,) * n,
        )

    def open(self) -> None:
        """Read the file if not yet read, and start from its first sample with ``t0`` = now."""
        _ = self.recording
        self._t0 = float(local_clock())
        self._emitted = 0
        self._seq = 0
        self._marker_next = 0
        self._finished = False
        self._opened = True

    def read(self, timeout: float) -> Chunk | None:
        """Return the next chunk once its last sample is due (at once if ``speed`` is 0).

        Parameters
        ----------
        timeout : float
            Longest wait in seconds for the chunk to become due (paced replays only).

        Returns
        -------
        Chunk or None
            ``data`` float32 ``(n, n_channels)``, C-contiguous, in the stream's units
            (``units``; microvolts by default);
            ``timestamps`` float64 ``(n,)`` on the LSL clock; ``seq`` counting chunks from 0.
            ``n`` is ``chunk_size`` (a multiple of it when reads fell behind a paced replay;
            fewer for the last chunk of a non-looping replay). ``None`` if the chunk is not
            due within ``timeout``, or once the replay is :attr:`finished` (after waiting
            ``timeout``).

        Raises
        ------
        RuntimeError
            If the device is not open.
        """
        if not self._opened:
            raise RuntimeError(f"replay device {self._name()!r} is not open")
        if self._finished:
            # Nothing will come any more: wait like an idle device, so a host polling read()
            # without checking :attr:`finished` does not spin.
            time.sleep(max(timeout, 0.0))
            return None
        cfg = self._config
        k = cfg.chunk_size
        total = self._data.shape[0]
        remaining = math.inf if cfg.loop else total - self._emitted  # > 0 until finished
        n = int(min(k, remaining))
        if cfg.speed > 0:
            rate = self.recording.sfreq * cfg.speed
            now = wait_until(self._t0 + (self._emitted + n - 1) / rate, timeout)
            if now is None:
                return None
            if n == k:  # every sample already due, in whole chunks, up to a bound
                n_due = math.floor((now - self._t0) * rate) + 1 - self._emitted
                n_ready = int(min(n_due, remaining, self._max_catchup))
                n = max(k, n_ready // k * k)
        chunk = self._take(n)
        if not cfg.loop and self._emitted >= total:
            self._finished = True
        return chunk

    def close(self) -> None:
        """Stop; safe to call twice. :meth:`open` starts again from the first sample."""
        self._opened = False

    @property
    def finished(self) -> bool:
        """Whether a non-looping replay has sent its last sample (never true when looping)."""
        return self._finished

    # -- MarkerSource ------------------------------------------------------------------------

    def marker_info(self) -> StreamInfo:
        """Describe the marker stream: irregular, one ``label`` channel (a string stream)."""
        rec = self.recording
        return StreamInfo.markers(
            f"{self._name()}-Markers", source_id=f"replay-{self._name()}-{rec.sha256[:16]}-markers"
        )

    def read_markers(self) -> list[tuple[str, float]]:
        """Return the events whose sample has been sent since the last call.

        Returns
        -------
        list of (str, float)
            ``(label, timestamp)`` per event, in order; the timestamp is that of the event's
            sample, in seconds on the LSL clock. A looping replay repeats the events each loop.
        """
        n_events = len(self._labels)
        total = self._data.shape[0]
        markers: list[tuple[str, float]] = []
        if n_events == 0 or total == 0:
            return markers
        sfreq = self.recording.sfreq
        while True:
            loop, e = divmod(self._marker_next, n_events)
            sample = loop * total + int(self._event_samples[e])
            if sample >= self._emitted:
                return markers
            markers.append((self._labels[e], self._t0 + sample / sfreq))
            self._marker_next += 1

    # -- internals -----------------------------------------------------------------------------

    def _name(self) -> str:
        return self._config.name or Path(self._config.path).stem

    def _load(self) -> None:
        cfg = self._config
        rec = read_recording(cfg.path, stream=cfg.stream, markers=cfg.markers)
        if cfg.channels:
            missing = [c for c in cfg.channels if c not in rec.channel_names]
            if missing:
                raise ConfigError(
                    f"no channel {missing} in the recording; available: "
                    f"{', '.join(rec.channel_names)}",
                    key="channels",
                    file=rec.source,
                )
            index = [rec.channel_names.index(c) for c in cfg.channels]
            rec = replace(
                rec,
                data=np.ascontiguousarray(rec.data[:, index]),
                channel_names=tuple(cfg.channels),
                channel_units=tuple(rec.channel_units[i] for i in index)
                if rec.channel_units
                else (),
            )
        if cfg.units and normalise_unit(cfg.units) != rec.unit:
            unit = normalise_unit(cfg.units)
            factor = np.float32(scale_factor(rec.unit, unit))
            rec = replace(
                rec, data=np.ascontiguousarray(rec.data * factor), unit=unit, channel_units=()
            )
        if rec.n_samples == 0:
            raise ConfigError("the recording holds no sample", file=rec.source)
        if not (math.isfinite(rec.sfreq) and rec.sfreq > 0):
            raise ConfigError(f"the recording's rate is not > 0 Hz: {rec.sfreq}", file=rec.source)
        # Events outside the data can never be sent: leave them out of the marker schedule.
        events = [(s, label) for s, label in rec.events if 0 <= s < rec.n_samples]
        self._recording = rec
        self._data = rec.data
        self._event_samples = np.array([s for s, _ in events], dtype=np.int64)
        self._labels = tuple(label for _, label in events)
        k = cfg.chunk_size
        self._max_catchup = max(
            k, k * (math.ceil(_MAX_CATCHUP_S * rec.sfreq * max(cfg.speed, 1)) // k)
        )

    def _take(self, n: int) -> Chunk:
        """Emit the next ``n`` samples (wrapping around in a loop) with their timestamps."""
        total = self._data.shape[0]
        start = self._emitted
        offset = start % total
        if offset + n <= total:
            data = self._data[offset : offset + n]  # a view: C-contiguous rows
        else:
            data = np.take(self._data, np.arange(offset, offset + n) % total, axis=0)
        index = np.arange(start, start + n, dtype=np.float64)
        timestamps = self._t0 + index / self.recording.sfreq
        self._emitted = start + n
        chunk = Chunk(data=data, timestamps=timestamps, seq=self._seq)
        self._seq += 1
        return chunk
