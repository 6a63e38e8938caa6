"""The ``[security]`` table of a pipeline: CURVE keys of its outputs, metrics and inputs.

::

    [pipeline]
    insecure = false                      # true: allow plain TCP off loopback (see below)

    [security]                            # paths relative to the pipeline file
    server_key = "keys/runtime.key_secret"   # outputs and metrics serve CURVE with this...
    client_keys = "keys/clients"             # ...to the subscribers whose NAME.key is here
    client_key = "keys/runtime.key_secret"   # inputs: this runtime's key, as a bridge's client
    server_public_key = "keys/bridge.key"    # inputs: the bridge's public key (pinned)

    [[inputs]]                            # per input, to override the two input keys:
    server_public_key = "keys/bridge2.key"
    client_key = "keys/runtime.key_secret"

``server_key`` and ``client_keys`` go together, as do ``client_key`` and ``server_public_key``
(for each input). Every file is loaded at load time, so a missing or broken key is one error
naming the file and the key. Whether an endpoint off loopback without keys is refused is
decided when the runtime starts (and by ``run --check``): see :func:`transport_problems`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bci_bridge.curve import ClientKeys, ServerKeys, require_keys
from bci_bridge.errors import ConfigError

if TYPE_CHECKING:  # config.py imports this module
    from bci_bridge.config import PipelineConfig

__all__ = [
    "CLIENT_FLAGS",
    "INPUT_KEYS",
    "SERVER_FLAGS",
    "SecurityConfig",
    "input_keys",
    "parse_security",
    "transport_problems",
]

#: Keys an ``[[inputs]]`` table may carry to override ``[security]``'s input keys.
INPUT_KEYS = ("server_public_key", "client_key")
_KEYS = ("server_key", "client_keys", "client_key", "server_public_key")
#: The hint of a refused pipeline endpoint (see :func:`bci_bridge.curve.require_keys`).
SERVER_FLAGS = "[security] server_key and client_keys in the pipeline"
CLIENT_FLAGS = "[security] (or the input's) client_key and server_public_key in the pipeline"


@dataclass(frozen=True, slots=True, kw_only=True)
class SecurityConfig:
    """A validated ``[security]`` table, paths resolved.

    ``server`` keys the outputs and metrics; ``client_key`` and ``server_public_key`` are the
    defaults of the inputs (each input's own keys are in its ``InputConfig.curve``).
    """

    server: ServerKeys | None = None
    client_key: Path | None = None
    server_public_key: Path | None = None


def parse_security(table: Any, *, base_dir: Path | None) -> SecurityConfig:
    """Validate a ``[security]`` table (``None``: no keys) and load every key it names.

    Raises
    ------
    ConfigError
        With ``key`` set to ``security.<key>``.
    """
    if table is None:
        return SecurityConfig()
    if not isinstance(table, Mapping):
        raise ConfigError(f"must be a table, got {type(table).__name__}", key="security")
    unknown = sorted(set(table) - set(_KEYS))
    if unknown:
        raise ConfigError(
            f"unknown key; [security] takes {', '.join(_KEYS)}", key=f"security.{unknown[0]}"
        )
    paths = {k: _path(table, k, "security", base_dir) for k in _KEYS}
    server: ServerKeys | None = None
    secret, folder = paths["server_key"], paths["client_keys"]
    if (secret is None) != (folder is None):
        missing = "client_keys" if folder is None else "server_key"
        raise ConfigError(
            "server_key and client_keys go together (the server's secret key, and the folder "
            "of the clients allowed to subscribe)",
            key=f"security.{missing}",
        )
    if secret is not None and folder is not None:
        server = ServerKeys(secret_key=secret, client_keys=folder)
        server.check(key="security.server_key")
    security = SecurityConfig(
        server=server,
        client_key=paths["client_key"],
        server_public_key=paths["server_public_key"],
    )
    if security.client_key is not None or security.server_public_key is not None:
        _client(security.client_key, security.server_public_key, "security")
    return security


def input_keys(
    table: Mapping[str, Any],
    key: str,
    security: SecurityConfig,
    base_dir: Path | None,
    *,
    zmq_input: bool,
) -> ClientKeys | None:
    """Return an input's CURVE client keys: its own ``INPUT_KEYS``, else ``[security]``'s.

    Parameters
    ----------
    table : mapping
        The ``[[inputs]]`` table.
    key : str
        Its key path (``inputs[0]``).
    security : SecurityConfig
        The pipeline's ``[security]``.
    base_dir : Path or None
        The pipeline file's folder.
    zmq_input : bool
        Whether the input comes from a bridge over ZeroMQ (an LSL input has no keys).

    Raises
    ------
    ConfigError
        With ``key`` set to ``<key>.<name>`` (or ``security.<name>``).
    """
    own_server = _path(table, "server_public_key", key, base_dir)
    own_client = _path(table, "client_key", key, base_dir)
    if not zmq_input:
        if own_server or own_client:
            name = "server_public_key" if own_server else "client_key"
            raise ConfigError("an LSL input has no ZeroMQ connection to key", key=f"{key}.{name}")
        return None
    server = own_server or security.server_public_key
    client = own_client or security.client_key
    if server is None and client is None:
        return None
    where = key if (own_server or own_client) else "security"
    return _client(client, server, where)


def _client(client: Path | None, server: Path | None, where: str) -> ClientKeys:
    if client is None or server is None:
        missing = "client_key" if client is None else "server_public_key"
        raise ConfigError(
            "client_key and server_public_key go together (this runtime's secret key, and the "
            "public key of the bridge it trusts)",
            key=f"{where}.{missing}",
        )
    keys = ClientKeys(server_public_key=server, client_key=client)
    keys.check(key=f"{where}.server_public_key")
    return keys


def _path(table: Mapping[str, Any], name: str, key: str, base_dir: Path | None) -> Path | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"must be a path, got {value!r}", key=f"{key}.{name}")
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base_dir or Path.cwd()) / p


def transport_problems(pipeline: PipelineConfig, *, insecure: bool = False) -> list[ConfigError]:
    """Return one error per pipeline endpoint off loopback without CURVE keys.

    Parameters
    ----------
    pipeline : PipelineConfig
        The pipeline (its inputs' endpoints, its outputs' and metrics endpoints).
    insecure : bool
        ``run --insecure``; ``insecure = true`` in ``[pipeline]`` counts too.

    Returns
    -------
    list of ConfigError
        Each naming the endpoint, its key and the fix; empty when every endpoint is fine.
    """
    insecure = insecure or pipeline.insecure
    checks: list[tuple[str, bool, str, str]] = []
    for i, inp in enumerate(pipeline.inputs):
        if inp.endpoint is not None:
            keys = inp.curve is not None
            checks.append((inp.endpoint, keys, CLIENT_FLAGS, f"inputs[{i}].endpoint"))
    keyed = pipeline.security.server is not None
    for i, out in enumerate(pipeline.outputs):
        if out.zmq is not None:
            checks.append((out.zmq, keyed, SERVER_FLAGS, f"outputs[{i}].zmq"))
    checks.append((pipeline.metrics, keyed, SERVER_FLAGS, "pipeline.metrics"))
    problems: list[ConfigError] = []
    for endpoint, has_keys, flags, key in checks:
        try:
            require_keys(
                endpoint,
                keyed=has_keys,
                insecure=insecure,
                flags=flags,
                key=key,
                insecure_flag="run --insecure (or insecure = true in [pipeline])",
            )
        except ConfigError as exc:
            problems.append(exc.within(file=pipeline.source))
    return problems
