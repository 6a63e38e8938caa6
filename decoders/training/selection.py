"""Model selection: cross-validate every candidate on the training trials, choose one.

Each candidate (:class:`~decoders.training.grid.Candidate`) is fitted and scored on every split
(:mod:`.splits`); its row holds the mean and standard deviation of the split accuracies. The
chosen candidate has the highest mean (ties: the smaller spread, then the one written first).
Only training trials ever reach this module. A candidate over its family's per-window budget
(:class:`~decoders.training.budget.OverBudget`) is skipped, its row saying why, as is a family
from ``"auto"`` that does not fit the data. Candidates run in ``jobs`` worker processes
(spawned, one BLAS thread each), one line of progress per finished candidate. Which candidates
the chosen one does not beat, split by split, is :mod:`.ties`' to say.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.budget import OverBudget
from decoders.training.families import make_family
from decoders.training.family import WindowShape
from decoders.training.grid import Candidate
from decoders.training.splits import Split

__all__ = ["Row", "choose", "search"]

_F64 = npt.NDArray[np.float64]

#: Data shared by every candidate in a worker: X, y, splits, shape, n_classes, seed.
_SHARED: dict[str, Any] = {}


@dataclass(frozen=True, slots=True)
class Row:
    """One candidate's cross-validation result.

    Attributes
    ----------
    candidate : Candidate
        What was scored.
    scores : tuple of float
        Accuracy on each split, in split order (empty when skipped).
    skipped : str
        Why an ``auto`` family was not scored ("" when scored).
    """

    candidate: Candidate
    scores: tuple[float, ...] = ()
    skipped: str = ""

    @property
    def mean(self) -> float:
        """Mean split accuracy (nan when skipped)."""
        return float(np.mean(self.scores)) if self.scores else float("nan")

    @property
    def std(self) -> float:
        """Standard deviation of the split accuracies (nan when skipped)."""
        return float(np.std(self.scores)) if self.scores else float("nan")

    def entry(self, chosen: bool) -> dict[str, Any]:
        """Return the report's row: family, settings, cv_mean, cv_std, chosen (and skipped)."""
        out: dict[str, Any] = {
            "family": self.candidate.family,
            "settings": self.candidate.settings,
            "cv_mean": round(self.mean, 4) if self.scores else None,
            "cv_std": round(self.std, 4) if self.scores else None,
            "chosen": chosen,
        }
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def search(
    candidates: Sequence[Candidate],
    X: _F64,
    y: npt.NDArray[np.intp],
    shape: WindowShape,
    n_classes: int,
    splits: Sequence[Split],
    *,
    seed: int = 0,
    jobs: int = 1,
    progress: Callable[[str], None] = lambda line: None,
) -> list[Row]:
    """Cross-validate every candidate on training windows ``X`` (n_trials, C, W), ``y``.

    Returns
    -------
    list of Row
        One per candidate, in the order given.

    Raises
    ------
    ConfigError
        A candidate named explicitly that does not fit the data (naming the key and the fix),
        or one that failed to fit (naming the candidate and the split).
    """
    rows: dict[int, Row] = {}
    todo: list[int] = []
    for i, c in enumerate(candidates):
        problem = fit_problem(c, shape, n_classes)
        if problem is None:
            todo.append(i)
        elif c.auto or isinstance(problem, OverBudget):
            rows[i] = Row(c, skipped=problem.message)
            progress(f"skip {c.label()}: {problem.message}")
        else:
            raise problem
    shared = {
        "X": X,
        "y": y,
        "splits": tuple(splits),
        "shape": shape,
        "n_classes": n_classes,
        "seed": seed,
    }
    n = len(todo)
    done = 0

    def record(i: int, scores: tuple[float, ...]) -> None:
        nonlocal done
        done += 1
        rows[i] = Row(candidates[i], scores)
        row = rows[i]
        progress(f"cv {done}/{n} {row.candidate.label()}: {row.mean:.4f} +/- {row.std:.4f}")

    if jobs <= 1 or n <= 1:
        _init(shared, limit_threads=False)
        try:
            for i in todo:
                record(i, _score(candidates[i]))
        finally:
            _SHARED.clear()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=min(jobs, n), mp_context=context, initializer=_init, initargs=(shared,)
        ) as pool:
            futures = {pool.submit(_score, candidates[i]): i for i in todo}
            try:
                for future in as_completed(futures):
                    record(futures[future], future.result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # do not run the rest
                raise
    return [rows[i] for i in range(len(candidates))]


def choose(rows: Sequence[Row]) -> int:
    """Index of the chosen row: highest mean, then smallest spread, then first written."""
    scored = [(i, r) for i, r in enumerate(rows) if r.scores]
    if not scored:
        raise ConfigError(
            "no candidate fits the data; see the skipped reasons, or name a family",
            key="decoder.family",
        )
    return min(scored, key=lambda ir: (-round(ir[1].mean, 10), round(ir[1].std, 10), ir[0]))[0]


def fit_problem(c: Candidate, shape: WindowShape, n_classes: int) -> ConfigError | None:
    """Why ``c`` cannot be built for windows of ``shape``, as an error naming key and fix."""
    try:
        make_family(c.family, c.config, shape, n_classes)
    except OverBudget as exc:
        return exc
    except ConfigError as exc:
        return _located(c, exc)
    return None


def _located(c: Candidate, exc: ConfigError) -> ConfigError:
    """Return the family's error under the recipe key a user edits, with what would fix it."""
    text = exc.message
    if "channels" in text and exc.key in ("family", "n_filters"):
        if exc.key == "n_filters":
            fix = "lower decoder.n_filters, or keep more channels in data.channels"
        else:
            fix = "pick fewer in data.channels"
        return ConfigError(f"family {c.family}: {text}; {fix}", key="data.channels")
    key = f"decoder.{exc.key}" if exc.key and exc.key != "family" else "decoder.family"
    hint = f"change {key}" if key != "decoder.family" else "choose another decoder.family"
    return ConfigError(f"family {c.family} ({c.label()}): {text}; {hint}", key=key)


def _init(shared: dict[str, Any], limit_threads: bool = True) -> None:
    """Worker start: keep the shared data; one BLAS thread, so jobs do not oversubscribe."""
    _SHARED.update(shared)
    if limit_threads:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(1)


def _score(c: Candidate) -> tuple[float, ...]:
    """Accuracy of ``c`` on every split of the shared data."""
    X, y = _SHARED["X"], _SHARED["y"]
    scores = []
    for k, (fit, val) in enumerate(_SHARED["splits"]):
        family = make_family(
            c.family, c.config, _SHARED["shape"], _SHARED["n_classes"], _SHARED["seed"]
        )
        try:
            family.fit(X[fit], y[fit])
            predicted = family.predict_proba(X[val]).argmax(axis=1)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise ConfigError(
                f"{c.label()} failed to fit on cv split {k + 1}: {exc}", key="decoder"
            ) from exc
        scores.append(float(np.mean(predicted == y[val])))
    return tuple(scores)
