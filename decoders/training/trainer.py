"""``bci-bridge train``: from a recipe to an exported, parity-checked ONNX decoder and a report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials, read_recording, read_trials
from decoders.training.export import check_parity, open_session, save_model, time_inference
from decoders.training.families import make_family
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.filtering import filter_trials
from decoders.training.recipe import Recipe, load_recipe
from decoders.training.report import data_entry, params_entry
from decoders.training.resampling import resample_epochs, resample_trials

__all__ = ["Progress", "train"]

#: Called with one line of progress at a time.
Progress = Callable[[str], None]


def train(
    recipe_path: str | Path,
    out: str | Path,
    *,
    base: str | Path | None = None,
    progress: Progress = lambda line: None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a recipe: read, filter, cross-validate, fit (or fine-tune ``base``), export, check.

    Parameters
    ----------
    recipe_path : str or Path
        The recipe TOML (see :mod:`decoders.training.recipe`).
    out : str or Path
        Where to write the ``.onnx`` model.
    base : str or Path, optional
        A model made by ``bci-bridge train`` to fine-tune on the recipe's training data.
    progress : callable
        Receives progress lines.

    Returns
    -------
    report : dict
        See :data:`decoders.training.report.REQUIRED_KEYS`.
    manifest : dict
        The manifest written into the model.

    Raises
    ------
    ConfigError
        Bad recipe or data (file and key named); :class:`~bci_bridge.errors.ModelError` for a
        bad base model or a failed parity check.
    """
    recipe = load_recipe(recipe_path)
    progress(f"reading {recipe.train_path}")
    train_set = _read(recipe, recipe.train_path, "data.train")
    test_set = None
    if recipe.test_path is not None:
        progress(f"reading {recipe.test_path}")
        test_set = _read(recipe, recipe.test_path, "data.test")
        _same_layout(train_set, test_set, recipe.source)
    classes = train_set.classes
    if len(classes) < 2:
        raise ConfigError(
            f"needs at least two classes, found {list(classes)}",
            key="data.train",
            file=recipe.source,
        )
    shape = WindowShape(train_set.X.shape[1], train_set.X.shape[2], train_set.sfreq)
    X = _filtered(recipe, train_set, progress)
    y = _encode(train_set.y, classes, recipe.source, "data.train")
    X_test = y_test = None
    if test_set is not None:
        X_test = _filtered(recipe, test_set, progress)
        y_test = _encode(test_set.y, classes, recipe.source, "data.test")

    report: dict[str, Any] = {"family": recipe.family, "params": params_entry(recipe)}
    if base is None:
        cv = _cross_validate(recipe, shape, len(classes), X, y, progress)
        progress(f"fitting {recipe.family} on {len(y)} trials")
        family = make_family(recipe.family, recipe.decoder, shape, len(classes), recipe.cv.seed)
        family.fit(X, y)
        report["cv_accuracy"] = cv
    else:
        from decoders.training.finetune import fine_tune

        family, tuned = fine_tune(
            recipe, Path(base), shape, classes, X, y, X_test, y_test, progress
        )
        report.update(tuned)
        report["cv_accuracy"] = None
    report["test_accuracy"] = None
    if X_test is not None and y_test is not None:
        report["test_accuracy"] = _accuracy(family, X_test, y_test)
        progress(f"test accuracy {report['test_accuracy']:.4f} on {len(y_test)} trials")
    report.update(
        {
            "classes": list(classes),
            "n_train": len(y),
            "n_test": len(y_test) if y_test is not None else 0,
        }
    )

    model = family.to_onnx()
    session = open_session(model)
    held_out = X_test if X_test is not None else X
    held32 = held_out.astype(np.float32).astype(np.float64)
    progress(f"parity: ONNX against Python on {len(held32)} windows")
    report["parity_max_abs_diff"] = check_parity(session, held32, family.predict_proba(held32))
    report["parity_on"] = "test" if X_test is not None else "train"
    report["inference_us"] = time_inference(session, held_out[0])
    progress(
        f"inference one window, one thread: p50 {report['inference_us']['p50']} us, "
        f"p99 {report['inference_us']['p99']} us"
    )
    report["data"] = {"train": data_entry(train_set)}
    if test_set is not None:
        report["data"]["test"] = data_entry(test_set)

    manifest = {
        "input": "window",
        "channel_names": list(train_set.channel_names),
        "units": [train_set.unit] * len(train_set.channel_names),
        "sfreq": train_set.sfreq,
        "window_samples": shape.n_samples,
        "filters": _steps(recipe, train_set.sfreq),
        "classes": list(classes),
        "trained_on": {
            "source": train_set.source,
            "sha256": train_set.sha256,
            "n_trials": len(y),
        },
        "scores": {"cv_accuracy": report["cv_accuracy"], "test_accuracy": report["test_accuracy"]},
        "created_by": "bci-bridge train",
        "family": family.state(),
    }
    if base is not None:
        manifest["fine_tuned_from"] = report["base"]
    save_model(model, manifest, Path(out))
    progress(f"wrote {out}")
    return report, manifest


def _read(recipe: Recipe, path: Path, key: str) -> Trials:
    d = recipe.data
    continuous = path.suffix.lower() not in (".ts", ".npz")
    try:
        if d.sfreq is not None and continuous and d.tmin is not None and d.tmax is not None:
            rec = read_recording(path, stream=d.stream, markers=d.markers)
            if rec.sfreq != d.sfreq:
                return resample_epochs(rec, d.sfreq, d.tmin, d.tmax, d.labels, d.channels)
        trials = read_trials(
            path,
            tmin=d.tmin,
            tmax=d.tmax,
            labels=d.labels,
            channels=d.channels,
            stream=d.stream,
            markers=d.markers,
        )
        if d.sfreq is None or d.sfreq == trials.sfreq:
            return trials
        X, rate = resample_trials(trials.X, trials.sfreq, d.sfreq)
    except ConfigError as exc:
        where = "data.sfreq" if exc.key == "sfreq" else key  # a rate change it cannot make
        raise ConfigError(f"{exc}", key=where, file=recipe.source) from exc
    return replace(trials, X=X, sfreq=rate)


def _steps(recipe: Recipe, rate: float) -> list[dict[str, Any]]:
    """Return the manifest's ``filters``: a resample node first if ``[data] sfreq`` is set."""
    steps = [{"module": f.module, "params": f.params} for f in recipe.filters]
    if recipe.data.sfreq is not None:
        steps.insert(0, {"module": "resample", "params": {"sfreq": rate}})
    return steps


def _same_layout(a: Trials, b: Trials, source: str) -> None:
    if (a.channel_names, a.sfreq, a.X.shape[2]) != (b.channel_names, b.sfreq, b.X.shape[2]):
        raise ConfigError(
            f"the test set ({list(b.channel_names)}, {b.sfreq:g} Hz, {b.X.shape[2]} samples) "
            f"does not match the training set ({list(a.channel_names)}, {a.sfreq:g} Hz, "
            f"{a.X.shape[2]} samples)",
            key="data.test",
            file=source,
        )


def _filtered(recipe: Recipe, trials: Trials, progress: Progress) -> npt.NDArray[np.float64]:
    if recipe.filters:
        progress(
            f"filtering {len(trials.y)} trials causally: "
            + ", ".join(f.module for f in recipe.filters)
        )
    try:
        return filter_trials(trials.X, trials.sfreq, trials.channel_names, recipe.filters)
    except ConfigError as exc:
        raise exc.within(file=recipe.source) from exc


def _encode(
    labels: npt.NDArray[np.str_], classes: tuple[str, ...], source: str, key: str
) -> npt.NDArray[np.intp]:
    unknown = sorted(set(map(str, labels)) - set(classes))
    if unknown:
        raise ConfigError(
            f"labels {unknown} are not among the training classes {list(classes)}",
            key=key,
            file=source,
        )
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[str(v)] for v in labels], dtype=np.intp)


def _accuracy(family: FeatureFamily, X: npt.NDArray[np.float64], y: npt.NDArray[np.intp]) -> float:
    return round(float(np.mean(family.predict_proba(X).argmax(axis=1) == y)), 4)


def _cross_validate(
    recipe: Recipe,
    shape: WindowShape,
    n_classes: int,
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.intp],
    progress: Progress,
) -> float:
    from sklearn.model_selection import StratifiedKFold

    folds = StratifiedKFold(recipe.cv.folds, shuffle=True, random_state=recipe.cv.seed)
    scores = []
    for k, (fit_idx, val_idx) in enumerate(folds.split(X, y)):
        family = make_family(recipe.family, recipe.decoder, shape, n_classes, recipe.cv.seed)
        family.fit(X[fit_idx], y[fit_idx])
        scores.append(_accuracy(family, X[val_idx], y[val_idx]))
        progress(f"cv fold {k + 1}/{recipe.cv.folds}: accuracy {scores[-1]:.4f}")
    cv = round(float(np.mean(scores)), 4)
    progress(f"cv accuracy {cv:.4f}")
    return cv
