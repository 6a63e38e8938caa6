"""Continuous files MNE reads (``.fif``, ``.edf``, ``.bdf``, ``.gdf``, ``.vhdr``, ``.set``...).

EEG channels in microvolts, events from the annotations or, if there are none, from the stim
channel (the label is the event code as text). MNE is imported lazily, only here.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.hashing import read_bytes, sha256
from bci_bridge.recordings.recording import Recording

__all__ = ["SUPPORTED", "VOLTAGE_TYPES", "read_mne"]

SUPPORTED = ".ts, .npz, or any format mne.io.read_raw reads (.fif, .edf, .bdf, .gdf, .vhdr, .set)"
#: MNE channel types measured in volts: those this reader can give in microvolts.
VOLTAGE_TYPES = ("eeg", "eog", "ecg", "emg", "seeg", "ecog", "dbs")


def read_mne(p: Path, types: Sequence[str] = ("eeg",)) -> Recording:
    """Read a continuous file with MNE: its channels of ``types`` in microvolts, and events.

    Parameters
    ----------
    p : Path
        The file.
    types : sequence of str
        MNE channel types to read, among :data:`VOLTAGE_TYPES` (case-insensitive).

    Raises
    ------
    ConfigError
        ``file`` the path: unreadable, a type that is not a voltage, or no channel of
        ``types`` (``key`` ``channel_types`` when other types than EEG were asked for).
    """
    file = str(p)
    wanted = [t.lower() for t in types]
    odd = [t for t in wanted if t not in VOLTAGE_TYPES]
    if odd:
        raise ConfigError(
            f"channel types {odd} are not voltages this reader gives in microvolts; "
            f"choose among {', '.join(VOLTAGE_TYPES)}",
            key="channel_types",
            file=file,
        )
    if not p.exists():
        raise ConfigError("no such file", file=file)
    try:
        mne: Any = importlib.import_module("mne")  # untyped; lazy: the runtime never needs it
    except ImportError as exc:
        raise ConfigError(
            f"reading {p.suffix or 'this'} files needs mne (pip install 'bci-bridge[mne]'); "
            f"without it, supported: .ts, .npz",
            file=file,
        ) from exc
    try:
        raw = mne.io.read_raw(p, preload=True, verbose="error")
    except ValueError as exc:
        if "unsupported" in str(exc).lower():
            raise ConfigError(
                f"unknown file type {p.suffix!r}; supported: {SUPPORTED}", file=file
            ) from exc
        raise ConfigError(f"MNE cannot read it: {exc}", file=file) from exc
    except (OSError, RuntimeError, KeyError, IndexError, TypeError) as exc:
        raise ConfigError(f"MNE cannot read it: {exc}", file=file) from exc
    kinds = [str(t).lower() for t in raw.get_channel_types()]
    picks = np.array([i for i, t in enumerate(kinds) if t in wanted], dtype=np.intp)
    if len(picks) == 0:
        what = "EEG channel" if wanted == ["eeg"] else f"channel of type {wanted}"
        raise ConfigError(
            f"no {what}; channels are {raw.ch_names} of types {sorted(set(kinds))}",
            key=None if wanted == ["eeg"] else "channel_types",
            file=file,
        )
    # (n_channels, n_samples); MNE takes one unit per type when the types differ.
    data = raw.get_data(picks=picks, units=dict.fromkeys({kinds[i] for i in picks}, "uV"))
    events = _mne_events(raw, mne)
    files = [p.resolve()]
    for f in raw.filenames:
        if f is not None and Path(f).resolve() not in files:
            files.append(Path(f).resolve())
    blobs = [read_bytes(f) for f in files]
    return Recording(
        data=np.ascontiguousarray(data.T, dtype=np.float32),
        sfreq=float(raw.info["sfreq"]),
        channel_names=tuple(raw.ch_names[i] for i in picks),
        events=events,
        source=", ".join([file, *(str(f) for f in files[1:])]),
        sha256=sha256(*blobs),
        channel_types=tuple(kinds[i] for i in picks),
    )


def _mne_events(raw: Any, mne: Any) -> tuple[tuple[int, str], ...]:
    """Events as ``(sample from the first sample of raw, label)``, sorted."""
    first = int(raw.first_samp)
    if len(raw.annotations):
        events, event_id = mne.events_from_annotations(raw, verbose="error")
        names = {code: label for label, code in event_id.items()}
        pairs = [(int(s) - first, names[int(c)]) for s, _, c in events]
    elif mne.pick_types(raw.info, stim=True, exclude=()).size:
        events = mne.find_events(raw, shortest_event=1, initial_event=True, verbose="error")
        pairs = [(int(s) - first, str(int(c))) for s, _, c in events]
    else:
        pairs = []
    return tuple(sorted(pairs, key=lambda e: e[0]))
