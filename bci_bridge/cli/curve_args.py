"""The CURVE options every command that binds or connects ZeroMQ shares, named alike.

A server (``bridge``): ``--server-key NAME.key_secret --client-keys DIR``. A client (``top``,
the demo's subscriber): ``--server-public-key SERVER.key --client-key NAME.key_secret``. Each:
``--insecure`` to allow plain TCP off loopback. The runtime reads the same keys from its
pipeline's ``[security]`` table (see :mod:`bci_bridge.curve_config`) and takes ``--insecure``.
Declared without importing zmq; the keys are loaded where they are used.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

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


def _add_key_args(p: Any, *flags: tuple[str, str, str]) -> None:
    """Add each ``(flag, metavar, help)`` as a path option, then ``--insecure``."""
    for flag, metavar, help_ in flags:
        p.add_argument(flag, type=Path, metavar=metavar, help=help_)
    p.add_argument("--insecure", action="store_true", help=INSECURE_HELP)


def add_server_key_args(p: Any) -> None:
    """Add ``--server-key``, ``--client-keys`` and ``--insecure`` to a binding command."""
    _add_key_args(
        p,
        (
            "--server-key",
            "NAME.key_secret",
            "serve CURVE with this secret key (bci-bridge keys NAME writes it); needs "
            "--client-keys",
        ),
        (
            "--client-keys",
            "DIR",
            "folder of the public keys (*.key) of the clients allowed to subscribe",
        ),
    )


def add_client_key_args(p: Any) -> None:
    """Add ``--server-public-key``, ``--client-key`` and ``--insecure`` to a connecting command."""
    _add_key_args(
        p,
        (
            "--server-public-key",
            "SERVER.key",
            "speak CURVE to a server with this public key (pinned); needs --client-key",
        ),
        (
            "--client-key",
            "NAME.key_secret",
            "this client's secret key; its NAME.key must be in the server's --client-keys",
        ),
    )


class _Keys(Protocol):
    def check(self, key: str | None = None) -> None: ...


_K = TypeVar("_K", bound=_Keys)


def _key_pair(
    first: Path | None, second: Path | None, flags: str, make: Callable[[Path, Path], _K]
) -> _K | None:
    """Return ``make(first, second)`` checked, or None if neither flag is given.

    Parameters
    ----------
    first, second : Path or None
        The two flags' values.
    flags : str
        The two flags as the user types them, ``"--a/--b"`` (named in errors).
    make : callable
        Builds the keys from the two paths.

    Raises
    ------
    ConfigError
        If only one of the two flags is given, or a key file is bad (naming it).
    """
    if first is None and second is None:
        return None
    if first is None or second is None:
        raise ConfigError(f"{flags.replace('/', ' and ')} go together")
    keys = make(first, second)
    keys.check(key=flags)
    return keys


def server_keys(args: argparse.Namespace) -> ServerKeys | None:
    """Return the :class:`~bci_bridge.curve.ServerKeys` the flags give, or None.

    Raises
    ------
    ConfigError
        If only one of the two flags is given, or a key file is bad (naming it).
    """
    from bci_bridge.curve import ServerKeys

    return _key_pair(
        args.server_key,
        args.client_keys,
        "--server-key/--client-keys",
        lambda secret, folder: ServerKeys(secret_key=secret, client_keys=folder),
    )


def client_keys(args: argparse.Namespace) -> ClientKeys | None:
    """Return the :class:`~bci_bridge.curve.ClientKeys` the flags give, or None.

    Raises
    ------
    ConfigError
        If only one of the two flags is given, or a key file is bad (naming it).
    """
    from bci_bridge.curve import ClientKeys

    return _key_pair(
        args.server_public_key,
        args.client_key,
        "--server-public-key/--client-key",
        lambda server, client: ClientKeys(server_public_key=server, client_key=client),
    )
