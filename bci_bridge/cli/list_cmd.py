"""``bci-bridge list`` (``--long``), ``devices`` and ``modules``: the installed plugins."""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Sequence

from bci_bridge import registry
from bci_bridge.errors import PluginError
from bci_bridge.plugin_docs import PluginDoc, describe_plugin

__all__ = ["format_plugin", "run", "run_devices", "run_modules"]


def run(args: argparse.Namespace) -> int:
    """Print the installed plugin names by kind (``--long``: with their settings)."""
    if args.long:
        return _describe("device", []) | _describe("module", [])
    for kind in ("device", "module"):
        names = registry.available(kind)
        print(f"{kind}s: {', '.join(names) or 'none'}")
    return 0


def run_devices(args: argparse.Namespace) -> int:
    """Describe the installed devices (or the ones named)."""
    return _describe("device", args.names)


def run_modules(args: argparse.Namespace) -> int:
    """Describe the installed modules (or the ones named)."""
    return _describe("module", args.names)


def format_plugin(doc: PluginDoc) -> str:
    """Render one plugin: name, target, summary, then each Config field with its meaning."""
    lines = [f"  {doc.name}  ({doc.target})"]
    if doc.summary:
        lines.append(f"    {doc.summary}")
    for f in doc.fields:
        lines.append(f"    {f.name} : {f.type} = {f.default}")
        text = f.doc or "(not documented)"
        lines.extend(textwrap.wrap(text, 92, initial_indent=" " * 8, subsequent_indent=" " * 8))
    return "\n".join(lines)


def _describe(kind: registry.Kind, names: Sequence[str]) -> int:
    """Print each plugin of ``kind``; a plugin that fails to load is reported, exit code 1."""
    installed = registry.available(kind)
    chosen = list(names) or installed
    print(f"{kind}s:")
    failed = 0
    for name in chosen:
        try:
            print(format_plugin(describe_plugin(kind, name)))
        except PluginError as exc:
            failed += 1
            print(f"  {name}: cannot describe: {exc}", file=sys.stderr)
    return 1 if failed else 0
