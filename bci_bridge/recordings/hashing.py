"""The bytes of a recording file and their SHA-256, which identifies the data exactly."""

from __future__ import annotations

import hashlib
from pathlib import Path

from bci_bridge.errors import ConfigError

__all__ = ["read_bytes", "sha256"]


def read_bytes(p: Path) -> bytes:
    """Return the file's bytes; a missing or unreadable file raises ConfigError naming it."""
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("no such file", file=str(p)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc}", file=str(p)) from exc


def sha256(*blobs: bytes) -> str:
    """Hex SHA-256 of the blobs, in order."""
    h = hashlib.sha256()
    for blob in blobs:
        h.update(blob)
    return h.hexdigest()
