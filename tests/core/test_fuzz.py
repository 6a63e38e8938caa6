"""A million random and mutated frames through decode, check_against and the accounting.

Nothing but :class:`WireError` may come out of the decoder, every intact frame must pass, and
the input's counters must add up to exactly what was offered to it.
"""

from __future__ import annotations

import math

import numpy as np
from fuzz_frames import make_batch, parts_of
from hypothesis import given, settings
from hypothesis import strategies as st

from bci_bridge.config import InputConfig
from bci_bridge.errors import WireError
from bci_bridge.stream import StreamInfo
from bci_bridge.wire import Kind, check_against, decode, encode_data
from runtime.inputs import InputState

INFO = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=250.0, session=7)
CONFIG = InputConfig(name="eeg", stream="eeg", endpoint="ipc:///tmp/fuzz")
N_FRAMES = 1_000_000
BATCH = 100_000


def _data(max_rows: int = 8) -> memoryview:
    return memoryview(np.arange(max_rows * 2 * 4 + 64, dtype=np.uint8).tobytes())


def test_a_million_mutated_frames_are_counted_exactly() -> None:
    rng = np.random.default_rng(2026)
    state = InputState(config=CONFIG, info=INFO)
    data = _data()
    refused = offered = accepted_samples = eos = intact_accepted = n_intact = 0
    index = 0
    for _ in range(N_FRAMES // BATCH):
        batch = make_batch(rng, BATCH, n_channels=2, session=7, first_index=index, mutate=0.5)
        index = batch.next_index
        intact = batch.intact.tolist()
        n_intact += sum(intact)
        for i, parts in enumerate(parts_of(batch, b"data.eeg", data, INFO.sfreq)):
            try:
                frame = decode(parts)
                if frame.kind is Kind.EOS:
                    state.end(frame.sample_index, session=frame.session)
                    eos += 1
                    continue
                if frame.kind is not Kind.DATA:
                    raise WireError(f"{frame.kind.name} frame")
                check_against(frame, INFO)
            except WireError:
                assert not intact[i], f"intact frame {i} refused"
                refused += 1
                continue
            offered += 1
            n = frame.timestamps.shape[0]
            ok = state.accept(
                frame.sample_index,
                n,
                session=frame.session,
                first_time=float(frame.timestamps[0]),
                last_time=float(frame.timestamps[-1]),
            )
            accepted_samples += n if ok else 0
            intact_accepted += ok and intact[i]
    assert refused + offered + eos == N_FRAMES
    assert state.samples_received == accepted_samples
    jumps = state.frames_malformed - sum("EOS" in e for e in state.errors)
    assert state.frames_received + state.frames_late + jumps >= offered - eos
    assert state.frames_received + state.frames_late <= offered
    # Forged indices and sessions never blind the input: intact frames keep getting through.
    assert intact_accepted >= 0.95 * n_intact
    assert refused > N_FRAMES // 4


@settings(max_examples=300, deadline=None)
@given(
    index=st.integers(0, 2**64 - 1),
    session=st.integers(0, 2**32 - 1),
    n=st.integers(1, 5),
    stamp=st.floats(allow_nan=True, allow_infinity=True),
    eos=st.integers(0, 2**64 - 1),
)
def test_any_header_values_leave_the_input_working(
    index: int, session: int, n: int, stamp: float, eos: int
) -> None:
    state = InputState(config=CONFIG, info=INFO)
    ts = np.arange(10) / 250.0

    def good(i: int) -> bool:
        return state.accept(i, 10, session=7, first_time=i / 250.0, last_time=(i + 9) / 250.0)

    assert good(0)
    data = np.zeros((n, 2), np.float32)
    forged = decode(encode_data(b"data.eeg", data, np.full(n, stamp), 0, index, 0.0, session))
    try:
        check_against(forged, INFO)
        state.accept(
            forged.sample_index, n, session=forged.session, first_time=stamp, last_time=stamp
        )
    except WireError:
        pass
    state.end(eos, session=7)
    # Whatever the forged frame and EOS said, a real sender that goes on is followed within
    # two frames, and what it sends after is received in full.
    start = 10_000_000
    got = [good(start + 10 * k) for k in range(5)]
    assert all(got[2:])
    assert state.samples_received >= 30 + 10
    assert math.isfinite(state.samples_lost)
    del ts
