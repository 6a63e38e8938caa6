"""``bci-bridge run`` loads only what it runs: no training, plotting or benchmark libraries, and
no ONNX for a pipeline without an onnx node."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Never imported by ``bci-bridge run`` (the runtime must install and start lean).
HEAVY = ("mne", "sklearn", "matplotlib", "psutil", "bci_bridge.bench", "decoders.training")

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


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


def test_run_check_imports_nothing_heavy() -> None:
    code, modules = _modules_after("run", str(ROOT / "decoders/demo/pipeline.toml"), "--check")
    assert code == 0
    assert "bci_bridge.config" in modules  # the command really ran: it loaded the pipeline
    assert "decoders.bandpass" in modules  # ...and its plugins
    for package in HEAVY:
        assert not _loaded(modules, package), f"bci-bridge run imported {_loaded(modules, package)}"
    for other in ("bench_cmd", "train_cmd", "demo_cmd", "bridge_cmd", "stream_cmd"):
        assert f"bci_bridge.cli.{other}" not in modules


def test_each_command_imports_its_own_code_only() -> None:
    code, modules = _modules_after("list")
    assert code == 0
    assert "bci_bridge.cli.list_cmd" in modules
    assert "bci_bridge.cli.run_cmd" not in modules


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_a_pipeline_without_a_model_never_imports_onnx(check: bool, ipc_dir: Path) -> None:
    # The input never comes: the run stops at its info timeout, after loading every module.
    argv = [
        "run",
        str(ROOT / "examples" / "senddata_bandpower.toml"),  # bandpass and bandpower
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
        assert not _loaded(modules, package), package
