"""``bci-bridge run --check``: check everything about a pipeline that can be checked without data.

Loading the file already validates every key (:func:`bci_bridge.config.load_pipeline`). Then,
without any stream:

- every input endpoint is well formed, with a valid port and a host that resolves;
- every ZeroMQ output endpoint can be bound here and now (not in use, an address of this
  machine), then released;
- no input, output or metrics endpoint is off loopback without CURVE keys (unless
  ``--insecure`` or ``insecure = true``); the key files themselves were loaded with the file;
- every module is prepared on the stream it would get, where that stream can be known without
  data: an input that feeds an ONNX window model with a manifest (``bci-bridge train`` writes
  one) is assumed to carry the manifest's rate and, after the nearest ``pick`` node, its
  channels; so the model is loaded, its declared input checked against the stream, channel
  names and rate against the manifest, and filter bands against the Nyquist frequency;
- a model whose stream cannot be known is still loaded and checked on its own (missing,
  empty or corrupt file, a non-float input, a wrong rank or batch);
- the load the nodes put on the runtime's thread (:mod:`runtime.cost_model`), measured as at
  prepare, when every input's stream is known (from a manifest, or ``--assume-input``): more
  than ``[pipeline] max_load`` is a problem, as it is at prepare.

Each problem is one line naming the file and the node or key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zmq

from bci_bridge.config import NodeConfig, PipelineConfig
from bci_bridge.curve_config import transport_problems
from bci_bridge.endpoints import bind, check_endpoint
from bci_bridge.errors import BciBridgeError, ConfigError
from bci_bridge.stream import StreamInfo
from runtime.cost_model import estimate_load
from runtime.fan_in import combined_info

__all__ = ["check_pipeline"]

_FLOAT_INPUT = "tensor(float)"


def check_pipeline(
    pipeline: PipelineConfig,
    assume: tuple[int, float] | None = None,
    *,
    insecure: bool = False,
) -> tuple[list[str], list[str]]:
    """Check a loaded pipeline without data.

    Parameters
    ----------
    pipeline : PipelineConfig
        The validated pipeline.
    assume : (int, float), optional
        ``(channels, rate in Hz)`` of every input whose stream no manifest tells
        (``run --check --assume-input CHANNELSxHZ``): its modules are prepared on it and the
        load is estimated.
    insecure : bool
        ``run --insecure``: plain TCP off loopback is allowed.

    Returns
    -------
    problems : list of str
        One line per problem, naming the file and the key or node; empty if none.
    notes : list of str
        What was checked, and what was assumed to check it.
    """
    problems: list[str] = []
    notes: list[str] = []
    src = pipeline.source
    refused = transport_problems(pipeline, insecure=insecure)
    problems += [str(exc) for exc in refused]
    # A refused wildcard is not bound to see whether it could be: that would open every
    # interface, which is what was just refused (a plain address off loopback is tried: its
    # bind fails unless the address is this machine's).
    refused_keys = {exc.key for exc in refused}
    if pipeline.security.server is not None:
        notes.append("outputs and metrics serve CURVE (keys loaded)")
    for i, inp in enumerate(pipeline.inputs):
        if inp.endpoint is not None:
            _collect(problems, src, lambda e=inp.endpoint, k=f"inputs[{i}].endpoint": _input(e, k))
    ctx = zmq.Context()
    try:
        for i, out in enumerate(pipeline.outputs):
            key = f"outputs[{i}].zmq"
            if out.zmq is not None and not (key in refused_keys and _wildcard(out.zmq)):
                _collect(
                    problems, src, lambda e=out.zmq, k=f"outputs[{i}].zmq": _bindable(ctx, e, k)
                )
    finally:
        ctx.term()
    infos: dict[str, StreamInfo | None] = {}
    combined: dict[str, StreamInfo] = {}  # fan-in nodes' sources side by side
    for inp in pipeline.inputs:
        info = _assumed_info(pipeline, inp.name, inp.stream)
        if info is None and assume is not None:
            channels, rate = assume
            names = tuple(f"ch{i}" for i in range(channels))
            info = StreamInfo(name=inp.stream, channel_names=names, sfreq=rate)
            notes.append(
                f"input {inp.name!r} assumed {channels} ch at {rate:g} Hz (--assume-input)"
            )
        elif info is not None:
            notes.append(
                f"input {inp.name!r} assumed {info.n_channels} ch {list(info.channel_names)} "
                f"at {info.sfreq:g} Hz (from the model's manifest)"
            )
        infos[inp.name] = info
    for i, node in enumerate(pipeline.nodes):
        upstream = infos.get(node.input)
        key = f"node {node.name!r}"
        if node.inputs:  # fan-in: the sources side by side, when all of them are known
            sources = [infos.get(s) for s in node.inputs]
            try:
                upstream = (
                    combined_info(node.name, node.inputs, [s for s in sources if s is not None])
                    if all(sources)
                    else None
                )
                if upstream is not None:
                    combined[node.name] = upstream
            except ConfigError as exc:
                infos[node.name] = None
                problems.append(str(exc.within(key=f"nodes[{i}]", file=src)))
                continue
        try:
            if upstream is not None:
                infos[node.name] = node.plugin(node.config).prepare(upstream)
                notes.append(f"{key} prepared")
            else:
                infos[node.name] = None
                if _model_path(node) is not None:
                    _check_model_alone(node)
                    notes.append(f"{key}: model loaded (its stream is unknown without data)")
        except BciBridgeError as exc:
            infos[node.name] = None
            problems.append(_render(exc, key, src))
        except Exception as exc:  # a plugin's own error type: still one line, with its node
            infos[node.name] = None
            problems.append(f"{src}: {key}: prepare() failed: {type(exc).__name__}: {exc}")
    _check_load(pipeline, infos, combined, problems, notes)
    return problems, notes


def _check_load(
    pipeline: PipelineConfig,
    infos: dict[str, StreamInfo | None],
    combined: dict[str, StreamInfo],
    problems: list[str],
    notes: list[str],
) -> None:
    """Estimate the runtime thread's load as prepare does; a load over max_load is a problem."""
    if pipeline.max_load <= 0:
        notes.append("load: not checked (max_load = 0)")
        return
    known = {name: info for name, info in infos.items() if info is not None}
    if len(known) < len(infos):
        notes.append(
            "load: not estimated: a stream is unknown without data (give --assume-input "
            "CHANNELSxHZ); it is measured at prepare"
        )
        return
    estimate = estimate_load(pipeline.nodes, known, pipeline.max_load, combined)
    notes += [f"load: {line}" for line in estimate.describe().splitlines()]
    if estimate.total > pipeline.max_load:
        problems.append(
            f"{pipeline.source}: pipeline.max_load: this pipeline cannot keep up: its nodes need "
            f"{estimate.total:.3g} core(s) of the runtime's thread, more than max_load = "
            f"{pipeline.max_load:g} (fixes: fewer channels, decimate first, a lighter filter, "
            "isolate the heaviest node):\n  " + "\n  ".join(n.describe() for n in estimate.nodes)
        )


def _collect(problems: list[str], src: str, check: Any) -> None:
    try:
        check()
    except ConfigError as exc:
        problems.append(str(exc.within(file=src)))


def _render(exc: BciBridgeError, key: str, src: str) -> str:
    if isinstance(exc, ConfigError):
        return str(exc.within(key=key, file=src))
    return f"{src}: {key}: {exc}"


def _wildcard(endpoint: str) -> bool:
    host = endpoint.partition("://")[2].rpartition(":")[0]
    return host.strip("[]") in ("*", "0.0.0.0", "::")


def _input(endpoint: str, key: str) -> None:
    check_endpoint(endpoint, for_bind=False, key=key)


def _bindable(ctx: zmq.Context[Any], endpoint: str, key: str) -> None:
    sock = ctx.socket(zmq.XPUB)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        bind(sock, endpoint, key=key)
    finally:
        sock.close(linger=0)


def _model_path(node: NodeConfig) -> Path | None:
    names = {f.name for f in dataclasses.fields(node.config)}
    value = getattr(node.config, "model", None) if "model" in names else None
    return Path(value) if isinstance(value, str) and value.endswith(".onnx") else None


def _chain(pipeline: PipelineConfig, start: str) -> Iterator[NodeConfig]:
    """Yield the nodes fed (directly or not) by ``start``, in pipeline order."""
    fed = {start}
    for node in pipeline.nodes:
        if node.input in fed and not node.inputs:  # a fan-in node's stream is not start's
            fed.add(node.name)
            yield node


def _assumed_info(pipeline: PipelineConfig, input_name: str, stream: str) -> StreamInfo | None:
    """Describe the input as the manifest of a window model downstream does, if any."""
    picked: tuple[str, ...] = ()
    for node in _chain(pipeline, input_name):
        channels = getattr(node.config, "channels", None)
        if node.module == "pick" and not picked and isinstance(channels, tuple):
            picked = channels
        path = _model_path(node)
        if path is None or not path.is_file():
            continue
        from decoders.manifest import read_manifest  # onnx: only with a model file

        try:
            manifest = read_manifest(path)
        except BciBridgeError:
            continue  # the node's own check reports it
        if manifest is None or manifest.get("input") != "window" or not manifest.get("sfreq"):
            continue
        names = picked or tuple(manifest["channel_names"])
        return StreamInfo(name=stream, channel_names=names, sfreq=float(manifest["sfreq"]))
    return None


def _check_model_alone(node: NodeConfig) -> None:
    """Load a model whose input stream is unknown; check what needs no stream."""
    path = _model_path(node)
    assert path is not None
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}", key="model")
    if path.stat().st_size == 0:
        raise ConfigError(f"model file is empty: {path}", key="model")
    import onnxruntime as ort  # only a pipeline with a model file needs these

    from decoders.manifest import read_manifest

    read_manifest(path)  # not ONNX, or a broken manifest: ModelError
    try:
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ConfigError(f"onnxruntime cannot load {path}: {exc}", key="model") from None
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ConfigError(
            f"{path} has {len(inputs)} inputs; the onnx module feeds one", key="model"
        )
    got = inputs[0]
    if got.type != _FLOAT_INPUT:
        raise ConfigError(
            f"input {got.name!r} of {path} is {got.type}; the onnx module feeds float32 "
            f"({_FLOAT_INPUT})",
            key="model",
        )
    if len(got.shape) not in (2, 3):
        raise ConfigError(
            f"input {got.name!r} of {path} has rank {len(got.shape)} (shape {got.shape}); "
            "the onnx module feeds rank 2 or 3",
            key="model",
        )
