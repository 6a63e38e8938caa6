"""The bci-bridge side of a scenario: the pipeline file ``bci-bridge run`` is given."""

from __future__ import annotations

from pathlib import Path

from bci_bridge import registry
from bci_bridge.bench.scenarios import Scenario

__all__ = ["PIPELINE_NAME", "output_node", "pipeline_toml", "wide_module"]

PIPELINE_NAME = "bench"


def wide_module() -> tuple[str, str]:
    """Return the re-referencing module to use and its params (inline TOML table)."""
    if "reref" in registry.available("module"):
        return "reref", '{ mode = "average" }'
    return "bci_bridge.bench.car:CommonAverage", "{}"


def output_node(scenario: Scenario) -> str:
    """Name of the node whose output the client receives."""
    return {
        "relay": "bandpass",
        "decode": "eegnet",
        "wide": "car",
        "wearable": "bandpower",
        "spikes": "spikes",
    }[scenario.work]


def pipeline_toml(
    scenario: Scenario,
    *,
    stream: str,
    in_endpoint: str | None,
    out: str,
    cache_dir: Path | None = None,
) -> str:
    """Return the pipeline file text.

    Parameters
    ----------
    scenario : Scenario
        What to run.
    stream : str
        The LSL (and bridged) stream name of the producer.
    in_endpoint : str or None
        Where the bridge publishes; None to read the LSL stream directly in the runtime
        (``lsl = "<stream>"``: one process, no bridge).
    out : str
        The LSL outlet name (relay) or the ZeroMQ endpoint (the others) of the output.
    cache_dir : Path, optional
        Where the EEGNet-style model is cached (see
        :func:`bci_bridge.bench_extras.eegnet.eegnet_path`).
    """
    lines = [
        "[pipeline]",
        f'name = "{PIPELINE_NAME}"',
        "",
        "[[inputs]]",
        'name = "eeg"',
    ]
    if in_endpoint is None:
        lines += [f'lsl = "{stream}"', ""]
    else:
        lines += [f'stream = "{stream}"', f'endpoint = "{in_endpoint}"', ""]
    bandpass = ['module = "bandpass"', "params = { low = 8.0, high = 30.0, order = 4 }"]
    nodes: list[list[str]] = []
    if scenario.work in ("relay", "decode", "wearable"):
        nodes.append(['name = "bandpass"', *bandpass, "budget_ms = 1.0"])
    if scenario.work == "decode":
        from bci_bridge.bench_extras.eegnet import eegnet_path  # onnx's builder: only here

        n = round(scenario.rate)
        model = eegnet_path(scenario.channels, n, scenario.rate, cache_dir)
        nodes.append(
            [
                'name = "eegnet"',
                'module = "onnx"',
                "budget_ms = 2.0",
                f'params = {{ model = "{model}", trigger = "hop", hop = 1, threads = 1 }}',
            ]
        )
    if scenario.work in ("wide", "spikes"):
        module, params = wide_module()
        nodes.append(
            ['name = "car"', f'module = "{module}"', "budget_ms = 1.0", f"params = {params}"]
        )
    if scenario.work == "spikes":
        nodes.append(
            [
                'name = "spikes"',
                'module = "spikes"',
                "budget_ms = 1.0",
                "params = { low = 250.0, high = 5000.0, threshold = -4.5, bin_s = 0.001 }",
            ]
        )
    if scenario.work == "wearable":
        nodes.append(
            [
                'name = "bandpower"',
                'module = "bandpower"',
                "budget_ms = 1.0",
                "params = { window_s = 1.0, hop_s = 0.1 }",
            ]
        )
    for node in nodes:
        lines += ["[[nodes]]", *node, ""]
    key = "lsl" if scenario.output == "lsl" else "zmq"
    lines += ["[[outputs]]", f'node = "{output_node(scenario)}"', f'{key} = "{out}"', ""]
    return "\n".join(lines)
