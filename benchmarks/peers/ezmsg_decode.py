"""The decode scenario built with ezmsg, for ``bci-bridge bench --peers``.

Runs in the ezmsg venv made by ``setup.sh`` (never in the project's venv)::

    .venv-peers/ezmsg/bin/python benchmarks/peers/ezmsg_decode.py \
        --in SOURCE --out PROBS --channels 64 --rate 250 --model eegnet-64x250.onnx

One ezmsg System in one process, built from ezmsg's own units where it has them: an
``LSLInletUnit`` reads ``--in``; ezmsg-sigproc's ``ButterworthFilter`` band-passes it (8-30 Hz,
4th order per edge, second-order sections, state kept); ezmsg-sigproc's ``Window`` cuts the
latest 1 s at every new sample once 1 s has arrived (``window_shift`` = one sample, no zero
padding, one message per window); :class:`OnnxDecoder`, a transformer unit in ezmsg's
``baseproc`` idiom (ezmsg has no ONNX unit), runs the model on each window with onnxruntime (one
thread); the relay's outlet (:mod:`ezmsg_relay`) pushes each row of class probabilities to
the LSL outlet ``--out``, stamped with the newest sample of its window.
"""

from __future__ import annotations

import argparse

import ezmsg.core as ez
import numpy as np
import onnxruntime as ort
from ezmsg.baseproc import BaseTransformer, BaseTransformerUnit
from ezmsg.lsl.inlet import LSLInletUnit
from ezmsg.sigproc.butterworthfilter import ButterworthFilter
from ezmsg.sigproc.window import Window, WindowSettings
from ezmsg.util.messages.axisarray import AxisArray
from ezmsg_relay import (
    Outlet,
    ScenarioSettings,
    bandpass_settings,
    inlet_settings,
    outlet_settings,
)
from peer_args import add_stream_args


class OnnxSettings(ez.Settings):
    """The model to run.

    Attributes
    ----------
    model : str
        ONNX file with one float32 input of shape (1, channels, samples).
    """

    model: str


class OnnxTransformer(BaseTransformer[OnnxSettings, AxisArray, AxisArray]):
    """Run the model on a window; return one row stamped with the window's newest sample."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            self.settings.model, opts, providers=["CPUExecutionProvider"]
        )
        self._feed = self._session.get_inputs()[0].name

    def _process(self, message: AxisArray) -> AxisArray:
        axis = message.get_axis_idx("time")
        n = message.data.shape[axis]
        x = np.moveaxis(message.data, axis, -1).astype(np.float32)[None]  # (1, ch, samples)
        probs = self._session.run(None, {self._feed: x})[0].astype(np.float32)
        newest = message.axes["time"].value(n - 1)
        return AxisArray(
            probs,
            dims=["time", "ch"],
            axes={"time": AxisArray.CoordinateAxis(data=np.array([newest]), dims=["time"])},
            key=message.key,
        )


class OnnxDecoder(BaseTransformerUnit[OnnxSettings, AxisArray, AxisArray, OnnxTransformer]):
    """:class:`OnnxTransformer` as a unit."""

    SETTINGS = OnnxSettings


class DecodeSettings(ScenarioSettings):
    """What the pipeline reads, runs and writes (see the module docstring)."""

    model: str


class Decode(ez.Collection):
    """LSL inlet -> band-pass -> 1 s window per sample -> ONNX model -> LSL outlet."""

    SETTINGS = DecodeSettings

    INLET = LSLInletUnit()
    FILTER = ButterworthFilter()
    WINDOW = Window()
    DECODE = OnnxDecoder()
    OUTLET = Outlet()

    def configure(self) -> None:
        """Pass the settings down to the units."""
        s = self.SETTINGS
        self.INLET.apply_settings(inlet_settings(s.source, s.channels))
        self.FILTER.apply_settings(bandpass_settings(s.low, s.high, s.order))
        self.WINDOW.apply_settings(
            WindowSettings(window_dur=1.0, window_shift=1.0 / s.rate, zero_pad_until="none")
        )
        self.DECODE.apply_settings(OnnxSettings(model=s.model))
        self.OUTLET.apply_settings(outlet_settings(s.sink, "Probabilities"))

    def network(self) -> ez.NetworkDefinition:
        """Wire the units in a line."""
        return (
            (self.INLET.OUTPUT_SIGNAL, self.FILTER.INPUT_SIGNAL),
            (self.FILTER.OUTPUT_SIGNAL, self.WINDOW.INPUT_SIGNAL),
            (self.WINDOW.OUTPUT_SIGNAL, self.DECODE.INPUT_SIGNAL),
            (self.DECODE.OUTPUT_SIGNAL, self.OUTLET.INPUT_SIGNAL),
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (the arguments ``bci-bridge bench`` appends)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stream_args(parser)
    parser.add_argument("--model", required=True, help="ONNX model, input (1, channels, rate)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run until interrupted (SIGINT or SIGTERM)."""
    args = parse_args(argv)
    settings = DecodeSettings(
        source=args.source,
        channels=args.channels,
        rate=args.rate,
        sink=args.sink,
        model=args.model,
    )
    ez.run(DECODE=Decode(settings))


if __name__ == "__main__":
    main()
