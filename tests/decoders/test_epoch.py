"""The epoch module, called directly: windows cut around markers, late markers, misses."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.stream import Chunk, StreamInfo
from decoders.epoch import Epoch, EpochConfig

INFO = StreamInfo(name="eeg", channel_names=("a", "b"), sfreq=100.0)
N = 1000
DATA = np.arange(N * 2, dtype=np.float32).reshape(N, 2)
STAMPS = 50.0 + np.arange(N) / 100.0


def _run(module: Epoch, markers: dict[int, list[tuple[str, float]]], chunk: int) -> list[Chunk]:
    """Feed DATA in chunks; before the chunk starting at sample k, deliver markers[k]."""
    out = []
    for k in range(0, N, chunk):
        for label, t in markers.get(k, []):
            now = module.on_markers((label,), np.array([t]))
            if now is not None:  # a late marker whose samples are all here: emitted at once
                out.append(now)
        result = module.step(Chunk(DATA[k : k + chunk], STAMPS[k : k + chunk], k))
        if result is not None:
            out.append(result)
    return out


@pytest.mark.parametrize("chunk", [1, 7, 250])
def test_each_marker_gives_its_window(chunk: int) -> None:
    module = Epoch(EpochConfig(tmin=-0.1, tmax=0.4))
    assert module.prepare(INFO).type == "Epochs"
    events = [120, 300, 305, 700]  # overlapping epochs too
    markers = {0: [("x", STAMPS[e]) for e in events]}
    out = _run(module, markers, chunk)
    got = np.concatenate([c.data for c in out]).reshape(-1, 50, 2)
    got_ts = np.concatenate([c.timestamps for c in out]).reshape(-1, 50)
    expected = np.stack([DATA[e - 10 : e + 40] for e in events])
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_ts, np.stack([STAMPS[e - 10 : e + 40] for e in events]))
    assert module.stats() == {"epochs": 4, "missed": 0, "pending": 0}


def test_a_late_marker_still_gets_its_window_and_a_too_late_one_is_counted() -> None:
    module = Epoch(EpochConfig(tmax=0.5, history_s=2.0))
    module.prepare(INFO)
    markers = {600: [("x", STAMPS[500]), ("x", STAMPS[100])]}  # 1 s late and 5 s late
    out = _run(module, markers, 10)
    (chunk,) = out
    np.testing.assert_array_equal(chunk.data, DATA[500:550])
    assert module.stats() == {"epochs": 1, "missed": 1, "pending": 0}


def test_labels_select_which_markers_start_an_epoch() -> None:
    module = Epoch(EpochConfig(tmax=0.1, labels=("left",)))
    module.prepare(INFO)
    markers = {0: [("rest", STAMPS[100]), ("left", STAMPS[200])]}
    out = _run(module, markers, 25)
    assert len(out) == 1
    np.testing.assert_array_equal(out[0].data, DATA[200:210])


def test_a_marker_whose_window_never_completes_stays_pending() -> None:
    module = Epoch(EpochConfig(tmax=1.0))
    module.prepare(INFO)
    out = _run(module, {0: [("x", STAMPS[995])]}, 50)
    assert out == []
    assert module.stats()["pending"] == 1


def test_outputs_are_not_overwritten_by_later_steps() -> None:
    module = Epoch(EpochConfig(tmax=0.05, history_s=0.2))
    module.prepare(INFO)
    out = _run(module, {0: [("x", STAMPS[10]), ("x", STAMPS[500])]}, 5)
    np.testing.assert_array_equal(out[0].data, DATA[10:15])
    np.testing.assert_array_equal(out[1].data, DATA[500:505])


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"tmin": 0.5, "tmax": 0.5}, "tmax"),
        ({"tmax": 3.0, "history_s": 2.0}, "history_s"),
        ({"tmax": 1.0, "budget_ms": 0}, "budget_ms"),
    ],
)
def test_config_refuses_bad_values(kwargs: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        EpochConfig(**kwargs)
    assert info.value.key == key


def test_prepare_refuses_an_irregular_stream() -> None:
    module = Epoch(EpochConfig(tmax=1.0))
    with pytest.raises(ConfigError, match="irregular"):
        module.prepare(INFO.renamed(sfreq=0.0))
