"""XDF files (LabRecorder's and ``bci-bridge record``'s), read with pyxdf.

An XDF file holds several LSL streams. One numeric stream becomes the recording's data, chosen
by ``stream`` (its name, else its type; empty: the only regular numeric stream); one string
stream becomes its events, chosen by ``markers`` (its name; empty: the only string stream, or no
events when there is none). pyxdf applies the LSL clock offsets stored in the file
(``synchronize_clocks``), so markers and samples recorded from different computers line up;
timestamps are not dejittered, so a sample keeps the time its source gave it.

Each marker becomes an event at the data sample nearest its timestamp; markers more than half a
sample period before the first or after the last sample are left out. Channel labels and units
come from the stream header's ``desc/channels`` (the layout LabRecorder and bci-bridge write);
channels without a label are named ``ch1`` .. ``chN``. Values are kept in the units the file
states. pyxdf is imported here only, when an ``.xdf`` file is read.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.hashing import read_bytes, sha256
from bci_bridge.recordings.recording import Recording
from bci_bridge.units import normalise_unit

__all__ = ["XdfStream", "load_streams", "read_xdf"]


class XdfStream:
    """One stream of an XDF file, as pyxdf loaded it (clock offsets applied).

    Parameters
    ----------
    raw : dict
        pyxdf's stream dict (``info``, ``time_series``, ``time_stamps``).

    Attributes
    ----------
    name, type, channel_format : str
        From the stream header.
    sfreq : float
        Nominal rate in Hz (0 = irregular).
    timestamps : ndarray of float64, shape (n_samples,)
        Seconds on the recording computer's LSL clock.
    """

    __slots__ = ("channel_format", "name", "raw", "sfreq", "timestamps", "type")

    def __init__(self, raw: dict[str, Any]) -> None:
        info = raw["info"]
        self.raw = raw
        self.name = _first(info, "name")
        self.type = _first(info, "type")
        self.channel_format = _first(info, "channel_format")
        self.sfreq = float(_first(info, "nominal_srate") or 0.0)
        self.timestamps: npt.NDArray[np.float64] = np.asarray(raw["time_stamps"], np.float64)

    @property
    def is_markers(self) -> bool:
        """Whether the stream carries text (markers)."""
        return self.channel_format == "string"

    @property
    def n_channels(self) -> int:
        """Channel count from the header."""
        return int(_first(self.raw["info"], "channel_count") or 0)

    def channels(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Return (labels, units), one per channel; missing labels are ``ch<i>``, units ``""``."""
        n = self.n_channels
        labels = [f"ch{i + 1}" for i in range(n)]
        units = [""] * n
        for i, channel in enumerate(_desc_channels(self.raw["info"])[:n]):
            labels[i] = _first(channel, "label") or labels[i]
            units[i] = _first(channel, "unit")
        return tuple(labels), tuple(units)

    def channel_types(self) -> tuple[str, ...]:
        """Return one type per channel, lower case: the channel's ``type``, else the stream's."""
        kinds = [self.type.lower()] * self.n_channels
        for i, channel in enumerate(_desc_channels(self.raw["info"])[: self.n_channels]):
            kinds[i] = (_first(channel, "type") or self.type).lower()
        return tuple(kinds)

    def data(self) -> npt.NDArray[np.float32]:
        """Return the samples as float32 ``(n_samples, n_channels)``, C-contiguous."""
        values = np.asarray(self.raw["time_series"])
        return np.ascontiguousarray(values.reshape(-1, self.n_channels), dtype=np.float32)

    def labels(self) -> list[str]:
        """Return the first channel of each sample of a marker stream, as text."""
        return [str(sample[0]) if len(sample) else "" for sample in self.raw["time_series"]]

    def describe(self) -> str:
        """``name (type, N ch at R Hz)`` for messages."""
        rate = f"{self.sfreq:g} Hz" if self.sfreq > 0 else "irregular"
        return f"{self.name!r} ({self.type}, {self.n_channels} ch {self.channel_format}, {rate})"


def load_streams(path: str | Path) -> tuple[list[XdfStream], bytes]:
    """Load every stream of an XDF file with pyxdf, clock offsets applied.

    Parameters
    ----------
    path : str or Path
        The ``.xdf`` file. A file cut short (a recorder killed mid-write) loads up to its last
        whole chunk.

    Returns
    -------
    streams : list of XdfStream
        In file order.
    blob : bytes
        The file's bytes (for hashing).

    Raises
    ------
    ConfigError
        If pyxdf is missing or cannot read the file.
    """
    p = Path(path)
    file = str(p)
    blob = read_bytes(p)
    try:
        pyxdf: Any = importlib.import_module("pyxdf")  # untyped; lazy: only XDF readers need it
    except ImportError as exc:
        raise ConfigError(
            "reading .xdf files needs pyxdf (pip install 'bci-bridge[xdf]')", file=file
        ) from exc
    try:
        raw_streams, _header = pyxdf.load_xdf(
            io.BytesIO(blob), synchronize_clocks=True, dejitter_timestamps=False, verbose=False
        )
    except Exception as exc:  # pyxdf raises many kinds; each becomes one clear error
        raise ConfigError(f"pyxdf cannot read it: {type(exc).__name__}: {exc}", file=file) from exc
    return [XdfStream(s) for s in raw_streams], blob


def read_xdf(path: str | Path, *, stream: str = "", markers: str = "") -> Recording:
    """Read one data stream of an XDF file, with a marker stream as its events.

    Parameters
    ----------
    path : str or Path
        The ``.xdf`` file.
    stream : str
        The data stream's name, else its type (empty: the only numeric stream with a rate).
    markers : str
        The marker stream's name (empty: the only string stream; none is fine).

    Returns
    -------
    Recording
        ``data`` float32 ``(n_samples, n_channels)`` in the file's units, ``channel_units``
        from the header, ``events`` ``(sample index, label)`` sorted.

    Raises
    ------
    ConfigError
        With ``file`` and the key (``stream`` or ``markers``) when no stream or several match.
    """
    file = str(path)
    streams, blob = load_streams(path)
    data_stream = _pick_data(streams, stream, file)
    marker_stream = _pick_markers(streams, markers, file)
    names, units = data_stream.channels()
    data = data_stream.data()
    if data.shape[0] == 0:
        raise ConfigError(f"stream {data_stream.describe()} holds no sample", file=file)
    events: tuple[tuple[int, str], ...] = ()
    if marker_stream is not None:
        events = _events(data_stream, marker_stream.timestamps, marker_stream.labels())
    units = tuple(normalise_unit(u) for u in units)
    return Recording(
        data=data,
        sfreq=data_stream.sfreq,
        channel_names=names,
        events=events,
        source=file,
        sha256=sha256(blob),
        channel_units=units,
        unit=units[0] if units and len(set(units)) == 1 else "",
        channel_types=data_stream.channel_types(),
    )


def _pick_data(streams: Sequence[XdfStream], wanted: str, file: str) -> XdfStream:
    numeric = [s for s in streams if not s.is_markers]
    listing = "; ".join(s.describe() for s in streams) or "none"
    if wanted:
        found = [s for s in numeric if s.name == wanted] or [s for s in numeric if s.type == wanted]
        if not found:
            raise ConfigError(
                f"no numeric stream named or typed {wanted!r}; streams: {listing}",
                key="stream",
                file=file,
            )
    else:
        found = [s for s in numeric if s.sfreq > 0]
        if not found:
            raise ConfigError(
                f"no numeric stream with a sample rate; streams: {listing}", key="stream", file=file
            )
    if len(found) > 1:
        raise ConfigError(
            f"{len(found)} streams match; name one with stream = NAME: {listing}",
            key="stream",
            file=file,
        )
    chosen = found[0]
    if chosen.sfreq <= 0:
        raise ConfigError(
            f"stream {chosen.describe()} has no regular rate; a recording needs one",
            key="stream",
            file=file,
        )
    return chosen


def _pick_markers(streams: Sequence[XdfStream], wanted: str, file: str) -> XdfStream | None:
    text = [s for s in streams if s.is_markers]
    listing = "; ".join(s.describe() for s in text) or "none"
    if wanted:
        found = [s for s in text if s.name == wanted]
        if len(found) != 1:
            raise ConfigError(
                f"{len(found)} marker streams named {wanted!r}; marker streams: {listing}",
                key="markers",
                file=file,
            )
        return found[0]
    if len(text) > 1:
        raise ConfigError(
            f"{len(text)} marker streams; name one with markers = NAME: {listing}",
            key="markers",
            file=file,
        )
    return text[0] if text else None


def _events(
    data_stream: XdfStream, times: npt.NDArray[np.float64], labels: Sequence[str]
) -> tuple[tuple[int, str], ...]:
    """Each marker at the data sample nearest its time; markers outside the data dropped."""
    ts = data_stream.timestamps
    half = 0.5 / data_stream.sfreq
    keep = (times >= ts[0] - half) & (times <= ts[-1] + half)
    right = np.clip(np.searchsorted(ts, times[keep]), 1, len(ts) - 1)
    left = right - 1
    nearer_left = np.abs(times[keep] - ts[left]) <= np.abs(ts[right] - times[keep])
    index = np.where(nearer_left, left, right) if len(ts) > 1 else np.zeros_like(right)
    kept = [label for label, k in zip(labels, keep, strict=True) if k]
    pairs = sorted(zip((int(i) for i in index), kept, strict=True), key=lambda e: e[0])
    return tuple(pairs)


def _first(node: dict[str, Any] | None, key: str) -> str:
    """Return the first text of ``key`` in one of pyxdf's XML dicts (lists), else ``""``."""
    if not isinstance(node, dict):
        return ""
    value = node.get(key)
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return ""


def _desc_channels(info: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the ``desc/channels/channel`` dicts of a stream header (empty when absent)."""
    desc = info.get("desc")
    node = desc[0] if isinstance(desc, list) and desc else None
    for key in ("channels", "channel"):
        if not isinstance(node, dict):
            return []
        child = node.get(key)
        if not isinstance(child, list) or not child:
            return []
        if key == "channel":
            return [c for c in child if isinstance(c, dict)]
        node = child[0]
    return []
