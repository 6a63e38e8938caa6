"""Per-frame CPU cost of the runtime's input path, without sockets.

Runs ``Runtime._handle`` (decode, check against the info, per-input accounting, the non-finite
check, a ``pick`` node) over 50,000 pre-built one-sample frames of 64 float32 channels, and
prints the best of five passes in microseconds of process CPU time per frame. Give another
source tree (``git archive main | tar -x -C /tmp/main``) to compare it with this one::

    .venv/bin/python benchmarks/input_path.py            # this tree
    .venv/bin/python benchmarks/input_path.py /tmp/main  # another checkout
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])

import numpy as np
import zmq

from bci_bridge import wire
from bci_bridge.config import load_pipeline
from bci_bridge.stream import StreamInfo
from runtime.runner import Runtime, RuntimeOptions

N_FRAMES = 50_000
PIPELINE = """
[pipeline]
name = "b"
[[inputs]]
stream = "eeg"
endpoint = "ipc:///tmp/bci-bridge-input-path"
[[nodes]]
module = "pick"
params = { channels = ["c0", "c1"] }
"""


def main() -> None:
    """Measure and print the cost per frame."""
    path = Path(tempfile.mkdtemp()) / "p.toml"
    path.write_text(PIPELINE)
    runtime = Runtime(load_pipeline(path), RuntimeOptions())
    info = StreamInfo(name="eeg", channel_names=tuple(f"c{i}" for i in range(64)), sfreq=1000.0)
    runtime._wire_graph()
    state = runtime.inputs["eeg"]
    state.info = info
    runtime._prepare()
    row = np.random.default_rng(0).random((1, 64)).astype(np.float32)
    frames = []
    for i in range(N_FRAMES):
        parts = wire.encode_data(b"data.eeg", row, np.array([100.0 + i / 1000.0]), i, i, 0.0)
        frames.append([zmq.Frame(p if isinstance(p, bytes) else p.tobytes()) for p in parts])
    handle = runtime._handle
    best = float("inf")
    for _ in range(5):
        state.next_index = 0
        if hasattr(state, "session"):
            state.session = None  # join again: the same frames are in order once more
        start = time.process_time()
        for parts in frames:
            handle(parts)
        best = min(best, (time.process_time() - start) / N_FRAMES * 1e6)
    print(f"{best:.2f} us per frame (best of 5 x {N_FRAMES}); {state.samples_received} received")


if __name__ == "__main__":
    main()
