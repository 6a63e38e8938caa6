"""Input side of the runtime: subscribe to bridged streams and account for every sample.

Each input stream keeps its counters: samples received, samples lost (from gaps in the frames'
``sample_index``, from the timestamps across a restart of the sender, and from the total
announced by ``EOS``), samples lost upstream of the bridge (gaps in the timestamps at the
nominal rate that the index does not show), frames late or duplicated, frames malformed.
Nothing is dropped without being counted.

Headers come from the network and are not trusted:

- The sender's **session** (in every header) tells a restarted sender from late frames: a new
  session starts the count again at its first frame, and the samples between the last frame
  of the old session and the first of the new one are counted lost from the timestamps
  (regular streams).
- A receiver that **joins late** counts from the first frame it gets (``joined_at_index``);
  the samples before are not its loss.
- An index that jumps **implausibly** (more than a minute of samples at the nominal rate, at
  least :data:`MIN_PLAUSIBLE_JUMP`), and a new session that does not start near index 0, is a
  malformed frame, dropped; only when a second frame of the same session continues exactly
  where the first one ended is the jump taken as real (``resyncs``). So one forged frame
  never blinds the input (it costs at most the next genuine frame), and a sender that
  restarts without a new session is followed after one frame.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.config import InputConfig
from bci_bridge.stream import StreamInfo
from runtime.nonfinite import NonFiniteFilter

__all__ = ["MIN_PLAUSIBLE_JUMP", "PLAUSIBLE_JUMP_S", "InputState"]

log = logging.getLogger(__name__)

#: A jump of the sample index further than this many seconds at the nominal rate is implausible.
PLAUSIBLE_JUMP_S = 60.0
#: ...or than this many samples, whichever is more (and always, for irregular streams).
MIN_PLAUSIBLE_JUMP = 1 << 16


@dataclass(slots=True)
class InputState:
    """One subscribed stream: its info once known, and its counters."""

    config: InputConfig
    info: StreamInfo | None = None
    session: int | None = None
    next_index: int = 0
    last_time: float = math.nan
    joined_at_index: int | None = None
    sessions: int = 0
    resyncs: int = 0
    samples_received: int = 0
    samples_lost: int = 0
    samples_lost_upstream: int = 0
    samples_late: int = 0
    frames_received: int = 0
    frames_late: int = 0
    late_episodes: int = 0
    frames_malformed: int = 0
    frames_before_info: int = 0
    ended: bool = False
    samples_announced: int = -1
    errors: list[str] = field(default_factory=list)
    _late: bool = False
    _candidate: tuple[int, int] | None = None
    _gap_from: float = math.inf
    _logged_at: float = -math.inf
    _unlogged: int = 0
    _clean: NonFiniteFilter | None = None

    def accept(
        self,
        sample_index: int,
        n_samples: int,
        *,
        session: int = 0,
        first_time: float = math.nan,
        last_time: float = math.nan,
    ) -> bool:
        """Account for a data frame; return False if it is to be dropped.

        Parameters
        ----------
        sample_index : int
            Index in the stream of the frame's first sample (from the header: untrusted).
        n_samples : int
            Samples in the frame.
        session : int
            The sender's session (from the header).
        first_time, last_time : float
            LSL timestamps of the frame's first and last samples, seconds (NaN: unknown).

        Returns
        -------
        bool
            False for a late or duplicated frame, or an implausible jump (counted malformed).
        """
        if session == self.session and sample_index == self.next_index:
            # The common case, in order: only a gap in the timestamps can hide a loss.
            if first_time - self.last_time >= self._gap_from:
                self._count_upstream(first_time, 0)
        elif self.session is None:  # the first frame this receiver gets: it joins here
            self._start(session, sample_index, first_time, restart=False)
        else:
            same = session == self.session
            jump = sample_index - self.next_index
            limit = self.plausible_jump()
            if same and -limit <= jump <= limit and self._consistent(jump, first_time):
                if jump < 0:
                    self._count_late(n_samples)
                    return False
                self.samples_lost += jump
                self._count_upstream(first_time, jump)
            elif same and jump < 0 and not first_time > self.last_time:
                self._count_late(n_samples)  # far behind, and older: a very late frame
                return False
            elif not same and 0 <= sample_index <= limit:
                # A new session near index 0: a sender that started again.
                self._start(session, sample_index, first_time, restart=True)
            elif self._candidate == (session, sample_index):
                # A second frame continues the first: the sender really moved (restarted
                # without a new session, or the receiver was suspended): follow it.
                self.resyncs += 1
                self._start(session, sample_index, first_time, restart=True)
            else:
                self._candidate = (session, sample_index + n_samples)
                self.malformed(
                    f"sample index {sample_index} of session {session:08x} jumps {jump:+d} "
                    f"from {self.next_index} (more than {limit} samples)"
                )
                return False
        self._late = False
        self._candidate = None
        self.next_index = sample_index + n_samples
        if last_time == last_time:  # not NaN
            self.last_time = last_time
        self.samples_received += n_samples
        self.frames_received += 1
        return True

    def _consistent(self, jump: int, first_time: float) -> bool:
        """Whether an index gap agrees with the timestamps (regular streams with known times).

        Samples lost between the bridge and here leave a time gap as long as the index gap
        (longer, if some were lost upstream too); an index that jumps while the timestamps go
        on without a gap is forged or corrupt. A tenth of the jump (at least 2 samples) is
        tolerated for clock corrections.
        """
        if jump <= 2 or self.info is None or self.info.sfreq <= 0:
            return True
        if not math.isfinite(first_time - self.last_time):
            return True
        return self.time_gap(first_time) >= jump - max(2, jump // 10)

    def plausible_jump(self) -> int:
        """Return the largest index jump taken as real: a minute at the nominal rate."""
        sfreq = self.info.sfreq if self.info is not None else 0.0
        return max(MIN_PLAUSIBLE_JUMP, int(sfreq * PLAUSIBLE_JUMP_S))

    def time_gap(self, first_time: float) -> int:
        """Count the samples missing between the last one accepted and one at ``first_time``.

        Counted at the nominal rate, rounded to the nearest sample (so timestamp jitter below
        half a sample period counts nothing); 0 for irregular streams or unknown times.
        """
        sfreq = self.info.sfreq if self.info is not None else 0.0
        samples = (first_time - self.last_time) * sfreq
        if sfreq <= 0 or not math.isfinite(samples):
            return 0
        return max(0, round(min(samples, 2.0**62)) - 1)

    def _start(self, session: int, index: int, first_time: float, *, restart: bool) -> None:
        if restart:
            gap = self.time_gap(first_time)
            self.samples_lost += gap
            self.sessions += 1
            self._warn(
                "sender restarted (session %08x -> %08x, index %d -> %d); %d samples lost "
                "across the restart (from the timestamps)",
                self.session or 0,
                session,
                self.next_index,
                index,
                gap,
            )
        else:
            self.joined_at_index = index
        sfreq = self.info.sfreq if self.info is not None else 0.0
        # A sample is missing once two are 1.5 periods apart (time_gap rounds to samples).
        self._gap_from = 1.5 / sfreq if sfreq > 0 else math.inf
        self.session = session
        self.ended = False
        self.next_index = index

    def _warn(self, message: str, *args: object) -> None:
        """Log a warning about this input, at most once a second whatever a peer sends."""
        now = time.monotonic()
        if now - self._logged_at < 1.0:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more warnings not logged)" if self._unlogged else ""
        log.warning("input %s: %s%s", self.config.name, message % args, more)
        self._logged_at = now
        self._unlogged = 0

    def _count_upstream(self, first_time: float, index_gap: int) -> None:
        extra = self.time_gap(first_time) - index_gap
        if extra > 0:
            self.samples_lost_upstream += extra

    def _count_late(self, n_samples: int) -> None:
        self.frames_late += 1
        self.samples_late += n_samples
        if not self._late:
            self._late = True
            self.late_episodes += 1
            self._warn(
                "late or duplicated frames (index below %d) dropped; their samples are "
                "counted lost",
                self.next_index,
            )

    def end(self, total_samples: int, *, session: int = 0) -> None:
        """Account for ``EOS``: samples the sender sent that never arrived are lost.

        An ``EOS`` of another session than the frames received, or announcing an implausible
        total (see :meth:`plausible_jump`), is counted malformed and changes nothing.
        """
        if self.session is None:  # joined at the very end: nothing of ours was lost
            self.ended = True
            self.samples_announced = total_samples
            return
        if session != self.session:
            self.malformed(f"EOS of session {session:08x}, stream is in {self.session:08x}")
            return
        if total_samples - self.next_index > self.plausible_jump():
            self.malformed(
                f"EOS announces {total_samples} samples, received up to {self.next_index}"
            )
            return
        self.ended = True
        self.samples_announced = total_samples
        if total_samples > self.next_index:
            self.samples_lost += total_samples - self.next_index
            self.next_index = total_samples

    def clean(
        self, data: npt.NDArray[Any], timestamps: npt.NDArray[np.float64]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64]] | None:
        """Apply the input's ``on_nonfinite`` policy (see :mod:`runtime.nonfinite`).

        Returns
        -------
        tuple of ndarray or None
            ``(data, timestamps)``, the same arrays when every sample is finite; ``None`` when
            the policy dropped every sample.
        """
        f = self._clean
        if f is None:
            assert self.info is not None
            f = self._clean = NonFiniteFilter(self.config.on_nonfinite, self.info)
        return f(data, timestamps)

    def malformed(self, reason: str) -> None:
        """Count a malformed frame, keeping the first few reasons for the report."""
        self.frames_malformed += 1
        if len(self.errors) < 5:
            self.errors.append(reason)

    def summary(self) -> dict[str, object]:
        """Return the counters as a JSON-ready dict."""
        clean = self._clean
        return {
            "stream": self.config.stream,
            "endpoint": self.config.endpoint,
            "session": self.session,
            "sessions": self.sessions,
            "joined_at_index": self.joined_at_index,
            "samples_received": self.samples_received,
            "samples_lost": self.samples_lost,
            "samples_lost_upstream": self.samples_lost_upstream,
            "samples_late": self.samples_late,
            "samples_nonfinite": clean.samples if clean is not None else 0,
            "on_nonfinite": self.config.on_nonfinite,
            "frames_received": self.frames_received,
            "frames_late": self.frames_late,
            "late_episodes": self.late_episodes,
            "frames_malformed": self.frames_malformed,
            "frames_before_info": self.frames_before_info,
            "resyncs": self.resyncs,
            "ended": self.ended,
            "malformed_reasons": list(self.errors),
        }
