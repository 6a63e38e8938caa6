"""Training data from a continuous recording: the sliding windows the runtime will decode.

The recording is read whole (:func:`~bci_bridge.recordings.read_recording`: FIF, EDF, XDF with
a marker stream...; a trials file, ``.ts`` or ``.npz``, is its trials laid end to end, one
event at each trial's first sample), its channels picked by name or type, resampled whole
(``[data] sfreq``) and filtered whole, causally, with the runtime's own modules
(``[[filters]]``), all as the pipeline does to the stream; only then is it cut into windows on
the hop grid and labelled (:mod:`.sliding`). Each window is what the pipeline's ``onnx`` node
(``trigger = "hop"``) sees when its newest sample arrives, up to float32 rounding of the
filter chain.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials, read_recording
from bci_bridge.recordings.picks import pick_recording
from decoders.training.filtering import filter_trials
from decoders.training.recipe import Recipe
from decoders.training.resampling import resample_signal
from decoders.training.sliding import Labelled, label_windows

__all__ = ["Progress", "Sliding", "Windowed", "load_train_windows", "load_windows", "read_windows"]

#: Called with one line of progress at a time.
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Windowed:
    """Labelled sliding windows of one recording.

    Attributes
    ----------
    trials : Trials
        ``X`` float64 (n_windows, n_channels, length), filtered; ``y`` labels; ``groups`` the
        windows' segments (see :mod:`.sliding`).
    labelled : Labelled
        Where the windows start, how they were labelled and what was dropped.
    n_samples : int
        Samples of the (resampled) recording.
    """

    trials: Trials
    labelled: Labelled
    n_samples: int


def read_windows(recipe: Recipe, path: Path) -> Windowed:
    """Read one continuous file as labelled, filtered sliding windows.

    Parameters
    ----------
    recipe : Recipe
        With a ``[windows]`` table.
    path : Path
        The file.

    Raises
    ------
    ConfigError
        ``file`` the recording, ``key`` a recipe key (``data.channels``, ``windows.length_s``...)
        where one fixes it.
    """
    d = recipe.data
    windows = recipe.windows
    assert windows is not None, "a recipe with a [windows] table"
    try:
        rec = read_recording(
            path, stream=d.stream, markers=d.markers, channel_types=d.channel_types
        )
        rec = pick_recording(rec, d.channels, d.channel_types)
    except ConfigError as exc:
        if exc.key in ("stream", "markers", "channels", "channel_types"):
            raise ConfigError(exc.message, key=f"data.{exc.key}", file=exc.file) from exc
        raise
    if d.sfreq is not None and rec.sfreq != d.sfreq:
        data, rate = resample_signal(rec.data, rec.sfreq, d.sfreq)
        # An event at sample s (time s / sfreq) lands on the nearest output sample.
        events = tuple((round(s * rate / rec.sfreq), label) for s, label in rec.events)
        rec = replace(rec, data=data, sfreq=rate, events=events)
    labelled = label_windows(
        rec.n_samples, rec.sfreq, rec.events, windows, d.labels, source=rec.source
    )
    signal = rec.data.T[None].astype(np.float64)  # (1, n_channels, n_samples)
    try:
        signal = filter_trials(signal, rec.sfreq, rec.channel_names, recipe.filters)
    except ConfigError as exc:
        raise exc.within(file=recipe.source) from exc
    X = _cut(signal[0], labelled.starts, labelled.length)
    trials = Trials(
        X=X,
        y=labelled.labels,
        sfreq=rec.sfreq,
        channel_names=rec.channel_names,
        source=rec.source,
        sha256=rec.sha256,
        unit=rec.unit,
        groups=labelled.segments,
    )
    return Windowed(trials, labelled, rec.n_samples)


class Sliding:
    """Training (and test) windows of continuous recordings, and how they were cut.

    Parameters
    ----------
    parts : list of Windowed
        One per training file, in order.
    train : Trials
        Their windows together, ``groups`` the segments prefixed by the file's index.
    starts : ndarray of int, shape (n_windows,)
        First sample of each window on one axis for all files, the files a window's length
        apart, so that windows of different files never share a sample.

    Attributes
    ----------
    length, hop : int
        Window length and hop, samples.
    test : Windowed or None
        The test file's windows, once read.
    """

    def __init__(self, parts: list[Windowed], train: Trials, starts: npt.NDArray[np.intp]) -> None:
        self.parts = parts
        self.train = train
        self.starts = starts
        self.length = parts[0].labelled.length
        self.hop = parts[0].labelled.hop
        self.test: Windowed | None = None

    def n_test_units(self) -> int:
        """Segments of the test recording (the independent units of its windows)."""
        assert self.test is not None
        return len(set(self.test.labelled.segments.tolist()))

    def entry(self, recipe: Recipe) -> dict[str, Any]:
        """Return the report's ``windows``: the rule, what it kept and dropped of each file."""
        assert recipe.windows is not None
        w = recipe.windows

        def part(p: Windowed) -> dict[str, Any]:
            lab = p.labelled
            return {
                "source": p.trials.source,
                "windows": lab.n_slid,
                "kept": lab.counts(),
                "dropped": lab.dropped,
                "segments": len(set(lab.segments.tolist())),
            }

        out: dict[str, Any] = {
            "length_s": w.length_s,
            "hop_s": w.hop_s,
            "event_s": w.event_s,
            "offset_s": w.offset_s,
            "rest": w.rest or None,
            "length_samples": self.length,
            "hop_samples": self.hop,
            "rule": "a window is labelled by the event whose [onset + offset_s, onset + "
            "event_s) holds its last sample; rest when it shares no sample with any event; "
            "else dropped",
            "train": [part(p) for p in self.parts],
        }
        if self.test is not None:
            out["test"] = part(self.test)
            # What always answering the commonest class scores: windows are rarely balanced.
            kept = out["test"]["kept"]
            out["test"]["majority"] = round(max(kept.values()) / sum(kept.values()), 4)
        return out


def load_windows(recipe: Recipe, path: Path, key: str, progress: Progress) -> Windowed:
    """Read one continuous file as windows; report what was kept."""
    try:
        w = read_windows(recipe, path)
    except ConfigError as exc:
        if exc.key and exc.key.split(".")[0] in ("data", "windows", "filters"):
            text = (
                f"{exc.file}: {exc.message}"
                if exc.file and exc.file != recipe.source
                else (exc.message)
            )
            raise ConfigError(text, key=exc.key, file=recipe.source) from exc
        raise ConfigError(f"{exc}", key=key, file=recipe.source) from exc
    lab = w.labelled
    kept = ", ".join(f"{k} {v}" for k, v in lab.counts().items())
    dropped = ", ".join(f"{k} {v}" for k, v in lab.dropped.items() if v)
    progress(
        f"{lab.n_slid} windows of {lab.length} samples every {lab.hop}: kept {kept}"
        + (f"; dropped {dropped}" if dropped else "")
    )
    if (
        recipe.windows is not None
        and recipe.windows.rest
        and recipe.windows.rest not in lab.counts()
    ):
        progress(f"no window lies clear of every event: no {recipe.windows.rest!r} windows")
    return w


def load_train_windows(recipe: Recipe, progress: Progress) -> Sliding:
    """Read every training file as windows; segments and window starts kept apart per file."""
    parts: list[Windowed] = []
    for i, path in enumerate(recipe.train_paths):
        progress(f"reading {path}")
        key = "data.train" if len(recipe.train_paths) == 1 else f"data.train[{i}]"
        parts.append(load_windows(recipe, path, key, progress))
    first = parts[0].trials
    for i, part in enumerate(parts[1:], start=1):
        got = part.trials
        if (got.channel_names, got.sfreq, got.X.shape[2]) != (
            first.channel_names,
            first.sfreq,
            first.X.shape[2],
        ):
            raise ConfigError(
                f"this file ({list(got.channel_names)}, {got.sfreq:g} Hz, windows of "
                f"{got.X.shape[2]} samples) does not match the first ({list(first.channel_names)}"
                f", {first.sfreq:g} Hz, {first.X.shape[2]} samples)",
                key=f"data.train[{i}]",
                file=recipe.source,
            )
    offsets = np.cumsum([0] + [p.n_samples + p.labelled.length for p in parts[:-1]])
    starts = np.concatenate([p.labelled.starts + o for p, o in zip(parts, offsets, strict=True)])
    groups = np.concatenate(
        [np.char.add(f"{i}:", p.labelled.segments) for i, p in enumerate(parts)]
    ).astype(np.str_)
    train = Trials(
        X=np.concatenate([p.trials.X for p in parts]) if len(parts) > 1 else first.X,
        y=np.concatenate([p.trials.y for p in parts]),
        sfreq=first.sfreq,
        channel_names=first.channel_names,
        source=", ".join(p.trials.source for p in parts),
        sha256=",".join(p.trials.sha256 for p in parts),
        unit=first.unit,
        groups=groups,
    )
    return Sliding(parts, train, starts.astype(np.intp))


def _cut(
    signal: npt.NDArray[np.float64], starts: npt.NDArray[np.intp], length: int
) -> npt.NDArray[np.float64]:
    """Windows ``(n_windows, n_channels, length)`` of ``signal`` (n_channels, n_samples)."""
    index = starts[:, None] + np.arange(length)[None, :]  # (n_windows, length)
    return np.ascontiguousarray(signal[:, index].transpose(1, 0, 2))
