"""Draw, per scenario, the latency distribution of bci-bridge against the floor (and peers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import BciBridgeError

__all__ = ["plot"]


def plot(results: dict[str, dict[str, Any]], ages: dict[str, dict[str, Any]], path: Path) -> None:
    """Write a PNG: one panel per scenario, empirical CDF of the age of each output.

    Parameters
    ----------
    results : dict
        The scenarios' JSON entries (for the titles).
    ages : dict
        ``{scenario: {chain: ndarray of ages in ms}}``.
    path : Path
        The PNG to write.

    Raises
    ------
    BciBridgeError
        If matplotlib is not installed (``pip install bci-bridge[bench]``).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter, ScalarFormatter
    except ImportError as exc:
        raise BciBridgeError("--plot needs matplotlib: pip install 'bci-bridge[bench]'") from exc
    names = [n for n in results if any(a.size for a in ages.get(n, {}).values())]
    if not names:
        raise BciBridgeError("--plot: no scenario produced latencies to draw")
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, 3.8 * rows), squeeze=False)
    colours = {"bci-bridge": "tab:blue", "floor": "tab:gray"}
    spare = iter(["tab:green", "tab:orange", "tab:purple", "tab:red", "tab:brown", "tab:olive"])
    for chain in dict.fromkeys(c for a in ages.values() for c in a):
        if chain not in colours:
            colours[chain] = next(spare, "black")
    for ax, name in zip(axes.flat, names, strict=False):
        r = results[name]
        for chain, a in ages[name].items():
            if not a.size:
                continue
            x: npt.NDArray[np.float64] = np.sort(a)
            q = 1.0 - np.arange(x.size) / x.size  # survival: P(age >= x)
            p50, p99 = np.percentile(a, [50, 99])
            # An age <= 0 (a chain that re-stamps its outputs ahead of its input) has no
            # place on a log axis: drawn from the first positive age, counted in the label.
            bad = int(np.count_nonzero(x <= 0))
            label = f"{chain}: p50 {p50:.2f}, p99 {p99:.2f} ms"
            if bad:
                label += f" ({bad / x.size:.0%} at <= 0 ms)"
            ax.step(x[bad:], q[bad:], where="post", color=colours.get(chain), lw=1.6, label=label)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_yscale("log")
        ax.set_ylim(max(1e-4, 0.5 / max(a.size for a in ages[name].values())), 1.05)
        ax.set_xlabel("age of output at the client (ms, log scale)")
        ax.set_ylabel("fraction of outputs at least this old")
        ratio = r.get("ratio_p50")
        sub = f"p50 ratio {ratio:.2f}x" if ratio else "no ratio"
        ax.set_title(f"{name} ({sub}, {r['channels']} ch, {r['rate']:g} Hz)", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle("bci-bridge bench: end-to-end latency against the hand-written floor")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
