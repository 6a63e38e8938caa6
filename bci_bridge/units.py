"""Channel units: one spelling inside bci-bridge, conversions between voltages, LSL spellings.

Inside bci-bridge a channel's unit is one of the short spellings ``"uV"``, ``"mV"``, ``"V"``,
``""`` (unknown), or any other text a module states for what it computes (``"log10(uV^2/Hz)"``
from band power, say). :func:`normalise_unit` maps what files and LSL apps write
(``microvolts``, ``µV``, ``uv``, ``Volts``...; mne-lsl's power-of-ten codes ``"-6"``, ``"0"``
for voltage channels) to those spellings. In an LSL description units are written the way the
XDF specification and LabRecorder spell them (``microvolts``, see :func:`lsl_unit`), which
mne-lsl also reads.
"""

from __future__ import annotations

__all__ = [
    "VOLTAGE_TYPES",
    "VOLTS_PER_UNIT",
    "is_voltage",
    "lsl_unit",
    "normalise_unit",
    "scale_factor",
]

#: Volts in one of each voltage unit.
VOLTS_PER_UNIT: dict[str, float] = {"V": 1.0, "mV": 1e-3, "uV": 1e-6}

#: Channel types whose samples are voltages (the MNE types with unit volts).
VOLTAGE_TYPES = frozenset({"eeg", "eog", "emg", "ecg", "seeg", "ecog", "dbs", "bio"})

_ALIASES: dict[str, str] = {
    "": "",
    "unknown": "",
    "none": "",
    "n/a": "",
    "v": "V",
    "volt": "V",
    "volts": "V",
    "mv": "mV",
    "millivolt": "mV",
    "millivolts": "mV",
    "uv": "uV",
    "µv": "uV",  # micro sign
    "μv": "uV",  # greek small letter mu
    "microvolt": "uV",
    "microvolts": "uV",
}

#: mne-lsl writes the FIFF ``unit_mul`` (a power of ten) for voltage channels.
_POWERS = {"0": "V", "-3": "mV", "-6": "uV"}

_LSL_SPELLINGS = {"V": "volts", "mV": "millivolts", "uV": "microvolts"}


def normalise_unit(text: str, channel_type: str = "") -> str:
    """Return the bci-bridge spelling of a unit.

    Parameters
    ----------
    text : str
        The unit as written (``microvolts``, ``µV``, ``uV``, ``"-6"``...).
    channel_type : str
        The channel's type (``eeg``...): power-of-ten codes (as mne-lsl writes them) are read
        as voltages only for the types in :data:`VOLTAGE_TYPES`, and as unknown otherwise.

    Returns
    -------
    str
        ``"uV"``, ``"mV"``, ``"V"``, ``""`` for unknown, or the text itself (stripped) for
        units that are not voltages.
    """
    stripped = text.strip()
    key = stripped.lower().replace(" ", "")
    if key in _ALIASES:
        return _ALIASES[key]
    if key.lstrip("+-").isdigit():
        return _POWERS.get(key.lstrip("+"), "") if channel_type.lower() in VOLTAGE_TYPES else ""
    return stripped


def is_voltage(unit: str) -> bool:
    """Whether ``unit`` (normalised) is a voltage unit: ``uV``, ``mV`` or ``V``."""
    return unit in VOLTS_PER_UNIT


def scale_factor(source: str, target: str) -> float:
    """Return the factor that turns values in ``source`` units into ``target`` units.

    Parameters
    ----------
    source, target : str
        Units, normalised or not (see :func:`normalise_unit`).

    Returns
    -------
    float
        E.g. ``1e6`` from ``"V"`` to ``"uV"``; ``1.0`` for equal units.

    Raises
    ------
    ValueError
        If the units differ and are not both voltages (unknown units are not converted).
    """
    a, b = normalise_unit(source), normalise_unit(target)
    if a == b and a:
        return 1.0
    if not (is_voltage(a) and is_voltage(b)):
        raise ValueError(
            f"cannot convert {a or 'unknown units'!r} to {b or 'unknown units'!r}; "
            f"convertible units: {', '.join(VOLTS_PER_UNIT)}"
        )
    return VOLTS_PER_UNIT[a] / VOLTS_PER_UNIT[b]


def lsl_unit(unit: str) -> str:
    """Spell a unit for an LSL description (XDF convention): ``uV`` -> ``microvolts``."""
    return _LSL_SPELLINGS.get(unit, unit)
