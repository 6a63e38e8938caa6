"""The demo's stream name is the user's (no process id in it), so it refuses a name in use."""

from __future__ import annotations

import os
import subprocess
import sys

import pylsl

from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo


def test_demo_refuses_a_stream_name_already_in_use(stream_name: str) -> None:
    outlet = pylsl.StreamOutlet(
        to_lsl(StreamInfo(name=stream_name, channel_names=("a",), sfreq=10))
    )
    result = subprocess.run(
        [sys.executable, "-m", "bci_bridge", "demo", "--name", stream_name, "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),  # conftest's loopback LSLAPICFG
    )
    del outlet
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"an LSL stream named {stream_name!r} is already running" in result.stderr
    assert "--name" in result.stderr
