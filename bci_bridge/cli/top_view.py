"""The live view behind ``bci-bridge top``: read metrics snapshots, render them, redraw.

:func:`render` turns one ``metrics.<pipeline>`` snapshot (``Runtime.summary()``) into the lines
of a screen; :func:`show` subscribes to a metrics endpoint and prints one screen
(``--once``) or redraws one per snapshot with the standard library's curses until ``q`` or
Ctrl-C. Imported only when ``bci-bridge top`` runs.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Mapping
from typing import Any

import zmq

from bci_bridge.curve import ClientKeys, dial, require_keys
from bci_bridge.endpoints import connect
from bci_bridge.errors import WireError
from bci_bridge.wire import Kind, decode

__all__ = ["CLIENT_FLAGS", "render", "show"]

#: How a client command is keyed, for the refusal of an endpoint off loopback without keys.
CLIENT_FLAGS = "--server-public-key SERVER.key --client-key NAME.key_secret"


def show(
    endpoint: str,
    *,
    once: bool,
    timeout_s: float,
    keys: ClientKeys | None = None,
    insecure: bool = False,
) -> int:
    """Show snapshots from ``endpoint`` until ``q`` or Ctrl-C, or print one with ``once``.

    Parameters
    ----------
    endpoint : str
        The runtime's metrics endpoint.
    once : bool
        Print one snapshot and return.
    timeout_s : float
        How long to wait for the first snapshot, seconds.
    keys : ClientKeys, optional
        Speak CURVE to a keyed runtime (see :mod:`bci_bridge.curve`).
    insecure : bool
        Allow plain TCP off loopback.

    Returns
    -------
    int
        The exit code: 0, or 1 when no snapshot came within ``timeout_s`` seconds.

    Raises
    ------
    ConfigError
        If the endpoint is off loopback without keys (and not ``insecure``), or bad.
    """
    require_keys(endpoint, keyed=keys is not None, insecure=insecure, flags=CLIENT_FLAGS)
    sub: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"metrics.")
    try:
        dial(sub, keys)
        connect(sub, endpoint)
        snapshot = _next(sub, timeout_s)
        if snapshot is None:
            print(
                f"bci-bridge top: no metrics from {endpoint} within {timeout_s:g} s "
                "(is `bci-bridge run` running with this metrics endpoint?"
                + (" Does it admit --client-key's public key?)" if keys else ")"),
                file=sys.stderr,
            )
            return 1
        if once:
            print("\n".join(render(snapshot)))
            return 0
        return _live(sub, snapshot)
    finally:
        sub.close()


def _next(sub: zmq.Socket[Any], timeout_s: float) -> dict[str, Any] | None:
    """Return the next snapshot (a JSON object on ``metrics.*``), or None after the timeout."""
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not sub.poll(int(left * 1000)):
            return None
        try:
            frame = decode(sub.recv_multipart())
            if frame.kind is not Kind.JSON:
                continue
            obj = json.loads(frame.payload)
        except (WireError, ValueError):
            continue
        if isinstance(obj, dict):
            return obj


def _live(sub: zmq.Socket[Any], snapshot: dict[str, Any]) -> int:
    import curses  # only the live view needs a terminal

    def main(screen: Any) -> None:
        nonlocal snapshot
        curses.curs_set(0)
        screen.timeout(200)
        while True:
            screen.erase()
            height, width = screen.getmaxyx()
            lines = [*render(snapshot), "", "q: quit"]
            for y, line in enumerate(lines[: height - 1]):
                screen.addnstr(y, 0, line, width - 1)
            screen.refresh()
            if screen.getch() in (ord("q"), ord("Q")):
                return
            while sub.poll(0):
                newer = _next(sub, 0.05)
                if newer is not None:
                    snapshot = newer

    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is a way to leave, like q
        curses.wrapper(main)
    return 0


def render(s: Mapping[str, Any]) -> list[str]:
    """Return the lines of one screen for a metrics snapshot (``Runtime.summary()``)."""
    e2e = s.get("e2e_ms", {})
    lines = [
        f"pipeline {s.get('pipeline', '?')}   up {s.get('uptime_s', 0):.1f} s   "
        f"received {s.get('samples_received', 0)}   lost {s.get('samples_lost', 0)}   "
        f"malformed {s.get('frames_malformed', 0)}   e2e ms p50 {_num(e2e.get('p50'))} "
        f"p99 {_num(e2e.get('p99'))} max {_num(e2e.get('max'))}",
        "",
        f"{'NODE':<16}{'CALLS':>9}{'P50 us':>9}{'P99 us':>9}{'MAX us':>9}{'BUDGET us':>10}"
        f"{'OVER':>7}{'ERR':>6}{'RST':>5}{'QUEUE':>7}  POLICY ACTIONS",
    ]
    queues = {i.get("name"): i.get("queue_chunks", 0) for i in s.get("inputs", [])}
    for name, n in s.get("nodes", {}).items():
        step = n.get("step_us", {})
        acts = " ".join(f"{k} {v}" for k, v in n.get("policy_actions", {}).items() if v)
        state = " DISABLED" if n.get("disabled") else ""
        lines.append(
            f"{name[:15]:<16}{n.get('calls', 0):>9}{_num(step.get('p50')):>9}"
            f"{_num(step.get('p99')):>9}{_num(step.get('max')):>9}"
            f"{_num(1000 * n.get('budget_ms', 0)):>10}{n.get('overruns', 0):>7}"
            f"{n.get('errors', 0):>6}{n.get('restarts', 0):>5}"
            f"{queues.get(n.get('input'), '-')!s:>7}  {n.get('on_overrun', '')}: "
            f"{acts or '-'}{state}"
        )
    lines += ["", f"{'INPUT':<16}{'RECEIVED':>10}{'LOST':>8}{'DROPPED':>9}{'NONFINITE':>11}"]
    for i in s.get("inputs", []):
        nonfinite = next((v for k, v in i.items() if "finite" in k), "-")
        lines.append(
            f"{str(i.get('name', i.get('stream', '?')))[:15]:<16}"
            f"{i.get('samples_received', 0):>10}{i.get('samples_lost', 0):>8}"
            f"{i.get('samples_dropped_queue', 0):>9}{nonfinite!s:>11}"
        )
    fan_ins = {k: n["fan_in"] for k, n in s.get("nodes", {}).items() if n.get("fan_in")}
    if fan_ins:
        lines += [
            "",
            f"{'FAN-IN':<16}{'ALIGNED':>10}{'MISALIGNED':>12}{'DROPPED':>9}{'WAITING':>9}"
            f"{'TOL ms':>8}  INPUTS",
        ]
    for name, f in fan_ins.items():
        lines.append(
            f"{name[:15]:<16}{f.get('aligned', 0):>10}{f.get('misaligned', 0):>12}"
            f"{f.get('dropped', 0):>9}{f.get('waiting', 0):>9}{_num(f.get('tolerance_ms')):>8}"
            f"  {', '.join(f.get('inputs', []))}"
        )
    outs = [*s.get("outputs", []), *s.get("lsl_outputs", [])]
    lines += ["", f"{'OUTPUT':<28}{'SENT':>9}{'AGE p50':>9}{'p99':>8}{'max':>8}{'STALE':>7}"]
    for o in outs:
        age = o.get("age_ms", {})
        where = o.get("topic") or f"lsl {o.get('lsl')}"
        stale = o.get("stale", o.get("stale_not_pushed", 0))
        lines.append(
            f"{str(where)[:27]:<28}{o.get('sent', 0):>9}{_num(age.get('p50')):>9}"
            f"{_num(age.get('p99')):>8}{_num(age.get('max')):>8}{stale:>7}"
        )
    if not outs:
        lines.append("(none)")
    return lines


def _num(x: Any) -> str:
    if not isinstance(x, int | float):
        return "-"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
