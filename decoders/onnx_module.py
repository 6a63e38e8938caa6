"""Run any ONNX model on a stream, one output row per input sample, through onnxruntime.

The model takes a float32 tensor of shape (batch, n_features), with a dynamic batch axis and
``n_features`` equal to the input stream's channel count, and gives a rank-2 float tensor of
shape (batch, n_outputs). Each chunk is one batch. Models are checked when the pipeline is
prepared, and refused with a :class:`~bci_bridge.errors.ModelError` that says what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget

__all__ = ["OnnxModule", "OnnxModuleConfig"]

#: Output element types accepted (converted to float32).
_FLOAT_OUTPUTS = ("tensor(float)", "tensor(double)", "tensor(float16)")
#: Zero-input runs in prepare(), so that the first real chunk pays no first-call costs.
_WARMUP_RUNS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class OnnxModuleConfig:
    """Settings of :class:`OnnxModule`.

    Parameters
    ----------
    model : str
        Path of the ``.onnx`` file (a pipeline file resolves it against its own folder).
    input_name : str
        The model input to feed; empty: the model's only input.
    output_name : str
        The model output to emit; empty: its first output.
    threads : int
        onnxruntime intra-op threads, >= 1.
    class_names : tuple of str
        Names of the output columns; empty: the model's ``classes`` metadata entry
        (comma-separated), else ``out0``, ``out1``...
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    model: str = field(metadata={"path": True})
    input_name: str = ""
    output_name: str = ""
    threads: int = 1
    class_names: tuple[str, ...] = ()
    budget_ms: float = 1.0

    def __post_init__(self) -> None:
        if not self.model:
            raise ConfigError("needs the path of an .onnx file", key="model")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int):
            raise ConfigError(f"must be an integer, got {self.threads!r}", key="threads")
        if self.threads < 1:
            raise ConfigError(f"must be >= 1, got {self.threads}", key="threads")
        if len(set(self.class_names)) != len(self.class_names) or not all(self.class_names):
            raise ConfigError(
                f"names must be unique and non-empty, got {self.class_names!r}", key="class_names"
            )
        check_budget(self.budget_ms)


class OnnxModule:
    """A generic ONNX decoder: each input sample is a feature vector, each output a row.

    Input: shape (n_samples, n_features), any dtype (converted to float32). Output: stream
    type ``Decoder``, float32, shape (n_samples, n_outputs), channels named after the classes,
    same rate and timestamps as the input.
    """

    Config = OnnxModuleConfig

    __slots__ = (
        "_cast_input",
        "_config",
        "_feed",
        "_fetch",
        "_n_features",
        "_run",
        "_session",
    )

    def __init__(self, config: OnnxModuleConfig) -> None:
        self._config = config
        self._session: ort.InferenceSession | None = None
        self._run: Any = None
        self._feed = ""
        self._fetch: list[str] = []
        self._n_features = 0
        self._cast_input = False

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Load and check the model against the input, create the session and warm it up.

        Parameters
        ----------
        info : StreamInfo
            The input stream; its channel count must equal the model's feature dimension.

        Returns
        -------
        StreamInfo
            The decoder's output stream (see class docs).

        Raises
        ------
        ModelError
            If the file is missing or not a valid ONNX model, or its input or output does not
            fit (see the module docs); the message says which and why.
        """
        cfg = self._config
        path = Path(cfg.model)
        _check_file(path)
        session = _open_session(path, cfg.threads)
        self._feed = _pick_input(session, cfg.input_name, info, path)
        out = _pick_output(session, cfg.output_name, path)
        self._fetch = [out]
        self._session = session
        self._run = session.run
        self._n_features = info.n_channels
        self._cast_input = info.dtype != "float32"

        n_outputs = _warm_up(session, self._feed, out, info.n_channels, path)
        names = _class_names(cfg.class_names, session, n_outputs, path)
        return info.renamed(type="Decoder", channel_names=names, dtype="float32")

    def step(self, chunk: Chunk) -> Chunk | None:
        """Run the model on every sample of the chunk, as one batch.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_features).

        Returns
        -------
        Chunk or None
            Shape (n_samples, n_outputs) float32, with the input's timestamps and seq;
            ``None`` for an empty chunk.
        """
        data = chunk.data
        if data.shape[0] == 0:
            return None
        if self._cast_input:
            data = data.astype(np.float32)
        y = self._run(self._fetch, {self._feed: data})[0]
        if y.dtype != np.float32:
            y = y.astype(np.float32)
        return Chunk(y, chunk.timestamps, chunk.seq)


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}", key="model")
    try:
        onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError, others for truncated files
        raise ModelError(f"{path} is not an ONNX model file ({exc})", key="model") from exc
    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:  # onnx.checker.ValidationError and friends
        raise ModelError(f"{path} fails the ONNX checker: {exc}", key="model") from exc


def _open_session(path: Path, threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ModelError(f"onnxruntime cannot load {path}: {exc}", key="model") from exc


def _pick_input(session: ort.InferenceSession, name: str, info: StreamInfo, path: Path) -> str:
    inputs = {i.name: i for i in session.get_inputs()}
    listed = ", ".join(repr(n) for n in inputs) or "none"
    if name:
        if name not in inputs:
            raise ModelError(
                f"{path} has no input {name!r}; its inputs: {listed}", key="input_name"
            )
        chosen = inputs[name]
    elif len(inputs) == 1:
        chosen = next(iter(inputs.values()))
    elif not inputs:
        raise ModelError(f"{path} has no input", key="model")
    else:
        raise ModelError(
            f"{path} has {len(inputs)} inputs ({listed}); set input_name to the one to feed",
            key="input_name",
        )
    if len(inputs) > 1:
        others = ", ".join(repr(n) for n in inputs if n != chosen.name)
        raise ModelError(
            f"{path} also needs input(s) {others}, which this module cannot feed; it feeds "
            "a single (batch, n_features) float tensor",
            key="model",
        )
    where = f"input {chosen.name!r} of {path}"
    if chosen.type != "tensor(float)":
        raise ModelError(
            f"{where} is {chosen.type}; this module feeds float32 (tensor(float))", key="model"
        )
    shape = list(chosen.shape)
    if len(shape) != 2:
        raise ModelError(
            f"{where} has rank {len(shape)} (shape {shape}); this module feeds rank 2, "
            "(batch, n_features)",
            key="model",
        )
    batch, n_features = shape
    if isinstance(batch, int):
        raise ModelError(
            f"{where} has a fixed batch size of {batch}; this module feeds chunks of any "
            "length, so export the model with a dynamic first axis",
            key="model",
        )
    if isinstance(n_features, int) and n_features != info.n_channels:
        raise ModelError(
            f"{where} takes {n_features} features per sample, but stream {info.name!r} has "
            f"{info.n_channels} channels",
            key="model",
        )
    return str(chosen.name)


def _pick_output(session: ort.InferenceSession, name: str, path: Path) -> str:
    outputs = {o.name: o for o in session.get_outputs()}
    if name:
        if name not in outputs:
            listed = ", ".join(repr(n) for n in outputs)
            raise ModelError(
                f"{path} has no output {name!r}; its outputs: {listed}", key="output_name"
            )
        chosen = outputs[name]
    else:
        chosen = next(iter(outputs.values()))
    where = f"output {chosen.name!r} of {path}"
    if chosen.type not in _FLOAT_OUTPUTS:
        hint = (
            " (for scikit-learn, export with options={'zipmap': False})"
            if "map" in str(chosen.type)
            else ""
        )
        raise ModelError(
            f"{where} is {chosen.type}; this module emits a float tensor{hint}", key="model"
        )
    shape = list(chosen.shape)
    if len(shape) != 2:
        raise ModelError(
            f"{where} has rank {len(shape)} (shape {shape}); this module emits rank 2, "
            "(batch, n_outputs)",
            key="model",
        )
    return str(chosen.name)


def _warm_up(
    session: ort.InferenceSession, feed: str, fetch: str, n_features: int, path: Path
) -> int:
    """Run the model on zeros; check one output row per input row; return n_outputs."""
    shape: tuple[int, ...] = ()
    for batch in (4,) + (1,) * _WARMUP_RUNS:
        x = np.zeros((batch, n_features), dtype=np.float32)
        try:
            y = session.run([fetch], {feed: x})[0]
        except Exception as exc:  # onnxruntime's own error types
            raise ModelError(
                f"{path} fails on a zero input of shape {x.shape}: {exc}", key="model"
            ) from exc
        shape = tuple(np.shape(y))
        if len(shape) != 2 or shape[0] != batch:
            raise ModelError(
                f"output {fetch!r} of {path} has shape {shape} for an input of {batch} "
                f"rows; it must give one row per input row",
                key="model",
            )
    return shape[1]


def _class_names(
    given: tuple[str, ...], session: ort.InferenceSession, n_outputs: int, path: Path
) -> tuple[str, ...]:
    if given:
        if len(given) != n_outputs:
            raise ModelError(
                f"{len(given)} class names given, but the model emits {n_outputs} columns",
                key="class_names",
            )
        return given
    meta = session.get_modelmeta().custom_metadata_map.get("classes", "")
    if meta:
        names = tuple(n.strip() for n in meta.split(","))
        if len(names) != n_outputs or len(set(names)) != n_outputs or not all(names):
            raise ModelError(
                f"{path} metadata 'classes' lists {len(names)} names ({meta!r}) for "
                f"{n_outputs} output columns; fix it or set class_names",
                key="model",
            )
        return names
    return tuple(f"out{i}" for i in range(n_outputs))
