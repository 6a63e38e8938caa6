"""The wearable scenario built with ezmsg, for ``bci-bridge bench --peers``.

Runs in the ezmsg venv made by ``setup.sh`` (never in the project's venv)::

    .venv-peers/ezmsg/bin/python benchmarks/peers/ezmsg_wearable.py \
        --in SOURCE --out POWER --channels 8 --rate 250

One ezmsg System in one process, all of it ezmsg's own units but the last step: an
``LSLInletUnit`` reads ``--in``; ezmsg-sigproc's ``ButterworthFilter`` band-passes it (8-30 Hz,
4th order per edge, SOS, state kept); ``Window`` cuts the latest 1 s every 0.1 s once 1 s has
arrived (a ``win`` axis, no zero padding); ``Spectrum`` takes the Hann-windowed power spectrum
of each window; ``RangedAggregate`` averages it over 8-13 and 13-30 Hz; ``Log`` takes log10;
:class:`WindowEnd` (a transformer unit in ezmsg's ``baseproc`` idiom) turns the ``win`` axis
into the ``time`` axis stamped at each window's newest sample; the relay's outlet
(:mod:`ezmsg_relay`) pushes one row of ``2 * channels`` values per window to ``--out``.

ezmsg-sigproc's ``BandPower`` does the same in one unit, but its spectrogram zero-pads the
first windows (it emits after 0.1 s, not after the first full second), so it would do other
work than the floor and bci-bridge; the units it is made of are used here instead.
"""

from __future__ import annotations

import argparse
import itertools

import ezmsg.core as ez
from ezmsg.baseproc import BaseTransformer, BaseTransformerUnit
from ezmsg.lsl.inlet import LSLInletUnit
from ezmsg.sigproc.aggregate import (
    AggregationFunction,
    RangedAggregate,
    RangedAggregateSettings,
)
from ezmsg.sigproc.butterworthfilter import ButterworthFilter
from ezmsg.sigproc.math.log import Log, LogSettings
from ezmsg.sigproc.spectrum import (
    SpectralOutput,
    SpectralTransform,
    Spectrum,
    SpectrumSettings,
    WindowFunction,
)
from ezmsg.sigproc.window import Window, WindowSettings
from ezmsg.util.messages.axisarray import AxisArray
from ezmsg.util.messages.util import replace
from ezmsg_relay import (
    Outlet,
    ScenarioSettings,
    bandpass_settings,
    inlet_settings,
    outlet_settings,
)
from peer_args import add_stream_args

WINDOW_S, HOP_S = 1.0, 0.1
BANDS = [(8.0, 13.0), (13.0, 30.0)]


class WindowEndSettings(ez.Settings):
    """How far a window's newest sample is from its start.

    Attributes
    ----------
    window_s : float
        Window length, seconds.
    rate : float
        Sample rate of the windowed stream, Hz.
    """

    window_s: float
    rate: float


class WindowEndTransformer(BaseTransformer[WindowEndSettings, AxisArray, AxisArray]):
    """Rename ``win`` to ``time``, its offsets moved from each window's start to its end."""

    def _process(self, message: AxisArray) -> AxisArray:
        win = message.axes["win"]
        end = self.settings.window_s - 1.0 / self.settings.rate
        axes = {k: v for k, v in message.axes.items() if k != "win"}
        axes["time"] = replace(win, offset=win.offset + end)
        dims = ["time" if d == "win" else d for d in message.dims]
        return replace(message, dims=dims, axes=axes, stream_dim="time")


class WindowEnd(BaseTransformerUnit[WindowEndSettings, AxisArray, AxisArray, WindowEndTransformer]):
    """:class:`WindowEndTransformer` as a unit."""

    SETTINGS = WindowEndSettings


class WearableSettings(ScenarioSettings):
    """What the pipeline reads and writes (see the module docstring)."""


class Wearable(ez.Collection):
    """LSL inlet -> band-pass -> 1 s windows every 0.1 s -> spectrum -> bands -> log10 -> LSL."""

    SETTINGS = WearableSettings

    INLET = LSLInletUnit()
    FILTER = ButterworthFilter()
    WINDOW = Window()
    SPECTRUM = Spectrum()
    BANDS = RangedAggregate()
    LOG = Log()
    STAMP = WindowEnd()
    OUTLET = Outlet()

    def configure(self) -> None:
        """Pass the settings down to the units."""
        s = self.SETTINGS
        self.INLET.apply_settings(inlet_settings(s.source, s.channels))
        self.FILTER.apply_settings(bandpass_settings(s.low, s.high, s.order))
        self.WINDOW.apply_settings(
            WindowSettings(
                newaxis="win", window_dur=WINDOW_S, window_shift=HOP_S, zero_pad_until="none"
            )
        )
        self.SPECTRUM.apply_settings(
            SpectrumSettings(
                axis="time",
                window=WindowFunction.HANNING,
                transform=SpectralTransform.REL_POWER,
                output=SpectralOutput.POSITIVE,
            )
        )
        self.BANDS.apply_settings(
            RangedAggregateSettings(axis="freq", bands=BANDS, operation=AggregationFunction.MEAN)
        )
        self.LOG.apply_settings(LogSettings(base=10.0, clip_zero=True))
        self.STAMP.apply_settings(WindowEndSettings(window_s=WINDOW_S, rate=s.rate))
        self.OUTLET.apply_settings(outlet_settings(s.sink, "Features"))

    def network(self) -> ez.NetworkDefinition:
        """Wire the units in a line."""
        chain = [
            self.INLET,
            self.FILTER,
            self.WINDOW,
            self.SPECTRUM,
            self.BANDS,
            self.LOG,
            self.STAMP,
            self.OUTLET,
        ]
        return tuple((a.OUTPUT_SIGNAL, b.INPUT_SIGNAL) for a, b in itertools.pairwise(chain))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line (the arguments ``bci-bridge bench`` appends)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stream_args(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run until interrupted (SIGINT or SIGTERM)."""
    args = parse_args(argv)
    settings = WearableSettings(
        source=args.source, channels=args.channels, rate=args.rate, sink=args.sink
    )
    ez.run(WEARABLE=Wearable(settings))


if __name__ == "__main__":
    main()
