"""Apply a recipe's stateful filters to training trials with the runtime's own module code.

Online, the filters run on the continuous stream. Trial files (``.ts``, ``.npz``) hold only the
trials, so each trial is filtered on its own, causally, by a fresh instance of the same module,
fed as one chunk: the filter starts in its steady state for the trial's first sample (what the
bandpass, highpass and notch modules do with their first chunk). That equals the online output
when the stream before the trial was steady; with slow drifts it is an approximation, so for
data with drifts prefer a continuous file (epochs are then cut after filtering the recording
as the runtime would) or no filter (SCP1 needs none).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.training.recipe import FilterSpec

__all__ = ["filter_trials"]


def filter_trials(
    X: npt.NDArray[np.float64],
    sfreq: float,
    channel_names: Sequence[str],
    filters: Sequence[FilterSpec],
) -> npt.NDArray[np.float64]:
    """Filter each trial causally with the given modules, as float32 like the runtime's stream.

    Parameters
    ----------
    X : ndarray of float64, shape (n_trials, n_channels, n_samples)
        Trials, microvolts.
    sfreq : float
        Sample rate, Hz.
    channel_names : sequence of str
        One name per channel.
    filters : sequence of FilterSpec
        Modules to chain; empty returns ``X`` unchanged.

    Returns
    -------
    ndarray of float64, shape (n_trials, n_channels, n_samples)

    Raises
    ------
    ConfigError
        If a module refuses the stream (e.g. a cut-off above Nyquist), keyed ``filters[i]``.
    """
    if not filters:
        return X
    info = StreamInfo(name="training", channel_names=tuple(channel_names), sfreq=sfreq)
    out = np.empty_like(X)
    stamps = np.arange(X.shape[2], dtype=np.float64) / sfreq
    for n, trial in enumerate(X):
        data: npt.NDArray[np.float32] = np.ascontiguousarray(trial.T, dtype=np.float32)
        current = info
        for i, spec in enumerate(filters):
            module = spec.plugin(spec.config)
            try:
                current = module.prepare(current)
            except ConfigError as exc:
                raise exc.within(key=f"filters[{i}].params") from exc
            chunk = module.step(Chunk(data, stamps, 0))
            if chunk is None or chunk.data.shape != data.shape:
                raise ConfigError(
                    f"module {spec.module!r} does not give one output sample per input sample; "
                    "only such filters can run before a window decoder",
                    key=f"filters[{i}].module",
                )
            data = np.ascontiguousarray(chunk.data, dtype=np.float32)
        out[n] = data.T
    return out
