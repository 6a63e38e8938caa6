"""The benchmark's heavy parts stay off the import path of the CLI and the runtime."""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "bci_bridge.bench.eegnet",
    "bci_bridge.bench.plot",
    "bci_bridge.bench.peers",
    "matplotlib",
    "psutil",
    "onnx",
    "mne",
    "sklearn",
)


def test_cli_and_runtime_imports_leave_the_bench_helpers_out() -> None:
    code = (
        "import sys, bci_bridge.cli.main, runtime.runner;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""
