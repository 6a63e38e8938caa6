"""Channel selection: keep the named channels, in the order given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget

__all__ = ["Pick", "PickConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class PickConfig:
    """Settings of :class:`Pick`.

    Parameters
    ----------
    channels : tuple of str
        Names of the channels to keep, in output order; each must exist in the input.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    channels: tuple[str, ...]
    budget_ms: float = 0.1

    def __post_init__(self) -> None:
        if not self.channels:
            raise ConfigError("name at least one channel", key="channels")
        if len(set(self.channels)) != len(self.channels):
            raise ConfigError(f"channel names repeat: {self.channels!r}", key="channels")
        check_budget(self.budget_ms)


class Pick:
    """Keep some channels of the input, by name.

    Input: shape (n_samples, n_channels). Output: shape (n_samples, len(channels)), same
    dtype, rate and timestamps; a C-contiguous copy made with one ``np.take`` per chunk.
    """

    Config = PickConfig

    def __init__(self, config: PickConfig) -> None:
        self.config = config
        self._index: npt.NDArray[np.intp] = np.empty(0, np.intp)

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Map the names to column indices; refuse names the stream does not have."""
        missing = [c for c in self.config.channels if c not in info.channel_names]
        if missing:
            raise ConfigError(
                f"stream {info.name!r} has no channel {', '.join(map(repr, missing))}; "
                f"it has {', '.join(info.channel_names)}",
                key="channels",
            )
        pos = {name: i for i, name in enumerate(info.channel_names)}
        self._index = np.array([pos[c] for c in self.config.channels], dtype=np.intp)
        keep = self._index.tolist()
        return info.renamed(
            channel_names=self.config.channels,
            channel_types=tuple(info.channel_types[i] for i in keep),
            channel_units=tuple(info.channel_units[i] for i in keep),
        )

    def step(self, chunk: Chunk) -> Chunk:
        """Return the chunk with only the picked channels."""
        return Chunk(np.take(chunk.data, self._index, axis=1), chunk.timestamps, chunk.seq)
