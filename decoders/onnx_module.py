"""Run any ONNX model on a stream through onnxruntime: per-sample feature models or window models.

Two kinds of model are accepted, told apart by the rank of their float32 input:

- **features** models take (batch, n_features), with a dynamic batch axis and ``n_features``
  equal to the input stream's channel count; each chunk is one batch, each sample gives one
  output row with its own timestamp;
- **window** models take (batch, n_channels, n_samples), batch dynamic or 1 and ``n_samples``
  fixed: a window of the stream, channels first. With ``trigger = "chunk"`` each input chunk
  holds whole epochs of ``n_samples`` samples (from the ``epoch`` module) and each epoch gives
  one row; with ``trigger = "hop"`` a ring keeps the last ``n_samples`` samples and, once full,
  the model runs every ``hop`` samples. Each row is stamped with its window's newest sample.
  The sliding window is kept channels first (:class:`~decoders.ring.ChannelsFirstRing`), so
  each run copies one contiguous block into the model's input buffer.

The model reads and writes preallocated buffers bound once (:mod:`decoders.onnx_binding`): in
steady state ``step`` allocates only the array it returns.

The output is a rank-2 float tensor (batch, n_outputs). A model made by ``bci-bridge train``
carries a manifest (:mod:`decoders.manifest`); it is checked against the live stream (channel
names and order, units, sample rate, window length) and gives the class names. A stream in
other voltage units than the model's (volts into a microvolt model) is refused, unless the
node sets ``scale = "auto"``: then each chunk is multiplied into a preallocated buffer first.
Models are checked when the pipeline is prepared, and refused with a
:class:`~bci_bridge.errors.ModelError` that says what is wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget
from decoders.manifest import KEY as MANIFEST_KEY
from decoders.manifest import parse_manifest
from decoders.onnx_binding import OUTPUT_DTYPES, BoundRun
from decoders.unit_check import unit_factors
from decoders.windowing import Windows

__all__ = ["OnnxModule", "OnnxModuleConfig"]

#: Output element types accepted (converted to float32).
_FLOAT_OUTPUTS = tuple(OUTPUT_DTYPES)
#: Zero-input runs in prepare(), so that the first real chunk pays no first-call costs.
_WARMUP_RUNS = 3
#: Relative difference of sample rates tolerated between a manifest and the stream.
_RATE_TOLERANCE = 1e-6


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
        Names of the output columns; empty: the manifest's ``classes``, else the model's
        ``classes`` metadata entry (comma-separated), else ``out0``, ``out1``...
    trigger : {"chunk", "hop"}
        Window models only: ``"chunk"`` runs once per epoch of each input chunk, ``"hop"``
        every ``hop`` samples over a sliding window.
    hop : int
        Window models with ``trigger = "hop"``: samples between runs, >= 1.
    scale : {"none", "auto"}
        ``"auto"``: convert a stream in other voltage units than the model's manifest states
        (e.g. volts to microvolts) by multiplying each sample; ``"none"``: refuse such a
        stream at prepare.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    model: str = field(metadata={"path": True})
    input_name: str = ""
    output_name: str = ""
    threads: int = 1
    class_names: tuple[str, ...] = ()
    trigger: Literal["chunk", "hop"] = "chunk"
    hop: int = 1
    scale: Literal["none", "auto"] = "none"
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
        if self.trigger not in ("chunk", "hop"):
            raise ConfigError(f"must be 'chunk' or 'hop', got {self.trigger!r}", key="trigger")
        if isinstance(self.hop, bool) or not isinstance(self.hop, int) or self.hop < 1:
            raise ConfigError(f"must be an integer >= 1 (samples), got {self.hop!r}", key="hop")
        if self.scale not in ("none", "auto"):
            raise ConfigError(f"must be 'none' or 'auto', got {self.scale!r}", key="scale")
        if self.hop != 1 and self.trigger != "hop":
            raise ConfigError("applies only with trigger = 'hop'", key="hop")
        check_budget(self.budget_ms)


class OnnxModule:
    """A generic ONNX decoder (see the module docs for the two kinds of model).

    Input: shape (n_samples, n_channels), any dtype (converted to float32). Output: stream
    type ``Decoder``, float32, shape (n_rows, n_outputs), channels named after the classes.
    Features models: one row per sample, same rate and timestamps as the input. Window
    models: one row per epoch (irregular rate) or per hop (``sfreq / hop`` Hz), stamped with
    the newest sample of its window.
    """

    Config = OnnxModuleConfig

    __slots__ = (
        "_bound",
        "_config",
        "_factors",
        "_feed",
        "_fetch",
        "_fill",
        "_n_features",
        "_n_outputs",
        "_out_dtype",
        "_rows_in",
        "_rows_out",
        "_scaled",
        "_session",
        "_spread",
        "_window",
        "_windows",
        "_x",
    )

    def __init__(self, config: OnnxModuleConfig) -> None:
        self._config = config
        self._session: ort.InferenceSession | None = None
        self._bound: BoundRun | None = None
        self._out_dtype: np.dtype[Any] = np.dtype(np.float32)
        # Features models: input and output rows for the longest chunk so far.
        self._rows_in: npt.NDArray[np.float32] = np.empty((0, 0), dtype=np.float32)
        self._rows_out: npt.NDArray[Any] = np.empty((0, 0), dtype=np.float32)
        self._feed = ""
        self._fetch: list[str] = []
        self._n_features = 0
        self._n_outputs = 0
        self._window = 0  # samples per window; 0: a features model
        self._windows = Windows("the window model")
        self._x: npt.NDArray[np.float32] = np.empty((1, 0, 0), dtype=np.float32)
        self._fill = self._fill_window
        self._factors: npt.NDArray[np.float32] | None = None  # stream units -> model units
        self._scaled: npt.NDArray[np.float32] = np.empty((0, 0), dtype=np.float32)
        self._spread: npt.NDArray[np.float32] = np.empty((0, 0), dtype=np.float32)  # factors

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Load and check the model against the input, create the session and warm it up.

        Parameters
        ----------
        info : StreamInfo
            The input stream; its channel count must equal the model's feature or channel
            dimension, and it must match the model's manifest, if any.

        Returns
        -------
        StreamInfo
            The decoder's output stream (see class docs).

        Raises
        ------
        ModelError
            If the file is missing or not a valid ONNX model, its input or output does not
            fit, or its manifest does not match the stream; the message says which and why.
        ConfigError
            If ``trigger = "hop"`` is set for a features model.
        """
        cfg = self._config
        path = Path(cfg.model)
        _check_file(path)
        session = _open_session(path, cfg.threads)
        self._feed, window = _pick_input(session, cfg.input_name, info, path)
        out = _pick_output(session, cfg.output_name, path)
        manifest = _manifest(session, path)
        if not window and cfg.trigger == "hop":
            raise ConfigError(
                f"trigger = 'hop' applies to window models (rank-3 input); {path} takes "
                "(batch, n_features)",
                key="trigger",
            )
        self._factors = None
        if manifest is not None:
            _check_manifest(manifest, info, window, path)
            self._factors = unit_factors(
                manifest.get("units", ()), info, auto=cfg.scale == "auto", path=path
            )
            if self._factors is not None:
                self._scaled = np.empty((64, info.n_channels), dtype=np.float32)
                self._spread = np.empty_like(self._scaled)
                self._spread[...] = self._factors
        self._fetch = [out]
        self._session = session
        self._bound = BoundRun(session, self._feed, out)
        self._out_dtype = OUTPUT_DTYPES[_output_type(session, out)]
        self._n_features = info.n_channels
        self._window = window
        rate = info.sfreq
        if window:
            self._x = np.zeros((1, info.n_channels, window), dtype=np.float32)
            n_outputs = _warm_up_window(session, self._feed, out, self._x, path)
            hop = cfg.hop if cfg.trigger == "hop" else 0
            self._windows.set(window, hop, info.n_channels, channels_first=True, dtype=np.float32)
            self._bound.bind(self._x, np.empty((1, n_outputs), dtype=self._out_dtype))
            rate = info.sfreq / hop if hop else 0.0
        else:
            n_outputs = _warm_up(session, self._feed, out, info.n_channels, path)
            self._rows_in = np.zeros((64, info.n_channels), dtype=np.float32)
            self._rows_out = np.empty((64, n_outputs), dtype=self._out_dtype)
            self._bind_rows(64, n_outputs)
        self._n_outputs = n_outputs
        given = cfg.class_names
        if not given and manifest is not None:
            given = tuple(manifest["classes"])
            if len(given) != n_outputs:
                raise ModelError(
                    f"{path}: manifest lists {len(given)} classes {list(given)} but the model "
                    f"emits {n_outputs} columns",
                    key="model",
                )
        names = _class_names(given, session, n_outputs, path)
        return info.renamed(type="Decoder", channel_names=names, sfreq=rate, dtype="float32")

    def step(self, chunk: Chunk) -> Chunk | None:
        """Run the model on the chunk (see class docs).

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels); for window models with
            ``trigger = "chunk"``, ``n_samples`` is a whole number of windows.

        Returns
        -------
        Chunk or None
            Shape (n_rows, n_outputs) float32, a fresh array, seq of the input; ``None`` for
            an empty chunk or when no window completed.

        Raises
        ------
        ValueError
            Window models, ``trigger = "chunk"``: if the chunk is not whole windows.
        """
        data = chunk.data
        if data.shape[0] == 0:
            return None
        if self._factors is not None:
            chunk = self._scale(chunk, self._factors)
            data = chunk.data
        if self._window:
            return self._windows.run(chunk, self._n_outputs, self._fill)
        bound = self._bound
        assert bound is not None, "prepare() first"
        n = data.shape[0]
        if n != bound.x.shape[0]:
            self._bind_rows(n, self._n_outputs)
        np.copyto(bound.x, data, casting="unsafe")
        bound.run()
        y = np.empty(bound.y.shape, dtype=np.float32)  # fresh: the bound buffer is reused
        np.copyto(y, bound.y)
        return Chunk(y, chunk.timestamps, chunk.seq)

    def prewarm(self) -> None:
        """Run the model once on its bound buffers, output discarded (see runtime.prewarm).

        The input buffer holds the last input (zeros before any) and every step writes the
        input buffer before it runs and reads the output buffer after: nothing a step returns
        changes. A low-rate decoder's step then finds onnxruntime's code and data in the
        CPU's caches.
        """
        bound = self._bound
        assert bound is not None, "prepare() first"
        bound.run()

    def _scale(self, chunk: Chunk, factors: npt.NDArray[np.float32]) -> Chunk:
        """Multiply the chunk by the unit factors into the preallocated float32 buffer.

        The buffer grows only when a chunk is longer than any before; the result is read
        within this ``step`` call only (copied into the ring or fed to the model).
        """
        n = chunk.data.shape[0]
        if n > self._scaled.shape[0]:
            self._scaled = np.empty((n, self._scaled.shape[1]), dtype=np.float32)
            self._spread = np.empty_like(self._scaled)
            self._spread[...] = factors
        out = self._scaled[:n]
        # Equal shapes and dtypes: numpy 2 would buffer a broadcast ``factors`` or a cast.
        np.copyto(out, chunk.data, casting="unsafe")
        np.multiply(out, self._spread[:n], out=out)
        return Chunk(out, chunk.timestamps, chunk.seq)

    def _bind_rows(self, n: int, n_outputs: int) -> None:
        """Features models: bind the first ``n`` rows of the row buffers (grown if needed).

        A chunk of another length than the last one rebinds (a few microseconds, nothing
        allocated unless the chunk is the longest yet); steady chunk sizes bind once.
        """
        assert self._bound is not None
        if n > self._rows_in.shape[0]:
            self._rows_in = np.zeros((n, self._n_features), dtype=np.float32)
            self._rows_out = np.empty((n, n_outputs), dtype=self._out_dtype)
        self._bound.bind(self._rows_in[:n], self._rows_out[:n])

    def _fill_window(self, window: npt.NDArray[Any], row: npt.NDArray[np.float32]) -> None:
        """Run the model on one window (n_channels, n_samples): a ring view or an epoch."""
        bound = self._bound
        assert bound is not None
        bound.x[0] = window
        bound.run()
        row[:] = bound.y[0]


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


def _pick_input(
    session: ort.InferenceSession, name: str, info: StreamInfo, path: Path
) -> tuple[str, int]:
    """Choose and check the model input; return its name and window length (0: features)."""
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
            "a single float tensor, (batch, n_features) or (batch, n_channels, n_samples)",
            key="model",
        )
    where = f"input {chosen.name!r} of {path}"
    if chosen.type != "tensor(float)":
        raise ModelError(
            f"{where} is {chosen.type}; this module feeds float32 (tensor(float))", key="model"
        )
    shape = list(chosen.shape)
    if len(shape) not in (2, 3):
        raise ModelError(
            f"{where} has rank {len(shape)} (shape {shape}); this module feeds rank 2, "
            "(batch, n_features), or rank 3, (batch, n_channels, n_samples)",
            key="model",
        )
    batch, n_features = shape[0], shape[1]
    if len(shape) == 2 and isinstance(batch, int):
        raise ModelError(
            f"{where} has a fixed batch size of {batch}; this module feeds chunks of any "
            "length, so export the model with a dynamic first axis",
            key="model",
        )
    if len(shape) == 3 and isinstance(batch, int) and batch != 1:
        raise ModelError(
            f"{where} has a fixed batch size of {batch}; this module feeds one window at a "
            "time, so export it with batch 1 or a dynamic first axis",
            key="model",
        )
    if isinstance(n_features, int) and n_features != info.n_channels:
        what = "features per sample" if len(shape) == 2 else "channels per window"
        raise ModelError(
            f"{where} takes {n_features} {what}, but stream {info.name!r} has "
            f"{info.n_channels} channels",
            key="model",
        )
    if len(shape) == 3 and not (isinstance(shape[2], int) and shape[2] > 0):
        raise ModelError(
            f"{where} has a window of {shape[2]!r} samples (shape {shape}); a window model "
            "needs a fixed number of samples on its last axis",
            key="model",
        )
    window = shape[2] if len(shape) == 3 else 0
    assert isinstance(window, int)
    return str(chosen.name), window


def _output_type(session: ort.InferenceSession, name: str) -> str:
    return str(next(o.type for o in session.get_outputs() if o.name == name))


def _manifest(session: ort.InferenceSession, path: Path) -> dict[str, Any] | None:
    text = session.get_modelmeta().custom_metadata_map.get(MANIFEST_KEY)
    return None if text is None else parse_manifest(text, str(path))


def _check_manifest(manifest: dict[str, Any], info: StreamInfo, window: int, path: Path) -> None:
    """Refuse a stream that is not what the model was trained on; say exactly what differs."""
    kind = "window" if window else "features"
    if manifest["input"] != kind:
        raise ModelError(
            f"{path}: manifest says input {manifest['input']!r} but the model takes a "
            f"{kind} input (rank {3 if window else 2})",
            key="model",
        )
    expected = list(manifest["channel_names"])
    got = list(info.channel_names)
    if expected != got:
        missing = [c for c in expected if c not in got]
        extra = [c for c in got if c not in expected]
        parts = []
        if missing:
            parts.append(f"missing {missing}")
        if extra:
            parts.append(f"extra {extra}")
        if not parts:
            parts.append("same channels in another order")
        raise ModelError(
            f"{path} was trained on channels {expected}, but stream {info.name!r} has {got}: "
            f"{'; '.join(parts)} (add a pick node to select and order them)",
            key="model",
        )
    if not window:
        return
    rate = float(manifest["sfreq"])
    if not math.isclose(rate, info.sfreq, rel_tol=_RATE_TOLERANCE):
        raise ModelError(
            f"{path} was trained at {rate:g} Hz, but stream {info.name!r} is sampled at "
            f"{info.sfreq:g} Hz",
            key="model",
        )
    if manifest["window_samples"] != window:
        raise ModelError(
            f"{path}: manifest says windows of {manifest['window_samples']} samples, but the "
            f"model's input takes {window}",
            key="model",
        )


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


def _warm_up_window(
    session: ort.InferenceSession, feed: str, fetch: str, x: npt.NDArray[np.float32], path: Path
) -> int:
    """Run a window model on zeros of shape ``x.shape``; check one row out; return n_outputs."""
    shape: tuple[int, ...] = ()
    for _ in range(1 + _WARMUP_RUNS):
        try:
            y = session.run([fetch], {feed: x})[0]
        except Exception as exc:  # onnxruntime's own error types
            raise ModelError(
                f"{path} fails on a zero input of shape {x.shape}: {exc}", key="model"
            ) from exc
        shape = tuple(np.shape(y))
        if len(shape) != 2 or shape[0] != 1:
            raise ModelError(
                f"output {fetch!r} of {path} has shape {shape} for one window; it must give "
                "one row per window, (1, n_outputs)",
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
