"""CPU per sample of the relay's worker thread: LSL in, 8-30 Hz band-pass, LSL out.

An LSL outlet here plays the amplifier and pushes ``--samples`` one-sample chunks of 64 float32
channels at ``--rate`` Hz. The runtime (in a thread) reads the stream itself, band-passes it and
pushes it to an LSL outlet, as the bench's relay scenarios do. Its thread's CPU time over the
streaming window alone (not start-up, not the stop), divided by the samples, is its cost per
sample, wake-ups included. With ``--floor`` the bench's hand-written floor relay
(:func:`bci_bridge.bench.floor.relay`) runs the same way, alternating with the runtime, so both
see the same load; medians are printed at the end::

    LSLAPICFG=bci_bridge/lsl_api.cfg nice -n 10 .venv/bin/python benchmarks/relay_loop_cost.py \
        --samples 2500 --rate 250 --floor --rounds 5

Against another checkout, with ``PYTHONPATH`` (see ``compare_loop_cost.py --relay``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
import tomllib

import numpy as np
import pylsl

from bci_bridge.bench import floor
from bci_bridge.config import parse_pipeline
from runtime.runner import Runtime, RuntimeOptions


def _pipeline(tag: str) -> Runtime:
    raw = tomllib.loads(
        f"""
        [pipeline]
        name = "{tag}"
        metrics = "ipc:///tmp/{tag}-metrics"
        [[inputs]]
        name = "eeg"
        lsl = "{tag}"
        [[nodes]]
        name = "bandpass"
        module = "bandpass"
        budget_ms = 100.0
        params = {{ low = 8.0, high = 30.0, order = 4 }}
        [[outputs]]
        node = "bandpass"
        lsl = "{tag}-out"
        """
    )
    return Runtime(parse_pipeline(raw), RuntimeOptions(info_timeout_s=20))


def one_run(chain: str, samples: int, rate: float, tag: str) -> float:
    """Relay ``samples`` samples through ``chain`` ("runtime" or "floor"); return us/sample."""
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(tag, "EEG", 64, rate, "float32", tag))
    stop = threading.Event()
    received: list[int] = []  # the chain's count of received samples, once it ends
    if chain == "runtime":
        runtime = _pipeline(tag)
        thread = threading.Thread(
            target=lambda: received.append(int(runtime.run(stop)["samples_received"]))
        )
    else:
        args = argparse.Namespace(in_=tag, out=f"{tag}-out", channels=64, rate=rate)
        thread = threading.Thread(target=lambda: received.append(floor.relay(args, stop)[0]))
    thread.start()
    if not outlet.wait_for_consumers(30.0):
        raise SystemExit(f"the {chain} did not connect")
    time.sleep(1.0)  # past start-up: filter designed, outlet up
    assert thread.ident is not None
    clock = time.pthread_getcpuclockid(thread.ident)
    data = np.random.default_rng(0).standard_normal((samples, 64)).astype(np.float32)
    cpu0 = time.clock_gettime(clock)
    start = time.perf_counter()
    for i in range(samples):
        left = start + i / rate - time.perf_counter()
        if left > 0:
            time.sleep(left)
        outlet.push_sample(data[i])
    time.sleep(0.2)  # the last samples through
    cpu = time.clock_gettime(clock) - cpu0
    stop.set()
    thread.join()
    del outlet
    if received != [samples]:
        raise SystemExit(f"the {chain} received {received} of {samples} samples")
    return cpu / samples * 1e6


def main() -> None:
    """Relay through the runtime (and the floor), print each run and the medians."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=2500)
    p.add_argument("--rate", type=float, default=250.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--floor", action="store_true", help="alternate with the floor's relay")
    args = p.parse_args()
    chains = ["runtime", "floor"] if args.floor else ["runtime"]
    runs: dict[str, list[float]] = {c: [] for c in chains}
    for r in range(args.rounds):
        for chain in chains:
            us = one_run(chain, args.samples, args.rate, f"relay-cost-{os.getpid()}-{chain}{r}")
            runs[chain].append(us)
            print(f"{chain}: {us:.1f} us/sample ({args.samples} samples at {args.rate:g} Hz)")
    for chain, values in runs.items():
        print(f"{chain}: median {statistics.median(values):.1f} us/sample over {len(values)} runs")


if __name__ == "__main__":
    main()
