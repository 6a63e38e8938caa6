"""A fast, vectorised frame mutator shared by the fuzz tests.

Valid ``DATA`` frames of one stream are built in bulk as a numpy record array of headers (the
wire layout), then a fraction of them is mutated, vectorised: a random byte, a random sample
index, session, shape, kind, version or magic, a truncated or padded buffer, a non-finite
timestamp. Each frame keeps a label saying whether it was left intact.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.wire import DTYPE_CODES, HEADER, MAGIC, WIRE_VERSION, Kind

HEADER_DTYPE = np.dtype(
    [
        ("magic", "S4"),
        ("version", "u1"),
        ("kind", "u1"),
        ("dtype", "u1"),
        ("reserved", "u1"),
        ("n", "<u4"),
        ("c", "<u4"),
        ("seq", "<u8"),
        ("index", "<u8"),
        ("sent", "<f8"),
        ("session", "<u4"),
        ("pad", "<u4"),
    ]
)
assert HEADER_DTYPE.itemsize == HEADER.size

#: Mutations, each drawn with the same probability for a mutated frame.
MUTATIONS = (
    "byte",
    "index",
    "session",
    "shape",
    "kind",
    "version",
    "magic",
    "data_size",
    "stamps_size",
    "stamps_nan",
)


@dataclass
class Batch:
    """Frames ready to send: headers, buffer sizes, and what was done to each."""

    headers: npt.NDArray[np.uint8]  # (n_frames, 48)
    offsets: npt.NDArray[np.int64]  # of each frame's first sample in the batch's samples
    data_bytes: npt.NDArray[np.int64]
    stamp_bytes: npt.NDArray[np.int64]
    stamps_nan: npt.NDArray[np.bool_]
    intact: npt.NDArray[np.bool_]
    first_index: int
    next_index: int


def make_batch(
    rng: np.random.Generator,
    n_frames: int,
    *,
    n_channels: int,
    session: int,
    first_index: int = 0,
    mutate: float = 0.5,
    max_rows: int = 8,
) -> Batch:
    """Build ``n_frames`` consecutive frames of a float32 stream, mutating a fraction of them.

    Parameters
    ----------
    rng : numpy.random.Generator
        The randomness.
    n_frames : int
        Frames to build.
    n_channels : int
        Channels of the stream.
    session : int
        The sender's session.
    first_index : int
        ``sample_index`` of the first frame.
    mutate : float
        Fraction of frames mutated.
    max_rows : int
        Frames hold 1 to ``max_rows`` samples.
    """
    rows = rng.integers(1, max_rows + 1, n_frames)
    index = first_index + np.concatenate(([0], np.cumsum(rows)[:-1]))
    h = np.zeros(n_frames, HEADER_DTYPE)
    h["magic"] = MAGIC
    h["version"] = WIRE_VERSION
    h["kind"] = Kind.DATA
    h["dtype"] = DTYPE_CODES["float32"]
    h["n"] = rows
    h["c"] = n_channels
    h["seq"] = np.arange(n_frames)
    h["index"] = index
    h["session"] = session
    data_bytes = rows * n_channels * 4
    stamp_bytes = rows * 8
    stamps_nan = np.zeros(n_frames, bool)
    mutated = rng.random(n_frames) < mutate
    which = np.where(mutated, rng.integers(0, len(MUTATIONS), n_frames), -1)

    def pick(name: str) -> npt.NDArray[np.intp]:
        return np.flatnonzero(which == MUTATIONS.index(name))

    sel = pick("index")
    h["index"][sel] = rng.integers(0, 2**63, sel.size, dtype=np.uint64) << rng.integers(
        0, 2, sel.size
    ).astype(np.uint64)
    sel = pick("session")
    h["session"][sel] = rng.integers(0, 2**32, sel.size, dtype=np.uint64)
    sel = pick("shape")
    h["n"][sel] = rng.integers(0, 2**32, sel.size, dtype=np.uint64) >> rng.integers(
        0, 32, sel.size
    ).astype(np.uint64)
    sel = pick("kind")
    h["kind"][sel] = rng.integers(0, 256, sel.size)
    sel = pick("version")
    h["version"][sel] = rng.integers(0, 256, sel.size)
    sel = pick("magic")
    h["magic"][sel] = b"BCIX"
    sel = pick("data_size")
    data_bytes[sel] += rng.choice([-4, -1, 1, 4, 64], sel.size)
    sel = pick("stamps_size")
    stamp_bytes[sel] += rng.choice([-8, -1, 1, 8], sel.size)
    stamps_nan[pick("stamps_nan")] = True
    raw = h.view(np.uint8).reshape(n_frames, HEADER.size)
    sel = pick("byte")
    raw[sel, rng.integers(0, HEADER.size, sel.size)] = rng.integers(0, 256, sel.size)
    # A mutation that happens to change nothing leaves the frame intact.
    np.maximum(data_bytes, 0, out=data_bytes)
    np.maximum(stamp_bytes, 0, out=stamp_bytes)
    return Batch(
        headers=raw,
        data_bytes=data_bytes,
        stamp_bytes=stamp_bytes,
        stamps_nan=stamps_nan,
        offsets=index - first_index,
        intact=~mutated,
        first_index=first_index,
        next_index=int(index[-1] + rows[-1]),
    )


def parts_of(
    batch: Batch, topic: bytes, data: memoryview, sfreq: float
) -> Iterator[list[bytes | memoryview]]:
    """Yield the four parts of each frame: header bytes and views on shared buffers.

    ``data`` must be large enough for the biggest frame. Timestamps are those of a regular
    stream at ``sfreq`` (``index / sfreq``), NaN where the mutation says so.
    """
    n_samples = int(batch.next_index - batch.first_index) + 16
    stamps = (batch.first_index + np.arange(n_samples)) / sfreq
    nan_stamps = np.full(n_samples, np.nan)
    ts_views = (memoryview(stamps.tobytes()), memoryview(nan_stamps.tobytes()))
    headers = batch.headers
    sizes = batch.data_bytes.tolist()
    stamp_sizes = batch.stamp_bytes.tolist()
    starts = (batch.offsets * 8).tolist()
    nans = batch.stamps_nan.tolist()
    for i in range(len(sizes)):
        ts = ts_views[nans[i]]
        yield [
            topic,
            headers[i].tobytes(),
            data[: sizes[i]],
            ts[starts[i] : starts[i] + stamp_sizes[i]],
        ]
