"""The decoder manifest: what an ONNX model made by ``bci-bridge train`` expects of its input.

It travels inside the model, as the ``metadata_props`` entry :data:`KEY`, whose value is JSON::

    {"version": 1, "input": "window" | "features",
     "channel_names": [...], "units": ["uV", ...], "sfreq": 256.0, "window_samples": 896,
     "filters": [{"module": "bandpass", "params": {...}}, ...],
     "classes": [...],
     "trained_on": {"source": "...", "sha256": "...", "n_trials": 268},
     "scores": {...}, "created_by": "bci-bridge train"}

``version``, ``input``, ``channel_names`` and ``classes`` are required; window models also need
``sfreq`` and ``window_samples``. ``units`` (optional: missing means unknown) gives the unit
the model was trained in, per channel (see :mod:`bci_bridge.units`). :mod:`decoders.onnx_module`
checks a model's manifest against the live stream when the pipeline is prepared.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import onnx

from bci_bridge.errors import ModelError

__all__ = ["KEY", "VERSION", "parse_manifest", "read_manifest", "write_manifest"]

#: The ``metadata_props`` key that holds the manifest.
KEY = "bci_bridge.manifest"
#: The manifest version this code reads and writes.
VERSION = 1


def read_manifest(model: str | Path | onnx.ModelProto) -> dict[str, Any] | None:
    """Return the manifest of a model, or ``None`` if it has none.

    Parameters
    ----------
    model : str, Path or onnx.ModelProto
        A model file, or a loaded model.

    Raises
    ------
    ModelError
        If the manifest is not valid JSON, has an unknown version, or misses or mistypes a
        field (see the module docs).
    """
    where = "the model"
    if not isinstance(model, onnx.ModelProto):
        where = str(model)
        try:
            model = onnx.load(str(model), load_external_data=False)
        except Exception as exc:  # protobuf DecodeError, OSError...
            raise ModelError(f"{where} is not a readable ONNX model ({exc})", key="model") from exc
    for prop in model.metadata_props:
        if prop.key == KEY:
            return parse_manifest(prop.value, where)
    return None


def write_manifest(model: onnx.ModelProto, manifest: dict[str, Any]) -> None:
    """Store ``manifest`` in ``model`` (replacing any), after checking it.

    Parameters
    ----------
    model : onnx.ModelProto
        The model, changed in place; save it afterwards.
    manifest : dict
        The manifest (see the module docs); ``version`` defaults to :data:`VERSION`.

    Raises
    ------
    ModelError
        If the manifest is not valid (the same checks as :func:`read_manifest`).
    """
    manifest = {"version": VERSION, **manifest}
    text = json.dumps(manifest, allow_nan=False, sort_keys=False)
    parse_manifest(text, "the manifest to write")
    kept = [p for p in model.metadata_props if p.key != KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    entry = model.metadata_props.add()
    entry.key = KEY
    entry.value = text


def parse_manifest(text: str, where: str) -> dict[str, Any]:
    """Parse and check a manifest's JSON text.

    Parameters
    ----------
    text : str
        The JSON value of the :data:`KEY` entry.
    where : str
        What it came from (a path), for the error messages.

    Returns
    -------
    dict
        The manifest.

    Raises
    ------
    ModelError
        If it is not a JSON object, its version is unknown, or a field is missing or mistyped.
    """
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise ModelError(
            f"{where}: manifest {KEY!r} is not valid JSON ({exc})", key="model"
        ) from exc
    if not isinstance(obj, dict):
        raise ModelError(f"{where}: manifest {KEY!r} must be a JSON object", key="model")

    def bad(field: str, what: str) -> ModelError:
        return ModelError(f"{where}: manifest field {field!r} {what}", key="model")

    version = obj.get("version")
    if version != VERSION or isinstance(version, bool):
        raise bad("version", f"is {version!r}; this bci-bridge reads version {VERSION} only")
    if obj.get("input") not in ("window", "features"):
        raise bad("input", f"must be 'window' or 'features', got {obj.get('input')!r}")
    for field in ("channel_names", "classes"):
        names = obj.get(field)
        if not (isinstance(names, list) and names and all(isinstance(n, str) and n for n in names)):
            raise bad(field, f"must be a non-empty list of names, got {names!r}")
        if len(set(names)) != len(names):
            raise bad(field, f"repeats names: {names!r}")
    units = obj.get("units")
    if units is not None and not (
        isinstance(units, list)
        and len(units) == len(obj["channel_names"])
        and all(isinstance(u, str) for u in units)
    ):
        raise bad("units", f"must list one unit per channel (strings), got {units!r}")
    window = obj["input"] == "window"
    sfreq = obj.get("sfreq")
    if (window or sfreq is not None) and not (
        isinstance(sfreq, int | float)
        and not isinstance(sfreq, bool)
        and math.isfinite(sfreq)
        and sfreq > 0
    ):
        raise bad("sfreq", f"must be a sample rate > 0 Hz, got {sfreq!r}")
    samples = obj.get("window_samples")
    if (window or samples is not None) and not (
        isinstance(samples, int) and not isinstance(samples, bool) and samples > 0
    ):
        raise bad("window_samples", f"must be a whole number of samples > 0, got {samples!r}")
    filters = obj.get("filters", [])
    if not (
        isinstance(filters, list)
        and all(
            isinstance(f, dict)
            and isinstance(f.get("module"), str)
            and isinstance(f.get("params", {}), dict)
            for f in filters
        )
    ):
        raise bad("filters", "must be a list of {'module': name, 'params': {...}}")
    return obj
