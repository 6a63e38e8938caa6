"""Check a stream's channel units against the units a model was trained in, or plan a scaling.

A model made by ``bci-bridge train`` records the units of its training data in its manifest
(``units``, one per channel). :func:`unit_factors` compares them with the live stream's units
when the ``onnx`` module is prepared: equal units pass; voltages in other units (volts into a
microvolt model) are refused with a message naming both units, or, when the pipeline asks for
``scale = "auto"``, converted by a per-channel factor that the module multiplies in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ModelError
from bci_bridge.stream import StreamInfo
from bci_bridge.units import normalise_unit, scale_factor

__all__ = ["unit_factors"]

log = logging.getLogger(__name__)


def unit_factors(
    trained: Sequence[str], info: StreamInfo, *, auto: bool, path: Path
) -> npt.NDArray[np.float32] | None:
    """Return per-channel factors from the stream's units to the model's, or ``None`` if none.

    Parameters
    ----------
    trained : sequence of str
        The manifest's ``units``, one per channel in the model's channel order (equal to the
        stream's, checked before); empty for models whose manifest has none.
    info : StreamInfo
        The input stream.
    auto : bool
        Convert voltages in other units instead of refusing them (``scale = "auto"``).
    path : Path
        The model file, for the messages.

    Returns
    -------
    ndarray of float32, shape (n_channels,), or None
        Multiply the stream's samples by it to get the model's units; ``None`` when the units
        already agree (or are unknown on either side: the model is trusted as before).

    Raises
    ------
    ModelError
        If a channel's units differ and ``auto`` is false, or cannot be converted (units that
        are not both voltages); the message names both units.
    """
    if not trained:
        return None
    factors = np.ones(info.n_channels, dtype=np.float64)
    unknown: list[str] = []
    for i, (want_raw, got) in enumerate(zip(trained, info.channel_units, strict=True)):
        want = normalise_unit(want_raw)
        channel = info.channel_names[i]
        if not want or not got:
            unknown.append(channel)
            continue
        if want == got:
            continue
        try:
            factor = scale_factor(got, want)
        except ValueError as exc:
            raise ModelError(
                f"{path} was trained on channel {channel!r} in {want}, but stream "
                f"{info.name!r} gives it in {got}, and {exc}",
                key="model",
            ) from exc
        if not auto:
            raise ModelError(
                f"{path} was trained in {want}, but stream {info.name!r} is in {got} "
                f'(channel {channel!r}); set scale = "auto" in the onnx node\'s params to '
                f"convert {got} to {want}",
                key="model",
            )
        factors[i] = factor
    if unknown:
        log.warning(
            "stream %r does not state the units of %s; model %s assumes %s",
            info.name,
            ", ".join(unknown),
            path,
            ", ".join(sorted({normalise_unit(u) or "unknown" for u in trained})),
        )
    if np.all(factors == 1.0):
        return None
    return factors.astype(np.float32)
