"""Resample training trials with the runtime's own ``resample`` module (``[data] sfreq``).

Each trial goes through a fresh :class:`~decoders.resample.Resample` as one float32 chunk,
as the stream does online: same filter, same steady-state start, same causal delay, so the
model sees offline what the pipeline's ``resample`` node gives it online.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import Chunk, StreamInfo
from decoders.resample import Resample, ResampleConfig

__all__ = ["resample_signal", "resample_trials"]


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
