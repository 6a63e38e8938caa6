"""A conformance kit for plugin authors: check a module or device class against the contracts.

Call these from your own tests; each raises :class:`AssertionError` with a message that says
which rule was broken, and returns ``None`` when the class conforms::

    from bci_bridge.testing import check_module

    def test_my_filter_conforms():
        check_module(MyFilter, MyFilter.Config(cutoff=1.0), info)

The checks need only numpy and bci_bridge, and run the class directly (no pipeline, no
sockets). They use ``raise AssertionError`` rather than ``assert``, so they also work under
``python -O``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["check_device", "check_module"]

_Run = tuple[list[Chunk], list[Chunk], StreamInfo]


def _fail(message: str) -> AssertionError:
    return AssertionError(message)


def check_module(
    cls: type[Any],
    config: Any,
    info: StreamInfo,
    data: npt.NDArray[Any] | None = None,
    *,
    chunk_sizes: Sequence[int] = (1, 7, 64),
    chunking_invariant: bool = True,
    stamps_from_input: bool = True,
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Check a module class against the :class:`~bci_bridge.contracts.Module` contract.

    The module is run over ``data`` cut into consecutive chunks of each size in
    ``chunk_sizes`` (the last chunk may be shorter), from a fresh instance each time.

    Checked: ``Config`` is a dataclass and ``config`` is one; ``prepare`` returns a
    :class:`StreamInfo`, the same for every run; ``step`` returns ``None`` or a :class:`Chunk`
    whose ``data`` is 2-D, C-contiguous, at least one row, of the output info's channel count
    and dtype, whose timestamps are float64, 1-D, finite, one per row, each one of the input's
    timestamps (unless ``stamps_from_input`` is false), and non-decreasing over the run; the
    input chunk is left unchanged; outputs held across later steps keep their values (not views
    of buffers the module reuses); outputs are the same (within ``rtol``/``atol``) whatever the
    chunk size (unless ``chunking_invariant`` is false); and ``prepare`` called again resets
    the state (a prepared, used, re-prepared module gives what a fresh one gives).

    Parameters
    ----------
    cls : type
        The module class.
    config : object
        An instance of ``cls.Config``.
    info : StreamInfo
        The input stream.
    data : ndarray, shape (n_samples, n_channels), optional
        Input samples in ``info``'s dtype. Default: seeded Gaussian noise (scaled by 10 and
        rounded for integer dtypes), at least two seconds of it and four of the largest chunk.
    chunk_sizes : sequence of int
        Chunk sizes to feed, each >= 1. For modules that take whole epochs, pass epoch sizes
        (and ``data`` a whole number of them).
    chunking_invariant : bool
        Whether outputs must not depend on the chunk size. Streaming modules: true.
    stamps_from_input : bool
        Whether every output timestamp must be one of the input's. False for modules that
        stamp samples between input samples (an upsampling resampler); their timestamps must
        still be finite, non-decreasing and, with ``chunking_invariant``, the same whatever
        the chunk size.
    rtol, atol : float
        Tolerances of the comparisons between runs.

    Raises
    ------
    AssertionError
        Naming the rule broken, the chunk size and the step.
    """
    name = getattr(cls, "__qualname__", repr(cls))
    _check_class(cls, config, name, ("prepare", "step"))
    if not chunk_sizes or any(int(s) < 1 for s in chunk_sizes):
        raise ValueError(f"chunk_sizes must be sizes >= 1, got {chunk_sizes!r}")
    if data is None:
        data = _default_data(info, max(chunk_sizes))
    data = np.ascontiguousarray(data, dtype=info.np_dtype)
    if data.ndim != 2 or data.shape[1] != info.n_channels:
        raise ValueError(f"data must have shape (n, {info.n_channels}), got {data.shape}")
    step_s = 1.0 / info.sfreq if info.sfreq > 0 else 0.01
    stamps: npt.NDArray[np.float64] = 1000.0 + np.arange(data.shape[0], dtype=np.float64) * step_s

    runs: list[tuple[int, _Run]] = []
    for size in chunk_sizes:
        module = cls(config)
        runs.append((size, _run(module, info, data, stamps, int(size), name, stamps_from_input)))
    first_size, (_, first_snap, first_info) = runs[0]
    for size, (held, snaps, out_info) in runs:
        if out_info != first_info:
            raise _fail(
                f"{name}.prepare() returned different infos for identical inputs: "
                f"{first_info} vs {out_info}"
            )
        for k, (h, s) in enumerate(zip(held, snaps, strict=True)):
            if not (
                np.array_equal(h.data, s.data, equal_nan=True)
                and np.array_equal(h.timestamps, s.timestamps)
            ):
                raise _fail(
                    f"{name}: output {k} (chunk size {size}) changed after later steps; "
                    "step() must return arrays it will not overwrite (copy out of internal "
                    "buffers)"
                )
        if chunking_invariant:
            _compare(first_snap, snaps, f"{name}: chunk size {size} vs {first_size}", rtol, atol)

    # prepare() again resets: use a module on part of the data, re-prepare, run it all.
    module = cls(config)
    module.prepare(info)
    half = data.shape[0] // 2
    for start in range(0, half, first_size):
        end = min(start + first_size, half)
        module.step(Chunk(data[start:end].copy(), stamps[start:end].copy(), 0))
    _, again, again_info = _run(module, info, data, stamps, first_size, name, stamps_from_input)
    if again_info != first_info:
        raise _fail(f"{name}.prepare() called twice returned {again_info}, not {first_info}")
    _compare(first_snap, again, f"{name}: re-prepared module vs fresh module", rtol, atol)


def check_device(cls: type[Any], config: Any, *, n_reads: int = 10, timeout: float = 1.0) -> None:
    """Check a device class against the :class:`~bci_bridge.contracts.Device` contract.

    Checked: ``Config`` is a dataclass and ``config`` is one; ``info()`` works before
    ``open()`` and returns a :class:`StreamInfo` that does not change; of ``n_reads`` reads
    (each waiting at most ``timeout`` seconds) at least one returns samples, and every
    :class:`Chunk` has 2-D C-contiguous data with the info's channel count and dtype and
    finite float64 timestamps, one per sample, increasing across reads (strictly for a
    regular stream); ``close()`` may be called twice.

    Parameters
    ----------
    cls : type
        The device class.
    config : object
        An instance of ``cls.Config``; should give a device that can open here.
    n_reads : int
        Reads to make, >= 1.
    timeout : float
        Seconds each read may wait.

    Raises
    ------
    AssertionError
        Naming the rule broken and the read.
    """
    name = getattr(cls, "__qualname__", repr(cls))
    _check_class(cls, config, name, ("info", "open", "read", "close"))
    device = cls(config)
    info = device.info()
    if not isinstance(info, StreamInfo):
        raise _fail(f"{name}.info() before open() returned {type(info).__name__}, not StreamInfo")
    got = 0
    last = -math.inf
    try:
        device.open()
        for k in range(n_reads):
            chunk = device.read(timeout)
            if chunk is None:
                continue
            where = f"{name}.read() #{k}"
            if not isinstance(chunk, Chunk):
                raise _fail(f"{where} returned {type(chunk).__name__}, not Chunk or None")
            _check_chunk(chunk, info, where)
            ts = chunk.timestamps
            if not np.all(np.isfinite(ts)):
                raise _fail(f"{where}: timestamps are not all finite")
            diffs = np.diff(np.concatenate(([last], ts)))
            strict = info.sfreq > 0
            if np.any(diffs <= 0) if strict else np.any(diffs < 0):
                order = "increasing" if strict else "non-decreasing"
                raise _fail(f"{where}: timestamps are not {order} (within and across reads)")
            if ts.size:
                last = float(ts[-1])
            got += chunk.n_samples
        if got == 0:
            raise _fail(f"{name}: {n_reads} reads of up to {timeout} s returned no samples")
        if device.info() != info:
            raise _fail(f"{name}.info() changed after open(): {info} -> {device.info()}")
    finally:
        device.close()
    try:
        device.close()
    except Exception as exc:
        raise _fail(f"{name}.close() called twice raised {exc!r}; it must be idempotent") from exc


def _check_class(cls: type[Any], config: Any, name: str, methods: Sequence[str]) -> None:
    config_cls = getattr(cls, "Config", None)
    if not (isinstance(config_cls, type) and dataclasses.is_dataclass(config_cls)):
        raise _fail(f"{name} needs a Config class attribute that is a dataclass")
    if not isinstance(config, config_cls):
        raise _fail(f"config is a {type(config).__name__}, not {name}.Config")
    for method in methods:
        if not callable(getattr(cls, method, None)):
            raise _fail(f"{name} has no method {method}()")


def _default_data(info: StreamInfo, largest: int) -> npt.NDArray[Any]:
    n = max(4 * largest, 2 * math.ceil(info.sfreq), 64)
    x = np.random.default_rng(0).normal(size=(n, info.n_channels))
    if info.np_dtype.kind in "iu":
        return np.round(10 * x).astype(info.np_dtype)
    return x.astype(info.np_dtype)


def _run(
    module: Any,
    info: StreamInfo,
    data: npt.NDArray[Any],
    stamps: npt.NDArray[np.float64],
    size: int,
    name: str,
    stamps_from_input: bool = True,
) -> _Run:
    """Prepare and feed; return the outputs as returned, copies taken at once, the out info."""
    out_info = module.prepare(info)
    if not isinstance(out_info, StreamInfo):
        raise _fail(f"{name}.prepare() returned {type(out_info).__name__}, not StreamInfo")
    held: list[Chunk] = []
    snaps: list[Chunk] = []
    last = -math.inf
    inputs = set(stamps.tolist())
    for k, start in enumerate(range(0, data.shape[0], size)):
        chunk = Chunk(data[start : start + size].copy(), stamps[start : start + size].copy(), k)
        before = (chunk.data.copy(), chunk.timestamps.copy())
        out = module.step(chunk)
        where = f"{name}.step() #{k} (chunk size {size})"
        if not (
            np.array_equal(chunk.data, before[0], equal_nan=True)
            and np.array_equal(chunk.timestamps, before[1])
        ):
            raise _fail(f"{where} modified its input chunk")
        if out is None:
            continue
        if not isinstance(out, Chunk):
            raise _fail(f"{where} returned {type(out).__name__}, not Chunk or None")
        _check_chunk(out, out_info, where)
        ts = out.timestamps
        if not np.all(np.isfinite(ts)):
            raise _fail(f"{where}: output timestamps are not all finite")
        if stamps_from_input and not inputs.issuperset(ts.tolist()):
            raise _fail(f"{where}: output timestamps are not all input timestamps")
        if ts.size and (ts[0] < last or np.any(np.diff(ts) < 0)):
            raise _fail(f"{where}: output timestamps decrease")
        if ts.size:
            last = float(ts[-1])
        held.append(out)
        snaps.append(Chunk(out.data.copy(), out.timestamps.copy(), out.seq))
    return held, snaps, out_info


def _check_chunk(chunk: Chunk, info: StreamInfo, where: str) -> None:
    data, ts = chunk.data, chunk.timestamps
    if not isinstance(data, np.ndarray) or data.ndim != 2:
        raise _fail(f"{where}: data must be a 2-D ndarray, got shape {np.shape(data)}")
    if not data.flags.c_contiguous:
        raise _fail(f"{where}: data is not C-contiguous")
    if data.shape[1] != info.n_channels:
        raise _fail(
            f"{where}: data has {data.shape[1]} channels, the output info says {info.n_channels}"
        )
    if data.dtype != info.np_dtype:
        raise _fail(f"{where}: data dtype is {data.dtype}, the output info says {info.dtype}")
    if not isinstance(ts, np.ndarray) or ts.dtype != np.float64 or ts.ndim != 1:
        raise _fail(f"{where}: timestamps must be a 1-D float64 array, got {ts!r:.80}")
    if ts.shape[0] != data.shape[0]:
        raise _fail(f"{where}: {ts.shape[0]} timestamps for {data.shape[0]} rows")
    if data.shape[0] == 0:
        raise _fail(f"{where}: returned a 0-row chunk (return None when there is no output)")
    if not np.isfinite(ts).all():
        raise _fail(f"{where}: non-finite output timestamps")


def _compare(expected: list[Chunk], got: list[Chunk], what: str, rtol: float, atol: float) -> None:
    joined: list[tuple[npt.NDArray[Any], npt.NDArray[np.float64]]] = []
    for chunks in (expected, got):
        if chunks:
            joined.append(
                (
                    np.concatenate([c.data for c in chunks]),
                    np.concatenate([c.timestamps for c in chunks]),
                )
            )
        else:
            joined.append((np.empty((0, 0)), np.empty(0)))
    (a, ta), (b, tb) = joined
    if a.shape[0] != b.shape[0]:
        raise _fail(f"{what}: {b.shape[0]} output rows instead of {a.shape[0]}")
    if not np.array_equal(ta, tb):
        raise _fail(f"{what}: output timestamps differ")
    if a.size and not np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=True):
        worst = float(np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))))
        raise _fail(f"{what}: outputs differ (largest difference {worst:g})")
