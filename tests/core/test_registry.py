"""Plugin discovery through entry points, built-ins included, and the contract check."""

from __future__ import annotations

import itertools
import textwrap

import pytest

from bci_bridge import registry
from bci_bridge.errors import PluginError

_counter = itertools.count()


def make_plugin_module(tmp_path, monkeypatch, body: str) -> str:
    """Write a uniquely named importable module under tmp_path; return its name."""
    name = f"core_registry_plugin_{next(_counter)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_available_modules_include_builtins():
    names = registry.available("module")
    assert {"bandpass", "bandpower", "onnx"} <= set(names)
    assert names == sorted(names)


def test_available_devices_include_synthetic():
    assert "synthetic" in registry.available("device")


def test_load_by_entry_point_name():
    cls = registry.load("module", "bandpass")
    assert cls.__module__ == "decoders.bandpass"
    assert cls.__name__ == "BandPass"
    for attr in ("Config", "prepare", "step"):
        assert hasattr(cls, attr)


def test_load_device_by_entry_point_name():
    cls = registry.load("device", "synthetic")
    assert cls.__module__ == "devices.synthetic"


def test_unknown_name_lists_installed():
    with pytest.raises(PluginError) as info:
        registry.load("module", "nosuchmodule")
    message = str(info.value)
    assert "nosuchmodule" in message
    for name in ("bandpass", "bandpower", "onnx"):
        assert name in message


def test_names_are_per_group():
    with pytest.raises(PluginError, match="synthetic"):
        registry.load("module", "synthetic")  # a device, not a module
    with pytest.raises(PluginError):
        registry.load("device", "bandpass")


def test_load_by_import_path():
    assert registry.load("module", "decoders.bandpass:BandPass") is registry.load(
        "module", "bandpass"
    )


@pytest.mark.parametrize(
    "name",
    [
        "decoders.bandpass:Nope",
        "decoders.nosuch:BandPass",
        "nosuchpkg.mod:Cls",
        "decoders.bandpass:",
    ],
)
def test_bad_import_path(name):
    with pytest.raises(PluginError):
        registry.load("module", name)


def test_class_lacking_contract_methods(tmp_path, monkeypatch):
    mod = make_plugin_module(
        tmp_path,
        monkeypatch,
        """
        from dataclasses import dataclass

        @dataclass
        class Cfg:
            x: int = 0

        class NoStep:
            Config = Cfg
            def prepare(self, info): return info

        class NoConfig:
            def prepare(self, info): return info
            def step(self, chunk): return chunk

        class Fine:
            Config = Cfg
            def prepare(self, info): return info
            def step(self, chunk): return chunk
        """,
    )
    with pytest.raises(PluginError, match="step"):
        registry.load("module", f"{mod}:NoStep")
    with pytest.raises(PluginError, match="Config"):
        registry.load("module", f"{mod}:NoConfig")
    # A module is not a device: the device contract needs info/open/read/close.
    with pytest.raises(PluginError, match="open"):
        registry.load("device", f"{mod}:Fine")
    assert registry.load("module", f"{mod}:Fine").__name__ == "Fine"


# --- bugs found in bci_bridge/registry.py (these fail until fixed) -----------------------------


@pytest.mark.parametrize("name", [":BandPass", ".bandpass:BandPass"])
def test_malformed_import_path_is_a_plugin_error(name):
    """BUG: the ``pkg.mod:Class`` branch only catches ImportError and AttributeError.

    ``importlib.import_module("")`` raises ValueError and a relative name raises TypeError,
    so these escape load() (and parse_pipeline) instead of a PluginError / ConfigError.
    """
    with pytest.raises(PluginError):
        registry.load("module", name)


def test_plugin_raising_at_import_is_a_plugin_error(tmp_path, monkeypatch):
    """BUG: same branch; an entry point that fails at import is wrapped (``except Exception``),
    the same module named as ``pkg.mod:Class`` is not."""
    mod = make_plugin_module(tmp_path, monkeypatch, "raise RuntimeError('broken plugin')\n")
    with pytest.raises(PluginError, match="broken plugin"):
        registry.load("module", f"{mod}:Anything")
