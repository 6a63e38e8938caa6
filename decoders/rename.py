"""Channel renaming: give channels the names a model or a montage expects (no data touched)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget

__all__ = ["Rename", "RenameConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RenameConfig:
    """Settings of :class:`Rename`; give exactly one of ``mapping`` and ``names``.

    Parameters
    ----------
    mapping : dict of str to str
        Old name -> new name, for some or all channels; each old name must exist.
    names : tuple of str
        New names for all channels, in the stream's order (a 10-20 list, say).
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    mapping: dict[str, str] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    budget_ms: float = 0.05

    def __post_init__(self) -> None:
        if bool(self.mapping) == bool(self.names):
            raise ConfigError(
                "give either mapping (old name -> new name) or names (one per channel)",
                key="mapping" if self.mapping else "names",
            )
        for old, new in self.mapping.items():
            if not (isinstance(new, str) and new):
                raise ConfigError(f"must be a non-empty name, got {new!r}", key=f"mapping.{old}")
        if not all(self.names):
            raise ConfigError(f"names must not be empty, got {self.names!r}", key="names")
        check_budget(self.budget_ms)


class Rename:
    """Rename channels; samples, timestamps, types and units pass through untouched.

    Input: shape (n_samples, n_channels). Output: the input chunk itself (no copy).
    """

    Config = RenameConfig

    __slots__ = ("_config",)

    def __init__(self, config: RenameConfig) -> None:
        self._config = config

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Check the names against the stream; return it with the new names.

        Raises
        ------
        ConfigError
            If ``mapping`` names a channel the stream lacks, ``names`` has another length
            than the stream's channel count, or two channels would share a name.
        """
        cfg = self._config
        if cfg.names:
            if len(cfg.names) != info.n_channels:
                raise ConfigError(
                    f"gives {len(cfg.names)} names, but stream {info.name!r} has "
                    f"{info.n_channels} channels ({', '.join(info.channel_names)})",
                    key="names",
                )
            new = cfg.names
            key = "names"
        else:
            missing = [old for old in cfg.mapping if old not in info.channel_names]
            if missing:
                raise ConfigError(
                    f"stream {info.name!r} has no channel {', '.join(map(repr, missing))}; "
                    f"it has {', '.join(info.channel_names)}",
                    key="mapping",
                )
            new = tuple(cfg.mapping.get(name, name) for name in info.channel_names)
            key = "mapping"
        repeated = sorted({n for n in new if new.count(n) > 1})
        if repeated:
            raise ConfigError(f"channel names would repeat: {repeated}", key=key)
        return info.renamed(
            channel_names=new, channel_types=info.channel_types, channel_units=info.channel_units
        )

    def step(self, chunk: Chunk) -> Chunk:
        """Return the chunk unchanged (names live in the stream info)."""
        return chunk
