"""Fine-tune an exported decoder to a new session or subject from a short calibration set.

The base model's manifest holds its family's parameters (``"family"``): the feature stage is
kept as it is (segment averaging, DFT bands, CSP filters), the features are re-standardised with
the calibration set's own mean and scale (re-centring: a session's offset or gain change moves
the features, not their discriminant directions), and only the linear classifier is refitted
on the calibration set. Accuracy before (the base as it is) and after is measured on the
recipe's test set, or, without one, on the calibration set itself (then flagged in-sample).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError, ModelError
from bci_bridge.params import build_config
from decoders.manifest import read_manifest
from decoders.training.families import FAMILIES, make_family
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.recipe import Recipe

__all__ = ["fine_tune", "load_base"]


def load_base(path: Path, shape: WindowShape, classes: tuple[str, ...]) -> FeatureFamily:
    """Rebuild the fitted decoder stored in a model made by ``bci-bridge train``.

    Raises
    ------
    ModelError
        If the model has no manifest or family parameters, or does not fit the data's shape,
        rate or classes.
    """
    manifest = read_manifest(path)
    if manifest is None or not isinstance(manifest.get("family"), dict):
        raise ModelError(
            f"{path}: no 'family' in its manifest; only models made by "
            "'bci-bridge train' can be fine-tuned",
            key="base",
        )
    state = manifest["family"]
    name = state.get("name")
    if name not in FAMILIES:
        raise ModelError(f"{path}: unknown family {name!r}", key="base")
    want = (manifest.get("window_samples"), float(manifest.get("sfreq", 0.0)), manifest["classes"])
    have = (shape.n_samples, shape.sfreq, list(classes))
    if want != have or len(manifest["channel_names"]) != shape.n_channels:
        raise ModelError(
            f"{path} expects {len(manifest['channel_names'])} channels x {want[0]} samples at "
            f"{want[1]:g} Hz, classes {want[2]}; the calibration data has {shape.n_channels} x "
            f"{have[0]} at {have[1]:g} Hz, classes {have[2]}",
            key="base",
        )
    try:
        config = build_config(FAMILIES[name].Config, state.get("config", {}))
    except ConfigError as exc:
        raise ModelError(f"{path}: bad family parameters: {exc}", key="base") from exc
    family = make_family(name, config, shape, len(classes))
    family.load_state(state)
    return family


def fine_tune(
    recipe: Recipe,
    base: Path,
    shape: WindowShape,
    classes: tuple[str, ...],
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.intp],
    X_test: npt.NDArray[np.float64] | None,
    y_test: npt.NDArray[np.intp] | None,
    progress: Any,
) -> tuple[FeatureFamily, dict[str, Any]]:
    """Adapt the base to calibration trials ``X`` (n, C, W), ``y``; report before and after."""
    family = load_base(base, shape, classes)
    X_eval, y_eval = (X_test, y_test) if X_test is not None and y_test is not None else (X, y)
    where = "test" if X_test is not None else "calibration (in-sample)"
    before = round(float(np.mean(family.predict_proba(X_eval).argmax(axis=1) == y_eval)), 4)
    progress(f"base {base}: accuracy {before:.4f} on the {where} set")
    family.adapt(X, y)
    after = round(float(np.mean(family.predict_proba(X_eval).argmax(axis=1) == y_eval)), 4)
    progress(f"fine-tuned on {len(y)} calibration trials: accuracy {after:.4f}")
    return family, {
        "base": str(base),
        "accuracy_before": before,
        "accuracy_after": after,
        "accuracy_on": where,
        "n_calibration": len(y),
    }
