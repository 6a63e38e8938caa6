"""``bci-bridge run`` imports what its pipeline's modules need: no ONNX without an onnx node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "examples" / "senddata_bandpower.toml"  # bandpass and bandpower

_WRAPPER = """
import json, sys
from bci_bridge.cli.main import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _modules_after(*argv: str) -> tuple[int, set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_a_pipeline_without_a_model_never_imports_onnx(check: bool, ipc_dir: Path) -> None:
    # The input never comes: the run stops at its info timeout, after loading every module.
    argv = [
        "run",
        str(PIPELINE),
        f"--set=inputs[0].endpoint=ipc://{ipc_dir}/in",
        f"--set=outputs[0].zmq=ipc://{ipc_dir}/out",
        f"--set=pipeline.metrics=ipc://{ipc_dir}/metrics",
        "--info-timeout=0.3",
    ]
    code, modules = _modules_after(*argv, *(["--check"] if check else []))
    assert code == (0 if check else 2)  # 2: no stream info within the timeout
    assert "decoders.bandpower" in modules  # the pipeline's modules were loaded
    assert "runtime.runner" in modules
    for package in ("onnx", "onnxruntime"):
        assert not any(m == package or m.startswith(package + ".") for m in modules), package
