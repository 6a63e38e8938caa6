"""``bci-bridge stream DEVICE``: run a device plugin as an LSL outlet."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from typing import Any

from bci_bridge import registry
from bci_bridge.cli.common import stop_on_signals, write_json
from bci_bridge.device_host import HostStats, host_device
from bci_bridge.errors import ConfigError
from bci_bridge.params import build_config

log = logging.getLogger(__name__)

# Convenience flags mapped onto the device's Config fields of the same meaning.
_FLAG_FIELDS = {"channels": "n_channels", "rate": "sfreq", "chunk": "chunk_size", "name": "name"}


def device_params(args: argparse.Namespace, config_cls: type[Any]) -> dict[str, Any]:
    """Collect the Config values given by flags and ``-p KEY=VALUE``."""
    import tomllib

    fields = {f.name for f in dataclasses.fields(config_cls)}
    params: dict[str, Any] = {}
    for flag, field in _FLAG_FIELDS.items():
        value = getattr(args, flag)
        if value is not None:
            if field not in fields:
                raise ConfigError(f"--{flag}: device {args.device!r} has no {field} setting")
            params[field] = value
    for item in args.param:
        key, sep, text = item.partition("=")
        if not sep:
            raise ConfigError(f"-p {item!r}: expected KEY=VALUE")
        try:
            params[key] = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            params[key] = text
    return params


def run(args: argparse.Namespace) -> int:
    """Stream until Ctrl-C or ``--duration``; print totals."""
    cls = registry.load("device", args.device)
    try:
        config = build_config(cls.Config, device_params(args, cls.Config))
    except ConfigError as exc:
        raise exc.within(key=f"device {args.device!r}") from exc
    device = cls(config)
    info = device.info()
    stop = stop_on_signals()
    print(
        f"streaming {args.device} as LSL {info.name!r}: {info.n_channels} ch at {info.sfreq:g} Hz"
        + (f" for {args.duration:g} s" if args.duration else " (Ctrl-C to stop)"),
        file=sys.stderr,
    )

    def report(stats: HostStats) -> None:
        log.info(
            "sent %d samples in %d chunks, %d markers",
            stats.samples_sent,
            stats.chunks_sent,
            stats.markers_sent,
        )

    stats = host_device(
        device,
        stop=stop,
        duration_s=args.duration,
        wait_consumer_s=args.wait_consumer,
        report=report,
    )
    print(f"sent {stats.samples_sent} samples in {stats.chunks_sent} chunks", file=sys.stderr)
    if args.summary:
        write_json(
            args.summary, {"device": args.device, "stream": info.name, **dataclasses.asdict(stats)}
        )
    return 0
