"""The relay scenario built with ezmsg, for ``bci-bridge bench --peers``.

Runs in the ezmsg venv made by ``setup.sh`` (never in the project's venv)::

    .venv-peers/ezmsg/bin/python benchmarks/peers/ezmsg_relay.py \
        --in SOURCE --out FILTERED --channels 64 --rate 250

One ezmsg System in one process, wired the way the ezmsg-lsl guide shows: an ``LSLInletUnit``
reads the LSL stream ``--in``, ezmsg-sigproc's ``ButterworthFilter`` applies a causal
band-pass (second-order sections, state kept across messages) and an ``LSLOutletUnit`` pushes
every filtered sample to the LSL outlet ``--out``.

Timestamps: the inlet keeps the LSL clock (``use_lsl_clock=True``) and the outlet is told so
(``assume_lsl_clock=True``), and LSL's post-processing is off (``processing_flags=0``: no
clock-sync, no dejitter; producer and relay share one host clock). Two things in ezmsg-lsl
1.17.1 still move timestamps:

- its outlet pushes a regular-rate message with the single timestamp ``offset + n / rate``,
  which LSL takes as the stamp of the message's last sample, but the last sample is at
  ``offset + (n - 1) / rate``: every sample leaves one period late (4 ms at 250 Hz). No
  setting changes that, so this relay's outlet (:class:`Outlet`) moves the offset back by one
  period before pushing (one ``replace`` of the message per push, no extra unit or hop);
- a message from a regular-rate stream keeps only its first timestamp (a ``TimeAxis`` with an
  offset and ``1 / rate`` steps), so when the inlet pulls several samples at once, the later
  ones leave stamped on that grid, not with their own stamps. Nothing to correct there.
"""

from __future__ import annotations

import argparse
from dataclasses import KW_ONLY

import ezmsg.core as ez
from ezmsg.lsl.inlet import LSLInfo, LSLInletSettings, LSLInletUnit
from ezmsg.lsl.outlet import LSLOutletSettings, LSLOutletUnit, OutletProcessor
from ezmsg.sigproc.butterworthfilter import ButterworthFilter, ButterworthFilterSettings
from ezmsg.util.messages.axisarray import AxisArray
from ezmsg.util.messages.util import replace
from peer_args import add_band_args, add_stream_args, check_band


class LastSampleStampProcessor(OutletProcessor):
    """ezmsg-lsl's outlet processor, pushing each sample with its own input timestamp.

    For a ``TimeAxis`` (offset + gain), ezmsg-lsl passes ``value(n)`` as the timestamp of the
    last of ``n`` samples; that is ``value(n - 1) + gain``. Moving the offset back by one gain
    makes the pushed stamp ``value(n - 1)``, the last sample's own.
    """

    def _process(self, message: AxisArray) -> None:
        time_axis = message.axes["time"]
        if hasattr(time_axis, "gain"):
            shifted = replace(time_axis, offset=time_axis.offset - time_axis.gain)
            message = replace(message, axes={**message.axes, "time": shifted})
        super()._process(message)


class Outlet(LSLOutletUnit):
    """ezmsg-lsl's outlet unit with :class:`LastSampleStampProcessor` as its processor."""

    def create_processor(self) -> None:
        """Make the processor (ezmsg-lsl opens the LSL outlet on the first message)."""
        super().create_processor()
        self.processor = LastSampleStampProcessor(settings=self.SETTINGS)


def inlet_settings(source: str, channels: int) -> LSLInletSettings:
    """Return the inlet every ezmsg peer opens on ``source``: LSL clock kept, no post-processing."""
    return LSLInletSettings(
        info=LSLInfo(name=source, channel_count=channels),
        use_lsl_clock=True,
        processing_flags=0,
    )


def bandpass_settings(low: float, high: float, order: int) -> ButterworthFilterSettings:
    """Return the causal Butterworth band-pass ``low``-``high`` Hz, ``order`` per edge, as SOS."""
    return ButterworthFilterSettings(order=order, cuton=low, cutoff=high, coef_type="sos")


def outlet_settings(sink: str, stream_type: str) -> LSLOutletSettings:
    """Return the outlet ``sink`` every ezmsg peer pushes to, each message at its own stamp."""
    return LSLOutletSettings(
        stream_name=sink,
        stream_type=stream_type,
        use_message_timestamp=True,
        assume_lsl_clock=True,
    )


class RelaySettings(ez.Settings):
    """What the relay reads, how it filters and where it writes.

    Attributes
    ----------
    source : str
        Name of the LSL stream to read.
    channels : int
        Channel count the stream must have.
    sink : str
        Name of the LSL outlet to create.
    low, high : float
        Band edges of the band-pass, Hz (keyword-only: subclasses may add required fields).
    order : int
        Butterworth order of each edge: the band-pass has ``2 * order`` poles.
    """

    source: str
    channels: int
    sink: str
    _: KW_ONLY
    low: float = 8.0
    high: float = 30.0
    order: int = 4


class ScenarioSettings(RelaySettings):
    """:class:`RelaySettings` and the rate: what a windowed scenario (decode, wearable) reads.

    Attributes
    ----------
    rate : float
        Sample rate of the stream, Hz (the windows are cut in seconds).
    """

    rate: float


class Relay(ez.Collection):
    """LSL inlet -> Butterworth band-pass -> LSL outlet."""

    SETTINGS = RelaySettings

    INLET = LSLInletUnit()
    FILTER = ButterworthFilter()
    OUTLET = Outlet()

    def configure(self) -> None:
        """Pass the relay's settings down to its three units."""
        s = self.SETTINGS
        self.INLET.apply_settings(inlet_settings(s.source, s.channels))
        self.FILTER.apply_settings(bandpass_settings(s.low, s.high, s.order))
        self.OUTLET.apply_settings(outlet_settings(s.sink, "EEG"))

    def network(self) -> ez.NetworkDefinition:
        """Wire inlet to filter to outlet."""
        return (
            (self.INLET.OUTPUT_SIGNAL, self.FILTER.INPUT_SIGNAL),
            (self.FILTER.OUTPUT_SIGNAL, self.OUTLET.INPUT_SIGNAL),
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the relay command line (the arguments ``bci-bridge bench`` appends)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_stream_args(parser)
    add_band_args(parser)
    args = parser.parse_args(argv)
    check_band(parser, args)
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the relay until interrupted (SIGINT or SIGTERM)."""
    args = parse_args(argv)
    relay = Relay(
        RelaySettings(
            source=args.source,
            channels=args.channels,
            sink=args.sink,
            low=args.low,
            high=args.high,
            order=args.order,
        )
    )
    ez.run(RELAY=relay)


if __name__ == "__main__":
    main()
