"""Sliding windows: the labelling rule, and cross-validation splits that do not leak."""

from __future__ import annotations

import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from decoders.training.sliding import WindowsConfig, label_windows
from decoders.training.window_splits import make_window_splits

SFREQ = 10.0


def _by_hand(
    n_samples: int, events: list[tuple[int, str]], length: int, hop: int, span: int, off: int
) -> list[tuple[int, str, str]]:
    """The rule of decoders.training.sliding, sample by sample: (start, label, segment)."""
    out = []
    for s in range(0, n_samples - length + 1, hop):
        e = s + length - 1
        holding = {(k, lab) for k, (o, lab) in enumerate(events) if o + off <= e < o + span}
        if holding:
            if len({lab for _, lab in holding}) == 1:
                k = max(k for k, _ in holding)
                out.append((s, events[k][1], f"e{k}"))
            continue
        window = set(range(s, e + 1))
        if not any(window & set(range(o, o + span)) for o, _ in events):
            gap = sum(o <= s for o, _ in events)
            out.append((s, "rest", f"r{gap}"))
    return out


def test_windows_are_labelled_by_the_event_holding_their_end_and_rest_between() -> None:
    # 20 s at 10 Hz; events of 2 s; 1 s windows every 0.5 s; label from 0.5 s after onset.
    events = [(10, "left"), (50, "right"), (120, "left"), (160, "right")]
    config = WindowsConfig(length_s=1.0, hop_s=0.5, event_s=2.0, offset_s=0.5)
    got = label_windows(200, SFREQ, events, config)
    want = _by_hand(200, events, 10, 5, 20, 5)
    rows = zip(got.starts.tolist(), got.labels.tolist(), got.segments.tolist(), strict=True)
    assert list(rows) == want
    assert (got.length, got.hop, got.n_slid) == (10, 5, 39)
    assert got.counts() == {"left": 6, "right": 6, "rest": 19}
    # The windows of event 1 ("right" at sample 50) end 5 to 19 samples after it.
    ends = got.starts[got.segments == "e1"] + 9
    np.testing.assert_array_equal(ends, [59, 64, 69])
    # Rest: the windows inside [0, 10), [30, 50), [70, 120), [140, 160), [180, 200).
    np.testing.assert_array_equal(
        np.unique(got.segments[got.labels == "rest"]), [f"r{g}" for g in range(5)]
    )
    assert got.dropped["transition"] == 39 - 12 - 19
    # Without a rest class, the windows between events are dropped and counted.
    no_rest = label_windows(200, SFREQ, events, WindowsConfig(**{**_kw(config), "rest": ""}))
    assert "rest" not in no_rest.counts()
    assert no_rest.dropped["between events"] == 19


def _kw(config: WindowsConfig) -> dict[str, object]:
    return {k: getattr(config, k) for k in ("length_s", "hop_s", "event_s", "offset_s", "rest")}


def test_overlapping_events_of_two_labels_and_left_out_labels_are_dropped() -> None:
    events = [(10, "left"), (18, "right"), (60, "tongue")]
    config = WindowsConfig(length_s=0.5, hop_s=0.1, event_s=1.5)
    got = label_windows(100, SFREQ, events, config, labels=("left", "right"))
    assert got.dropped["ambiguous"] > 0  # ends in both 10..24 and 18..32
    assert got.dropped["unused label"] == 15  # the tongue event's 15 ends
    assert "tongue" not in got.counts()
    # No rest window touches the tongue event: it is an event, only not a class.
    rest = got.starts[got.labels == "rest"]
    assert not np.any((rest + 4 >= 60) & (rest < 75))


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"length_s": 0.0, "hop_s": 0.1, "event_s": 1.0}, "length_s"),
        ({"length_s": 1.0, "hop_s": -1.0, "event_s": 1.0}, "hop_s"),
        ({"length_s": 1.0, "hop_s": 0.1, "event_s": 1.0, "offset_s": 1.0}, "offset_s"),
    ],
)
def test_bad_windows_settings_name_the_key(table: dict[str, float], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        WindowsConfig(**table)  # type: ignore[arg-type]
    assert info.value.key == key


def test_a_rest_name_that_is_an_event_label_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        label_windows(100, SFREQ, [(10, "rest")], WindowsConfig(length_s=1, hop_s=1, event_s=2))
    assert info.value.key == "windows.rest"


def _long_recording() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """40 events alternating two labels, 3 s apart, 1 s each; 0.5 s windows every 0.1 s."""
    events = [(30 * k + 10, "ab"[k % 2]) for k in range(40)]
    got = label_windows(1220, SFREQ, events, WindowsConfig(length_s=0.5, hop_s=0.1, event_s=1.0))
    y = np.unique(got.labels, return_inverse=True)[1]
    return y, got.segments, got.starts, got.length


@pytest.mark.parametrize(("scheme", "repeats"), [("blocked", 1), ("grouped", 3)])
def test_window_splits_keep_segments_whole_and_purge_overlaps(scheme: str, repeats: int) -> None:
    y, segments, starts, length = _long_recording()
    splits = make_window_splits(scheme, 4, repeats, 0, y, segments, starts, length)
    assert splits.scheme == scheme
    assert len(splits.splits) == 4 * splits.repeats
    assert splits.n_groups == len(set(segments.tolist()))
    assert splits.purged > 0
    validated = np.zeros(len(y), dtype=int)
    for fit, val in splits.splits:
        validated[val] += 1
        assert not set(segments[fit].tolist()) & set(segments[val].tolist())
        val_samples = set(np.concatenate([np.arange(s, s + length) for s in starts[val]]).tolist())
        for s in starts[fit]:  # no fitted window shares a sample with a validated one
            assert not val_samples & set(range(s, s + length))
    np.testing.assert_array_equal(validated, splits.repeats)  # each window once per repeat


def test_blocked_window_folds_follow_time() -> None:
    y, segments, starts, length = _long_recording()
    splits = make_window_splits(None, 4, 5, 0, y, segments, starts, length)
    assert (splits.scheme, splits.repeats) == ("blocked", 1)
    firsts = [int(starts[val].min()) for _, val in splits.splits]
    assert firsts == sorted(firsts)
    for _, val in splits.splits:  # contiguous in time: one run of windows
        assert np.all(np.diff(starts[val]) > 0)


@pytest.mark.parametrize(
    ("scheme", "folds", "key", "words"),
    [
        ("shuffled", 4, "cv.scheme", "overlap"),
        ("grouped", 30, "cv.folds", "30 folds need at least 30 events"),
    ],
)
def test_window_split_errors_are_one_clear_line(
    scheme: str, folds: int, key: str, words: str
) -> None:
    y, segments, starts, length = _long_recording()
    with pytest.raises(ConfigError) as info:
        make_window_splits(scheme, folds, 1, 0, y, segments, starts, length, ("a", "b", "rest"))
    assert info.value.key == key
    assert words in info.value.message
    assert "\n" not in str(info.value)


def test_blocked_folds_of_one_class_say_to_group() -> None:
    # The classes in two long runs (a file sorted by class): a blocked fold holds one class.
    events = [(30 * k + 10, "a" if k < 20 else "b") for k in range(40)]
    cfg = WindowsConfig(length_s=0.5, hop_s=0.1, event_s=1.0, rest="")
    got = label_windows(1220, SFREQ, events, cfg)
    y = np.unique(got.labels, return_inverse=True)[1]
    with pytest.raises(ConfigError) as info:
        make_window_splits("blocked", 4, 1, 0, y, got.segments, got.starts, got.length)
    assert info.value.key == "cv.scheme"
    assert '"grouped"' in info.value.message
