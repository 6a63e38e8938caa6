"""``bci-bridge demo --curve``: the whole path with every ZeroMQ hop keyed, nothing lost."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_demo_runs_keyed_end_to_end(tmp_path: Path, stream_name: str) -> None:
    out = tmp_path / "demo.json"
    argv = ["demo", "--curve", "--name", stream_name, "--duration", "3", "--json", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "bci_bridge", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(out.read_text())
    assert summary["samples_lost"] == summary["samples_sent"] - summary["samples_received"] == 0
    assert summary["outputs"] > 0
    assert summary["outputs"] == summary["outputs_sent"]
    found = re.search(r"logs and summaries in (\S+); CURVE keys in (\S+)", result.stdout)
    assert found, result.stdout
    logs, keys = Path(found[1]), Path(found[2])
    assert sorted(p.name for p in keys.glob("*.key")) == ["bridge.key", "demo.key", "runtime.key"]
    # The bridge served CURVE to the runtime alone; the runtime's output to this client alone.
    for name in ("bridge", "runtime"):
        log = (logs / f"{name}.log").read_text()
        assert f"CURVE: serving with {keys / name}.key_secret to 1 allowed client key(s)" in log
        assert "refused a client" not in log
