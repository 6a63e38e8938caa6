"""What each installed device and module is and how to configure it, read from the plugin.

``bci-bridge list --long``, ``bci-bridge devices`` and ``bci-bridge modules`` show, for every
plugin, the first line of its class docstring and every field of its ``Config`` with type,
default and meaning. The meaning comes from the field's metadata (``field(metadata={"doc":
...})``) or else from the numpy-style ``Parameters`` section of the ``Config`` docstring, the
way the built-ins document themselves.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
from dataclasses import dataclass
from typing import Any

from bci_bridge import registry
from bci_bridge.errors import PluginError

__all__ = ["FieldDoc", "PluginDoc", "describe_plugin", "parse_parameters"]

#: A numpy-style section header: a title line, then a line of dashes.
_SECTION = re.compile(r"^(\S[^\n]*)\n-{3,}\s*$", re.M)


@dataclass(frozen=True, slots=True)
class FieldDoc:
    """One ``Config`` field.

    Parameters
    ----------
    name, type : str
        The field's name and its annotation as written.
    default : str
        ``repr`` of the default, or ``"required"``.
    doc : str
        What it means (one paragraph), or ``""`` when the plugin does not say.
    """

    name: str
    type: str
    default: str
    doc: str


@dataclass(frozen=True, slots=True)
class PluginDoc:
    """One installed plugin.

    Parameters
    ----------
    kind : {"device", "module"}
        Its entry-point group.
    name : str
        Its entry-point name.
    target : str
        ``package.module:Class``.
    summary : str
        The first line of the class docstring.
    fields : tuple of FieldDoc
        Every field of its ``Config``, in order.
    """

    kind: str
    name: str
    target: str
    summary: str
    fields: tuple[FieldDoc, ...]


def describe_plugin(kind: registry.Kind, name: str) -> PluginDoc:
    """Load plugin ``name`` and describe it.

    Raises
    ------
    PluginError
        If it is not installed, does not import, or has no dataclass ``Config``.
    """
    cls = registry.load(kind, name)
    config = cls.Config
    if not dataclasses.is_dataclass(config):
        raise PluginError(f"{kind} {name!r}: its Config is not a dataclass")
    documented = parse_parameters(inspect.getdoc(config) or "")
    fields = []
    for f in dataclasses.fields(config):
        doc_type, doc = documented.get(f.name, ("", ""))
        doc = str(f.metadata.get("doc", doc))
        annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        fields.append(FieldDoc(f.name, annotation or doc_type, _default(f), doc))
    summary = (inspect.getdoc(cls) or "").strip().split("\n", 1)[0]
    target = f"{cls.__module__}:{cls.__qualname__}"
    return PluginDoc(kind, name, target, summary, tuple(fields))


def parse_parameters(docstring: str) -> dict[str, tuple[str, str]]:
    """Read the ``Parameters`` section of a numpy-style docstring.

    Parameters
    ----------
    docstring : str
        A cleaned docstring (``inspect.getdoc``).

    Returns
    -------
    dict
        ``{name: (type, description)}``; an entry ``a, b : float`` documents both names. The
        description's lines are joined into one paragraph.
    """
    headers = list(_SECTION.finditer(docstring))
    for i, header in enumerate(headers):
        if header.group(1).strip() != "Parameters":
            continue
        end = headers[i + 1].start() if i + 1 < len(headers) else len(docstring)
        return _entries(docstring[header.end() : end])
    return {}


def _entries(section: str) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    names: list[str] = []
    kind = ""
    lines: list[str] = []

    def flush() -> None:
        for n in names:
            out[n] = (kind, " ".join(lines))

    for raw in section.splitlines():
        if not raw.strip():
            continue
        if not raw[0].isspace():
            flush()
            head, _, kind = raw.partition(":")
            names = [n.strip() for n in head.split(",") if n.strip()]
            kind = kind.strip()
            lines = []
        else:
            lines.append(raw.strip())
    flush()
    return out


def _default(f: dataclasses.Field[Any]) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is not dataclasses.MISSING:
        return repr(f.default_factory())
    return "required"
