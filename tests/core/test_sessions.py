"""Sessions, timestamp gaps and untrusted headers in the per-input accounting."""

from __future__ import annotations

import math

from bci_bridge.config import InputConfig
from bci_bridge.stream import StreamInfo
from runtime.inputs import MIN_PLAUSIBLE_JUMP, InputState

CONFIG = InputConfig(name="eeg", stream="eeg", endpoint="ipc:///tmp/x")
SFREQ = 1000.0
A, B = 0x1111, 0x2222


def state(sfreq: float = SFREQ) -> InputState:
    s = InputState(config=CONFIG)
    s.info = StreamInfo(name="eeg", channel_names=("a",), sfreq=sfreq)
    return s


def frame(s: InputState, index: int, n: int, *, session: int = A, t0: float | None = None) -> bool:
    """Offer a frame whose timestamps follow from its index (t = index / rate) unless t0."""
    start = index / SFREQ if t0 is None else t0
    return s.accept(index, n, session=session, first_time=start, last_time=start + (n - 1) / SFREQ)


def test_restart_counts_the_gap_from_timestamps_and_starts_again():
    s = state()
    for i in range(0, 1000, 10):
        assert frame(s, i, 10)
    # The bridge restarts: index 0 again, 2.5 s later than its last sample (999 at 0.999 s).
    assert frame(s, 0, 10, session=B, t0=0.999 + 2.5)
    assert frame(s, 10, 10, session=B, t0=0.999 + 2.5 + 0.010)
    assert s.samples_lost == 2499
    assert (s.sessions, s.session, s.next_index, s.frames_late) == (1, B, 20, 0)
    assert s.samples_received == 1020


def test_loss_upstream_is_seen_in_the_timestamps_and_reported_apart():
    s = state()
    assert frame(s, 0, 10)
    # Contiguous index, but the samples are 0.5 s later than the next one was due.
    assert frame(s, 10, 10, t0=0.510)
    assert (s.samples_lost, s.samples_lost_upstream) == (0, 500)
    # A gap in the index shows in the timestamps too: counted once, as lost here.
    assert frame(s, 30, 10, t0=0.510 + 0.020)
    assert (s.samples_lost, s.samples_lost_upstream) == (10, 500)


def test_jitter_below_half_a_sample_counts_nothing():
    s = state()
    assert frame(s, 0, 10)
    assert frame(s, 10, 10, t0=0.0104)
    assert s.samples_lost_upstream == 0


def test_forged_huge_index_is_malformed_and_the_stream_goes_on():
    s = state()
    assert frame(s, 0, 10)
    assert not s.accept(2**62, 10, session=A, first_time=0.01, last_time=0.019)
    for i in range(10, 1010, 10):
        assert frame(s, i, 10)
    assert (s.frames_malformed, s.frames_late, s.samples_lost, s.samples_received) == (
        1,
        0,
        0,
        1010,
    )


def test_forged_eos_is_refused_and_the_stream_goes_on():
    s = state()
    assert frame(s, 0, 10)
    s.end(2**63, session=A)
    s.end(20, session=B)
    assert not s.ended
    assert s.frames_malformed == 2
    assert frame(s, 10, 10)
    s.end(20, session=A)
    assert (s.ended, s.samples_lost) == (True, 0)


def test_a_sender_that_moves_for_real_is_followed_after_one_frame():
    s = state()
    assert frame(s, 0, 10)
    far = 10 * MIN_PLAUSIBLE_JUMP
    assert not frame(s, far, 10)
    assert frame(s, far + 10, 10)
    assert (s.resyncs, s.frames_malformed, s.next_index) == (1, 1, far + 20)
    # The gap is counted from the timestamps: everything from sample 10 to far + 10.
    assert s.samples_lost == far


def test_restart_within_the_same_session_is_followed():
    s = state()
    t = 0.0
    for i in range(0, 2 * MIN_PLAUSIBLE_JUMP, 1000):
        assert frame(s, i, 1000)
        t = (i + 999) / SFREQ
    # Index 0 again with newer timestamps: not late frames, a sender that started over.
    assert not frame(s, 0, 10, t0=t + 1.0)
    assert frame(s, 10, 10, t0=t + 1.010)
    assert s.resyncs == 1
    assert s.frames_late == 0


def test_old_frames_with_old_timestamps_are_late_and_logged_once(caplog):
    s = state()
    for i in range(0, 100, 10):
        frame(s, i, 10)
    for i in range(0, 50, 10):
        assert not frame(s, i, 10)
    assert frame(s, 100, 10)
    assert not frame(s, 0, 10)
    assert (s.frames_late, s.samples_late, s.late_episodes) == (6, 60, 2)
    # Logged once per episode, at most once a second: the second episode came within it.
    assert 1 <= sum("late" in r.getMessage() for r in caplog.records) <= 2


def test_irregular_streams_count_no_time_gaps():
    s = state(sfreq=0.0)
    assert s.accept(0, 1, session=A, first_time=0.0, last_time=0.0)
    assert s.accept(1, 1, session=A, first_time=100.0, last_time=100.0)
    assert s.accept(0, 1, session=B, first_time=500.0, last_time=500.0)
    assert (s.samples_lost, s.samples_lost_upstream, s.sessions) == (0, 0, 1)


def test_non_finite_timestamps_count_nothing():
    s = state()
    assert s.accept(0, 10, session=A, first_time=math.nan, last_time=math.nan)
    assert s.accept(10, 10, session=A, first_time=math.inf, last_time=math.inf)
    assert s.samples_lost_upstream == 0
