"""The two plugin contracts: :class:`Device` (a source of samples) and :class:`Module` (a step).

Plugins do not inherit from anything: any class with these methods and a ``Config`` dataclass
is a plugin. Register it under the entry-point group ``bci_bridge.devices`` or
``bci_bridge.modules`` and it is found by name, exactly like the built-ins. Plugin authors can
check their class with :mod:`bci_bridge.testing`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from bci_bridge.stream import Chunk, StreamInfo

__all__ = ["Device", "MarkerSource", "Module"]


@runtime_checkable
class Device(Protocol):
    """A source of samples: an amplifier driver, a simulator, a file replay.

    Lifecycle: ``__init__(config)`` does no I/O; ``open()`` acquires the hardware or file;
    ``read(timeout)`` returns the samples that are ready (or ``None`` after ``timeout``
    seconds); ``close()`` releases everything and is safe to call twice. A device with a
    finite source (a file) may also have a ``finished`` attribute, true once it has nothing
    more to read; the host then stops.
    """

    Config: ClassVar[type[Any]]

    def info(self) -> StreamInfo:
        """Describe the stream this device produces (valid before ``open``)."""
        ...

    def open(self) -> None:
        """Acquire the device and start acquisition."""
        ...

    def read(self, timeout: float) -> Chunk | None:
        """Return the next samples, waiting at most ``timeout`` seconds; ``None`` if none."""
        ...

    def close(self) -> None:
        """Stop and release; idempotent."""
        ...


@runtime_checkable
class MarkerSource(Protocol):
    """A device that also emits event markers (trial cues, stimulus codes)."""

    def marker_info(self) -> StreamInfo:
        """Describe the marker stream (irregular, one string channel)."""
        ...

    def read_markers(self) -> list[tuple[str, float]]:
        """Return the markers due since the last call, as ``(label, lsl_timestamp)`` pairs."""
        ...


@runtime_checkable
class Module(Protocol):
    """One step of a pipeline: a filter, a feature extractor, a decoder.

    ``prepare(info)`` runs once before any data flows: it checks the input stream, allocates
    and warms up, raises :class:`~bci_bridge.errors.ConfigError` on a mismatch, and returns
    the :class:`StreamInfo` of what ``step`` will emit; calling it again resets the module.
    ``step(chunk)`` is the hot path: no I/O, no logging, no allocation that can be avoided; it
    returns a chunk or ``None`` when it has nothing to emit yet. The returned arrays must stay
    valid after the next ``step`` (outputs may still be in flight on a socket).

    Optional: ``on_markers(labels, timestamps) -> Chunk | None`` receives the markers of the
    input named by the node's ``markers`` key and may emit at once what they complete (see
    :mod:`decoders.epoch`); ``stats() -> dict`` returns counters the runtime adds to the
    node's report; ``prewarm() -> None`` runs the module once on its own buffers, leaving its
    state and every later output as they were, so that a low-rate node's next step finds its
    code and data in the CPU's caches (a node's ``prewarm_ms``, :mod:`runtime.prewarm`).
    """

    Config: ClassVar[type[Any]]

    def prepare(self, info: StreamInfo) -> StreamInfo:
        """Check the input, allocate, warm up; return the output stream's info."""
        ...

    def step(self, chunk: Chunk) -> Chunk | None:
        """Process one chunk; return the output chunk or ``None``."""
        ...
