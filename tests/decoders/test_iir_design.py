"""The numpy IIR designs equal scipy's: responses, filtered samples, steady states, notches.

``decoders.iir_design`` replaces :func:`scipy.signal.butter`, :func:`scipy.signal.iirnotch`
(with ``tf2sos``) and :func:`scipy.signal.sosfilt_zi` in the runtime. Its sections may be
grouped or ordered differently from scipy's (both are valid factorisations of the same filter),
so the comparisons are of what a user sees: the frequency response, the samples out of a
chunked :class:`decoders.sos.SosFilter` against ``sosfilt`` of scipy's design over the whole
signal, and the steady state.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.signal import butter, iirnotch, sosfilt, sosfilt_zi, sosfreqz, tf2sos

from bci_bridge.stream import Chunk, StreamInfo
from decoders.iir_design import butter_sos, notch_sos, sos_zi
from decoders.sos import SosFilter

RATES = (100.0, 250.0, 1000.0, 30000.0)
ORDERS = (1, 2, 3, 4, 5, 8, 12)


def _cases() -> list[tuple[float, int, str, float | tuple[float, float]]]:
    """Rates x orders x types x edges, from 1/1000 of the rate to near Nyquist."""
    cases: list[tuple[float, int, str, float | tuple[float, float]]] = []
    for fs, order in itertools.product(RATES, ORDERS):
        for f in (0.001 * fs, 0.01 * fs, 0.1 * fs, 0.3 * fs, 0.45 * fs):
            cases += [(fs, order, "lowpass", f), (fs, order, "highpass", f)]
        for low, high in ((0.001, 0.1), (0.01, 0.02), (0.1, 0.4), (0.2, 0.21), (0.004, 0.45)):
            cases.append((fs, order, "bandpass", (low * fs, high * fs)))
    return cases


CASES = _cases()


def _scipy_sos(order: int, btype: str, edges: float | tuple[float, float], fs: float) -> np.ndarray:
    wn = list(edges) if isinstance(edges, tuple) else edges
    sos: np.ndarray = butter(order, wn, btype=btype, fs=fs, output="sos")
    return sos


def _ids(case: tuple[float, int, str, float | tuple[float, float]]) -> str:
    fs, order, btype, edges = case
    return f"{btype}-{order}-{edges}-at-{fs:g}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_butterworth_response_equals_scipy(
    case: tuple[float, int, str, float | tuple[float, float]],
) -> None:
    fs, order, btype, edges = case
    ours = butter_sos(order, edges, btype, fs)  # type: ignore[arg-type]
    theirs = _scipy_sos(order, btype, edges, fs)
    n_poles = order * (2 if btype == "bandpass" else 1)
    assert ours.shape == (-(-n_poles // 2), 6)
    assert np.all(ours[:, 3] == 1.0)
    freqs = np.linspace(0, fs / 2, 1001)
    _, h_ours = sosfreqz(ours, freqs, fs=fs)
    _, h_theirs = sosfreqz(theirs, freqs, fs=fs)
    np.testing.assert_allclose(h_ours, h_theirs, rtol=0, atol=1e-9)
    edge_list = edges if isinstance(edges, tuple) else (edges,)
    _, at_edges = sosfreqz(ours, list(edge_list), fs=fs)
    np.testing.assert_allclose(np.abs(at_edges), np.sqrt(0.5), rtol=1e-9)  # -3 dB


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_sections_are_stable_and_nearest_the_unit_circle_last(
    case: tuple[float, int, str, float | tuple[float, float]],
) -> None:
    fs, order, btype, edges = case
    sos = butter_sos(order, edges, btype, fs)  # type: ignore[arg-type]
    radii = [np.max(np.abs(np.roots(row[3:]))) if row[4] or row[5] else 0.0 for row in sos]
    assert max(radii) < 1.0
    # Non-decreasing, up to rounding between mirror-image sections (a band symmetric about fs / 4).
    assert all(r <= nxt + 1e-12 for r, nxt in itertools.pairwise(radii))


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_steady_state_equals_scipy(
    case: tuple[float, int, str, float | tuple[float, float]],
) -> None:
    fs, order, btype, edges = case
    sos = butter_sos(order, edges, btype, fs)  # type: ignore[arg-type]
    np.testing.assert_allclose(sos_zi(sos), sosfilt_zi(sos), rtol=1e-10, atol=1e-10)


#: Edges from 1/500 of the rate up: below that (0.5 Hz at 30 kHz) the poles sit within 1e-4 of
#: z = 1 and any two roundings of the same filter part by more than 1e-9 of the output.
FILTER_CASES = [
    c
    for c in CASES
    if min(c[3] if isinstance(c[3], tuple) else (c[3],)) >= c[0] / 500 and c[1] <= 8
]


@pytest.mark.parametrize("case", FILTER_CASES, ids=[_ids(c) for c in FILTER_CASES])
def test_chunked_filtering_equals_scipy_over_the_whole_signal(
    case: tuple[float, int, str, float | tuple[float, float]],
) -> None:
    fs, order, btype, edges = case
    rng = np.random.default_rng(order)
    x = 30.0 + rng.standard_normal((3000, 3)) * 10.0
    theirs = _scipy_sos(order, btype, edges, fs)
    expected = sosfilt(theirs, x, axis=0, zi=sosfilt_zi(theirs)[:, :, None] * x[0])[0]
    info = StreamInfo(name="x", channel_names=("a", "b", "c"), sfreq=fs, dtype="float64")
    sos_filter = SosFilter()
    sos_filter.prepare(butter_sos(order, edges, btype, fs), info)  # type: ignore[arg-type]
    sizes = rng.integers(1, 400, 40)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    bounds = [*bounds[bounds < len(x)].tolist(), len(x)]
    got = []
    for seq, (start, stop) in enumerate(itertools.pairwise(bounds)):
        out = sos_filter.step(Chunk(x[start:stop], np.arange(start, stop) / fs, seq))
        assert out is not None
        got.append(out.data)
    y = np.concatenate(got)
    assert y.shape == x.shape
    scale = np.max(np.abs(expected))
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-9 * scale)


@pytest.mark.parametrize("fs", [250.0, 500.0, 1000.0])
@pytest.mark.parametrize("freq", [50.0, 60.0, 100.0, 120.0])
@pytest.mark.parametrize("q", [0.5, 5.0, 30.0, 100.0])
def test_notch_equals_scipy_iirnotch(fs: float, freq: float, q: float) -> None:
    if freq >= fs / 2:
        pytest.skip("at or above Nyquist")
    b, a = iirnotch(freq, q, fs=fs)
    np.testing.assert_allclose(notch_sos(freq, q, fs), tf2sos(b, a), rtol=0, atol=1e-12)
    _, h = sosfreqz(notch_sos(freq, q, fs), [0.0, freq, fs / 2], fs=fs)
    np.testing.assert_allclose(np.abs(h), [1.0, 0.0, 1.0], atol=1e-12)


def test_steady_state_holds_a_constant_input_still() -> None:
    sos = np.vstack([butter_sos(3, 20.0, "lowpass", 250.0), notch_sos(50.0, 30.0, 250.0)])
    zi = sos_zi(sos) * 7.0  # (n_sections, 2)
    y, zf = sosfilt(sos, np.full(200, 7.0), zi=zi)
    np.testing.assert_allclose(y, 7.0, rtol=1e-12)  # no transient: DC gain 1 throughout
    np.testing.assert_allclose(zf, zi, rtol=1e-12, atol=1e-12)  # and the state stays put


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0, 10.0, "lowpass", 250.0), "order"),
        ((True, 10.0, "lowpass", 250.0), "order"),
        ((4, 125.0, "lowpass", 250.0), "edges"),
        ((4, 0.0, "highpass", 250.0), "edges"),
        ((4, (30.0, 8.0), "bandpass", 250.0), "low < high"),
        ((4, 10.0, "bandpass", 250.0), "2 edge"),
        ((4, (8.0, 30.0), "lowpass", 250.0), "1 edge"),
        ((4, 10.0, "bandstop", 250.0), "btype"),
        ((4, 10.0, "lowpass", float("nan")), "fs"),
    ],
)
def test_butter_sos_refuses_bad_arguments(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        butter_sos(*args)  # type: ignore[arg-type]


def test_notch_and_steady_state_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="freq"):
        notch_sos(125.0, 30.0, 250.0)
    with pytest.raises(ValueError, match="q must"):
        notch_sos(50.0, 0.0, 250.0)
    with pytest.raises(ValueError, match="shape"):
        sos_zi(np.ones((2, 5)))
    with pytest.raises(ValueError, match="a0 = 1"):
        sos_zi([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="pole at z = 1"):
        sos_zi([[1.0, 0.0, 0.0, 1.0, -1.0, 0.0]])
