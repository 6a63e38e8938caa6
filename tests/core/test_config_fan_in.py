"""Fan-in nodes in the pipeline file: ``inputs``, ``align_tolerance_ms``, ``align_max_mb``."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bci_bridge.config import PipelineConfig, load_pipeline
from bci_bridge.errors import ConfigError

HEAD = """
[pipeline]
name = "fused"

[[inputs]]
name = "eeg"
lsl = "EEG"

[[inputs]]
name = "emg"
lsl = "EMG"

[[nodes]]
name = "emg_hp"
module = "highpass"
input = "emg"
params = { cutoff = 20.0 }
"""


def _load(tmp_path: Path, node: str) -> PipelineConfig:
    path = tmp_path / "fused.toml"
    path.write_text(textwrap.dedent(HEAD + node), encoding="utf-8")
    return load_pipeline(path)


def _error(tmp_path: Path, node: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, node)
    assert info.value.file is not None
    assert info.value.file.endswith("fused.toml")
    return info.value


def test_a_node_reads_inputs_and_earlier_nodes_side_by_side(tmp_path: Path) -> None:
    p = _load(
        tmp_path,
        """
        [[nodes]]
        name = "both"
        module = "pick"
        inputs = ["eeg", "emg_hp"]
        align_tolerance_ms = 1.5
        align_max_mb = 0.5
        params = { channels = ["C3"] }
        """,
    )
    node = p.nodes[1]
    assert node.inputs == ("eeg", "emg_hp")
    assert node.input == "eeg"  # the first source: the reference clock
    assert (node.align_tolerance_ms, node.align_max_mb) == (1.5, 0.5)


def test_fan_in_defaults(tmp_path: Path) -> None:
    p = _load(
        tmp_path,
        """
        [[nodes]]
        name = "both"
        module = "pick"
        inputs = ["eeg", "emg"]
        params = { channels = ["C3"] }
        """,
    )
    node = p.nodes[1]
    assert node.align_tolerance_ms is None  # half a sample period, once the rate is known
    assert node.align_max_mb == 1.0
    assert p.nodes[0].inputs == ()


@pytest.mark.parametrize(
    ("lines", "key", "message"),
    [
        ('inputs = ["eeg"]', "nodes[1].inputs", "two or more"),
        ('inputs = "eeg"', "nodes[1].inputs", "two or more"),
        ('inputs = ["eeg", 3]', "nodes[1].inputs", "two or more"),
        ('inputs = ["eeg", "nope"]', "nodes[1].inputs[1]", "'nope' is not an input"),
        ('inputs = ["eeg", "both"]', "nodes[1].inputs[1]", "'both' is not an input"),
        ('inputs = ["eeg", "emg", "eeg"]', "nodes[1].inputs[2]", "listed twice"),
        ('inputs = ["eeg", "emg"]\ninput = "eeg"', "nodes[1].inputs", "not both"),
        ('input = "eeg"\nalign_tolerance_ms = 2.0', "nodes[1].align_tolerance_ms", "fan-in"),
        ('input = "eeg"\nalign_max_mb = 2.0', "nodes[1].align_max_mb", "fan-in"),
        (
            'inputs = ["eeg", "emg"]\nalign_tolerance_ms = -1',
            "nodes[1].align_tolerance_ms",
            "positive",
        ),
        ('inputs = ["eeg", "emg"]\nalign_max_mb = 0', "nodes[1].align_max_mb", "positive"),
        ('inputs = ["eeg", "emg"]\non_overrun = "skip"', "nodes[1].on_overrun", "fan-in"),
        ('inputs = ["eeg", "emg"]\non_overrun = "fallback"', "nodes[1].on_overrun", "fan-in"),
    ],
)
def test_bad_fan_in_names_the_key(tmp_path: Path, lines: str, key: str, message: str) -> None:
    node = (
        f'\n[[nodes]]\nname = "both"\nmodule = "pick"\n{lines}\nparams = {{ channels = ["C3"] }}\n'
    )
    err = _error(tmp_path, node)
    assert err.key == key
    assert message in err.message
