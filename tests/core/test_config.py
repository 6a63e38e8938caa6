"""Pipeline TOML loading: defaults, overrides, and errors that name the file and the key."""

from __future__ import annotations

import dataclasses
import itertools
import textwrap
from pathlib import Path

import pytest

from bci_bridge.config import apply_overrides, load_pipeline, parse_pipeline
from bci_bridge.errors import ConfigError
from decoders.onnx_module import OnnxModuleConfig

HEAD = """
[pipeline]
name = "demo"

[[inputs]]
name = "eeg"
stream = "SyntheticEEG"
endpoint = "tcp://127.0.0.1:5555"
"""

FILTER = """
[[nodes]]
name = "filter"
module = "bandpass"
params = { low = 8.0, high = 30.0, order = 4 }
"""

POWER = """
[[nodes]]
name = "power"
module = "bandpower"
input = "filter"
params = { bands = [[8, 13], [13, 30]], band_names = ["mu", "beta"], window_s = 1, hop_s = 0.1 }
"""

OUTPUT = """
[[outputs]]
node = "power"
zmq = "tcp://127.0.0.1:5556"
lsl = "demo-power"
"""

VALID = HEAD + FILTER + POWER + OUTPUT

_counter = itertools.count()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"pipeline{next(_counter)}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> ConfigError:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_pipeline(path, overrides)
    err = info.value
    assert err.file == str(path)
    assert str(path) in str(err)
    if err.key:
        assert err.key in str(err)
    return err


# --- a valid pipeline and its defaults ---------------------------------------------------------


def test_valid_pipeline_loads(tmp_path):
    path = write(tmp_path, VALID)
    p = load_pipeline(path)
    assert p.name == "demo"
    assert p.source == str(path)
    assert [(i.name, i.stream, i.endpoint) for i in p.inputs] == [
        ("eeg", "SyntheticEEG", "tcp://127.0.0.1:5555")
    ]
    assert [(n.name, n.module, n.input) for n in p.nodes] == [
        ("filter", "bandpass", "eeg"),
        ("power", "bandpower", "filter"),
    ]
    f, pw = p.nodes
    assert f.plugin.__module__ == "decoders.bandpass"
    assert type(f.config).__name__ == "BandPassConfig"
    assert (f.config.low, f.config.high, f.config.order) == (8.0, 30.0, 4)
    assert isinstance(f.config.low, float)
    assert pw.config.bands == ((8.0, 13.0), (13.0, 30.0))
    assert all(isinstance(x, float) for band in pw.config.bands for x in band)
    assert pw.config.band_names == ("mu", "beta")
    assert (pw.config.window_s, pw.config.hop_s) == (1.0, 0.1)
    assert [(o.node, o.zmq, o.lsl) for o in p.outputs] == [
        ("power", "tcp://127.0.0.1:5556", "demo-power")
    ]


def test_defaults(tmp_path):
    text = """
    [pipeline]
    name = "d"

    [[inputs]]
    stream = "SyntheticEEG"
    endpoint = "ipc:///tmp/bci-test-in"

    [[inputs]]
    stream = "Other"
    endpoint = "inproc://other"

    [[nodes]]
    module = "bandpass"
    params = { low = 1, high = 40 }

    [[nodes]]
    module = "bandpower"

    [[outputs]]
    lsl = "out"
    """
    p = load_pipeline(write(tmp_path, text))
    # An input's name defaults to its stream.
    assert [i.name for i in p.inputs] == ["SyntheticEEG", "Other"]
    first, second = p.nodes
    # A node's name defaults to its module; the first node reads the first input, the next
    # node reads the previous node.
    assert (first.name, first.input) == ("bandpass", "SyntheticEEG")
    assert (second.name, second.input) == ("bandpower", "bandpass")
    assert first.on_overrun == second.on_overrun == "warn"
    # budget_ms defaults to the module's own.
    assert first.budget_ms == first.config.budget_ms == 0.5
    # An output defaults to the last node.
    assert [(o.node, o.zmq, o.lsl) for o in p.outputs] == [("bandpower", None, "out")]


def test_outputs_are_optional(tmp_path):
    p = load_pipeline(write(tmp_path, HEAD + FILTER))
    assert p.outputs == ()


def test_node_budget_is_passed_to_the_module_config(tmp_path):
    text = HEAD + FILTER.replace('module = "bandpass"', 'module = "bandpass"\nbudget_ms = 0.25')
    (node,) = load_pipeline(write(tmp_path, text)).nodes
    assert node.budget_ms == 0.25
    assert node.config.budget_ms == 0.25


def test_on_overrun_disable(tmp_path):
    text = HEAD + FILTER.replace('name = "filter"', 'name = "filter"\non_overrun = "disable"')
    (node,) = load_pipeline(write(tmp_path, text)).nodes
    assert node.on_overrun == "disable"


@pytest.mark.parametrize("policy", ["warn", "skip", "fallback", "disable"])
def test_every_overrun_policy_loads(tmp_path, policy):
    text = HEAD + FILTER.replace('name = "filter"', f'name = "filter"\non_overrun = "{policy}"')
    (node,) = load_pipeline(write(tmp_path, text)).nodes
    assert node.on_overrun == policy
    assert (node.max_overruns, node.reenable_s) == (5, None)


def test_max_overruns_and_reenable_s(tmp_path):
    extra = 'on_overrun = "disable"\nmax_overruns = 3\nreenable_s = 2.5'
    text = HEAD + FILTER.replace('name = "filter"', f'name = "filter"\n{extra}')
    (node,) = load_pipeline(write(tmp_path, text)).nodes
    assert (node.max_overruns, node.reenable_s) == (3, 2.5)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("max_overruns", "0"),
        ("max_overruns", "2.5"),
        ("max_overruns", "true"),
        ("reenable_s", "0"),
        ("reenable_s", "-1"),
        ("reenable_s", '"soon"'),
    ],
)
def test_bad_max_overruns_and_reenable_s(tmp_path, key, value):
    text = HEAD + FILTER.replace('name = "filter"', f'name = "filter"\n{key} = {value}')
    err = load_error(tmp_path, text)
    assert err.key == f"nodes[0].{key}"
    assert err.file is not None
    assert err.file.endswith(".toml")


def test_pipeline_metrics_and_queue_defaults(tmp_path):
    p = load_pipeline(write(tmp_path, VALID))
    assert p.metrics == f"ipc:///tmp/bci-bridge-{p.name}-metrics"
    assert p.max_queue_mb == 64.0


def test_pipeline_metrics_and_queue_keys(tmp_path):
    head = HEAD.replace("[pipeline]", '[pipeline]\nmetrics = "ipc:///tmp/m"\nmax_queue_mb = 0.5')
    p = load_pipeline(write(tmp_path, head + FILTER))
    assert (p.metrics, p.max_queue_mb) == ("ipc:///tmp/m", 0.5)


@pytest.mark.parametrize(
    ("key", "value"), [("metrics", '"udp://x"'), ("max_queue_mb", "0"), ("max_queue_mb", '"big"')]
)
def test_bad_pipeline_metrics_and_queue_keys(tmp_path, key, value):
    head = HEAD.replace("[pipeline]", f"[pipeline]\n{key} = {value}")
    err = load_error(tmp_path, head + FILTER)
    assert err.key == f"pipeline.{key}"


def test_module_by_import_path(tmp_path):
    text = HEAD + FILTER.replace('"bandpass"', '"decoders.bandpass:BandPass"')
    (node,) = load_pipeline(write(tmp_path, text)).nodes
    assert node.plugin.__name__ == "BandPass"
    assert node.module == "decoders.bandpass:BandPass"


def test_a_node_may_read_any_earlier_node_or_input(tmp_path):
    text = (
        HEAD
        + FILTER
        + """
    [[nodes]]
    name = "power_raw"
    module = "bandpower"
    input = "eeg"

    [[nodes]]
    name = "power_filtered"
    module = "bandpower"
    input = "filter"
    """
    )
    p = load_pipeline(write(tmp_path, text))
    assert [n.input for n in p.nodes] == ["eeg", "eeg", "filter"]


# --- paths in params ---------------------------------------------------------------------------


def test_onnx_model_field_is_marked_as_a_path():
    (model,) = [f for f in dataclasses.fields(OnnxModuleConfig) if f.name == "model"]
    assert model.metadata.get("path") is True


def onnx_pipeline(model: str) -> str:
    return (
        HEAD
        + f"""
[[nodes]]
module = "onnx"
params = {{ model = "{model}" }}
"""
    )


def test_relative_model_path_is_resolved_against_the_toml_folder(tmp_path, monkeypatch):
    sub = tmp_path / "conf"
    sub.mkdir()
    monkeypatch.chdir(tmp_path)  # not the TOML's folder: resolution must not use the cwd
    (node,) = load_pipeline(write(sub, onnx_pipeline("models/dec.onnx"))).nodes
    assert Path(node.config.model) == sub.resolve() / "models" / "dec.onnx"


def test_absolute_model_path_is_kept(tmp_path):
    absolute = tmp_path / "elsewhere" / "dec.onnx"
    (node,) = load_pipeline(write(tmp_path, onnx_pipeline(absolute.as_posix()))).nodes
    assert Path(node.config.model) == absolute


def test_home_in_model_path_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (node,) = load_pipeline(write(tmp_path, onnx_pipeline("~/dec.onnx"))).nodes
    assert Path(node.config.model) == tmp_path / "home" / "dec.onnx"


def test_parse_pipeline_resolves_paths_against_base_dir(tmp_path):
    import tomllib

    raw = tomllib.loads(onnx_pipeline("m.onnx"))
    (node,) = parse_pipeline(raw, base_dir=tmp_path).nodes
    assert Path(node.config.model) == tmp_path / "m.onnx"


# --- errors that name the file and the key ----------------------------------------------------


def test_unknown_top_level_key(tmp_path):
    err = load_error(tmp_path, "bogus = 1\n" + VALID)
    assert err.key == "bogus"


def test_unknown_key_in_a_table(tmp_path):
    err = load_error(tmp_path, VALID.replace('stream = "SyntheticEEG"', 'stream = "S"\nport = 1'))
    assert err.key == "inputs[0].port"


def test_missing_pipeline_name(tmp_path):
    err = load_error(tmp_path, VALID.replace('name = "demo"', ""))
    assert err.key == "pipeline.name"


def test_missing_inputs(tmp_path):
    text = '[pipeline]\nname = "demo"\n' + FILTER
    err = load_error(tmp_path, text)
    assert err.key == "inputs"


def test_missing_nodes(tmp_path):
    err = load_error(tmp_path, HEAD)
    assert err.key == "nodes"


@pytest.mark.parametrize(
    "endpoint", ["tcp://127.0.0.1", "http://127.0.0.1:80", "127.0.0.1:5555", "ipc://", ""]
)
def test_bad_input_endpoint(tmp_path, endpoint):
    err = load_error(tmp_path, VALID.replace("tcp://127.0.0.1:5555", endpoint))
    assert err.key == "inputs[0].endpoint"


def test_node_input_naming_an_unknown_node(tmp_path):
    err = load_error(tmp_path, VALID.replace('input = "filter"', 'input = "nope"'))
    assert err.key == "nodes[1].input"
    assert "nope" in err.message


def test_node_input_naming_a_later_node(tmp_path):
    text = HEAD + FILTER.replace('name = "filter"', 'name = "filter"\ninput = "power"') + POWER
    err = load_error(tmp_path, text)
    assert err.key == "nodes[0].input"


def test_duplicate_node_names(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER + FILTER)
    assert err.key == "nodes[1].name"
    assert "filter" in err.message


def test_node_name_clashing_with_an_input(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace('name = "filter"', 'name = "eeg"'))
    assert err.key == "nodes[0].name"


def test_bad_node_name(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace('name = "filter"', 'name = "bad name"'))
    assert err.key == "nodes[0].name"


def test_unknown_module(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace('"bandpass"', '"nosuchmodule"'))
    assert err.key == "nodes[0].module"
    assert "nosuchmodule" in err.message
    for name in ("bandpass", "bandpower", "onnx"):
        assert name in err.message


def test_bad_import_path_module(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace('"bandpass"', '"decoders.bandpass:Nope"'))
    assert err.key == "nodes[0].module"


def test_unknown_param(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace("low = 8.0", "lowx = 8.0"))
    assert err.key == "nodes[0].params.lowx"
    for accepted in ("low", "high", "order", "budget_ms"):
        assert accepted in err.message


def test_wrong_param_type(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace("low = 8.0", 'low = "eight"'))
    assert err.key == "nodes[0].params.low"


def test_bool_is_not_an_int_param(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace("order = 4", "order = true"))
    assert err.key == "nodes[0].params.order"


def test_missing_required_param(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace("low = 8.0, ", ""))
    assert err.key == "nodes[0].params.low"


def test_params_refused_by_post_init(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER.replace("low = 8.0", "low = 40.0"))
    assert err.key == "nodes[0].params.low"
    assert "low must be < high" in err.message


def test_params_must_be_a_table(tmp_path):
    text = HEAD + '[[nodes]]\nmodule = "bandpass"\nparams = 3\n'
    err = load_error(tmp_path, text)
    assert err.key == "nodes[0].params"


@pytest.mark.parametrize(
    ("bands", "key"),
    [("[[13, 8]]", "nodes[0].params.bands[0]"), ("[[8, 13, 20]]", "nodes[0].params.bands[0]")],
)
def test_bad_band_names_the_band(tmp_path, bands, key):
    text = (
        HEAD + f'[[nodes]]\nmodule = "bandpower"\nparams = {{ bands = {bands}, band_names = [] }}\n'
    )
    err = load_error(tmp_path, text)
    assert err.key == key


def test_bad_band_element_type_names_the_element(tmp_path):
    text = HEAD + '[[nodes]]\nmodule = "bandpower"\nparams = { bands = [[8, "x"]] }\n'
    err = load_error(tmp_path, text)
    assert err.key == "nodes[0].params.bands[0][1]"


@pytest.mark.parametrize("budget", ["-1", "0", "-0.5", "true", '"fast"'])
def test_bad_budget(tmp_path, budget):
    text = HEAD + FILTER.replace(
        'module = "bandpass"', f'module = "bandpass"\nbudget_ms = {budget}'
    )
    err = load_error(tmp_path, text)
    assert err.key == "nodes[0].budget_ms"


def test_nan_budget_refused_for_a_builtin_module(tmp_path):
    text = HEAD + FILTER.replace('module = "bandpass"', 'module = "bandpass"\nbudget_ms = nan')
    err = load_error(tmp_path, text)
    assert err.key is not None
    assert "budget_ms" in err.key


@pytest.mark.parametrize("policy", ['"explode"', '"skip_all"', "1"])
def test_bad_on_overrun(tmp_path, policy):
    text = HEAD + FILTER.replace(
        'module = "bandpass"', f'module = "bandpass"\non_overrun = {policy}'
    )
    err = load_error(tmp_path, text)
    assert err.key == "nodes[0].on_overrun"


def test_output_naming_an_unknown_node(tmp_path):
    err = load_error(tmp_path, VALID.replace('node = "power"', 'node = "nope"'))
    assert err.key == "outputs[0].node"


def test_output_naming_an_input_not_a_node(tmp_path):
    err = load_error(tmp_path, VALID.replace('node = "power"', 'node = "eeg"'))
    assert err.key == "outputs[0].node"


def test_output_with_neither_zmq_nor_lsl(tmp_path):
    err = load_error(tmp_path, HEAD + FILTER + '[[outputs]]\nnode = "filter"\n')
    assert err.key == "outputs[0]"


def test_output_with_bad_zmq_endpoint(tmp_path):
    err = load_error(tmp_path, VALID.replace("tcp://127.0.0.1:5556", "nowhere"))
    assert err.key == "outputs[0].zmq"


def test_inputs_must_be_an_array_of_tables(tmp_path):
    err = load_error(tmp_path, '[pipeline]\nname = "x"\n[inputs]\nstream = "S"\n' + FILTER)
    assert err.key == "inputs"


def test_invalid_toml(tmp_path):
    err = load_error(tmp_path, VALID + "\n[[nodes]\nmodule = \n")
    assert err.key is None
    assert "TOML" in err.message


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as info:
        load_pipeline(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_parse_pipeline_error_has_key_but_no_file():
    with pytest.raises(ConfigError) as info:
        parse_pipeline({"pipeline": {"name": "x"}, "inputs": []})
    assert info.value.key == "inputs"
    assert info.value.file is None


# --- overrides ---------------------------------------------------------------------------------


def test_override_endpoint(tmp_path):
    p = load_pipeline(write(tmp_path, VALID), ["inputs[0].endpoint=ipc:///tmp/x"])
    assert p.inputs[0].endpoint == "ipc:///tmp/x"


def test_overrides_are_read_as_toml_values(tmp_path):
    p = load_pipeline(
        write(tmp_path, VALID),
        [
            "nodes[0].params.low=4",
            "nodes[0].params.order=2",
            "nodes[0].on_overrun=disable",
            "nodes[1].params.window_s=0.5",
            'pipeline.name="other"',
        ],
    )
    f, pw = p.nodes
    assert f.config.low == 4.0
    assert isinstance(f.config.low, float)
    assert f.config.order == 2
    assert f.on_overrun == "disable"
    assert pw.config.window_s == 0.5
    assert p.name == "other"


def test_override_can_add_a_key(tmp_path):
    p = load_pipeline(write(tmp_path, VALID), ["nodes[0].budget_ms=0.2"])
    assert p.nodes[0].budget_ms == 0.2


def test_overridden_value_is_validated(tmp_path):
    err = load_error(tmp_path, VALID, ("nodes[0].params.low=100",))
    assert err.key == "nodes[0].params.low"


@pytest.mark.parametrize(
    "override",
    [
        "inputs[3].endpoint=ipc:///tmp/x",
        "pipeline.name.x=1",
        "inputs.endpoint=ipc:///tmp/x",
        "no-equals-sign",
        "=value",
    ],
)
def test_bad_override_path(tmp_path, override):
    load_error(tmp_path, VALID, (override,))


def test_bad_override_names_the_key(tmp_path):
    err = load_error(tmp_path, VALID, ("inputs[3].endpoint=ipc:///tmp/x",))
    assert err.key == "inputs[3].endpoint"


def test_apply_overrides_in_place():
    raw = {"inputs": [{"endpoint": "tcp://a:1"}], "pipeline": {"name": "x"}}
    apply_overrides(raw, ["inputs[0].endpoint=ipc:///tmp/x", "pipeline.name=y", "a.b.c=[1, 2]"])
    assert raw == {
        "inputs": [{"endpoint": "ipc:///tmp/x"}],
        "pipeline": {"name": "y"},
        "a": {"b": {"c": [1, 2]}},
    }


def test_apply_overrides_refuses_missing_list_entry():
    with pytest.raises(ConfigError) as info:
        apply_overrides({"inputs": []}, ["inputs[0].endpoint=x"])
    assert info.value.key == "inputs[0].endpoint"


# --- bugs found in bci_bridge/config.py (these fail until fixed) -------------------------------


def test_nan_budget_is_refused_for_a_module_without_budget_field(tmp_path, monkeypatch):
    """BUG: the node-level ``budget_ms`` check is ``budget <= 0``, which NaN passes.

    For a module whose Config has no ``budget_ms`` field (a third-party plugin), nothing else
    checks it, and the node runs with a NaN budget (every overrun comparison is False).
    """
    (tmp_path / "nobudget_plugin.py").write_text(
        textwrap.dedent(
            """
            from dataclasses import dataclass

            @dataclass(frozen=True)
            class Cfg:
                gain: float = 1.0

            class Gain:
                Config = Cfg
                def __init__(self, config): self.config = config
                def prepare(self, info): return info
                def step(self, chunk): return chunk
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    base = HEAD + '[[nodes]]\nmodule = "nobudget_plugin:Gain"\n'
    assert load_pipeline(write(tmp_path, base + "budget_ms = 0.3\n")).nodes[0].budget_ms == 0.3
    for bad in ("nan", "inf"):
        err = load_error(tmp_path, base + f"budget_ms = {bad}\n")
        assert err.key == "nodes[0].budget_ms"


def test_non_utf8_file_is_a_config_error_naming_the_file(tmp_path):
    """BUG: load_pipeline only catches FileNotFoundError and TOMLDecodeError around reading.

    A file that is not UTF-8 (or a directory, or unreadable) escapes as UnicodeDecodeError /
    IsADirectoryError / PermissionError instead of a ConfigError naming the file.
    """
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe[pipeline]\n")
    with pytest.raises(ConfigError) as info:
        load_pipeline(path)
    assert info.value.file == str(path)
    with pytest.raises(ConfigError):
        load_pipeline(tmp_path)  # a directory


# --- prewarm_ms (runtime/prewarm.py) -------------------------------------------------------------


def test_prewarm_ms_on_a_module_with_prewarm(tmp_path):
    model = Path(__file__).resolve().parents[2] / "decoders" / "demo" / "model.onnx"
    text = (
        HEAD
        + f"""
[[nodes]]
name = "classifier"
module = "onnx"
prewarm_ms = 3
params = {{ model = "{model}" }}
"""
    )
    pipeline = load_pipeline(write(tmp_path, text))
    assert pipeline.nodes[0].prewarm_ms == 3.0
    assert load_pipeline(write(tmp_path, VALID)).nodes[0].prewarm_ms == 0.0  # off by default


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("prewarm_ms = 2", "cannot be prewarmed"),  # a filter: its state would change
        ("prewarm_ms = -1", "positive number of ms"),
        ("prewarm_ms = true", "positive number of ms"),
        ('prewarm_ms = 2\nisolation = "process"', "isolation = 'inline'"),
    ],
)
def test_prewarm_ms_refusals_name_the_key(tmp_path, line, message):
    node = FILTER.replace('module = "bandpass"', f'module = "bandpass"\n{line}')
    if "isolation" in line:  # a module that has prewarm(), isolated
        model = Path(__file__).resolve().parents[2] / "decoders" / "demo" / "model.onnx"
        node = f"""
[[nodes]]
name = "filter"
module = "onnx"
{line}
params = {{ model = "{model}" }}
"""
    err = load_error(tmp_path, HEAD + node)
    assert err.key == "nodes[0].prewarm_ms"
    assert message in str(err)
