"""The ``[record]`` table of a pipeline: record its inputs and node outputs to one XDF file.

::

    [record]
    out = "session.xdf"        # relative to the pipeline file
    inputs = ["eeg", "cues"]   # inputs to record (default: every input; [] for none)
    nodes = ["classifier"]     # node outputs to record (default: none)
    flush_interval = 0.5       # seconds between flushes to disk, 0 < x <= 1

The runtime writes the file as ``bci-bridge record`` does (append-only chunks, written and
``fsync``-ed at least every ``flush_interval``), so a runtime killed mid-run leaves a file
that reads back up to its last flush.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bci_bridge.errors import ConfigError

__all__ = ["RecordConfig", "parse_record"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordConfig:
    """A validated ``[record]`` table (see the module docstring); ``out`` resolved."""

    out: str
    inputs: tuple[str, ...]
    nodes: tuple[str, ...]
    flush_interval: float = 0.5


def parse_record(
    table: Any,
    *,
    base_dir: Path | None,
    inputs: Collection[str],
    nodes: Collection[str],
) -> RecordConfig | None:
    """Validate a ``[record]`` table (``None`` when the pipeline has none).

    Raises
    ------
    ConfigError
        With ``key`` set to ``record.<key>``.
    """
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise ConfigError(f"must be a table, got {type(table).__name__}", key="record")
    unknown = sorted(set(table) - {"out", "inputs", "nodes", "flush_interval"})
    if unknown:
        raise ConfigError(
            "unknown key; [record] takes out, inputs, nodes, flush_interval",
            key=f"record.{unknown[0]}",
        )
    out = table.get("out")
    if not isinstance(out, str) or not out.lower().endswith(".xdf"):
        raise ConfigError(f"must name an .xdf file, got {out!r}", key="record.out")
    path = Path(out).expanduser()
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    chosen_inputs = _names(table, "inputs", inputs, default=tuple(inputs))
    chosen_nodes = _names(table, "nodes", nodes, default=())
    if not chosen_inputs and not chosen_nodes:
        raise ConfigError("records nothing: give inputs or nodes", key="record")
    flush = table.get("flush_interval", 0.5)
    if (
        isinstance(flush, bool)
        or not isinstance(flush, int | float)
        or not (math.isfinite(flush) and 0 < flush <= 1)
    ):
        raise ConfigError(
            f"must be a number of seconds in (0, 1], got {flush!r}", key="record.flush_interval"
        )
    return RecordConfig(
        out=str(path), inputs=chosen_inputs, nodes=chosen_nodes, flush_interval=float(flush)
    )


def _names(
    table: Mapping[str, Any], key: str, known: Collection[str], *, default: tuple[str, ...]
) -> tuple[str, ...]:
    if key not in table:
        return default
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"must be a list of names, got {value!r}", key=f"record.{key}")
    for name in value:
        if name not in known:
            raise ConfigError(
                f"{name!r} is not one of the pipeline's {key}: {', '.join(known) or 'none'}",
                key=f"record.{key}",
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"names repeat: {value}", key=f"record.{key}")
    return tuple(value)
