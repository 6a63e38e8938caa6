"""Re-referencing: subtract a reference signal (common average, or given channels) from channels.

Each chunk costs O(n_samples * n_channels): the mean of the reference channels is one
matrix-vector product with a precomputed weight vector (1/k on the k reference channels, 0
elsewhere), then it is subtracted from the re-referenced columns slice by slice, straight into
the output array. The column slices ("segments") are worked out once in ``prepare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.checks import check_budget

__all__ = ["ReRef", "ReRefConfig"]

#: Above this many column slices, whole-array operations beat a Python loop over the slices.
_MAX_SEGMENTS = 16

#: One column slice of the output: input columns [src, src + width) go to output columns
#: [dst, dst + width), minus the reference mean when ``subtract`` is true.
_Segment = tuple[int, int, int, bool]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReRefConfig:
    """Settings of :class:`ReRef`.

    Parameters
    ----------
    mode : {"average", "channels"}
        ``"average"``: common average reference; the mean of ``channels`` (empty: every
        channel) is subtracted from each of those channels, the others pass unchanged.
        ``"channels"``: the mean of the ``reference`` channels (linked ears ``("A1", "A2")``,
        say) is subtracted from every channel.
    channels : tuple of str
        For ``"average"``: the channels averaged and re-referenced; empty: all of them.
    reference : tuple of str
        For ``"channels"``: the reference channels, at least one.
    drop_reference : bool
        For ``"channels"``: leave the reference channels out of the output.
    budget_ms : float
        Time budget of one ``step`` call, in milliseconds.
    """

    mode: Literal["average", "channels"] = "average"
    channels: tuple[str, ...] = ()
    reference: tuple[str, ...] = ()
    drop_reference: bool = False
    budget_ms: float = 0.2

    def __post_init__(self) -> None:
        if self.mode not in ("average", "channels"):
            raise ConfigError(f"must be 'average' or 'channels', got {self.mode!r}", key="mode")
        for key in ("channels", "reference"):
            names = getattr(self, key)
            if len(set(names)) != len(names) or not all(names):
                raise ConfigError(f"names must be unique and non-empty, got {names!r}", key=key)
        if self.mode == "average":
            if self.reference:
                raise ConfigError(
                    "applies to mode = 'channels'; for 'average' list the averaged channels "
                    "in channels",
                    key="reference",
                )
            if self.drop_reference:
                raise ConfigError(
                    "applies to mode = 'channels' (an average reference has no channel to drop)",
                    key="drop_reference",
                )
        else:
            if not self.reference:
                raise ConfigError(
                    "mode = 'channels' needs the reference channels, e.g. ['A1', 'A2']",
                    key="reference",
                )
            if self.channels:
                raise ConfigError(
                    "applies to mode = 'average'; mode = 'channels' re-references every channel",
                    key="channels",
                )
        check_budget(self.budget_ms)


class ReRef:
    """Subtract a reference from the channels: the mean of the reference channels, per sample.

    Input: shape (n_samples, n_channels). Output: shape (n_samples, n_out), same rate,
    timestamps and units, a fresh array; ``n_out`` is ``n_channels`` minus the reference
    channels when they are dropped. Float64 input gives float64, any other dtype float32.
    """

    Config = ReRefConfig

    __slots__ = (
        "_config",
        "_dtype",
        "_fancy_keep",
        "_fancy_sub",
        "_mean",
        "_n_out",
        "_ref",
        "_segments",
        "_src_has_ref",
        "_sub_row",
        "_weights",
    )

    def __init__(self, config: ReRefConfig) -> None:
        self._config = config
        self._dtype: np.dtype[Any] = np.dtype(np.float64)
        self._weights: npt.NDArray[Any] = np.empty(0)  # (n_channels,): 1/k on the reference
        self._ref: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)  # reference columns
        self._segments: list[_Segment] | None = None  # None: too many, use whole arrays
        self._fancy_keep: npt.NDArray[np.intp] | None = None  # input columns kept (drop)
        self._fancy_sub: npt.NDArray[np.intp] = np.empty(0, dtype=np.intp)  # output columns
        self._sub_row: npt.NDArray[Any] = np.empty(0)  # (n_out,): 1 re-referenced, 0 not
        self._src_has_ref = True  # the output keeps every input column
        self._n_out = 0
        self._mean: npt.NDArray[Any] = np.empty(0)  # scratch: per-sample reference mean

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Work out the reference weights and the column slices of the output.

        Raises
        ------
        ConfigError
            If a named channel is not in the stream, or nothing would be left to output.
        """
        cfg = self._config
        names = info.channel_names
        key = "channels" if cfg.mode == "average" else "reference"
        chosen = cfg.channels if cfg.mode == "average" else cfg.reference
        missing = [c for c in chosen if c not in names]
        if missing:
            raise ConfigError(
                f"stream {info.name!r} has no channel {', '.join(map(repr, missing))}; "
                f"it has {', '.join(names)}",
                key=key,
            )
        n = info.n_channels
        ref = sorted(names.index(c) for c in chosen) if chosen else list(range(n))
        is_ref = np.zeros(n, dtype=bool)
        is_ref[ref] = True
        if cfg.mode == "average":
            # Column j of the output: x_j - mean(x[ref]) for j in ref, x_j otherwise.
            keep = list(range(n))
            subtract = is_ref
        else:
            keep = [j for j in range(n) if not (cfg.drop_reference and is_ref[j])]
            if not keep:
                raise ConfigError(
                    "dropping the reference channels leaves no channel to output",
                    key="drop_reference",
                )
            subtract = np.ones(n, dtype=bool)
        dtype = np.dtype(np.float64 if info.dtype == "float64" else np.float32)
        self._dtype = dtype
        self._weights = np.zeros(n, dtype=dtype)
        self._weights[ref] = 1.0 / len(ref)
        self._ref = np.asarray(ref, dtype=np.intp)
        self._n_out = len(keep)
        self._src_has_ref = len(keep) == n
        segments = _segments(keep, subtract)
        self._segments = segments if len(segments) <= _MAX_SEGMENTS else None
        self._fancy_keep = None if len(keep) == n else np.asarray(keep, dtype=np.intp)
        self._sub_row = subtract[keep].astype(dtype)
        self._fancy_sub = np.flatnonzero(self._sub_row).astype(np.intp)
        self._mean = np.empty(256, dtype=dtype)
        return info.renamed(
            channel_names=tuple(names[j] for j in keep),
            channel_types=tuple(info.channel_types[j] for j in keep),
            channel_units=tuple(info.channel_units[j] for j in keep),
            dtype=dtype.name,
        )

    def step(self, chunk: Chunk) -> Chunk | None:
        """Re-reference one chunk.

        Parameters
        ----------
        chunk : Chunk
            ``data`` of shape (n_samples, n_channels).

        Returns
        -------
        Chunk or None
            Shape (n_samples, n_out), a fresh array, input timestamps and seq; ``None`` for an
            empty chunk.
        """
        data = chunk.data
        n = data.shape[0]
        if n == 0:
            return None
        dtype = self._dtype
        out = np.empty((n, self._n_out), dtype=dtype)
        src: npt.NDArray[Any] = data
        if data.dtype != dtype and self._src_has_ref:
            # Convert once, into the output, and work in place from there on.
            np.copyto(out, data, casting="unsafe")
            src = out
        if len(self._mean) < n:
            self._mean = np.empty(n, dtype=dtype)
        mean = self._mean[:n]
        if src.dtype == dtype:
            np.matmul(src, self._weights, out=mean)
        else:  # integer input whose reference channels are dropped: read just those
            np.mean(data[:, self._ref], axis=1, dtype=dtype, out=mean)
        col = mean[:, None]
        segments = self._segments
        if segments is not None:
            for first, dst, width, subtract in segments:
                if subtract:
                    np.subtract(src[:, first : first + width], col, out=out[:, dst : dst + width])
                elif src is not out:
                    out[:, dst : dst + width] = src[:, first : first + width]
        elif self._fancy_keep is not None:  # many dropped references, scattered
            np.subtract(data[:, self._fancy_keep], col, out=out)
        else:  # an average over many separate runs of columns: subtract mean * (0 or 1)
            np.multiply(col, self._sub_row, out=out)
            np.subtract(data, out, out=out)
            if not np.isfinite(mean).all():  # NaN * 0 is NaN: keep the other columns exact
                np.copyto(out, data, casting="unsafe")
                out[:, self._fancy_sub] -= col
        return Chunk(out, chunk.timestamps, chunk.seq)


def _segments(keep: list[int], subtract: npt.NDArray[np.bool_]) -> list[_Segment]:
    """Split the output into runs of consecutive input columns with the same treatment.

    Parameters
    ----------
    keep : list of int
        Input column of each output column, increasing.
    subtract : ndarray of bool, shape (n_channels,)
        Whether the reference mean is subtracted from each input column.

    Returns
    -------
    list of (first, dst, width, subtract)
        Input columns ``[first, first + width)`` go to output columns ``[dst, dst + width)``.
    """
    runs: list[_Segment] = []
    for dst, src in enumerate(keep):
        sub = bool(subtract[src])
        if runs:
            first, start, width, last_sub = runs[-1]
            if src == first + width and sub == last_sub:
                runs[-1] = (first, start, width + 1, sub)
                continue
        runs.append((src, dst, 1, sub))
    return runs
