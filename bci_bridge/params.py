"""Build a plugin's ``Config`` dataclass from a TOML table, with errors that name the key.

TOML gives ints where a float is meant and lists where a tuple is meant; :func:`build_config`
accepts those, refuses everything else, and reports unknown or missing keys with the list of
keys the plugin does take.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from bci_bridge.errors import ConfigError

__all__ = ["build_config"]


def build_config(cls: type[Any], table: Mapping[str, Any]) -> Any:
    """Instantiate the dataclass ``cls`` from ``table``, checking names and types.

    Parameters
    ----------
    cls : type
        A dataclass (a plugin's ``Config``).
    table : mapping
        Keyword values, as read from TOML.

    Returns
    -------
    object
        ``cls(**table)``, with lists turned into tuples where the field is a tuple.

    Raises
    ------
    ConfigError
        With ``key`` set to the offending key, for unknown keys, missing keys, wrong types and
        whatever the dataclass's ``__post_init__`` refuses.
    """
    if not dataclasses.is_dataclass(cls):
        raise ConfigError(f"{cls.__qualname__} is not a dataclass; a plugin Config must be one")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = typing.get_type_hints(cls)
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key; {cls.__qualname__} takes: {', '.join(sorted(fields)) or 'nothing'}",
            key=unknown[0],
        )
    values: dict[str, Any] = {}
    for name, value in table.items():
        values[name] = _coerce(value, hints[name], name)
    for name, f in fields.items():
        if (
            name not in values
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        ):
            raise ConfigError("required key is missing", key=name)
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from exc


def _coerce(value: Any, hint: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(exc.message)
        raise ConfigError(f"expected {_name(hint)}, got {value!r}", key=key)
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"expected nothing, got {value!r}", key=key)
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                raise ConfigError(f"{value} is too large for a float", key=key) from None
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint in (str, bool):
        if isinstance(value, hint):
            return value
    elif origin is tuple:
        if isinstance(value, list | tuple):
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value))
            if len(args) == len(value):
                return tuple(
                    _coerce(v, a, f"{key}[{i}]")
                    for i, (v, a) in enumerate(zip(value, args, strict=True))
                )
            raise ConfigError(f"expected {len(args)} values, got {len(value)}", key=key)
    elif origin is list:
        if isinstance(value, list | tuple):
            return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    elif origin is typing.Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        raise ConfigError(f"must be one of {', '.join(map(repr, args))}, got {value!r}", key=key)
    elif origin is dict or hint is dict:
        if isinstance(value, dict):
            return value
    else:
        return value
    raise ConfigError(f"expected {_name(hint)}, got {value!r}", key=key)


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
