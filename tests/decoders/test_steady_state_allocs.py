"""Every built-in module's ``step`` allocates nothing but its output in steady state.

The modules are found through the ``bci_bridge.modules`` entry points (the registry), so a new
built-in is covered as soon as it is registered: with its default ``Config()`` if that
works, else the test fails asking for a case in ``CASES``.

Criterion: the blocks allocated by one ``step`` call, apart from the arrays it returns, are
~0, per call. It is measured with :mod:`tracemalloc` over ``N_STEPS`` calls after a warm-up
that fills every window and emits outputs (steady state), on 16 channels at 250 Hz, as three
checks (:func:`check_steady_state`):

1. **Transient**: within each call, the peak of traced memory above its level when the call
   returns is at most ``SLACK`` bytes. A temporary array freed before the call returns (index
   maths, a gather, a cast, a buffer numpy makes for a broadcast or strided operand) raises
   that peak by its size. One temporary of a chunk's size (``CHUNK`` samples x 16 channels,
   3200 bytes in float32) is above ``SLACK``, which leaves room only for bookkeeping: a few
   Python objects (array views, scalars), the iterator numpy builds for a reduction or a
   matmul (under 1 KiB) and ``numpy.fft``'s wrapper (about 1.4 KiB). Temporaries smaller
   than that (one value per channel) are below what this test can see.
2. **Kept per call**: what a call leaves allocated, minus the bytes of the new arrays its
   output owns (``Chunk.data``, and ``Chunk.timestamps`` unless it is the input's or a view
   of it), is at most ``SLACK`` bytes. The output arrays themselves are fresh per call: the
   module contract (:func:`bci_bridge.testing.check_module`, "no aliasing") forbids returning
   buffers that a later call overwrites, so no built-in returns a reused view.
3. **Survives or grows**: with the outputs released, the snapshots taken before and after the
   ``N_STEPS`` calls, filtered on traceback to blocks allocated through the module's package
   (its source files, its helpers such as ``ring.py`` and ``windowing.py``, and the numpy
   arrays they create), differ by at most ``SLACK`` bytes in all: not one block per call. The
   one exclusion: blocks allocated inside onnxruntime's Python package, a bounded pool its
   binding keeps (about thirty 124-byte blocks over its first runs in a process, the same
   after 40 or 400 runs).

Tracing starts before the warm-up, so that blocks a library recycles are traced both ways.
:mod:`faulty_modules` holds a module that breaks each check, and the check must catch it.

Modules skipped: none. ``onnx`` needs a model file: the test builds tiny real ones
(:mod:`onnx_windows`, :mod:`test_onnx_module`) and runs them through onnxruntime, whose own
C++ allocations during a run are not Python memory and are outside tracemalloc's view.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from inspect import getfile
from pathlib import Path
from typing import Any

import faulty_modules
import numpy as np
import pytest
from onnx_windows import mean_linear_softmax
from test_onnx_module import _linear_softmax

from bci_bridge.registry import available, load
from bci_bridge.stream import Chunk, StreamInfo

SFREQ = 250.0
CHANNELS = (
    *("Fp1", "Fp2", "F3", "Fz", "F4", "T7", "C3", "Cz"),
    *("C4", "T8", "P3", "Pz", "P4", "O1", "Oz", "O2"),
)
CHUNK = 50  # samples per chunk: 0.2 s, two hops of the sliding features
WARMUP_S = 3.0  # longer than every window below, so windows are full and hops emitted
N_STEPS = 40
SLACK = 2048  # bytes; a chunk-sized temporary is 3200 (float32) or 6400 bytes (float64)
DEPTH = 16  # traceback frames kept by tracemalloc


@dataclass(frozen=True)
class Case:
    """How to run one module in steady state.

    ``config`` builds the module's Config (it gets a temporary folder, for model files);
    ``chunk`` is the samples per chunk (an epoch for epoch-fed modules); ``markers`` feeds
    marker times to modules with ``on_markers``.
    """

    config: Callable[[Path], Any]
    chunk: int = CHUNK
    dtype: str = "float32"
    markers: bool = False


def _onnx_window(tmp: Path) -> dict[str, Any]:
    path, _ = mean_linear_softmax(tmp / "window.onnx", len(CHANNELS), 250, n_classes=3)
    return {"model": str(path), "trigger": "hop", "hop": 25}


def _onnx_features(tmp: Path) -> dict[str, Any]:
    path, _, _ = _linear_softmax(tmp / "features.onnx", n_features=len(CHANNELS))
    return {"model": str(path)}


def _onnx_epochs(tmp: Path) -> dict[str, Any]:
    path, _ = mean_linear_softmax(tmp / "epoch.onnx", len(CHANNELS), 50, n_classes=3)
    return {"model": str(path)}


#: Configs of the built-ins whose defaults are not a realistic run (or cannot run), keyed by
#: entry-point name; a name may have several cases (``name[label]``).
CASES: dict[str, dict[str, Case]] = {
    "bandpass": {"": Case(lambda _: {"low": 8.0, "high": 30.0})},
    "bandpower": {
        "dft": Case(lambda _: {}),
        "fft": Case(
            lambda _: {"bands": ((1.0, 40.0), (40.0, 120.0)), "band_names": (), "window_s": 2.0}
        ),
    },
    "covariance": {"": Case(lambda _: {"window_s": 1.0, "hop_s": 0.1, "shrinkage": 0.1})},
    "epoch": {"": Case(lambda _: {"tmin": -0.1, "tmax": 0.5}, markers=True)},
    "highpass": {"": Case(lambda _: {"cutoff": 1.0})},
    "logvar": {
        "sliding": Case(lambda _: {"window_s": 1.0, "hop_s": 0.1}),
        "epochs": Case(lambda _: {"window_s": 0.5}, chunk=125),
    },
    "notch": {"": Case(lambda _: {"freq": 50.0})},
    "onnx": {
        "window": Case(_onnx_window),
        "epochs": Case(_onnx_epochs, chunk=50),
        "float64": Case(_onnx_window, dtype="float64"),
        "features": Case(_onnx_features),
    },
    "pick": {"": Case(lambda _: {"channels": ("C3", "Cz", "C4")})},
    "reref": {
        "average": Case(lambda _: {}),
        "ears": Case(lambda _: {"mode": "channels", "reference": ("O1", "O2")}),
    },
    "rename": {"": Case(lambda _: {"mapping": {"Fz": "AFz"}})},
    # Intracortical by design (250-5000 Hz at 30 kHz); here a band and bins a 250 Hz stream has.
    # Chunks of 10 bins (strided segments of the chunk), and of one bin (the whole chunk).
    "spikes": {
        "": Case(lambda _: {"low": 10.0, "high": 100.0, "bin_s": 0.02}),
        "bin": Case(lambda _: {"low": 10.0, "high": 100.0, "bin_s": 0.02}, chunk=5),
    },
    "resample": {
        "128": Case(lambda _: {"sfreq": 128.0}),
        "125": Case(lambda _: {"sfreq": 125.0}),
        "500": Case(lambda _: {"sfreq": 500.0}),
    },
    "segment_means": {"": Case(lambda _: {"window_s": 0.8, "n_segments": 8}, chunk=200)},
}


def _params() -> list[Any]:
    out = []
    for name in available("module"):
        for label, case in CASES.get(name, {"": Case(lambda _: {})}).items():
            out.append(pytest.param(name, case, id=f"{name}[{label}]" if label else name))
    return out


def _info(dtype: str) -> StreamInfo:
    return StreamInfo(
        name="eeg",
        channel_names=CHANNELS,
        sfreq=SFREQ,
        dtype=dtype,
        channel_units=("uV",) * len(CHANNELS),
    )


def _owned_bytes(out: Chunk | None, given: Chunk) -> int:
    """Bytes of the output's arrays that own their data and are not the input's."""
    if out is None:
        return 0
    inputs = (given.data, given.timestamps)
    return sum(
        a.nbytes
        for a in (out.data, out.timestamps)
        if a.base is None and not any(np.may_share_memory(a, i) for i in inputs)
    )


def _chunks(info: StreamInfo, size: int, n_chunks: int) -> list[Chunk]:
    rng = np.random.default_rng(7)
    data = (20 * rng.normal(size=(n_chunks * size, info.n_channels))).astype(info.np_dtype)
    stamps = 1000.0 + np.arange(data.shape[0]) / info.sfreq
    return [
        Chunk(data[k : k + size].copy(), stamps[k : k + size].copy(), i)
        for i, k in enumerate(range(0, data.shape[0], size))
    ]


def check_steady_state(
    name: str, module: Any, chunks: list[Chunk], n_warm: int, source: str
) -> None:
    """Step ``module`` through ``chunks`` and check the three criteria of the module docs.

    Parameters
    ----------
    name : str
        For messages.
    module : object
        A prepared module.
    chunks : list of Chunk
        Warm-up chunks, then the measured ones.
    n_warm : int
        How many of ``chunks`` warm up.
    source : str
        A ``fnmatch`` pattern of the module's source files (criterion 3).
    """
    own = [
        tracemalloc.Filter(True, source, all_frames=True),
        # onnxruntime's Python binding keeps a bounded pool of small blocks (about thirty of
        # 124 bytes, filled over its first runs in a process): not the module's, not per call.
        tracemalloc.Filter(False, "*/onnxruntime/*"),
    ]
    transient: list[int] = []
    kept: list[int] = []
    # Tracing starts before the warm-up: a block that a library recycles (frees and allocates
    # again) would otherwise look like growth, its old copy being untraced.
    tracemalloc.start(DEPTH)
    try:
        emitted = 0
        for chunk in chunks[:n_warm]:
            emitted += module.step(chunk) is not None
        assert emitted > 0, f"{name}: no output during warm-up, so no steady state to measure"
        emitted = 0
        first = tracemalloc.take_snapshot().filter_traces(own)
        for chunk in chunks[n_warm:]:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            out = module.step(chunk)
            after, peak = tracemalloc.get_traced_memory()
            transient.append(peak - after)
            kept.append(after - before - _owned_bytes(out, chunk))
            emitted += out is not None
            del out
        last = tracemalloc.take_snapshot().filter_traces(own)
    finally:
        tracemalloc.stop()

    n_steps = len(transient)
    assert emitted > 0, f"{name}: no output during the measured steps"
    worst = max(range(n_steps), key=lambda k: transient[k])
    assert transient[worst] <= SLACK, (
        f"{name}: step #{worst} allocated {transient[worst]} bytes of temporaries "
        f"(limit {SLACK}); per step: {transient}"
    )
    assert max(kept) <= SLACK, (
        f"{name}: steps kept bytes beyond their output (limit {SLACK}); per step: {kept}"
    )
    grown = [d for d in last.compare_to(first, "traceback") if d.size_diff > 0]
    total = sum(d.size_diff for d in grown)
    where = "\n".join(
        f"{d.size_diff} B in {d.count_diff} blocks, allocated at:\n"
        + "\n".join(d.traceback.format(most_recent_first=True))
        for d in grown
    )
    assert total <= SLACK, f"{name}: {total} bytes survived {n_steps} steps:\n{where}"


@pytest.mark.parametrize(("name", "case"), _params())
def test_step_allocates_only_its_output_in_steady_state(
    name: str, case: Case, tmp_path: Path
) -> None:
    cls = load("module", name)
    try:
        config = cls.Config(**case.config(tmp_path))
    except TypeError as exc:
        pytest.fail(f"module {name!r} has no default config ({exc}); add a case to CASES")
    module = cls(config)
    info = _info(case.dtype)
    module.prepare(info)
    n_warm = int(WARMUP_S * SFREQ) // case.chunk
    chunks = _chunks(info, case.chunk, n_warm + N_STEPS)
    if case.markers:
        # A marker every 0.3 s over the whole run: epochs complete during warm-up and during
        # the measured steps alike.
        start, end = chunks[0].timestamps[0], chunks[-1].timestamps[-1]
        times = np.arange(start + 0.2, end - 0.6, 0.3)
        module.on_markers(("go",) * times.size, times)
    package = str(Path(getfile(cls)).parent)
    check_steady_state(name, module, chunks, n_warm, f"{package}/*")


@pytest.mark.parametrize(
    ("cls", "broken"),
    [
        (faulty_modules.Temporary, "temporaries"),
        (faulty_modules.Hoarder, "kept bytes beyond their output"),
        (faulty_modules.Growing, "survived"),
    ],
)
def test_the_check_catches_allocating_modules(cls: type[Any], broken: str) -> None:
    module = cls()
    info = _info("float32")
    module.prepare(info)
    chunks = _chunks(info, CHUNK, 10 + N_STEPS)
    with pytest.raises(AssertionError, match=broken):
        check_steady_state(cls.__name__, module, chunks, 10, getfile(cls))
