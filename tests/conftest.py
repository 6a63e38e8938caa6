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


#: Set to 1 to run the tests marked ``soak`` (or select them with ``-m soak``).
SOAK_ENV = "BCI_BRIDGE_SOAK"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the ``soak`` tests (minutes long) unless ``-m soak`` or BCI_BRIDGE_SOAK=1 asks."""
    if "soak" in (config.getoption("markexpr") or "") or os.environ.get(SOAK_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"a soak test: run with -m soak or {SOAK_ENV}=1")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)
