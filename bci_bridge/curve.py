"""CURVE on ZeroMQ sockets: who may subscribe, and whom a subscriber trusts.

ZeroMQ's CURVE mechanism encrypts a connection and authenticates both ends with long-term
key pairs (Curve25519), in pyzmq's ``zmq.auth`` certificate format: ``NAME.key`` holds the
public key, ``NAME.key_secret`` the public and the secret key (``bci-bridge keys NAME`` writes
both). Everything that binds (the bridge, the runtime's outputs and metrics) is a **server**:
it holds its secret key and admits only the clients whose public key is in a folder of allowed
keys, checked by a ZAP handler (pyzmq's ``ThreadAuthenticator``, one per context). Everything
that connects (the runtime's inputs, ``top``, the demo's client) is a **client**: it holds its
own secret key and pins the server's public key, so that a process that takes over a server's
port cannot complete the handshake without the server's secret key, and injects nothing.

Loopback (``ipc://``, ``inproc://``, ``tcp://127.x.x.x``, ``tcp://localhost``,
``tcp://[::1]``) needs no keys. A TCP endpoint off loopback (``tcp://*``, ``tcp://0.0.0.0``
and every other host included) without keys is refused (:func:`require_keys`) unless the
user says ``--insecure`` (``insecure = true`` in a pipeline).

::

    pub = ctx.socket(zmq.XPUB)
    guard = serve(pub, ServerKeys(secret_key=Path("bridge.key_secret"),
                                  client_keys=Path("clients/")))   # before bind
    pub.bind("tcp://10.0.0.1:5555")
    ...
    pub.close(); guard.close()

    sub = ctx.socket(zmq.SUB)
    dial(sub, ClientKeys(server_public_key=Path("bridge.key"),
                         client_key=Path("runtime.key_secret")))  # before connect
    sub.connect("tcp://10.0.0.1:5555")
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zmq
import zmq.auth
from zmq.utils import z85

from bci_bridge.errors import ConfigError

if TYPE_CHECKING:  # imported where a server starts one: it brings asyncio (~7 MB, ~15 ms)
    from zmq.auth.thread import ThreadAuthenticator

__all__ = [
    "HANDSHAKE_FAILED",
    "ClientKeys",
    "ServerGuard",
    "ServerKeys",
    "dial",
    "is_loopback",
    "load_allowed",
    "load_public",
    "load_secret",
    "require_keys",
    "serve",
]

log = logging.getLogger(__name__)

#: Public and secret file suffixes of pyzmq's certificates (``zmq.auth.create_certificates``).
PUBLIC_SUFFIX = ".key"
SECRET_SUFFIX = ".key_secret"
#: The socket-monitor events of a failed ZMTP/CURVE handshake (any cause), as one mask.
HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerKeys:
    """What a binding socket needs to serve CURVE.

    Parameters
    ----------
    secret_key : Path
        The server's ``NAME.key_secret``.
    client_keys : Path
        A folder of allowed clients' public keys (``*.key``); read once, when the socket is
        set up (a key added later is admitted at the next start).
    """

    secret_key: Path
    client_keys: Path

    def check(self, key: str | None = None) -> None:
        """Load both, raising a :class:`ConfigError` naming the file when one is bad."""
        load_secret(self.secret_key, key=key)
        load_allowed(self.client_keys, key=key)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientKeys:
    """What a connecting socket needs to speak CURVE to one server.

    Parameters
    ----------
    server_public_key : Path
        The server's ``NAME.key`` (its public key, pinned: no other server is accepted).
    client_key : Path
        This client's own ``NAME.key_secret`` (its ``NAME.key`` must be among the server's
        allowed client keys).
    """

    server_public_key: Path
    client_key: Path

    def check(self, key: str | None = None) -> None:
        """Load both, raising a :class:`ConfigError` naming the file when one is bad."""
        load_public(self.server_public_key, key=key)
        load_secret(self.client_key, key=key)


# -- key files -------------------------------------------------------------------------------


def load_public(path: Path, *, key: str | None = None) -> bytes:
    """Return the Z85 public key in a ``.key`` (or ``.key_secret``) certificate file.

    Raises
    ------
    ConfigError
        Naming the file, when it is missing, unreadable or holds no public key.
    """
    public, _ = _load(path, key)
    return public


def load_secret(path: Path, *, key: str | None = None) -> tuple[bytes, bytes]:
    """Return the Z85 ``(public, secret)`` keys in a ``.key_secret`` certificate file.

    Raises
    ------
    ConfigError
        Naming the file, when it is missing, unreadable, or holds no secret key (a public
        ``.key`` given where the ``.key_secret`` is needed, say).
    """
    public, secret = _load(path, key)
    if secret is None:
        hint = ""
        if path.suffix == PUBLIC_SUFFIX:
            hint = f" (this is a public key; give {path.name}_secret)"
        raise ConfigError(f"{path}: holds no secret key{hint}", key=key)
    return public, secret


def load_allowed(folder: Path, *, key: str | None = None) -> frozenset[bytes]:
    """Return the Z85 public keys of every ``*.key`` certificate in ``folder``.

    Raises
    ------
    ConfigError
        Naming the folder (or the file), when it is not a folder, holds no ``*.key`` file, or
        a file in it is not a certificate.
    """
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a folder of allowed client keys (*.key)", key=key)
    files = sorted(folder.glob(f"*{PUBLIC_SUFFIX}"))
    if not files:
        raise ConfigError(
            f"{folder}: no allowed client keys (*.key) in it; copy each client's NAME.key "
            "there (bci-bridge keys NAME writes one)",
            key=key,
        )
    return frozenset(load_public(f, key=key) for f in files)


def _load(path: Path, key: str | None) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise ConfigError(
            f"{path}: key file not found (bci-bridge keys NAME writes NAME.key and "
            "NAME.key_secret)",
            key=key,
        )
    try:
        public, secret = zmq.auth.load_certificate(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a CURVE certificate ({exc})", key=key) from None
    try:
        z85.decode(public)
        if secret is not None:
            z85.decode(secret)
    except (ValueError, KeyError, IndexError) as exc:
        raise ConfigError(f"{path}: not a Z85 CURVE key ({exc})", key=key) from None
    if len(public) != 40 or (secret is not None and len(secret) != 40):
        raise ConfigError(f"{path}: a CURVE key is 40 Z85 characters", key=key)
    return public, secret


# -- loopback and the refusal -----------------------------------------------------------------


def is_loopback(endpoint: str) -> bool:
    """Whether ``endpoint`` stays on this machine without leaving the loopback interface.

    ``ipc://`` and ``inproc://`` always; ``tcp://`` when its host is ``localhost`` or a
    loopback address (``127.0.0.0/8``, ``::1``). A wildcard (``*``, ``0.0.0.0``, ``::``), an
    interface name, any other address or host name is not.
    """
    scheme, _, rest = endpoint.partition("://")
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host = rest.rpartition(":")[0].removeprefix("[").removesuffix("]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_keys(
    endpoint: str,
    *,
    keyed: bool,
    insecure: bool,
    flags: str,
    key: str | None = None,
    insecure_flag: str = "--insecure",
) -> None:
    """Refuse a non-loopback endpoint without CURVE keys, unless ``insecure``.

    Parameters
    ----------
    endpoint : str
        The endpoint to bind or connect.
    keyed : bool
        Whether CURVE keys are configured for it.
    insecure : bool
        The user's ``--insecure`` (or ``insecure = true``): plain TCP off loopback, knowingly.
    flags : str
        How to give keys where the endpoint came from, for the hint (``--server-key FILE
        --client-keys DIR``, say).
    key : str, optional
        The config key the endpoint came from.
    insecure_flag : str
        How the user says insecure there, for the hint.

    Raises
    ------
    ConfigError
        One line naming the endpoint and the fix.
    """
    if keyed or insecure or is_loopback(endpoint):
        return
    raise ConfigError(
        f"{endpoint} is not loopback and has no CURVE keys: anyone who can reach it could "
        f"read or inject; make keys with `bci-bridge keys NAME` and give {flags}, or accept "
        f"plain TCP with {insecure_flag}",
        key=key,
    )


# -- sockets ----------------------------------------------------------------------------------


def dial(socket: zmq.Socket[Any], keys: ClientKeys | None) -> None:
    """Set ``socket`` up for its next ``connect``: CURVE client of one server, or plain.

    libzmq takes the socket's options at each ``connect``, so one SUB socket can connect to
    several servers, each with its own pinned key, and to plain loopback ones: call this
    before every ``connect``.

    Raises
    ------
    ConfigError
        If a key file is bad (naming it).
    """
    if keys is None:
        if socket.getsockopt(zmq.MECHANISM) != zmq.NULL:
            socket.setsockopt(zmq.CURVE_SERVER, 0)  # back to the NULL mechanism
        return
    _require_curve()
    server = load_public(keys.server_public_key)
    public, secret = load_secret(keys.client_key)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, public)
    socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
    socket.setsockopt(zmq.CURVE_SERVERKEY, server)


class ServerGuard:
    """The ZAP side of one CURVE server socket: its allowed keys, and what it admitted.

    Returned by :func:`serve`; :meth:`close` it after closing the socket. ``allowed`` and
    ``denied`` count the handshakes answered (a client that dials again is counted again).
    """

    __slots__ = ("_auth", "_ctx", "allowed", "denied", "domain", "keys")

    def __init__(self, ctx: zmq.Context[Any], domain: str, keys: frozenset[bytes]) -> None:
        self._ctx = ctx
        self.domain = domain
        self.keys = keys
        self.allowed = 0
        self.denied = 0
        self._auth: ThreadAuthenticator | None = None

    def callback(self, domain: str, key: bytes) -> bool:
        """Admit ``key`` (Z85) if it is an allowed client's (called by the ZAP thread)."""
        ok = key in self.keys
        if ok:
            self.allowed += 1
        else:
            self.denied += 1
            if self.denied == 1:
                log.warning(
                    "CURVE: refused a client whose key is not among the allowed keys "
                    "(%s; further refusals are counted, not logged)",
                    key.decode(errors="replace"),
                )
        return ok

    def close(self) -> None:
        """Stop admitting anyone for this socket; stop the ZAP thread with its last socket."""
        _release(self)


_lock = threading.Lock()
_auths: dict[int, tuple[ThreadAuthenticator, int]] = {}
_domains = itertools.count(1)


def serve(socket: zmq.Socket[Any], keys: ServerKeys) -> ServerGuard:
    """Make ``socket`` a CURVE server that admits only the allowed clients; call before bind.

    The context's ZAP handler (one ``ThreadAuthenticator`` per context, shared by its
    servers) is started if needed; each server socket has its own ZAP domain and so its own
    allowed keys.

    Raises
    ------
    ConfigError
        If a key file or the folder is bad (naming it).
    """
    _require_curve()
    public, secret = load_secret(keys.secret_key)
    allowed = load_allowed(keys.client_keys)
    ctx = socket.context
    domain = f"bci-bridge-{next(_domains)}"
    guard = ServerGuard(ctx, domain, allowed)
    with _lock:
        auth, users = _auths.get(id(ctx), (None, 0))
        if auth is None:
            from zmq.auth.thread import ThreadAuthenticator

            auth = ThreadAuthenticator(ctx, log=logging.getLogger(f"{__name__}.zap"))
            auth.start()
        auth.configure_curve_callback(domain, credentials_provider=guard)
        _auths[id(ctx)] = (auth, users + 1)
        guard._auth = auth
    socket.setsockopt(zmq.ZAP_DOMAIN, domain.encode())
    socket.setsockopt(zmq.CURVE_SECRETKEY, secret)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, public)
    socket.setsockopt(zmq.CURVE_SERVER, 1)
    log.info(
        "CURVE: serving with %s to %d allowed client key(s) in %s",
        keys.secret_key,
        len(allowed),
        keys.client_keys,
    )
    return guard


def _require_curve() -> None:
    if not zmq.has("curve"):
        raise ConfigError(
            f"this libzmq ({zmq.zmq_version()}) was built without CURVE; install pyzmq's own "
            "wheel (it bundles libzmq with CURVE) or use loopback endpoints"
        )


def _release(guard: ServerGuard) -> None:
    with _lock:
        auth = guard._auth
        if auth is None:
            return
        guard._auth = None
        auth.credentials_providers.pop(guard.domain, None)
        _, users = _auths[id(guard._ctx)]
        if users > 1:
            _auths[id(guard._ctx)] = (auth, users - 1)
            return
        del _auths[id(guard._ctx)]
    auth.stop()
