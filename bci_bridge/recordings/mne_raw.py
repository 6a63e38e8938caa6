"""Any recording as an :class:`mne.io.Raw` with its events as annotations.

MNE stores volts: samples are scaled from the units the recording states (microvolts when it
states none, this package's convention for EEG). Each event becomes a zero-length annotation at
its sample's time. MNE is imported lazily, only here; the runtime never imports this module.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.recording import Recording
from bci_bridge.units import VOLTS_PER_UNIT, normalise_unit

__all__ = ["read_raw", "to_mne_raw"]


def to_mne_raw(recording: Recording) -> Any:
    """Convert a recording to an ``mne.io.RawArray`` of EEG channels in volts, with annotations.

    Parameters
    ----------
    recording : Recording
        ``data`` ``(n_samples, n_channels)`` in ``channel_units`` (microvolts when empty).

    Returns
    -------
    mne.io.RawArray
        ``n_channels`` EEG channels named as in the recording, at its rate; one annotation per
        event (onset = sample / sfreq in seconds, duration 0, description = label).

    Raises
    ------
    ConfigError
        If mne is missing or a channel's unit is not a voltage this function knows.
    """
    try:
        mne: Any = importlib.import_module("mne")  # untyped; lazy: the runtime never needs it
    except ImportError as exc:
        raise ConfigError(
            "an mne.io.Raw needs mne (pip install 'bci-bridge[mne]')", file=recording.source
        ) from exc
    units = recording.channel_units or (recording.unit,) * len(recording.channel_names)
    scale = np.empty(len(units))
    for i, unit in enumerate(units):
        factor = VOLTS_PER_UNIT.get(normalise_unit(unit) or "uV")
        if factor is None:
            raise ConfigError(
                f"channel {recording.channel_names[i]!r} is in {unit!r}, not a voltage MNE "
                f"can hold as EEG; known: {', '.join(VOLTS_PER_UNIT)}",
                key="channel_units",
                file=recording.source,
            )
        scale[i] = factor
    info = mne.create_info(list(recording.channel_names), recording.sfreq, "eeg")
    volts = recording.data.T.astype(np.float64) * scale[:, None]
    raw = mne.io.RawArray(volts, info, verbose="error")
    if recording.events:
        onsets = [sample / recording.sfreq for sample, _ in recording.events]
        labels = [label for _, label in recording.events]
        raw.set_annotations(mne.Annotations(onsets, [0.0] * len(onsets), labels))
    return raw


def read_raw(path: str | Path, *, stream: str = "", markers: str = "") -> Any:
    """Read a file (XDF included) as an ``mne.io.RawArray`` with annotations.

    Parameters
    ----------
    path : str or Path
        Any file :func:`bci_bridge.recordings.read_recording` reads.
    stream, markers : str
        XDF only: the data and marker streams (see :func:`~bci_bridge.recordings.xdf.read_xdf`).

    Returns
    -------
    mne.io.RawArray
        See :func:`to_mne_raw`.
    """
    from bci_bridge.recordings import read_recording

    return to_mne_raw(read_recording(path, stream=stream, markers=markers))
