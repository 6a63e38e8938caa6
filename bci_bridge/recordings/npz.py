"""``.npz`` trial files: ``X``, ``y``, ``sfreq`` and optional ``channel_names``, without pickle."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.hashing import read_bytes, sha256
from bci_bridge.recordings.trials import Trials

__all__ = ["read_npz"]


def read_npz(p: Path) -> Trials:
    """Read ``X``, ``y``, ``sfreq`` and optional ``channel_names`` from an ``.npz`` file."""
    raw = read_bytes(p)
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
        sha256=sha256(raw),
        groups=None if groups is None else groups.astype(np.str_),
    )
