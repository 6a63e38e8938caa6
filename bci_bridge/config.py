"""Pipeline configuration: one TOML file, validated in full at load, errors naming file and key.

::

    [pipeline]
    name = "demo"
    metrics = "ipc:///tmp/bci-bridge-demo-metrics"   # default: ipc:///tmp/bci-bridge-<name>-metrics
    max_queue_mb = 64.0             # per input: MiB queued before the oldest data is dropped
    insecure = false                # allow plain TCP off loopback (see bci_bridge/curve_config.py)
    max_load = 1.0                  # cores the runtime's nodes may need, measured at prepare;
                                    # more is refused (runtime/cost_model.py); 0: no check

    [[inputs]]                      # a stream published by `bci-bridge bridge`
    name = "eeg"                    # what nodes call it
    stream = "SyntheticEEG"         # the stream name on the wire (topic data.<stream>)
    endpoint = "tcp://127.0.0.1:5555"
    on_nonfinite = "hold"           # NaN/inf samples: hold | zero | drop | pass (counted anyway)

    [[inputs]]                      # or an LSL stream read directly (same host, no bridge)
    name = "cues"
    lsl = "SyntheticEEG-Markers"

    [[nodes]]                       # in order; each reads an input or an earlier node
    name = "filter"
    module = "bandpass"             # entry-point name, or "package.module:Class"
    input = "eeg"                   # default: the previous node (the first input for the first)
    # inputs = ["eeg", "emg"]       # or fan-in: several sources aligned by timestamp into one
    # align_tolerance_ms = 2.0      #   chunk (runtime/fan_in.py); default half a sample period
    # align_max_mb = 1.0            #   per source: samples waiting for their partners, at most
    budget_ms = 0.5                 # default: the module's own
    on_overrun = "warn"             # warn | skip | fallback | disable (see runtime/policy.py)
    max_overruns = 5                # disable: after this many overruns in a row
    reenable_s = 10.0               # disable: run again after this long (default: never)
    markers = "cues"                # optional: a marker input delivered to the module's on_markers
    isolation = "inline"            # inline | process: run the module in its own worker process
    deadline_ms = 200.0             # process only: kill and restart a step this late
    prewarm_ms = 2.0                # a throw-away run this long before each expected step
                                    # (low-rate modules with prewarm(); see runtime/prewarm.py)
    params = { low = 8.0, high = 30.0 }

    [[outputs]]
    node = "filter"
    zmq = "tcp://127.0.0.1:5556"    # ZeroMQ PUB bound here, topic out.<pipeline>.<node>
    lsl = "demo-filtered"           # and/or an LSL outlet of this name
    max_queue_mb = 64               # per subscriber that stops reading, then drops (ZeroMQ)

    [record]                        # optional: see bci_bridge/record/pipeline_config.py
    out = "session.xdf"

    [security]                      # optional CURVE keys: see bci_bridge/curve_config.py
    server_key = "keys/runtime.key_secret"
    client_keys = "keys/clients"

Each node's ``params`` becomes its module's ``Config`` (see :mod:`bci_bridge.params`); a
``Config`` field marked ``metadata={"path": True}`` is resolved against the TOML file's folder.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bci_bridge import registry
from bci_bridge.curve import ClientKeys
from bci_bridge.curve_config import INPUT_KEYS, SecurityConfig, input_keys, parse_security
from bci_bridge.errors import ConfigError, PluginError
from bci_bridge.params import build_config
from bci_bridge.record.pipeline_config import RecordConfig, parse_record

__all__ = [
    "OVERRUN_POLICIES",
    "InputConfig",
    "NodeConfig",
    "OutputConfig",
    "PipelineConfig",
    "apply_overrides",
    "default_metrics_endpoint",
    "load_pipeline",
    "parse_pipeline",
    "read_toml",
]

OverrunPolicy = Literal["warn", "skip", "fallback", "disable"]
OVERRUN_POLICIES: tuple[OverrunPolicy, ...] = ("warn", "skip", "fallback", "disable")
_NODE_KEYS = {
    "name",
    "module",
    "input",
    "budget_ms",
    "on_overrun",
    "max_overruns",
    "reenable_s",
    "markers",
    "params",
    "isolation",
    "deadline_ms",
    "inputs",
    "align_tolerance_ms",
    "align_max_mb",
    "prewarm_ms",
}
Isolation = Literal["inline", "process"]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
#: ``on_nonfinite`` policies, as runtime.nonfinite.POLICIES (the core does not import runtime).
_NONFINITE = ("hold", "zero", "drop", "pass")
_ENDPOINT = re.compile(r"^(tcp://[^\s]+:\d+|ipc://[^\s]+|inproc://[^\s]+)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class InputConfig:
    """A stream the runtime reads.

    Either from a bridge, ``data.<stream>`` at the ZeroMQ ``endpoint``; or, when ``lsl`` is
    true, straight from the LSL stream named ``stream`` in the runtime's own loop (single host:
    no bridge process, one hop less). ``on_nonfinite`` says what happens to NaN and infinite
    samples (see :mod:`runtime.nonfinite`).
    """

    name: str
    stream: str
    endpoint: str | None
    lsl: bool = False
    on_nonfinite: str = "hold"
    curve: ClientKeys | None = None  # CURVE keys of the connection to the bridge


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """One module instance in the graph, with its built ``Config``.

    A fan-in node lists its sources in ``inputs`` (``input`` is then the first of them): the
    runtime aligns them by timestamp within ``align_tolerance_ms`` (None: half a sample
    period), each source waiting at most ``align_max_mb`` MiB (see :mod:`runtime.fan_in`).
    """

    name: str
    module: str
    input: str
    plugin: type[Any]
    config: Any
    budget_ms: float
    on_overrun: OverrunPolicy
    markers: str | None = None
    max_overruns: int = 5
    reenable_s: float | None = None
    isolation: Isolation = "inline"
    deadline_ms: float | None = None
    inputs: tuple[str, ...] = ()
    align_tolerance_ms: float | None = None
    align_max_mb: float = 1.0
    prewarm_ms: float = 0.0  # 0: no prewarm


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputConfig:
    """Where a node's output goes: a ZeroMQ PUB endpoint and/or an LSL outlet name.

    ``max_queue_bytes`` bounds what the ZeroMQ socket queues for a subscriber that stopped
    reading (see :mod:`bci_bridge.queue_bound`); outputs sharing an endpoint use the first's.
    """

    node: str
    zmq: str | None
    lsl: str | None
    max_queue_bytes: int = 64 << 20


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineConfig:
    """A whole pipeline, validated."""

    name: str
    inputs: tuple[InputConfig, ...]
    nodes: tuple[NodeConfig, ...]
    outputs: tuple[OutputConfig, ...]
    source: str = "<string>"
    record: RecordConfig | None = None  # the [record] table (bci_bridge/record/pipeline_config.py)
    metrics: str = ""
    max_queue_mb: float = 64.0
    security: SecurityConfig = dataclasses.field(default_factory=SecurityConfig)
    insecure: bool = False  # [pipeline] insecure: plain TCP off loopback allowed
    max_load: float = 1.0  # cores (runtime/cost_model.py); 0: the check is off


def load_pipeline(path: str | Path, overrides: Sequence[str] = ()) -> PipelineConfig:
    """Read and validate a pipeline TOML file.

    Parameters
    ----------
    path : str or Path
        The TOML file.
    overrides : sequence of str
        ``KEY=VALUE`` pairs applied before validation, e.g. ``inputs[0].endpoint=ipc:///tmp/x``
        (VALUE is read as a TOML value when it parses as one, else as a string).

    Raises
    ------
    ConfigError
        Naming the file and the key path of the first problem.
    """
    p = Path(path)
    raw = read_toml(p, "pipeline file")
    try:
        apply_overrides(raw, overrides)
        return parse_pipeline(raw, base_dir=p.resolve().parent, source=str(p))
    except ConfigError as exc:
        raise exc.within(file=str(p)) from exc.__cause__


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """Read a TOML file; every failure is a :class:`ConfigError` naming the file.

    Parameters
    ----------
    path : Path
        The file.
    what : str
        What the file is, for messages (``"pipeline file"``, ``"recipe"``).
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} not found", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the {what}: {exc}", file=str(path)) from exc


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> None:
    """Set ``KEY=VALUE`` pairs in a parsed TOML document, in place.

    Raises
    ------
    ConfigError
        If an override is not ``KEY=VALUE`` or its path does not exist.
    """
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {item!r} is not KEY=VALUE")
        try:
            value: Any = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        parts = re.findall(r"[^.\[\]]+|\[\d+\]", key)
        target: Any = raw
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part.startswith("["):
                idx = int(part[1:-1])
                if not isinstance(target, list) or idx >= len(target):
                    raise ConfigError("no such list entry to override", key=key)
                if last:
                    target[idx] = value
                else:
                    target = target[idx]
            elif isinstance(target, dict):
                if last:
                    target[part] = value
                else:
                    target = target.setdefault(part, {})
            else:
                raise ConfigError("no such table to override", key=key)


def parse_pipeline(
    raw: Mapping[str, Any], *, base_dir: Path | None = None, source: str = "<string>"
) -> PipelineConfig:
    """Validate a parsed pipeline document.

    Parameters
    ----------
    raw : mapping
        The TOML document as a dict.
    base_dir : Path, optional
        Folder against which relative paths in params are resolved (default: the cwd).
    source : str
        Where the document came from, for messages.

    Raises
    ------
    ConfigError
        Naming the key path of the first problem.
    """
    _only(raw, {"pipeline", "inputs", "nodes", "outputs", "record", "security"}, "")
    head = _table(raw.get("pipeline", {}), "pipeline")
    _only(head, {"name", "metrics", "max_queue_mb", "insecure", "max_load"}, "pipeline")
    name = _str(head, "name", "pipeline", required=True)
    metrics = _str(head, "metrics", "pipeline") or default_metrics_endpoint(name)
    if not _ENDPOINT.match(metrics):
        raise ConfigError(f"{metrics!r} is not a ZeroMQ endpoint", key="pipeline.metrics")
    max_queue_mb = _positive(head, "max_queue_mb", "pipeline", 64.0)
    insecure = head.get("insecure", False)
    if not isinstance(insecure, bool):
        raise ConfigError(f"must be true or false, got {insecure!r}", key="pipeline.insecure")
    security = parse_security(raw.get("security"), base_dir=base_dir)
    max_load = head.get("max_load", 1.0)
    if (
        isinstance(max_load, bool)
        or not isinstance(max_load, int | float)
        or not (0 <= max_load < math.inf)
    ):
        raise ConfigError(
            f"must be a number of cores >= 0 (0: no load check), got {max_load!r}",
            key="pipeline.max_load",
        )

    inputs: list[InputConfig] = []
    for i, item in enumerate(_list(raw, "inputs", required=True)):
        key = f"inputs[{i}]"
        t = _table(item, key)
        _only(t, {"name", "stream", "endpoint", "lsl", "on_nonfinite", *INPUT_KEYS}, key)
        nonfinite = t.get("on_nonfinite", "hold")
        if nonfinite not in _NONFINITE:
            raise ConfigError(
                f"must be one of {', '.join(_NONFINITE)}, got {nonfinite!r}",
                key=f"{key}.on_nonfinite",
            )
        lsl_name = _str(t, "lsl", key)
        endpoint: str | None = _str(t, "endpoint", key) or None
        if lsl_name and endpoint:
            raise ConfigError(
                "give either endpoint (from a bridge) or lsl (read LSL directly), not both",
                key=f"{key}.lsl",
            )
        if lsl_name:
            stream = _str(t, "stream", key) or lsl_name
            if stream != lsl_name:
                raise ConfigError("with lsl, stream is the LSL stream's name", key=f"{key}.stream")
        else:
            stream = _str(t, "stream", key, required=True)
            if endpoint is None:
                raise ConfigError(
                    'required key is missing (or give lsl = "<stream name>" to read LSL directly)',
                    key=f"{key}.endpoint",
                )
            if not _ENDPOINT.match(endpoint):
                raise ConfigError(
                    f"{endpoint!r} is not a ZeroMQ endpoint (tcp://host:port, ipc://path, inproc://name)",
                    key=f"{key}.endpoint",
                )
        input_name = _str(t, "name", key) or stream
        if not _NAME.match(input_name):
            raise ConfigError(
                f"{input_name!r}: use letters, digits, '_' and '-' (or set name)", key=f"{key}.name"
            )
        inputs.append(
            InputConfig(
                name=input_name,
                stream=stream,
                endpoint=endpoint,
                lsl=bool(lsl_name),
                on_nonfinite=nonfinite,
                curve=input_keys(t, key, security, base_dir, zmq_input=endpoint is not None),
            )
        )

    known: dict[str, str] = {}
    for i, inp in enumerate(inputs):
        _unique(inp.name, known, f"inputs[{i}].name")

    nodes: list[NodeConfig] = []
    for i, item in enumerate(_list(raw, "nodes", required=True)):
        key = f"nodes[{i}]"
        t = _table(item, key)
        _only(t, _NODE_KEYS, key)
        module = _str(t, "module", key, required=True)
        node_name = _str(t, "name", key) or module
        default_input = nodes[-1].name if nodes else inputs[0].name
        fan_in = _fan_in(t, key, known)
        src = fan_in["inputs"][0] if fan_in["inputs"] else _str(t, "input", key) or default_input
        if src not in known:
            raise ConfigError(
                f"{src!r} is not an input or an earlier node; known: {', '.join(known)}",
                key=f"{key}.input",
            )
        _unique(node_name, known, f"{key}.name")
        try:
            plugin = registry.load("module", module)
        except PluginError as exc:
            raise ConfigError(str(exc), key=f"{key}.module") from exc
        params = dict(_table(t.get("params", {}), f"{key}.params"))
        config_cls = plugin.Config
        field_names = {f.name for f in dataclasses.fields(config_cls)}
        if "budget_ms" in t:
            budget = _positive_ms(t["budget_ms"], f"{key}.budget_ms")
            if "budget_ms" in field_names:
                params["budget_ms"] = float(budget)
        _resolve_paths(config_cls, params, base_dir)
        try:
            config = build_config(config_cls, params)
        except ConfigError as exc:
            raise exc.within(key=f"{key}.params") from exc.__cause__
        budget_ms = float(t.get("budget_ms", getattr(config, "budget_ms", 1.0)))
        markers = _str(t, "markers", key) or None
        if markers is not None:
            if markers not in {i.name for i in inputs}:
                raise ConfigError(
                    f"{markers!r} is not an input; inputs: {', '.join(i.name for i in inputs)}",
                    key=f"{key}.markers",
                )
            if not callable(getattr(plugin, "on_markers", None)):
                raise ConfigError(
                    f"module {module!r} takes no markers (it has no on_markers method)",
                    key=f"{key}.markers",
                )
        policy = t.get("on_overrun", "warn")
        if policy not in OVERRUN_POLICIES:
            raise ConfigError(
                f"must be one of {', '.join(OVERRUN_POLICIES)}, got {policy!r}",
                key=f"{key}.on_overrun",
            )
        if fan_in["inputs"] and policy in ("skip", "fallback"):
            raise ConfigError(
                f"{policy!r} coalesces one input's queue; a fan-in node takes warn or disable",
                key=f"{key}.on_overrun",
            )
        max_overruns = t.get("max_overruns", 5)
        if isinstance(max_overruns, bool) or not isinstance(max_overruns, int) or max_overruns < 1:
            raise ConfigError(
                f"must be a whole number >= 1, got {max_overruns!r}", key=f"{key}.max_overruns"
            )
        reenable_s = _positive(t, "reenable_s", key, None)
        nodes.append(
            NodeConfig(
                name=node_name,
                module=module,
                input=src,
                plugin=plugin,
                config=config,
                budget_ms=budget_ms,
                on_overrun=policy,
                markers=markers,
                max_overruns=max_overruns,
                reenable_s=reenable_s,
                prewarm_ms=_prewarm_ms(t, key, plugin, module),
                **_isolation(t, key),
                **fan_in,
            )
        )

    node_names = {n.name for n in nodes}
    outputs: list[OutputConfig] = []
    for i, item in enumerate(_list(raw, "outputs", required=False)):
        key = f"outputs[{i}]"
        t = _table(item, key)
        _only(t, {"node", "zmq", "lsl", "max_queue_mb"}, key)
        queue_mb = t.get("max_queue_mb", 64)
        if (
            isinstance(queue_mb, bool)
            or not isinstance(queue_mb, int | float)
            or not 0 < queue_mb < 1 << 20
        ):
            raise ConfigError(
                f"must be a positive number of MiB, got {queue_mb!r}", key=f"{key}.max_queue_mb"
            )
        node = _str(t, "node", key) or nodes[-1].name
        if node not in node_names:
            raise ConfigError(
                f"{node!r} is not a node; nodes: {', '.join(node_names)}", key=f"{key}.node"
            )
        zmq_ep = _str(t, "zmq", key) or None
        if zmq_ep is not None and not _ENDPOINT.match(zmq_ep):
            raise ConfigError(f"{zmq_ep!r} is not a ZeroMQ endpoint", key=f"{key}.zmq")
        outlet = _str(t, "lsl", key) or None
        if zmq_ep is None and outlet is None:
            raise ConfigError("an output needs zmq, lsl or both", key=key)
        outputs.append(
            OutputConfig(
                node=node,
                zmq=zmq_ep,
                lsl=outlet,
                max_queue_bytes=max(1, int(queue_mb * 2**20)),
            )
        )
    record = parse_record(
        raw.get("record"),
        base_dir=base_dir,
        inputs=[i.name for i in inputs],
        nodes=[n.name for n in nodes],
    )
    return PipelineConfig(
        name=name,
        inputs=tuple(inputs),
        nodes=tuple(nodes),
        outputs=tuple(outputs),
        source=source,
        record=record,
        metrics=metrics,
        max_queue_mb=max_queue_mb,
        security=security,
        insecure=insecure,
        max_load=float(max_load),
    )


def default_metrics_endpoint(pipeline: str) -> str:
    """Return where a pipeline publishes ``metrics.<pipeline>`` unless its file says otherwise."""
    return f"ipc:///tmp/bci-bridge-{pipeline}-metrics"


def _positive(table: Mapping[str, Any], name: str, key: str, default: Any) -> Any:
    value = table.get(name, default)
    if value is default:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"must be a positive number, got {value!r}", key=f"{key}.{name}")
    return float(value)


def _positive_ms(value: Any, key: str) -> float:
    """Return ``value`` as a positive, finite number of milliseconds, or name ``key``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigError(f"must be a positive number of ms, got {value!r}", key=key)
    return float(value)


def _isolation(t: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Read a node's ``isolation`` and ``deadline_ms`` (see :mod:`runtime.isolated`)."""
    isolation = t.get("isolation", "inline")
    if isolation not in ("inline", "process"):
        raise ConfigError(
            f"must be 'inline' or 'process', got {isolation!r}", key=f"{key}.isolation"
        )
    deadline = t.get("deadline_ms")
    if deadline is not None:
        if isolation != "process":
            raise ConfigError("applies only with isolation = 'process'", key=f"{key}.deadline_ms")
        deadline = _positive_ms(deadline, f"{key}.deadline_ms")
    if isolation == "process" and "markers" in t:
        raise ConfigError(
            "an isolated node takes no markers (use isolation = 'inline')", key=f"{key}.markers"
        )
    return {"isolation": isolation, "deadline_ms": deadline}


def _fan_in(t: Mapping[str, Any], key: str, known: Mapping[str, str]) -> dict[str, Any]:
    """Read a node's ``inputs``, ``align_tolerance_ms`` and ``align_max_mb`` (runtime/fan_in.py)."""
    sources = t.get("inputs")
    if sources is None:
        for name in ("align_tolerance_ms", "align_max_mb"):
            if name in t:
                raise ConfigError(
                    "applies only to a fan-in node (with inputs)", key=f"{key}.{name}"
                )
        return {"inputs": ()}
    if "input" in t:
        raise ConfigError(
            "give input (one source) or inputs (fan-in), not both", key=f"{key}.inputs"
        )
    if (
        not isinstance(sources, list)
        or len(sources) < 2
        or not all(isinstance(s, str) for s in sources)
    ):
        raise ConfigError(
            f"must list two or more inputs or earlier nodes by name, got {sources!r}",
            key=f"{key}.inputs",
        )
    for i, src in enumerate(sources):
        if src not in known:
            raise ConfigError(
                f"{src!r} is not an input or an earlier node; known: {', '.join(known)}",
                key=f"{key}.inputs[{i}]",
            )
        if src in sources[:i]:
            raise ConfigError(f"{src!r} is listed twice", key=f"{key}.inputs[{i}]")
    tolerance = t.get("align_tolerance_ms")
    if tolerance is not None:
        tolerance = _positive_ms(tolerance, f"{key}.align_tolerance_ms")
    return {
        "inputs": tuple(sources),
        "align_tolerance_ms": tolerance,
        "align_max_mb": _positive(t, "align_max_mb", key, 1.0),
    }


def _prewarm_ms(t: Mapping[str, Any], key: str, plugin: type[Any], module: str) -> float:
    """Read a node's ``prewarm_ms`` (see :mod:`runtime.prewarm`); 0 when not given."""
    if "prewarm_ms" not in t:
        return 0.0
    value = _positive_ms(t["prewarm_ms"], f"{key}.prewarm_ms")
    if not callable(getattr(plugin, "prewarm", None)):
        raise ConfigError(
            f"module {module!r} cannot be prewarmed (it has no prewarm method: a throw-away run "
            "that leaves its state as it was)",
            key=f"{key}.prewarm_ms",
        )
    if t.get("isolation", "inline") != "inline":
        raise ConfigError("applies only with isolation = 'inline'", key=f"{key}.prewarm_ms")
    return value


def _resolve_paths(config_cls: type[Any], params: dict[str, Any], base_dir: Path | None) -> None:
    for f in dataclasses.fields(config_cls):
        value = params.get(f.name)
        if f.metadata.get("path") and isinstance(value, str) and value:
            p = Path(value).expanduser()
            if not p.is_absolute():
                p = (base_dir or Path.cwd()) / p
            params[f.name] = str(p)


def _only(table: Mapping[str, Any], allowed: set[str], key: str) -> None:
    for k in table:
        if k not in allowed:
            where = f"{key}.{k}" if key else k
            raise ConfigError(
                f"unknown key; expected one of: {', '.join(sorted(allowed))}", key=where
            )


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"must be a table, got {type(value).__name__}", key=key)
    return value


def _list(raw: Mapping[str, Any], name: str, *, required: bool) -> list[Any]:
    value = raw.get(name, [])
    if not isinstance(value, list):
        raise ConfigError(f"must be an array of tables ([[{name}]])", key=name)
    if required and not value:
        raise ConfigError(f"at least one [[{name}]] is required", key=name)
    return value


def _str(table: Mapping[str, Any], name: str, key: str, *, required: bool = False) -> str:
    value = table.get(name, "")
    if not isinstance(value, str):
        raise ConfigError(f"must be a string, got {value!r}", key=f"{key}.{name}")
    if required and not value:
        raise ConfigError("required key is missing", key=f"{key}.{name}")
    if value and name == "name" and not _NAME.match(value):
        raise ConfigError(f"{value!r}: use letters, digits, '_' and '-'", key=f"{key}.{name}")
    return value


def _unique(name: str, known: dict[str, str], key: str) -> None:
    if name in known:
        raise ConfigError(f"{name!r} is already used by {known[name]}", key=key)
    known[name] = key
