"""Convert a :class:`~bci_bridge.stream.StreamInfo` to and from an ``mne.Info``.

MNE keeps voltages in volts: an ``mne.Info``'s EEG channels have the FIFF unit volts, and the
data of a ``Raw`` made from it must be in volts. :func:`to_mne` therefore also returns, per
channel, the factor that turns the stream's samples into MNE's units; :func:`from_mne` labels
voltage channels with the units the caller's samples are in (volts, as MNE returns them, or
whatever ``get_data(units=...)`` was asked for). mne is imported here only, when called.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import StreamInfo
from bci_bridge.units import VOLTAGE_TYPES, is_voltage, scale_factor

__all__ = ["from_mne", "to_mne"]


def _mne() -> Any:
    try:
        return importlib.import_module("mne")
    except ImportError as exc:
        raise ConfigError("converting to or from mne.Info needs mne (pip install mne)") from exc


def to_mne(info: StreamInfo) -> tuple[Any, npt.NDArray[np.float64]]:
    """Describe a stream as an ``mne.Info``, with the factors that put its samples in MNE units.

    Parameters
    ----------
    info : StreamInfo
        A regular stream (``sfreq > 0``); channel types MNE does not know become ``misc``.

    Returns
    -------
    mne_info : mne.Info
        Channel names, types and the sample rate.
    to_si : ndarray of float64, shape (n_channels,)
        Multiply the stream's samples by this to get MNE's units (``1e-6`` for a microvolt
        EEG channel; 1 for channels that are not voltages or whose unit is unknown).

    Raises
    ------
    ConfigError
        If the stream is irregular or a marker stream.
    """
    if info.sfreq <= 0 or info.is_markers:
        raise ConfigError(f"stream {info.name!r} is not a regular signal; mne.Info needs a rate")
    mne = _mne()
    known = set(mne.io.get_channel_type_constants(include_defaults=True))
    types = [t if t in known else "misc" for t in info.channel_types]
    mne_info = mne.create_info(list(info.channel_names), info.sfreq, types, verbose="error")
    to_si = np.ones(info.n_channels)
    for i, (kind, unit) in enumerate(zip(types, info.channel_units, strict=True)):
        if kind in VOLTAGE_TYPES and is_voltage(unit):
            to_si[i] = scale_factor(unit, "V")
    return mne_info, to_si


def from_mne(
    mne_info: Any, *, name: str, units: str = "V", dtype: str = "float32", source_id: str = ""
) -> StreamInfo:
    """Describe the channels of an ``mne.Info`` as a stream.

    Parameters
    ----------
    mne_info : mne.Info
        The measurement info.
    name : str
        The stream's name.
    units : str
        The units the samples of voltage channels will be in: ``"V"`` for data as MNE holds
        it, ``"uV"`` for ``get_data(units="uV")``...
    dtype : str
        Sample format of the stream.
    source_id : str
        Stable identifier of the source.

    Returns
    -------
    StreamInfo
        Type ``EEG``, MNE's channel types; voltage channels labelled ``units``, others unknown.
    """
    types = tuple(str(t) for t in mne_info.get_channel_types())
    return StreamInfo(
        name=name,
        type="EEG",
        channel_names=tuple(mne_info["ch_names"]),
        sfreq=float(mne_info["sfreq"]),
        dtype=dtype,
        source_id=source_id,
        channel_types=types,
        channel_units=tuple(units if t in VOLTAGE_TYPES else "" for t in types),
    )
