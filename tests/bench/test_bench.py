"""``bci-bridge bench``: a real end-to-end run, the gate's logic, the floor and the model.

No timing assertions: the tests check keys, counts, orderings, and that the ratios are the
quotients of the numbers reported beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from bci_bridge.bench.floor import _decode_step, _wearable_step
from bci_bridge.bench.pipelines import pipeline_toml
from bci_bridge.bench.scenarios import SCENARIOS, pick_scenarios
from bci_bridge.bench_extras.eegnet import build_eegnet, eegnet_path
from bci_bridge.config import parse_pipeline
from bci_bridge.errors import ConfigError

LATENCY_KEYS = {"p50", "p99", "p999", "max", "count"}


def _bench(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # conftest set LSLAPICFG: LSL stays on this machine
    return subprocess.run(
        [sys.executable, "-m", "bci_bridge", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


@pytest.mark.slow
def test_relay_end_to_end_accounts_for_every_sample(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    ages = tmp_path / "ages" / "run1"  # --ages makes its folder
    proc = _bench(
        "relay-64x250",
        "--quick",
        "--blocks",
        "1",
        "--duration",
        "1",
        "--json",
        str(out),
        "--ages",
        str(ages),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "relay-64x250 [1/1 bci-bridge]" in proc.stdout  # progress lines
    doc = json.loads(out.read_text())
    assert set(doc["meta"]) >= {"machine", "versions", "git", "quick", "duration_s"}
    assert doc["meta"]["quick"] is True
    assert list(doc["scenarios"]) == ["relay-64x250"]
    r = doc["scenarios"]["relay-64x250"]
    assert "error" not in r
    assert (r["channels"], r["rate"], r["chunk_size"]) == (64, 250.0, 1)
    # 1 s at 250 Hz, one sample per push; every sample came back, through both chains.
    assert r["samples_sent"] == 250
    assert r["samples_lost"] == 0
    assert r["floor_samples_lost"] == 0
    chains = [b["chain"] for b in r["blocks"]]
    assert chains == ["bci-bridge", "floor"]
    for block in r["blocks"]:
        assert block["samples_sent"] == 250
        assert block["outputs"] == 250  # one output per input sample
        assert block["samples_lost"] == 0
        assert 0 < block["e2e_ms"]["count"] <= 250
        # --ages: every output's age, warm-up included; the block's statistics skip the warm-up.
        with np.load(ages / f"relay-64x250-{block['chain']}-01.npz") as z:
            assert z["age_ms"].shape == (250,)
            assert (z["age_ms"] > 0).all()
            assert z["hop_ms"].size == 0  # LSL output: no ZeroMQ hop
            assert 0 <= int(z["warmup_outputs"]) < 250
            assert block["e2e_ms"]["count"] == 250 - int(z["warmup_outputs"])
    assert sorted(p.name for p in ages.iterdir()) == [
        "relay-64x250-bci-bridge-01.npz",
        "relay-64x250-floor-01.npz",
    ]
    for key in ("e2e_ms", "floor_e2e_ms"):
        lat = r[key]
        assert set(lat) == LATENCY_KEYS
        assert 0 < lat["p50"] <= lat["p99"] <= lat["p999"] <= lat["max"]
    # One block per chain: the per-block ratios are the pooled ones, the medians are them.
    assert r["block_ratios"]["p50"] == [r["ratio_p50"]]
    # (the per-block ratios come from unrounded percentiles, e2e_ms from rounded ones)
    assert r["ratio_p50"] == pytest.approx(r["e2e_ms"]["p50"] / r["floor_e2e_ms"]["p50"], 1e-3)
    assert r["ratio_p99"] == pytest.approx(r["e2e_ms"]["p99"] / r["floor_e2e_ms"]["p99"], 1e-3)
    assert r["cpu_cores"] > 0
    assert r["floor_cpu_cores"] > 0
    # (cpu_cores is rounded to 4 decimals, of values near 0.05 core)
    assert r["cpu_ratio"] == pytest.approx(r["cpu_cores"] / r["floor_cpu_cores"], 1e-2)
    assert 0 < r["rss_mb"] <= r["chain_rss_mb"]
    assert 0 < r["floor_rss_mb"] <= r["floor_chain_rss_mb"]
    assert r["startup_s"] > 0
    assert r["floor_startup_s"] > 0
    # The deterministic counters: the band-pass output, one (1, 64) float32 array per frame.
    assert r["counters"]["allocs_per_frame"] == 1
    assert r["counters"]["bytes_allocated_per_frame"] == 64 * 4
    # The runtime's per-node call times are in the stage breakdown.
    assert r["stages"]["node.bandpass_ms"]["p50"] > 0
    # ...and per node, every step, the cold ones and the warm ones: each step is one of the two.
    steps = r["nodes"]["bandpass"]
    calls = steps["step_us"]["count"]
    assert 0 < calls <= 250  # a step per pull from the inlet: one sample or more
    assert steps["step_us_cold"]["count"] + steps["step_us_warm"]["count"] == calls
    assert steps["step_us_cold"]["count"] >= 1  # the first step is cold
    for key in ("step_us", "step_us_cold", "step_us_warm"):
        if steps[key]["count"]:
            assert 0 < steps[key]["p50"] <= steps[key]["p99"] <= steps[key]["max"]


def test_help_lists_the_gate_options() -> None:
    proc = _bench("--help")
    assert proc.returncode == 0, proc.stderr
    for flag in ("--ci", "--tolerance-p99", "--tolerance-cpu", "--retries", "--cpus", "--ages"):
        assert flag in proc.stdout
    assert "spikes-1024x30000" in proc.stdout


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    proc = _bench("relay-64x9", "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert "unknown scenario 'relay-64x9'" in proc.stderr
    assert "relay-64x250" in proc.stderr  # lists the known ones
    missing = tmp_path / "nope.json"
    proc = _bench("--quick", "--compare", str(missing), "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert "baseline file not found" in proc.stderr
    assert str(missing) in proc.stderr
    assert not (tmp_path / "x.json").exists()
    proc = _bench("--quick", "--retries", "-1", "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert "--retries" in proc.stderr
    assert not (tmp_path / "x.json").exists()
    a_file = tmp_path / "file"
    a_file.write_text("")
    proc = _bench("--quick", "--ages", str(a_file), "--json", str(tmp_path / "x.json"))
    assert proc.returncode == 2
    assert "--ages" in proc.stderr
    assert "is a file, not a folder" in proc.stderr
    assert not (tmp_path / "x.json").exists()


# -- scenarios, the model, the floor -----------------------------------------------------------


def test_every_scenario_makes_a_valid_pipeline(tmp_path: Path) -> None:
    for s in SCENARIOS.values():
        out = "x-out" if s.output == "lsl" else "ipc:///tmp/x-out"
        text = pipeline_toml(
            s, stream="x", in_endpoint="ipc:///tmp/x-in", out=out, cache_dir=tmp_path
        )
        pipeline = parse_pipeline(tomllib.loads(text))  # resolves the real modules and params
        assert pipeline.outputs[0].node == pipeline.nodes[-1].name
    assert [s.name for s in pick_scenarios([])] == list(SCENARIOS)
    with pytest.raises(ConfigError, match="unknown scenario"):
        pick_scenarios(["decode-1x1"])


def test_eegnet_runs_in_onnxruntime_and_is_cached(tmp_path: Path) -> None:
    path = eegnet_path(8, 250, 250.0, tmp_path)
    assert eegnet_path(8, 250, 250.0, tmp_path) == path
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.shape == ["batch", 8, 250]
    x = np.random.default_rng(1).standard_normal((3, 8, 250)).astype(np.float32)
    (p,) = session.run(None, {inp.name: x})
    assert p.shape == (3, 2)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["classes"] == "left,right"
    # 1 kHz input is pooled to ~250 Hz inside the model: same output shape.
    fast = build_eegnet(8, 1000, 1000.0)
    assert [o.name for o in fast.graph.output] == ["p"]


def test_floor_decode_runs_the_model_at_every_sample_once_the_window_is_full(
    tmp_path: Path,
) -> None:
    rate = 250
    args = argparse.Namespace(
        channels=4, rate=float(rate), model=str(eegnet_path(4, rate, float(rate), tmp_path))
    )
    step = _decode_step(args)
    data = np.random.default_rng(2).standard_normal((rate + 10, 4)).astype(np.float32)
    outs = [step(data[i : i + 1]) for i in range(rate - 1)]
    assert all(o is None for o in outs)  # the 1 s window is filling
    rows = [step(data[i : i + 1]) for i in range(rate - 1, rate + 10)]
    assert all(r is not None and r.shape == (1, 2) for r in rows)
    assert all(np.isclose(float(r.sum()), 1.0, rtol=1e-5) for r in rows if r is not None)
    five = step(data[:5])
    assert five is not None
    assert five.shape == (5, 2)


def test_floor_wearable_emits_log_band_power_every_hop_once_the_window_is_full() -> None:
    step = _wearable_step(argparse.Namespace(channels=3, rate=250.0))
    t = np.arange(500) / 250.0
    data = np.stack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 20 * t), t * 0], axis=1)
    outs = [step(data[i : i + 1].astype(np.float32)) for i in range(500)]
    # Like the bandpower module: the first row at the 250th sample, then one every 25.
    assert [i for i, o in enumerate(outs) if o is not None] == list(range(249, 500, 25))
    rows = [o for o in outs if o is not None]
    assert len(rows) == 1 + (500 - 250) // 25
    last = rows[-1].reshape(3, 2)  # (channel, band): mu 8-13 Hz, beta 13-30 Hz
    assert last[0, 0] > last[0, 1]  # 10 Hz: mu dominates
    assert last[1, 1] > last[1, 0]  # 20 Hz: beta dominates
    assert last[2].max() < last[0].min()  # the flat channel has the least power


def test_floor_decode_window_is_the_last_second_of_filtered_samples(tmp_path: Path) -> None:
    # The sliding window (no copy per step) must hold exactly the last `rate` samples, in
    # order, across the point where it moves back to the start of its buffer.
    from bci_bridge.bench.floor import _Filter

    rate, c = 64, 3
    model = str(eegnet_path(c, rate, float(rate), tmp_path))
    step = _decode_step(argparse.Namespace(channels=c, rate=float(rate), model=model))
    n = 4 * c * rate  # several trips round the buffer
    data = np.random.default_rng(5).standard_normal((n, c)).astype(np.float32)
    got = [step(data[i : i + 7]) for i in range(0, n, 7)]
    rows = np.concatenate([g for g in got if g is not None])
    filtered = _Filter(c, float(rate))(data).astype(np.float32)  # (c, n)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    for k, end in enumerate(range(rate, n + 1)):
        if k % 37:
            continue  # a sample of the windows is enough
        window = np.ascontiguousarray(filtered[:, end - rate : end])[None]
        want = session.run(None, {feed: window})[0][0]
        np.testing.assert_allclose(rows[k], want, rtol=1e-4, atol=1e-6)
    assert rows.shape == (n - rate + 1, 2)


def test_a_peer_is_primed_with_a_full_window_and_then_emits_at_every_window() -> None:
    from bci_bridge.bench.runner import _peer_expected, _prime_samples

    decode, wearable = SCENARIOS["decode-64x1000"], SCENARIOS["wearable-8x250"]
    relay = SCENARIOS["relay-64x250"]
    assert _prime_samples(decode) == 1000  # a 1 s window
    assert _prime_samples(wearable) == 250
    assert _prime_samples(relay) == relay.chunk_size
    # The prime filled the window: every later sample gives a window (decode), every 0.1 s
    # hop one (wearable), every sample one row (relay).
    assert _peer_expected(decode, 2000) == 2000
    assert _peer_expected(wearable, 500) == 20
    assert _peer_expected(wearable, 524) == 20
    assert _peer_expected(relay, 250) == 250
