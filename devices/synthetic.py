"""A synthetic electrode array that streams labelled motor-imagery EEG, paced like hardware.

The stream is a sequence of back-to-back trials of ``trial_s`` seconds, each with a class drawn
from ``classes`` (shuffled in balanced blocks, deterministic from ``seed``). A marker is emitted
with the timestamp of each trial's first sample. The class really shapes the signal (see
:mod:`devices.signals`): ``"left"`` desynchronises the mu rhythm over the right hemisphere
(C4, FC4, CP4), ``"right"`` over the left (C3, FC3, CP3); any other class leaves it intact.

For offline calibration data, construct with ``realtime=False`` and call :meth:`generate`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bci_bridge.errors import ConfigError
from bci_bridge.lsl import local_clock
from bci_bridge.stream import Chunk, StreamInfo
from devices.pacing import wait_until
from devices.signals import RHYTHMS, EEGModel, channel_names

__all__ = ["Synthetic", "SyntheticConfig"]

_TRIALS_PER_CLASS_IN_BLOCK = 2  # each block of trials holds every class this many times
_MAX_CATCHUP_S = 0.25  # a late read() returns at most this much data; the next ones catch up


@dataclass(frozen=True, slots=True, kw_only=True)
class SyntheticConfig:
    """Configuration of :class:`Synthetic`.

    Parameters
    ----------
    n_channels : int
        Number of channels (>= 1).
    sfreq : float
        Sample rate in Hz (> 0). The rhythms need ``sfreq > 27.5`` Hz; below, they are left out.
    chunk_size : int
        Samples per :meth:`Synthetic.read` (>= 1); 1 gives the lowest latency.
    name : str
        Stream name; the marker stream is ``<name>-Markers``.
    seed : int
        Seed (>= 0) of the trial schedule and of every random signal.
    trial_s : float
        Length of each labelled trial in seconds (at least one sample).
    classes : tuple of str
        Trial labels. ``"left"`` and ``"right"`` desynchronise the mu rhythm; others do not.
    noise_uv : float
        RMS of the 1/f background per channel, in microvolts.
    white_uv : float
        RMS of the white sensor noise per channel, in microvolts.
    alpha_uv : float
        RMS of the posterior alpha rhythm (~10 Hz) at its centre, in microvolts.
    mu_uv : float
        RMS of the sensorimotor mu rhythm (~11 Hz) at C3 and C4 outside desynchronisation, in
        microvolts.
    erd : float
        Mu amplitude during desynchronisation, as a fraction of ``mu_uv`` (0 to 1).
    realtime : bool
        Pace :meth:`Synthetic.read` to the sample clock; ``False`` returns at once.
    """

    n_channels: int = 8
    sfreq: float = 250.0
    chunk_size: int = 1
    name: str = "SyntheticEEG"
    seed: int = 0
    trial_s: float = 3.0
    classes: tuple[str, ...] = ("rest", "left", "right")
    noise_uv: float = 10.0
    white_uv: float = 1.0
    alpha_uv: float = 10.0
    mu_uv: float = 8.0
    erd: float = 0.35
    realtime: bool = True

    def __post_init__(self) -> None:
        if self.n_channels < 1:
            raise ConfigError(f"must be >= 1, got {self.n_channels}", key="n_channels")
        if not (math.isfinite(self.sfreq) and self.sfreq > 0):
            raise ConfigError(f"must be a rate > 0 Hz, got {self.sfreq}", key="sfreq")
        if self.chunk_size < 1:
            raise ConfigError(f"must be >= 1, got {self.chunk_size}", key="chunk_size")
        if not self.name:
            raise ConfigError("must not be empty", key="name")
        if self.seed < 0:
            raise ConfigError(f"must be >= 0, got {self.seed}", key="seed")
        if not (math.isfinite(self.trial_s) and round(self.trial_s * self.sfreq) >= 1):
            raise ConfigError(
                f"must last at least one sample (1/sfreq s), got {self.trial_s}", key="trial_s"
            )
        if not self.classes:
            raise ConfigError("needs at least one class", key="classes")
        if not all(self.classes) or len(set(self.classes)) != len(self.classes):
            raise ConfigError(
                f"labels must be non-empty and distinct, got {self.classes}", key="classes"
            )
        for key in ("noise_uv", "white_uv", "alpha_uv", "mu_uv"):
            value = getattr(self, key)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"must be >= 0 microvolts, got {value}", key=key)
        if not 0 <= self.erd <= 1:
            raise ConfigError(f"must be a fraction in [0, 1], got {self.erd}", key="erd")


class Synthetic:
    """A simulated EEG amplifier with trial cues, for demos, tests and decoder calibration.

    Implements the ``Device`` and ``MarkerSource`` contracts of :mod:`bci_bridge.contracts`.
    Timestamps are ``t0 + index / sfreq`` on the LSL clock, with ``t0`` taken at :meth:`open`
    (``t0 = 0`` for samples generated before ``open``).

    Parameters
    ----------
    config : SyntheticConfig
        What to simulate.
    """

    Config = SyntheticConfig

    __slots__ = (
        "_classes",
        "_config",
        "_emitted",
        "_fresh",
        "_gain_table",
        "_marker_next",
        "_max_catchup",
        "_model",
        "_opened",
        "_schedule",
        "_schedule_rng",
        "_seq",
        "_t0",
        "_trial_len",
    )

    def __init__(self, config: SyntheticConfig) -> None:
        self._config = config
        self._trial_len = round(config.trial_s * config.sfreq)
        k = config.chunk_size
        self._max_catchup = max(k, k * (math.ceil(_MAX_CATCHUP_S * config.sfreq) // k))
        self._model = EEGModel(
            n_channels=config.n_channels,
            sfreq=config.sfreq,
            seed=config.seed,
            noise_uv=config.noise_uv,
            white_uv=config.white_uv,
            alpha_uv=config.alpha_uv,
            mu_uv=config.mu_uv,
        )
        gains = np.ones((len(config.classes), len(RHYTHMS)))
        for c, label in enumerate(config.classes):
            if label == "left":  # left-hand imagery: ERD over the right hemisphere
                gains[c, RHYTHMS.index("mu_right")] = config.erd
            elif label == "right":
                gains[c, RHYTHMS.index("mu_left")] = config.erd
        self._gain_table = gains
        self._classes = np.arange(len(config.classes))
        schedule_seed = np.random.SeedSequence([config.seed, 1])
        self._schedule_rng = np.random.default_rng(schedule_seed)
        self._schedule = np.empty(0, dtype=np.intp)
        self._opened = False
        self._t0 = 0.0
        self._emitted = 0
        self._seq = 0
        self._marker_next = 0
        self._fresh = True

    # -- Device ------------------------------------------------------------------------------

    def info(self) -> StreamInfo:
        """Describe the EEG stream: float32 microvolts, 10-10 channel names."""
        cfg = self._config
        return StreamInfo(
            name=cfg.name,
            type="EEG",
            channel_names=channel_names(cfg.n_channels),
            sfreq=cfg.sfreq,
            dtype="float32",
            source_id=f"synthetic-{cfg.name}-{cfg.seed}",
            channel_types=("eeg",) * cfg.n_channels,
            channel_units=("uV",) * cfg.n_channels,
        )

    def open(self) -> None:
        """Start the stream from its first sample, with ``t0`` = now on the LSL clock."""
        self._reset()
        self._t0 = float(local_clock())
        self._opened = True

    def read(self, timeout: float) -> Chunk | None:
        """Return the next chunk, once its last sample is due.

        Parameters
        ----------
        timeout : float
            Longest wait, in seconds (realtime mode only).

        Returns
        -------
        Chunk or None
            ``data`` float32 ``(n, n_channels)`` in microvolts, ``timestamps`` float64 ``(n,)``
            on the LSL clock, ``seq`` counting chunks from 0. ``n`` is ``chunk_size``, or a
            multiple of it when reads have fallen behind the clock (catching up, never
            drifting). ``None`` if the chunk is not due within ``timeout``.

        Raises
        ------
        RuntimeError
            If the device is not open.
        """
        if not self._opened:
            raise RuntimeError(f"synthetic device {self._config.name!r} is not open")
        k = self._config.chunk_size
        n = k
        if self._config.realtime:
            now = wait_until(self._time_of(self._emitted + k - 1), timeout)
            if now is None:
                return None
            # Every sample whose timestamp has passed, in whole chunks, up to a bound.
            n_due = math.floor((now - self._t0) * self._config.sfreq) + 1 - self._emitted
            n = max(k, min(n_due // k * k, self._max_catchup))
            while n > k and self._time_of(self._emitted + n - 1) > now:
                n -= k
        data, timestamps, _ = self.generate(n)
        chunk = Chunk(data=data, timestamps=timestamps, seq=self._seq)
        self._seq += 1
        return chunk

    def close(self) -> None:
        """Stop the stream; safe to call twice. :meth:`open` starts it again from the start."""
        self._opened = False

    # -- MarkerSource ------------------------------------------------------------------------

    def marker_info(self) -> StreamInfo:
        """Describe the marker stream: irregular, one ``label`` channel (a string stream)."""
        cfg = self._config
        return StreamInfo.markers(
            f"{cfg.name}-Markers", source_id=f"synthetic-{cfg.name}-{cfg.seed}-markers"
        )

    def read_markers(self) -> list[tuple[str, float]]:
        """Return the cues of the trials that started since the last call.

        Returns
        -------
        list of (str, float)
            ``(label, timestamp)`` per trial whose first sample has been emitted (by
            :meth:`read` or :meth:`generate`), in order; the timestamp is that sample's, in
            seconds on the LSL clock.
        """
        started = -(-self._emitted // self._trial_len)
        trials = np.arange(self._marker_next, started)
        labels = self._config.classes
        markers = [
            (labels[int(c)], self._time_of(int(t) * self._trial_len))
            for t, c in zip(trials, self._trial_classes(trials), strict=True)
        ]
        self._marker_next = started
        return markers

    # -- offline use ---------------------------------------------------------------------------

    def generate(
        self, n_samples: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float64], npt.NDArray[np.intp]]:
        """Generate the next ``n_samples`` of the stream at once, without pacing.

        This is what :meth:`read` returns, so a device can also make labelled calibration
        data: ``Synthetic(SyntheticConfig(realtime=False)).generate(60 * 250)``.

        Parameters
        ----------
        n_samples : int
            Number of samples (>= 0).

        Returns
        -------
        data : ndarray of float32, shape (n_samples, n_channels)
            C-contiguous samples in microvolts.
        timestamps : ndarray of float64, shape (n_samples,)
            ``t0 + index / sfreq``, in seconds.
        labels : ndarray of intp, shape (n_samples,)
            Index into ``config.classes`` of the trial each sample belongs to.
        """
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
        start = self._emitted
        index = np.arange(start, start + n_samples)
        labels = self._trial_classes(index // self._trial_len)
        data = self._model.generate(self._gain_table[labels])
        timestamps = self._t0 + index.astype(np.float64) / self._config.sfreq
        self._emitted = start + n_samples
        self._fresh = False
        return data, timestamps, labels

    def label_at(self, sample_index: int) -> str:
        """Return the class active at sample ``sample_index`` (0 = first sample after open)."""
        if sample_index < 0:
            raise ValueError(f"sample_index must be >= 0, got {sample_index}")
        trial = np.array([sample_index // self._trial_len])
        return self._config.classes[int(self._trial_classes(trial)[0])]

    # -- internals -----------------------------------------------------------------------------

    def _time_of(self, index: int) -> float:
        """Timestamp of sample ``index`` (same arithmetic as the timestamps arrays)."""
        return self._t0 + float(index) / self._config.sfreq

    def _trial_classes(self, trials: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
        """Class index of each trial, extending the schedule in balanced shuffled blocks."""
        needed = int(trials.max()) + 1 if trials.size else 0
        if needed > self._schedule.size:
            block = np.repeat(self._classes, _TRIALS_PER_CLASS_IN_BLOCK)
            n_blocks = max(8, -(-(needed - self._schedule.size) // block.size))
            blocks = [self._schedule_rng.permutation(block) for _ in range(n_blocks)]
            self._schedule = np.concatenate([self._schedule, *blocks])
        return self._schedule[trials]

    def _reset(self) -> None:
        """Go back to the first sample (a fresh model is already there)."""
        if not self._fresh:
            self._model.reset()
        self._emitted = 0
        self._seq = 0
        self._marker_next = 0
        self._fresh = True
