"""Input side of the runtime: subscribe to bridged streams and account for every sample.

Each input stream keeps its counters: samples received, samples lost (from gaps in the frames'
``sample_index`` and the total announced by ``EOS``), frames late or duplicated, frames
malformed. Nothing is dropped without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bci_bridge.config import InputConfig
from bci_bridge.stream import StreamInfo

__all__ = ["InputState"]


@dataclass(slots=True)
class InputState:
    """One subscribed stream: its info once known, and its counters."""

    config: InputConfig
    info: StreamInfo | None = None
    next_index: int = 0
    samples_received: int = 0
    samples_lost: int = 0
    frames_received: int = 0
    frames_late: int = 0
    frames_malformed: int = 0
    frames_before_info: int = 0
    ended: bool = False
    samples_announced: int = -1
    errors: list[str] = field(default_factory=list)

    def accept(self, sample_index: int, n_samples: int) -> bool:
        """Account for a data frame; return False if it is late or a duplicate (drop it).

        Parameters
        ----------
        sample_index : int
            Index in the stream of the frame's first sample.
        n_samples : int
            Samples in the frame.
        """
        if sample_index < self.next_index:
            self.frames_late += 1
            return False
        if sample_index > self.next_index:
            self.samples_lost += sample_index - self.next_index
        self.next_index = sample_index + n_samples
        self.samples_received += n_samples
        self.frames_received += 1
        return True

    def end(self, total_samples: int) -> None:
        """Account for ``EOS``: samples the sender sent that never arrived are lost."""
        self.ended = True
        self.samples_announced = total_samples
        if total_samples > self.next_index:
            self.samples_lost += total_samples - self.next_index
            self.next_index = total_samples

    def malformed(self, reason: str) -> None:
        """Count a malformed frame, keeping the first few reasons for the report."""
        self.frames_malformed += 1
        if len(self.errors) < 5:
            self.errors.append(reason)

    def summary(self) -> dict[str, object]:
        """Return the counters as a JSON-ready dict."""
        return {
            "stream": self.config.stream,
            "endpoint": self.config.endpoint,
            "samples_received": self.samples_received,
            "samples_lost": self.samples_lost,
            "frames_received": self.frames_received,
            "frames_late": self.frames_late,
            "frames_malformed": self.frames_malformed,
            "frames_before_info": self.frames_before_info,
            "ended": self.ended,
            "malformed_reasons": list(self.errors),
        }
