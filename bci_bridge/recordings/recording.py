"""One continuous recording with labelled events, and the trials cut from it around events."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.trials import Trials

__all__ = ["Recording"]


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
    channel_units : tuple of str
        One unit per channel as the file states it, in bci-bridge's spelling (see
        :mod:`bci_bridge.units`), or empty when the format states none: then ``unit`` holds.
    unit : str
        The unit of ``data`` when all channels share one (``"uV"`` for every reader but XDF,
        which takes it from the file; ``""`` when the channels differ or the file states none).
    channel_types : tuple of str
        One type per channel, lower case (``"eeg"``, ``"eog"``...), as the file states them
        (MNE's channel types, XDF's ``desc/channels/channel/type`` else the stream's type), or
        empty when the format states none (``.ts``, ``.npz``).
    """

    data: npt.NDArray[np.float32]
    sfreq: float
    channel_names: tuple[str, ...]
    events: tuple[tuple[int, str], ...]
    source: str
    sha256: str
    channel_units: tuple[str, ...] = ()
    unit: str = "uV"
    channel_types: tuple[str, ...] = ()

    @classmethod
    def from_trials(cls, trials: Trials) -> Recording:
        """Lay trials end to end, one event per trial at its first sample, labelled by class.

        Parameters
        ----------
        trials : Trials
            ``X`` ``(n_trials, n_channels, n_samples)``.

        Returns
        -------
        Recording
            ``data`` float32 ``(n_trials * n_samples, n_channels)``.
        """
        n_trials, n_channels, n_samples = trials.X.shape
        data = np.ascontiguousarray(
            trials.X.transpose(0, 2, 1).reshape(n_trials * n_samples, n_channels),
            dtype=np.float32,
        )
        events = tuple((i * n_samples, str(label)) for i, label in enumerate(trials.y))
        return cls(
            data=data,
            sfreq=trials.sfreq,
            channel_names=trials.channel_names,
            events=events,
            source=trials.source,
            sha256=trials.sha256,
            unit=trials.unit,
        )

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
            unit=self.unit,
        )
