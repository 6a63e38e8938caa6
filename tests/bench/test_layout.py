"""The benchmark's heavy parts stay off the import path of the CLI, the runtime and the bench core.

``bci_bridge.bench`` keeps the scenarios, floors, runner and gate; the peers, the plot
(matplotlib) and the EEGNet-style model builder (onnx) live in ``bci_bridge.bench_extras`` and
are imported only when asked: ``--peers``, ``--plot``, a decode scenario's model.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

EXTRAS = (
    "bci_bridge.bench_extras.eegnet",
    "bci_bridge.bench_extras.plot",
    "bci_bridge.bench_extras.peers",
    "matplotlib",
    "onnx",
)
HEAVY = (*EXTRAS, "psutil", "mne", "sklearn")


def _loaded(imports: str, watch: tuple[str, ...], then: str = "") -> list[str]:
    """Return the modules of ``watch`` loaded by a fresh interpreter after ``imports``."""
    code = (
        f"import sys, {imports}\n{then}\nprint(','.join(m for m in {watch!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return [m for m in out.stdout.strip().split(",") if m]


def test_cli_and_runtime_imports_leave_the_bench_helpers_out() -> None:
    assert _loaded("bci_bridge.cli.main, runtime.runner", HEAVY) == []


def test_the_bench_core_loads_no_peer_plot_or_model_builder() -> None:
    core = (
        "bci_bridge.bench.runner, bci_bridge.bench.scenarios, bci_bridge.bench.floor, "
        "bci_bridge.bench.compare, bci_bridge.bench.report, bci_bridge.bench.counters, "
        "bci_bridge.bench.pipelines, bci_bridge.cli.bench_cmd"
    )
    assert _loaded(core, EXTRAS) == []


def test_pipelines_of_non_decode_scenarios_need_no_model_builder() -> None:
    then = (
        "from bci_bridge.bench.pipelines import pipeline_toml\n"
        "from bci_bridge.bench.scenarios import SCENARIOS\n"
        "for s in SCENARIOS.values():\n"
        "    if s.work != 'decode':\n"
        "        assert pipeline_toml(s, stream='x', in_endpoint=None, out='ipc:///tmp/x')"
    )
    assert _loaded("bci_bridge.bench.pipelines", EXTRAS, then) == []


@pytest.mark.parametrize(
    ("then", "expected"),
    [
        (
            "from bci_bridge.bench_extras.peers import available_peers; available_peers('decode')",
            "bci_bridge.bench_extras.peers",
        ),
        ("import bci_bridge.bench_extras.plot", "bci_bridge.bench_extras.plot"),
        ("import bci_bridge.bench_extras.eegnet", "onnx"),
    ],
    ids=["peers", "plot", "eegnet"],
)
def test_each_extra_loads_when_asked(then: str, expected: str) -> None:
    # The other half of the guard: the names watched above are the ones these features load.
    assert expected in _loaded("bci_bridge.bench.runner", EXTRAS, then)


def test_peer_works_of_the_runner_match_the_peers_package() -> None:
    from bci_bridge.bench.runner import PEER_WORKS
    from bci_bridge.bench_extras.peers import WORKS

    assert PEER_WORKS == WORKS
