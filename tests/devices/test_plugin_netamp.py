"""A third-party driver for real: examples/plugin-netamp installed with pip, then streamed.

The distribution lives beside bci-bridge, with its own pyproject.toml and entry point; nothing
in bci-bridge names it. Installing it into this venv is all it takes for ``bci-bridge stream
netamp`` to find it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import Worker

from bci_bridge.config import load_pipeline
from runtime.runner import Runtime, RuntimeOptions

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "examples" / "plugin-netamp"


def _python(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ.copy(),  # conftest's loopback LSLAPICFG
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def installed() -> None:
    """Install the example distribution into this venv (editable, offline, no dependencies)."""
    result = _python(
        *("-m", "pip", "install", "--quiet", "--no-index", "--no-deps"),
        *("--no-build-isolation", "-e", str(PLUGIN)),
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_installed_plugin_is_listed_with_its_settings(installed: None) -> None:
    result = _python("-m", "bci_bridge", "devices", "netamp")
    assert result.returncode == 0, result.stderr
    assert "bci_bridge_netamp.device:NetAmp" in result.stdout
    assert "port : int = 0" in result.stdout
    assert "UDP port to listen on" in result.stdout
    listed = _python("-m", "bci_bridge", "list")
    assert "netamp" in listed.stdout


def test_the_plugin_passes_the_device_conformance_kit(installed: None) -> None:
    code = (
        "from bci_bridge import registry\n"
        "from bci_bridge.testing import check_device\n"
        "cls = registry.load('device', 'netamp')\n"
        "check_device(cls, cls.Config(n_channels=3, sfreq=500.0, chunk_size=5))\n"
        "print('conforms')\n"
    )
    result = _python("-c", code)
    assert result.returncode == 0, result.stderr
    assert "conforms" in result.stdout


def test_bci_bridge_stream_netamp_feeds_a_pipeline(
    installed: None, stream_name: str, tmp_path: Path, ipc_dir: Path
) -> None:
    """``bci-bridge stream netamp`` as an LSL outlet, read by a pipeline: nothing lost."""
    sent = tmp_path / "sent.json"
    device = subprocess.Popen(
        [
            *(sys.executable, "-m", "bci_bridge", "stream", "netamp"),
            *("--channels", "4", "--rate", "500", "--chunk", "5", "--name", stream_name),
            *("--duration", "1.5", "--wait-consumer", "30", "--summary", str(sent)),
        ],
        env=os.environ.copy(),
        stderr=subprocess.PIPE,
        text=True,
    )
    # The pipeline the README walks through, on this test's own stream name and endpoint.
    pipeline = load_pipeline(
        PLUGIN / "netamp_alpha.toml",
        [f"inputs[0].lsl={stream_name}", f"outputs[0].zmq=ipc://{ipc_dir}/alpha"],
    )
    runtime = Runtime(pipeline, RuntimeOptions(exit_on_eos=True, info_timeout_s=30))
    worker = Worker(runtime.run)
    worker.start()
    try:
        _, stderr = device.communicate(timeout=60)
    finally:
        if device.poll() is None:
            device.kill()
    assert device.returncode == 0, stderr
    worker.join(30)  # the outlet is gone: the direct LSL input ends, and with it the run
    summary = worker.finish()
    totals = json.loads(sent.read_text())
    assert totals["device"] == "netamp"
    assert totals["samples_sent"] > 0
    assert totals["samples_sent"] % 5 == 0  # whole packets of 5 samples
    assert summary["samples_received"] == totals["samples_sent"]
    assert summary["samples_lost"] == 0
    alpha = summary["nodes"]["alpha"]
    assert alpha["errors"] == 0
    assert alpha["calls"] > 0
