"""Re-referencing: subtract a reference signal (common average, or given channels) from channels.

The whole operation is linear, so it is one precomputed matrix ``m`` of shape
(n_channels, n_out) and one matrix product per chunk, ``out = data @ m``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget

__all__ = ["ReRef", "ReRefConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReRefConfig:
    """Settings of :class:`ReRef`.

    Parameters
    ----------
    mode : {"average", "channels"}
        ``"average"``: common average reference; the mean of ``channels`` (empty: every
        channel) is subtracted from each of those channels, the others pass unchanged.
        ``"channels"``: the mean of the ``reference`` channels (linked ears ``("A1", "A2")``,
        say) is subtracted from every channel.
    channels : tuple of str
        For ``"average"``: the channels averaged and re-referenced; empty: all of them.
    reference : tuple of str
        For ``"channels"``: the reference channels, at least one.
    drop_reference : bool
        For ``"channels"``: leave the reference channels out of the output.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    mode: Literal["average", "channels"] = "average"
    channels: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    drop_reference: bool = False
    budget_ms: float = 0.2

    def __post_init__(self) -> None:
        if self.mode not in ("average", "channels"):
            raise ConfigError(f"must be 'average' or 'channels', got {self.mode!r}", key="mode")
        for key in ("channels", "reference"):
            names = getattr(self, key)
            if len(set(names)) != len(names) or not all(names):
                raise ConfigError(f"names must be unique and non-empty, got {names!r}", key=key)
        if self.mode == "average":
            if self.reference:
                raise ConfigError(
                    "applies to mode = 'channels'; for 'average' list the averaged channels "
                    "in channels",
                    key="reference",
                )
            if self.drop_reference:
                raise ConfigError(
                    "applies to mode = 'channels' (an average reference has no channel to drop)",
                    key="drop_reference",
                )
        else:
            if not self.reference:
                raise ConfigError(
                    "mode = 'channels' needs the reference channels, e.g. ['A1', 'A2']",
                    key="reference",
                )
            if self.channels:
                raise ConfigError(
                    "applies to mode = 'average'; mode = 'channels' re-references every channel",
                    key="channels",
                )
        check_budget(self.budget_ms)


class ReRef:
    """Subtract a reference from the channels, as one matrix product per chunk.

    Input: shape (n_samples, n_channels). Output: shape (n_samples, n_out), same rate,
    timestamps and units, a fresh array; ``n_out`` is ``n_channels`` minus the reference
    channels when they are dropped. Float64 input gives float64, any other dtype float32.
    """

    Config = ReRefConfig

    __slots__ = ("_cast", "_config", "_matrix")

    def __init__(self, config: ReRefConfig) -> None:
        self._config = config
        self._matrix: npt.NDArray[Any] = np.empty((0, 0))
        self._cast = False

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Build the (n_channels, n_out) re-referencing matrix.

        Raises
        ------
        ConfigError
            If a named channel is not in the stream, or nothing would be left to output.
        """
        cfg = self._config
        names = info.channel_names
        key = "channels" if cfg.mode == "average" else "reference"
        chosen = cfg.channels if cfg.mode == "average" else cfg.reference
        missing = [c for c in chosen if c not in names]
        if missing:
            raise ConfigError(
                f"stream {info.name!r} has no channel {', '.join(map(repr, missing))}; "
                f"it has {', '.join(names)}",
                key=key,
            )
        n = info.n_channels
        ref = [names.index(c) for c in chosen] if chosen else list(range(n))
        weights = np.zeros(n)
        weights[ref] = 1.0 / len(ref)
        full = np.eye(n)
        if cfg.mode == "average":
            # Column j of the output: x_j - mean(x[ref]) for j in ref, x_j otherwise.
            full[:, ref] -= weights[:, None]
            keep = list(range(n))
        else:
            full -= weights[:, None]
            keep = [j for j in range(n) if not (cfg.drop_reference and j in ref)]
            if not keep:
                raise ConfigError(
                    "dropping the reference channels leaves no channel to output",
                    key="drop_reference",
                )
        out_dtype = np.float64 if info.dtype == "float64" else np.float32
        self._matrix = np.ascontiguousarray(full[:, keep], dtype=out_dtype)
        self._cast = info.np_dtype != out_dtype
        return info.renamed(
            channel_names=tuple(names[j] for j in keep),
            channel_types=tuple(info.channel_types[j] for j in keep),
            channel_units=tuple(info.channel_units[j] for j in keep),
            dtype=np.dtype(out_dtype).name,
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Re-reference one chunk.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Shape (n_samples, n_out), input timestamps and seq; ``None`` for an empty chunk.
        """
        data = chunk.data
        if data.shape[0] == 0:
            return None
        if self._cast:
            data = data.astype(self._matrix.dtype)
        return Chunk(np.matmul(data, self._matrix), chunk.timestamps, chunk.seq)
