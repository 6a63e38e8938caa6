"""``bci-bridge bridge``: an LSL stream in, ZeroMQ frames out."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import Any

from bci_bridge.bridge import Bridge, BridgeConfig, BridgeStats
from bci_bridge.cli.common import stop_on_signals, write_json
from bci_bridge.queue_bound import DEFAULT_QUEUE_BYTES

log = logging.getLogger(__name__)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    p = sub.add_parser(
        "bridge",
        help="publish an LSL stream (found by name or type) as ZeroMQ frames",
        description="Find an LSL stream by name and/or type and publish it as versioned ZeroMQ "
        "frames (topic data.<stream>). Example: bci-bridge bridge --type EEG "
        "--endpoint tcp://127.0.0.1:5555",
    )
    p.add_argument("--name", default="", help="LSL stream name to look for")
    p.add_argument("--type", default="", help="LSL stream type to look for (e.g. EEG)")
    p.add_argument(
        "--endpoint",
        default="tcp://127.0.0.1:5555",
        help="ZeroMQ endpoint to bind (default: %(default)s)",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to look for the stream (default: %(default)s)",
    )
    p.add_argument(
        "--wait-subscribers",
        type=int,
        default=0,
        metavar="N",
        help="open the LSL inlet only once N subscribers are connected (default: don't wait)",
    )
    p.add_argument(
        "--max-chunk", type=int, default=4096, help="most samples per frame (default: %(default)s)"
    )
    p.add_argument(
        "--max-queue-mb",
        type=float,
        default=DEFAULT_QUEUE_BYTES / 2**20,
        help="most MiB queued for a subscriber that stopped reading; beyond, its frames are "
        "dropped (it counts them lost) (default: %(default)g)",
    )
    p.add_argument("--summary", metavar="PATH", help="write totals as JSON at exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Bridge until Ctrl-C (then drain and send end-of-stream)."""
    config = BridgeConfig(
        name=args.name,
        type=args.type,
        endpoint=args.endpoint,
        resolve_timeout_s=args.timeout,
        wait_subscribers=args.wait_subscribers,
        max_chunk=args.max_chunk,
        max_queue_bytes=max(1, int(args.max_queue_mb * 2**20)),
    )
    stop = stop_on_signals()
    bridge = Bridge(config)

    def report(stats: BridgeStats) -> None:
        log.info(
            "%s: %d samples in %d frames, %d subscriber(s)",
            stats.stream,
            stats.samples,
            stats.frames,
            stats.subscribers,
        )

    stats = bridge.run(stop, report=report)
    print(f"bridged {stats.samples} samples in {stats.frames} frames", file=sys.stderr)
    if args.summary:
        write_json(args.summary, dataclasses.asdict(stats))
    return 0
