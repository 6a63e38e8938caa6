"""Sliding windows over a continuous recording, labelled from its events (``[windows]``).

::

    [windows]
    length_s = 2.0    # window length, seconds
    hop_s = 0.25      # seconds between windows: the written pipeline decodes every hop
    event_s = 3.0     # each event lasts this long from its onset, seconds
    offset_s = 0.5    # a window is labelled by an event only from this long after onset on
    rest = "rest"     # label of the windows between events; "" for no rest class

The windows start at sample 0 and every ``hop`` samples after, ``length`` samples each,
``length = round(length_s * sfreq)``, ``hop = max(1, round(hop_s * sfreq))``: the grid the
runtime's ``onnx`` node (``trigger = "hop"``) slides from the first sample it receives. A
window is named by its **end**, its last sample ``e``. The labelling rule, with an event at
onset sample ``o``, ``D = round(event_s * sfreq)`` and ``off = round(offset_s * sfreq)``:

- **event**: ``o + off <= e < o + D`` (the window's end lies inside the event, at least
  ``offset_s`` after its onset): the window takes the event's label and belongs to the event's
  segment;
- **rest**: no sample of the window lies inside any event (``[o, o + D)`` of every event, of any
  label): the window is ``rest`` and belongs to the segment of the gap it lies in;
- **dropped**: anything else: windows that end in the first ``offset_s`` of an event or straddle
  its edges (transitions), windows that end inside two events of different labels (ambiguous),
  and windows of events whose label ``[data] labels`` leaves out. They are counted, not used.

The segments (one per event, one per gap) are the units that cross-validation keeps whole
(:mod:`decoders.training.window_splits`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = ["Labelled", "WindowsConfig", "label_windows"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WindowsConfig:
    """The ``[windows]`` table of a recipe (see the module docs); seconds throughout."""

    length_s: float
    hop_s: float
    event_s: float
    offset_s: float = 0.0
    rest: str = "rest"

    def __post_init__(self) -> None:
        for key in ("length_s", "hop_s", "event_s"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"must be seconds > 0, got {value!r}", key=key)
        if not (math.isfinite(self.offset_s) and 0 <= self.offset_s < self.event_s):
            raise ConfigError(
                f"must be seconds in [0, event_s = {self.event_s:g}), got {self.offset_s!r}",
                key="offset_s",
            )


@dataclass(frozen=True, slots=True)
class Labelled:
    """The labelled windows of one recording.

    Attributes
    ----------
    starts : ndarray of int, shape (n_windows,)
        First sample of each kept window, in time order.
    labels : ndarray of str, shape (n_windows,)
        Each kept window's label.
    segments : ndarray of str, shape (n_windows,)
        Each kept window's segment: ``e<k>`` for event ``k``, ``r<g>`` for the gap after
        ``g`` events.
    length, hop : int
        Window length and hop, samples.
    n_slid : int
        Windows on the grid, kept or not.
    dropped : dict of str to int
        Windows not kept, by reason: ``transition``, ``ambiguous``, ``unused label``,
        ``between events`` (with ``rest = ""``).
    """

    starts: npt.NDArray[np.intp]
    labels: npt.NDArray[np.str_]
    segments: npt.NDArray[np.str_]
    length: int
    hop: int
    n_slid: int
    dropped: dict[str, int]

    def counts(self) -> dict[str, int]:
        """Kept windows per label."""
        names, n = np.unique(self.labels, return_counts=True)
        return {str(k): int(v) for k, v in zip(names, n, strict=True)}


def label_windows(
    n_samples: int,
    sfreq: float,
    events: Sequence[tuple[int, str]],
    config: WindowsConfig,
    labels: Sequence[str] = (),
    *,
    source: str = "",
) -> Labelled:
    """Slide windows over a recording of ``n_samples`` and label them (see the module docs).

    Parameters
    ----------
    n_samples : int
        Samples in the recording.
    sfreq : float
        Its rate, Hz.
    events : sequence of (int, str)
        ``(onset sample, label)`` pairs, sorted by onset.
    config : WindowsConfig
        The rule.
    labels : sequence of str
        Event labels to keep (empty: all); other events still count as events, never rest.
    source : str
        The file, for errors.

    Raises
    ------
    ConfigError
        A window longer than the recording, no event, a label not in the recording, a rest
        label that is also an event label, or no window left.
    """
    length = round(config.length_s * sfreq)
    hop = max(1, round(config.hop_s * sfreq))
    span = round(config.event_s * sfreq)
    off = round(config.offset_s * sfreq)
    if length < 1 or length > n_samples:
        raise ConfigError(
            f"{config.length_s:g} s is {length} samples at {sfreq:g} Hz; the recording has "
            f"{n_samples}",
            key="windows.length_s",
            file=source,
        )
    present = sorted({label for _, label in events})
    if not events:
        raise ConfigError(
            "the recording has no event to label windows with (annotations, a stim channel "
            "or a marker stream)",
            key="data.train",
            file=source,
        )
    missing = [label for label in labels if label not in present]
    if missing:
        raise ConfigError(
            f"no event labelled {missing}; the recording has {present}",
            key="data.labels",
            file=source,
        )
    if config.rest and config.rest in present:
        raise ConfigError(
            f"{config.rest!r} is also an event label of the recording; choose another name "
            'for the windows between events (or rest = "" for none)',
            key="windows.rest",
            file=source,
        )
    onsets = np.array([s for s, _ in events], dtype=np.int64)
    names = [label for _, label in events]
    wanted = set(labels) or set(present)
    starts = np.arange(0, n_samples - length + 1, hop, dtype=np.int64)
    ends = starts + length - 1
    # Events whose label region holds the end: o in (e - D, e - off].
    lo = np.searchsorted(onsets, ends - span, side="right")
    hi = np.searchsorted(onsets, ends - off, side="right")
    # Events whose span [o, o + D) meets the window [s, e]: o in (s - D, e].
    touched = np.searchsorted(onsets, ends, side="right") - np.searchsorted(
        onsets, starts - span, side="right"
    )
    gap = np.searchsorted(onsets, starts, side="right")
    keep: list[int] = []
    out_labels: list[str] = []
    segments: list[str] = []
    dropped = {"transition": 0, "ambiguous": 0, "unused label": 0, "between events": 0}
    for i in range(len(starts)):
        if hi[i] > lo[i]:
            found = {names[k] for k in range(int(lo[i]), int(hi[i]))}
            if len(found) > 1:
                dropped["ambiguous"] += 1
                continue
            label = found.pop()
            if label not in wanted:
                dropped["unused label"] += 1
                continue
            keep.append(i)
            out_labels.append(label)
            segments.append(f"e{int(hi[i]) - 1}")
        elif touched[i] == 0:
            if not config.rest:
                dropped["between events"] += 1
                continue
            keep.append(i)
            out_labels.append(config.rest)
            segments.append(f"r{int(gap[i])}")
        else:
            dropped["transition"] += 1
    if not keep:
        raise ConfigError(
            f"no window of {config.length_s:g} s every {config.hop_s:g} s gets a label from "
            f"{len(events)} events lasting event_s = {config.event_s:g} s: make the windows "
            "shorter or event_s longer",
            key="windows",
            file=source,
        )
    return Labelled(
        starts=starts[keep].astype(np.intp),
        labels=np.array(out_labels, dtype=np.str_),
        segments=np.array(segments, dtype=np.str_),
        length=length,
        hop=hop,
        n_slid=len(starts),
        dropped=dropped,
    )
