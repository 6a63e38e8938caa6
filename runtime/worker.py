"""The worker process of an isolated node: one module, fed through shared memory.

Started by :class:`runtime.isolated.IsolatedNode` with the ``spawn`` start method, so it shares
nothing with the runtime but what it is given: the module's registry name and built ``Config``,
the input stream's info, and the input ring. It imports the plugin by name, prepares it, and
serves steps until told to stop (or until its parent dies: it asks the kernel for ``SIGKILL``
then, and it sees the control pipe close).

Control messages travel on a :func:`multiprocessing.Pipe` as small little-endian structs (never
pickle); samples travel in :class:`runtime.shm_ring.ShmRing` blocks. Parent to worker::

    ATTACH  b"A" + struct "<q" (capacity) + output ring name (UTF-8), once, after READY
    STEP    b"S" + struct "<qqq" (seq, start, n): a chunk in the input ring
    STOP    b"Q"

Worker to parent::

    READY   b"R" + the output StreamInfo as JSON                (after prepare)
    FAILED  b"F" + UTF-8 text                                    (prepare raised; then exits)
    OUT     b"O" + struct "<qqqqq" (seq, step_ns, start, n, out_seq); n = -1: no output
    ERROR   b"E" + struct "<qq" (seq, step_ns) + UTF-8 text      (the step raised)

A step reads a view of the input ring (no copy), so a module must not keep references to its
input past ``step`` (the contract already says: keep state in the module's own buffers).
"""

from __future__ import annotations

import ctypes
import signal
import struct
import sys
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from bci_bridge import registry
from bci_bridge.stream import Chunk, StreamInfo
from runtime.shm_ring import RingSpec, ShmRing

__all__ = ["WorkerSpec", "serve"]

ATTACH, STEP, STOP = b"A", b"S", b"Q"
READY, FAILED, OUT, ERROR = b"R", b"F", b"O", b"E"
STEP_FMT = struct.Struct("<qqq")
OUT_FMT = struct.Struct("<qqqqq")
ERROR_FMT = struct.Struct("<qq")


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What a worker is started with (pickled once by ``multiprocessing`` at spawn).

    Parameters
    ----------
    node : str
        The pipeline node's name, for messages.
    module : str
        Registry name (or ``"package.module:Class"``) of the module plugin.
    config : Any
        The module's built ``Config``.
    info_json : bytes
        The input stream's :class:`StreamInfo`, as JSON.
    in_ring : RingSpec
        The input ring to attach.
    """

    node: str
    module: str
    config: Any
    info_json: bytes
    in_ring: RingSpec


def _die_with_parent() -> None:
    # The signal follows the thread that started this worker: the runtime's thread, which
    # closes its workers before it ends.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def serve(spec: WorkerSpec, conn: Connection) -> None:
    """Run the worker (the process target): prepare, then serve steps until ``STOP``."""
    # Ctrl-C reaches the whole process group; the runtime decides when this worker ends.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    try:
        module = registry.load("module", spec.module)(spec.config)
        out_info: StreamInfo = module.prepare(StreamInfo.from_json(spec.info_json))
    except Exception as exc:  # reported to the parent, which refuses the node
        conn.send_bytes(FAILED + f"{type(exc).__name__}: {exc}".encode())
        return
    conn.send_bytes(READY + out_info.to_json())
    msg = conn.recv_bytes()
    if msg[:1] != ATTACH:
        return
    (capacity,) = struct.unpack_from("<q", msg, 1)
    name = msg[9:].decode()
    out = ShmRing.attach(RingSpec(name, capacity, out_info.n_channels, out_info.np_dtype.str))
    inp = ShmRing.attach(spec.in_ring)
    _serve_steps(module.step, conn, inp, out)


def _serve_steps(step: Any, conn: Connection, inp: ShmRing, out: ShmRing) -> None:
    perf = time.perf_counter_ns
    recv, send = conn.recv_bytes, conn.send_bytes
    unpack, pack_out, pack_err = STEP_FMT.unpack_from, OUT_FMT.pack, ERROR_FMT.pack
    while True:
        try:
            msg = recv()
        except EOFError:  # the parent is gone
            return
        if msg[:1] != STEP:
            return
        seq, start, n = unpack(msg, 1)
        data, stamps = inp.read(start, n)
        t0 = perf()
        try:
            result = step(Chunk(data, stamps, seq))
        except Exception as exc:  # reported by name in the parent, like an inline node's
            send(ERROR + pack_err(seq, perf() - t0) + f"{type(exc).__name__}: {exc}".encode())
            continue
        dt = perf() - t0
        if result is None:
            send(OUT + pack_out(seq, dt, 0, -1, 0))
            continue
        try:
            where = _put(out, result)
        except Exception as exc:  # not a chunk, or not of the declared shape: the node's error
            send(
                ERROR + pack_err(seq, dt) + f"output refused: {type(exc).__name__}: {exc}".encode()
            )
            continue
        send(OUT + pack_out(seq, dt, where, result.n_samples, result.seq))


def _put(out: ShmRing, chunk: Chunk) -> int:
    """Write an output chunk, waiting while the parent has not yet taken earlier ones."""
    while True:
        where = out.write(chunk.data, chunk.timestamps)
        if where is not None:
            return where
        time.sleep(0.0005)
