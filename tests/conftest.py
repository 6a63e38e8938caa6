"""Test-wide set-up: keep LSL on this machine, give each test unique names and endpoints."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

# Before anything touches liblsl: confine discovery to loopback with the shipped config.
os.environ["LSLAPICFG"] = str(Path(__file__).resolve().parent.parent / "bci_bridge" / "lsl_api.cfg")

import pytest


@pytest.fixture
def stream_name() -> str:
    """A stream name no other test (or parallel run) uses."""
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def ipc_dir() -> Iterator[Path]:
    """A short folder for ``ipc://`` endpoints (socket paths must stay under ~100 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="bb-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)
