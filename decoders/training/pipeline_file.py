"""Write a ready-to-run pipeline TOML for a trained window decoder.

The pipeline picks the model's channels in its order, applies the manifest's filters to the
continuous stream, cuts one window per marker (``epoch`` node, fed by the marker input) and runs
the model on it (``onnx`` node). A model trained on sliding windows (its manifest has
``hop_samples``) gets no marker input and no ``epoch`` node: its ``onnx`` node keeps the last
window of the stream and decodes it every hop (``trigger = "hop"``), the windows it was
trained on. Endpoints and stream names are defaults for a local bridge;
change them in the file or with ``bci-bridge run --set``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["pipeline_toml", "write_pipeline"]


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | str):
        return json.dumps(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def pipeline_toml(
    manifest: dict[str, Any],
    model: str,
    *,
    stream: str = "EEG",
    markers: str = "EEG-Markers",
    tmin: float = 0.0,
    labels: tuple[str, ...] = (),
) -> str:
    """Return the pipeline text for ``manifest`` and a model path (relative to the pipeline file).

    Parameters
    ----------
    manifest : dict
        The model's manifest.
    model : str
        Path of the ``.onnx`` file, as the pipeline should name it.
    stream, markers : str
        Names of the bridged EEG and marker streams.
    tmin : float
        Window start relative to each marker, seconds.
    labels : tuple of str
        Marker labels that start a window (empty: every marker).
    """
    window_s = manifest["window_samples"] / manifest["sfreq"]
    hop = manifest.get("hop_samples")
    chain = "pick -> filters -> onnx every hop" if hop else "pick -> filters -> epoch -> onnx"
    lines = [
        f"# Made by bci-bridge train for {model}: {chain}.",
        "[pipeline]",
        'name = "decoder"',
        "",
        "[[inputs]]",
        'name = "eeg"',
        f"stream = {_value(stream)}",
        'endpoint = "tcp://127.0.0.1:5555"',
        "",
    ]
    if not hop:
        lines += [
            "[[inputs]]",
            'name = "markers"',
            f"stream = {_value(markers)}",
            'endpoint = "tcp://127.0.0.1:5557"',
            "",
        ]
    lines += [
        "[[nodes]]",
        'name = "pick"',
        'module = "pick"',
        'input = "eeg"',
        f"params = {_value({'channels': manifest['channel_names']})}",
    ]
    for i, f in enumerate(manifest.get("filters", [])):
        lines += [
            "",
            "[[nodes]]",
            f'name = "filter{i}"',
            f"module = {_value(f['module'])}",
            f"params = {_value(f.get('params', {}))}",
        ]
    decoder: dict[str, Any] = {"model": model, "threads": 1}
    if hop:
        decoder.update(trigger="hop", hop=int(hop))
    else:
        epoch = {
            "tmin": tmin,
            "tmax": tmin + window_s,
            "labels": list(labels),
            "history_s": max(10.0, 2 * window_s),
        }
        lines += [
            "",
            "[[nodes]]",
            'name = "epoch"',
            'module = "epoch"',
            'markers = "markers"',
            f"params = {_value(epoch)}",
        ]
    lines += [
        "",
        "[[nodes]]",
        'name = "decoder"',
        'module = "onnx"',
        f"params = {_value(decoder)}",
        "",
        "[[outputs]]",
        'node = "decoder"',
        'zmq = "tcp://127.0.0.1:5556"',
        'lsl = "decoder-probabilities"',
        "",
    ]
    return "\n".join(lines)


def write_pipeline(
    path: str | Path,
    manifest: dict[str, Any],
    model: str | Path,
    tmin: float = 0.0,
    labels: tuple[str, ...] = (),
) -> None:
    """Write :func:`pipeline_toml` to ``path``, naming the model relative to it."""
    p = Path(path)
    rel = os.path.relpath(Path(model).resolve(), p.resolve().parent)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(pipeline_toml(manifest, rel, tmin=tmin, labels=labels), encoding="utf-8")
