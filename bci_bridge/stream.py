"""Stream metadata and the chunk of samples that flows through every part.

A :class:`StreamInfo` describes a stream once; a :class:`Chunk` carries its samples. Both are
plain, immutable-by-convention containers: the hot path passes chunks around without copying.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.units import normalise_unit

__all__ = ["DTYPES", "MARKER_DTYPE", "Chunk", "StreamInfo"]

#: Sample formats a stream may carry, by name (as LSL and numpy spell them).
DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
    "int32": np.dtype("<i4"),
    "int16": np.dtype("<i2"),
    "int8": np.dtype("i1"),
}

#: The dtype name of marker (event) streams: one text label per sample, irregular rate.
MARKER_DTYPE = "string"


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamInfo:
    """What a stream carries.

    Parameters
    ----------
    name : str
        Stream name, unique among the streams a user works with (LSL name, ZeroMQ topic).
    type : str
        Content type, as LSL uses it (``EEG``, ``Markers``, ``Decoder``...).
    channel_names : tuple of str
        One name per channel; its length is the channel count.
    sfreq : float
        Nominal sample rate in Hz; 0 for an irregular stream.
    dtype : str
        Sample format, a key of :data:`DTYPES`.
    source_id : str
        A stable identifier of the source, so that a restarted source is recognised.
    channel_types : tuple of str
        One type per channel (``eeg``, ``misc``...); defaults to the stream type lower-cased.
    channel_units : tuple of str
        One unit per channel, normalised by :func:`bci_bridge.units.normalise_unit`
        (``"uV"``, ``"mV"``, ``"V"``, ``""`` for unknown...); defaults to unknown.
    session : int
        The producer's stream session, a 32-bit number drawn anew each time the producer (a
        bridge, a device host) starts; 0 when unknown. A receiver that sees it change knows the
        producer restarted and its sample count started again.
    """

    name: str
    type: str = "EEG"
    channel_names: tuple[str, ...]
    sfreq: float
    dtype: str = "float32"
    source_id: str = ""
    channel_types: tuple[str, ...] = field(default=())
    channel_units: tuple[str, ...] = field(default=())
    session: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("must not be empty", key="name")
        if not self.channel_names:
            raise ConfigError("a stream needs at least one channel", key="channel_names")
        if self.sfreq < 0 or not np.isfinite(self.sfreq):
            raise ConfigError(f"must be >= 0 Hz (0 = irregular), got {self.sfreq}", key="sfreq")
        if self.dtype not in DTYPES and self.dtype != MARKER_DTYPE:
            raise ConfigError(
                f"{self.dtype!r} is not one of {sorted(DTYPES)} or {MARKER_DTYPE!r}", key="dtype"
            )
        if not 0 <= self.session < 1 << 32:
            raise ConfigError(
                f"must be a 32-bit unsigned number, got {self.session}", key="session"
            )
        n = len(self.channel_names)
        if not self.channel_types:
            object.__setattr__(self, "channel_types", (self.type.lower(),) * n)
        if not self.channel_units:
            object.__setattr__(self, "channel_units", ("",) * n)
        for key in ("channel_types", "channel_units"):
            if len(getattr(self, key)) != n:
                raise ConfigError(f"needs {n} entries, one per channel", key=key)
        units = zip(self.channel_units, self.channel_types, strict=True)
        object.__setattr__(self, "channel_units", tuple(normalise_unit(u, t) for u, t in units))

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.channel_names)

    @classmethod
    def markers(cls, name: str, source_id: str = "") -> StreamInfo:
        """Describe a marker stream: irregular, one text channel ``label``."""
        return cls(
            name=name,
            type="Markers",
            channel_names=("label",),
            sfreq=0.0,
            dtype=MARKER_DTYPE,
            source_id=source_id,
        )

    @property
    def is_markers(self) -> bool:
        """Whether this is a marker stream (text labels, see :data:`MARKER_DTYPE`)."""
        return self.dtype == MARKER_DTYPE

    @property
    def np_dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the samples (little-endian; ``object`` for markers)."""
        return DTYPES[self.dtype] if self.dtype in DTYPES else np.dtype(object)

    def renamed(self, **changes: Any) -> StreamInfo:
        """Return a copy with some fields changed (a module's output info, say)."""
        if "channel_names" in changes:
            changes.setdefault("channel_types", ())
            changes.setdefault("channel_units", ())
        return replace(self, **changes)

    def to_json(self) -> bytes:
        """Serialise to UTF-8 JSON, as sent on ``info.<stream>`` topics."""
        return json.dumps(
            {
                "name": self.name,
                "type": self.type,
                "channel_names": list(self.channel_names),
                "channel_types": list(self.channel_types),
                "channel_units": list(self.channel_units),
                "sfreq": self.sfreq,
                "dtype": self.dtype,
                "source_id": self.source_id,
                "session": self.session,
            }
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> StreamInfo:
        """Parse what :meth:`to_json` wrote.

        Raises
        ------
        ConfigError
            If the JSON is not a valid stream description: whatever is wrong with it (a
            401-digit rate, a nested list for a name...), this is the only error raised.
        """
        try:
            obj = json.loads(raw)
            if not isinstance(obj, dict):
                raise TypeError(f"expected a JSON object, got {type(obj).__name__}")
            lists = {k: obj.get(k, []) for k in ("channel_names", "channel_types", "channel_units")}
            for key, value in lists.items():
                if not isinstance(value, list):
                    raise TypeError(f"{key} must be a list, got {type(value).__name__}")
            return cls(
                name=str(obj["name"]),
                type=str(obj["type"]),
                channel_names=tuple(map(str, lists["channel_names"])),
                channel_types=tuple(map(str, lists["channel_types"])),
                channel_units=tuple(map(str, lists["channel_units"])),
                sfreq=float(obj["sfreq"]),
                dtype=str(obj["dtype"]),
                source_id=str(obj.get("source_id", "")),
                session=_session(obj.get("session", 0)),
            )
        except (ValueError, KeyError, TypeError, RecursionError, OverflowError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"not a valid stream description: {exc!r}") from exc


def _session(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"session must be an integer, got {value!r:.40}")
    return value


@dataclass(slots=True)
class Chunk:
    """A block of consecutive samples of one stream.

    Parameters
    ----------
    data : ndarray, shape (n_samples, n_channels)
        C-contiguous samples, in the stream's dtype and units.
    timestamps : ndarray of float64, shape (n_samples,)
        LSL clock time of each sample, in seconds. For a module's output, the timestamp of the
        newest input sample that produced it.
    seq : int
        Sequence number of the frame this chunk came from (or was derived from).
    stale : bool
        A runtime stand-in re-emitting an earlier output (``on_overrun = "fallback"``).
    """

    data: npt.NDArray[Any]
    timestamps: npt.NDArray[np.float64]
    seq: int = 0
    stale: bool = False

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return len(self.data)
