"""Launch a Timeflux application of ``benchmarks/peers`` for ``bci-bridge bench --peers``.

Runs in the Timeflux venv made by ``setup.sh`` (never in the project's venv)::

    .venv-peers/timeflux/bin/python benchmarks/peers/timeflux_run.py \
        --app benchmarks/peers/timeflux_decode.yaml --pylsl-lib /path/to/liblsl.so \
        --in SOURCE --out RESULT --channels 64 --rate 250 --model eegnet.onnx

It is the ``timeflux`` command with the application file filled in from the command line:
Timeflux renders an application as a Jinja template over the environment, so the options
become ``BCI_PEER_*`` variables and Timeflux's own ``main()`` runs the file. Timeflux starts
one worker process per graph, so the peer is this process plus one worker. The applications:
``timeflux_relay.yaml`` (band-pass), ``timeflux_decode.yaml`` (band-pass, 1 s window, ONNX
model), ``timeflux_wearable.yaml`` (band-pass, 1 s window every 0.1 s, band power); the nodes
that Timeflux lacks are in ``timeflux_nodes.py``, importable because Python puts this
script's folder first on ``sys.path`` (the worker is forked and inherits it).

Timeflux 0.17.2 calls ``pylsl.resolve_stream``, which pylsl 1.18 removed, so its venv has
pylsl 1.16.2, which ships no liblsl: ``--pylsl-lib`` (or ``PYLSL_LIB``) names the liblsl that
the project's pylsl 1.18 ships. SIGTERM stops the peer like Ctrl-C does (Timeflux handles
only SIGINT), and the worker gets SIGTERM if this process dies, so no worker is orphaned.

Timestamps: Timeflux's LSL ``Receive`` node always opens its inlet with LSL's clock-sync and
dejitter post-processing (whatever its ``clocksync``/``dejitter`` options say), so the stamps
it passes on are the dejittered ones: equal to the input's when the input is stamped on a
regular grid, smoothed otherwise. Nothing in Timeflux's options turns that off.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from peer_args import add_band_args, add_stream_args, check_band

HERE = Path(__file__).resolve().parent
_PR_SET_PDEATHSIG = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the peer command line (the arguments ``bci-bridge bench`` appends, and ours)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--app",
        type=Path,
        default=HERE / "timeflux_relay.yaml",
        help="the Timeflux application to run (default: the relay)",
    )
    parser.add_argument("--model", default="", help="the ONNX model (decode)")
    add_stream_args(parser)
    add_band_args(parser)
    parser.add_argument(
        "--graph-rate",
        type=float,
        default=0.0,
        help="Timeflux graph rate, Hz (0, the default, is its fastest: no sleep between passes)",
    )
    parser.add_argument(
        "--pylsl-lib",
        default=os.environ.get("PYLSL_LIB"),
        help="liblsl for pylsl 1.16 to load (default: $PYLSL_LIB)",
    )
    args = parser.parse_args(argv)
    check_band(parser, args)
    if not args.app.is_file():
        parser.error(f"--app: no application file at {args.app}")
    if "decode" in args.app.name and not Path(args.model).is_file():
        parser.error(f"--model: no ONNX model at {args.model!r}")
    if not args.pylsl_lib or not Path(args.pylsl_lib).is_file():
        parser.error(f"--pylsl-lib: no liblsl file at {args.pylsl_lib!r}")
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into the KeyboardInterrupt that Timeflux stops on."""
    raise KeyboardInterrupt


def _die_with_parent() -> None:
    """In a forked worker: ask Linux to send SIGTERM when the launcher dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def main(argv: list[str] | None = None) -> None:
    """Fill in the application's variables and run Timeflux on it until interrupted."""
    args = parse_args(argv)
    os.environ["PYLSL_LIB"] = str(Path(args.pylsl_lib).resolve())
    os.environ.update(
        {
            "BCI_PEER_IN": args.source,
            "BCI_PEER_OUT": args.sink,
            "BCI_PEER_CHANNELS": str(args.channels),
            "BCI_PEER_RATE": repr(args.rate),
            "BCI_PEER_LOW": repr(args.low),
            "BCI_PEER_HIGH": repr(args.high),
            "BCI_PEER_ORDER": str(args.order),
            "BCI_PEER_GRAPH_RATE": repr(args.graph_rate),
            "BCI_PEER_MODEL": str(Path(args.model).resolve()) if args.model else "",
        }
    )
    # Timeflux logs every start-up step at INFO on the console; keep the peer quiet.
    os.environ.setdefault("TIMEFLUX_LOG_LEVEL_CONSOLE", "WARNING")
    signal.signal(signal.SIGTERM, _interrupt)
    if sys.platform.startswith("linux"):
        os.register_at_fork(after_in_child=_die_with_parent)

    from timeflux.timeflux import main as timeflux_main  # after PYLSL_LIB is set

    sys.argv = ["timeflux", str(args.app.resolve())]
    timeflux_main()


if __name__ == "__main__":
    main()
