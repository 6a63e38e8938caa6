"""Cross-validation splits of sliding windows that do not leak.

Windows that slide by less than their length share samples, and the windows of one event see
the same brain state: a fold that validates on some of them and fits on their neighbours
scores the neighbours, not the decoder. So, on sliding windows (``[windows]``):

- whole **segments** (an event, or a gap between events; see :mod:`.sliding`) go to one side of
  a split, never both;
- ``"blocked"`` (the default): ``folds`` contiguous runs of segments in time order, one
  repeat: a model is never validated on time that lies between its training windows;
- ``"grouped"``: stratified group k-fold over the segments, redrawn ``repeats`` times;
- ``"shuffled"`` is refused: shuffling overlapping windows is the leak this module prevents;
- every split is **purged**: a fitting window that shares a sample with any validating window
  is dropped from the fit (it would straddle the boundary between a fitting and a validating
  segment).

Windows of different files never share samples.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from decoders.training.splits import Split, Splits

__all__ = ["make_window_splits"]


def make_window_splits(
    scheme: str | None,
    folds: int,
    repeats: int,
    seed: int,
    y: npt.NDArray[np.intp],
    segments: npt.NDArray[np.str_],
    starts: npt.NDArray[np.intp],
    length: int,
    class_names: Sequence[str] = (),
) -> Splits:
    """Make leak-free splits of sliding windows (see the module docs).

    Parameters
    ----------
    scheme : str or None
        ``"blocked"``, ``"grouped"``, or None (blocked).
    folds, repeats, seed : int
        As in ``[cv]``.
    y : ndarray of int, shape (n_windows,)
        Class index of each window, in time order (file after file).
    segments : ndarray of str, shape (n_windows,)
        Each window's segment, unique across files.
    starts : ndarray of int, shape (n_windows,)
        First sample of each window, on one axis for all files (files far apart on it).
    length : int
        Window length, samples.
    class_names : sequence of str
        Names of the classes, for the errors.

    Returns
    -------
    Splits
        ``n_groups`` the number of segments, ``purged`` the fitting windows dropped in all.

    Raises
    ------
    ConfigError
        One line naming the ``cv`` key and the fix.
    """
    scheme = scheme or "blocked"
    if scheme == "shuffled":
        raise ConfigError(
            "shuffled folds would validate on windows that overlap, or share an event with, "
            'the windows fitted on; sliding windows use scheme = "blocked" (time order) or '
            '"grouped" (whole events)',
            key="cv.scheme",
        )

    def name(c: int) -> str:
        return repr(class_names[c]) if c < len(class_names) else str(c)

    # Segments in time order, each with its class.
    _, first, codes = np.unique(segments, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    seg = rank[codes]  # segment index of each window, 0.. in time order
    seg_class = np.empty(len(order), dtype=np.intp)
    seg_class[seg] = y
    classes, counts = np.unique(seg_class, return_counts=True)
    if int(counts.min()) < folds:
        fewest = int(counts.min())
        raise ConfigError(
            f"{folds} folds need at least {folds} events (segments) of each class; class "
            f"{name(int(classes[counts.argmin()]))} has {fewest} in the training data: "
            + (f"lower cv.folds to {fewest} or record more" if fewest >= 2 else "record more"),
            key="cv.folds",
        )
    raw: list[npt.NDArray[np.intp]] = []  # validating segments of each split
    if scheme == "blocked":
        repeats = 1
        raw.extend(np.array_split(np.arange(len(order)), folds))
        for k, block in enumerate(raw):
            if len(classes) > 1 and len(set(seg_class[block].tolist())) == 1:
                raise ConfigError(
                    f"blocked fold {k + 1} holds windows of class {name(int(seg_class[block][0]))} "
                    "only: the recording keeps its classes in long runs; use scheme = "
                    '"grouped" (whole events in stratified folds)',
                    key="cv.scheme",
                )
    elif scheme == "grouped":
        from sklearn.model_selection import StratifiedGroupKFold

        n_seg = len(order)
        for r in range(repeats):
            sgkf = StratifiedGroupKFold(folds, shuffle=True, random_state=seed + r)
            for _, val in sgkf.split(np.zeros(n_seg), seg_class, np.arange(n_seg)):
                raw.append(np.asarray(val, dtype=np.intp))
    else:
        raise ConfigError(
            f'must be "blocked" or "grouped" for sliding windows, got {scheme!r}', key="cv.scheme"
        )
    out: list[Split] = []
    purged = 0
    for k, val_segments in enumerate(raw):
        is_val = np.isin(seg, val_segments)
        val = np.flatnonzero(is_val).astype(np.intp)
        fit_all = np.flatnonzero(~is_val)
        clash = _overlaps(starts[fit_all], starts[val], length)
        fit = fit_all[~clash].astype(np.intp)
        purged += int(clash.sum())
        missing = sorted(set(classes.tolist()) - set(y[fit].tolist()))
        if missing:
            raise ConfigError(
                f"{scheme} fold {k % folds + 1} leaves no window of class {name(missing[0])} "
                "to fit on; use fewer folds or another scheme",
                key="cv.scheme",
            )
        out.append((fit, val))
    return Splits(scheme, folds, repeats, seed, tuple(out), len(order), purged)


def _overlaps(
    fit_starts: npt.NDArray[np.intp], val_starts: npt.NDArray[np.intp], length: int
) -> npt.NDArray[np.bool_]:
    """Whether each fitting window ``[s, s + length)`` shares a sample with a validating one."""
    if len(val_starts) == 0 or len(fit_starts) == 0:
        return np.zeros(len(fit_starts), dtype=bool)
    v = np.sort(val_starts)
    # The nearest validating start at or after s - length + 1 must be <= s + length - 1.
    j = np.searchsorted(v, fit_starts - length + 1, side="left")
    inside = j < len(v)
    nearest = v[np.minimum(j, len(v) - 1)]
    return inside & (nearest <= fit_starts + length - 1)
