"""``bci-bridge train``: from a recipe to an exported, parity-checked ONNX decoder and a report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.recordings import Trials, read_recording, read_trials
from bci_bridge.recordings.picks import pick_recording
from decoders.training.continuous import Sliding, load_train_windows, load_windows
from decoders.training.export import check_parity, open_session, save_model, time_inference
from decoders.training.families import make_family
from decoders.training.family import FeatureFamily, WindowShape
from decoders.training.filtering import filter_trials
from decoders.training.grid import Candidate
from decoders.training.recipe import Recipe, load_recipe
from decoders.training.report import (
    agreement,
    data_entry,
    params_entry,
    selection_entry,
    validation_entry,
)
from decoders.training.resampling import resample_epochs, resample_trials
from decoders.training.selection import Row, choose, search
from decoders.training.splits import Splits, make_splits
from decoders.training.ties import ALPHA, compare_to_chosen
from decoders.training.window_splits import make_window_splits

__all__ = ["Progress", "train"]

#: Called with one line of progress at a time.
Progress = Callable[[str], None]


def train(
    recipe_path: str | Path,
    out: str | Path,
    *,
    base: str | Path | None = None,
    overrides: Sequence[str] = (),
    jobs: int = 1,
    progress: Progress = lambda line: None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run a recipe: read, filter, select, refit, score TEST once, export, check.

    The decoder is chosen by cross-validation on the training trials only and refitted on all
    of them (or ``base`` is fine-tuned); only then is the test set scored, once.

    Parameters
    ----------
    recipe_path : str or Path
        The recipe TOML (see :mod:`decoders.training.recipe`).
    out : str or Path
        Where to write the ``.onnx`` model.
    base : str or Path, optional
        A model made by ``bci-bridge train`` to fine-tune on the recipe's training data.
    overrides : sequence of str
        ``KEY=VALUE`` edits of the recipe (see :func:`~decoders.training.recipe.load_recipe`).
    jobs : int
        Worker processes for the search, >= 1.
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
    recipe = load_recipe(recipe_path, overrides)
    searched: list[Row] | None = None
    if recipe.rates:
        if base is not None:
            raise ConfigError(
                "fine-tuning keeps the base model's rate: give one rate, not a list",
                key="data.sfreq",
                file=recipe.source,
            )
        # The rate is chosen on TRAIN alone, before the test file is even read.
        try:
            recipe, searched = _search_rates(recipe, jobs, progress)
        except ConfigError as exc:
            raise exc.within(file=recipe.source) from exc.__cause__
    sliding: Sliding | None = None
    if recipe.windows is None:
        train_set, groups = _read_train(recipe, progress)
    else:
        sliding = load_train_windows(recipe, progress)
        train_set, groups = sliding.train, sliding.train.groups
    test_set = None
    if recipe.test_path is not None:
        progress(f"reading {recipe.test_path}")
        if sliding is None:
            test_set = _read(recipe, recipe.test_path, "data.test")
        else:
            sliding.test = load_windows(recipe, recipe.test_path, "data.test", progress)
            test_set = sliding.test.trials
        _same_layout(train_set, test_set, recipe.source)
    classes = train_set.classes
    if len(classes) < 2:
        raise ConfigError(
            f"needs at least two classes, found {list(classes)}",
            key="data.train",
            file=recipe.source,
        )
    shape = WindowShape(train_set.X.shape[1], train_set.X.shape[2], train_set.sfreq)
    # Sliding windows are cut from the recording after it was filtered whole.
    X = train_set.X if sliding else _filtered(recipe, train_set, progress)
    y = _encode(train_set.y, classes, recipe.source, "data.train")
    X_test = y_test = None
    if test_set is not None:
        X_test = test_set.X if sliding else _filtered(recipe, test_set, progress)
        y_test = _encode(test_set.y, classes, recipe.source, "data.test")

    report: dict[str, Any] = {}
    if base is None:
        try:
            family, chosen, selection, validation = _select(
                recipe, shape, classes, X, y, groups, jobs, progress, sliding, searched
            )
        except ConfigError as exc:
            raise exc.within(file=recipe.source) from exc.__cause__
        report["family"] = chosen.family
        report["params"] = params_entry(recipe, chosen)
        report["cv_accuracy"] = selection[[r["chosen"] for r in selection].index(True)]["cv_mean"]
        report["cv"] = validation
        report["selection"] = selection
    else:
        from decoders.training.finetune import fine_tune

        # The base model's family and settings are kept; the recipe's [decoder] is not used.
        family, tuned = fine_tune(
            recipe, Path(base), shape, classes, X, y, X_test, y_test, progress
        )
        report["family"] = family.name
        report["params"] = params_entry(recipe, Candidate(family.name, {}, _config(family)))
        report.update(tuned)
        report["cv_accuracy"] = None
    report["test_accuracy"] = None
    if X_test is not None and y_test is not None:
        report["test_accuracy"] = _accuracy(family, X_test, y_test)
        what = "trials" if sliding is None else "windows"
        progress(f"test accuracy {report['test_accuracy']:.4f} on {len(y_test)} {what}")
        if "cv" in report:
            # Overlapping windows are not independent: sliding intervals count segments.
            n_scored = len(y_test) if sliding is None else sliding.n_test_units()
            report["cv"].update(agreement(report["cv"], report["test_accuracy"], n_scored))
            if report["cv"]["warning"]:
                progress(f"warning: {report['cv']['warning']}")
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
    if len(recipe.train_paths) > 1:
        report["data"]["train"]["files"] = [str(p) for p in recipe.train_paths]
    if test_set is not None:
        report["data"]["test"] = data_entry(test_set)
    if sliding is not None:
        report["windows"] = sliding.entry(recipe)

    manifest = {
        "input": "window",
        "channel_names": list(train_set.channel_names),
        "units": [train_set.unit] * len(train_set.channel_names),
        "sfreq": train_set.sfreq,
        "window_samples": shape.n_samples,
        "filters": _steps(recipe, train_set.sfreq),
        "classes": list(classes),
        **({"hop_samples": sliding.hop} if sliding is not None else {}),
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
    else:
        manifest["selection"] = selection_entry(report)
    save_model(model, manifest, Path(out))
    progress(f"wrote {out}")
    return report, manifest


def _read(recipe: Recipe, path: Path, key: str) -> Trials:
    d = recipe.data
    continuous = path.suffix.lower() not in (".ts", ".npz")
    try:
        if d.channel_types:  # the recording's channels of these types, in file order
            if not continuous:
                raise ConfigError(
                    f"{path.name} states no channel types; pick channels by name with "
                    "data.channels",
                    key="channel_types",
                )
            if d.tmin is None or d.tmax is None:
                raise ConfigError(
                    "a continuous recording needs an epoch window: set data.tmin and data.tmax "
                    "(or a [windows] table)",
                    key="tmin",
                )
            rec = read_recording(
                path, stream=d.stream, markers=d.markers, channel_types=d.channel_types
            )
            rec = pick_recording(rec, (), d.channel_types)
            if d.sfreq is not None and rec.sfreq != d.sfreq:
                return resample_epochs(rec, d.sfreq, d.tmin, d.tmax, d.labels)
            return rec.epochs(d.tmin, d.tmax, d.labels)
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
            length=d.length,
            sfreq=d.sfreq,
        )
        if d.sfreq is None or d.sfreq == trials.sfreq:
            return trials
        X, rate = resample_trials(trials.X, trials.sfreq, d.sfreq)
    except ConfigError as exc:
        if exc.key in ("length", "sfreq", "channel_types", "tmin"):  # the [data] key to fix
            text = f"{exc.file}: {exc.message}" if exc.file else exc.message
            raise ConfigError(text, key=f"data.{exc.key}", file=recipe.source) from exc
        raise ConfigError(f"{exc}", key=key, file=recipe.source) from exc
    return replace(trials, X=X, sfreq=rate)


def _steps(recipe: Recipe, rate: float) -> list[dict[str, Any]]:
    """Return the manifest's ``filters``: a resample node first if ``[data] sfreq`` is set."""
    steps = [{"module": f.module, "params": f.params} for f in recipe.filters]
    if recipe.data.sfreq is not None:
        steps.insert(0, {"module": "resample", "params": {"sfreq": rate}})
    return steps


def _same_layout(
    a: Trials, b: Trials, source: str, key: str = "data.test", what: str = "the test set"
) -> None:
    if (a.channel_names, a.sfreq, a.X.shape[2]) != (b.channel_names, b.sfreq, b.X.shape[2]):
        raise ConfigError(
            f"{what} ({list(b.channel_names)}, {b.sfreq:g} Hz, {b.X.shape[2]} samples) "
            f"does not match the training set ({list(a.channel_names)}, {a.sfreq:g} Hz, "
            f"{a.X.shape[2]} samples)",
            key=key,
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


def _select(
    recipe: Recipe,
    shape: WindowShape,
    classes: tuple[str, ...],
    X: npt.NDArray[np.float64],
    y: npt.NDArray[np.intp],
    groups: npt.NDArray[np.str_] | None,
    jobs: int,
    progress: Progress,
    sliding: Sliding | None = None,
    searched: list[Row] | None = None,
) -> tuple[FeatureFamily, Candidate, list[dict[str, Any]], dict[str, Any]]:
    """Cross-validate every candidate on TRAIN, refit the best on all of TRAIN.

    ``searched``: rows already cross-validated (every candidate at every rate, by
    :func:`_search_rates`); the best of them is refitted on ``X``, the chosen rate's windows.
    """
    cv = recipe.cv
    splits: Splits
    if sliding is None:
        splits, units = _trial_splits(recipe, y, groups, classes)
    else:
        assert groups is not None, "sliding windows always have segments"
        splits = make_window_splits(
            cv.scheme,
            cv.folds,
            cv.repeats,
            cv.seed,
            y,
            groups,
            sliding.starts,
            sliding.length,
            classes,
        )
        units = (
            f"{len(y)} sliding windows in {splits.n_groups} segments, whole segments per fold, "
            f"{splits.purged} overlapping windows purged from the fits"
        )
    if searched is None:
        _announce(recipe, splits, units, jobs, progress)
        rows = search(
            recipe.candidates,
            X,
            y,
            shape,
            len(classes),
            splits.splits,
            seed=cv.seed,
            jobs=jobs,
            progress=progress,
        )
    else:
        rows = searched
    best = choose(rows)
    chosen = rows[best].candidate
    what = "trials" if sliding is None else "windows"
    progress(f"chose {chosen.label()}: cv {rows[best].mean:.4f}; fitting it on {len(y)} {what}")
    family = make_family(chosen.family, chosen.config, shape, len(classes), cv.seed)
    family.fit(X, y)
    selection = [r.entry(i == best) for i, r in enumerate(rows)]
    versus, tied = compare_to_chosen(rows, best, splits.splits)
    for entry, v in zip(selection, versus, strict=True):
        if v is not None:
            entry["vs_chosen"] = v
    compared = sum(v is not None for v in versus)
    if compared:
        progress(
            f"{tied} of {compared} other candidates tied with it on TRAIN (corrected resampled "
            f"t-test, p >= {ALPHA:g}): the choice among them is the folds' noise"
            if tied
            else f"it beats each of the {compared} other candidates on TRAIN (p < {ALPHA:g})"
        )
    n_units = len(y) if sliding is None else splits.n_groups
    validation = validation_entry(splits, rows[best], n_units)
    validation["tied"] = tied
    validation["compared"] = compared
    if sliding is not None:
        validation["purged"] = splits.purged
        validation["ci_counts"] = "segments"
    return family, chosen, selection, validation


def _trial_splits(
    recipe: Recipe,
    y: npt.NDArray[np.intp],
    groups: npt.NDArray[np.str_] | None,
    classes: tuple[str, ...],
) -> tuple[Splits, str]:
    """Return the splits of the training trials, and how to name what they split."""
    cv = recipe.cv
    splits = make_splits(cv.scheme, cv.folds, cv.repeats, cv.seed, y, groups, classes)
    units = f"{len(y)} training trials" + (
        f" in {splits.n_groups} groups" if splits.n_groups else ""
    )
    return splits, units


def _announce(recipe: Recipe, splits: Splits, units: str, jobs: int, progress: Progress) -> None:
    n = len(recipe.candidates)
    at = f" at {recipe.data.sfreq:g} Hz" if recipe.data.sfreq is not None else ""
    progress(
        f"selecting among {n} candidate{'s' * (n != 1)}{at}: {splits.scheme} cross-validation, "
        f"{splits.folds} folds x {splits.repeats} repeats on {units}"
        + (f", {jobs} jobs" if jobs > 1 else "")
    )


def _search_rates(recipe: Recipe, jobs: int, progress: Progress) -> tuple[Recipe, list[Row]]:
    """Cross-validate every candidate at every rate of ``recipe.rates``, on TRAIN only.

    Each rate's training trials are read, resampled and filtered as a single-rate recipe's
    would be; the folds are the same at every rate (they depend on the labels and groups
    only). Each row's settings gain ``sfreq``. Returns the recipe at the chosen row's rate
    (the rate then appears in the manifest and the pipeline's resample node) and the rows,
    rate by rate in the order written, candidates in their order within each.
    """
    rows: list[Row] = []
    for rate in recipe.rates:
        at = recipe.at_rate(rate)
        train_set, groups = _read_train(at, progress)
        classes = train_set.classes
        if len(classes) < 2:
            raise ConfigError(
                f"needs at least two classes, found {list(classes)}", key="data.train"
            )
        X = _filtered(at, train_set, progress)
        y = _encode(train_set.y, classes, at.source, "data.train")
        splits, units = _trial_splits(at, y, groups, classes)
        _announce(at, splits, units, jobs, progress)
        candidates = [replace(c, settings={"sfreq": rate, **c.settings}) for c in at.candidates]
        shape = WindowShape(X.shape[1], X.shape[2], train_set.sfreq)
        rows += search(
            candidates,
            X,
            y,
            shape,
            len(classes),
            splits.splits,
            seed=at.cv.seed,
            jobs=jobs,
            progress=progress,
        )
    rate = recipe.rates[choose(rows) // len(recipe.candidates)]
    progress(f"chose {rate:g} Hz by cross-validation on TRAIN")
    return recipe.at_rate(rate), rows


def _read_train(recipe: Recipe, progress: Progress) -> tuple[Trials, npt.NDArray[np.str_] | None]:
    """Read the training file(s); groups from the file's ``groups`` or one per file."""
    parts = []
    for i, path in enumerate(recipe.train_paths):
        progress(f"reading {path}")
        key = "data.train" if len(recipe.train_paths) == 1 else f"data.train[{i}]"
        parts.append(_read(recipe, path, key))
    if len(parts) == 1:
        return parts[0], parts[0].groups
    for i, part in enumerate(parts[1:], start=1):
        _same_layout(parts[0], part, recipe.source, key=f"data.train[{i}]", what="this file")
    groups = np.concatenate(
        [
            np.array([f"{i}:{g}" for g in part.groups], dtype=np.str_)
            if part.groups is not None
            else np.full(len(part.y), str(i), dtype=np.str_)
            for i, part in enumerate(parts)
        ]
    )
    merged = Trials(
        X=np.concatenate([p.X for p in parts]),
        y=np.concatenate([p.y for p in parts]),
        sfreq=parts[0].sfreq,
        channel_names=parts[0].channel_names,
        source=", ".join(p.source for p in parts),
        sha256=",".join(p.sha256 for p in parts),
    )
    return merged, groups


def _config(family: FeatureFamily) -> Any:
    """Return the family's ``Config`` (every built-in family keeps it as ``config``)."""
    return getattr(family, "config", None)
