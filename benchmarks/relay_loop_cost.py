"""Runtime CPU per sample of the relay: an LSL input read by the runtime, band-pass, LSL out.

An LSL outlet here plays the amplifier and pushes N one-sample chunks of 64 float32 channels at
``--rate`` Hz; the runtime (in a thread) reads the stream itself, band-passes it and pushes it
to an LSL outlet, as the bench's relay scenarios do. The CPU time of the runtime's thread over
N is its cost per sample, wake-ups included. Against another checkout, with ``PYTHONPATH``::

    LSLAPICFG=bci_bridge/lsl_api.cfg nice -n 10 .venv/bin/python benchmarks/relay_loop_cost.py \
        --samples 4000 --rate 1000
"""

from __future__ import annotations

import argparse
import os
import time
import tomllib

import numpy as np
import pylsl
import runtime_thread  # a sibling script module (this folder is on sys.path)

from bci_bridge.config import parse_pipeline
from runtime.runner import Runtime, RuntimeOptions


def main() -> None:
    """Relay ``--samples`` samples through the runtime; print its CPU per sample."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=4000)
    p.add_argument("--rate", type=float, default=1000.0)
    args = p.parse_args()
    tag = f"relay-cost-{os.getpid()}"
    info = pylsl.StreamInfo(tag, "EEG", 64, args.rate, "float32", tag)
    outlet = pylsl.StreamOutlet(info)
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
    runtime = Runtime(parse_pipeline(raw), RuntimeOptions(exit_on_eos=True, info_timeout_s=20))
    thread, result = runtime_thread.start(runtime)
    if not outlet.wait_for_consumers(30.0):
        raise SystemExit("the runtime did not connect")
    time.sleep(0.5)
    data = np.random.default_rng(0).standard_normal((args.samples, 64)).astype(np.float32)
    start = time.perf_counter()
    for i in range(args.samples):
        left = start + i / args.rate - time.perf_counter()
        if left > 0:
            time.sleep(left)
        outlet.push_sample(data[i])
    time.sleep(1.0)  # liblsl drops what an inlet holds once its source is gone
    del outlet
    thread.join()
    s = result["summary"]
    per_sample = result["cpu_s"] / args.samples * 1e6
    print(
        f"samples {args.samples} at {args.rate:g} Hz, received {s['samples_received']}, "
        f"calls {s['nodes']['bandpass']['calls']}, {per_sample:.1f} us/sample"
    )


if __name__ == "__main__":
    main()
