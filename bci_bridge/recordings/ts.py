"""UEA/aeon ``.ts`` time-series classification files: multivariate, labelled.

Parsed here with numpy, and read by content: equal trials read as such whatever
``@equalLength`` says; unequal ones are cropped or padded when asked (``length``), else
refused. These files do not name their channels: names come from :data:`KNOWN_MONTAGES`, keyed
on the ``@problemName`` tag, else ``ch1`` .. ``chN``. The standard header has no sample rate: it
comes from :data:`KNOWN_SFREQ`, else from a non-standard ``@sfreq <Hz>`` tag, else from the
caller (``sfreq``); without any the file is refused (a guessed rate would replay at the wrong
speed).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings.hashing import read_bytes, sha256
from bci_bridge.recordings.trials import Trials

__all__ = ["KNOWN_MONTAGES", "KNOWN_SFREQ", "read_ts"]

#: descriptions shipped with the files: A1/A2 = mastoids against Cz, C3f = 2 cm frontal of C3,
#: C3p = 2 cm parietal of C3, vEOG = vertical electro-oculogram).
KNOWN_MONTAGES: dict[str, tuple[str, ...]] = {
    "SelfRegulationSCP1": ("A1-Cz", "A2-Cz", "C3f", "C3p", "C4f", "C4p"),
    "SelfRegulationSCP2": ("A1-Cz", "A2-Cz", "C3f", "C3p", "vEOG", "C4f", "C4p"),
}

#: Sample rates (Hz) of known ``.ts`` datasets, by ``@problemName``; ``.ts`` headers carry none.
KNOWN_SFREQ: dict[str, float] = {
    "SelfRegulationSCP1": 256.0,
    "SelfRegulationSCP2": 256.0,
}


def read_ts(p: Path, length_mode: str | None = None, sfreq: float | None = None) -> Trials:
    """Parse a labelled, multivariate ``.ts`` file (see :func:`read_trials` for the options).

    Trials are read by their content: ``@equalLength false`` with equal trials reads as usual.
    """
    raw = read_bytes(p)
    file = str(p)
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    tags: dict[str, str] = {}
    data_at = -1
    for number, line in enumerate(lines):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not s.startswith("@"):
            raise ConfigError(
                f"line {number + 1}: expected a @tag before @data, got {s[:40]!r}", file=file
            )
        name, _, value = s[1:].partition(" ")
        name = name.lower()
        if name == "data":
            data_at = number + 1
            break
        tags[name] = value.strip()
    if data_at < 0:
        raise ConfigError("no @data line: not a .ts file", file=file)

    def flag(name: str, default: bool) -> bool:
        value = tags.get(name.lower())
        if value is None:
            return default
        word = value.split()[0].lower() if value.split() else ""
        if word not in ("true", "false"):
            raise ConfigError(f"@{name} must be true or false, got {value!r}", file=file)
        return word == "true"

    if flag("timeStamps", False):
        raise ConfigError("@timeStamps true is not supported (only plain value lists)", file=file)
    class_tag = tags.get("classlabel", "")
    if not flag("classLabel", False):
        raise ConfigError("@classLabel is missing or false: trials need class labels", file=file)
    classes = class_tag.split()[1:]
    problem = tags.get("problemname", "")

    bodies: list[str] = []
    labels: list[str] = []
    lengths_seen: list[list[int]] = []
    n_dims = -1
    for number in range(data_at, len(lines)):
        line = lines[number].strip()
        if not line or line.startswith("#"):
            continue
        where = f"line {number + 1}"
        body, sep, label = line.rpartition(":")
        if not sep:
            raise ConfigError(f"{where}: no ':label' at the end of the trial", file=file)
        label = label.strip()
        if classes and label not in classes:
            raise ConfigError(
                f"{where}: label {label!r} is not one of @classLabel {classes}", file=file
            )
        if "?" in body:
            raise ConfigError(
                f"{where}: missing values ('?') are not supported; fill or drop the trial",
                file=file,
            )
        dims = body.split(":")
        if n_dims < 0:
            n_dims = len(dims)
        elif len(dims) != n_dims:
            raise ConfigError(
                f"{where}: {len(dims)} dimensions, earlier trials have {n_dims}", file=file
            )
        lengths_seen.append([d.count(",") + 1 for d in dims])
        bodies.append(body)
        labels.append(label)
    if not bodies:
        raise ConfigError("no trials after @data", file=file)
    shortest = min(min(ls) for ls in lengths_seen)
    longest = max(max(ls) for ls in lengths_seen)
    length = longest if length_mode == "pad" else shortest
    if shortest != longest and length_mode is None:
        raise ConfigError(
            f"trials of unequal lengths ({shortest} to {longest} samples); set [data] length = "
            '"crop" (to the shortest) or "pad" (to the longest) in the recipe',
            key="length",
            file=file,
        )
    for name, found in (("dimensions", n_dims), ("seriesLength", longest)):
        declared = tags.get(name.lower())
        if declared is not None and declared.isdigit() and int(declared) != found:
            raise ConfigError(f"@{name} says {declared}, the data has {found}", file=file)
    try:
        if shortest == longest:
            flat = [b.replace(":", ",") for b in bodies]
            values = np.loadtxt(flat, delimiter=",", dtype=np.float64, ndmin=2, comments=None)
            X = np.ascontiguousarray(values.reshape(len(bodies), n_dims, length))
        else:
            X = _ts_ragged(bodies, n_dims, length)
    except ValueError as exc:
        raise ConfigError(f"a value is not a number: {exc}", file=file) from exc
    rate = _ts_sfreq(problem, tags.get("sfreq"), file, sfreq)
    names = KNOWN_MONTAGES.get(problem, ())
    if len(names) != n_dims:
        names = tuple(f"ch{i + 1}" for i in range(n_dims))
    return Trials(
        X=X,
        y=np.array(labels, dtype=np.str_),
        sfreq=rate,
        channel_names=names,
        source=file,
        sha256=sha256(raw),
    )


def _ts_ragged(bodies: list[str], n_dims: int, length: int) -> npt.NDArray[np.float64]:
    """Trials of unequal length, each dimension cropped or edge-padded to ``length``."""
    X = np.empty((len(bodies), n_dims, length))
    for i, body in enumerate(bodies):
        for d, text in enumerate(body.split(":")):
            row = np.array(text.split(","), dtype=np.float64)[:length]
            X[i, d, : row.size] = row
            X[i, d, row.size :] = row[-1]
    return X


def _ts_sfreq(problem: str, tag: str | None, file: str, given: float | None = None) -> float:
    if problem in KNOWN_SFREQ:
        return KNOWN_SFREQ[problem]
    if tag is None:
        if given is not None:
            return given
        raise ConfigError(
            f"unknown sample rate: @problemName {problem!r} is not one of "
            f"{sorted(KNOWN_SFREQ)}; give sfreq = <Hz> in the recipe's [data], or add a line "
            "'@sfreq <Hz>' before @data",
            key="sfreq",
            file=file,
        )
    try:
        sfreq = float(tag)
    except ValueError:
        sfreq = math.nan
    if not (math.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(f"@sfreq must be a rate > 0 Hz, got {tag!r}", file=file)
    return sfreq
