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

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials, read_recording
from bci_bridge.recordings.picks import pick_recording
from decoders.training.filtering import filter_trials
from decoders.training.recipe import Recipe
from decoders.training.resampling import resample_signal
from decoders.training.sliding import Labelled, label_windows

__all__ = ["Windowed", "read_windows"]


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


def _cut(
    signal: npt.NDArray[np.float64], starts: npt.NDArray[np.intp], length: int
) -> npt.NDArray[np.float64]:
    """Windows ``(n_windows, n_channels, length)`` of ``signal`` (n_channels, n_samples)."""
    index = starts[:, None] + np.arange(length)[None, :]  # (n_windows, length)
    return np.ascontiguousarray(signal[:, index].transpose(1, 0, 2))
