"""``bci-bridge keys NAME``: write a CURVE key pair, the secret one readable by its owner only.

The pair is made by pyzmq (``zmq.auth.create_certificates``) in a fresh private folder, the
secret file set to mode 0600 there, and both moved into place: the secret key is never
readable by others, not even for a moment, and a pair is never half written.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

from bci_bridge.curve import PUBLIC_SUFFIX, SECRET_SUFFIX, load_secret
from bci_bridge.errors import ConfigError

__all__ = ["run", "write_key_pair"]

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def write_key_pair(name: str, folder: Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` (mode 0600) into ``folder``.

    Parameters
    ----------
    name : str
        The pair's name.
    folder : Path
        Where to write; created (mode 0700) if missing.
    force : bool
        Overwrite an existing pair.

    Returns
    -------
    public, secret : Path
        The files written.

    Raises
    ------
    ConfigError
        A bad name, an existing pair without ``force``, or a folder that cannot be written.
    """
    import zmq.auth

    if not _NAME.match(name):
        raise ConfigError(f"{name!r}: use letters, digits, '_', '-' and '.'", key="NAME")
    public = folder / f"{name}{PUBLIC_SUFFIX}"
    secret = folder / f"{name}{SECRET_SUFFIX}"
    there = [p for p in (public, secret) if p.exists()]
    if there and not force:
        raise ConfigError(
            f"{there[0]} exists; keep it, pick another NAME, or overwrite with --force"
        )
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=folder))  # mode 0700
    except OSError as exc:
        raise ConfigError(f"cannot write keys into {folder}: {exc}") from None
    try:
        made_public, made_secret = zmq.auth.create_certificates(staging, name)
        Path(made_secret).chmod(0o600)
        Path(made_public).chmod(0o644)
        os.replace(made_secret, secret)
        os.replace(made_public, public)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    load_secret(secret)  # what was written loads
    return public, secret


def run(args: argparse.Namespace) -> int:
    """Write the pair and say where, and how to use it."""
    folder = Path(args.dir)
    public, secret = write_key_pair(args.name, folder, force=args.force)
    print(f"wrote {public} (public: give it to the other side)")
    print(f"wrote {secret} (secret, mode 0600: keep it on this machine)")
    print(
        "use it:\n"
        f"  as a server:  bci-bridge bridge ... --server-key {secret} --client-keys DIR\n"
        f'                (pipeline: [security] server_key = "{secret}", client_keys = "DIR")\n'
        f"  as a client:  copy {public} into the server's DIR of client keys, then\n"
        f"                bci-bridge top ENDPOINT --client-key {secret} --server-public-key "
        "SERVER.key\n"
        f'                (pipeline: [security] client_key = "{secret}", '
        'server_public_key = "SERVER.key")'
    )
    return 0
