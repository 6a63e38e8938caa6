"""A thin, explicit layer over pylsl: stream info conversion, resolving, the local-only config.

Everything that touches pylsl's stream metadata lives here, so that devices, the bridge and the
runtime agree on how channel names, types and units travel (the XDF ``desc/channels`` layout
that LabRecorder and most LSL apps use).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import pylsl
from pylsl.lib import lib as _liblsl

from bci_bridge.errors import ConfigError, StreamNotFoundError
from bci_bridge.lsl_config import describe_lsl_config
from bci_bridge.stream import DTYPES, MARKER_DTYPE, StreamInfo
from bci_bridge.units import lsl_unit

__all__ = [
    "LOCAL_CONFIG",
    "from_lsl",
    "local_clock",
    "resolve",
    "to_lsl",
    "use_local_config",
]

#: The shipped ``lsl_api.cfg`` that confines LSL to this machine (loopback only).
LOCAL_CONFIG: Path = Path(str(files("bci_bridge") / "lsl_api.cfg"))

#: LSL's clock, seconds: liblsl's function itself (pylsl's ``local_clock`` wraps it in a Python
#: call, which the runtime would pay several times per sample).
local_clock: Callable[[], float] = _liblsl.lsl_local_clock

_LSL_FORMATS = {
    "float32": pylsl.cf_float32,
    "float64": pylsl.cf_double64,
    "int32": pylsl.cf_int32,
    "int16": pylsl.cf_int16,
    "int8": pylsl.cf_int8,
}
_FORMAT_NAMES = {v: k for k, v in _LSL_FORMATS.items()}


def use_local_config(*, override: bool = False) -> str:
    """Point ``LSLAPICFG`` at the shipped loopback-only config, unless the user set one.

    Must run before liblsl is first used in this process (it reads the file once). Child
    processes inherit the variable.

    Parameters
    ----------
    override : bool
        Replace a ``LSLAPICFG`` the user had set.

    Returns
    -------
    str
        The config file in effect.
    """
    if override or not os.environ.get("LSLAPICFG"):
        os.environ["LSLAPICFG"] = str(LOCAL_CONFIG)
    return os.environ["LSLAPICFG"]


def to_lsl(info: StreamInfo, *, string_format: bool = False) -> pylsl.StreamInfo:
    """Convert to a ``pylsl.StreamInfo`` with channel labels, types and units in its desc.

    Parameters
    ----------
    info : StreamInfo
        The stream to describe.
    string_format : bool
        Make a string stream (markers) regardless of ``info.dtype``.
    """
    fmt = pylsl.cf_string if string_format or info.is_markers else _LSL_FORMATS[info.dtype]
    out = pylsl.StreamInfo(
        info.name, info.type, info.n_channels, info.sfreq, fmt, info.source_id or info.name
    )
    if info.session:
        out.desc().append_child_value("session", str(info.session))
    channels = out.desc().append_child("channels")
    metadata = zip(info.channel_names, info.channel_types, info.channel_units, strict=True)
    for name, kind, unit in metadata:
        ch = channels.append_child("channel")
        ch.append_child_value("label", name)
        ch.append_child_value("type", kind)
        if unit:
            ch.append_child_value("unit", lsl_unit(unit))
    return out


def from_lsl(lsl_info: pylsl.StreamInfo) -> StreamInfo:
    """Convert a ``pylsl.StreamInfo`` (with its full desc, from an inlet) to a StreamInfo.

    Channels without labels are named ``ch1``, ``ch2``...

    Raises
    ------
    ConfigError
        If the stream's sample format cannot travel on the wire (string streams).
    """
    n = lsl_info.channel_count()
    fmt = lsl_info.channel_format()
    if fmt == pylsl.cf_string:
        dtype = MARKER_DTYPE
    elif fmt in _FORMAT_NAMES:
        dtype = _FORMAT_NAMES[fmt]
    else:
        raise ConfigError(
            f"LSL stream {lsl_info.name()!r} has a format the bridge cannot carry; "
            f"it carries {sorted(DTYPES)} and text markers"
        )
    names, types, units = [], [], []
    ch = lsl_info.desc().child("channels").child("channel")
    for i in range(n):
        label = ch.child_value("label") if not ch.empty() else ""
        names.append(label or f"ch{i + 1}")
        types.append((ch.child_value("type") if not ch.empty() else "") or lsl_info.type().lower())
        units.append(ch.child_value("unit") if not ch.empty() else "")
        ch = ch.next_sibling() if not ch.empty() else ch
    return StreamInfo(
        name=lsl_info.name(),
        type=lsl_info.type(),
        channel_names=tuple(names),
        channel_types=tuple(types),
        channel_units=tuple(units),
        sfreq=float(lsl_info.nominal_srate()),
        dtype=dtype,
        source_id=lsl_info.source_id(),
        session=_session(lsl_info.desc().child_value("session")),
    )


def _session(text: str) -> int:
    """Read the ``session`` desc entry a device host writes; 0 if absent or not a session."""
    return int(text) if text.isdigit() and int(text) < 1 << 32 else 0


def resolve(
    *, name: str | None = None, type: str | None = None, timeout: float = 10.0
) -> pylsl.StreamInfo:
    """Find one LSL stream by name and/or type, waiting at most ``timeout`` seconds.

    Raises
    ------
    StreamNotFoundError
        If no stream matched; the message lists the streams that were visible.
    """
    if not name and not type:
        raise ConfigError("give a stream name or type to look for")
    clauses = []
    if name:
        clauses.append(f"name='{name}'")
    if type:
        clauses.append(f"type='{type}'")
    pred = " and ".join(clauses)
    found = pylsl.resolve_bypred(pred, 1, timeout)
    if found:
        return found[0]
    visible = pylsl.resolve_streams(wait_time=0.5)
    seen = ", ".join(f"{s.name()} ({s.type()})" for s in visible) or "none"
    raise StreamNotFoundError(
        f"no LSL stream matched {pred} within {timeout:g} s; visible: {seen}. "
        + describe_lsl_config()
    )
