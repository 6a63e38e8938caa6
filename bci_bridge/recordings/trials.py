"""Equal-length labelled trials, the input of decoder training, and selections on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = ["Trials", "crop", "pick_channels", "select_labels"]


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
    unit : str
        The unit of ``X`` (see :mod:`bci_bridge.units`): microvolts from every reader but XDF,
        which takes it from the file.
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
    unit: str = "uV"
    groups: npt.NDArray[np.str_] | None = None

    @property
    def classes(self) -> tuple[str, ...]:
        """The distinct labels, sorted."""
        return tuple(str(c) for c in np.unique(self.y))


def crop(trials: Trials, tmin: float | None, tmax: float | None) -> Trials:
    """Keep samples ``[round(tmin * sfreq), round(tmax * sfreq))`` of each trial (None: edge)."""
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


def select_labels(trials: Trials, labels: Sequence[str]) -> Trials:
    """Keep the trials with these labels (empty: all); an absent label is a ConfigError."""
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


def pick_channels(trials: Trials, channels: Sequence[str]) -> Trials:
    """Keep these channels in this order (empty: all); an absent one is a ConfigError."""
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
