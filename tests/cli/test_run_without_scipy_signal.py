"""``bci-bridge run`` of filter and feature pipelines never imports ``scipy.signal`` (issue 11).

``scipy.signal`` costs a fresh interpreter ~70 MB and most of a second, more than the rest of
the runtime. The modules design their filters and tapers with numpy (``decoders.iir_design``,
``decoders.tapers``, ``decoders.resample_design``) and run scipy's compiled SOS loop loaded on
its own (``decoders.sos_kernel``). Each pipeline below runs for real in a fresh interpreter, fed
by an LSL outlet in the same process, until every node has stepped; then the interpreter's
scipy modules must be those of a bare ``import scipy`` plus the one extension module, and
asyncio must not be loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from bci_bridge.bench.pipelines import pipeline_toml
from bci_bridge.bench.scenarios import SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
#: The one module below ``scipy.signal`` a filtering runtime may load.
KERNEL_MODULE = "scipy.signal._sosfilt"

_WRAPPER = """
import json, sys, threading, time
import numpy as np, pylsl
from bci_bridge.cli.main import main
from bci_bridge.lsl import to_lsl
from bci_bridge.stream import StreamInfo

name, channels, rate = sys.argv[1], tuple(sys.argv[2].split(",")), float(sys.argv[3])
info = StreamInfo(name=name, channel_names=channels, sfreq=rate)
outlet = pylsl.StreamOutlet(to_lsl(info))
stop = threading.Event()

def play():
    rng = np.random.default_rng(0)
    while not stop.is_set():
        outlet.push_chunk(rng.standard_normal((10, len(channels))).tolist())
        time.sleep(10 / rate)

threading.Thread(target=play, daemon=True).start()
code = main(sys.argv[4:])
stop.set()
scipy_modules = sorted(m for m in sys.modules if m == "scipy" or m.startswith("scipy."))
print(json.dumps({"code": code, "scipy": scipy_modules, "asyncio": "asyncio" in sys.modules}))
"""


def _bare_scipy_modules() -> set[str]:
    """Return the scipy modules a fresh interpreter holds after a bare ``import scipy``."""
    code = "import json, sys, scipy; print(json.dumps([m for m in sys.modules if 'scipy' in m]))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return {m for m in json.loads(out.stdout) if m == "scipy" or m.startswith("scipy.")}


def _wearable_toml(stream: str, out: str) -> str:
    return pipeline_toml(SCENARIOS["wearable-8x250"], stream=stream, in_endpoint=None, out=out)


def _filters_toml(stream: str, out: str) -> str:
    """High-pass, notch, band-pass, band power, and a spike counter beside them."""
    return f"""
[pipeline]
name = "filters"

[[inputs]]
name = "eeg"
lsl = "{stream}"

[[nodes]]
name = "highpass"
module = "highpass"
params = {{ cutoff = 0.5, order = 3 }}

[[nodes]]
name = "notch"
module = "notch"
params = {{ freq = 50.0, harmonics = [1, 2] }}

[[nodes]]
name = "bandpass"
module = "bandpass"
params = {{ low = 8.0, high = 30.0, order = 4 }}

[[nodes]]
name = "bandpower"
module = "bandpower"
params = {{ bands = [[8.0, 13.0], [13.0, 30.0]], band_names = ["mu", "beta"], hop_s = 0.1 }}

[[nodes]]
name = "spikes"
module = "spikes"
input = "notch"
params = {{ low = 10.0, high = 100.0, bin_s = 0.02 }}

[[outputs]]
node = "bandpower"
zmq = "{out}"

[[outputs]]
node = "spikes"
zmq = "{out}-spikes"
"""


def _demo_toml(stream: str, out: str) -> str:
    """The demo's pipeline (pick, band-pass, band power, ONNX), read from LSL directly."""
    text = (ROOT / "decoders/demo/pipeline.toml").read_text()
    text = text.replace(
        'stream = "SyntheticEEG"\nendpoint = "tcp://127.0.0.1:5555"', f'lsl = "{stream}"'
    )
    text = text.replace('model = "model.onnx"', f'model = "{ROOT / "decoders/demo/model.onnx"}"')
    text = text.replace(
        'zmq = "tcp://127.0.0.1:5556"\nlsl = "bci-bridge-demo-decoded"', f'zmq = "{out}"'
    )
    assert f'lsl = "{stream}"' in text, "the demo pipeline's input section changed"
    assert out in text, "the demo pipeline's output section changed"
    return text


@pytest.mark.parametrize(
    ("make_toml", "channels", "nodes"),
    [
        (_wearable_toml, [f"ch{i}" for i in range(8)], ["bandpass", "bandpower"]),
        (
            _filters_toml,
            [f"ch{i}" for i in range(4)],
            ["highpass", "notch", "bandpass", "bandpower", "spikes"],
        ),
        (_demo_toml, ["C3", "C4", "Cz"], ["pick", "bandpass", "bandpower", "classifier"]),
    ],
    ids=["wearable-8x250", "filters", "demo"],
)
def test_a_filtering_run_loads_no_scipy_signal(
    make_toml: object, channels: list[str], nodes: list[str], ipc_dir: Path
) -> None:
    assert callable(make_toml)
    stream = f"lean-{uuid.uuid4().hex[:8]}"
    toml = ipc_dir / "pipeline.toml"
    toml.write_text(make_toml(stream, f"ipc://{ipc_dir}/out"))
    report = ipc_dir / "report.json"
    argv = [stream, ",".join(channels), "250", "run", str(toml), "--duration", "2"]
    argv += ["--set", f"pipeline.metrics=ipc://{ipc_dir}/metrics", "--report", str(report)]
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *argv],
        capture_output=True,
        text=True,
        timeout=180,
        env=os.environ.copy(),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["code"] == 0, result.stderr[-3000:]
    calls = {name: node["calls"] for name, node in json.loads(report.read_text())["nodes"].items()}
    assert all(calls[name] > 0 for name in nodes), calls  # every module ran on data
    loaded = set(outcome["scipy"])
    assert KERNEL_MODULE in loaded  # the compiled loop, loaded on its own
    extra = loaded - _bare_scipy_modules() - {KERNEL_MODULE}
    assert not extra, f"bci-bridge run imported {sorted(extra)}"
    # Nor asyncio (~6 MB): pyzmq's ZAP thread and monitor helpers bring it; a run without
    # CURVE needs neither (bci_bridge.curve, runtime.input_links).
    assert not outcome["asyncio"]
