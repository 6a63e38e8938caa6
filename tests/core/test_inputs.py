"""Per-input accounting: every sample is either received or counted as lost."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bci_bridge.config import InputConfig
from runtime.inputs import InputState

CONFIG = InputConfig(name="eeg", stream="SyntheticEEG", endpoint="tcp://127.0.0.1:5555")


def state() -> InputState:
    return InputState(config=CONFIG)


def test_in_order_frames():
    s = state()
    assert s.accept(0, 10)
    assert s.accept(10, 5)
    assert (s.samples_received, s.samples_lost, s.frames_received, s.frames_late) == (15, 0, 2, 0)
    assert s.next_index == 15


def test_receiver_joining_late_counts_from_its_first_frame():
    s = state()
    assert s.accept(100, 10)
    assert (s.samples_received, s.samples_lost, s.joined_at_index) == (10, 0, 100)
    assert s.accept(115, 5)
    assert s.samples_lost == 5


def test_gap_is_counted_as_lost():
    s = state()
    s.accept(0, 10)
    assert s.accept(25, 5)
    assert (s.samples_received, s.samples_lost, s.frames_received) == (15, 15, 2)
    assert s.next_index == 30


def test_duplicate_frame_is_refused_and_counted():
    s = state()
    s.accept(0, 10)
    assert not s.accept(0, 10)
    assert (s.samples_received, s.samples_lost, s.frames_received, s.frames_late) == (10, 0, 1, 1)


def test_late_frame_is_refused_and_counted():
    s = state()
    s.accept(0, 10)
    s.accept(20, 10)  # frame [10, 20) is overtaken: counted lost
    assert not s.accept(10, 10)
    assert (s.samples_received, s.samples_lost, s.frames_late) == (20, 10, 1)
    assert s.next_index == 30


def test_eos_adds_the_tail_loss():
    s = state()
    s.accept(0, 10)
    s.accept(10, 10)
    s.end(35)
    assert s.ended
    assert s.samples_announced == 35
    assert (s.samples_received, s.samples_lost) == (20, 15)
    assert s.samples_received + s.samples_lost == s.samples_announced


def test_eos_with_nothing_missing():
    s = state()
    s.accept(0, 10)
    s.end(10)
    assert (s.samples_received, s.samples_lost, s.ended) == (10, 0, True)


def test_eos_before_any_frame_loses_nothing_of_ours():
    s = state()
    s.end(50)
    assert (s.samples_received, s.samples_lost, s.ended) == (0, 0, True)


def test_eos_announcing_less_than_received_loses_nothing():
    s = state()
    s.accept(0, 10)
    s.end(5)
    assert s.samples_lost == 0
    assert s.samples_announced == 5


def test_frame_after_eos_is_late():
    s = state()
    s.accept(0, 10)
    s.end(20)
    assert not s.accept(10, 10)
    assert s.frames_late == 1
    assert s.samples_received + s.samples_lost == 20


def test_malformed_keeps_the_first_five_reasons():
    s = state()
    for i in range(8):
        s.malformed(f"reason {i}")
    assert s.frames_malformed == 8
    assert s.errors == [f"reason {i}" for i in range(5)]


def test_summary():
    s = state()
    s.accept(0, 10)
    s.accept(12, 3)
    s.accept(0, 10)
    s.malformed("bad magic")
    s.end(20)
    assert s.summary() == {
        "stream": "SyntheticEEG",
        "endpoint": "tcp://127.0.0.1:5555",
        "session": 0,
        "sessions": 0,
        "joined_at_index": 0,
        "samples_received": 13,
        "samples_lost": 7,
        "samples_lost_upstream": 0,
        "samples_late": 10,
        "samples_nonfinite": 0,
        "on_nonfinite": "hold",
        "frames_received": 2,
        "frames_late": 1,
        "late_episodes": 1,
        "frames_malformed": 1,
        "frames_before_info": 0,
        "resyncs": 0,
        "ended": True,
        "malformed_reasons": ["bad magic"],
    }


@st.composite
def deliveries(draw):
    """A stream cut into frames, then delivered with drops, duplicates and reordering."""
    sizes = draw(st.lists(st.integers(1, 50), min_size=1, max_size=40))
    frames = []
    index = 0
    for n in sizes:
        frames.append((index, n))
        index += n
    delivered = [f for f in frames if draw(st.booleans()) or draw(st.booleans())]
    delivered += draw(st.lists(st.sampled_from(frames), max_size=5))  # duplicates
    delivered = draw(st.permutations(delivered))
    return index, delivered


@settings(max_examples=200, deadline=None)
@given(deliveries())
def test_received_plus_lost_equals_announced_total(case):
    total, delivered = case
    s = state()
    accepted = [f for f in delivered if s.accept(*f)]
    s.end(total)
    # A receiver counts from the first frame it got, wherever that is in the stream.
    joined = delivered[0][0] if delivered else total
    assert s.joined_at_index == (delivered[0][0] if delivered else None)
    assert s.samples_received + s.samples_lost == total - joined
    assert s.samples_received == sum(n for _, n in accepted)
    assert s.frames_received == len(accepted)
    assert s.frames_received + s.frames_late == len(delivered)
    # Accepted frames are strictly in stream order and never overlap.
    for (i0, n0), (i1, _) in itertools.pairwise(accepted):
        assert i1 >= i0 + n0
