"""build_config: a plugin's Config dataclass from a TOML table, errors naming the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config


@dataclass(frozen=True, kw_only=True)
class Sample:
    rate: float = 1.0
    count: int = 1
    name: str = "x"
    flag: bool = False
    gains: tuple[float, ...] = ()
    bands: tuple[tuple[float, float], ...] = ()
    pair: tuple[int, str] = (0, "")
    items: list[int] = field(default_factory=list)
    mode: Literal["fast", "slow"] = "fast"
    maybe: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    anything: Any = None


@dataclass(frozen=True, kw_only=True)
class Required:
    low: float
    high: float = 2.0


@dataclass(frozen=True, kw_only=True)
class Checked:
    low: float
    high: float

    def __post_init__(self) -> None:
        if self.low >= self.high:
            raise ConfigError(f"low must be < high, got {self.low} >= {self.high}", key="low")


@dataclass(frozen=True, kw_only=True)
class Raises:
    value: int = 0

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("value must be >= 0")


@dataclass(frozen=True)
class NoInit:
    a: int = 0
    derived: int = field(init=False, default=0)


def key_of(cls: type, table: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        build_config(cls, table)
    return info.value


def test_empty_table_gives_defaults():
    assert build_config(Sample, {}) == Sample()


def test_int_is_coerced_to_float():
    cfg = build_config(Sample, {"rate": 3})
    assert cfg.rate == 3.0
    assert type(cfg.rate) is float


def test_int_stays_int():
    cfg = build_config(Sample, {"count": 3})
    assert cfg.count == 3
    assert type(cfg.count) is int


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("count", True),
        ("count", 1.5),
        ("count", "3"),
        ("rate", True),
        ("rate", "1.0"),
        ("flag", 1),
        ("name", 3),
        ("gains", "1,2"),
        ("items", 3),
        ("extra", [1]),
    ],
)
def test_wrong_types_are_refused_with_the_key(key, value):
    err = key_of(Sample, {key: value})
    assert err.key == key
    assert repr(value) in err.message


def test_list_becomes_tuple():
    cfg = build_config(Sample, {"gains": [1, 2.5, 3]})
    assert cfg.gains == (1.0, 2.5, 3.0)
    assert type(cfg.gains) is tuple
    assert all(type(g) is float for g in cfg.gains)


def test_list_stays_list():
    cfg = build_config(Sample, {"items": [1, 2]})
    assert cfg.items == [1, 2]


def test_nested_tuples():
    cfg = build_config(Sample, {"bands": [[8, 13], [13.5, 30]]})
    assert cfg.bands == ((8.0, 13.0), (13.5, 30.0))
    assert all(type(x) is float for band in cfg.bands for x in band)


def test_nested_tuple_wrong_length_names_the_element():
    err = key_of(Sample, {"bands": [[8, 13], [1, 2, 3]]})
    assert err.key == "bands[1]"


def test_nested_tuple_wrong_type_names_the_element():
    err = key_of(Sample, {"bands": [[8, 13], [1, "x"]]})
    assert err.key == "bands[1][1]"


def test_fixed_tuple():
    assert build_config(Sample, {"pair": [3, "a"]}).pair == (3, "a")
    assert key_of(Sample, {"pair": [3]}).key == "pair"
    assert key_of(Sample, {"pair": ["a", "b"]}).key == "pair[0]"


def test_literal():
    assert build_config(Sample, {"mode": "slow"}).mode == "slow"
    err = key_of(Sample, {"mode": "medium"})
    assert err.key == "mode"
    assert "'fast'" in err.message
    assert "'slow'" in err.message


def test_optional():
    assert build_config(Sample, {"maybe": None}).maybe is None
    assert build_config(Sample, {"maybe": 2}).maybe == 2.0
    assert key_of(Sample, {"maybe": "x"}).key == "maybe"


def test_any_and_dict_pass_through():
    cfg = build_config(Sample, {"anything": [1, "a"], "extra": {"k": 1}})
    assert cfg.anything == [1, "a"]
    assert cfg.extra == {"k": 1}


def test_unknown_key_lists_accepted_keys():
    err = key_of(Required, {"low": 1.0, "lowx": 2.0})
    assert err.key == "lowx"
    assert "high" in err.message
    assert "low" in err.message


def test_first_unknown_key_is_reported_in_sorted_order():
    assert key_of(Required, {"zz": 1, "aa": 2}).key == "aa"


def test_non_init_fields_are_not_keys():
    assert build_config(NoInit, {"a": 1}).a == 1
    assert key_of(NoInit, {"derived": 1}).key == "derived"


def test_missing_required_key():
    err = key_of(Required, {"high": 3.0})
    assert err.key == "low"
    assert "missing" in err.message


def test_post_init_config_error_keeps_its_key():
    err = key_of(Checked, {"low": 5, "high": 1})
    assert err.key == "low"
    assert "low must be < high" in err.message


def test_post_init_value_error_becomes_config_error():
    err = key_of(Raises, {"value": -1})
    assert "value must be >= 0" in err.message
    assert isinstance(err.__cause__, ValueError)


def test_not_a_dataclass():
    class Plain:
        pass

    with pytest.raises(ConfigError, match="not a dataclass"):
        build_config(Plain, {})


# --- bugs found in bci_bridge/params.py (these fail until fixed) -------------------------------


def test_huge_int_for_a_float_is_a_config_error():
    """BUG: ``float(value)`` on a huge TOML integer raises OverflowError, not ConfigError.

    tomllib parses integers of any size, so ``low = 1000...0`` (400 digits) in a pipeline file
    crashes the loader with a traceback instead of an error naming the key.
    """
    err = key_of(Sample, {"rate": 10**400})
    assert err.key == "rate"
