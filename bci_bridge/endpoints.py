"""ZeroMQ endpoints checked before use: a bad port, host or path is one clear line.

libzmq accepts some endpoints it cannot honour (``tcp://127.0.0.1:99999`` binds port 34463,
wrapped; a ``connect`` to a host that does not resolve succeeds and waits for ever), and its
errors name no endpoint. :func:`bind` and :func:`connect` check the endpoint first and turn
every failure into a :class:`~bci_bridge.errors.ConfigError` that names it.
"""

from __future__ import annotations

import errno
import ipaddress
import socket as pysocket
from typing import Any

import zmq

from bci_bridge.errors import ConfigError

__all__ = ["bind", "check_endpoint", "connect"]


def check_endpoint(endpoint: str, *, for_bind: bool, key: str | None = None) -> None:
    """Check the form of an endpoint, its port and that its host resolves.

    Parameters
    ----------
    endpoint : str
        ``tcp://host:port``, ``ipc://path`` or ``inproc://name``.
    for_bind : bool
        Whether it is to be bound (then ``*`` is a valid host, and the port may be ``*``).
    key : str, optional
        The config key it came from, for the error.

    Raises
    ------
    ConfigError
        Naming the endpoint and what is wrong with it.
    """
    scheme, sep, rest = endpoint.partition("://")
    if not sep or scheme not in ("tcp", "ipc", "inproc") or not rest:
        raise ConfigError(
            f"{endpoint!r} is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)",
            key=key,
        )
    if scheme != "tcp":
        return
    host, colon, port = rest.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host:
        raise ConfigError(f"{endpoint}: tcp endpoints are tcp://host:port", key=key)
    wildcard = for_bind and port == "*"
    if not wildcard and (not port.isdigit() or not 1 <= int(port) <= 65535):
        raise ConfigError(f"{endpoint}: bad port {port!r}; use 1-65535", key=key)
    if host == "*" and for_bind:
        return
    if host == "*":
        raise ConfigError(f"{endpoint}: '*' binds every interface; connect to a host", key=key)
    try:
        ipaddress.ip_address(host)
        return
    except ValueError:
        pass
    try:
        pysocket.getaddrinfo(host, None)
    except (OSError, UnicodeError) as exc:
        raise ConfigError(f"{endpoint}: host {host!r} does not resolve ({exc})", key=key) from None


def bind(socket: zmq.Socket[Any], endpoint: str, *, key: str | None = None) -> None:
    """Bind ``socket`` to ``endpoint``.

    Raises
    ------
    ConfigError
        If the endpoint is malformed, its host unknown, its port in use or its interface not
        on this machine; one line that names the endpoint.
    """
    check_endpoint(endpoint, for_bind=True, key=key)
    try:
        socket.bind(endpoint)
    except zmq.ZMQError as exc:
        hint = ""
        if exc.errno == errno.EADDRINUSE:
            hint = " (is another bridge or runtime using it?)"
        elif exc.errno in (errno.EADDRNOTAVAIL, errno.ENODEV):
            hint = " (no interface of this machine has that address)"
        raise ConfigError(
            f"cannot bind ZeroMQ endpoint {endpoint}: {_reason(exc)}{hint}", key=key
        ) from None


def connect(socket: zmq.Socket[Any], endpoint: str, *, key: str | None = None) -> None:
    """Connect ``socket`` to ``endpoint``.

    Raises
    ------
    ConfigError
        If the endpoint is malformed or its host unknown; one line that names the endpoint.
    """
    check_endpoint(endpoint, for_bind=False, key=key)
    try:
        socket.connect(endpoint)
    except zmq.ZMQError as exc:
        raise ConfigError(
            f"cannot connect to ZeroMQ endpoint {endpoint}: {_reason(exc)}", key=key
        ) from None


def _reason(exc: zmq.ZMQError) -> str:
    """Return libzmq's message for the error, without the address pyzmq appends."""
    return zmq.strerror(exc.errno) if exc.errno is not None else str(exc)
