"""Timeflux nodes the peer applications need and Timeflux does not ship.

Imported by the Timeflux worker from ``timeflux_decode.yaml`` and ``timeflux_wearable.yaml``
(``module: timeflux_nodes``); ``timeflux_run.py`` makes this folder importable. Each is a
plain Timeflux ``Node``: ``update()`` reads its input ports and sets its output port.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pandas as pd
from timeflux.core.node import Node


class Onnx(Node):
    """Run an ONNX model on each window; one row of outputs per window.

    Port ``i`` takes a window, a DataFrame of shape (samples, channels) indexed by time; port
    ``o`` gives a DataFrame of shape (1, n_outputs) indexed by the window's newest sample.

    Parameters
    ----------
    model : str
        ONNX file with one float32 input of shape (1, channels, samples).
    labels : list of str
        Names of the outputs (the columns).
    """

    def __init__(self, model: str, labels: list[str]) -> None:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        self._feed = self._session.get_inputs()[0].name
        self._labels = list(labels)

    def update(self) -> None:
        """Decode the window on the input port, if any."""
        if not self.i.ready():
            return
        window = self.i.data
        x = np.ascontiguousarray(window.to_numpy(np.float32).T)[None]  # (1, channels, samples)
        probs = self._session.run(None, {self._feed: x})[0]
        self.o.data = pd.DataFrame(probs, index=window.index[-1:], columns=self._labels)
        self.o.meta = self.i.meta


class LogConcat(Node):
    """Join the band DataFrames of ``Bands`` side by side, in log10.

    Ports ``i_<band>`` take one DataFrame per band (from ``timeflux_dsp``'s ``Bands``, same
    index and columns); port ``o`` gives one column per (band, channel): log10 band power.

    Parameters
    ----------
    ports : list of str
        The band names, in output order (the ``i_<name>`` ports).
    """

    def __init__(self, ports: list[str]) -> None:
        self._ports = [getattr(self, f"i_{name}") for name in ports]
        self._names = list(ports)

    def update(self) -> None:
        """Emit once every band port has data."""
        if not all(port.ready() for port in self._ports):
            return
        frames = [
            port.data.add_prefix(f"{name}_")
            for name, port in zip(self._names, self._ports, strict=True)
        ]
        joined = pd.concat(frames, axis=1)
        self.o.data = np.log10(joined.clip(lower=np.finfo(np.float64).tiny))
        self.o.meta = self._ports[0].meta
