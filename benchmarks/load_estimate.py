"""Does a pipeline keep up at a given scale? The runtime's load check, run long enough to see it.

Usage::

    python benchmarks/load_estimate.py                  # 1024 ch at 30 kHz (BRAND's scale)
    python benchmarks/load_estimate.py --channels 8 --rate 250

For each chain (band-pass 8-30 Hz, 4th order per edge; the same then band power over a 1 s
window every 0.1 s; common average then spikes), prints per node the cost per input sample and
the load in cores that the input rate makes of it, twice: as ``prepare`` measures it
(:func:`runtime.cost_model.measure_node` with its default caps: at most 0.3 s per node, so a
1 s window may not have filled yet: a lower bound) and in steady state (1.5 s of stream, no
wall-time cap: the window fills and hops). A total above 1 core cannot keep up on the
runtime's one thread; ``prepare`` refuses above ``[pipeline] max_load`` (1.0 by default).
"""

from __future__ import annotations

import argparse
import time
import tomllib

from bci_bridge.config import parse_pipeline
from bci_bridge.errors import ConfigError
from bci_bridge.stream import StreamInfo
from runtime.cost_model import measure_node

CHAINS = {
    "bandpass": """
[[nodes]]
name = "bandpass"
module = "bandpass"
params = { low = 8.0, high = 30.0, order = 4 }
""",
    "bandpass + bandpower": """
[[nodes]]
name = "bandpass"
module = "bandpass"
params = { low = 8.0, high = 30.0, order = 4 }
[[nodes]]
name = "bandpower"
module = "bandpower"
params = { window_s = 1.0, hop_s = 0.1 }
""",
    "reref + spikes": """
[[nodes]]
name = "car"
module = "reref"
params = { mode = "average" }
[[nodes]]
name = "spikes"
module = "spikes"
params = { low = 250.0, high = 5000.0, threshold = -4.5, bin_s = 0.001 }
""",
}


def main() -> None:
    """Measure each chain at the given scale; print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--channels", type=int, default=1024)
    p.add_argument("--rate", type=float, default=30000.0)
    args = p.parse_args()
    names = tuple(f"ch{i}" for i in range(args.channels))
    info = StreamInfo(name="x", channel_names=names, sfreq=args.rate)
    head = '[pipeline]\nname = "load"\n[[inputs]]\nname = "x"\nstream = "x"\n'
    head += 'endpoint = "ipc:///tmp/bci-bridge-load-estimate"\n'
    print(f"{args.channels} ch at {args.rate:g} Hz, 1 ms chunks")
    print(f"{'chain / node':34s} {'at prepare':>24s} {'steady state':>24s}")
    for chain, nodes in CHAINS.items():
        pipeline = parse_pipeline(tomllib.loads(head + nodes))
        infos = {"x": info}
        totals = [0.0, 0.0]
        print(chain)
        for node in pipeline.nodes:
            try:
                infos[node.name] = node.plugin(node.config).prepare(infos[node.input])
            except ConfigError as exc:  # e.g. the spikes band above a low rate's Nyquist
                print(f"  {node.name}: does not apply at this scale: {exc}")
                break
            rate = infos[node.input].sfreq
            cells = []
            for i, kwargs in enumerate(({}, {"wall_s": 1e9})):
                t0 = time.perf_counter()
                us, emitted = measure_node(node, infos[node.input], **kwargs)
                load = us * rate / 1e6
                totals[i] += load
                mark = "" if emitted else ">="
                took = time.perf_counter() - t0
                cells.append(f"{mark}{us:8.3g} us {load:6.3g} core ({took:.1f} s)")
            print(f"  {node.name:32s} {cells[0]:>24s} {cells[1]:>24s}")
        print(f"  {'total':32s} {totals[0]:>14.3g} core {totals[1]:>14.3g} core")


if __name__ == "__main__":
    main()
