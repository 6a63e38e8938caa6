"""Plugin descriptions: the numpy ``Parameters`` section, field metadata, every built-in."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import pytest

from bci_bridge import registry
from bci_bridge.cli.list_cmd import format_plugin
from bci_bridge.errors import PluginError
from bci_bridge.plugin_docs import describe_plugin, parse_parameters


@dataclass(frozen=True, slots=True, kw_only=True)
class _Config:
    """Settings.

    Parameters
    ----------
    low, high : float
        Cut-offs in Hz,
        low < high.
    order : int
        Filter order.

    Notes
    -----
    order : not a parameter
        Must not be read as one.
    """

    low: float
    high: float = 30.0
    order: int = 4
    taps: tuple[float, ...] = field(default=(), metadata={"doc": "FIR taps, from metadata."})


class _Plugin:
    """A test module.

    More text that is not the summary.
    """

    Config = _Config

    def prepare(self, info: object) -> object:
        return info

    def step(self, chunk: object) -> object:
        return chunk


def test_parameters_section_is_read_and_stops_at_the_next_section() -> None:
    params = parse_parameters(inspect.getdoc(_Config) or "")
    assert params == {
        "low": ("float", "Cut-offs in Hz, low < high."),
        "high": ("float", "Cut-offs in Hz, low < high."),
        "order": ("int", "Filter order."),
    }


def test_a_plugin_is_described_field_by_field() -> None:
    doc = describe_plugin("module", f"{__name__}:_Plugin")
    assert doc.summary == "A test module."
    assert [(f.name, f.type, f.default) for f in doc.fields] == [
        ("low", "float", "required"),
        ("high", "float", "30.0"),
        ("order", "int", "4"),
        ("taps", "tuple[float, ...]", "()"),
    ]
    assert doc.fields[3].doc == "FIR taps, from metadata."
    text = format_plugin(doc)
    assert "high : float = 30.0" in text
    assert "Filter order." in text


@pytest.mark.parametrize("kind", ["device", "module"])
def test_every_built_in_documents_every_setting(kind: registry.Kind) -> None:
    names = registry.available(kind)
    assert names
    for name in names:
        doc = describe_plugin(kind, name)
        assert doc.summary, f"{kind} {name}: no docstring"
        undocumented = [f.name for f in doc.fields if not f.doc]
        assert not undocumented, f"{kind} {name}: Config fields without a doc: {undocumented}"


def test_an_unknown_plugin_is_a_plugin_error() -> None:
    with pytest.raises(PluginError, match="nosuch"):
        describe_plugin("module", "nosuch")
