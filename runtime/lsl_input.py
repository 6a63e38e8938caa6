"""An input read straight from LSL in the runtime's own loop: no bridge process, one hop less.

For a runtime on the same computer as the source (or any LSL-reachable one), the runtime can
own the inlet itself: it blocks in ``pull_chunk`` on its primary input instead of on a ZeroMQ
socket, so a sample goes LSL -> runtime -> outputs with a single wake-up. Numeric streams are
pulled into numpy arrays; marker streams into their text labels.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

import numpy as np
import pylsl
from pylsl.util import LostError

from bci_bridge.errors import StreamNotFoundError
from bci_bridge.lsl import from_lsl
from bci_bridge.lsl_config import describe_lsl_config
from bci_bridge.lsl_pull import NumericPull
from bci_bridge.stream import StreamInfo

__all__ = ["LslInput", "Pulled"]

log = logging.getLogger(__name__)

#: What a pull returns: (data or labels, timestamps), or None when nothing came.
Pulled = tuple[Any, Any] | None


class LslInput:
    """Own an LSL inlet for one pipeline input.

    Parameters
    ----------
    stream : str
        The LSL stream's name.
    recover : bool
        Wait for a source that disappears to come back (True), or treat its loss as the end of
        the stream (False; the runtime's ``exit_on_eos``).
    max_chunk : int
        Most samples per pull.
    """

    __slots__ = (
        "_available",
        "_inlet",
        "_markers",
        "_max",
        "_numeric",
        "_pull",
        "_recover",
        "ended",
        "info",
        "stream",
    )

    def __init__(self, stream: str, *, recover: bool, max_chunk: int = 4096) -> None:
        self.stream = stream
        self._max = max_chunk
        self._recover = recover
        self._inlet: pylsl.StreamInlet | None = None
        self._pull: Any = None
        self._available: Any = None
        self._markers = False
        self._numeric: NumericPull | None = None
        self.ended = False
        self.info: StreamInfo | None = None

    @property
    def max_chunk(self) -> int:
        """Most samples one :meth:`pull` returns: fewer means the inlet held no more."""
        return self._max

    def open(self, stop: threading.Event, timeout_s: float) -> StreamInfo | None:
        """Resolve the stream, open the inlet, return its info (None if stopped first).

        Raises
        ------
        StreamNotFoundError
            If no stream of that name appeared within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        log.info("looking for LSL stream %r", self.stream)
        while not stop.is_set():
            # Longer than liblsl's first query round: see bci_bridge.bridge.Bridge._resolve.
            left = deadline - time.monotonic()
            found = pylsl.resolve_byprop("name", self.stream, 1, max(0.1, min(2.0, left)))
            if found:
                break
            if time.monotonic() > deadline:
                raise StreamNotFoundError(
                    f"no LSL stream named {self.stream!r} appeared within {timeout_s:g} s "
                    "(is the source running?). " + describe_lsl_config()
                )
        else:
            return None
        remote = found[0].hostname() != socket.gethostname()
        inlet = pylsl.StreamInlet(
            found[0],
            max_buflen=360,
            max_chunklen=0,
            recover=self._recover,
            processing_flags=pylsl.proc_clocksync if remote else 0,
        )
        self.info = from_lsl(inlet.info(timeout=5.0))
        inlet.open_stream(timeout=10.0)
        self._inlet = inlet
        self._pull = inlet.pull_chunk
        self._available = inlet.samples_available
        self._markers = self.info.is_markers
        self._numeric = None if self._markers else NumericPull(inlet, self._max)
        return self.info

    def pull(self, timeout: float) -> Pulled:
        """Pull what is there, waiting up to ``timeout`` s for the first sample.

        Returns
        -------
        tuple or None
            ``(data, timestamps)``: data (n, n_channels) in the stream's dtype, or, for a
            marker stream, a tuple of n labels; timestamps float64 (n,). None when nothing
            came (or the source is gone, which sets :attr:`ended`).
        """
        if self.ended:
            return None
        try:
            if self._markers:
                rows, stamps = self._pull(timeout=timeout, max_samples=self._max, min_samples=1)
                if not stamps:
                    return None
                return tuple(r[0] for r in rows), np.asarray(stamps, dtype=np.float64)
            numeric = self._numeric
            return None if numeric is None else numeric(timeout)
        except LostError:
            log.info("LSL stream %r is gone: end of stream", self.stream)
            self.ended = True
            return None

    def available(self) -> int:
        """Return how many samples the inlet holds now (0 before ``open``, after the end).

        One liblsl call that never waits, unlike :meth:`pull`; it does not notice a lost
        source: only a pull does.
        """
        if self._available is None or self.ended:
            return 0
        n: int = self._available()
        return n

    def close(self) -> None:
        """Close the inlet."""
        if self._inlet is not None:
            self._inlet.close_stream()
            self._inlet = None
            self._numeric = None
