"""Arguments of ``bci-bridge keys``, declared without importing the code that runs it."""

from __future__ import annotations

from typing import Any

from bci_bridge.cli.help_text import with_examples

__all__ = ["EXAMPLES", "add_parser"]

EXAMPLES: tuple[str, ...] = (
    "bci-bridge keys bridge --dir keys",
    "bci-bridge keys runtime --dir keys --force",
)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "keys",
        **with_examples(EXAMPLES),
        help="write a CURVE key pair (NAME.key, NAME.key_secret) for ZeroMQ off loopback",
        description="Write a CURVE key pair in pyzmq's zmq.auth format: NAME.key (the public "
        "key: give it to the other side) and NAME.key_secret (public and secret key, mode 0600: "
        "keep it here). A server (bridge, runtime outputs and metrics) uses its .key_secret and "
        "a folder of its clients' .key files; a client (runtime inputs, top) uses its own "
        ".key_secret and the server's .key.",
    )
    p.add_argument("name", help="the key pair's name (letters, digits, '_', '-', '.')")
    p.add_argument(
        "--dir",
        default=".",
        help="folder to write into, created if needed (default: the current folder)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing key pair")
    p.set_defaults(handler="bci_bridge.cli.keys_cmd:run")
