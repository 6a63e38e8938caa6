"""The numpy taper and FIR designs equal scipy's ``get_window("hann")`` and ``firwin``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import firwin, get_window

from decoders.resample_design import design_resampling, kaiser_lowpass
from decoders.tapers import hann_periodic


@pytest.mark.parametrize("n", [*range(1, 70), 125, 250, 256, 500, 1000, 1001, 30000])
def test_hann_is_scipys_periodic_hann(n: int) -> None:
    ours = hann_periodic(n)
    assert ours.shape == (n,)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, get_window("hann", n), rtol=0, atol=1e-15)


def test_hann_refuses_an_empty_window() -> None:
    with pytest.raises(ValueError, match="integer >= 1"):
        hann_periodic(0)


@pytest.mark.parametrize("largest", [2, 3, 4, 5, 8, 10, 25, 64, 100, 441, 1000])
@pytest.mark.parametrize("beta", [0.0, 5.0, 8.6])
def test_kaiser_lowpass_is_firwin(largest: int, beta: float) -> None:
    n_taps = 2 * 10 * largest + 1
    ours = kaiser_lowpass(n_taps, 1.0 / largest, beta)
    theirs = firwin(n_taps, 1.0 / largest, window=("kaiser", beta))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    assert ours.sum() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(
    ("sfreq_in", "sfreq_out"),
    [(1000.0, 250.0), (250.0, 1000.0), (512.0, 250.0), (44100.0, 48000.0), (30000.0, 1000.0)],
)
def test_the_resampling_filter_is_the_one_resample_poly_uses(
    sfreq_in: float, sfreq_out: float
) -> None:
    design = design_resampling(sfreq_in, sfreq_out)
    largest = max(design.up, design.down)
    expected = firwin(20 * largest + 1, 1.0 / largest, window=("kaiser", 5.0)) * design.up
    np.testing.assert_allclose(design.taps, expected, rtol=0, atol=1e-12 * design.up)


@pytest.mark.parametrize(
    ("n_taps", "cutoff", "message"),
    [(10, 0.5, "odd"), (0, 0.5, "odd"), (11, 0.0, "cutoff"), (11, 1.0, "cutoff")],
)
def test_kaiser_lowpass_refuses_bad_arguments(n_taps: int, cutoff: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kaiser_lowpass(n_taps, cutoff, 5.0)
