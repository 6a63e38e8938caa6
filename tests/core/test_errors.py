"""The error tree and ConfigError's key paths."""

from __future__ import annotations

import pytest

from bci_bridge.errors import (
    BciBridgeError,
    ConfigError,
    ModelError,
    ModuleStepError,
    PluginError,
    StreamNotFoundError,
    WireError,
)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (ConfigError, ValueError),
        (ModelError, ConfigError),
        (PluginError, LookupError),
        (WireError, ValueError),
        (StreamNotFoundError, TimeoutError),
        (ModuleStepError, RuntimeError),
    ],
)
def test_tree(cls, builtin):
    assert issubclass(cls, BciBridgeError)
    assert issubclass(cls, builtin)


def test_config_error_renders_file_and_key():
    assert str(ConfigError("bad")) == "bad"
    assert str(ConfigError("bad", key="a.b")) == "a.b: bad"
    assert str(ConfigError("bad", key="a.b", file="p.toml")) == "p.toml: a.b: bad"
    assert str(ConfigError("bad", file="p.toml")) == "p.toml: bad"


def test_within_prefixes_the_key():
    err = ConfigError("bad", key="low").within(key="nodes[1].params")
    assert err.key == "nodes[1].params.low"
    assert str(err) == "nodes[1].params.low: bad"


def test_within_joins_an_index_without_a_dot():
    assert ConfigError("bad", key="[2]").within(key="bands").key == "bands[2]"


def test_within_without_inner_key_and_file():
    err = ConfigError("bad").within(key="nodes[0].params", file="p.toml")
    assert (err.key, err.file) == ("nodes[0].params", "p.toml")
    assert ConfigError("bad", key="k").within().key == "k"


def test_within_keeps_the_first_file_the_type_and_the_cause():
    cause = OSError("disk")
    inner = ModelError("unreadable", key="model", file="first.toml")
    inner.__cause__ = cause
    err = inner.within(key="nodes[0].params", file="second.toml")
    assert type(err) is ModelError
    assert err.file == "first.toml"
    assert err.key == "nodes[0].params.model"
    assert err.__cause__ is cause


def test_module_step_error_names_the_node():
    cause = ZeroDivisionError("division by zero")
    err = ModuleStepError("decoder", cause)
    assert err.node == "decoder"
    assert err.__cause__ is cause
    assert "decoder" in str(err)
    assert "ZeroDivisionError" in str(err)
