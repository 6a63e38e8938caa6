"""Marker inputs as numbers: mne-lsl's one-hot annotation streams turned into labels.

mne-lsl's player streams a recording's annotations as an irregular float stream (type
``annotations``) with one channel per annotation description, the channel named after it; a
sample that is non-zero in a channel is that annotation at that sample's time (the value is the
annotation's duration). The runtime accepts such a stream wherever a marker input goes and
hands the modules the descriptions as labels, as it does for a text marker stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import StreamInfo

__all__ = ["is_onehot_markers", "onehot_labels"]

_FLOATS = ("float32", "float64")


def is_onehot_markers(info: StreamInfo) -> bool:
    """Whether ``info`` describes a one-hot annotation stream: irregular, float, named channels.

    Parameters
    ----------
    info : StreamInfo
        The stream given as a marker input.
    """
    return info.sfreq == 0 and info.dtype in _FLOATS


def onehot_labels(
    data: npt.NDArray[Any], timestamps: npt.NDArray[np.float64], names: tuple[str, ...]
) -> tuple[tuple[str, ...], npt.NDArray[np.float64]]:
    """Turn one-hot annotation samples into labels with their timestamps.

    Parameters
    ----------
    data : ndarray, shape (n_samples, n_channels)
        Annotation samples; a finite non-zero value in channel ``j`` is annotation
        ``names[j]``.
    timestamps : ndarray of float64, shape (n_samples,)
        LSL time of each sample, seconds.
    names : tuple of str, length n_channels
        The channel names, which are the annotation descriptions.

    Returns
    -------
    labels : tuple of str
        One label per annotation, in time order, then in channel order for annotations of
        the same sample (a sample may carry several).
    stamps : ndarray of float64, shape (len(labels),)
        The timestamp of each label's sample.
    """
    rows, cols = np.nonzero((data != 0) & np.isfinite(data))
    return tuple(names[c] for c in cols.tolist()), np.ascontiguousarray(timestamps[rows])
