"""The command line every peer script shares (the arguments ``bci-bridge bench`` appends).

Standard library only: the ezmsg scripts and ``timeflux_run.py`` import it from their own
venvs, by path (Python puts a script's folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse

__all__ = ["add_band_args", "add_stream_args", "check_band"]


def add_stream_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--in``, ``--out``, ``--channels`` and ``--rate`` (all required)."""
    parser.add_argument("--in", dest="source", required=True, help="LSL stream to read")
    parser.add_argument("--out", dest="sink", required=True, help="LSL outlet to create")
    parser.add_argument("--channels", type=int, required=True, help="channels of --in")
    parser.add_argument("--rate", type=float, required=True, help="sample rate of --in, Hz")


def add_band_args(parser: argparse.ArgumentParser) -> None:
    """Add the band-pass options ``--low``, ``--high`` (Hz) and ``--order`` (per edge)."""
    parser.add_argument("--low", type=float, default=8.0, help="low band edge, Hz")
    parser.add_argument("--high", type=float, default=30.0, help="high band edge, Hz")
    parser.add_argument("--order", type=int, default=4, help="Butterworth order per edge")


def check_band(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with a usage error unless ``0 < low < high < rate / 2``."""
    if not 0 < args.low < args.high < args.rate / 2:
        parser.error(f"need 0 < low < high < rate/2, got {args.low}, {args.high}, {args.rate}")
