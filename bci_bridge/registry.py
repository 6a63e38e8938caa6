"""Find devices and modules by name through entry points, built-ins included.

The core never imports ``devices`` or ``decoders`` by name: a built-in is found exactly like a
third-party plugin, through the ``bci_bridge.devices`` and ``bci_bridge.modules`` entry-point
groups. For local work a config may also name a class directly as ``"package.module:Class"``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any, Literal

from bci_bridge.errors import PluginError

__all__ = ["DEVICE_GROUP", "MODULE_GROUP", "available", "load"]

DEVICE_GROUP = "bci_bridge.devices"
MODULE_GROUP = "bci_bridge.modules"

Kind = Literal["device", "module"]
_GROUPS: dict[str, str] = {"device": DEVICE_GROUP, "module": MODULE_GROUP}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "device": ("Config", "info", "open", "read", "close"),
    "module": ("Config", "prepare", "step"),
}


def available(kind: Kind) -> list[str]:
    """Return the sorted names of the installed plugins of one kind.

    Parameters
    ----------
    kind : {"device", "module"}
        Which entry-point group to list.
    """
    return sorted({ep.name for ep in entry_points(group=_GROUPS[kind])})


def load(kind: Kind, name: str) -> type[Any]:
    """Return the plugin class registered as ``name``, or named ``"pkg.mod:Class"``.

    Parameters
    ----------
    kind : {"device", "module"}
        Which entry-point group to search.
    name : str
        An entry-point name (``bandpass``) or an import path (``mypkg.filters:Notch``).

    Raises
    ------
    PluginError
        If nothing is installed under that name (the message lists what is), if the import
        fails, or if the class lacks a method of the contract.
    """
    group = _GROUPS[kind]
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except Exception as exc:
            raise PluginError(
                f"cannot import {kind} {name!r}: {type(exc).__name__}: {exc}"
            ) from exc
    else:
        matches = [ep for ep in entry_points(group=group) if ep.name == name]
        if not matches:
            installed = ", ".join(available(kind)) or "none"
            raise PluginError(
                f"no {kind} named {name!r} is installed (entry-point group {group!r}); "
                f"installed: {installed}"
            )
        try:
            obj = matches[0].load()
        except Exception as exc:
            raise PluginError(
                f"{kind} {name!r} ({matches[0].value}) failed to import: {exc}"
            ) from exc
    missing = [m for m in _REQUIRED[kind] if not hasattr(obj, m)]
    if missing:
        raise PluginError(f"{kind} {name!r} lacks {', '.join(missing)} of the {kind} contract")
    return obj  # type: ignore[no-any-return]
