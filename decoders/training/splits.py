"""Cross-validation splits of the training trials: shuffled, blocked or grouped.

- ``"shuffled"``: stratified k-fold on shuffled trials, redrawn ``repeats`` times. Honest only
  when the trials are exchangeable (e.g. a data set whose trials were mixed at random).
- ``"blocked"``: k contiguous blocks in the order the trials were recorded (file order), so a
  model is never validated on trials recorded between its training trials. Deterministic: one
  repeat, whatever ``repeats`` says. A block of one class only means the file is sorted by
  class, not by time (aeon's SCP1 files are): an error that says to shuffle.
- ``"grouped"``: whole groups (sessions, subjects) are held out together: stratified group
  k-fold, redrawn ``repeats`` times. Needs at least ``folds`` groups.

The default (``scheme`` unset): grouped when the data has groups, else blocked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError

__all__ = ["SCHEMES", "Split", "Splits", "make_splits"]

#: The schemes ``[cv] scheme`` may name.
SCHEMES = ("shuffled", "blocked", "grouped")

#: One split: (indices to fit on, indices to validate on).
Split = tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]


@dataclass(frozen=True, slots=True)
class Splits:
    """The splits that ran and how they were made.

    Attributes
    ----------
    scheme : str
        One of :data:`SCHEMES`.
    folds, repeats : int
        Folds per repeat and the repeats that ran (1 for blocked).
    seed : int
        Seed of the shuffles.
    splits : tuple of Split
        ``folds * repeats`` (fit, validate) index pairs into the training trials.
    n_groups : int
        Distinct groups (0 without groups); segments, for sliding windows.
    purged : int
        Sliding windows only: fitting windows dropped, over all splits, because they share
        samples with a validating window (see :mod:`.window_splits`).
    """

    scheme: str
    folds: int
    repeats: int
    seed: int
    splits: tuple[Split, ...]
    n_groups: int = 0
    purged: int = 0


def make_splits(
    scheme: str | None,
    folds: int,
    repeats: int,
    seed: int,
    y: npt.NDArray[np.intp],
    groups: npt.NDArray[np.str_] | None,
    class_names: Sequence[str] = (),
) -> Splits:
    """Make the cross-validation splits of trials with class indices ``y`` (n_trials,).

    Parameters
    ----------
    scheme : str or None
        One of :data:`SCHEMES`, or None for the default (see the module docs).
    folds, repeats, seed : int
        As in ``[cv]``.
    y : ndarray of int, shape (n_trials,)
        Class indices, in recording order.
    groups : ndarray of str, shape (n_trials,), optional
        Session or subject of each trial.
    class_names : sequence of str
        Names of the classes, for the errors.

    Raises
    ------
    ConfigError
        One line naming the ``cv`` key and the fix: too few trials of a class for the folds,
        too few groups, grouped without groups, a block missing a class.
    """
    if scheme is None:
        scheme = "grouped" if groups is not None and len(set(groups.tolist())) > 1 else "blocked"
    classes, counts = np.unique(y, return_counts=True)

    def name(c: int) -> str:
        return repr(class_names[c]) if c < len(class_names) else str(c)

    fewest = int(counts.min())
    if fewest < folds:
        fix = (
            f"lower cv.folds to {fewest} or add trials"
            if fewest >= 2
            else "cross-validation needs at least 2 of each: add trials (or fine-tune a model "
            "with --base, which needs none)"
        )
        raise ConfigError(
            f"{folds} folds need at least {folds} trials of each class; class "
            f"{name(int(classes[counts.argmin()]))} has {fewest} in the training data: {fix}",
            key="cv.folds",
        )
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    out: list[Split] = []
    n_groups = 0
    if scheme == "shuffled":
        for r in range(repeats):
            skf = StratifiedKFold(folds, shuffle=True, random_state=seed + r)
            out.extend(skf.split(np.zeros(len(y)), y))
    elif scheme == "blocked":
        repeats = 1
        out.extend(KFold(folds).split(np.zeros(len(y))))
        if len(classes) > 1 and any(len(set(y[v].tolist())) == 1 for _, v in out):
            raise ConfigError(
                "a blocked fold holds trials of one class only: the file lists its trials by "
                'class, not in recording order; use scheme = "shuffled" (or "grouped" with '
                "session labels)",
                key="cv.scheme",
            )
    elif scheme == "grouped":
        if groups is None:
            raise ConfigError(
                'grouped needs session or subject labels: give an .npz with "groups", or '
                'several files in data.train; else use scheme = "blocked"',
                key="cv.scheme",
            )
        n_groups = len(set(groups.tolist()))
        if n_groups < folds:
            raise ConfigError(
                f"grouped cross-validation holds out whole groups: {folds} folds need "
                f"{folds} groups, the data has {n_groups}; set cv.folds = {max(2, n_groups)}",
                key="cv.folds",
            )
        codes = np.unique(groups, return_inverse=True)[1]
        for r in range(repeats):
            sgkf = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
            out.extend(sgkf.split(np.zeros(len(y)), y, codes))
    else:
        raise ConfigError(f"must be one of {SCHEMES}, got {scheme!r}", key="cv.scheme")
    splits = tuple((np.asarray(f, dtype=np.intp), np.asarray(v, dtype=np.intp)) for f, v in out)
    for k, (fit, _) in enumerate(splits):
        missing = sorted(set(classes.tolist()) - set(y[fit].tolist()))
        if missing:
            raise ConfigError(
                f"{scheme} fold {k % folds + 1} leaves no trial of class {name(missing[0])} to "
                "train on (the trials are sorted by class, or a class lives in one group); "
                "use another scheme or fewer folds",
                key="cv.scheme",
            )
    return Splits(scheme, folds, repeats, seed, splits, n_groups)
