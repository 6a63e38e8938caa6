"""Keep some channels of a recording: by name, in the order given, or by type, in file order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.recording import Recording

__all__ = ["pick_recording", "picked_names"]


def picked_names(
    recording: Recording, channels: Sequence[str] = (), channel_types: Sequence[str] = ()
) -> tuple[str, ...]:
    """Return the names of the channels to keep.

    Parameters
    ----------
    recording : Recording
        The recording; its ``channel_types`` are used for ``channel_types``.
    channels : sequence of str
        Keep these channels, in this order (empty: by type, or all).
    channel_types : sequence of str
        Keep the channels of these types (case-insensitive), in file order (empty: by name, or
        all). Not together with ``channels``.

    Raises
    ------
    ConfigError
        ``key`` ``channels`` or ``channel_types``, ``file`` the recording: both given, a name
        not in the recording, a file that states no types, or no channel of the types.
    """
    names = recording.channel_names
    if channels and channel_types:
        raise ConfigError(
            "give channels by name or by type, not both: drop data.channel_types or data.channels",
            key="channel_types",
            file=recording.source,
        )
    if channels:
        missing = [c for c in channels if c not in names]
        if missing:
            raise ConfigError(
                f"no channel {missing}; available: {', '.join(names)}",
                key="channels",
                file=recording.source,
            )
        return tuple(channels)
    if not channel_types:
        return names
    if not recording.channel_types:
        raise ConfigError(
            "this file states no channel types; pick channels by name with data.channels "
            f"(available: {', '.join(names)})",
            key="channel_types",
            file=recording.source,
        )
    wanted = {t.lower() for t in channel_types}
    kept = tuple(n for n, t in zip(names, recording.channel_types, strict=True) if t in wanted)
    if not kept:
        present = sorted(set(recording.channel_types))
        raise ConfigError(
            f"no channel of type {sorted(wanted)}; the file's channels are of type {present}",
            key="channel_types",
            file=recording.source,
        )
    return kept


def pick_recording(
    recording: Recording, channels: Sequence[str] = (), channel_types: Sequence[str] = ()
) -> Recording:
    """Return the recording with only the channels :func:`picked_names` names."""
    keep = picked_names(recording, channels, channel_types)
    if keep == recording.channel_names:
        return recording
    index = [recording.channel_names.index(c) for c in keep]

    def sub(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(values[i] for i in index) if values else ()

    return replace(
        recording,
        data=recording.data[:, index].copy(),
        channel_names=keep,
        channel_units=sub(recording.channel_units),
        channel_types=sub(recording.channel_types),
    )
