"""Arguments of ``bci-bridge list``, ``devices`` and ``modules``: what is installed."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["DEVICES_EXAMPLES", "EXAMPLES", "MODULES_EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge list",
    "bci-bridge list --long",
)
DEVICES_EXAMPLES: tuple[str, ...] = (
    "bci-bridge devices",
    "bci-bridge devices synthetic",
)
MODULES_EXAMPLES: tuple[str, ...] = (
    "bci-bridge modules",
    "bci-bridge modules bandpass onnx",
)


def add_parser(sub: Any) -> None:
    """Register ``list``, ``devices`` and ``modules``."""
    p = sub.add_parser(
        "list",
        **with_examples(EXAMPLES),
        help="list installed devices and modules (entry points)",
        description="List the installed device and module plugins (entry points "
        "bci_bridge.devices and bci_bridge.modules), built-ins included.",
    )
    p.add_argument(
        "--long",
        action="store_true",
        help="also show each plugin's description and every Config field (type, default, meaning)",
    )
    p.set_defaults(handler="bci_bridge.cli.list_cmd:run")
    for kind, examples in (("device", DEVICES_EXAMPLES), ("module", MODULES_EXAMPLES)):
        k = sub.add_parser(
            f"{kind}s",
            **with_examples(examples),
            help=f"describe installed {kind}s and their settings",
            description=f"Describe the installed {kind}s: what each is and every field of its "
            "Config, with type, default and meaning (the keys of -p KEY=VALUE or params).",
        )
        k.add_argument("names", nargs="*", metavar="NAME", help=f"only these {kind}s")
        k.set_defaults(handler=f"bci_bridge.cli.list_cmd:run_{kind}s", long=True)
