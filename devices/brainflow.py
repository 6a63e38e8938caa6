"""Any BrainFlow board as a device: its EEG (or EXG) channels, its markers, on the LSL clock.

``bci-bridge stream brainflow -p board=SYNTHETIC_BOARD --name NAME`` streams a board by its
BrainFlow name (``SYNTHETIC_BOARD``, ``CYTON_BOARD``...) or id (``-1``, ``0``...), with the
connection parameters BrainFlow takes (``serial_port``, ``ip_address``, ``file`` for the
playback board, ...). Channel names come from the board description (``eeg_names``), else
``ch1`` .. ``chN``; BrainFlow gives EEG and EXG in microvolts. BrainFlow's marker channel (a
float, non-zero where :meth:`BrainFlow.insert_marker` or the board put a marker) becomes the
``<name>-Markers`` stream, the label being the value as text (``3.0`` -> ``"3"``).

Timestamps: BrainFlow stamps each sample with Unix time. Each read maps them onto the LSL clock
with the offset between the two clocks measured at that read (so a step or slew of the system
clock is followed), then fits them with a regular model ``base + k / sfreq + correction``
whose correction moves toward the mapped board time by a fraction of the residual per read,
bounded by a quarter of a sample: timestamps stay strictly increasing and evenly spaced within a
chunk, and follow the board's real rate (drift) without its jitter.

BrainFlow is imported when the device is first described or opened, never at import, so
``bci-bridge list`` works without the ``bci-bridge[brainflow]`` extra.
"""

from __future__ import annotations

import importlib
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["BrainFlow", "BrainFlowConfig"]

log = logging.getLogger(__name__)

_PLAYBACK_OR_STREAMING = (-3, -2)  # boards that replay another ("master") board's data
_GAIN = 0.1  # fraction of the timestamp residual corrected per read
_MAX_STEP = 0.25  # largest correction per read, in sample periods
_POLL_S = 0.002


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainFlowConfig:
    """Configuration of :class:`BrainFlow`.

    Parameters
    ----------
    board : str or int
        BrainFlow board name (``"SYNTHETIC_BOARD"``) or id (``-1``).
    name : str
        Stream name (default ``BrainFlow-<board>``); the marker stream is ``<name>-Markers``.
    channels : {"eeg", "exg"}
        Which of the board's channel groups to stream. A board without EEG channels streams its
        EXG channels.
    serial_port, mac_address, ip_address, other_info, serial_number, file : str
        BrainFlow's connection parameters, as its docs give them per board (``file``: the
        playback board's recording, written by ``DataFilter.write_file``).
    ip_port, ip_protocol : int
        Likewise (0 = unset).
    master_board : str or int
        For the playback and streaming boards: the board that recorded the data.
    timeout : int
        BrainFlow's connection timeout in seconds (0 = its default).
    """

    board: str | int = "SYNTHETIC_BOARD"
    name: str = ""
    channels: str = "eeg"
    serial_port: str = ""
    mac_address: str = ""
    ip_address: str = ""
    ip_port: int = 0
    ip_protocol: int = 0
    other_info: str = ""
    serial_number: str = ""
    file: str = ""
    master_board: str | int = ""
    timeout: int = 0

    def __post_init__(self) -> None:
        if self.channels not in ("eeg", "exg"):
            raise ConfigError(f"must be 'eeg' or 'exg', got {self.channels!r}", key="channels")
        if self.timeout < 0:
            raise ConfigError(f"must be >= 0, got {self.timeout}", key="timeout")


def _brainflow() -> Any:
    """Return ``brainflow.board_shim`` (untyped), or a ConfigError naming the extra."""
    try:
        return importlib.import_module("brainflow.board_shim")
    except ImportError as exc:
        raise ConfigError(
            "the brainflow device needs BrainFlow: pip install 'bci-bridge[brainflow]'"
        ) from exc


def _board_id(shim: Any, value: str | int, key: str) -> int:
    """Return the BrainFlow board id named by ``value`` (a name, or an id as int or text)."""
    ids = shim.BoardIds
    if isinstance(value, int) or (isinstance(value, str) and value.lstrip("-").isdigit()):
        try:
            return int(ids(int(value)).value)
        except ValueError:
            pass
    elif isinstance(value, str) and value.upper() in ids.__members__:
        return int(ids[value.upper()].value)
    known = ", ".join(ids.__members__)
    raise ConfigError(f"unknown BrainFlow board {value!r}; known: {known}", key=key)


class BrainFlow:
    """A BrainFlow board (``Device`` and ``MarkerSource`` contracts).

    Parameters
    ----------
    config : BrainFlowConfig
        Which board, how to reach it, what to stream.
    """

    Config = BrainFlowConfig

    __slots__ = (
        "_base",
        "_board",
        "_config",
        "_correction",
        "_emitted",
        "_info",
        "_markers",
        "_rows",
        "_seq",
    )

    def __init__(self, config: BrainFlowConfig) -> None:
        self._config = config
        self._board: Any = None
        self._info: StreamInfo | None = None
        self._rows: tuple[list[int], int, int] = ([], -1, -1)  # data rows, timestamp, marker
        self._base = 0.0
        self._correction = 0.0
        self._emitted = 0
        self._seq = 0
        self._markers: list[tuple[str, float]] = []

    # -- Device ------------------------------------------------------------------------------

    def info(self) -> StreamInfo:
        """Describe the stream from BrainFlow's board description (no connection made)."""
        if self._info is None:
            self._describe()
        assert self._info is not None
        return self._info

    def open(self) -> None:
        """Connect to the board and start its stream."""
        shim = _brainflow()
        info = self.info()
        cfg = self._config
        params = shim.BrainFlowInputParams()
        for key in ("serial_port", "mac_address", "ip_address", "other_info", "serial_number"):
            setattr(params, key, getattr(cfg, key))
        params.file = cfg.file
        params.ip_port = cfg.ip_port
        params.ip_protocol = cfg.ip_protocol
        params.timeout = cfg.timeout
        board_id = _board_id(shim, cfg.board, "board")
        if cfg.master_board != "":
            params.master_board = _board_id(shim, cfg.master_board, "master_board")
        shim.BoardShim.disable_board_logger()
        board = shim.BoardShim(board_id, params)
        try:
            board.prepare_session()
            board.start_stream()
        except shim.BrainFlowError as exc:
            if board.is_prepared():
                board.release_session()
            raise ConfigError(
                f"BrainFlow cannot start board {cfg.board!r} ({info.name}): {exc}", key="board"
            ) from exc
        self._board = board
        self._emitted = 0
        self._seq = 0
        self._correction = 0.0
        self._markers = []

    def read(self, timeout: float) -> Chunk | None:
        """Return every sample the board has produced since the last read.

        Parameters
        ----------
        timeout : float
            Longest wait in seconds for the first sample.

        Returns
        -------
        Chunk or None
            ``data`` float32 ``(n, n_channels)`` in microvolts, ``timestamps`` float64 ``(n,)``
            on the LSL clock (see the module docstring), ``seq`` counting chunks from 0.
            ``None`` if no sample came within ``timeout``.

        Raises
        ------
        RuntimeError
            If the device is not open.
        """
        board = self._board
        if board is None:
            raise RuntimeError(f"brainflow device {self.info().name!r} is not open")
        deadline = time.monotonic() + max(timeout, 0.0)
        while board.get_board_data_count() == 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            time.sleep(min(_POLL_S, left))
        raw = board.get_board_data()  # (num_rows, n) float64
        offset = float(local_clock()) - time.time()  # Unix -> LSL clock, measured now
        data_rows, ts_row, marker_row = self._rows
        timestamps = self._timestamps(raw[ts_row] + offset)
        if marker_row >= 0:
            marks = raw[marker_row]
            for i in np.flatnonzero(marks):
                self._markers.append((f"{float(marks[i]):g}", float(timestamps[i])))
        data = np.ascontiguousarray(raw[data_rows].T, dtype=np.float32)
        chunk = Chunk(data=data, timestamps=timestamps, seq=self._seq)
        self._seq += 1
        return chunk

    def close(self) -> None:
        """Stop the stream and release the board; safe to call twice."""
        board, self._board = self._board, None
        if board is None:
            return
        shim = _brainflow()
        try:
            board.stop_stream()
        except shim.BrainFlowError as exc:  # not streaming any more: releasing is what matters
            log.info("stopping BrainFlow board %r: %s", self._config.board, exc)
        finally:
            board.release_session()

    # -- MarkerSource ------------------------------------------------------------------------

    def marker_info(self) -> StreamInfo:
        """Describe the marker stream: irregular, one ``label`` channel (a string stream)."""
        info = self.info()
        return StreamInfo.markers(f"{info.name}-Markers", source_id=f"{info.source_id}-markers")

    def read_markers(self) -> list[tuple[str, float]]:
        """Return the board's markers read since the last call, as ``(label, timestamp)``."""
        markers, self._markers = self._markers, []
        return markers

    def insert_marker(self, value: float) -> None:
        """Put a marker (non-zero) on the board's next sample, as BrainFlow's ``insert_marker``."""
        if self._board is None:
            raise RuntimeError("the brainflow device is not open")
        self._board.insert_marker(float(value))

    # -- internals -----------------------------------------------------------------------------

    def _describe(self) -> None:
        shim = _brainflow()
        cfg = self._config
        board_id = _board_id(shim, cfg.board, "board")
        descr_id = board_id
        if board_id in _PLAYBACK_OR_STREAMING:
            if cfg.master_board == "":
                raise ConfigError(
                    "the playback and streaming boards need master_board (the board that "
                    "recorded the data)",
                    key="master_board",
                )
            descr_id = _board_id(shim, cfg.master_board, "master_board")
        descr = shim.BoardShim.get_board_descr(descr_id)
        groups = {"eeg": descr.get("eeg_channels", []), "exg": descr.get("exg_channels", [])}
        if not groups["exg"]:
            groups["exg"] = sorted(
                {c for k in ("eeg", "emg", "ecg", "eog") for c in descr.get(f"{k}_channels", [])}
            )
        kind = cfg.channels if groups[cfg.channels] else "exg"
        rows = list(groups[kind])
        if not rows:
            raise ConfigError(
                f"board {descr.get('name', cfg.board)!r} has no EEG or EXG channel", key="board"
            )
        names = str(descr.get("eeg_names", "")).split(",") if kind == "eeg" else []
        if len(names) != len(rows) or not all(names):
            names = [f"ch{i + 1}" for i in range(len(rows))]
        board_name = shim.BoardIds(board_id).name
        name = cfg.name or f"BrainFlow-{board_name}"
        self._rows = (rows, int(descr["timestamp_channel"]), int(descr.get("marker_channel", -1)))
        sfreq = float(descr["sampling_rate"])
        self._info = StreamInfo(
            name=name,
            type="EEG" if kind == "eeg" else "EXG",
            channel_names=tuple(names),
            sfreq=sfreq,
            dtype="float32",
            source_id=f"brainflow-{board_name}-{cfg.serial_number or cfg.serial_port or name}",
            channel_types=(kind,) * len(rows),
            channel_units=("microvolts",) * len(rows),
        )

    def _timestamps(self, mapped: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Regular, strictly increasing LSL timestamps that follow the board's clock."""
        sfreq = self.info().sfreq
        n = mapped.shape[0]
        index = np.arange(self._emitted, self._emitted + n, dtype=np.float64)
        if self._emitted == 0:
            self._base = float(mapped[0])
        model = self._base + index / sfreq
        residual = float(np.median(mapped - model)) - self._correction
        if math.isfinite(residual):
            limit = _MAX_STEP / sfreq
            step = _GAIN * residual if self._emitted else residual
            self._correction += float(np.clip(step, -limit, limit))
        self._emitted += n
        out: npt.NDArray[np.float64] = model + self._correction
        return out
