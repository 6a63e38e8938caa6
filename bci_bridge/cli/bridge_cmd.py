"""``bci-bridge bridge``: an LSL stream in, ZeroMQ frames out."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys

from bci_bridge.bridge import Bridge, BridgeConfig, BridgeStats
from bci_bridge.cli.common import stop_on_signals, write_json
from bci_bridge.cli.curve_args import server_keys

log = logging.getLogger(__name__)


def run(args: argparse.Namespace) -> int:
    """Bridge until Ctrl-C or the source's timeout (then drain and send end-of-stream)."""
    config = BridgeConfig(
        name=args.name,
        type=args.type,
        endpoint=args.endpoint,
        resolve_timeout_s=args.timeout,
        wait_subscribers=args.wait_subscribers,
        max_chunk=args.max_chunk,
        source_timeout_s=args.source_timeout,
        max_queue_bytes=max(1, int(args.max_queue_mb * 2**20)),
        curve=server_keys(args),
        insecure=args.insecure,
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
