"""``bci-bridge train`` on continuous recordings: picks by channel type, searchable ``C``, errors.

The recordings are real EEG: SCP1 trials laid end to end and saved as FIF. SCP1 states no channel
types; the tests mark its two mastoid-referenced channels (``A1-Cz``, ``A2-Cz``) as EOG in the
FIF, so that a file holds two types to pick from.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import SCP1

from bci_bridge.cli.main import main
from bci_bridge.errors import ConfigError
from bci_bridge.record.xdf_writer import XdfWriter, footer_xml
from bci_bridge.recordings import Recording, Trials, read_recording, to_mne_raw
from bci_bridge.recordings.picks import pick_recording
from decoders.manifest import read_manifest
from decoders.training.head import LinearHead
from decoders.training.trainer import train

QUICK = ("--set", "cv.repeats=1", "--set", "cv.folds=3")
EEG = ["C3f", "C3p", "C4f", "C4p"]
EOG = ["A1-Cz", "A2-Cz"]


@pytest.fixture(scope="module")
def fif(tmp_path_factory: pytest.TempPathFactory, scp1_train: Trials) -> Path:
    """Every 4th SCP1 TRAIN trial (67), end to end, two channels typed EOG, as FIF."""
    trials = replace(scp1_train, X=scp1_train.X[::4], y=scp1_train.y[::4])
    raw = to_mne_raw(Recording.from_trials(trials))
    raw.set_channel_types(dict.fromkeys(EOG, "eog"), verbose="error")
    path = tmp_path_factory.mktemp("fif") / "scp1_raw.fif"
    raw.save(path, verbose="error")
    return path


def _recipe(folder: Path, fif: Path, data: str, rest: str = "windows") -> Path:
    windows = (
        "[windows]\nlength_s = 1.0\nhop_s = 0.5\nevent_s = 1.5\noffset_s = 0.5\n"
        if rest == "windows"
        else ""
    )
    text = (
        f'[data]\ntrain = "{fif}"\n{data}\n{windows}'
        '[decoder]\nfamily = "segment_means_lda"\nsegments = [2, 4]\n'
        f'[cv]\nscheme = "{"grouped" if windows else "shuffled"}"\n'
    )
    path = folder / "recipe.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_channel_types_pick_the_files_types_and_the_pipeline_picks_them_by_name(
    tmp_path: Path, fif: Path
) -> None:
    rec = read_recording(fif, channel_types=("eeg", "eog"))
    assert rec.channel_types == ("eog", "eog", "eeg", "eeg", "eeg", "eeg")
    assert read_recording(fif).channel_names == tuple(EEG)  # EEG only, as before
    for types, names, windows in (("eeg", EEG, "windows"), ("eog", EOG, "epochs")):
        data = f'channel_types = ["{types}"]' + ("\ntmin = 0.0\ntmax = 3.5" * (windows == "epochs"))
        recipe = _recipe(tmp_path, fif, data, windows)
        model, pipeline = tmp_path / f"{types}.onnx", tmp_path / f"{types}.toml"
        argv = ["train", str(recipe), "--out", str(model), "--pipeline", str(pipeline), *QUICK]
        assert main(argv) == 0
        manifest = read_manifest(model)
        assert manifest is not None
        assert manifest["channel_names"] == names
        nodes = tomllib.loads(pipeline.read_text(encoding="utf-8"))["nodes"]
        pick = next(n for n in nodes if n["module"] == "pick")
        assert pick["params"]["channels"] == names
        assert ("hop_samples" in manifest) == (windows == "windows")
        assert [n["module"] for n in nodes][-1] == "onnx"
        assert ("epoch" in [n["module"] for n in nodes]) == (windows == "epochs")


def test_xdf_channel_types_come_from_the_header(tmp_path: Path) -> None:
    path = tmp_path / "typed.xdf"
    channels = "".join(
        f"<channel><label>{name}</label><unit>microvolts</unit><type>{kind}</type></channel>"
        for name, kind in (("C3", "EEG"), ("HEOG", "EOG"), ("C4", "EEG"))
    )
    header = (
        '<?xml version="1.0"?><info><name>EEG</name><type>EEG</type><channel_count>3'
        "</channel_count><nominal_srate>100</nominal_srate><channel_format>float32"
        f"</channel_format><desc><channels>{channels}</channels></desc></info>"
    )
    x = np.arange(300, dtype=np.float32).reshape(100, 3)
    ts = np.arange(100) / 100.0
    w = XdfWriter(path)
    w.stream_header(1, header, "float32")
    w.samples(1, ts, x)
    w.stream_footer(1, footer_xml(float(ts[0]), float(ts[-1]), len(ts)))
    w.close()
    rec = read_recording(path)
    assert rec.channel_types == ("eeg", "eog", "eeg")
    eeg = pick_recording(rec, channel_types=["EEG"])
    assert eeg.channel_names == ("C3", "C4")
    np.testing.assert_array_equal(eeg.data, x[:, [0, 2]])
    with pytest.raises(ConfigError) as info:
        pick_recording(rec, channel_types=["emg"])
    assert (info.value.key, info.value.file) == ("channel_types", str(path))
    assert "['eeg', 'eog']" in info.value.message


@pytest.mark.parametrize(
    ("data", "key", "words"),
    [
        ('channel_types = ["emg"]', "data.channel_types", "no channel of type ['emg']"),
        ('channel_types = ["misc"]', "data.channel_types", "not voltages"),
        ('channel_types = ["eeg"]\nchannels = ["C3f"]', "data.channel_types", "not both"),
        ("tmin = 0.0", "data.tmin", "remove data.tmin"),
    ],
)
def test_continuous_errors_name_the_recipe_and_the_key(
    tmp_path: Path, fif: Path, data: str, key: str, words: str
) -> None:
    recipe = _recipe(tmp_path, fif, data)
    with pytest.raises(ConfigError) as info:
        train(recipe, tmp_path / "m.onnx")
    assert (info.value.key, info.value.file) == (key, str(recipe))
    assert words in info.value.message
    assert "\n" not in str(info.value)


def test_a_trials_file_has_no_channel_types(tmp_path: Path) -> None:
    ts = SCP1 / "SelfRegulationSCP1_TRAIN.ts"
    recipe = _recipe(tmp_path, ts, 'channel_types = ["eeg"]', rest="epochs")
    with pytest.raises(ConfigError) as info:
        train(recipe, tmp_path / "m.onnx")
    assert (info.value.key, info.value.file) == ("data.channel_types", str(recipe))
    assert "states no channel types" in info.value.message


def test_c_is_searched_and_every_c_is_listed(tmp_path: Path) -> None:
    recipe = _recipe(tmp_path, SCP1 / "SelfRegulationSCP1_TRAIN.ts", "", rest="epochs")
    model, report_path = tmp_path / "c.onnx", tmp_path / "c.json"
    argv = ["train", str(recipe), "--out", str(model), "--report", str(report_path), *QUICK]
    argv += ["--set", "decoder.segments=4", "--set", 'decoder.classifier="logreg"']
    assert main([*argv, "--set", "decoder.C=[0.1, 1, 10]"]) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    rows = report["selection"]
    assert [r["settings"]["C"] for r in rows] == [0.1, 1, 10]
    assert all(r["cv_mean"] is not None for r in rows)
    chosen = next(r for r in rows if r["chosen"])
    assert report["params"]["decoder"]["C"] == chosen["settings"]["C"]
    manifest = read_manifest(model)
    assert manifest is not None
    assert manifest["family"]["head"]["C"] == chosen["settings"]["C"]


def test_c_sets_the_strength_and_is_refused_for_lda(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    F = rng.normal(size=(60, 5))
    y = (F[:, 0] + 0.5 * rng.normal(size=60) > 0).astype(np.intp)
    norms = []
    for C in (0.001, 100.0):
        head = LinearHead("logreg", 2, C=C)
        head.fit(F, y)
        norms.append(float(np.linalg.norm(head.weights)))
    assert norms[0] < norms[1] / 10  # strong regularisation shrinks the weights
    recipe = _recipe(tmp_path, SCP1 / "SelfRegulationSCP1_TRAIN.ts", "", rest="epochs")
    with pytest.raises(ConfigError) as info:
        train(recipe, tmp_path / "m.onnx", overrides=['decoder.classifier="lda"', "decoder.C=1"])
    assert (info.value.key, info.value.file) == ("decoder.C", str(recipe))
    assert 'classifier = "logreg"' in info.value.message


def test_sliding_windows_at_a_resampled_rate(tmp_path: Path, fif: Path) -> None:
    """``[data] sfreq``: the recording is resampled whole and windowed at the new rate; the
    pipeline resamples before it decodes every hop."""
    recipe = _recipe(tmp_path, fif, "sfreq = 128.0")
    model, report_path, pipeline = (tmp_path / n for n in ("r.onnx", "r.json", "r.toml"))
    argv = ["train", str(recipe), "--out", str(model), "--report", str(report_path), *QUICK]
    assert main([*argv, "--pipeline", str(pipeline)]) == 0
    report = json.loads(report_path.read_text(encoding="utf-8"))
    windows = report["windows"]
    assert (windows["length_samples"], windows["hop_samples"]) == (128, 64)
    # 67 trials of 3.5 s at 128 Hz (448 samples), end to end: windows every 0.5 s.
    assert windows["train"][0]["windows"] == (67 * 448 - 128) // 64 + 1
    manifest = read_manifest(model)
    assert manifest is not None
    assert (manifest["sfreq"], manifest["window_samples"], manifest["hop_samples"]) == (
        128.0,
        128,
        64,
    )
    nodes = tomllib.loads(pipeline.read_text(encoding="utf-8"))["nodes"]
    assert [n["module"] for n in nodes] == ["pick", "resample", "onnx"]
    assert nodes[-1]["params"]["hop"] == 64
