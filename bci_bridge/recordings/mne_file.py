"""Continuous files MNE reads (``.fif``, ``.edf``, ``.bdf``, ``.gdf``, ``.vhdr``, ``.set``...).

EEG channels in microvolts, events from the annotations or, if there are none, from the stim
channel (the label is the event code as text). MNE is imported lazily, only here.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.hashing import read_bytes, sha256
from bci_bridge.recordings.recording import Recording

__all__ = ["SUPPORTED", "read_mne"]

SUPPORTED = ".ts, .npz, or any format mne.io.read_raw reads (.fif, .edf, .bdf, .gdf, .vhdr, .set)"


def read_mne(p: Path) -> Recording:
    """Read a continuous file with MNE: EEG channels in microvolts, events."""
    file = str(p)
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
    picks = mne.pick_types(raw.info, eeg=True, exclude=())
    if len(picks) == 0:
        raise ConfigError(
            f"no EEG channel; channels are {raw.ch_names} of types "
            f"{sorted(set(raw.get_channel_types()))}",
            file=file,
        )
    data = raw.get_data(picks=picks, units="uV")  # (n_channels, n_samples)
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
        channel_types=tuple(str(t).lower() for t in raw.get_channel_types(picks=picks)),
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
