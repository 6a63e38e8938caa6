"""The candidates a ``[decoder]`` table describes: every family and every combination of settings.

::

    [decoder]
    family = "segment_means_bandpower"     # a family, a list of families, or "auto" (all)
    segments = [7, 14, 28]                 # a list where one value is expected: search these
    bands = [[[30.0, 45.0]], [[20.0, 45.0]]]
    classifier = "logreg"                  # a single value: fixed

    [decoder.csp_lda]                      # settings for one family only (same rules)
    n_filters = [2, 4]

A value is a list of alternatives when it is nested one level deeper than the setting itself:
``segments`` takes an int, so ``[7, 14]`` is two alternatives; ``bands`` takes a list of pairs,
so ``[[30, 45]]`` is one value and ``[[[30, 45]], [[20, 45]]]`` two. A shared setting applies to
every family named that takes it; one that none of them takes is an error. Candidates are the
cartesian product of the alternatives, per family, in the order written.
"""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
from dataclasses import dataclass
from typing import Any

from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config
from decoders.training.families import FAMILIES

__all__ = ["AUTO", "Candidate", "expand"]

#: ``family = "auto"``: every family that applies to the data.
AUTO = "auto"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One decoder to cross-validate: a family and its built ``Config``.

    Attributes
    ----------
    family : str
        A key of :data:`decoders.training.families.FAMILIES`.
    settings : dict
        The settings that vary or were written, JSON-ready, for the report.
    config : Any
        The family's ``Config`` dataclass, validated.
    auto : bool
        True when the family came from ``"auto"``: a family that does not fit the data is
        skipped rather than an error.
    """

    family: str
    settings: dict[str, Any]
    config: Any
    auto: bool = False

    def label(self) -> str:
        """Return a one-line name, e.g. ``segment_means_lda segments=7``."""
        parts = " ".join(f"{k}={_short(v)}" for k, v in self.settings.items())
        return f"{self.family} {parts}".rstrip()


def expand(decoder: dict[str, Any]) -> tuple[Candidate, ...]:
    """Expand a ``[decoder]`` table into candidates (see the module docs).

    Raises
    ------
    ConfigError
        With ``key`` relative to ``decoder`` (``family``, a setting, ``<family>.<setting>``).
    """
    table = dict(decoder)
    written = table.pop("family", None)
    auto = written == AUTO
    if auto:
        families = list(FAMILIES)
    elif isinstance(written, str):
        families = [written]
    elif isinstance(written, list) and written and all(isinstance(f, str) for f in written):
        families = list(dict.fromkeys(written))
    else:
        raise ConfigError(
            f'needs a family name, a list of them or "auto"; got {written!r}', key="family"
        )
    for name in families:
        if name not in FAMILIES:
            raise ConfigError(
                f'must be one of {", ".join(sorted(FAMILIES))} or "auto", got {name!r}',
                key="family",
            )
    own = {k: table.pop(k) for k in list(table) if k in FAMILIES and isinstance(table[k], dict)}
    for name in own:
        if name not in families:
            raise ConfigError(
                f"settings for a family not searched; add {name!r} to decoder.family", key=name
            )
    takes = {name: _fields(FAMILIES[name].Config) for name in families}
    for key in table:
        if not any(key in t for t in takes.values()):
            known = sorted(set().union(*takes.values()))
            raise ConfigError(
                f"unknown key; {', '.join(families)} take: {', '.join(known)}", key=key
            )
    out: list[Candidate] = []
    for name in families:
        cls = FAMILIES[name].Config
        shared = {k: v for k, v in table.items() if k in takes[name]}
        mine = own.get(name, {})
        values = {**shared, **mine}
        prefix = {k: (f"{name}.{k}" if k in mine else k) for k in values}
        options = {k: _alternatives(cls, k, v, prefix[k]) for k, v in values.items()}
        for combo in itertools.product(*options.values()):
            chosen = dict(zip(options, combo, strict=True))
            try:
                config = build_config(cls, chosen)
            except ConfigError as exc:
                where = prefix.get(exc.key or "", exc.key)
                raise ConfigError(
                    f"{exc.message} (family {name}, {_describe(chosen)})", key=where
                ) from exc
            out.append(Candidate(name, _json(chosen), config, auto))
    return tuple(out)


def _fields(cls: type[Any]) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def _alternatives(cls: type[Any], name: str, value: Any, key: str) -> list[Any]:
    """Return the alternatives ``value`` gives for field ``name`` of ``cls``."""
    if name not in _fields(cls):
        raise ConfigError(f"unknown key; {cls.__qualname__} takes: {sorted(_fields(cls))}", key=key)
    want = _depth_of_hint(typing.get_type_hints(cls)[name])
    if isinstance(value, list) and _depth_of_value(value) == want + 1:
        if not value:
            raise ConfigError("an empty list of alternatives; give at least one value", key=key)
        return list(value)
    return [value]


def _depth_of_hint(hint: Any) -> int:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return max(_depth_of_hint(a) for a in args if a is not type(None))
    if origin in (tuple, list):
        return 1 + _depth_of_hint(args[0]) if args else 1
    return 0


def _depth_of_value(value: Any) -> int:
    if isinstance(value, list | tuple):
        return 1 + (_depth_of_value(value[0]) if value else 0)
    return 0


def _json(settings: dict[str, Any]) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        return [plain(x) for x in v] if isinstance(v, list | tuple) else v

    return {k: plain(v) for k, v in settings.items()}


def _short(value: Any) -> str:
    return str(value).replace(" ", "")


def _describe(settings: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in settings.items()) or "defaults"
