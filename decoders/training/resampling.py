"""Resample training data with the runtime's own ``resample`` module (``[data] sfreq``).

Continuous recordings (MNE files) are resampled whole, as the stream is online, and then cut
into epochs, each event moved to the output sample nearest its time, as the ``epoch`` module
places a marker: the trials equal the windows the pipeline's ``epoch`` node cuts from the
pipeline's ``resample`` output. Trial files (``.ts``, ``.npz``) hold only the trials, so each
trial goes through a fresh :class:`~decoders.resample.Resample` as one float32 chunk, started
in steady state; that equals the online windows when the signal before each trial was steady
(the same approximation as :mod:`decoders.training.filtering`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Recording, Trials
from bci_bridge.stream import Chunk, StreamInfo
from decoders.resample import Resample, ResampleConfig

__all__ = ["resample_epochs", "resample_signal", "resample_trials"]


def resample_signal(
    x: npt.NDArray[np.floating], sfreq: float, sfreq_out: float
) -> tuple[npt.NDArray[np.float32], float]:
    """Resample one continuous signal in one call, as the module does chunk by chunk.

    Parameters
    ----------
    x : ndarray, shape (n_samples, n_channels)
        Samples (cast to float32, as a stream carries them).
    sfreq, sfreq_out : float
        Input rate and wanted output rate, Hz.

    Returns
    -------
    y : ndarray of float32, shape (n_out, n_channels)
        The resampled signal.
    rate : float
        The output rate actually produced (see :class:`~decoders.resample.ResampleConfig`).
    """
    names = tuple(f"ch{i}" for i in range(x.shape[1]))
    module = Resample(ResampleConfig(sfreq=sfreq_out))
    out_info = module.prepare(StreamInfo(name="training", channel_names=names, sfreq=sfreq))
    data = np.ascontiguousarray(x, dtype=np.float32)
    stamps = np.arange(data.shape[0], dtype=np.float64) / sfreq
    chunk = module.step(Chunk(data, stamps, 0))
    assert chunk is not None  # at least one input sample gives at least one output
    return np.ascontiguousarray(chunk.data, dtype=np.float32), out_info.sfreq


def resample_trials(
    X: npt.NDArray[np.float64], sfreq: float, sfreq_out: float
) -> tuple[npt.NDArray[np.float64], float]:
    """Resample each trial on its own (see the module docs).

    Parameters
    ----------
    X : ndarray of float64, shape (n_trials, n_channels, n_samples)
        Trials.
    sfreq, sfreq_out : float
        Input rate and wanted output rate, Hz.

    Returns
    -------
    X_out : ndarray of float64, shape (n_trials, n_channels, n_out)
        Resampled trials (float32 values, as online).
    rate : float
        The output rate actually produced.
    """
    rows = []
    rate = sfreq_out
    for trial in X:
        y, rate = resample_signal(trial.T, sfreq, sfreq_out)
        rows.append(y.T)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float64), rate


def resample_epochs(
    rec: Recording,
    sfreq_out: float,
    tmin: float,
    tmax: float,
    labels: Sequence[str] = (),
    channels: Sequence[str] = (),
) -> Trials:
    """Resample a continuous recording whole, then cut its epochs (see the module docs).

    Parameters
    ----------
    rec : Recording
        The recording, at its own rate.
    sfreq_out : float
        Wanted rate, Hz.
    tmin, tmax : float
        Epoch window around each event, seconds (see :meth:`Recording.epochs`).
    labels : sequence of str
        Keep only these events' labels (empty: all).
    channels : sequence of str
        Keep these channels, in this order (empty: all).

    Returns
    -------
    Trials
        At the output rate.

    Raises
    ------
    ConfigError
        A missing channel (``channels``) or what :meth:`Recording.epochs` refuses.
    """
    if channels:
        missing = [c for c in channels if c not in rec.channel_names]
        if missing:
            raise ConfigError(
                f"no channel {missing}; available: {', '.join(rec.channel_names)}",
                key="channels",
                file=rec.source,
            )
        index = [rec.channel_names.index(c) for c in channels]
        units = tuple(rec.channel_units[i] for i in index) if rec.channel_units else ()
        rec = replace(
            rec, data=rec.data[:, index], channel_names=tuple(channels), channel_units=units
        )
    data, rate = resample_signal(rec.data, rec.sfreq, sfreq_out)
    # A marker at sample s (time s / sfreq) lands on the nearest output sample, as in epoch.
    events = tuple((round(s * rate / rec.sfreq), label) for s, label in rec.events)
    return replace(rec, data=data, sfreq=rate, events=events).epochs(tmin, tmax, labels)
