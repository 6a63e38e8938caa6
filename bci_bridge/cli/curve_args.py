"""The CURVE options every command that binds or connects ZeroMQ shares, named alike.

A server (``bridge``): ``--server-key NAME.key_secret --client-keys DIR``. A client (``top``,
the demo's subscriber): ``--server-public-key SERVER.key --client-key NAME.key_secret``. Each:
``--insecure`` to allow plain TCP off loopback. The runtime reads the same keys from its
pipeline's ``[security]`` table (see :mod:`bci_bridge.curve_config`) and takes ``--insecure``.
Declared without importing zmq; the keys are loaded where they are used.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bci_bridge.errors import ConfigError

if TYPE_CHECKING:  # imported where used: the parser is declared without zmq
    from bci_bridge.curve import ClientKeys, ServerKeys

__all__ = [
    "INSECURE_HELP",
    "add_client_key_args",
    "add_server_key_args",
    "client_keys",
    "server_keys",
]

INSECURE_HELP = (
    "allow plain (unauthenticated, unencrypted) TCP on an endpoint off loopback; without it, "
    "such an endpoint needs CURVE keys"
)


def add_server_key_args(p: Any) -> None:
    """Add ``--server-key``, ``--client-keys`` and ``--insecure`` to a binding command."""
    p.add_argument(
        "--server-key",
        type=Path,
        metavar="NAME.key_secret",
        help="serve CURVE with this secret key (bci-bridge keys NAME writes it); needs "
        "--client-keys",
    )
    p.add_argument(
        "--client-keys",
        type=Path,
        metavar="DIR",
        help="folder of the public keys (*.key) of the clients allowed to subscribe",
    )
    p.add_argument("--insecure", action="store_true", help=INSECURE_HELP)


def add_client_key_args(p: Any) -> None:
    """Add ``--server-public-key``, ``--client-key`` and ``--insecure`` to a connecting command."""
    p.add_argument(
        "--server-public-key",
        type=Path,
        metavar="SERVER.key",
        help="speak CURVE to a server with this public key (pinned); needs --client-key",
    )
    p.add_argument(
        "--client-key",
        type=Path,
        metavar="NAME.key_secret",
        help="this client's secret key; its NAME.key must be in the server's --client-keys",
    )
    p.add_argument("--insecure", action="store_true", help=INSECURE_HELP)


def server_keys(args: argparse.Namespace) -> ServerKeys | None:
    """Return the :class:`~bci_bridge.curve.ServerKeys` the flags give, or None.

    Raises
    ------
    ConfigError
        If only one of the two flags is given, or a key file is bad (naming it).
    """
    from bci_bridge.curve import ServerKeys

    secret, folder = args.server_key, args.client_keys
    if secret is None and folder is None:
        return None
    if secret is None or folder is None:
        raise ConfigError("--server-key and --client-keys go together")
    keys = ServerKeys(secret_key=secret, client_keys=folder)
    keys.check(key="--server-key/--client-keys")
    return keys


def client_keys(args: argparse.Namespace) -> ClientKeys | None:
    """Return the :class:`~bci_bridge.curve.ClientKeys` the flags give, or None.

    Raises
    ------
    ConfigError
        If only one of the two flags is given, or a key file is bad (naming it).
    """
    from bci_bridge.curve import ClientKeys

    server, client = args.server_public_key, args.client_key
    if server is None and client is None:
        return None
    if server is None or client is None:
        raise ConfigError("--server-public-key and --client-key go together")
    keys = ClientKeys(server_public_key=server, client_key=client)
    keys.check(key="--server-public-key/--client-key")
    return keys
